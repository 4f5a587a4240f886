//! The part of the store an incremental run must re-resolve: the clusters the changed
//! records touch.
//!
//! Starting from the changed records, [`closure`] repeatedly adds every record that shares
//! a matching key with a record already in (their old keys, from the index, and their new
//! ones, computed from the new data), every record of an entity one of them belonged to,
//! and every record an operator's decision ties to one of them — until nothing new comes
//! in. Clustering depends only on records that share keys (`clients.rs`), so resolving
//! this closed set gives exactly the clusters a full run would give it, while reading a
//! neighbourhood of the change instead of the store. Keys shared by more than
//! [`MAX_KEY_RECORDS`] records group nothing anyway, so they neither expand the set nor
//! make it grow with the store.

use std::collections::{BTreeSet, HashMap, HashSet};

use zveno_connector::Kind;

use crate::store::{Override, RecordKey, Store, StoreError};

use super::blocking::MAX_KEY_RECORDS;
use super::rules::Rule;

/// A closed set of records to re-resolve.
#[derive(Debug, Default)]
pub struct Scope {
    /// The records, sorted.
    pub records: Vec<RecordKey>,
    /// Keys found to be shared by too many records.
    pub overfull: HashSet<String>,
    /// Every matching key the records hold (old and new).
    pub keys: HashSet<String>,
    /// Keys that match nothing but that hints look up (staff domains, `s:`), old and new.
    pub hint_keys: HashSet<String>,
    /// The entity each record belonged to before this run.
    pub old_entity: HashMap<RecordKey, String>,
}

/// The closure of `seeds` (records of `kind`). `fresh` holds the keys computed from the
/// changed records' current data; the index still holds their old keys.
pub async fn closure(
    store: &Store,
    kind: Kind,
    seeds: &[RecordKey],
    fresh: &HashMap<RecordKey, Vec<String>>,
    decisions: &[Override],
) -> Result<Scope, StoreError> {
    let mut scope = Scope::default();
    let mut records: BTreeSet<RecordKey> = seeds.iter().cloned().collect();
    let mut frontier: Vec<RecordKey> = records.iter().cloned().collect();
    let mut entities_seen: HashSet<String> = HashSet::new();
    while !frontier.is_empty() {
        let mut found: Vec<RecordKey> = Vec::new();

        // Keys held by the frontier, old and new.
        let mut keys: Vec<String> = Vec::new();
        let stored = store.stored_keys(&frontier).await?;
        let held =
            stored.iter().map(|(_, k)| k).chain(frontier.iter().flat_map(|r| fresh.get(r).into_iter().flatten()));
        for key in held {
            if Rule::of_key(key).is_some() {
                if scope.keys.insert(key.clone()) {
                    keys.push(key.clone());
                }
            } else if key.starts_with("s:") {
                scope.hint_keys.insert(key.clone());
            }
        }

        // Entities the frontier belonged to, and all their records.
        let mut new_entities = Vec::new();
        for link in store.links_of(&frontier).await? {
            if entities_seen.insert(link.entity_id.clone()) {
                new_entities.push(link.entity_id.clone());
            }
            scope.old_entity.insert(link.key, link.entity_id);
        }
        for link in store.entity_links(&new_entities).await? {
            scope.old_entity.insert(link.key.clone(), link.entity_id);
            found.push(link.key);
        }

        // Records sharing those keys, unless a key is shared too widely.
        let members = store.key_members(kind, &keys, MAX_KEY_RECORDS).await?;
        scope.overfull.extend(members.overfull);
        let mut by_key: HashMap<&str, Vec<&RecordKey>> = HashMap::new();
        for (key, record) in &members.members {
            by_key.entry(key.as_str()).or_default().push(record);
        }
        for key in &keys {
            let stored_members = by_key.remove(key.as_str()).unwrap_or_default();
            if effective_count(key, &stored_members, fresh) > MAX_KEY_RECORDS {
                scope.overfull.insert(key.clone());
            } else {
                found.extend(stored_members.into_iter().cloned());
            }
        }

        // Records an operator tied to the frontier.
        for d in decisions {
            if let Some(other) = &d.linked_with {
                if frontier.contains(&d.record) {
                    found.push(other.clone());
                }
                if frontier.contains(other) {
                    found.push(d.record.clone());
                }
            }
        }

        frontier = found.into_iter().filter(|r| r.kind == kind && records.insert(r.clone())).collect();
    }
    scope.records = records.into_iter().collect();
    Ok(scope)
}

/// How many records hold `key` once the changed records' new keys replace their old ones:
/// the index does not know the new keys yet.
fn effective_count(key: &str, stored: &[&RecordKey], fresh: &HashMap<RecordKey, Vec<String>>) -> usize {
    let holds_now = |r: &RecordKey| fresh.get(r).map(|keys| keys.iter().any(|k| k == key));
    let kept = stored.iter().filter(|r| holds_now(r) != Some(false)).count();
    let added = fresh.iter().filter(|(r, keys)| keys.iter().any(|k| k == key) && !stored.contains(r)).count();
    kept + added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> RecordKey {
        RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() }
    }

    #[test]
    fn counts_reflect_the_changed_records_new_keys() {
        let (a, b, c) = (key("a"), key("b"), key("c"));
        let fresh = HashMap::from([(a.clone(), vec!["d:x.com".to_string()]), (c.clone(), vec!["t:1".to_string()])]);
        // Stored: a and b hold d:x.com, c held it too but no longer does.
        assert_eq!(effective_count("d:x.com", &[&a, &b, &c], &fresh), 2);
        // c newly holds t:1, which the index does not list yet.
        assert_eq!(effective_count("t:1", &[&b], &fresh), 2);
    }
}
