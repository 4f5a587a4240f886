//! The list-method engine: filters with Bitrix24's prefixes, ordering, and the fixed 50-row
//! page with `start` (counting `total`) or `start=-1` (no count, `total` 0, no `next`).
//!
//! Filter semantics follow the method pages: `>=`, `>`, `<=`, `<`, `@` (IN), `!@`, `%`
//! (LIKE), `=%`/`%=` (LIKE with your own `%`), `=`, `!=`/`!`; a plain field with a list value
//! is IN (tasks: `filter[ID][]`). Datetimes are compared as instants; a value without an
//! offset is wall time in the portal's zone; a date that does not parse matches nothing
//! ("an unparseable date silently matches no records", vendor note §3.6). A comparison whose
//! value is a list or an object — what an unresolvable `$result[...]` reference turns into —
//! is dropped, a simulator choice (the portal's own reaction is not documented); the
//! connector never trusts those commands anyway.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use serde_json::Value;

use super::entities::{Row, Scalar};
use super::params::{elements, scalar_text};

/// Rows per page.
pub const PAGE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Like,
}

/// Prefixes, longest first so `>=` is not read as `>`.
const PREFIXES: [(&str, Op); 12] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("!@", Op::NotIn),
    ("=%", Op::Like),
    ("%=", Op::Like),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("@", Op::In),
    ("%", Op::Like),
    ("=", Op::Eq),
    ("!", Op::Ne),
];

#[derive(Debug, Clone)]
struct Condition {
    field: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed `filter`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    conditions: Vec<Condition>,
}

impl Filter {
    /// Parses a `filter` parameter (an object; anything else filters nothing).
    pub fn parse(value: Option<&Value>) -> Self {
        let Some(Value::Object(map)) = value else {
            return Self::default();
        };
        let mut conditions = Vec::new();
        for (key, value) in map {
            let (op, field) = PREFIXES
                .iter()
                .find_map(|(p, op)| key.strip_prefix(p).map(|f| (*op, f)))
                .unwrap_or((Op::Eq, key.as_str()));
            let field = field.trim().to_ascii_uppercase();
            let list = matches!(value, Value::Array(_) | Value::Object(_));
            let op = match (op, list) {
                (Op::Eq, true) => Op::In,
                (Op::Ne, true) => Op::NotIn,
                (op, _) => op,
            };
            let values: Vec<String> = match op {
                Op::In | Op::NotIn => elements(value).into_iter().filter_map(scalar_text).collect(),
                _ => match scalar_text(value) {
                    Some(v) => vec![v],
                    None if value.is_null() => vec![String::new()],
                    // A list where one value belongs: an unresolved batch reference.
                    None => continue,
                },
            };
            conditions.push(Condition { field, op, values });
        }
        Self { conditions }
    }

    /// The lowest ID the filter admits, for a keyset range scan.
    fn id_floor(&self) -> Bound<u64> {
        let mut floor = Bound::Unbounded;
        for c in self.conditions.iter().filter(|c| c.field == "ID") {
            let Some(n) = c.values.first().and_then(|v| v.trim().parse::<u64>().ok()) else {
                continue;
            };
            let candidate = match c.op {
                Op::Gt => Bound::Excluded(n),
                Op::Ge | Op::Eq => Bound::Included(n),
                _ => continue,
            };
            floor = match (floor, candidate) {
                (Bound::Unbounded, c) => c,
                (f, c) if start_of(&c) > start_of(&f) => c,
                (f, _) => f,
            };
        }
        floor
    }

    fn matches(&self, row: &dyn Row, offset: FixedOffset) -> bool {
        self.conditions.iter().all(|c| match row.scalar(&c.field) {
            // Unknown fields filter nothing, as the portal ignores them.
            None => true,
            Some(Scalar::List(items)) => match c.op {
                Op::Ne | Op::NotIn => items.iter().all(|i| !c.values.iter().any(|v| v.eq_ignore_ascii_case(i))),
                _ => items.iter().any(|i| test(&Scalar::Text(i.clone()), c, offset)),
            },
            Some(scalar) => test(&scalar, c, offset),
        })
    }
}

