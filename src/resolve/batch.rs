//! Resolving one closed batch of records of a kind into rows to store: clusters, stable
//! ids, golden records and explained links. Shared by full and incremental runs, which
//! differ only in which records make up the batch.

use std::collections::HashSet;

use zveno_connector::Kind;

use crate::store::{EntityRow, LinkRow, Override, RecordKey};

use super::clients::cluster_clients;
use super::cluster::{Clustering, Overrides};
use super::contacts::cluster_contacts;
use super::golden::{domain_unicode, merge, Field, Offers, Survivorship};
use super::keys::{contact_keys, ClientKeys};
use super::model::{ClientFields, ContactFields, Source};
use super::names::to_latin;
use super::staff::Staff;
use super::systems::Systems;

/// What every batch needs besides its records.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Survivorship rules.
    pub survivorship: &'a Survivorship,
    /// Connector → vendor.
    pub systems: &'a Systems,
}

/// The id prefix of entities of `kind`.
pub fn id_prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Contact => "ct-",
        Kind::Client | Kind::Task => "cl-",
    }
}

/// Operators' decisions about records of this batch, as indices (decisions naming a record
/// outside the batch are ignored: the batch is closed under them by construction).
pub fn overrides_for<T>(sources: &[Source<T>], decisions: &[Override]) -> Overrides {
    let index = |k: &RecordKey| sources.binary_search_by(|s| s.key.cmp(k)).ok();
    let mut out = Overrides::none(sources.len());
    for d in decisions {
        match (&d.linked_with, index(&d.record)) {
            (Some(other), Some(a)) => {
                if let Some(b) = index(other) {
                    out.links.push((a, b));
                }
            }
            (None, Some(a)) => out.unlinked[a] = true,
            (_, None) => {}
        }
    }
    out
}

/// Clusters client sources (sorted by key), with what their contacts say (`staff`);
/// returns their keys too.
pub fn cluster_client_sources(
    sources: &[Source<ClientFields>],
    staff: &Staff,
    decisions: &[Override],
    overfull: &HashSet<String>,
) -> (Vec<ClientKeys>, Clustering) {
    let keys: Vec<ClientKeys> = sources.iter().map(|s| staff.keys(s)).collect();
    let origins: Vec<&str> = sources.iter().map(|s| s.key.connector.as_str()).collect();
    let clustering = cluster_clients(&keys, &origins, &overrides_for(sources, decisions), overfull);
    (keys, clustering)
}

/// Clusters contact sources (sorted by key); returns their index keys too.
pub fn cluster_contact_sources(
    sources: &[Source<ContactFields>],
    decisions: &[Override],
    overfull: &HashSet<String>,
) -> (Vec<Vec<String>>, Clustering) {
    let keys: Vec<Vec<String>> = sources.iter().map(|s| contact_keys(&s.key.connector, &s.fields)).collect();
    let fields: Vec<&ContactFields> = sources.iter().map(|s| &s.fields).collect();
    let clustering = cluster_contacts(&fields, &keys, &overrides_for(sources, decisions), overfull);
    (keys, clustering)
}

