//! Reading a request the way the portal does: parameters from the query string and a JSON
//! or form body, and a `batch`'s commands **in the order sent**.
//!
//! Order matters for `batch` (PHP arrays keep insertion order, and a command may only
//! reference commands before it), but `serde_json` maps here are sorted, so the commands are
//! read with an order-keeping visitor (JSON) or from the raw pairs (forms, query strings).

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use url::form_urlencoded;

use super::methods::BatchRequest;
use super::params::{scalar_text, Params};

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (or a body that starts with `{`).
    Json,
    /// `application/x-www-form-urlencoded`, or no body.
    Form,
}

impl BodyKind {
    /// Reads the content type (and sniffs the body when it says nothing useful).
    pub fn of(content_type: Option<&str>, body: &[u8]) -> Self {
        let declared = content_type.unwrap_or("").to_ascii_lowercase();
        if declared.contains("json") {
            return Self::Json;
        }
        if declared.contains("form") {
            return Self::Form;
        }
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::Json,
            _ => Self::Form,
        }
    }
}

/// The call's parameters: the query string, with the body's over it. A JSON body that does
/// not parse is an error message.
pub fn params(query: Option<&str>, kind: BodyKind, body: &[u8]) -> Result<Params, String> {
    let mut params = Params::from_query(query.unwrap_or(""));
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let from_body = match kind {
        BodyKind::Json => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Params(map),
            Ok(_) => return Err("the JSON body is not an object".into()),
            Err(e) => return Err(format!("the JSON body does not parse: {e}")),
        },
        BodyKind::Form => Params::from_query(&String::from_utf8_lossy(body)),
    };
    params.merge(from_body);
    Ok(params)
}

/// A `batch`'s `halt` and commands, in the order sent.
pub fn batch_request(query: Option<&str>, kind: BodyKind, body: &[u8]) -> Result<BatchRequest, String> {
    let mut request = BatchRequest::default();
    if let Some(query) = query {
        read_pairs(query.as_bytes(), &mut request);
    }
    match kind {
        BodyKind::Json if !body.iter().all(u8::is_ascii_whitespace) => {
            let ordered: OrderedBody =
                serde_json::from_slice(body).map_err(|e| format!("the JSON body does not parse: {e}"))?;
            request.halt |= ordered.halt;
            request.commands.extend(ordered.commands);
        }
        BodyKind::Json => {}
        BodyKind::Form => read_pairs(body, &mut request),
    }
    Ok(request)
}

/// `halt=1&cmd[key]=method?query` pairs of a form body or query string.
fn read_pairs(source: &[u8], request: &mut BatchRequest) {
    for (key, value) in form_urlencoded::parse(source) {
        let lower = key.to_ascii_lowercase();
        if lower == "halt" {
            request.halt |= truthy(&Value::String(value.into_owned()));
        } else if let Some(rest) = lower.strip_prefix("cmd[") {
            let name = key[4..4 + rest.find(']').unwrap_or(rest.len())].to_string();
            match request.commands.iter_mut().find(|(k, _)| *k == name) {
                Some(entry) => entry.1 = value.into_owned(),
                None => request.commands.push((name, value.into_owned())),
            }
        }
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        other => scalar_text(other).is_some_and(|t| !matches!(t.trim(), "" | "0" | "false" | "N")),
    }
}

/// A JSON body with `cmd` read in document order.
struct OrderedBody {
    halt: bool,
    commands: Vec<(String, String)>,
}

impl<'de> Deserialize<'de> for OrderedBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = OrderedBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch body object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedBody, A::Error> {
        let mut body = OrderedBody { halt: false, commands: Vec::new() };
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("cmd") {
                body.commands = map.next_value::<Commands>()?.0;
            } else if key.eq_ignore_ascii_case("halt") {
                body.halt = truthy(&map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(body)
    }
}

/// `cmd`: an object (keys in document order) or a list (keys 0, 1, ...).
struct Commands(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CommandsVisitor)
    }
}

struct CommandsVisitor;

fn command_text(value: &Value) -> String {
    scalar_text(value).unwrap_or_default()
}

impl<'de> Visitor<'de> for CommandsVisitor {
    type Value = Commands;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or list of commands")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Commands, A::Error> {
        let mut out = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            out.push((key, command_text(&value)));
        }
        Ok(Commands(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Commands, A::Error> {
        let mut out = Vec::new();
        while let Some(value) = seq.next_element::<Value>()? {
            out.push((out.len().to_string(), command_text(&value)));
        }
        Ok(Commands(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_batches_keep_the_order_of_their_commands() {
        let body = br#"{"halt": 0, "cmd": {"get_user": "user.current", "get_department": "department.get?ID=$result[get_user][ID]", "c10": "x", "c2": "y"}}"#;
        let request = batch_request(None, BodyKind::Json, body).unwrap_or_default();
        let keys: Vec<&str> = request.commands.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["get_user", "get_department", "c10", "c2"]);
        assert!(!request.halt);
    }

    #[test]
    fn form_and_query_batches_are_read_too() {
        let body = b"halt=1&cmd%5Bb%5D=user.get&cmd%5Ba%5D=crm.company.list%3Fstart%3D-1";
        let request = batch_request(None, BodyKind::Form, body).unwrap_or_default();
        assert!(request.halt);
        assert_eq!(
            request.commands,
            [("b".to_string(), "user.get".to_string()), ("a".to_string(), "crm.company.list?start=-1".to_string())]
        );
        let request = batch_request(Some("cmd[x]=user.get"), BodyKind::Form, b"").unwrap_or_default();
        assert_eq!(request.commands.len(), 1);
    }

    #[test]
    fn bodies_merge_over_query_strings_and_bad_json_is_reported() {
        let p = params(Some("start=0&select[]=ID"), BodyKind::Json, br#"{"start": -1}"#).unwrap_or_default();
        assert_eq!(p.text("start").as_deref(), Some("-1"));
        assert!(p.get("select").is_some());
        assert!(params(None, BodyKind::Json, b"{nope").is_err());
        assert_eq!(BodyKind::of(None, b"  {\"a\":1}"), BodyKind::Json);
    }
}
