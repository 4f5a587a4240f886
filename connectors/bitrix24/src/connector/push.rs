//! Writes: `crm.company.add/update` and `tasks.task.add/update`, packed in `batch`.
//!
//! Every push of up to 50 ops costs two requests: one batch reading what the writes must not
//! clobber, then one batch of writes whose per-command results become per-op outcomes
//! (`result_error` → that op failed; the rest still succeed).
//!
//! What is read first, and why:
//! - **Company multi-fields.** Entries are addressed by ID; a list sent back without IDs adds
//!   a duplicate of every phone. Updates carry the IDs of the entries they change or delete
//!   (see [`merge_multifield`]).
//! - **Earlier creates.** `crm.company.add` is not idempotent. Creates carry
//!   `ORIGINATOR_ID = zveno` and `ORIGIN_ID = <op id>`; companies already holding an op's
//!   origin are reported as created instead of created twice, so a push retried after a
//!   timeout is safe.
//!   Tasks carry `XML_ID = zveno-<op id>` the same way ([`task_handle`]); after a crash
//!   write-back finds either by its handle ([`zveno_connector::Connector::find_created`]).
//! - **Task CRM links.** `UF_CRM_TASK` is replaced whole on update, so deal and lead links
//!   are read and written back alongside the client and contact links.
//!
//! Archiving a task completes it (the `done` status's code); companies have no archive in
//! Bitrix24 and are not archived. Not written: contacts, and tax ids held in requisites
//! (creating a requisite needs a portal-specific preset); with `tax_id_field` the tax id is
//! written there.

use std::collections::HashMap;

use serde_json::Value;
use zveno_connector::{
    Client, ConnectorError, Domain, Email, ErrorKind, Phone, RecordData, Task, WriteAction, WriteError, WriteOp,
    WriteOutcome,
};

use super::Bitrix24Connector;
use crate::client::{Command, MAX_COMMANDS, PAGE_ROWS};
use crate::dto::{id_of, BatchResult};
use crate::mapping::{is_own_site, merge_multifield, multifield, CrmLink, MultiValue, MultifieldEdit, People};

/// The `ORIGINATOR_ID` of companies zveno creates.
pub const ORIGINATOR: &str = "zveno";

/// The `XML_ID` a task zveno creates carries: its idempotency handle (tasks have no
/// `ORIGIN_ID`; `tasks.task.list` filters on `XML_ID`, checked on the simulator).
pub fn task_handle(op_id: &str) -> String {
    format!("zveno-{op_id}")
}

/// The rows of one list command's answer in `reply` (key `key`), or its error.
pub(super) fn listed(reply: &BatchResult, key: &str) -> Result<Vec<Value>, ConnectorError> {
    if let Some(error) = reply.result_error.get(key) {
        return Err(ConnectorError::transient(format!("look-up by handle failed: {error}")));
    }
    Ok(reply.result.get(key).map(rows).unwrap_or_default())
}

/// An op the connector will send.
struct Planned<'a, T> {
    op_id: &'a str,
    /// The record's id, for updates.
    id: Option<u64>,
    data: &'a T,
}

/// Ops split by what they need, and the outcomes already known (decided ops).
struct Split<'a, T> {
    creates: Vec<Planned<'a, T>>,
    updates: Vec<Planned<'a, T>>,
    decided: Vec<WriteOutcome>,
}

fn failed(op_id: &str, error: WriteError) -> WriteOutcome {
    WriteOutcome::failed(op_id, error)
}

