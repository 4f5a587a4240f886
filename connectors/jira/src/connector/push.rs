//! Writing tasks to Jira: bulk creates, field edits, and status changes by transition.
//!
//! - **Create**: `POST /rest/api/3/issue/bulk`, 50 issues per call, each input's failure
//!   reported on its own op (`errors[].failedElementNumber`). A task that should not start
//!   in the workflow's initial status is then transitioned.
//!   Every create carries the label `zveno-<op id>`, its idempotency handle: a create
//!   whose answer was lost is found by JQL (`labels = "zveno-…"`) instead of resent.
//! - **Update**: `PUT /rest/api/3/issue/{id}` with the fields that are set (empty ones are
//!   not touched), asking for the issue back with its transitions. Labels change through
//!   `update.labels` operations: `{"add": …}` for the task's labels, `{"remove": …}` for its
//!   `labels_removed` (labels a flow wrote and no longer has); setting `fields.labels`
//!   would wipe labels people added. Only fields on the issue's edit screen (`editmeta`) are sent — Jira
//!   refuses the whole edit for one field that is not; the others are left out with a
//!   warning, and an edit with nothing left to send fails.
//! - **Status**: status is not a field in Jira. When the issue's current status maps to a
//!   different common status, the connector performs the first available transition whose
//!   target status maps to the wanted one (category, refined by status names, so
//!   `cancelled` finds "Won't Do" rather than "Done").
//! - **Archive**: refused per op. Deleting issues is irreversible and Jira Cloud archiving
//!   is a Premium feature; close the task with a status instead.
//!
//! Once anything may have been written, failures are reported per op and never as an
//! error of the whole call, so the caller cannot mistake written ops for unwritten ones.
//! Creates are not idempotent in Jira: a create that timed out is reported failed and may
//! exist; it is never resent automatically.

use std::collections::HashMap;

use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use zveno_connector::{
    ClientRef, ConnectorError, Email, RecordData, Task, TaskStatus, WriteAction, WriteError, WriteOp, WriteOutcome,
};

use crate::connector::JiraConnector;
use crate::dto::Transition;
use crate::mapping::adf;
use crate::mapping::time;

/// Issues per `POST /rest/api/3/issue/bulk`.
pub const BULK_CREATE_LIMIT: usize = 50;

type Outcomes = HashMap<String, Result<String, WriteError>>;

/// The label a create carries as its idempotency handle (Jira labels hold no spaces and
/// are searchable in JQL; issue properties are not).
pub fn handle_label(op_id: &str) -> String {
    format!("zveno-{op_id}")
}

/// Writes `ops`; one outcome per op, in op order.
pub async fn push(c: &JiraConnector, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
    // Due dates are written as dates in the account's zone. Nothing is written yet, so a
    // failure here (bad token, site down) is an error of the whole call.
    let zone = c.zone().await?;
    let mut writer = Writer { c, zone, accounts: HashMap::new(), outcomes: HashMap::new() };
    let mut creates = Vec::new();
    for op in ops {
        match &op.action {
            WriteAction::Create { data } => match task_of(data) {
                Ok(task) => creates.push((op, task)),
                Err(e) => writer.fail(op, e),
            },
            WriteAction::Update { external_id, data } => {
                let result = match task_of(data) {
                    Ok(task) => writer.update(external_id, task).await,
                    Err(e) => Err(e),
                };
                writer.outcomes.insert(op.op_id.clone(), result);
            }
            WriteAction::Archive { .. } => writer.fail(
                op,
                WriteError::unsupported(
                    "Jira issues are not deleted or archived by zveno; move them to a done or cancelled status instead",
                ),
            ),
        }
    }
    for chunk in creates.chunks(BULK_CREATE_LIMIT) {
        writer.create(chunk).await;
    }
    let mut outcomes = writer.outcomes;
    Ok(ops
        .iter()
        .map(|op| WriteOutcome {
            op_id: op.op_id.clone(),
            result: outcomes.remove(&op.op_id).unwrap_or_else(|| Err(WriteError::not_sent("not attempted"))),
        })
        .collect())
}

fn task_of(data: &RecordData) -> Result<&Task, WriteError> {
    match data {
        RecordData::Task(task) => Ok(task),
        other => Err(WriteError::invalid(format!("Jira can only write tasks, not {}", other.kind()))),
    }
}