fn start_of(bound: &Bound<u64>) -> u64 {
    match bound {
        Bound::Included(n) => *n,
        Bound::Excluded(n) => n.saturating_add(1),
        Bound::Unbounded => 0,
    }
}

fn test(scalar: &Scalar, c: &Condition, offset: FixedOffset) -> bool {
    let one = |v: &String| compare(scalar, v, c.op, offset);
    match c.op {
        Op::In => c.values.iter().any(|v| compare(scalar, v, Op::Eq, offset)),
        Op::NotIn => !c.values.iter().any(|v| compare(scalar, v, Op::Eq, offset)),
        _ => c.values.first().is_some_and(one),
    }
}

fn compare(scalar: &Scalar, value: &str, op: Op, offset: FixedOffset) -> bool {
    use std::cmp::Ordering;
    let ordering = match scalar {
        Scalar::Int(n) => match value.trim().parse::<i64>() {
            Ok(v) => n.cmp(&v),
            Err(_) => return false,
        },
        Scalar::Time(t) => match (t, parse_time(value, offset)) {
            (Some(t), Some(v)) => t.cmp(&v),
            _ => return false,
        },
        Scalar::Text(s) => {
            if op == Op::Like {
                let needle = value.trim_matches('%').to_lowercase();
                return s.to_lowercase().contains(&needle);
            }
            s.to_lowercase().cmp(&value.to_lowercase())
        }
        Scalar::List(_) => return false,
    };
    match op {
        Op::Eq | Op::Like => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::In | Op::NotIn => false,
    }
}

/// A datetime filter value: ISO 8601 with an offset, or portal wall time in the formats
/// portals accept (`2026-01-15T13:00:00`, `2026-01-15 13:00:00`, `15.01.2026 13:00:00`,
/// dates alone as midnight).
pub fn parse_time(value: &str, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    let wall = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%d.%m.%Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(value, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    offset.from_local_datetime(&wall).single().map(|t| t.with_timezone(&Utc))
}

/// A parsed `order`: fields with their direction.
#[derive(Debug, Clone, Default)]
pub struct Order(Vec<(String, bool)>);

impl Order {
    /// Parses an `order` object (`{"ID": "ASC"}`); `fields` lists the sortable fields, and an
    /// unknown one is an error (tasks answer `Invalid sorting key`).
    pub fn parse(value: Option<&Value>, sortable: &[&str]) -> Result<Self, String> {
        let Some(Value::Object(map)) = value else {
            return Ok(Self::default());
        };
        let mut out = Vec::new();
        for (field, dir) in map {
            let field = field.to_ascii_uppercase();
            if !sortable.contains(&field.as_str()) {
                return Err(field);
            }
            let ascending = !scalar_text(dir).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            out.push((field, ascending));
        }
        Ok(Self(out))
    }

    /// An order by one field.
    pub fn by(field: &str, ascending: bool) -> Self {
        Self(vec![(field.to_string(), ascending)])
    }

    fn is_id_ascending(&self) -> bool {
        self.0.is_empty() || self.0 == [("ID".to_string(), true)]
    }
}

/// How many rows to skip: `start=-1` is "no count".
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// `start=-1`.
    NoCount,
    /// `start=N`.
    Offset(usize),
}

impl Start {
    /// Reads `start` (absent or garbage: 0).
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some("-1") => Self::NoCount,
            Some(v) => Self::Offset(v.parse().unwrap_or(0)),
            None => Self::Offset(0),
        }
    }
}

/// One page of a list.
#[derive(Debug)]
pub struct Listed<'a, T> {
    /// The page's rows.
    pub rows: Vec<&'a T>,
    /// `total` (0 with `start=-1`).
    pub total: usize,
    /// `next`, when another page exists.
    pub next: Option<usize>,
}