/// Splits `ops`. An archive becomes an update writing `archived` (a task is closed); without
/// it (companies: Bitrix24 has no archive) the op fails.
fn split<'a, T>(
    ops: &'a [WriteOp],
    pick: impl Fn(&'a RecordData) -> Option<&'a T>,
    archived: Option<&'a T>,
    what: &str,
) -> Split<'a, T> {
    let mut out = Split { creates: Vec::new(), updates: Vec::new(), decided: Vec::new() };
    for op in ops {
        match &op.action {
            WriteAction::Create { data } => match pick(data) {
                Some(data) => out.creates.push(Planned { op_id: &op.op_id, id: None, data }),
                None => out.decided.push(failed(&op.op_id, WriteError::invalid(format!("not {what} data")))),
            },
            WriteAction::Update { external_id, data } => {
                match (external_id.trim().parse::<u64>().ok().filter(|n| *n > 0), pick(data)) {
                    (Some(id), Some(data)) => out.updates.push(Planned { op_id: &op.op_id, id: Some(id), data }),
                    (None, _) => out
                        .decided
                        .push(failed(&op.op_id, WriteError::invalid(format!("{external_id:?} is not a Bitrix24 id")))),
                    (_, None) => out.decided.push(failed(&op.op_id, WriteError::invalid(format!("not {what} data")))),
                }
            }
            WriteAction::Archive { external_id } => {
                match (external_id.trim().parse::<u64>().ok().filter(|n| *n > 0), archived) {
                    (Some(id), Some(data)) => out.updates.push(Planned { op_id: &op.op_id, id: Some(id), data }),
                    (None, Some(_)) => out
                        .decided
                        .push(failed(&op.op_id, WriteError::invalid(format!("{external_id:?} is not a Bitrix24 id")))),
                    (_, None) => out.decided.push(failed(
                        &op.op_id,
                        WriteError::unsupported(format!(
                            "archiving Bitrix24 {what} {external_id} is not supported; delete it in Bitrix24"
                        )),
                    )),
                }
            }
        }
    }
    out
}

fn client_data(data: &RecordData) -> Option<&Client> {
    match data {
        RecordData::Client(c) => Some(c),
        _ => None,
    }
}

fn task_data(data: &RecordData) -> Option<&Task> {
    match data {
        RecordData::Task(t) => Some(t),
        _ => None,
    }
}

/// The user id a person names: a user id, or the e-mail of a portal user.
fn user_id(person: &str, people: &People) -> Option<u64> {
    if let Ok(id) = person.trim().parse::<u64>() {
        return Some(id);
    }
    let email = person.trim().to_lowercase();
    people.iter().find(|(_, e)| **e == email).map(|(id, _)| *id)
}

/// Rows of a list answer (flattening `result.tasks` for tasks).
fn rows(result: &Value) -> Vec<Value> {
    match result {
        Value::Array(rows) => rows.clone(),
        other => other.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default(),
    }
}

/// The rows of pre-read commands with key prefix `prefix`, or the error of the first that
/// failed (which keeps the ops depending on it from being sent).
fn read_back(reply: &BatchResult, prefix: &str) -> Result<Vec<Value>, WriteError> {
    let mut out = Vec::new();
    for (key, error) in &reply.result_error {
        if key.starts_with(prefix) {
            return Err(WriteError::not_sent(format!("could not read the current record: {error}")));
        }
    }
    for (key, result) in &reply.result {
        if key.starts_with(prefix) {
            out.extend(rows(result));
        }
    }
    Ok(out)
}

impl Bitrix24Connector {
    /// Sends the write commands and turns each command's answer into its op's outcome.
    /// `success` reads a successful result as the record's id.
    async fn send_writes(
        &self,
        writes: Vec<(String, Command)>,
        idempotent: bool,
        success: impl Fn(&Value, &Command) -> Option<String>,
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut outcomes = Vec::new();
        if writes.is_empty() {
            return Ok(outcomes);
        }
        let commands: Vec<Command> = writes.iter().map(|(_, c)| c.clone()).collect();
        let reply = self.client.batch(&commands, idempotent).await?;
        for (op_id, cmd) in writes {
            let result = match (reply.result_error.get(&cmd.key), reply.result.get(&cmd.key)) {
                // The portal answered this command with an error: it was not applied.
                (Some(error), _) => {
                    let error = self.client.command_error(cmd.method, error);
                    Err(match error.kind() {
                        ErrorKind::NotFound => WriteError::not_found(error.message()),
                        _ => WriteError::invalid(error.message()),
                    })
                }
                (None, Some(value)) => success(value, &cmd)
                    .ok_or_else(|| WriteError::unknown(format!("{}: unexpected answer {value}", cmd.method))),
                (None, None) => Err(WriteError::unknown(format!("{}: no answer in the batch", cmd.method))),
            };
            outcomes.push(WriteOutcome { op_id, result });
        }
        Ok(outcomes)
    }

