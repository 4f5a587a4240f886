//! The test vendor's records: one table per kind, with the two keyset orders its API pages
//! through (by id; by `(updated_ms, id)`) and a list of deleted ids.
//!
//! Records are kept as the JSON the API returns, so a test can corrupt one field of one
//! record (`name: 42`) and the simulator serves it exactly as a broken vendor would.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde_json::{json, Map, Value};

/// Where a listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// By id, after `after`.
    ById { after: Option<u64> },
    /// By `(updated_ms, id)`, at or after `since`, strictly after `after`.
    ByUpdated { since: i64, after: Option<(i64, u64)> },
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Listing {
    pub items: Vec<Value>,
    /// The keyset position to continue from (`12`, or `"1700000000000:12"`), `null` at the end.
    pub next: Value,
}

#[derive(Debug, Clone)]
struct Stored {
    json: Value,
    updated_ms: i64,
}

/// One kind's records.
#[derive(Debug, Default)]
pub(super) struct Table {
    live: BTreeMap<u64, Stored>,
    by_updated: BTreeSet<(i64, u64)>,
    deleted: BTreeMap<u64, i64>,
    deleted_by_time: BTreeSet<(i64, u64)>,
    last_id: u64,
}

impl Table {
    /// A table holding `records` (each an object with numeric `id` and `updated_ms`).
    pub(super) fn new(records: impl IntoIterator<Item = Value>) -> Self {
        let mut table = Self::default();
        for json in records {
            let id = json.get("id").and_then(Value::as_u64).unwrap_or_default();
            let updated_ms = json.get("updated_ms").and_then(Value::as_i64).unwrap_or_default();
            table.put(id, json, updated_ms);
        }
        table
    }

    fn put(&mut self, id: u64, json: Value, updated_ms: i64) {
        if let Some(old) = self.live.insert(id, Stored { json, updated_ms }) {
            self.by_updated.remove(&(old.updated_ms, id));
        }
        self.by_updated.insert((updated_ms, id));
        self.last_id = self.last_id.max(id);
    }

    /// Live records.
    pub(super) fn len(&self) -> usize {
        self.live.len()
    }

    /// Live ids, ascending.
    pub(super) fn ids(&self) -> Vec<u64> {
        self.live.keys().copied().collect()
    }

    /// A live record as the API returns it.
    pub(super) fn get(&self, id: u64) -> Option<Value> {
        self.live.get(&id).map(|s| s.json.clone())
    }

    /// A page of live records.
    pub(super) fn list(&self, order: Order, limit: usize) -> Listing {
        let item = |id: &u64| self.live.get(id).map(|s| s.json.clone());
        page(order, limit, &self.by_updated, &self.live, item)
    }

    /// Live records whose `field` is the string `value`, by id.
    pub(super) fn find(&self, field: &str, value: &str) -> Vec<Value> {
        self.live
            .values()
            .filter(|s| s.json.get(field).and_then(Value::as_str) == Some(value))
            .map(|s| s.json.clone())
            .collect()
    }

    /// A page of deleted ids, as `{"id", "deleted_ms"}` items.
    pub(super) fn list_deleted(&self, order: Order, limit: usize) -> Listing {
        let item = |id: &u64| self.deleted.get(id).map(|ms| json!({"id": id, "deleted_ms": ms}));
        page(order, limit, &self.deleted_by_time, &self.deleted, item)
    }

    /// Creates a record from `fields`, returning it.
    pub(super) fn create(&mut self, mut fields: Map<String, Value>, now_ms: i64) -> Value {
        let id = self.last_id + 1;
        fields.insert("id".into(), json!(id));
        fields.insert("created_ms".into(), json!(now_ms));
        fields.insert("updated_ms".into(), json!(now_ms));
        fields.insert("version".into(), json!(1));
        let json = Value::Object(fields);
        self.put(id, json.clone(), now_ms);
        json
    }

    /// Merges `fields` into record `id` and stamps it; `None` if it is not live.
    pub(super) fn update(&mut self, id: u64, fields: Map<String, Value>, now_ms: i64) -> Option<Value> {
        let mut json = self.live.get(&id)?.json.clone();
        if let Value::Object(obj) = &mut json {
            for (k, v) in fields {
                if !matches!(k.as_str(), "id" | "created_ms" | "updated_ms" | "version") {
                    obj.insert(k, v);
                }
            }
            let version = obj.get("version").and_then(Value::as_u64).unwrap_or(0);
            obj.insert("version".into(), json!(version + 1));
            obj.insert("updated_ms".into(), json!(now_ms));
        }
        self.put(id, json.clone(), now_ms);
        Some(json)
    }

