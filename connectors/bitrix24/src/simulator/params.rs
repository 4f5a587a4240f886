//! Request parameters as Bitrix24's PHP sees them.
//!
//! A call's parameters arrive as a JSON body, a form body or a query string; the latter two
//! use PHP's nested keys (`filter[>ID]=5&select[]=ID&order[ID]=ASC`), decoded here the way
//! `parse_str` does: brackets open levels, `[]` appends, and a level whose keys are 0..n in
//! order is a list. Top-level names are case-insensitive (`FILTER` = `filter`), as in the
//! portal's REST proxy.
//!
//! `batch` commands may reference earlier answers (`$result[c0][49][ID]`). [`substitute`]
//! resolves them like Bitrix24's `CRestUtil::processBatchElement`: it walks the path while
//! keys exist and **stops at the first missing one**, substituting what it reached — a
//! whole list of rows, when row 49 does not exist. A parameter that is exactly the reference
//! takes that value as is; text around a reference gets PHP's string form (`"Array"` for a
//! list).

use serde_json::{Map, Value};
use url::form_urlencoded;

/// The parameters of one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// Parses a query string or form body.
    pub fn from_query(query: &str) -> Self {
        let mut root = Map::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            insert(&mut root, &key, Value::String(value.into_owned()));
        }
        match listify(Value::Object(root)) {
            Value::Object(map) => Self(map),
            _ => Self::default(),
        }
    }

    /// Merges `other` over these parameters (a body over the query string).
    pub fn merge(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// A top-level parameter, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// A top-level parameter as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(scalar_text)
    }
}

/// A scalar as text (numbers in decimal); `None` for lists, objects and null.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
        _ => None,
    }
}

/// The elements of a PHP array: a JSON list, or an object's values in numeric-key order.
pub fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
            entries.into_iter().map(|(_, v)| v).collect()
        }
        _ => Vec::new(),
    }
}

/// Splits `name[a][b][]` into `name` and `["a", "b", ""]`.
fn path(key: &str) -> (String, Vec<String>) {
    let Some(open) = key.find('[') else {
        return (key.to_string(), Vec::new());
    };
    let base = key[..open].to_string();
    let mut segments = Vec::new();
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(close) => {
                segments.push(stripped[..close].to_string());
                rest = &stripped[close + 1..];
            }
            None => break,
        }
    }
    (base, segments)
}

fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let (base, segments) = path(key);
    if base.is_empty() {
        return;
    }
    let mut slot = root.entry(base).or_insert_with(|| Value::Object(Map::new()));
    for segment in &segments {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(map) = slot else { return };
        let name = if segment.is_empty() {
            let next = map.keys().filter_map(|k| k.parse::<u64>().ok()).max().map_or(0, |m| m + 1);
            next.to_string()
        } else {
            segment.clone()
        };
        slot = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
    }
    *slot = value;
}

/// Objects keyed exactly `0..n` in order become lists, as PHP's `json_encode` writes them.
fn listify(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sequential = !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if sequential {
                let mut entries: Vec<(u64, Value)> =
                    map.into_iter().filter_map(|(k, v)| k.parse::<u64>().ok().map(|n| (n, listify(v)))).collect();
                entries.sort_by_key(|(n, _)| *n);
                Value::Array(entries.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, listify(v))).collect())
            }
        }
        other => other,
    }
}

/// Names a `batch` reference may start with, as keys of the accumulated answers.
const REFERABLE: [&str; 5] = ["result", "next", "total", "time", "error"];

/// Replaces `$result[...]`-style references in every text value of `value` with what the
/// accumulated batch answers (`{"result": {key: ...}, "next": ..., ...}`) hold.
pub fn substitute(value: &Value, answers: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) => substitute_text(s, answers),
        Value::Array(list) => Value::Array(list.iter().map(|v| substitute(v, answers)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, answers))).collect()),
        other => other.clone(),
    }
}

fn substitute_text(text: &str, answers: &Map<String, Value>) -> Value {
    let mut current = text.to_string();
    let mut from = 0;
    while let Some(found) = current[from..].find('$') {
        let at = from + found;
        let after = &current[at + 1..];
        let Some(name) = REFERABLE.iter().find(|n| after.len() >= n.len() && after[..n.len()].eq_ignore_ascii_case(n))
        else {
            from = at + 1;
            continue;
        };
        let tail = &after[name.len()..];
        let path_len = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let (_, keys) = path(&format!("x{}", &tail[..path_len]));
        if keys.is_empty() {
            from = at + 1;
            continue;
        }
        let mut reached = answers.get(*name).cloned().unwrap_or(Value::Null);
        for key in &keys {
            let next = match &reached {
                Value::Object(map) => map.get(key),
                Value::Array(list) => key.parse::<usize>().ok().and_then(|i| list.get(i)),
                _ => None,
            };
            match next {
                Some(v) if !v.is_null() => reached = v.clone(),
                _ => break,
            }
        }
        let matched = format!("${name}{}", &tail[..path_len]);
        if matched.len() == current.len() {
            return reached;
        }
        let replacement = php_string(&reached);
        current = current.replacen(&matched, &replacement, 1);
        from = at + replacement.len();
    }
    Value::String(current)
}

/// PHP's string conversion of a value.
fn php_string(value: &Value) -> String {
    match value {
        Value::Array(_) | Value::Object(_) => "Array".to_string(),
        other => scalar_text(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_lists_and_case_insensitive_names_parse_like_php() {
        let p = Params::from_query(
            "FILTER%5B%3EID%5D=5&FILTER%5B%40ID%5D%5B%5D=1&FILTER%5B%40ID%5D%5B%5D=2\
             &select[]=ID&select[]=PHONE&order[ID]=ASC&start=-1&fields[PHONE][0][VALUE]=%2B7",
        );
        assert_eq!(p.get("filter"), Some(&json!({">ID": "5", "@ID": ["1", "2"]})));
        assert_eq!(p.get("SELECT"), Some(&json!(["ID", "PHONE"])));
        assert_eq!(p.text("start").as_deref(), Some("-1"));
        assert_eq!(p.get("fields"), Some(&json!({"PHONE": [{"VALUE": "+7"}]})));
    }

    #[test]
    fn references_resolve_through_rows_and_stop_at_the_first_missing_key() {
        let answers = json!({"result": {"c0": [{"ID": "7"}, {"ID": "9"}]}, "next": {}, "total": {}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(substitute(&json!("$result[c0][1][ID]"), &answers), json!("9"));
        assert_eq!(substitute(&json!("CO_$result[c0][0][ID]"), &answers), json!("CO_7"));
        assert_eq!(
            substitute(&json!("$result[c0][49][ID]"), &answers),
            json!([{"ID": "7"}, {"ID": "9"}]),
            "a missing row leaves the whole list, as PHP does"
        );
        assert_eq!(substitute(&json!("x $result[c0][49][ID]"), &answers), json!("x Array"));
        assert_eq!(substitute(&json!("costs $5"), &answers), json!("costs $5"));
        assert_eq!(
            substitute(&json!({"filter": {">ID": "$result[c0][0][ID]"}}), &answers),
            json!({"filter": {">ID": "7"}})
        );
    }

    #[test]
    fn numeric_keyed_objects_read_as_lists() {
        let v = json!({"10": "b", "2": "a"});
        assert_eq!(elements(&v), [&json!("a"), &json!("b")]);
    }
}
