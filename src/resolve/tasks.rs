//! Attaching tasks (and contacts) to client entities.
//!
//! A task names its client by a vendor association (`ClientRef::External`: a client
//! record id in the same connector — HubSpot's task→company association, Bitrix24's
//! `UF_CRM_TASK` `CO_45`) or by a hint (`ClientRef::Hint`, see `hints.rs`). References are
//! tried in order and the first that names exactly one entity wins. A hint matching two
//! clients (a bare name shared by a company and its look-alike) attaches to neither: a
//! task under the wrong client is worse than a task listed as unattached, which the
//! operator sees. Nothing is ever dropped: an unresolved task is stored with why.

use std::collections::HashMap;

use serde::Serialize;
use zveno_connector::ClientRef;

use super::blocking::MAX_KEY_RECORDS;
use super::hints::Hint;
use super::keys::{push_unique, record_ref};
use super::model::TaskFields;
use super::names::NameInfo;
use super::score::{name_score, HINT_THRESHOLD};
use super::systems::Systems;

/// How a task (or contact) found its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachRule {
    /// A vendor association to a client record of the same connector.
    Association,
    /// A hint naming a CRM record (`<connector>:123`).
    HintCrmId,
    /// A hint naming the client's domain.
    HintDomain,
    /// A hint naming the client.
    HintName,
    /// No reference resolved to exactly one client.
    Unattached,
}

impl AttachRule {
    /// The stable name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Association => "association",
            Self::HintCrmId => "hint_crm_id",
            Self::HintDomain => "hint_domain",
            Self::HintName => "hint_name",
            Self::Unattached => "unattached",
        }
    }
}

/// The outcome for one task or contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The client entity, when one was found.
    pub client: Option<String>,
    /// How.
    pub rule: AttachRule,
    /// The reference used, or why none worked.
    pub detail: String,
}

/// Client records by id and by the keys hints look up (domains and name blocks), with
/// their entities: what references resolve against. Entities and names are stored once
/// and referred to by position, as a full run indexes every client in the store.
#[derive(Debug, Default)]
pub struct ClientIndex {
    entities: Vec<String>,
    /// Whether an entity's records carry a website or corporate e-mail domain.
    has_domain: Vec<bool>,
    entity_pos: HashMap<String, u32>,
    /// `r:connector:id` → entity.
    by_record: HashMap<String, u32>,
    /// `d:`/`s:`/`n:`/`p:` key → records holding it.
    by_key: HashMap<String, Vec<u32>>,
    /// Each keyed record's name and entity.
    records: Vec<(NameInfo, u32)>,
}

impl ClientIndex {
    /// Adds client record `external_id` of `connector`, with its index keys and name, as a
    /// member of `entity`.
    pub fn insert(&mut self, connector: &str, external_id: &str, keys: &[String], name: &NameInfo, entity: &str) {
        let e = match self.entity_pos.get(entity) {
            Some(&e) => e,
            None => {
                let e = u32::try_from(self.entities.len()).unwrap_or(u32::MAX);
                self.entities.push(entity.to_string());
                self.has_domain.push(false);
                self.entity_pos.insert(entity.to_string(), e);
                e
            }
        };
        self.by_record.insert(record_ref(connector, external_id), e);
        if keys.iter().any(|k| k.starts_with("d:")) {
            if let Some(flag) = self.has_domain.get_mut(e as usize) {
                *flag = true;
            }
        }
        let looked_up: Vec<&String> =
            keys.iter().filter(|k| ["d:", "s:", "n:", "p:"].iter().any(|prefix| k.starts_with(prefix))).collect();
        if looked_up.is_empty() {
            return;
        }
        let r = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        self.records.push((name.clone(), e));
        for key in looked_up {
            self.by_key.entry(key.clone()).or_default().push(r);
        }
    }

    /// The entity of client record `external_id` of `connector`.
    pub fn entity_of(&self, connector: &str, external_id: &str) -> Option<&str> {
        self.by_record.get(&record_ref(connector, external_id)).map(|&e| self.entity(e))
    }

    fn entity(&self, e: u32) -> &str {
        self.entities.get(e as usize).map_or("", String::as_str)
    }

    /// The entities a hint names, best first: all equally good candidates, so the caller
    /// can refuse to choose among them.
    fn resolve(&self, hint: &Hint) -> Vec<&str> {
        match hint {
            Hint::Record(records) => {
                let mut found: Vec<&str> = Vec::new();
                for (connector, id) in records {
                    if let Some(e) = self.entity_of(connector, id) {
                        if !found.contains(&e) {
                            found.push(e);
                        }
                    }
                }
                found
            }
            Hint::Domain(domain, name) => {
                let mut found = self.holders(&format!("d:{domain}"), None, false);
                if found.is_empty() {
                    found = self.holders(&format!("s:{domain}"), None, false);
                }
                if found.is_empty() {
                    // A client with a website of its own is not the one this site belongs to.
                    found = self.holders_of_name(name, true);
                }
                found
            }
            Hint::Name(name) => self.holders_of_name(name, false),
        }
    }

