//! How a full pass splits a kind's records into blocks it resolves one at a time.
//!
//! Clustering only ever relates records that share a matching key (`blocking.rs`), an
//! operator's link, or — for their ids (`ids.rs`) — a former entity; a key held by more
//! than [`MAX_KEY_RECORDS`] records relates nothing. The connected components of "shares
//! one of those" are therefore closed: resolved alone, a component gets exactly the
//! clusters, reasons and ids that resolving the whole store gives it (the argument
//! `scope.rs` makes for an incremental run). A [`Scan`] reads the kind once, page by page,
//! and keeps per record only its identity and its keys' 64-bit hashes; the [`Plan`] it
//! becomes packs whole components into blocks of about [`BLOCK`] records, which the pass
//! reads back and resolves one at a time. What a full pass holds is then a block's records
//! and a few dozen bytes per record, where it once held every client and contact with
//! their keys.
//!
//! A collision of two keys' hashes only puts two components into one block, which is still
//! closed; it would also add up the two keys' counts, so one might be taken for overfull —
//! with 64-bit hashes and a store's few hundred thousand keys, odds below one in a billion.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use zveno_connector::Kind;

use crate::store::{Override, RecordKey, RecordVersion};

use super::blocking::{groups, MAX_KEY_RECORDS};
use super::union_find::UnionFind;

/// Records per block: whole components are packed up to this (a larger component is a
/// block of its own).
pub const BLOCK: usize = 2_000;

/// A kind's records being read for a [`Plan`].
#[derive(Debug)]
pub struct Scan {
    kind: Kind,
    records: Records,
    live: Vec<bool>,
    /// `(hash, record)`: a matching key or former entity the record holds.
    ties: Vec<(u64, u32)>,
    /// Records holding each matching key, unlinked ones left out (as `blocking.rs` counts).
    counts: HashMap<u64, u32>,
    overfull: HashSet<String>,
    overfull_hashes: HashSet<u64>,
    /// Records operators linked or unlinked, and the index each was read at.
    decided: HashMap<RecordKey, Option<u32>>,
    unlinked: HashSet<RecordKey>,
    links: Vec<(RecordKey, RecordKey)>,
    processed: Vec<(u32, i64)>,
}

impl Scan {
    /// A scan of `kind`'s records under operators' `decisions`.
    pub fn new(kind: Kind, decisions: &[Override]) -> Self {
        let mut decided = HashMap::new();
        let mut unlinked = HashSet::new();
        let mut links = Vec::new();
        for d in decisions.iter().filter(|d| d.record.kind == kind) {
            decided.insert(d.record.clone(), None);
            match &d.linked_with {
                Some(other) => {
                    decided.insert(other.clone(), None);
                    links.push((d.record.clone(), other.clone()));
                }
                None => {
                    unlinked.insert(d.record.clone());
                }
            }
        }
        Self {
            kind,
            records: Records::default(),
            live: Vec::new(),
            ties: Vec::new(),
            counts: HashMap::new(),
            overfull: HashSet::new(),
            overfull_hashes: HashSet::new(),
            decided,
            unlinked,
            links,
            processed: Vec::new(),
        }
    }

    /// Adds the next record (in key order): its version, whether it is dirty, the entity
    /// it had, and its index keys — `None` when it is gone.
    pub fn push(&mut self, version: &RecordVersion, dirty: bool, entity: Option<&str>, keys: Option<&[String]>) {
        let key = &version.key;
        let i = self.records.push(&key.connector, &key.external_id);
        if dirty {
            self.processed.push((i, version.revision));
        }
        self.live.push(keys.is_some());
        if let Some(slot) = self.decided.get_mut(key) {
            *slot = Some(i);
        }
        let Some(keys) = keys else { return };
        if let Some(entity) = entity {
            self.ties.push((hash(&("entity", entity)), i));
        }
        if self.unlinked.contains(key) {
            return;
        }
        for k in keys.iter().filter(|k| groups(k)) {
            let h = hash(&("key", k.as_str()));
            self.ties.push((h, i));
            let count = self.counts.entry(h).or_default();
            *count += 1;
            if *count as usize == MAX_KEY_RECORDS + 1 {
                self.overfull.insert(k.clone());
                self.overfull_hashes.insert(h);
            }
        }
    }

    /// The blocks: whole components, packed in the order of their first record.
    pub fn plan(mut self) -> Plan {
        let n = self.live.len();
        let mut uf = UnionFind::new(n);
        self.ties.sort_unstable();
        for run in self.ties.chunk_by(|a, b| a.0 == b.0) {
            if self.overfull_hashes.contains(&run[0].0) {
                continue;
            }
            for pair in run.windows(2) {
                uf.union(pair[0].1 as usize, pair[1].1 as usize);
            }
        }
        for (a, b) in &self.links {
            if let (Some(Some(a)), Some(Some(b))) = (self.decided.get(a), self.decided.get(b)) {
                uf.union(*a as usize, *b as usize);
            }
        }
        drop(self.ties);
        drop(self.counts);
        let mut blocks: Vec<Vec<u32>> = Vec::new();
        let mut current: Vec<u32> = Vec::new();
        for set in uf.sets() {
            let live: Vec<u32> =
                set.into_iter().filter(|&i| self.live[i]).filter_map(|i| u32::try_from(i).ok()).collect();
            if live.is_empty() {
                continue;
            }
            if !current.is_empty() && current.len() + live.len() > BLOCK {
                current.sort_unstable();
                blocks.push(std::mem::take(&mut current));
            }
            current.extend(live);
        }
        if !current.is_empty() {
            current.sort_unstable();
            blocks.push(current);
        }
        Plan { kind: self.kind, records: self.records, blocks, overfull: self.overfull, processed: self.processed }
    }
}