/// Entity and link rows of clusters `sets` (with ids `ids`) of a clustered batch;
/// `client_of(i)` is the client entity record `i` follows (contacts). Callers may pass a
/// slice of the clusters at a time: golden records are large, and a full run writes them
/// chunk by chunk.
pub fn rows<T: Offers>(
    kind: Kind,
    sources: &[Source<T>],
    clustering: &Clustering,
    (sets, ids): (&[Vec<usize>], &[String]),
    client_of: &dyn Fn(usize) -> Option<String>,
    cx: Context<'_>,
) -> (Vec<EntityRow>, Vec<LinkRow>) {
    let vendor_of = |c: &str| cx.systems.vendor_of(c);
    let mut entities = Vec::with_capacity(sets.len());
    let mut links = Vec::new();
    for (members, id) in sets.iter().zip(ids) {
        let records: Vec<&Source<T>> = members.iter().map(|&m| &sources[m]).collect();
        let golden = merge(&records, cx.survivorship, &vendor_of);
        let name = golden.text(Field::Name).unwrap_or_default().to_string();
        entities.push(EntityRow {
            id: id.clone(),
            kind,
            search: search_text(&golden.values),
            owner: golden.text(Field::Owner).map(str::to_lowercase),
            name,
            golden: json_text(&golden.values),
            provenance: json_text(&golden.provenance),
            sources: i64::try_from(members.len()).unwrap_or(i64::MAX),
            updated_at: records.iter().filter_map(|s| s.updated_at).max(),
        });
        for &m in members {
            let reason = &clustering.reasons[m];
            links.push(LinkRow {
                key: sources[m].key.clone(),
                entity_id: id.clone(),
                rule: reason.rule.as_str().to_string(),
                score: reason.score,
                evidence: reason.evidence.clone(),
                via: reason.via.map(|v| source_name(&sources[v].key)),
                url: sources[m].url.clone(),
                client_id: client_of(m),
            });
        }
    }
    (entities, links)
}

/// `value`, a map with text keys, as JSON text; such a map always serialises, and `{}`
/// stands in for the failure the type cannot rule out.
fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// A record as `zveno link` takes it: `connector:kind:external_id`.
pub fn source_name(key: &RecordKey) -> String {
    format!("{}:{}:{}", key.connector, key.kind, key.external_id)
}

/// The text `--search` looks in: every golden value, lower-case, names also in Latin.
fn search_text(values: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for value in values.values() {
        match value {
            serde_json::Value::String(s) => parts.push(s.to_lowercase()),
            serde_json::Value::Array(items) => {
                for item in items.iter().filter_map(|v| v.as_str()) {
                    parts.push(item.to_lowercase());
                    // Domains also as people type them (`пример.рф`).
                    if item.contains("xn--") {
                        parts.push(domain_unicode(item));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(name) = values.get("name").and_then(serde_json::Value::as_str) {
        parts.push(to_latin(name));
    }
    parts.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::rules::Rule;

    fn source(id: &str, name: &str, domain: &str) -> Source<ClientFields> {
        Source {
            key: RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() },
            updated_at: Some(5),
            url: Some(format!("https://crm/{id}")),
            fields: ClientFields { name: name.into(), domains: vec![domain.into()], ..ClientFields::default() },
        }
    }

    #[test]
    fn a_clustered_batch_becomes_entities_and_explained_links() {
        let sources = vec![source("1", "ООО «Ромашка»", "romashka.ru"), source("2", "Romashka LLC", "romashka.ru")];
        let (_, clustering) = cluster_client_sources(&sources, &Staff::default(), &[], &HashSet::new());
        let survivorship = Survivorship::default();
        let systems = Systems::default();
        let cx = Context { survivorship: &survivorship, systems: &systems };
        let ids = ["cl-1".to_string()];
        let (entities, links) = rows(Kind::Client, &sources, &clustering, (&clustering.sets, &ids), &|_| None, cx);
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0].name, "ООО «Ромашка»");
        assert!(entities[0].search.contains("romashka.ru") && entities[0].search.contains("ooo «romashka»"));
        assert_eq!(links[1].rule, Rule::Domain.as_str());
        assert_eq!(links[1].via.as_deref(), Some("crm:client:1"));
        assert_eq!(links[1].evidence, "romashka.ru");
    }

    #[test]
    fn decisions_about_records_outside_the_batch_are_ignored() {
        let sources = vec![source("1", "A", "a.com"), source("2", "B", "b.com")];
        let key = |id: &str| RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() };
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        let decisions = [
            Override { record: key("1"), linked_with: Some(key("2")), created_at: at },
            Override { record: key("2"), linked_with: Some(key("9")), created_at: at },
            Override { record: key("2"), linked_with: None, created_at: at },
        ];
        let o = overrides_for(&sources, &decisions);
        assert_eq!(o.links, vec![(0, 1)]);
        assert_eq!(o.unlinked, vec![false, true]);
    }
}
