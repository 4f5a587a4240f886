//! The simulated Jira site: accounts, projects, issues, and the search index that lags
//! behind them.
//!
//! Every issue has its **live** version (what `GET issue` and writes see) and an
//! **indexed** one (what `search/jql` sees). A write becomes searchable only `lag` later
//! (virtual time), as Jira's "recent updates might not be immediately visible"; issues
//! named in `reconcileIssues` are read live.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use zveno_sim::world::{SimTask, SystemData};

use super::render::{priority_json, resolution_json, status_index, status_json, user_json, STATUSES};
use super::SimOptions;
use crate::mapping::{adf, time};

/// An Atlassian account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Account id.
    pub account_id: String,
    /// Display name.
    pub display_name: String,
    /// E-mail.
    pub email: String,
    /// Whether the profile shows the e-mail to others.
    pub email_visible: bool,
    /// The user's own zone.
    pub time_zone: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Numeric id.
    pub id: u64,
    /// Key (`OPS`).
    pub key: String,
    /// Next issue number.
    pub next_number: u64,
}

impl Project {
    /// The project object embedded in issues.
    pub fn json(&self, host: &str) -> Value {
        json!({"self": format!("{host}/rest/api/3/project/{}", self.id), "id": self.id.to_string(),
               "key": self.key, "name": format!("{} project", self.key), "projectTypeKey": "software",
               "simplified": false})
    }
}

/// One version of an issue's content. Times are kept as instants and rendered in the
/// reader's zone on the way out.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Every field but the times, in Jira's JSON shapes.
    pub fields: Map<String, Value>,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last updated.
    pub updated: DateTime<Utc>,
    /// Resolved.
    pub resolved: Option<DateTime<Utc>>,
}

impl Doc {
    /// Labels, for JQL.
    pub fn labels(&self) -> Vec<String> {
        self.fields
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Index of the current status in the workflow.
    pub fn status_index(&self) -> usize {
        let id = self.fields.get("status").and_then(|s| s.get("id")).and_then(Value::as_str);
        STATUSES.iter().position(|s| Some(s.0) == id).unwrap_or(0)
    }
}

/// An issue with its live and searchable versions.
#[derive(Debug, Clone)]
pub struct SimIssue {
    /// Id.
    pub id: u64,
    /// Key.
    pub key: String,
    /// Project key.
    pub project: String,
    /// Current content.
    pub live: Doc,
    /// What search sees.
    indexed: Option<Doc>,
    /// The next version search will see, and from when.
    pending: Option<(DateTime<Utc>, Doc)>,
}

impl SimIssue {
    pub(super) fn new(id: u64, key: String, project: String, doc: Doc) -> Self {
        Self { id, key, project, live: doc.clone(), indexed: Some(doc), pending: None }
    }

    /// Moves a pending version into the index once its lag has passed.
    pub fn index_due(&mut self, now: DateTime<Utc>) {
        if self.pending.as_ref().is_some_and(|(at, _)| *at <= now) {
            self.indexed = self.pending.take().map(|(_, doc)| doc);
        }
    }

    /// The version search sees (call [`SimIssue::index_due`] first).
    pub fn indexed(&self) -> Option<&Doc> {
        self.indexed.as_ref()
    }