    pub(super) async fn push_companies(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut outcomes = Vec::new();
        for chunk in ops.chunks(MAX_COMMANDS) {
            outcomes.extend(self.push_company_chunk(chunk).await?);
        }
        Ok(outcomes)
    }

    async fn push_company_chunk(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let Split { creates, updates, mut decided } = split(ops, client_data, None, "company");
        let people = self.people().await?;
        let mut reads = Vec::new();
        let update_ids: Vec<String> = updates.iter().filter_map(|u| u.id).map(|id| id.to_string()).collect();
        for (i, ids) in update_ids.chunks(PAGE_ROWS).enumerate() {
            reads.push(
                Command::new("e", i, "crm.company.list")
                    .list("filter[@ID]", ids)
                    .list("select", ["ID", "PHONE", "EMAIL", "WEB"])
                    .param("start", "-1"),
            );
        }
        if !creates.is_empty() {
            reads.push(
                Command::new("o", 0, "crm.company.list")
                    .param("filter[ORIGINATOR_ID]", ORIGINATOR)
                    .list("filter[@ORIGIN_ID]", creates.iter().map(|c| c.op_id))
                    .list("select", ["ID", "ORIGIN_ID"])
                    .param("start", "-1"),
            );
        }
        let reply = if reads.is_empty() { BatchResult::default() } else { self.client.batch(&reads, true).await? };
        let current: Result<HashMap<u64, Value>, WriteError> = read_back(&reply, "e")
            .map(|rows| rows.into_iter().filter_map(|r| id_of(r.get("ID")).map(|id| (id, r))).collect());
        let created: Result<HashMap<String, u64>, WriteError> = read_back(&reply, "o").map(|rows| {
            rows.iter().filter_map(|r| Some((r.get("ORIGIN_ID")?.as_str()?.to_string(), id_of(r.get("ID"))?))).collect()
        });
        let mut writes = Vec::new();
        for (i, op) in creates.iter().enumerate() {
            match &created {
                Err(e) => decided.push(failed(op.op_id, e.clone())),
                Ok(done) => match done.get(op.op_id) {
                    Some(id) => decided.push(WriteOutcome::written(op.op_id, id.to_string())),
                    None => writes.push((op.op_id.to_string(), self.company_add(i, op, &people))),
                },
            }
        }
        for (i, op) in updates.iter().enumerate() {
            let id = op.id.unwrap_or_default();
            match current.as_ref().map(|rows| rows.get(&id)) {
                Err(e) => decided.push(failed(op.op_id, e.clone())),
                Ok(None) => decided.push(failed(op.op_id, WriteError::not_found(format!("company {id} not found")))),
                Ok(Some(row)) => match self.company_update(i, id, op.data, row, &people) {
                    Some(cmd) => writes.push((op.op_id.to_string(), cmd)),
                    None => decided.push(WriteOutcome::written(op.op_id, id.to_string())),
                },
            }
        }
        let mut outcomes = decided;
        outcomes.extend(
            self.send_writes(writes, creates.is_empty(), |value, cmd| match cmd.method {
                "crm.company.add" => id_of(Some(value)).map(|id| id.to_string()),
                _ => cmd_update_id(cmd),
            })
            .await?,
        );
        Ok(order_like(ops, outcomes))
    }

