//! Grouping records by shared keys: the only pairs resolution ever looks at.
//!
//! Comparing every record with every other is quadratic; records are only compared with
//! records that share a key (a deterministic value, or a name block). A key shared by more
//! than [`MAX_KEY_RECORDS`] records is not evidence of anything — a call centre's phone, a
//! hosting provider's domain, a name like `Сервис` — and comparing inside it would be
//! quadratic again, so such keys are skipped (and logged by the caller). The cap also
//! bounds how far an incremental run has to look around a changed record.

use std::collections::{BTreeMap, HashSet};

/// Keys shared by more records than this are not evidence.
pub const MAX_KEY_RECORDS: usize = 100;

/// The groups of one batch of records, in the order they are applied: deterministic keys
/// by rule strength (tax id, domain, e-mail, phone) then by key; name blocks by key.
#[derive(Debug, Default)]
pub struct Blocks {
    /// `(key, members)` of deterministic keys.
    pub deterministic: Vec<(String, Vec<usize>)>,
    /// `(key, members)` of name blocks.
    pub names: Vec<(String, Vec<usize>)>,
    /// Keys skipped for having too many records.
    pub overfull: Vec<String>,
}

/// Groups records by their keys. `keys[i]` are record `i`'s keys; `excluded[i]` keeps a
/// record out of every group (an operator unlinked it); `overfull` are keys known, from
/// the whole store, to exceed the cap even if this batch holds fewer of their records.
pub fn blocks(keys: &[Vec<String>], excluded: &[bool], overfull: &HashSet<String>) -> Blocks {
    let mut groups: BTreeMap<(u8, &str), Vec<usize>> = BTreeMap::new();
    for (i, record_keys) in keys.iter().enumerate() {
        if excluded.get(i).copied().unwrap_or(false) {
            continue;
        }
        for key in record_keys {
            if let Some(order) = order(key) {
                groups.entry((order, key.as_str())).or_default().push(i);
            }
        }
    }
    let mut out = Blocks::default();
    for ((order, key), members) in groups {
        if members.len() > MAX_KEY_RECORDS || overfull.contains(key) {
            out.overfull.push(key.to_string());
        } else if members.len() > 1 {
            let target = if order == NAME_ORDER { &mut out.names } else { &mut out.deterministic };
            target.push((key.to_string(), members));
        }
    }
    out
}

const NAME_ORDER: u8 = 9;

/// Whether `key` groups records at all (record refs and staff domains only find them).
pub fn groups(key: &str) -> bool {
    order(key).is_some()
}

/// Where a key's group is applied; `None` for keys that group nothing (record refs).
fn order(key: &str) -> Option<u8> {
    let (prefix, _) = key.split_once(':')?;
    Some(match prefix {
        "t" => 0,
        "d" => 1,
        "e" | "ce" => 2,
        "ph" | "cp" => 3,
        "n" | "p" => NAME_ORDER,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter().map(|k| k.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn groups_come_strongest_first_and_singletons_are_dropped() {
        let k = keys(&[&["ph:+1", "n:acme", "r:crm:1"], &["t:1", "ph:+1", "n:acme"], &["t:1"], &["d:x.com"]]);
        let b = blocks(&k, &[false; 4], &HashSet::new());
        assert_eq!(b.deterministic, vec![("t:1".to_string(), vec![1, 2]), ("ph:+1".to_string(), vec![0, 1])]);
        assert_eq!(b.names, vec![("n:acme".to_string(), vec![0, 1])]);
    }

    #[test]
    fn excluded_records_and_overfull_keys_group_nothing() {
        let k = keys(&[&["t:1", "ph:+1"], &["t:1", "ph:+1"], &["t:1"]]);
        let b = blocks(&k, &[false, false, true], &HashSet::from(["ph:+1".to_string()]));
        assert_eq!(b.deterministic, vec![("t:1".to_string(), vec![0, 1])]);
        assert_eq!(b.overfull, vec!["ph:+1".to_string()]);
        let many: Vec<Vec<String>> = (0..=MAX_KEY_RECORDS).map(|_| vec!["d:hosting.com".to_string()]).collect();
        assert_eq!(blocks(&many, &[], &HashSet::new()).overfull, vec!["d:hosting.com".to_string()]);
    }
}