    /// Replaces the live version; search sees it after `lag`.
    pub fn write(&mut self, doc: Doc, now: DateTime<Utc>, lag: std::time::Duration) {
        self.index_due(now);
        self.live = doc.clone();
        let lag = chrono::Duration::from_std(lag).unwrap_or_default();
        if lag.is_zero() {
            self.indexed = Some(doc);
        } else {
            self.pending = Some((now + lag, doc));
        }
    }
}

/// The whole site.
#[derive(Debug)]
pub struct Site {
    /// The token user's zone (`/myself` `timeZone`); JQL dates are read in it.
    pub time_zone: String,
    /// Search index lag.
    pub lag: std::time::Duration,
    /// Issues by id.
    pub issues: BTreeMap<u64, SimIssue>,
    /// Issues under a security level the token user is not in: they exist, but to this
    /// token every endpoint answers as if they did not (Jira's "does not exist or you do
    /// not have permission to see it").
    pub restricted: BTreeMap<u64, SimIssue>,
    /// Accounts other than the token user.
    pub users: Vec<Account>,
    /// The token user.
    pub myself: Account,
    /// Projects.
    pub projects: Vec<Project>,
    /// Next issue id.
    pub next_id: u64,
    /// Write requests received (creates, edits, transitions).
    pub writes: u64,
    /// JQL of every search received, for tests.
    pub queries: Vec<String>,
    /// The custom field naming clients.
    pub client_field: String,
    /// Fields taken off the edit screen (an admin can): edits setting them are refused,
    /// and `editmeta` does not list them.
    pub off_edit_screen: std::collections::BTreeSet<String>,
}

/// Fields on the simulated edit screen (besides the client field), as `editmeta` lists them.
pub const EDIT_SCREEN: [&str; 6] = ["summary", "description", "duedate", "priority", "assignee", "labels"];

impl Site {
    /// The account zone as a `Tz` (`None` if the configured name is not a zone).
    pub fn zone(&self) -> Option<Tz> {
        self.time_zone.parse().ok()
    }

    /// An account by id.
    pub fn account(&self, account_id: &str) -> Option<&Account> {
        std::iter::once(&self.myself).chain(&self.users).find(|a| a.account_id == account_id)
    }

    /// A live issue by id or key.
    pub fn find(&mut self, id_or_key: &str) -> Option<&mut SimIssue> {
        match id_or_key.parse::<u64>() {
            Ok(id) => self.issues.get_mut(&id),
            Err(_) => self.issues.values_mut().find(|i| i.key.eq_ignore_ascii_case(id_or_key)),
        }
    }

    /// Adds an issue (created through the API): searchable after the lag.
    pub fn insert(&mut self, project: usize, doc: Doc, now: DateTime<Utc>) -> (u64, String) {
        let id = self.next_id;
        self.next_id += 1;
        let p = &mut self.projects[project];
        let key = format!("{}-{}", p.key, p.next_number);
        p.next_number += 1;
        let mut issue = SimIssue::new(id, key.clone(), p.key.clone(), doc.clone());
        issue.indexed = None;
        issue.write(doc, now, self.lag);
        self.issues.insert(id, issue);
        (id, key)
    }
}

/// The account id the simulator gives world user `id` (24 characters, like Atlassian's).
pub fn account_id(user: u64) -> String {
    format!("5b10a2844c2016570{user:07x}")
}

/// Builds the site from a world system's data.
pub fn seed(data: &SystemData, options: &SimOptions, seed: u64, host: &str) -> Site {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6a69_7261);
    let users: Vec<Account> = data
        .users
        .iter()
        .map(|u| Account {
            account_id: account_id(u.id),
            display_name: format!("{} {}", u.first_name, u.last_name),
            email: u.email.clone(),
            email_visible: !rng.gen_bool(options.hidden_email_share.clamp(0.0, 1.0)),
            time_zone: options.time_zone.clone(),
        })
        .collect();
    let myself = Account {
        account_id: "712020:5f0c3e6a-2b7d-4c1e-9a8f-00000000zveno".into(),
        display_name: "zveno sync".into(),
        email: options.email.clone(),
        email_visible: true,
        time_zone: options.time_zone.clone(),
    };
    let projects: Vec<Project> = options
        .projects
        .iter()
        .enumerate()
        .map(|(i, key)| Project { id: 10000 + i as u64, key: key.clone(), next_number: 1 })
        .collect();
    let mut site = Site {
        time_zone: options.time_zone.clone(),
        lag: options.lag,
        issues: BTreeMap::new(),
        restricted: BTreeMap::new(),
        users,
        myself,
        projects,
        next_id: 10000,
        writes: 0,
        queries: Vec::new(),
        client_field: options.client_field.clone(),
        off_edit_screen: std::collections::BTreeSet::new(),
    };
    if site.projects.is_empty() {
        return site;
    }
    for task in &data.tasks {
        let project = (task.id as usize).saturating_sub(1) % site.projects.len();
        let doc = task_doc(&site, task, project, options, &mut rng, host);
        let id = 10000 + task.id;
        let p = &mut site.projects[project];
        let key = format!("{}-{}", p.key, p.next_number);
        p.next_number += 1;
        site.issues.insert(id, SimIssue::new(id, key, p.key.clone(), doc));
        site.next_id = site.next_id.max(id + 1);
    }
    site
}