    /// The entities whose records hold `name`'s block and match it best.
    fn holders_of_name(&self, name: &NameInfo, without_domain: bool) -> Vec<&str> {
        name.block().map_or_else(Vec::new, |block| self.holders(&block, Some(name), without_domain))
    }

    /// The entities of the records holding `key` (`without_domain`: only entities with no
    /// domain). With `name`: only entities with a record matching it at [`HINT_THRESHOLD`]
    /// and none contradicting it (`IP Volkov Gleb` fits an entity whose other record says
    /// `Волков Глеб Дмитриевич`, which a hint for `Глеб Алексеевич` must not), and of
    /// those the best-scoring.
    fn holders(&self, key: &str, name: Option<&NameInfo>, without_domain: bool) -> Vec<&str> {
        // A key too many clients share names none of them (and an incremental run would
        // not even look it up: see `blocking.rs`).
        let holders = self.by_key.get(key).filter(|h| h.len() <= MAX_KEY_RECORDS);
        // (entity, best score, contradicted)
        let mut found: Vec<(u32, f64, bool)> = Vec::new();
        for &r in holders.into_iter().flatten() {
            let Some((held, e)) = self.records.get(r as usize) else { continue };
            if without_domain && self.has_domain.get(*e as usize).copied().unwrap_or(false) {
                continue;
            }
            let score = name.map_or(1.0, |wanted| name_score(wanted, held));
            let slot = match found.iter_mut().position(|(x, _, _)| x == e) {
                Some(i) => i,
                None => {
                    found.push((*e, 0.0, false));
                    found.len() - 1
                }
            };
            let (_, best, contradicted) = &mut found[slot];
            *best = best.max(score);
            *contradicted |= score == 0.0;
        }
        found.retain(|(_, best, contradicted)| *best >= HINT_THRESHOLD && !contradicted);
        let top = found.iter().map(|(_, s, _)| *s).fold(0.0, f64::max);
        found.into_iter().filter(|(_, s, _)| *s == top).map(|(e, _, _)| self.entity(e)).collect()
    }
}

/// Attaches a task of `connector` to a client entity.
pub fn attach_task(connector: &str, task: &TaskFields, index: &ClientIndex, systems: &Systems) -> Attachment {
    let mut why = Vec::new();
    for r in &task.clients {
        let (rule, detail, hint) = match r {
            ClientRef::External(id) => {
                (AttachRule::Association, id, Hint::Record(vec![(connector.to_string(), id.clone())]))
            }
            ClientRef::Hint(h) => {
                let hint = Hint::parse(h, systems);
                let rule = match hint {
                    Hint::Record(_) => AttachRule::HintCrmId,
                    Hint::Domain(..) => AttachRule::HintDomain,
                    Hint::Name(_) => AttachRule::HintName,
                };
                (rule, h, hint)
            }
        };
        match index.resolve(&hint).as_slice() {
            [entity] => return Attachment { client: Some(entity.to_string()), rule, detail: detail.clone() },
            [] => why.push(format!("{detail:?}: no client")),
            many => why.push(format!("{detail:?}: {} clients match", many.len())),
        }
    }
    let detail = if why.is_empty() { "no client reference".to_string() } else { why.join("; ") };
    Attachment { client: None, rule: AttachRule::Unattached, detail }
}

/// The index keys a task is found by when the clients it names change: its associations
/// as record refs, its hints as `hints.rs` reads them.
pub fn task_keys(connector: &str, task: &TaskFields, systems: &Systems) -> Vec<String> {
    let mut keys = Vec::new();
    for r in &task.clients {
        let found = match r {
            ClientRef::External(id) => vec![record_ref(connector, id)],
            ClientRef::Hint(h) => Hint::parse(h, systems).keys(),
        };
        for key in found {
            push_unique(&mut keys, key);
        }
    }
    keys
}

