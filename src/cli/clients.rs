//! `zveno clients` (the unified client list) and `zveno client <id>` (one client's card).

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use chrono::Utc;
use serde::Serialize;
use zveno_connector::Kind;

use super::output;
use super::view::{date, golden, ClientView, FieldView, SourceView, TaskView};
use crate::resolve::{source_name, to_latin, Field};
use crate::store::{LinkRow, Store, TaskFilter};

pub(super) async fn list(
    store_url: &str,
    search: Option<&str>,
    owner: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = open(store_url).await?;
    // The query as typed and in Latin, so `ромашка` finds `Romashka LLC` and back.
    let mut patterns: Vec<String> = Vec::new();
    if let Some(q) = search.map(str::trim).filter(|q| !q.is_empty()) {
        patterns.push(q.to_lowercase());
        patterns.push(to_latin(q));
        patterns.dedup();
    }
    let entities = store.client_entities(&patterns, owner).await?;
    let links = if patterns.is_empty() && owner.is_none() {
        store.all_links(Kind::Client).await?
    } else {
        store.entity_links(&entities.iter().map(|e| e.id.clone()).collect::<Vec<_>>()).await?
    };
    let mut by_entity: HashMap<&str, Vec<&LinkRow>> = HashMap::new();
    for l in &links {
        by_entity.entry(l.entity_id.as_str()).or_default().push(l);
    }
    let views: Vec<ClientView> = entities
        .iter()
        .map(|e| {
            let mut mine = by_entity.remove(e.id.as_str()).unwrap_or_default();
            mine.sort_by(|a, b| a.key.cmp(&b.key));
            ClientView::new(e, &mine)
        })
        .collect();
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
    output::table(&["ID", "NAME", "OWNER", "SYSTEMS", "DOMAIN", "TAX ID"], &rows);
    println!("{} client(s); `zveno client <ID>` shows one in full", views.len());
    Ok(ExitCode::SUCCESS)
}

/// A source record on the card: where it lives and why it belongs here.
#[derive(Debug, Serialize)]
struct CardSource {
    connector: String,
    kind: Kind,
    external_id: String,
    url: Option<String>,
    rule: String,
    score: f64,
    evidence: String,
    via: Option<String>,
}

/// `zveno client <id> --json`.
#[derive(Debug, Serialize)]
struct Card {
    #[serde(flatten)]
    client: ClientView,
    fields: BTreeMap<String, FieldView>,
    #[serde(rename = "sources")]
    records: Vec<CardSource>,
    contacts: Vec<ClientView>,
    open_tasks: Vec<TaskView>,
    closed_tasks: usize,
}

pub(super) async fn card(store_url: &str, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open(store_url).await?;
    let Some(entity) = store.entity(id).await?.filter(|e| e.kind == Kind::Client) else {
        anyhow::bail!("no client {id:?} (`zveno clients` lists them)");
    };
    let links = store.entity_links(std::slice::from_ref(&entity.id)).await?;
    let g = golden(&entity);
    let fields = Field::ALL
        .iter()
        .map(|f| {
            let value = g.values.get(f.as_str()).cloned().unwrap_or_default();
            let from = g.provenance.get(f.as_str()).cloned().unwrap_or_default();
            (f.as_str().to_string(), FieldView { value, from })
        })
        .collect();
    let contact_entities = store.contacts_of(&entity.id).await?;
    let contact_links = store.entity_links(&contact_entities.iter().map(|c| c.id.clone()).collect::<Vec<_>>()).await?;
    let contacts = contact_entities
        .iter()
        .map(|c| ClientView::new(c, &contact_links.iter().filter(|l| l.entity_id == c.id).collect::<Vec<_>>()))
        .collect();
    let now = Utc::now();
    let tasks = store.tasks(&TaskFilter { client_id: Some(entity.id.clone()), ..TaskFilter::default() }).await?;
    let closed_tasks = tasks.iter().filter(|t| !t.status.is_open()).count();
    let card = Card {
        client: ClientView::new(&entity, &links.iter().collect::<Vec<_>>()),
        fields,
        records: links
            .iter()
            .map(|l| CardSource {
                connector: l.key.connector.clone(),
                kind: l.key.kind,
                external_id: l.key.external_id.clone(),
                url: l.url.clone(),
                rule: l.rule.clone(),
                score: l.score,
                evidence: l.evidence.clone(),
                via: l.via.clone(),
            })
            .collect(),
        contacts,
        open_tasks: tasks.iter().filter(|t| t.status.is_open()).map(|t| TaskView::new(t, now)).collect(),
        closed_tasks,
    };
    if json {
        output::json(&card)?;
    } else {
        print_card(&card, &links);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_card(card: &Card, links: &[LinkRow]) {
    println!("{}  {}", card.client.id, card.client.name);
    println!("\nFields (value ← source, remote time):");
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
                format!("{}:{} {}", w.connector, w.external_id, date(at))
            })
            .collect();
        println!(
            "  {name:<8} {value}{}",
            if from.is_empty() { String::new() } else { format!("  ← {}", from.join("; ")) }
        );
    }
    println!("\nSource records (why each belongs here):");
    for l in links {
        let why = match (&l.via, l.evidence.is_empty()) {
            (Some(via), false) => format!("{} {:.2} = {} with {via}", l.rule, l.score, l.evidence),
            (Some(via), true) => format!("{} {:.2} with {via}", l.rule, l.score),
            (None, _) => l.rule.clone(),
        };
        println!("  {:<28} {:<40} {}", source_name(&l.key), why, l.url.as_deref().unwrap_or("-"));
    }
    println!("\nContacts:");
    if card.contacts.is_empty() {
        println!("  -");
    }
    for c in &card.contacts {
        let systems: Vec<&str> = c.sources.iter().map(|s: &SourceView| s.connector.as_str()).collect();
        println!("  {}  {}  {}  [{}]", c.id, c.name, c.emails.first().map_or("-", String::as_str), systems.join(","));
    }
    println!("\nOpen tasks ({} open, {} closed):", card.open_tasks.len(), card.closed_tasks);
    for t in &card.open_tasks {
        println!(
            "  {}{:<10} {:<16} {:<28} {}",
            if t.overdue { "! " } else { "  " },
            date(t.due),
            t.id,
            t.assignee.as_deref().unwrap_or("-"),
            t.title
        );
    }
}

/// Opens (and migrates) the store the view commands read.
pub(super) async fn open(store_url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(store_url).await?;
    store.migrate().await?;
    Ok(store)
}
