//! The client list (search in either script, one page at a time) and the client card.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::DateTime;
use maud::{html, Markup};
use serde::Deserialize;
use zveno_connector::Kind;

use super::super::api::Params;
use super::super::error::ApiError;
use super::super::ServerState;
use super::{admin, encode, not_found, page, system_pill, Nav, Viewer};
use crate::resolve::Field;
use crate::view::{self, Card, ClientQuery, ClientView, TaskView, ViewTime};

/// `?search=&owner=&cursor=` of `/clients` (other parameters, such as the language
/// switch, are ignored).
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    search: Option<String>,
    owner: Option<String>,
    cursor: Option<String>,
}

/// `GET /clients?search=&owner=&cursor=`.
pub(super) async fn clients(
    v: Viewer,
    State(state): State<ServerState>,
    Params(q): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let q = ClientQuery { search: q.search, owner: q.owner, cursor: q.cursor, limit: None };
    let t = v.lang.t();
    let time = state.view_time();
    let list = view::query::clients(state.store(), &q, false).await?;
    let ids: Vec<String> = list.items.iter().map(|c| c.id.clone()).collect();
    let counts = state.store().task_counts(&ids, time.overdue_at()).await?;
    let search = q.search.clone().unwrap_or_default();
    let next = list.next_cursor.as_ref().map(|c| {
        let mut href = format!("/clients?cursor={}", encode(c));
        if !search.is_empty() {
            href.push_str(&format!("&search={}", encode(&search)));
        }
        if let Some(owner) = &q.owner {
            href.push_str(&format!("&owner={}", encode(owner)));
        }
        href
    });
    let body = html! {
        h1 { (t.clients) }
        form.search method="get" action="/clients" role="search" {
            input type="search" name="search" value=(search) placeholder=(t.search_placeholder) autofocus aria-label=(t.search);
            @if let Some(owner) = &q.owner { input type="hidden" name="owner" value=(owner); }
            button type="submit" { (t.search) }
        }
        div.card {
            @if list.items.is_empty() {
                p.empty { (t.no_clients) }
            } @else {
                table.stack id="clients" {
                    thead { tr { th { (t.name) } th { (t.systems) } th { (t.owner) } th { (t.domain) } th { (t.tax_id) } th { (t.tasks) } } }
                    tbody {
                        @for c in &list.items {
                            @let (open, overdue) = counts.get(&c.id).copied().unwrap_or((0, 0));
                            (client_row(&v, c, open, overdue))
                        }
                    }
                }
            }
            div.pager {
                span.muted { (list.items.len()) " " (t.found) }
                span {
                    @if q.cursor.is_some() { a href="/clients" { (t.first_page) } " " }
                    @if let Some(href) = &next { a.next href=(href) { (t.next_page) } }
                }
            }
        }
    };
    Ok(page(&v, &time, t.clients, Nav::Clients, &body))
}

fn client_row(v: &Viewer, c: &ClientView, open: u64, overdue: u64) -> Markup {
    let t = v.lang.t();
    let mut systems: Vec<&str> = c.sources.iter().map(|s| s.connector.as_str()).collect();
    systems.dedup();
    html! {
        tr {
            td.name data-label=(t.name) { a href={ "/clients/" (encode(&c.id)) } { (c.name) } }
            td data-label=(t.systems) { @for s in &systems { (system_pill(s)) } }
            td.muted data-label=(t.owner) { (c.owner.as_deref().unwrap_or("—")) }
            td data-label=(t.domain) { (c.domains.first().map_or("—", String::as_str)) }
            td.mono data-label=(t.tax_id) { (c.tax_id.as_deref().unwrap_or("—")) }
            td.count data-label=(t.tasks) {
                @if open > 0 { span.pill.grey { (open) " " (t.open) } }
                @if overdue > 0 { span.pill.bad { (overdue) " " (t.overdue_n) } }
            }
        }
    }
}

/// `GET /clients/{id}`.
pub(super) async fn card(
    v: Viewer,
    State(state): State<ServerState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let time = state.view_time();
    let Some(card) = view::query::card(state.store(), &id, &time).await? else {
        return Ok(not_found(&v, &time, v.lang.t().not_found));
    };
    let body = card_body(&v, &card, &time);
    Ok(page(&v, &time, &card.client.name, Nav::Clients, &body))
}

