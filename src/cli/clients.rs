//! `zveno clients` (the unified client list) and `zveno client <id>` (one client's card).
//! The shapes and queries are [`crate::view`]'s, shared with the API.

use std::process::ExitCode;

use chrono::Utc;

use super::output::{self, alert};
use super::store_open::open_existing;
use crate::resolve::{source_name, Field};
use crate::settings::ReadSettings;
use crate::store::RecordKey;
use crate::view::{self, Card, ClientQuery, ViewTime};

pub(super) async fn list(
    settings: &ReadSettings,
    search: Option<String>,
    owner: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(&settings.store_url).await?;
    let query = ClientQuery { search, owner, limit: None, cursor: None };
    let views = view::query::clients(&store, &query, true).await?.items;
    if json {
        output::json(&views)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|c| {
            let mut systems: Vec<&str> = c.sources.iter().map(|s| s.connector.as_str()).collect();
            systems.dedup();
            vec![
                c.id.clone(),
                c.name.clone(),
                c.owner.clone().unwrap_or_else(|| "-".into()),
                systems.join(","),
                c.domains_unicode.first().cloned().unwrap_or_else(|| "-".into()),
                c.tax_id.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::table(&["ID", "NAME", "OWNER", "SYSTEMS", "DOMAIN", "TAX ID"], &rows)?;
    out!("{} client(s); `zveno client <ID>` shows one in full", views.len());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn card(settings: &ReadSettings, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(&settings.store_url).await?;
    let time = ViewTime::new(settings.view.timezone, Utc::now());
    let Some(card) = view::query::card(&store, id, &time).await? else {
        anyhow::bail!("no client {id:?} (`zveno clients` lists them)");
    };
    if json {
        output::json(&card)?;
    } else {
        print_card(&card, &time)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_card(card: &Card, time: &ViewTime) -> anyhow::Result<()> {
    out!("{}  {}", card.client.id, card.client.name);
    out!("\nFields (value ← source, remote time in {}):", time.zone);
    for (name, field) in Field::ALL.iter().filter_map(|f| card.fields.get_key_value(f.as_str())) {
        let value = match &field.value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(_) if *name == Field::Domains.as_str() => card.client.domains_unicode.join(", "),
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
            _ => "-".to_string(),
        };
        let from: Vec<String> = field
            .from
            .iter()
            .map(|w| {
                let at = w.updated_at.and_then(chrono::DateTime::from_timestamp_millis);
                format!("{}:{} {}", w.connector, w.external_id, time.time(at))
            })
            .collect();
        out!("  {name:<8} {value}{}", if from.is_empty() { String::new() } else { format!("  ← {}", from.join("; ")) });
    }
    out!("\nSource records (why each belongs here):");
    let rows: Vec<Vec<String>> = card
        .records
        .iter()
        .map(|l| {
            let why = match (&l.via, l.evidence.is_empty()) {
                (Some(via), false) => format!("{} {:.2} = {} with {via}", l.rule, l.score, l.evidence),
                (Some(via), true) => format!("{} {:.2} with {via}", l.rule, l.score),
                (None, _) => l.rule.clone(),
            };
            let key = RecordKey { connector: l.connector.clone(), kind: l.kind, external_id: l.external_id.clone() };
            vec![source_name(&key), why, l.url.clone().unwrap_or_else(|| "-".into())]
        })
        .collect();
    output::table(&["RECORD", "WHY", "LINK"], &rows)?;
    out!("\nContacts:");
    if card.contacts.is_empty() {
        out!("  -");
    }
    for c in &card.contacts {
        let systems: Vec<&str> = c.sources.iter().map(|s| s.connector.as_str()).collect();
        out!("  {}  {}  {}  [{}]", c.id, c.name, c.emails.first().map_or("-", String::as_str), systems.join(","));
    }
    let overdue = card.open_tasks.iter().filter(|t| t.overdue).count();
    out!(
        "\nOpen tasks ({} open, {overdue} overdue, {} closed; due in {}):",
        card.open_tasks.len(),
        card.closed_tasks,
        time.zone
    );
    let rows: Vec<Vec<String>> = card
        .open_tasks
        .iter()
        .map(|t| {
            vec![
                if t.overdue { alert("overdue") } else { String::new() },
                time.due(t.due),
                t.label().to_string(),
                t.assignee.clone().unwrap_or_else(|| "-".into()),
                t.title.clone(),
                t.sources.first().and_then(|s| s.url.clone()).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::table(&["", "DUE", "TASK", "ASSIGNEE", "TITLE", "LINK"], &rows)?;
    Ok(())
}