struct Writer<'a> {
    c: &'a JiraConnector,
    zone: Option<Tz>,
    /// E-mail → account id, looked up once per push.
    accounts: HashMap<String, String>,
    outcomes: Outcomes,
}

impl Writer<'_> {
    fn fail(&mut self, op: &WriteOp, error: WriteError) {
        self.outcomes.insert(op.op_id.clone(), Err(error));
    }

    async fn create(&mut self, chunk: &[(&WriteOp, &Task)]) {
        let mut inputs = Vec::new();
        let mut sent = Vec::new();
        for (op, task) in chunk {
            match self.fields(task, true).await {
                Ok(mut fields) => {
                    let mut labels = fields.remove("labels").and_then(|l| l.as_array().cloned()).unwrap_or_default();
                    labels.push(json!(handle_label(&op.op_id)));
                    fields.insert("labels".into(), Value::Array(labels));
                    inputs.push(Value::Object(fields));
                    sent.push((*op, *task));
                }
                Err(e) => self.fail(op, e),
            }
        }
        if inputs.is_empty() {
            return;
        }
        let answer = match self.c.client.bulk_create(inputs).await {
            Ok(answer) => answer,
            Err(e) => {
                for (op, _) in &sent {
                    self.fail(op, WriteError::from_request(&e).context("create failed (it may have happened): "));
                }
                return;
            }
        };
        let failed: HashMap<usize, String> =
            answer.errors.iter().map(|e| (e.failed_element_number, e.element_errors.to_string())).collect();
        // Created issues come back in the order of the inputs that succeeded.
        let mut created = answer.issues.into_iter();
        let mut written = Vec::new();
        for (i, (op, task)) in sent.iter().enumerate() {
            if let Some(reason) = failed.get(&i) {
                self.fail(op, WriteError::invalid(format!("create rejected: {reason}")));
                continue;
            }
            let Some(issue) = created.next() else {
                self.fail(op, WriteError::unknown("create: Jira returned fewer issues than it accepted"));
                continue;
            };
            if task.status != TaskStatus::Todo {
                if let Err(e) = self.move_to(&issue.id, task.status, None).await {
                    // The issue exists: report it created (resending would duplicate it);
                    // the next sync shows its real status and plans the move again.
                    tracing::warn!(issue = %issue.key, error = %e, "created, but status not set");
                }
            }
            written.extend(issue.id.parse::<u64>().ok());
            self.outcomes.insert(op.op_id.clone(), Ok(issue.id));
        }
        self.c.remember_writes(written);
    }

    async fn update(&mut self, id: &str, task: &Task) -> Result<String, WriteError> {
        let mut fields = self.fields(task, false).await?;
        let added: Vec<Value> = fields
            .remove("labels")
            .and_then(|l| l.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|label| json!({ "add": label }))
            .chain(task.labels_removed.iter().map(|label| json!({ "remove": label })))
            .collect();
        let screen = self
            .c
            .client
            .edit_meta(id)
            .await
            .map_err(|e| WriteError::from_request(&e).context("cannot read the edit screen: "))?;
        let mut left_out: Vec<String> = fields.keys().filter(|f| !screen.fields.contains_key(*f)).cloned().collect();
        fields.retain(|f, _| screen.fields.contains_key(f));
        let mut body = json!({ "fields": fields });
        if !added.is_empty() {
            if screen.fields.contains_key("labels") {
                body["update"] = json!({ "labels": added });
            } else {
                left_out.push("labels".into());
            }
        }
        if !left_out.is_empty() {
            tracing::warn!(issue = %id, fields = ?left_out, "not on the edit screen: left out of the edit");
        }
        let nothing_left = fields.is_empty() && body.get("update").is_none();
        if nothing_left && !left_out.is_empty() {
            return Err(WriteError::invalid(format!("{} not on the edit screen", left_out.join(", "))));
        }
        let returned = self
            .c
            .client
            .update(id, &body)
            .await
            .map_err(|e| WriteError::from_request(&e).context("update failed: "))?;
        self.c.remember_writes(id.parse::<u64>().ok());
        let current = returned.fields.status.as_ref().map(|s| self.c.mapper.status_of(s, false).0);
        if current != Some(task.status) {
            self.move_to(id, task.status, Some(returned.transitions))
                .await
                .map_err(|e| e.context("fields updated, but "))?;
        }
        Ok(id.to_string())
    }

    /// Performs the transition to a status that maps to `target`.
    async fn move_to(&self, id: &str, target: TaskStatus, known: Option<Vec<Transition>>) -> Result<(), WriteError> {
        let transitions = match known {
            Some(t) if !t.is_empty() => t,
            _ => {
                self.c
                    .client
                    .transitions(id)
                    .await
                    .map_err(|e| WriteError::from_request(&e).context("cannot list transitions: "))?
                    .transitions
            }
        };
        let chosen =
            transitions.iter().find(|t| self.c.mapper.status_of(&t.to, false).0 == target).ok_or_else(|| {
                let available: Vec<String> =
                    transitions.iter().map(|t| t.to.name.clone().unwrap_or_else(|| t.id.clone())).collect();
                WriteError::invalid(format!(
                    "no transition leads to a {target:?} status (available: {})",
                    available.join(", ")
                ))
            })?;
        self.c
            .client
            .transition(id, &chosen.id)
            .await
            .map_err(|e| WriteError::from_request(&e).context(&format!("transition {} failed: ", chosen.id)))
    }

    /// The `fields` object for a create (`creating`) or an update. Empty values are left
    /// out of updates, so they do not touch the issue.
    async fn fields(&mut self, task: &Task, creating: bool) -> Result<Map<String, Value>, WriteError> {
        let settings = &self.c.settings;
        let mut f = Map::new();
        if creating {
            let project = settings.create_project.as_deref().ok_or_else(|| {
                WriteError::unsupported("create_project is not configured: set the project key new issues go to")
            })?;
            if task.title.trim().is_empty() {
                return Err(WriteError::invalid("a Jira issue needs a summary"));
            }
            f.insert("project".into(), json!({"key": project}));
            f.insert("issuetype".into(), json!({"name": settings.issue_type}));
        }
        if !task.title.trim().is_empty() {
            f.insert("summary".into(), json!(task.title));
        }
        if let Some(text) = &task.description {
            f.insert("description".into(), adf::from_text(text));
        }
        if let Some(due) = task.due {
            let date = time::local_date(due, self.zone);
            f.insert("duedate".into(), json!(date.format("%Y-%m-%d").to_string()));
        }
        if let Some(p) = task.priority {
            let name = self.c.mapper.priorities().name_for(p);
            f.insert("priority".into(), json!({"name": name}));
        }
        if let Some(person) = &task.assignee {
            let account = self.account_id(person).await?;
            f.insert("assignee".into(), json!({"accountId": account}));
        }
        let hints: Vec<&str> = task
            .clients
            .iter()
            .filter_map(|c| match c {
                ClientRef::Hint(h) => Some(h.as_str()),
                ClientRef::External(_) => None,
            })
            .collect();
        let mut labels = task.labels.clone();
        match (&settings.client_label_prefix, &settings.client_field) {
            (Some(prefix), _) => {
                for hint in &hints {
                    // Jira labels cannot contain spaces.
                    let label = format!("{prefix}{}", hint.replace(char::is_whitespace, "_"));
                    if !labels.contains(&label) {
                        labels.push(label);
                    }
                }
            }
            (None, Some(field)) => {
                if let Some(hint) = hints.first() {
                    f.insert(field.clone(), json!(hint));
                }
            }
            (None, None) => {}
        }
        if !labels.is_empty() {
            f.insert("labels".into(), json!(labels));
        }
        Ok(f)
    }

    /// An account id for a person given as an e-mail (looked up; the e-mail must be
    /// visible) or as an account id (used as is).
    async fn account_id(&mut self, person: &str) -> Result<String, WriteError> {
        let Ok(email) = Email::parse(person) else {
            return Ok(person.to_string());
        };
        if let Some(id) = self.accounts.get(email.as_str()) {
            return Ok(id.clone());
        }
        let users = self
            .c
            .client
            .find_users(email.as_str())
            .await
            .map_err(|e| WriteError::from_request(&e).context(&format!("cannot look up {email}: ")))?;
        let id = users
            .into_iter()
            .find(|u| u.email_address.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email.as_str())))
            .and_then(|u| u.account_id)
            .ok_or_else(|| {
                WriteError::invalid(format!(
                    "no Jira user with the visible e-mail {email} (hidden e-mails cannot be matched)"
                ))
            })?;
        self.accounts.insert(email.to_string(), id.clone());
        Ok(id)
    }
}
