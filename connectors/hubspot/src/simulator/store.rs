//! The simulated portal's data: objects with string properties, associations, owners.
//!
//! Seeded from a `zveno-sim` [`SystemData`] and rendered the way a HubSpot portal holds
//! it: one `phone` on a company, `email` + `;`-joined `hs_additional_emails` and
//! `phone`/`mobilephone` on a contact, task statuses in HubSpot's vocabulary, the tax id in
//! a custom property. Every record remembers when (on the simulator's clock) it last
//! changed, which is what the search index lag is measured against.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use zveno_connector::{Priority, TaskStatus};
use zveno_sim::world::{SimCompany, SimContact, SimTask, SimUser, SystemData};

use crate::dto::object::Object;
use crate::mapping::values::format_time;

/// One record.
#[derive(Debug, Clone)]
pub struct SimObject {
    /// The id.
    pub id: u64,
    /// Properties other than the id and the create/modify times.
    pub props: BTreeMap<String, String>,
    /// Creation time, epoch ms.
    pub created_ms: i64,
    /// Last modification, epoch ms (what `hs_lastmodifieddate` / `lastmodifieddate` say).
    pub updated_ms: i64,
    /// When it was archived, if it is.
    pub archived_ms: Option<i64>,
    /// The simulator clock's `elapsed()` at the last change, for the index lag; `None` for
    /// records seeded from the world (changed long ago, long indexed).
    pub changed_at: Option<Duration>,
    /// Rendered with a broken `properties` (for malformed-record tests).
    pub corrupt: bool,
}

/// An owner (a HubSpot user).
#[derive(Debug, Clone)]
pub struct SimOwner {
    /// Owner id (what records point at).
    pub id: u64,
    /// User id.
    pub user_id: u64,
    /// E-mail.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Deactivated.
    pub archived: bool,
}

/// Everything the portal holds (cloned to try a batch that may be refused whole).
#[derive(Debug, Default, Clone)]
pub struct Db {
    /// Records by type and id.
    pub objects: BTreeMap<Object, BTreeMap<u64, SimObject>>,
    /// Associations, stored in both directions: `(from type, from id, to type, to id)`.
    pub links: BTreeSet<(Object, u64, Object, u64)>,
    /// Owners.
    pub owners: Vec<SimOwner>,
    /// Property definitions (see [`super::properties`]).
    pub schema: super::properties::Schema,
}

impl Db {
    /// A portal holding `data`. Timestamps are moved back, all by the same amount, if the
    /// world's newest change lies after `now` (a portal never holds changes from the future).
    pub fn seed(data: &SystemData, tax_property: &str, now: DateTime<Utc>) -> Self {
        let newest = data
            .companies
            .iter()
            .map(|c| c.updated_at)
            .chain(data.contacts.iter().map(|c| c.updated_at))
            .chain(data.tasks.iter().map(|t| t.updated_at))
            .max();
        let shift = newest.filter(|n| *n > now).map_or(0, |n| (n - now).num_milliseconds() + 3_600_000);
        let ms = |t: DateTime<Utc>| t.timestamp_millis() - shift;
        let mut db = Db::default();
        for c in &data.companies {
            db.insert(Object::Companies, company(c, tax_property), ms(c.created_at), ms(c.updated_at));
        }
        for c in &data.contacts {
            db.insert(Object::Contacts, contact(c), ms(c.created_at), ms(c.updated_at));
            if let Some(company) = c.company_id {
                db.link(Object::Contacts, c.id, Object::Companies, company);
            }
        }
        for t in &data.tasks {
            let due = t.due.map_or(ms(t.created_at), ms);
            db.insert(Object::Tasks, task(t, due), ms(t.created_at), ms(t.updated_at));
            if let Some(company) = t.company_id {
                db.link(Object::Tasks, t.id, Object::Companies, company);
            }
            if let Some(contact) = t.contact_id {
                db.link(Object::Tasks, t.id, Object::Contacts, contact);
            }
        }
        db.owners = data.users.iter().map(owner).collect();
        db
    }

    /// Adds a record (seeding: it changed long ago, so it is indexed).
    pub fn insert(&mut self, object: Object, props: BTreeMap<String, String>, created_ms: i64, updated_ms: i64) {
        let id = props.get("hs_object_id").and_then(|v| v.parse().ok()).unwrap_or_else(|| self.next_id(object));
        let mut props = props;
        props.remove("hs_object_id");
        self.objects.entry(object).or_default().insert(
            id,
            SimObject { id, props, created_ms, updated_ms, archived_ms: None, changed_at: None, corrupt: false },
        );
    }

    /// The id a new record of `object` gets.
    pub fn next_id(&self, object: Object) -> u64 {
        self.objects.get(&object).and_then(|m| m.keys().next_back()).map_or(1, |id| id + 1)
    }

    /// Associates two records (both directions).
    pub fn link(&mut self, a: Object, a_id: u64, b: Object, b_id: u64) {
        self.links.insert((a, a_id, b, b_id));
        self.links.insert((b, b_id, a, a_id));
    }

    /// Ids of `to` records associated with record `id` of `from`.
    pub fn linked(&self, from: Object, id: u64, to: Object) -> Vec<u64> {
        self.links.range((from, id, to, 0)..=(from, id, to, u64::MAX)).map(|l| l.3).collect()
    }

    /// Records of a type.
    pub fn of(&self, object: Object) -> impl Iterator<Item = &SimObject> {
        self.objects.get(&object).into_iter().flat_map(|m| m.values())
    }

