//! Reading a tracker's free-text client reference (`ClientRef::Hint`, Jira's "client"
//! field or `client:` label).
//!
//! Sites name clients three ways, and a hint is read as the first that fits:
//!
//! - a **CRM id**: `<connector>:<id>` — a system prefix naming a configured connector (by
//!   instance or vendor), then the record's id in a form its vendor shows people (the
//!   vendor entry's `record_id` reads it: a type prefix dropped, a key kept);
//! - a **domain**: `romashka.ru`, `https://www.romashka.ru/` — no spaces, a dot, and a
//!   registrable domain — or any URL (`https://romashka.ru/?utm_source=crm`): the client
//!   whose website or e-mail it is, else the client whose contacts write from it
//!   (`staff.rs`). Its label is also read as a name (`tidewater-dynamics.co.uk` →
//!   `tidewater dynamics`), for when no client carries the domain at all: companies name
//!   their sites after themselves, and a name that fits two clients still names neither;
//! - a **name**: anything else, analysed like a client's name. Jira labels cannot hold
//!   spaces, so `client:ООО_«Ромашка»` arrives with underscores, read as spaces.

use zveno_connector::Domain;

use super::keys::{is_free_mail, record_ref};
use super::names::{self, NameInfo};
use super::systems::Systems;

/// What a hint names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// A client record: candidates `(connector, external_id)`.
    Record(Vec<(String, String)>),
    /// A registrable domain, and its label read as a name.
    Domain(String, NameInfo),
    /// A name.
    Name(NameInfo),
}

impl Hint {
    /// Reads `raw`.
    pub fn parse(raw: &str, systems: &Systems) -> Hint {
        // A label's spaces arrive as underscores, leading and trailing ones included.
        let text = raw.trim().trim_matches('_').trim();
        if let Some(records) = crm_id(text, systems) {
            return Hint::Record(records);
        }
        // A URL may carry underscores in its query (`?utm_source=crm`); anything else with
        // underscores or spaces is a name.
        let url = text.contains("://");
        if url || (!text.contains(char::is_whitespace) && !text.contains('_') && text.contains('.')) {
            if let Ok(domain) = Domain::parse(text) {
                let domain = String::from(domain);
                if !is_free_mail(&domain) {
                    let name = names::analyse(&label(text, &domain).replace('-', " "));
                    return Hint::Domain(domain, name);
                }
            }
        }
        Hint::Name(names::analyse(&text.replace('_', " ")))
    }

    /// The index keys the hint is looked up by (and indexed under, so the task is found
    /// again when a client with that key changes).
    pub fn keys(&self) -> Vec<String> {
        match self {
            Hint::Record(records) => records.iter().map(|(c, id)| record_ref(c, id)).collect(),
            Hint::Domain(d, name) => [format!("d:{d}"), format!("s:{d}")].into_iter().chain(name.block()).collect(),
            Hint::Name(name) => name.block().into_iter().collect(),
        }
    }
}

/// The first label of the registrable part of the host in `text`, in the script it was
/// typed in (`WWW.ИМПУЛЬССОФТ.РФ` → `ИМПУЛЬССОФТ`, where the domain itself is punycode).
fn label(text: &str, registrable: &str) -> String {
    let lower = text.to_lowercase();
    let rest = lower.split_once("://").map_or(lower.as_str(), |(_, rest)| rest);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
    let labels: Vec<&str> = host.split('.').collect();
    let depth = registrable.split('.').count();
    labels.get(labels.len().saturating_sub(depth)).copied().unwrap_or_default().to_string()
}

/// `system:id` where `system` names configured connectors and `id` reads as a record id of
/// each (in the forms its vendor shows ids to people).
fn crm_id(text: &str, systems: &Systems) -> Option<Vec<(String, String)>> {
    let (system, id) = text.split_once(':')?;
    let records: Vec<(String, String)> = systems
        .connectors_named(system.trim())
        .into_iter()
        .filter_map(|c| systems.record_id(&c, id).map(|id| (c, id)))
        .collect();
    (!records.is_empty()).then_some(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn systems() -> Systems {
        Systems::new([("crm", "testvendor"), ("b24", "testvendor")])
    }

    #[test]
    fn crm_ids_name_records_of_configured_connectors() {
        assert_eq!(Hint::parse("crm:123", &systems()), Hint::Record(vec![("crm".into(), "123".into())]));
        assert_eq!(Hint::parse("b24: 45", &systems()).keys(), ["r:b24:45"]);
        // The vendor's name names each of its connectors.
        assert_eq!(Hint::parse("testvendor:7", &systems()).keys(), ["r:b24:7", "r:crm:7"]);
        // An unknown prefix is not a CRM id, nor is what reads as no id of the vendor.
        assert!(matches!(Hint::parse("other:9", &systems()), Hint::Name(_)));
        assert!(matches!(Hint::parse("crm:", &systems()), Hint::Name(_)));
    }

    #[test]
    fn a_connector_is_named_by_its_instance_or_its_vendor_in_any_case() {
        let systems = Systems::new([("crm", "unlisted"), ("pd", "testvendor")]);
        let record = Hint::Record(vec![("pd".into(), "123".into())]);
        assert_eq!(Hint::parse("testvendor:123", &systems), record);
        assert_eq!(Hint::parse("pd:123", &systems), record);
        assert_eq!(Hint::parse("TestVendor:123", &systems).keys(), ["r:pd:123"]);
        assert_eq!(Hint::parse("unlisted:CO_4", &systems).keys(), ["r:crm:CO_4"], "an unknown vendor's id is kept");
    }

    #[test]
    fn websites_are_domains_and_everything_else_is_a_name() {
        for raw in [
            "romashka.ru",
            "https://www.Romashka.ru/about",
            "WWW.ROMASHKA.RU",
            "http://shop.romashka.ru",
            "https://romashka.ru/?utm_source=crm&utm_medium=card",
            "_https://romashka.ru/ru/_",
        ] {
            let hint = Hint::parse(raw, &systems());
            assert_eq!(hint.keys(), ["d:romashka.ru", "s:romashka.ru", "n:romashka"], "{raw}");
        }
        assert_eq!(Hint::parse("https://енисей-снаб.рф/about/", &systems()).keys()[2], "n:eniseysnab");
        assert!(matches!(Hint::parse("gmail.com", &systems()), Hint::Name(_)), "free mail names no client");
        assert_eq!(Hint::parse("ООО_«Ромашка»", &systems()).keys(), ["n:romashka"]);
        assert_eq!(Hint::parse("ИП Иванов И. И.", &systems()).keys(), ["p:ivanov:i"]);
    }
}
