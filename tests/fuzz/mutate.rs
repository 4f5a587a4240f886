//! The mutations the targets are fed: byte edits of any text (configs, form bodies,
//! serialised JSON) and structure-aware edits of JSON trees, so that most cases still parse
//! and reach the code behind the parser (a vendor's mapping), where a purely random byte
//! string would stop at the first syntax error.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

/// Bytes that matter to JSON and to the escapes inside its strings, with invalid UTF-8
/// (`\xff`, a lone `\xd0`) among them.
pub const JSON_BYTES: &[u8] = b"[]{}\",:\\u0123456789.eE+-ntfal \xff\xd0\xb0";

/// One random edit of `text` drawn from `alphabet`: replace a byte, insert one, delete a
/// run, or duplicate a line.
pub fn bytes(rng: &mut StdRng, text: &mut Vec<u8>, alphabet: &[u8]) {
    let at = if text.is_empty() { 0 } else { rng.gen_range(0..text.len()) };
    match rng.gen_range(0..4) {
        0 if !text.is_empty() => text[at] = alphabet[rng.gen_range(0..alphabet.len())],
        1 => text.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
        2 if !text.is_empty() => {
            let end = (at + rng.gen_range(1..40)).min(text.len());
            text.drain(at..end);
        }
        _ => {
            let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
            if let Some(line) = lines.get(rng.gen_range(0..lines.len().max(1))) {
                let mut copy = line.to_vec();
                copy.push(b'\n');
                let at = at.min(text.len());
                text.splice(at..at, copy);
            }
        }
    }
}

/// Escapes inside JSON strings that are broken or unusual: lone surrogates, a bad hex
/// digit, a NUL, a right-to-left override.
const ESCAPES: [&[u8]; 6] = [br"\ud800", br"\udfff", br"\uZZZZ", br"\u0000", br"\u202e", br"\"];

/// Inserts a broken or unusual escape right after a random `"` of `text` (inside a string,
/// more often than not).
pub fn escape(rng: &mut StdRng, text: &mut Vec<u8>) {
    let quotes: Vec<usize> = text.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i + 1).collect();
    if quotes.is_empty() {
        return;
    }
    let at = quotes[rng.gen_range(0..quotes.len())];
    text.splice(at..at, ESCAPES[rng.gen_range(0..ESCAPES.len())].iter().copied());
}

/// Texts vendors send where a date, a number, a name or an id was expected: dates out of
/// chrono's range or the calendar's, epoch values that overflow, numbers in strings, markup,
/// separators of multi-values, Cyrillic, controls.
const NASTY_TEXT: [&str; 34] = [
    "",
    " ",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00.000Z",
    "-262144-01-01T00:00:00Z",
    "0000-00-00",
    "2024-02-30",
    "2024-03-11T16:36:46+99:00",
    "2024-03-11T24:00:00",
    "2024-12-31T23:59:60Z",
    "1970-01-01",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "8640000000000001",
    "-1",
    "1e400",
    "NaN",
    "25:61",
    "ЗАО «Ромашка»",
    "\u{0}",
    "a;b;;c;",
    "<p>&amp;<br/>&#x1F600;</p>",
    "+7 (999) 123-45-67",
    "8 800 555 35 35",
    "@",
    "not@an@email",
    "CO_",
    "CO_99999999999999999999",
    "C_-1",
    "http://",
    "\u{202e}👍🏽",
    "client:",
    "0-27",
];

/// One of the nasty texts (for headers and form fields).
pub fn nasty_text(rng: &mut StdRng) -> &'static str {
    NASTY_TEXT[rng.gen_range(0..NASTY_TEXT.len())]
}

/// Numbers at the edges: JSON allows any size; vendors' ids and epochs are 64-bit at best.
fn nasty_number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..9) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(1e308),
        5 => json!(-1e308),
        6 => json!(0.5),
        7 => json!(8_640_000_000_000_001_i64),
        _ => json!(rng.gen::<i64>()),
    }
}