    /// One record, live or archived.
    pub fn get_mut(&mut self, object: Object, id: u64) -> Option<&mut SimObject> {
        self.objects.get_mut(&object).and_then(|m| m.get_mut(&id))
    }

    /// One live record.
    pub fn live(&self, object: Object, id: u64) -> Option<&SimObject> {
        self.objects.get(&object).and_then(|m| m.get(&id)).filter(|o| o.archived_ms.is_none())
    }

    /// Ids of `n` live records of `object`, spread evenly over the id range.
    pub fn pick(&self, object: Object, n: usize) -> Vec<u64> {
        let live: Vec<u64> = self.of(object).filter(|o| o.archived_ms.is_none()).map(|o| o.id).collect();
        if n == 0 || live.is_empty() {
            return Vec::new();
        }
        let n = n.min(live.len());
        (0..n).map(|i| live[i * live.len() / n]).collect()
    }
}

/// HubSpot's `domain` property: the host of the website without scheme, `www.` or path.
fn domain_of(website: &str) -> Option<String> {
    let s = website.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let host = s.split(['/', '?', '#', ':']).next()?.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host).to_lowercase();
    (!host.is_empty() && host.contains('.')).then_some(host)
}

fn props(pairs: impl IntoIterator<Item = (&'static str, Option<String>)>) -> BTreeMap<String, String> {
    pairs.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect()
}

fn company(c: &SimCompany, tax_property: &str) -> BTreeMap<String, String> {
    let mut p = props([
        ("hs_object_id", Some(c.id.to_string())),
        ("name", Some(c.name.clone())),
        ("domain", c.website.as_deref().and_then(domain_of)),
        ("website", c.website.clone()),
        ("phone", c.phones.first().cloned()),
        ("hubspot_owner_id", c.owner_id.map(|o| o.to_string())),
    ]);
    if let Some(tax) = &c.tax_id {
        p.insert(tax_property.to_string(), tax.clone());
    }
    p
}

fn contact(c: &SimContact) -> BTreeMap<String, String> {
    let additional = c.emails.get(1..).filter(|rest| !rest.is_empty()).map(|rest| rest.join(";"));
    props([
        ("hs_object_id", Some(c.id.to_string())),
        ("firstname", Some(c.first_name.clone())),
        ("lastname", Some(c.last_name.clone())),
        ("email", c.emails.first().cloned()),
        ("hs_additional_emails", additional),
        ("phone", c.phones.first().cloned()),
        ("mobilephone", c.phones.get(1).cloned()),
        ("hubspot_owner_id", c.owner_id.map(|o| o.to_string())),
    ])
}

/// A task in HubSpot's vocabulary. In-progress tasks alternate between `IN_PROGRESS` and
/// `WAITING`, and `cancelled` is `DEFERRED` (HubSpot has no cancelled status).
fn task(t: &SimTask, due_ms: i64) -> BTreeMap<String, String> {
    let status = match t.status {
        TaskStatus::Todo => "NOT_STARTED",
        TaskStatus::InProgress if t.id % 2 == 0 => "WAITING",
        TaskStatus::InProgress => "IN_PROGRESS",
        TaskStatus::Done => "COMPLETED",
        TaskStatus::Cancelled => "DEFERRED",
    };
    let priority = match t.priority {
        Priority::Low => "LOW",
        Priority::Medium => "MEDIUM",
        Priority::High | Priority::Urgent => "HIGH",
    };
    let kind = ["TODO", "CALL", "EMAIL"][(t.id % 3) as usize];
    props([
        ("hs_object_id", Some(t.id.to_string())),
        ("hs_task_subject", Some(t.title.clone())),
        ("hs_task_body", t.description.as_ref().map(|d| format!("<p>{d}</p>"))),
        ("hs_task_status", Some(status.to_string())),
        ("hs_task_priority", Some(priority.to_string())),
        ("hs_task_type", Some(kind.to_string())),
        ("hs_timestamp", DateTime::from_timestamp_millis(due_ms).map(format_time)),
        ("hubspot_owner_id", t.assignee_id.map(|o| o.to_string())),
    ])
}

fn owner(u: &SimUser) -> SimOwner {
    SimOwner {
        id: u.id,
        user_id: 9_000_000 + u.id,
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        archived: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_property_is_the_bare_host() {
        for (website, want) in [
            ("https://www.romashka.ru/", Some("romashka.ru")),
            ("romashka.ru", Some("romashka.ru")),
            ("http://Shop.Acme.co.uk:8080/x?y", Some("shop.acme.co.uk")),
            ("", None),
            ("localhost", None),
        ] {
            assert_eq!(domain_of(website).as_deref(), want, "{website}");
        }
    }

    #[test]
    fn picks_are_spread_and_bounded() {
        let mut db = Db::default();
        for id in 1..=10u64 {
            db.insert(Object::Companies, props([("hs_object_id", Some(id.to_string()))]), 0, 0);
        }
        assert_eq!(db.pick(Object::Companies, 3), [1, 4, 7]);
        assert_eq!(db.pick(Object::Companies, 50).len(), 10);
        assert!(db.pick(Object::Tasks, 3).is_empty());
        assert_eq!(db.next_id(Object::Companies), 11);
    }

    #[test]
    fn links_go_both_ways() {
        let mut db = Db::default();
        db.link(Object::Tasks, 5, Object::Companies, 9);
        assert_eq!(db.linked(Object::Tasks, 5, Object::Companies), [9]);
        assert_eq!(db.linked(Object::Companies, 9, Object::Tasks), [5]);
        assert!(db.linked(Object::Tasks, 5, Object::Contacts).is_empty());
    }
}