    fn company_add(&self, i: usize, op: &Planned<'_, Client>, people: &People) -> Command {
        let client = op.data;
        let mut cmd = Command::new("a", i, "crm.company.add").param("fields[TITLE]", &client.name);
        let lists: [(&str, Vec<String>); 3] =
            [("PHONE", strings(&client.phones)), ("EMAIL", strings(&client.emails)), ("WEB", strings(&client.domains))];
        for (field, values) in lists {
            for (n, value) in values.iter().enumerate() {
                cmd = cmd
                    .param(&format!("fields[{field}][{n}][VALUE]"), value)
                    .param(&format!("fields[{field}][{n}][VALUE_TYPE]"), "WORK");
            }
        }
        for (key, value) in self.company_common(client, people) {
            cmd = cmd.param(&key, value);
        }
        cmd.param("fields[ORIGINATOR_ID]", ORIGINATOR)
            .param("fields[ORIGIN_ID]", op.op_id)
            .param("params[REGISTER_SONET_EVENT]", "N")
    }

    /// The update command for company `id`, or `None` when nothing would change.
    fn company_update(&self, i: usize, id: u64, client: &Client, current: &Value, people: &People) -> Option<Command> {
        let mut fields: Vec<(String, String)> = Vec::new();
        if !client.name.trim().is_empty() {
            fields.push(("fields[TITLE]".into(), client.name.clone()));
        }
        let record = current.as_object().cloned().unwrap_or_default();
        for (field, edits) in self.multifield_edits(client, &record) {
            for (n, edit) in edits.into_iter().enumerate() {
                let at = |k: &str| format!("fields[{field}][{n}][{k}]");
                match edit {
                    MultifieldEdit::Change { id, value, value_type } => fields.extend([
                        (at("ID"), id.to_string()),
                        (at("VALUE"), value),
                        (at("VALUE_TYPE"), value_type),
                    ]),
                    MultifieldEdit::Add { value, value_type } => {
                        fields.extend([(at("VALUE"), value), (at("VALUE_TYPE"), value_type)])
                    }
                    MultifieldEdit::Delete { id } => {
                        fields.extend([(at("ID"), id.to_string()), (at("DELETE"), "Y".to_string())])
                    }
                }
            }
        }
        fields.extend(self.company_common(client, people));
        if fields.is_empty() {
            return None;
        }
        let mut cmd = Command::new("u", i, "crm.company.update").param("id", id.to_string());
        for (key, value) in fields {
            cmd = cmd.param(&key, value);
        }
        Some(cmd.param("params[REGISTER_SONET_EVENT]", "N"))
    }

    /// The multi-field edits that make a company's current entries hold the client's values.
    /// An empty list in the update means "not touched", not "delete every entry".
    fn multifield_edits(
        &self,
        client: &Client,
        record: &serde_json::Map<String, Value>,
    ) -> Vec<(&'static str, Vec<MultifieldEdit>)> {
        let region = Some(self.settings.region);
        let mut ignored = Vec::new();
        let mut out = Vec::new();
        if !client.phones.is_empty() {
            let existing = multifield(record, "PHONE", &mut ignored);
            let normalise = |v: &str| Phone::parse(v, region).ok().map(|p| p.to_string());
            out.push(("PHONE", merge_multifield(&existing, &strings(&client.phones), normalise, |_| true, "WORK")));
        }
        if !client.emails.is_empty() {
            let existing = multifield(record, "EMAIL", &mut ignored);
            let normalise = |v: &str| Email::parse(v).ok().map(|e| e.to_string());
            out.push(("EMAIL", merge_multifield(&existing, &strings(&client.emails), normalise, |_| true, "WORK")));
        }
        if !client.domains.is_empty() {
            let existing = multifield(record, "WEB", &mut ignored);
            let normalise = |v: &str| Domain::parse(v).ok().map(|d| d.to_string());
            let own = |e: &MultiValue| is_own_site(&e.value_type);
            out.push(("WEB", merge_multifield(&existing, &strings(&client.domains), normalise, own, "WORK")));
        }
        out
    }

