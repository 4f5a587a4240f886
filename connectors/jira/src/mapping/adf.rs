//! Atlassian Document Format (ADF) ↔ plain text.
//!
//! Jira v3 returns `description` (and textarea custom fields) as an ADF tree, and rejects a
//! plain string on write. The common model keeps plain text, so reading flattens the tree
//! into readable lines (lists keep their markers and nesting, code blocks their lines,
//! mentions their display text) and writing wraps text in paragraphs.
//!
//! Node types: <https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/>.
//! Unknown nodes are not an error: their children (or `text`) are rendered, so a new node
//! type degrades to its text rather than dropping the description.

use serde_json::{json, Value};

/// Whether `value` looks like an ADF document.
pub fn is_doc(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("doc")
}

/// The plain text of an ADF document (or of any ADF node), lines joined with `\n`, with
/// surrounding blank lines trimmed.
pub fn to_text(node: &Value) -> String {
    let mut lines = Vec::new();
    block(node, &mut lines);
    while lines.last().is_some_and(|l: &String| l.trim().is_empty()) {
        lines.pop();
    }
    let start = lines.iter().take_while(|l| l.trim().is_empty()).count();
    lines[start..].join("\n")
}

/// An ADF document holding `text`, one paragraph per line (blank lines become empty
/// paragraphs), so that [`to_text`] gives the same text back and a written description
/// does not look changed on the next read.
pub fn from_text(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .trim_matches(|c| c == '\n' || c == '\r')
        .lines()
        .map(|line| {
            let content: Vec<Value> =
                if line.is_empty() { Vec::new() } else { vec![json!({"type": "text", "text": line})] };
            json!({"type": "paragraph", "content": content})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn children(node: &Value) -> &[Value] {
    node.get("content").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn attr<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|a| a.get(name))
}

/// Renders a block node (and its descendants) as lines.
fn block(node: &Value, out: &mut Vec<String>) {
    match kind(node) {
        "doc" | "panel" | "expand" | "nestedExpand" | "layoutSection" | "layoutColumn" | "listItem" | "tableCell"
        | "tableHeader" | "mediaSingle" | "mediaGroup" => {
            for child in children(node) {
                block(child, out);
            }
        }
        "paragraph" | "heading" => out.extend(inline_lines(children(node))),
        "bulletList" => list(node, out, |_| "- ".to_string()),
        "orderedList" => {
            let start = attr(node, "order").and_then(Value::as_u64).unwrap_or(1);
            list(node, out, |i| format!("{}. ", start + i as u64));
        }
        "taskList" | "decisionList" => {
            for item in children(node) {
                let done = attr(item, "state").and_then(Value::as_str) == Some("DONE");
                let marker = if done { "[x] " } else { "[ ] " };
                let mut lines = inline_lines(children(item));
                if lines.is_empty() {
                    lines.push(String::new());
                }
                out.extend(prefixed(lines, marker));
            }
        }
        "codeBlock" => {
            let text: String = children(node).iter().filter_map(|t| t.get("text").and_then(Value::as_str)).collect();
            out.extend(text.lines().map(str::to_string));
        }
        "blockquote" => {
            let mut inner = Vec::new();
            for child in children(node) {
                block(child, &mut inner);
            }
            out.extend(inner.into_iter().map(|l| format!("> {l}")));
        }
        "rule" => out.push("---".to_string()),
        "table" => {
            for row in children(node) {
                let cells: Vec<String> = children(row)
                    .iter()
                    .map(|cell| {
                        let mut lines = Vec::new();
                        block(cell, &mut lines);
                        lines.join(" ")
                    })
                    .collect();
                out.push(cells.join(" | "));
            }
        }
        "media" => {}
        // Inline content at block level (a bare text node, an unknown wrapper).
        _ if node.get("text").is_some() => out.extend(inline_lines(std::slice::from_ref(node))),
        _ if !children(node).is_empty() => {
            if children(node).iter().all(is_inline) {
                out.extend(inline_lines(children(node)));
            } else {
                for child in children(node) {
                    block(child, out);
                }
            }
        }
        _ => {}
    }
}

fn is_inline(node: &Value) -> bool {
    matches!(kind(node), "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" | "date" | "status")
}

/// Renders list items with `marker(i)`, indenting continuation and nested lines under it.
fn list(node: &Value, out: &mut Vec<String>, marker: impl Fn(usize) -> String) {
    for (i, item) in children(node).iter().enumerate() {
        let mut lines = Vec::new();
        block(item, &mut lines);
        if lines.is_empty() {
            lines.push(String::new());
        }
        out.extend(prefixed(lines, &marker(i)));
    }
}

fn prefixed(lines: Vec<String>, marker: &str) -> Vec<String> {
    let indent = " ".repeat(marker.chars().count());
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("{marker}{l}") } else { format!("{indent}{l}") })
        .collect()
}