/// A new issue's fields before the caller's own (what Jira fills in by default).
pub fn blank_fields(site: &Site, project: usize, host: &str) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("summary".into(), Value::Null);
    f.insert("description".into(), Value::Null);
    f.insert("status".into(), status_json(0, host));
    f.insert("priority".into(), super::render::priority_by_index(2, host));
    f.insert("assignee".into(), Value::Null);
    f.insert("reporter".into(), user_json(&site.myself, host));
    f.insert("duedate".into(), Value::Null);
    f.insert("labels".into(), json!([]));
    f.insert("resolution".into(), Value::Null);
    f.insert("project".into(), site.projects[project].json(host));
    f.insert(
        "issuetype".into(),
        json!({"self": format!("{host}/rest/api/3/issuetype/10001"), "id": "10001", "name": "Task", "subtask": false}),
    );
    f.insert(site.client_field.clone(), Value::Null);
    f
}

fn task_doc(
    site: &Site,
    task: &SimTask,
    project: usize,
    options: &SimOptions,
    rng: &mut ChaCha8Rng,
    host: &str,
) -> Doc {
    let mut f = blank_fields(site, project, host);
    let person =
        |id: Option<u64>| id.and_then(|id| site.account(&account_id(id))).map_or(Value::Null, |a| user_json(a, host));
    let status = status_index(task.status);
    f.insert("summary".into(), json!(task.title));
    f.insert("description".into(), task.description.as_deref().map_or(Value::Null, adf::from_text));
    f.insert("status".into(), status_json(status, host));
    f.insert("priority".into(), priority_json(task.priority, host));
    f.insert("assignee".into(), person(task.assignee_id));
    f.insert("reporter".into(), person(task.reporter_id));
    f.insert("resolution".into(), resolution_json(status, host));
    let due = task.due.map(|d| time::local_date(d, site.zone()).format("%Y-%m-%d").to_string());
    f.insert("duedate".into(), json!(due));
    let mut labels = task.labels.clone();
    if let Some(hint) = &task.client_hint {
        // Sites name clients in different shapes; the connector must read them all.
        match rng.gen_range(0..10) {
            0..=3 => {
                f.insert(site.client_field.clone(), json!(hint));
            }
            4 | 5 => {
                f.insert(site.client_field.clone(), option_json(hint, rng, host));
            }
            6 => {
                f.insert(site.client_field.clone(), json!([option_json(hint, rng, host)]));
            }
            _ => labels.push(format!("{}{}", options.client_label_prefix, hint.replace(char::is_whitespace, "_"))),
        }
    }
    f.insert("labels".into(), json!(labels));
    let ms = |t: DateTime<Utc>| DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t);
    let resolved = matches!(status, 2 | 3).then_some(ms(task.updated_at));
    Doc { fields: f, created: ms(task.created_at), updated: ms(task.updated_at), resolved }
}

fn option_json(value: &str, rng: &mut ChaCha8Rng, host: &str) -> Value {
    let id = rng.gen_range(10020..10999);
    json!({"self": format!("{host}/rest/api/3/customFieldOption/{id}"), "value": value, "id": id.to_string()})
}