    /// Owner and (with `tax_id_field`) tax id fields, for adds and updates: the tax id goes
    /// to the first configured field, the one read first after requisites.
    fn company_common(&self, client: &Client, people: &People) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        if let Some(owner) = client.owner.as_deref().and_then(|o| user_id(o, people)) {
            fields.push(("fields[ASSIGNED_BY_ID]".to_string(), owner.to_string()));
        }
        if let (Some(field), Some(tax_id)) = (self.settings.tax_id_fields.first(), &client.tax_id) {
            fields.push((format!("fields[{field}]"), tax_id.as_str().to_string()));
        }
        fields
    }

    pub(super) async fn push_tasks(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut outcomes = Vec::new();
        for chunk in ops.chunks(MAX_COMMANDS) {
            outcomes.extend(self.push_task_chunk(chunk).await?);
        }
        Ok(outcomes)
    }

    async fn push_task_chunk(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let closed = closed_task();
        let Split { creates, updates, mut decided } = split(ops, task_data, Some(&closed), "task");
        let people = self.people().await?;
        let relinked: Vec<String> =
            updates.iter().filter(|u| has_links(u.data)).filter_map(|u| u.id).map(|id| id.to_string()).collect();
        let reads: Vec<Command> = relinked
            .chunks(PAGE_ROWS)
            .enumerate()
            .map(|(i, ids)| {
                Command::new("e", i, "tasks.task.list")
                    .list("filter[ID]", ids)
                    .list("select", ["ID", "UF_CRM_TASK"])
                    .param("start", "-1")
            })
            .collect();
        let reply = if reads.is_empty() { BatchResult::default() } else { self.client.batch(&reads, true).await? };
        let links: Result<HashMap<u64, Vec<String>>, WriteError> = read_back(&reply, "e").map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    let id = id_of(r.get("id"))?;
                    let list = r
                        .get("ufCrmTask")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default();
                    Some((id, list))
                })
                .collect()
        });
        let mut writes = Vec::new();
        for (i, op) in creates.iter().enumerate() {
            let add = Command::new("a", i, "tasks.task.add").param("fields[XML_ID]", task_handle(op.op_id));
            match self.task_fields(add, op.data, &people, None, true) {
                Ok(cmd) => writes.push((op.op_id.to_string(), cmd)),
                Err(e) => decided.push(failed(op.op_id, e)),
            }
        }
        for (i, op) in updates.iter().enumerate() {
            let id = op.id.unwrap_or_default();
            let existing = if has_links(op.data) {
                match links.as_ref().map(|l| l.get(&id)) {
                    Err(e) => {
                        decided.push(failed(op.op_id, e.clone()));
                        continue;
                    }
                    Ok(None) => {
                        decided.push(failed(op.op_id, WriteError::not_found(format!("task {id} not found"))));
                        continue;
                    }
                    Ok(Some(current)) => Some(current.as_slice()),
                }
            } else {
                None
            };
            let base = Command::new("u", i, "tasks.task.update").param("taskId", id.to_string());
            match self.task_fields(base, op.data, &people, existing, false) {
                Ok(cmd) => writes.push((op.op_id.to_string(), cmd)),
                Err(e) => decided.push(failed(op.op_id, e)),
            }
        }
        let mut outcomes = decided;
        outcomes.extend(
            self.send_writes(writes, creates.is_empty(), |value, cmd| match cmd.method {
                "tasks.task.add" => id_of(value.get("task").and_then(|t| t.get("id"))).map(|id| id.to_string()),
                _ => cmd_update_id(cmd),
            })
            .await?,
        );
        Ok(order_like(ops, outcomes))
    }

    /// The task fields of `task` on `cmd`. `existing` links (updates) keep their non-client
    /// entries; `create` falls back to the webhook's user as the required responsible.
    fn task_fields(
        &self,
        mut cmd: Command,
        task: &Task,
        people: &People,
        existing: Option<&[String]>,
        create: bool,
    ) -> Result<Command, WriteError> {
        if !task.title.trim().is_empty() || create {
            cmd = cmd.param("fields[TITLE]", &task.title);
        }
        if let Some(description) = &task.description {
            cmd = cmd.param("fields[DESCRIPTION]", description);
        }
        let responsible = task.assignee.as_deref().and_then(|a| user_id(a, people));
        match (responsible, create) {
            (Some(id), _) => cmd = cmd.param("fields[RESPONSIBLE_ID]", id.to_string()),
            (None, true) => cmd = cmd.param("fields[RESPONSIBLE_ID]", self.client.webhook().user_id().to_string()),
            (None, false) => {}
        }
        let code = self.settings.statuses.code(task.status).ok_or_else(|| {
            WriteError::invalid(format!("status {:?} has no Bitrix24 code under status_map", task.status))
        })?;
        cmd = cmd.param("fields[STATUS]", code.to_string());
        if let Some(priority) = task.priority {
            let p = match priority {
                zveno_connector::Priority::Low => "0",
                zveno_connector::Priority::Medium => "1",
                zveno_connector::Priority::High | zveno_connector::Priority::Urgent => "2",
            };
            cmd = cmd.param("fields[PRIORITY]", p);
        }
        if let Some(due) = task.due {
            cmd = cmd.param("fields[DEADLINE]", self.client.portal_time(due));
        }
        if has_links(task) {
            let mut links: Vec<String> = existing
                .unwrap_or_default()
                .iter()
                .filter(|l| matches!(CrmLink::parse(l), Some(CrmLink::Other(_))))
                .cloned()
                .collect();
            links.extend(task.clients.iter().filter_map(|c| match c {
                zveno_connector::ClientRef::External(id) => id.parse::<u64>().ok().map(|n| CrmLink::Company(n).text()),
                zveno_connector::ClientRef::Hint(_) => None,
            }));
            links.extend(
                task.contact_ids.iter().filter_map(|id| id.parse::<u64>().ok().map(|n| CrmLink::Contact(n).text())),
            );
            cmd = cmd.list("fields[UF_CRM_TASK]", links);
        }
        if !task.labels.is_empty() {
            cmd = cmd.list("fields[TAGS]", &task.labels);
        }
        Ok(cmd)
    }
}