/// Renders inline nodes as text, split into lines at hard breaks.
fn inline_lines(nodes: &[Value]) -> Vec<String> {
    let mut text = String::new();
    for node in nodes {
        inline(node, &mut text);
    }
    text.split('\n').map(str::to_string).collect()
}

fn inline(node: &Value, text: &mut String) {
    let str_attr = |name| attr(node, name).and_then(Value::as_str);
    match kind(node) {
        "hardBreak" => text.push('\n'),
        // Mentions carry the display text as the author saw it (`@Mia Krystof`); hidden
        // profiles may leave it empty, so fall back to the account id.
        "mention" => match str_attr("text").filter(|t| !t.is_empty()) {
            Some(t) if t.starts_with('@') => text.push_str(t),
            Some(t) => {
                text.push('@');
                text.push_str(t);
            }
            None => {
                text.push('@');
                text.push_str(str_attr("id").unwrap_or("unknown"));
            }
        },
        "emoji" => text.push_str(str_attr("text").or(str_attr("shortName")).unwrap_or("")),
        "inlineCard" => text.push_str(str_attr("url").unwrap_or("")),
        "status" => text.push_str(str_attr("text").unwrap_or("")),
        "date" => {
            let date = str_attr("timestamp")
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|d| d.format("%Y-%m-%d").to_string());
            text.push_str(&date.unwrap_or_default());
        }
        _ => {
            if let Some(t) = node.get("text").and_then(Value::as_str) {
                text.push_str(t);
            }
            for child in children(node) {
                inline(child, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Value {
        json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
    }

    fn item(content: &[Value]) -> Value {
        json!({"type": "listItem", "content": content})
    }

    #[test]
    fn nested_lists_keep_markers_and_indentation() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            p("Steps:"),
            {"type": "orderedList", "attrs": {"order": 1}, "content": [
                item(&[p("Call the client"), json!({"type": "bulletList", "content": [
                    item(&[p("ask about renewal")]),
                    item(&[p("ask about pricing"), json!({"type": "bulletList", "content": [
                        item(&[p("enterprise tier")])
                    ]})]),
                ]})]),
                item(&[p("Send the offer")]),
            ]},
        ]});
        assert_eq!(
            to_text(&doc),
            "Steps:\n\
             1. Call the client\n   \
             - ask about renewal\n   \
             - ask about pricing\n     \
             - enterprise tier\n\
             2. Send the offer"
        );
    }

    #[test]
    fn mentions_emoji_links_and_marks_render_as_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Ping "},
                {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Mia Krystof"}},
                {"type": "text", "text": " and "},
                {"type": "mention", "attrs": {"id": "712020:abc", "text": ""}},
                {"type": "text", "text": " about "},
                {"type": "text", "text": "this", "marks": [{"type": "strong"}]},
                {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}},
                {"type": "hardBreak"},
                {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/OPS-1"}},
                {"type": "text", "text": " due "},
                {"type": "date", "attrs": {"timestamp": "1790000000000"}},
            ]}
        ]});
        assert_eq!(
            to_text(&doc),
            "Ping @Mia Krystof and @712020:abc about this🔥\n\
             https://acme.atlassian.net/browse/OPS-1 due 2026-09-21"
        );
    }

    #[test]
    fn code_blocks_keep_their_lines_verbatim() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            p("Run:"),
            {"type": "codeBlock", "attrs": {"language": "bash"}, "content": [
                {"type": "text", "text": "curl -s https://x\n  | jq '.issues[]'"}
            ]},
            {"type": "blockquote", "content": [p("quoted")]},
            {"type": "rule"},
            {"type": "taskList", "content": [
                {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [{"type": "text", "text": "call"}]},
                {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [{"type": "text", "text": "mail"}]}
            ]},
        ]});
        assert_eq!(to_text(&doc), "Run:\ncurl -s https://x\n  | jq '.issues[]'\n> quoted\n---\n[x] call\n[ ] mail");
    }

    #[test]
    fn tables_and_unknown_nodes_degrade_to_their_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [p("Client")]},
                    {"type": "tableHeader", "content": [p("INN")]}
                ]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [p("Romashka")]},
                    {"type": "tableCell", "content": [p("7707083893")]}
                ]}
            ]},
            {"type": "futureNode", "content": [{"type": "text", "text": "still here"}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x"}}]}
        ]});
        assert_eq!(to_text(&doc), "Client | INN\nRomashka | 7707083893\nstill here");
    }

    #[test]
    fn text_round_trips_through_paragraphs() {
        let text = "Prepare pricing\nfor Q3\n\n  - then call";
        let doc = from_text(text);
        assert!(is_doc(&doc));
        assert_eq!(doc["content"].as_array().map(Vec::len), Some(4));
        assert_eq!(to_text(&doc), text);
        assert_eq!(to_text(&from_text("")), "");
    }
}
