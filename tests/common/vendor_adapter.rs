//! TEST ADAPTER, not a connector: turns the world's HubSpot, Bitrix24, Pipedrive and Jira
//! `SystemData` into the [`SourceRecord`]s those vendors' connectors produce, without
//! servers, so resolution can be measured on a large world in seconds.
//!
//! It mirrors what each connector's mapping keeps and drops, because that is what decides
//! how hard matching is:
//!
//! - HubSpot companies: name, the website and its bare `domain`, only the *first* phone
//!   (the `phone` property), the tax id custom property, no e-mails; contacts with
//!   `email`/`hs_additional_emails` and `phone`/`mobilephone`; tasks associated to their
//!   company (and contact). Phones typed without a country code are read as `RU`, the
//!   region a Russian portal configures.
//! - Bitrix24 companies: title, every phone, e-mail and website, the tax id from the
//!   requisite (`RQ_INN` read as a Russian INN, else `RQ_VAT_ID`); contacts with their
//!   `COMPANY_ID`; tasks with `UF_CRM_TASK` `CO_<id>` (an association to the company).
//! - Pipedrive organizations: name, the website, the INN custom field, no phones and no
//!   e-mails (organizations have neither); persons with every e-mail and phone and their
//!   `org_id`; activities linked to their organization (and person).
//! - Jira issues (external id `10000 + n`): the client field kept verbatim as a hint, or,
//!   on three issues in ten, a `client:` label, where spaces became underscores.
//!
//! When the vendor crates land in the registry, the end-to-end tests run the real
//! connectors against their simulators; this adapter stays for the large-world test.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use zveno_connector::{Client, ClientRef, Contact, Domain, Email, Kind, Phone, RecordData, SourceRecord, Task, TaxId};
use zveno_sim::world::{SimCompany, SimContact, SimTask, System, World};

/// Connector instance names the adapter uses (each named after its vendor).
pub const CONNECTORS: [(&str, System); 4] = [
    ("hubspot", zveno_hubspot::simulator::SYSTEM),
    ("bitrix24", zveno_bitrix24::simulator::SYSTEM),
    ("pipedrive", zveno_pipedrive::simulator::SYSTEM),
    ("jira", zveno_jira::simulator::SYSTEM),
];

/// `(connector, kind, records)` for every system of `world` the adapter knows.
pub fn records(world: &World) -> Vec<(String, Kind, Vec<SourceRecord>)> {
    let mut out = Vec::new();
    for (connector, system) in CONNECTORS {
        let Some(data) = world.systems.get(&system) else { continue };
        let owners: HashMap<u64, String> = data.users.iter().map(|u| (u.id, u.email.clone())).collect();
        let cx = Cx { connector, system, owners };
        out.push((connector.to_string(), Kind::Client, data.companies.iter().map(|c| cx.company(c)).collect()));
        out.push((connector.to_string(), Kind::Contact, data.contacts.iter().map(|c| cx.contact(c)).collect()));
        out.push((connector.to_string(), Kind::Task, data.tasks.iter().map(|t| cx.task(t)).collect()));
    }
    out
}

/// The external id a system gives a world record id.
pub fn external_id(system: System, kind: Kind, id: u64) -> String {
    match (system.vendor(), kind) {
        ("jira", Kind::Task) => (10_000 + id).to_string(),
        _ => id.to_string(),
    }
}

struct Cx<'a> {
    connector: &'a str,
    system: System,
    owners: HashMap<u64, String>,
}

impl Cx<'_> {
    fn owner(&self, id: Option<u64>) -> Option<String> {
        id.and_then(|id| self.owners.get(&id).cloned())
    }

    fn record(
        &self,
        kind: Kind,
        id: u64,
        data: RecordData,
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> SourceRecord {
        let external = external_id(self.system, kind, id);
        let url = format!("https://{}.example/{}/{external}", self.connector, kind);
        SourceRecord::new(self.connector, external, data, serde_json::json!({ "id": id }))
            .with_times(Some(created), Some(updated))
            .with_url(url)
    }

    fn company(&self, c: &SimCompany) -> SourceRecord {
        let ru = Phone::region("RU").ok();
        let phones: Vec<&String> = match self.system.vendor() {
            "hubspot" => c.phones.iter().take(1).collect(),
            "pipedrive" => Vec::new(),
            _ => c.phones.iter().collect(),
        };
        let tax_id = c.tax_id.as_deref().and_then(|raw| {
            let digits = raw.chars().filter(char::is_ascii_digit).count();
            let russian = raw.chars().all(|ch| ch.is_ascii_digit()) && matches!(digits, 10 | 12);
            match self.system.vendor() {
                "bitrix24" if russian => TaxId::parse(raw, Some("RU")).ok(),
                _ => TaxId::parse(raw, None).ok(),
            }
        });
        let client = Client {
            name: c.name.clone(),
            domains: c.website.iter().filter_map(|w| Domain::parse(w).ok()).collect(),
            emails: match self.system.vendor() {
                "hubspot" | "pipedrive" => Vec::new(),
                _ => unique(c.emails.iter().filter_map(|e| Email::parse(e).ok())),
            },
            phones: unique(phones.into_iter().filter_map(|p| Phone::parse(p, ru).ok())),
            tax_id,
            owner: self.owner(c.owner_id),
        };
        self.record(Kind::Client, c.id, RecordData::Client(client), c.created_at, c.updated_at)
    }

    fn contact(&self, c: &SimContact) -> SourceRecord {
        let ru = Phone::region("RU").ok();
        let contact = Contact {
            name: format!("{} {}", c.first_name, c.last_name).trim().to_string(),
            emails: unique(c.emails.iter().filter_map(|e| Email::parse(e).ok())),
            phones: unique(
                c.phones
                    .iter()
                    .take(if self.system == zveno_pipedrive::simulator::SYSTEM { usize::MAX } else { 2 })
                    .filter_map(|p| Phone::parse(p, ru).ok()),
            ),
            client_ids: c.company_id.map(|id| id.to_string()).into_iter().collect(),
            owner: self.owner(c.owner_id),
        };
        self.record(Kind::Contact, c.id, RecordData::Contact(contact), c.created_at, c.updated_at)
    }

    fn task(&self, t: &SimTask) -> SourceRecord {
        let mut clients: Vec<ClientRef> =
            t.company_id.map(|id| ClientRef::External(id.to_string())).into_iter().collect();
        if let Some(hint) = &t.client_hint {
            // Three issues in ten name their client by a label, which cannot hold spaces.
            let as_label = t.id % 10 >= 7;
            clients.push(ClientRef::Hint(if as_label { hint.replace(char::is_whitespace, "_") } else { hint.clone() }));
        }
        let task = Task {
            title: t.title.clone(),
            description: t.description.clone(),
            status: t.status,
            status_name: None,
            priority: Some(t.priority),
            assignee: self.owner(t.assignee_id),
            reporter: self.owner(t.reporter_id),
            due: t.due,
            resolved_at: None,
            labels: t.labels.clone(),
            clients,
            contact_ids: t.contact_id.map(|id| id.to_string()).into_iter().collect(),
            labels_removed: Vec::new(),
        };
        self.record(Kind::Task, t.id, RecordData::Task(task), t.created_at, t.updated_at)
    }
}

fn unique<T: PartialEq>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}