fn card_body(v: &Viewer, card: &Card, time: &ViewTime) -> Markup {
    let t = v.lang.t();
    let c = &card.client;
    let overdue = card.open_tasks.iter().filter(|t| t.overdue).count();
    let mut systems: Vec<&str> = c.sources.iter().map(|s| s.connector.as_str()).collect();
    systems.dedup();
    html! {
        div.title-row {
            h1 id="client-name" { (c.name) }
            @for s in &systems { (system_pill(s)) }
            @if overdue > 0 { span.pill.bad { (overdue) " " (t.overdue_n) } }
        }
        p.sub.mono { (c.id) @if let Some(tax) = &c.tax_id { " · " (t.tax_id) " " (tax) } }
        div.grid {
            div.card {
                h2 { (t.golden) }
                dl.fields {
                    @for (name, field) in Field::ALL.iter().filter_map(|f| card.fields.get_key_value(f.as_str())) {
                        dt { (t.field(name)) }
                        dd {
                            (value_text(&field.value))
                            @if !field.from.is_empty() {
                                span.from {
                                    "← "
                                    @for (i, w) in field.from.iter().enumerate() {
                                        @if i > 0 { "; " }
                                        (w.connector) ":" (w.external_id) " · "
                                        (time.time(w.updated_at.and_then(DateTime::from_timestamp_millis)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.card {
                h2 { (t.contacts) }
                @if card.contacts.is_empty() { p.empty { (t.none) } }
                @else {
                    table.stack id="contacts" { tbody {
                        @for ct in &card.contacts {
                            tr {
                                td.name { (ct.name) }
                                td { (ct.emails.first().map_or("", String::as_str)) br; span.muted { (ct.phones.first().map_or("", String::as_str)) } }
                                td { @for s in &ct.sources { (system_pill(&s.connector)) } }
                            }
                        }
                    } }
                }
            }
        }
        div.card id="sources" {
            h2 { (t.sources) }
            table.stack {
                thead { tr { th { (t.systems) } th { "ID" } th { (t.kind) } th { (t.why) } th {} } }
                tbody {
                    @for r in &card.records {
                        tr {
                            td data-label=(t.systems) { (system_pill(&r.connector)) }
                            td.mono data-label="ID" { (r.external_id) }
                            td data-label=(t.kind) { (t.kind(r.kind)) }
                            td data-label=(t.why) {
                                (r.rule)
                                @if r.via.is_some() { " " span.muted { (format!("{:.2}", r.score)) } }
                                @if !r.evidence.is_empty() { " · " span.mono { (r.evidence) } }
                            }
                            td {
                                @if let Some(url) = &r.url { a href=(url) target="_blank" rel="noopener" { (t.open_in) " ↗" } }
                                (admin::unlink_button(v, &c.id, &format!("{}:{}:{}", r.connector, r.kind, r.external_id)))
                            }
                        }
                    }
                }
            }
            @let anchor = card.records.iter().find(|r| r.kind == Kind::Client);
            (admin::link_form(v, &c.id, anchor.map(|r| format!("{}:{}", r.connector, r.external_id)).as_deref()))
        }
        div.card id="tasks" {
            h2 { (t.open_tasks) " " span.muted { "(" (card.open_tasks.len()) " " (t.open) ", " (card.closed_tasks) " " (t.closed) ")" } }
            @if card.open_tasks.is_empty() { p.empty { (t.no_tasks) } }
            @else { (task_table(v, &card.open_tasks, time, None)) }
        }
    }
}

/// Tasks as a table; `clients` (id → name) adds the client column (the overdue page).
pub(super) fn task_table(
    v: &Viewer,
    tasks: &[TaskView],
    time: &ViewTime,
    clients: Option<&HashMap<String, String>>,
) -> Markup {
    let t = v.lang.t();
    html! {
        table.stack.tasks {
            thead { tr {
                th { (t.task) } th { (t.due) } th { (t.status) } th { (t.assignee) }
                @if clients.is_some() { th { (t.client) } }
            } }
            tbody {
                @for task in tasks {
                    tr.overdue[task.overdue] {
                        td data-label=(t.task) {
                            @let url = task.sources.first().and_then(|s| s.url.clone());
                            span.mono { (task.label()) } " "
                            @match url { Some(u) => a href=(u) target="_blank" rel="noopener" { (task.title) }, None => (task.title) }
                        }
                        td data-label=(t.due) {
                            (time.due(task.due))
                            @if task.overdue { " " span.pill.bad { (t.overdue_n) } }
                        }
                        td data-label=(t.status) { (t.status(task.status)) }
                        td.muted data-label=(t.assignee) { (task.assignee.as_deref().unwrap_or("—")) }
                        @if let Some(names) = clients {
                            td data-label=(t.client) {
                                @match &task.client_id {
                                    Some(id) => a href={ "/clients/" (encode(id)) } { (names.get(id).map_or(id.as_str(), String::as_str)) },
                                    None => span.muted { (t.no_client) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            let parts: Vec<&str> = items.iter().filter_map(|v| v.as_str()).collect();
            if parts.is_empty() {
                "—".to_string()
            } else {
                parts.join(", ")
            }
        }
        _ => "—".to_string(),
    }
}