    /// Deletes record `id`; `false` if it is not live.
    pub(super) fn delete(&mut self, id: u64, now_ms: i64) -> bool {
        let Some(old) = self.live.remove(&id) else {
            return false;
        };
        self.by_updated.remove(&(old.updated_ms, id));
        self.deleted.insert(id, now_ms);
        self.deleted_by_time.insert((now_ms, id));
        true
    }

    /// Overwrites one field of record `id` with raw JSON, without stamping it.
    pub(super) fn set_raw(&mut self, id: u64, field: &str, value: Value) -> bool {
        match self.live.get_mut(&id).map(|s| &mut s.json) {
            Some(Value::Object(obj)) => {
                obj.insert(field.to_string(), value);
                true
            }
            _ => false,
        }
    }
}

/// The shared keyset paging over either the live or the deleted records.
fn page<T>(
    order: Order,
    limit: usize,
    by_time: &BTreeSet<(i64, u64)>,
    by_id: &BTreeMap<u64, T>,
    item: impl Fn(&u64) -> Option<Value>,
) -> Listing {
    let limit = limit.max(1);
    match order {
        Order::ById { after } => {
            let start = after.map_or(Bound::Unbounded, Bound::Excluded);
            let mut ids = by_id.range((start, Bound::Unbounded)).map(|(id, _)| *id);
            let page: Vec<u64> = ids.by_ref().take(limit).collect();
            let next = match (ids.next(), page.last()) {
                (Some(_), Some(last)) => json!(last),
                _ => Value::Null,
            };
            Listing { items: page.iter().filter_map(&item).collect(), next }
        }
        Order::ByUpdated { since, after } => {
            let start = match after {
                Some(key) if key >= (since, 0) => Bound::Excluded(key),
                _ => Bound::Included((since, 0)),
            };
            let mut keys = by_time.range((start, Bound::Unbounded)).copied();
            let page: Vec<(i64, u64)> = keys.by_ref().take(limit).collect();
            let next = match (keys.next(), page.last()) {
                (Some(_), Some((ms, id))) => json!(format!("{ms}:{id}")),
                _ => Value::Null,
            };
            Listing { items: page.iter().filter_map(|(_, id)| item(id)).collect(), next }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        // ids 1..=5, updated out of id order; 3 and 4 share a millisecond.
        Table::new(
            [(1, 500), (2, 100), (3, 300), (4, 300), (5, 200)].map(|(id, ms)| json!({"id": id, "updated_ms": ms})),
        )
    }

    fn ids(listing: &Listing) -> Vec<u64> {
        listing.items.iter().filter_map(|i| i["id"].as_u64()).collect()
    }

    #[test]
    fn id_order_pages_with_a_next_id_until_the_end() {
        let t = table();
        let first = t.list(Order::ById { after: None }, 2);
        assert_eq!((ids(&first), first.next.clone()), (vec![1, 2], json!(2)));
        let last = t.list(Order::ById { after: Some(4) }, 2);
        assert_eq!((ids(&last), last.next), (vec![5], Value::Null));
        let exact = t.list(Order::ById { after: Some(3) }, 2);
        assert_eq!(exact.next, Value::Null, "no next when the page ends the list");
    }

    #[test]
    fn updated_order_breaks_ties_by_id_and_respects_since() {
        let t = table();
        let all = Order::ByUpdated { since: 0, after: None };
        assert_eq!(ids(&t.list(all, 10)), vec![2, 5, 3, 4, 1]);
        let first = t.list(Order::ByUpdated { since: 200, after: None }, 2);
        assert_eq!((ids(&first), first.next), (vec![5, 3], json!("300:3")));
        let rest = t.list(Order::ByUpdated { since: 200, after: Some((300, 3)) }, 2);
        assert_eq!((ids(&rest), rest.next), (vec![4, 1], Value::Null));
    }

    #[test]
    fn updates_move_records_and_deletes_list_them_separately() {
        let mut t = table();
        assert!(t.update(2, Map::new(), 900).is_some());
        let changed = t.list(Order::ByUpdated { since: 600, after: None }, 10);
        assert_eq!(ids(&changed), vec![2]);
        assert_eq!(changed.items[0]["version"], json!(1));
        assert!(t.delete(3, 950) && !t.delete(3, 960));
        assert_eq!(ids(&t.list(Order::ById { after: None }, 10)), vec![1, 2, 4, 5]);
        let gone = t.list_deleted(Order::ById { after: None }, 10);
        assert_eq!(gone.items, vec![json!({"id": 3, "deleted_ms": 950})]);
        let created = t.create(Map::new(), 1000);
        assert_eq!(created["id"], json!(6));
        assert_eq!(t.len(), 5);
    }
}