/// Lists a table: filter, order, then one page.
pub fn list<'a, T: Row>(
    table: &'a BTreeMap<u64, T>,
    filter: &Filter,
    order: &Order,
    start: Start,
    offset: FixedOffset,
) -> Listed<'a, T> {
    let skip = match start {
        Start::NoCount => 0,
        Start::Offset(n) => n,
    };
    let matching = |row: &&T| filter.matches(*row, offset);
    if order.is_id_ascending() {
        let range = table.range((filter.id_floor(), Bound::Unbounded)).map(|(_, r)| r);
        return match start {
            Start::NoCount => Listed { rows: range.filter(matching).take(PAGE).collect(), total: 0, next: None },
            Start::Offset(_) => {
                let all: Vec<&T> = range.filter(matching).collect();
                page(all, skip)
            }
        };
    }
    let mut all: Vec<&T> = table.values().filter(matching).collect();
    all.sort_by(|a, b| {
        for (field, ascending) in &order.0 {
            let ord = cmp_scalar(a.scalar(field), b.scalar(field));
            if ord != std::cmp::Ordering::Equal {
                return if *ascending { ord } else { ord.reverse() };
            }
        }
        a.id().cmp(&b.id())
    });
    match start {
        Start::NoCount => Listed { rows: all.into_iter().take(PAGE).collect(), total: 0, next: None },
        Start::Offset(_) => page(all, skip),
    }
}

fn page<T>(all: Vec<&T>, skip: usize) -> Listed<'_, T> {
    let total = all.len();
    let rows: Vec<&T> = all.into_iter().skip(skip).take(PAGE).collect();
    let next = (skip + PAGE < total).then_some(skip + PAGE);
    Listed { rows, total, next }
}

fn cmp_scalar(a: Option<Scalar>, b: Option<Scalar>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Scalar::Int(x)), Some(Scalar::Int(y))) => x.cmp(&y),
        (Some(Scalar::Text(x)), Some(Scalar::Text(y))) => x.cmp(&y),
        (Some(Scalar::Time(x)), Some(Scalar::Time(y))) => x.cmp(&y),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::entities::User;
    use serde_json::json;

    fn users(n: u64) -> BTreeMap<u64, User> {
        (1..=n)
            .map(|id| {
                let user = User {
                    id,
                    name: format!("U{id}"),
                    last_name: String::new(),
                    email: format!("u{id}@zveno-demo.ru"),
                };
                (id, user)
            })
            .collect()
    }

    fn msk() -> FixedOffset {
        FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| panic!("offset"))
    }

    #[test]
    fn keyset_pages_are_fifty_rows_without_a_count() {
        let table = users(120);
        let filter = Filter::parse(Some(&json!({">ID": "50"})));
        let page = list(&table, &filter, &Order::by("ID", true), Start::NoCount, msk());
        assert_eq!(page.rows.len(), 50);
        assert_eq!(page.rows.first().map(|u| u.id), Some(51));
        assert_eq!((page.total, page.next), (0, None));
        let counted = list(&table, &Filter::default(), &Order::default(), Start::Offset(50), msk());
        assert_eq!((counted.total, counted.next), (120, Some(100)));
    }

    #[test]
    fn list_values_where_one_belongs_are_dropped_and_in_lists_work() {
        let table = users(60);
        let garbage = Filter::parse(Some(&json!({">ID": [{"ID": "3"}]})));
        assert_eq!(list(&table, &garbage, &Order::default(), Start::NoCount, msk()).rows.len(), 50);
        let some = Filter::parse(Some(&json!({"@ID": ["3", "5"], "!ID": "5"})));
        let rows = list(&table, &some, &Order::default(), Start::NoCount, msk()).rows;
        assert_eq!(rows.iter().map(|u| u.id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn datetimes_read_with_offsets_or_as_portal_wall_time_and_garbage_matches_nothing() {
        let want = DateTime::parse_from_rfc3339("2026-01-15T10:00:00Z").map(|t| t.with_timezone(&Utc)).ok();
        assert_eq!(parse_time("2026-01-15T13:00:00+03:00", msk()), want);
        assert_eq!(parse_time("2026-01-15 13:00:00", msk()), want);
        assert_eq!(parse_time("15.01.2026 13:00:00", msk()), want);
        assert_eq!(parse_time("yesterday", msk()), None);
        assert!(!compare(&Scalar::Time(want), "yesterday", Op::Ge, msk()));
    }

    #[test]
    fn unknown_sort_keys_are_refused() {
        assert!(Order::parse(Some(&json!({"NOPE": "asc"})), &["ID"]).is_err());
        let order = Order::parse(Some(&json!({"id": "desc"})), &["ID"]).unwrap_or_default();
        assert!(!order.is_id_ascending());
    }
}