/// A kind's records split into closed blocks.
#[derive(Debug)]
pub struct Plan {
    kind: Kind,
    records: Records,
    /// Blocks of record indices, each ascending (so in key order).
    pub blocks: Vec<Vec<u32>>,
    /// Keys held by more than [`MAX_KEY_RECORDS`] records of the store.
    pub overfull: HashSet<String>,
    processed: Vec<(u32, i64)>,
}

impl Plan {
    /// The records of `block`, in key order.
    pub fn keys(&self, block: &[u32]) -> Vec<RecordKey> {
        block.iter().map(|&i| self.records.key(self.kind, i)).collect()
    }

    /// The dirty versions the scan read, to clear once results are stored.
    pub fn processed(&self) -> impl Iterator<Item = RecordVersion> + '_ {
        self.processed.iter().map(|&(i, revision)| RecordVersion { key: self.records.key(self.kind, i), revision })
    }

    /// How many dirty versions the scan read.
    pub fn processed_count(&self) -> usize {
        self.processed.len()
    }
}

/// Record identities, compactly: connectors once, each id in one shared buffer.
#[derive(Debug, Default)]
struct Records {
    connectors: Vec<String>,
    /// `(connector, end of the id in `ids`)`.
    index: Vec<(u16, u32)>,
    ids: String,
}

impl Records {
    fn push(&mut self, connector: &str, external_id: &str) -> u32 {
        if self.connectors.last().is_none_or(|c| c != connector) {
            self.connectors.push(connector.to_string());
        }
        let c = u16::try_from(self.connectors.len() - 1).unwrap_or(u16::MAX);
        self.ids.push_str(external_id);
        let i = u32::try_from(self.index.len()).unwrap_or(u32::MAX);
        self.index.push((c, u32::try_from(self.ids.len()).unwrap_or(u32::MAX)));
        i
    }

    fn key(&self, kind: Kind, i: u32) -> RecordKey {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.index[i - 1].1 as usize };
        let (c, end) = self.index[i];
        RecordKey {
            connector: self.connectors.get(c as usize).cloned().unwrap_or_default(),
            kind,
            external_id: self.ids.get(start..end as usize).unwrap_or_default().to_string(),
        }
    }
}

fn hash(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str) -> RecordVersion {
        RecordVersion {
            key: RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() },
            revision: 1,
        }
    }

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn records_sharing_a_key_a_former_entity_or_a_link_share_a_block() {
        let link = Override {
            record: version("5").key,
            linked_with: Some(version("6").key),
            created_at: chrono::DateTime::default(),
        };
        let mut scan = Scan::new(Kind::Client, &[link]);
        scan.push(&version("1"), true, None, Some(&keys(&["d:a.com", "r:crm:9"])));
        scan.push(&version("2"), false, Some("cl-x"), Some(&keys(&["n:beta"])));
        scan.push(&version("3"), true, None, None);
        scan.push(&version("4"), false, None, Some(&keys(&["d:a.com"])));
        scan.push(&version("5"), false, Some("cl-x"), Some(&keys(&["s:a.com"])));
        scan.push(&version("6"), false, None, Some(&keys(&[])));
        scan.push(&version("7"), false, None, Some(&keys(&["r:crm:9"])));
        let plan = scan.plan();
        assert_eq!(plan.blocks, vec![vec![0, 1, 3, 4, 5, 6]], "small components share one block; gone records none");
        let processed: Vec<String> = plan.processed().map(|v| v.key.external_id).collect();
        assert_eq!(processed, ["1", "3"]);
        assert_eq!(plan.keys(&[6])[0], version("7").key);
    }

    #[test]
    fn blocks_hold_whole_components_and_overfull_keys_join_nothing() {
        let mut scan = Scan::new(Kind::Client, &[]);
        let shared = keys(&["ph:+1"]);
        let n = BLOCK + MAX_KEY_RECORDS + 1;
        for i in 0..n {
            let own = if i < BLOCK { keys(&["ph:+1", &format!("t:{}", i / 2)]) } else { shared.clone() };
            scan.push(&version(&format!("{i:05}")), false, None, Some(&own));
        }
        let plan = scan.plan();
        assert!(plan.overfull.contains("ph:+1"));
        assert!(plan.blocks.iter().all(|b| b.len() <= BLOCK), "pairs never straddle blocks");
        for pair in (0..BLOCK as u32).step_by(2) {
            assert!(plan.blocks.iter().any(|b| b.contains(&pair) && b.contains(&(pair + 1))), "{pair}");
        }
        assert_eq!(plan.blocks.iter().map(Vec::len).sum::<usize>(), n);
    }
}
