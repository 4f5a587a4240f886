//! `POST /crm/v3/objects/{object}/search`, as HubSpot answers it.
//!
//! Filter groups (OR) of filters (AND) with HubSpot's operators and limits (5 groups, 6
//! filters a group, 18 in all), one sort rule (creation date when none), `limit` up to 200,
//! `after` as an offset string, `total`, and the **10,000-result cap**: a page reaching past
//! the 10,000th result is an HTTP 400, not a short page. Records changed within the index
//! lag are not found yet, archived records never are. Records sharing a sort value come
//! back in a scrambled (but stable) order: HubSpot promises no tie order, so a client must
//! not rely on one.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{json, Value};

use super::render::{self, value};
use super::store::{Db, SimObject};
use crate::dto::object::Object;
use crate::mapping::values::parse_time;

/// The largest `after + limit` HubSpot serves.
pub const RESULT_CAP: usize = 10_000;

/// Why a search request is refused (HTTP 400 `VALIDATION_ERROR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    filter_groups: Vec<Group>,
    #[serde(default)]
    sorts: Vec<Value>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    after: Option<Value>,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    high_value: Option<Value>,
    #[serde(default)]
    values: Vec<Value>,
}

/// Runs a search over the records `visible` admits.
pub fn run(db: &Db, object: Object, raw: &[u8], visible: impl Fn(&SimObject) -> bool) -> Result<Value, Invalid> {
    let body: Body = serde_json::from_slice(raw).map_err(|e| Invalid(format!("Invalid input JSON: {e}")))?;
    let limit = body.limit.unwrap_or(10) as usize;
    if limit > 200 {
        return Err(Invalid(format!("limit must be at most 200, got {limit}")));
    }
    let filters: usize = body.filter_groups.iter().map(|g| g.filters.len()).sum();
    if body.filter_groups.len() > 5 || body.filter_groups.iter().any(|g| g.filters.len() > 6) || filters > 18 {
        return Err(Invalid("at most 5 filterGroups of 6 filters, 18 filters in all".into()));
    }
    if body.sorts.len() > 1 {
        return Err(Invalid("only one sort is supported".into()));
    }
    if body.query.as_ref().is_some_and(|q| q.chars().count() > 3000) {
        return Err(Invalid("query is longer than 3000 characters".into()));
    }
    let after = match &body.after {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) => s.trim().parse().map_err(|_| Invalid(format!("after {s:?} is not an integer")))?,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| Invalid(format!("after {n} is not an offset")))? as usize,
        Some(other) => return Err(Invalid(format!("after {other} is not an offset"))),
    };
    if after + limit > RESULT_CAP {
        // The cap is an error, not a short page (vendor note §5.1). Message unverified.
        return Err(Invalid(format!(
            "Search requests are limited to {RESULT_CAP} results: after ({after}) + limit ({limit}) reaches past it"
        )));
    }
    for f in body.filter_groups.iter().flat_map(|g| &g.filters) {
        check_operator(f)?;
    }
    let (sort_by, descending) = sort_rule(object, body.sorts.first());
    let query = body.query.as_deref().map(str::to_lowercase).filter(|q| !q.trim().is_empty());
    let mut hits: Vec<&SimObject> = db
        .of(object)
        .filter(|o| o.archived_ms.is_none() && visible(o))
        .filter(|o| {
            body.filter_groups.is_empty()
                || body.filter_groups.iter().any(|g| g.filters.iter().all(|f| matches(object, o, f)))
        })
        .filter(|o| query.as_deref().is_none_or(|q| o.props.values().any(|v| v.to_lowercase().contains(q))))
        .collect();
    hits.sort_by(|a, b| {
        let order = compare(value(object, a, &sort_by).as_deref(), value(object, b, &sort_by).as_deref());
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| scramble(a.id).cmp(&scramble(b.id)))
    });
    let total = hits.len();
    let page: Vec<Value> =
        hits.iter().skip(after).take(limit).map(|o| render::object(db, object, o, &body.properties, &[])).collect();
    let mut answer = json!({ "total": total, "results": page });
    let next = after + limit;
    if next < total {
        answer["paging"] = json!({"next": {"after": next.to_string(), "link": format!("?after={next}")}});
    }
    Ok(answer)
}

fn check_operator(f: &Filter) -> Result<(), Invalid> {
    const KNOWN: [&str; 13] = [
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    ];
    if !KNOWN.contains(&f.operator.as_str()) {
        return Err(Invalid(format!("unknown operator {:?}", f.operator)));
    }
    let needs_value = !matches!(f.operator.as_str(), "HAS_PROPERTY" | "NOT_HAS_PROPERTY" | "IN" | "NOT_IN");
    if needs_value && f.value.is_none() {
        return Err(Invalid(format!("filter on {} with {} needs a value", f.property_name, f.operator)));
    }
    Ok(())
}

/// The sort property and direction; without a sort, creation date ascending.
fn sort_rule(object: Object, sort: Option<&Value>) -> (String, bool) {
    match sort {
        Some(Value::Object(s)) => {
            let name = s.get("propertyName").and_then(Value::as_str).unwrap_or(object.created_property());
            let descending = s.get("direction").and_then(Value::as_str) == Some("DESCENDING");
            (name.to_string(), descending)
        }
        // The legacy string form: "createdate" or "-createdate".
        Some(Value::String(s)) => match s.strip_prefix('-') {
            Some(name) => (name.to_string(), true),
            None => (s.clone(), false),
        },
        _ => (object.created_property().to_string(), false),
    }
}