/// What archiving a task writes: it is completed (the status `done` maps to), nothing else
/// changes. Bitrix24 has no task archive, and deleting one cannot be undone.
fn closed_task() -> Task {
    Task::new(String::new(), zveno_connector::TaskStatus::Done)
}

/// Values as the text Bitrix24 stores.
fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(T::to_string).collect()
}

fn has_links(task: &Task) -> bool {
    !task.clients.is_empty() || !task.contact_ids.is_empty()
}

/// The id an update command wrote (its `id` / `taskId` parameter).
fn cmd_update_id(cmd: &Command) -> Option<String> {
    cmd.param_value("id").or_else(|| cmd.param_value("taskId")).map(str::to_string)
}

/// Outcomes in the order of `ops`, whatever order they were decided in.
fn order_like(ops: &[WriteOp], mut outcomes: Vec<WriteOutcome>) -> Vec<WriteOutcome> {
    let position: HashMap<&str, usize> = ops.iter().enumerate().map(|(i, op)| (op.op_id.as_str(), i)).collect();
    outcomes.sort_by_key(|o| position.get(o.op_id.as_str()).copied().unwrap_or(usize::MAX));
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_found_by_id_or_email() {
        let people = People::from([(3, "anna@romashka.ru".to_string())]);
        assert_eq!(user_id("3", &people), Some(3));
        assert_eq!(user_id(" Anna@Romashka.RU ", &people), Some(3));
        assert_eq!(user_id("boris@romashka.ru", &people), None);
    }
}