/// A value of a random JSON type, mostly from the nasty tables.
fn nasty(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..8) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 | 3 => nasty_number(rng),
        4 => json!([]),
        5 => json!({}),
        // Long texts (a HubSpot property holds up to 64 KB), the longest rarely: they are slow.
        6 if rng.gen_range(0..8) == 0 => Value::String("x".repeat(rng.gen_range(1_000..70_000))),
        6 => Value::String("é".repeat(rng.gen_range(61..300))),
        _ => Value::String(nasty_text(rng).to_string()),
    }
}

/// Every object key in `value`, so inserted fields use the vendor's own names.
pub fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if !out.contains(k) {
                    out.push(k.clone());
                }
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// A random node of `value`: rarely the root (which would throw the whole page away), most
/// often somewhere below it, down to the leaves.
fn pick<'a>(rng: &mut StdRng, value: &'a mut Value, depth: usize) -> &'a mut Value {
    let len = match value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    let stop = if depth == 0 { rng.gen_range(0..40) == 0 } else { rng.gen_range(0..4) == 0 };
    if len == 0 || stop {
        return value;
    }
    let at = rng.gen_range(0..len);
    match value {
        Value::Object(map) => match map.values_mut().nth(at) {
            Some(child) => pick(rng, child, depth + 1),
            None => unreachable!("the index is below the length"),
        },
        Value::Array(items) => pick(rng, &mut items[at], depth + 1),
        _ => unreachable!("only containers have children"),
    }
}

/// Wraps `value` `depth` levels deep, in arrays or in ADF-like `content` nodes.
fn nest(value: Value, depth: usize, adf: bool) -> Value {
    (0..depth)
        .fold(value, |inner, _| if adf { json!({"type": "paragraph", "content": [inner]}) } else { json!([inner]) })
}

/// One structure-aware edit of `value`: a node replaced by a value of another type, a field
/// removed or added (under a name the vendor uses), a number turned into text or back, an
/// array element repeated, or a node buried deep in nesting.
pub fn tree(rng: &mut StdRng, value: &mut Value, names: &[String]) {
    let node = pick(rng, value, 0);
    match rng.gen_range(0..7) {
        0 | 1 => *node = nasty(rng),
        2 => match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(rng.gen_range(0..map.len())).cloned().unwrap_or_default();
                map.remove(&key);
            }
            Value::Array(items) if !items.is_empty() => {
                items.remove(rng.gen_range(0..items.len()));
            }
            _ => *node = Value::Null,
        },
        3 => {
            let name = names.get(rng.gen_range(0..names.len().max(1))).cloned().unwrap_or_default();
            let inserted = nasty(rng);
            match node {
                Value::Object(map) => {
                    map.insert(name, inserted);
                }
                Value::Array(items) => items.push(inserted),
                other => *other = Value::Object(Map::from_iter([(name, inserted)])),
            }
        }
        4 => {
            *node = match node.take() {
                Value::Number(n) => Value::String(n.to_string()),
                Value::String(s) => s.parse::<f64>().map_or_else(|_| nasty_number(rng), |f| json!(f)),
                other => Value::String(other.to_string()),
            }
        }
        5 => {
            if let Value::Array(items) = node {
                if let Some(first) = items.first().cloned() {
                    items.extend(std::iter::repeat_n(first, rng.gen_range(1..50)));
                }
            }
        }
        // Up to past serde_json's recursion limit (128), so both sides of it are tried.
        _ => *node = nest(node.take(), rng.gen_range(1..140), rng.gen()),
    }
}

/// A mutated serialisation of `seed`: a few tree edits, then, one time in four, byte
/// edits or a broken escape in the text (which the vendor's JSON parser must refuse
/// cleanly).
pub fn json_case(rng: &mut StdRng, seed: &Value, names: &[String]) -> Vec<u8> {
    let mut value = seed.clone();
    for _ in 0..rng.gen_range(1..4) {
        tree(rng, &mut value, names);
    }
    let mut text = value.to_string().into_bytes();
    match rng.gen_range(0..8) {
        0 => bytes(rng, &mut text, JSON_BYTES),
        1 => escape(rng, &mut text),
        _ => {}
    }
    text
}