/// A stable pseudo-random tie order.
fn scramble(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number for numeric and date comparisons: integers as they are, dates as epoch ms.
fn number(s: &str) -> Option<i128> {
    s.trim().parse::<i128>().ok().or_else(|| parse_time(s).ok().map(|t| i128::from(t.timestamp_millis())))
}

fn compare(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
        // Records without the property sort last.
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn matches(object: Object, o: &SimObject, f: &Filter) -> bool {
    let actual = value(object, o, &f.property_name).filter(|v| !v.is_empty());
    let wanted = f.value.as_ref().and_then(text);
    let cmp = |want: &Option<String>| match (&actual, want) {
        (Some(a), Some(w)) => Some(compare(Some(a), Some(w))),
        _ => None,
    };
    match f.operator.as_str() {
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "EQ" => cmp(&wanted) == Some(Ordering::Equal),
        "NEQ" => cmp(&wanted) != Some(Ordering::Equal),
        "LT" => cmp(&wanted) == Some(Ordering::Less),
        "LTE" => matches!(cmp(&wanted), Some(Ordering::Less | Ordering::Equal)),
        "GT" => cmp(&wanted) == Some(Ordering::Greater),
        "GTE" => matches!(cmp(&wanted), Some(Ordering::Greater | Ordering::Equal)),
        "BETWEEN" => {
            let high = f.high_value.as_ref().and_then(text);
            matches!(cmp(&wanted), Some(Ordering::Greater | Ordering::Equal))
                && matches!(cmp(&high), Some(Ordering::Less | Ordering::Equal))
        }
        "IN" | "NOT_IN" => {
            let listed = f.values.iter().filter_map(text).any(|w| cmp(&Some(w)) == Some(Ordering::Equal));
            listed == (f.operator == "IN")
        }
        "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => {
            let token = wanted.unwrap_or_default().trim_matches('*').to_lowercase();
            let found = actual.is_some_and(|a| a.to_lowercase().contains(&token));
            found == (f.operator == "CONTAINS_TOKEN")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn db(rows: &[(u64, i64, &str)]) -> Db {
        let mut db = Db::default();
        for (id, ts, name) in rows {
            let props =
                BTreeMap::from([("hs_object_id".to_string(), id.to_string()), ("name".to_string(), name.to_string())]);
            db.insert(Object::Companies, props, *ts - 1000, *ts);
        }
        db
    }

    fn search(db: &Db, body: &Value) -> Result<Value, Invalid> {
        run(db, Object::Companies, body.to_string().as_bytes(), |_| true)
    }

    fn ids(answer: &Value) -> Vec<String> {
        answer["results"]
            .as_array()
            .map_or_else(Vec::new, |r| r.iter().filter_map(|o| o["id"].as_str().map(str::to_string)).collect())
    }

    #[test]
    fn filters_sorts_and_pages() {
        let db = db(&[(1, 300, "Acme"), (2, 100, "Beta"), (3, 200, "Gamma"), (4, 400, "Acme Two")]);
        let answer = search(
            &db,
            &json!({"filterGroups": [{"filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "200"},
                {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": "1970-01-01T00:00:00.300Z"}]}],
              "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}], "limit": 1}),
        );
        let Ok(answer) = answer else { panic!("valid search") };
        assert_eq!(answer["total"], 2);
        assert_eq!(ids(&answer), ["3"]);
        assert_eq!(answer["paging"]["next"]["after"], "1");
        assert_eq!(answer["results"][0]["properties"]["hs_lastmodifieddate"], "1970-01-01T00:00:00.200Z");
        let or = search(
            &db,
            &json!({"filterGroups": [
            {"filters": [{"propertyName": "name", "operator": "EQ", "value": "Beta"}]},
            {"filters": [{"propertyName": "hs_object_id", "operator": "IN", "values": ["4", 1]}]}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}]}),
        );
        assert_eq!(or.as_ref().map(ids), Ok(vec!["4".to_string(), "2".into(), "1".into()]));
    }

    #[test]
    fn the_cap_is_a_400_and_limits_are_enforced() {
        let db = db(&[(1, 1, "a")]);
        assert!(search(&db, &json!({"limit": 200, "after": "9800"})).is_ok());
        assert!(search(&db, &json!({"limit": 200, "after": "10000"})).is_err());
        assert!(search(&db, &json!({"limit": 100, "after": "9950"})).is_err());
        assert!(search(&db, &json!({"limit": 201})).is_err());
        assert!(search(&db, &json!({"after": "abc"})).is_err());
        assert!(search(&db, &json!({"sorts": ["a", "b"]})).is_err());
        let groups: Vec<Value> = (0..6).map(|_| json!({"filters": []})).collect();
        assert!(search(&db, &json!({ "filterGroups": groups })).is_err());
        assert!(search(
            &db,
            &json!({"filterGroups": [{"filters": [{"propertyName": "x", "operator": "LIKE", "value": "1"}]}]})
        )
        .is_err());
        assert!(run(&db, Object::Companies, b"{not json", |_| true).is_err());
    }

    #[test]
    fn the_wrong_modification_property_quietly_matches_nothing() {
        let mut contacts = Db::default();
        contacts.insert(Object::Contacts, BTreeMap::from([("hs_object_id".to_string(), "1".to_string())]), 0, 500);
        let body = json!({"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}]});
        let answer = run(&contacts, Object::Contacts, body.to_string().as_bytes(), |_| true);
        assert_eq!(answer.map(|a| a["total"].clone()), Ok(json!(0)));
    }

    #[test]
    fn invisible_and_archived_records_are_not_found() {
        let mut db = db(&[(1, 1, "a"), (2, 2, "b"), (3, 3, "c")]);
        if let Some(o) = db.get_mut(Object::Companies, 3) {
            o.archived_ms = Some(5);
        }
        let answer = run(&db, Object::Companies, b"{}", |o| o.id != 1);
        assert_eq!(answer.map(|a| ids(&a)), Ok(vec!["2".to_string()]));
    }
}
