//! `zveno why A B` (why two records are or are not one client) and `zveno review`
//! (borderline pairs for a person to settle). Both print what `resolve::explain` and
//! `resolve::review` return; the reasoning lives there, so the HTTP API can serve it too.

use std::process::ExitCode;

use super::output;
use super::store_open::open_existing;
use crate::admin::parse_source;
use crate::resolve::explain::{self, Explanation, Side};
use crate::resolve::review::{self, ReviewKind};

pub(super) async fn why(store_url: &str, a: &str, b: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (a, b) = (parse_source(a).map_err(anyhow::Error::msg)?, parse_source(b).map_err(anyhow::Error::msg)?);
    let store = open_existing(store_url).await?;
    let e = explain::why(&store, &a, &b).await?;
    if json {
        output::json(&e)?;
    } else {
        print(&e)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print(e: &Explanation) -> std::io::Result<()> {
    for side in [&e.a, &e.b] {
        out!("{}", describe(side));
    }
    out!();
    let rows: Vec<Vec<String>> = e
        .checks
        .iter()
        .map(|c| {
            let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
            let outcome = serde_json::to_value(c.outcome).ok().and_then(|v| v.as_str().map(str::to_string));
            vec![
                c.rule.to_string(),
                list(&c.a),
                list(&c.b),
                outcome.unwrap_or_default(),
                c.score.map_or_else(|| "-".to_string(), |s| format!("{s:.2}")),
                c.veto.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    output::table(&["RULE", "A", "B", "OUTCOME", "SCORE", "VETO"], &rows)?;
    for d in &e.decisions {
        out!("\ndecision: {d}");
    }
    out!("\n{}", e.verdict);
    Ok(())
}

fn describe(side: &Side) -> String {
    let client = match (&side.entity, &side.entity_name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => id.clone(),
        _ => "not resolved yet".to_string(),
    };
    let how = side.linked_by.as_ref().map_or_else(String::new, |l| match &l.via {
        Some(via) => format!(", joined by {} {} with {via}", l.rule, l.evidence),
        None => format!(", {}", l.rule),
    });
    format!("{} {:?} → {client}{how}", side.record, side.name)
}

pub(super) async fn review(store_url: &str, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(store_url).await?;
    let items = review::review(&store, limit).await?;
    if json {
        output::json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (n, item) in items.iter().enumerate() {
        let kind = match item.kind {
            ReviewKind::NamesAgreeApart => "names agree, kept apart",
            ReviewKind::JoinedOnName => "joined on the name alone",
        };
        out!("{}. {kind} (score {:.2}): {}", n + 1, item.score, item.why);
        for side in [&item.a, &item.b] {
            out!("   {} {:?} in {} ({})", side.record, side.record_name, side.client, side.client_name);
        }
        out!("   to settle: {}", item.settle);
    }
    out!("{} pair(s) to review; `zveno why A B` explains one, `zveno link` / `zveno unlink` settles it", items.len());
    Ok(ExitCode::SUCCESS)
}