/// Attaches a contact of `connector` to the entity of its first client record that has one.
pub fn attach_contact(connector: &str, client_ids: &[String], index: &ClientIndex) -> Attachment {
    for id in client_ids {
        if let Some(entity) = index.entity_of(connector, id) {
            return Attachment { client: Some(entity.to_string()), rule: AttachRule::Association, detail: id.clone() };
        }
    }
    Attachment { client: None, rule: AttachRule::Unattached, detail: "no known client record".to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::keys::ClientKeys;
    use crate::resolve::model::ClientFields;
    use zveno_connector::TaskStatus;

    fn index() -> ClientIndex {
        let mut index = ClientIndex::default();
        let mut add = |connector: &str, id: &str, name: &str, domain: &str, entity: &str| {
            let fields = ClientFields {
                name: name.into(),
                domains: Some(domain.to_string()).filter(|d| !d.is_empty()).into_iter().collect(),
                ..ClientFields::default()
            };
            // Tidewater's staff write from the site its record does not list.
            let staff = if name.starts_with("Tidewater") { vec!["tidewater.co.uk".to_string()] } else { Vec::new() };
            let keys = ClientKeys::with_staff(&fields, &staff);
            index.insert(connector, id, &keys.index_keys(), &keys.name, entity);
        };
        add("hs", "12", "ООО «Ромашка»", "romashka.ru", "cl-1");
        add("b24", "45", "Romashka LLC", "romashka.ru", "cl-1");
        add("b24", "46", "АО «Ромашка»", "romashka-ao.ru", "cl-2");
        add("hs", "13", "Tidewater Dynamics Ltd", "", "cl-3");
        add("hs", "14", "ИП Иванов Иван Иванович", "", "cl-4");
        add("hs", "15", "ИП Иванов И. С.", "", "cl-5");
        index
    }

    fn task(refs: Vec<ClientRef>) -> TaskFields {
        TaskFields {
            title: "t".into(),
            status: TaskStatus::Todo,
            priority: None,
            assignee: None,
            due: None,
            clients: refs,
        }
    }

    fn attach(connector: &str, refs: Vec<ClientRef>) -> Attachment {
        let systems = Systems::new([("hs", "testvendor"), ("b24", "testvendor"), ("tracker", "testvendor")]);
        attach_task(connector, &task(refs), &index(), &systems)
    }

    #[test]
    fn associations_and_each_kind_of_hint_find_the_client() {
        let cases = [
            ("hs", ClientRef::External("12".into()), AttachRule::Association),
            ("tracker", ClientRef::Hint("b24:45".into()), AttachRule::HintCrmId),
            ("tracker", ClientRef::Hint("https://www.romashka.ru/".into()), AttachRule::HintDomain),
            ("tracker", ClientRef::Hint("ООО_«Ромашка»".into()), AttachRule::HintName),
        ];
        for (connector, r, rule) in cases {
            let a = attach(connector, vec![r.clone()]);
            assert_eq!((a.client.as_deref(), a.rule), (Some("cl-1"), rule), "{r:?}");
        }
    }

    #[test]
    fn a_website_no_client_has_is_read_as_a_name_and_the_best_name_match_wins() {
        let a = attach("tracker", vec![ClientRef::Hint("https://tidewater-dynamics.co.uk/about/".into())]);
        assert_eq!((a.client.as_deref(), a.rule), (Some("cl-3"), AttachRule::HintDomain));
        // `IP Ivanov Ivan` fits both Ivanovs; the one with the fuller agreeing name wins.
        let b = attach("tracker", vec![ClientRef::Hint("IP Ivanov Ivan".into())]);
        assert_eq!(b.client.as_deref(), Some("cl-4"));
    }

    #[test]
    fn a_website_no_client_lists_finds_the_client_whose_staff_write_from_it() {
        let a = attach("tracker", vec![ClientRef::Hint("www.tidewater.co.uk".into())]);
        assert_eq!((a.client.as_deref(), a.rule), (Some("cl-3"), AttachRule::HintDomain));
    }

    #[test]
    fn ambiguous_or_unknown_references_leave_the_task_unattached_with_a_reason() {
        let a = attach("tracker", vec![ClientRef::Hint("romashka".into())]);
        assert_eq!((a.client, a.rule), (None, AttachRule::Unattached));
        assert!(a.detail.contains("2 clients match"), "{}", a.detail);
        let b = attach("hs", vec![ClientRef::External("999".into()), ClientRef::Hint("АО «Ромашка»".into())]);
        assert_eq!(b.client.as_deref(), Some("cl-2"), "the next reference is tried");
        assert_eq!(attach("tracker", vec![]).detail, "no client reference");
    }

    #[test]
    fn tasks_are_indexed_by_what_they_name() {
        let systems = Systems::new([("b24", "testvendor")]);
        let t = task(vec![
            ClientRef::External("5".into()),
            ClientRef::Hint("testvendor:45".into()),
            ClientRef::Hint("romashka.ru".into()),
        ]);
        assert_eq!(
            task_keys("b24", &t, &systems),
            ["r:b24:5", "r:b24:45", "d:romashka.ru", "s:romashka.ru", "n:romashka"]
        );
    }

    #[test]
    fn contacts_follow_their_client_record() {
        assert_eq!(attach_contact("b24", &["9".into(), "46".into()], &index()).client.as_deref(), Some("cl-2"));
        assert_eq!(attach_contact("hs", &["46".into()], &index()).client, None);
    }
}
