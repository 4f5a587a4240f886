//! Entity ids that survive re-resolution.
//!
//! Account managers bookmark `zveno client cl-3f9a0b12cd4e`, so an entity keeps its id
//! while it exists: a re-resolved cluster takes the id most of its records already had
//! (each old id going to at most one cluster, largest clusters first). A cluster with no
//! old id — new records, or the part that split off — gets a new id derived from its first
//! record (FNV-1a, stable across builds and platforms, unlike `std`'s hasher), salted
//! until it collides with no id in use.

use std::collections::{HashMap, HashSet};

use crate::store::{RecordKey, Store, StoreError};

/// [`assign`], checked against the store: a new id that an entity outside the batch
/// already has is replaced. `batch_ids` are the ids the batch's records had (their
/// entities are being rewritten, so reusing them is fine).
pub async fn assign_checked(
    store: &Store,
    prefix: &str,
    clusters: &[Vec<usize>],
    keys: &[&RecordKey],
    old: &(dyn Fn(&RecordKey) -> Option<String> + Sync),
    batch_ids: &HashSet<String>,
) -> Result<Vec<String>, StoreError> {
    let mut taken = HashSet::new();
    loop {
        let ids = assign(prefix, clusters, keys, old, &taken);
        let fresh: Vec<String> = ids.iter().filter(|id| !batch_ids.contains(*id)).cloned().collect();
        let clashes = store.existing_entities(&fresh).await?;
        if clashes.is_empty() {
            return Ok(ids);
        }
        taken.extend(clashes);
    }
}

/// Assigns ids to `clusters` (indices into `keys`). `old(key)` is the entity a record had;
/// `taken` are ids in use by entities outside this batch.
pub fn assign(
    prefix: &str,
    clusters: &[Vec<usize>],
    keys: &[&RecordKey],
    old: &(dyn Fn(&RecordKey) -> Option<String> + Sync),
    taken: &HashSet<String>,
) -> Vec<String> {
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(clusters[c].len()), clusters[c].first().copied()));
    let mut ids: Vec<Option<String>> = vec![None; clusters.len()];
    let mut used: HashSet<String> = taken.clone();
    for &c in &order {
        let mut votes: HashMap<String, usize> = HashMap::new();
        for &m in &clusters[c] {
            if let Some(id) = old(keys[m]) {
                *votes.entry(id).or_default() += 1;
            }
        }
        let mut ranked: Vec<(String, usize)> = votes.into_iter().filter(|(id, _)| !used.contains(id)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some((id, _)) = ranked.into_iter().next() {
            used.insert(id.clone());
            ids[c] = Some(id);
        }
    }
    for &c in &order {
        if ids[c].is_some() {
            continue;
        }
        let anchor = clusters[c].first().map(|&m| keys[m].to_string()).unwrap_or_default();
        let mut salt = 0u32;
        let id = loop {
            let candidate = new_id(prefix, &anchor, salt);
            if used.insert(candidate.clone()) {
                break candidate;
            }
            salt += 1;
        };
        ids[c] = Some(id);
    }
    ids.into_iter().map(Option::unwrap_or_default).collect()
}

/// `prefix` + 12 hex digits of FNV-1a over the anchor record (and a salt after the first
/// collision).
pub fn new_id(prefix: &str, anchor: &str, salt: u32) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let salted = if salt == 0 { anchor.to_string() } else { format!("{anchor}#{salt}") };
    for byte in salted.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{prefix}{:012x}", hash >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::Kind;

    fn key(id: &str) -> RecordKey {
        RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() }
    }

    #[test]
    fn clusters_keep_the_id_most_of_their_records_had() {
        let keys = [key("1"), key("2"), key("3"), key("4")];
        let refs: Vec<&RecordKey> = keys.iter().collect();
        let old = |k: &RecordKey| match k.external_id.as_str() {
            "1" | "2" | "3" => Some("cl-old".to_string()),
            _ => None,
        };
        // {1, 2} and {3, 4}: the bigger share of cl-old goes first, the other gets a new id.
        let ids = assign("cl-", &[vec![0, 1], vec![2, 3]], &refs, &old, &HashSet::new());
        assert_eq!(ids[0], "cl-old");
        assert_eq!(ids[1], new_id("cl-", &keys[2].to_string(), 0));
        assert_ne!(ids[1], ids[0]);
    }

    #[test]
    fn new_ids_are_stable_and_avoid_ids_in_use() {
        let keys = [key("7")];
        let refs: Vec<&RecordKey> = keys.iter().collect();
        let first = new_id("cl-", &keys[0].to_string(), 0);
        assert_eq!(first.len(), 15);
        let none = |_: &RecordKey| None;
        assert_eq!(assign("cl-", &[vec![0]], &refs, &none, &HashSet::new()), vec![first.clone()]);
        let taken = HashSet::from([first.clone()]);
        let second = assign("cl-", &[vec![0]], &refs, &none, &taken);
        assert_ne!(second[0], first);
    }
}
