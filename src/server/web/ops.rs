//! Overdue tasks per owner (the owner picked from a list of everyone with overdue work —
//! no personal login needed) and the sync health page (connectors, their last runs,
//! throttling, errors, parked connectors with the reason).

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::super::api::Params;
use super::super::error::ApiError;
use super::super::ServerState;
use super::pages::task_table;
use super::{page, system_pill, Nav, Viewer};
use crate::view::connectors::{self, ConnectorState};
use crate::view::{self, TaskQuery};

/// Tasks listed on the overdue page at most (oldest due first).
const OVERDUE_SHOWN: u32 = 500;

/// `?owner=` of `/overdue` (other parameters, such as the language switch, are ignored).
#[derive(Debug, Deserialize)]
pub(super) struct OverdueQuery {
    owner: Option<String>,
}

/// The owner value that stands for "no assignee" in the picker.
const UNASSIGNED: &str = "-";

/// `GET /overdue?owner=EMAIL`.
pub(super) async fn overdue(
    v: Viewer,
    State(state): State<ServerState>,
    Params(q): Params<OverdueQuery>,
) -> Result<Response, ApiError> {
    let t = v.lang.t();
    let time = state.view_time();
    let owners = state.store().overdue_by_assignee(time.overdue_at()).await?;
    let chosen = q
        .owner
        .filter(|o| !o.is_empty())
        .or_else(|| owners.first().map(|(o, _)| o.clone().unwrap_or_else(|| UNASSIGNED.to_string())));
    let tasks = match chosen.as_deref() {
        None => Vec::new(),
        Some(owner) => {
            let query = TaskQuery {
                overdue: true,
                assignee: (owner != UNASSIGNED).then(|| owner.to_string()),
                unassigned: owner == UNASSIGNED,
                limit: Some(OVERDUE_SHOWN),
                ..TaskQuery::default()
            };
            view::query::tasks(state.store(), &query, &time, false).await?.items
        }
    };
    let mut ids: Vec<String> = tasks.iter().filter_map(|t| t.client_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let names = state.store().entity_names(&ids).await?;
    let body = html! {
        h1 { (t.overdue_of) }
        form.search method="get" action="/overdue" {
            select name="owner" data-autosubmit aria-label=(t.pick_owner) {
                @for (owner, n) in &owners {
                    @let value = owner.clone().unwrap_or_else(|| UNASSIGNED.to_string());
                    option value=(value) selected[chosen.as_deref() == Some(value.as_str())] {
                        (owner.as_deref().unwrap_or(t.unassigned)) " — " (n)
                    }
                }
            }
            noscript { button type="submit" { (t.search) } }
        }
        div.card {
            @if tasks.is_empty() { p.empty { (t.no_tasks) } }
            @else { (task_table(&v, &tasks, &time, Some(&names))) }
        }
    };
    Ok(page(&v, &time, t.overdue, Nav::Overdue, &body))
}

/// `GET /health`.
pub(super) async fn health(v: Viewer, State(state): State<ServerState>) -> Result<Response, ApiError> {
    let t = v.lang.t();
    let time = state.view_time();
    let statuses = connectors::statuses(state.store(), &state.0.connectors, time.now).await?;
    let runs = state.store().runs_page(15, None, None).await?;
    let lag = |secs: Option<i64>| match secs {
        None => t.never.to_string(),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) if s < 7200 => format!("{} min", s / 60),
        Some(s) => format!("{} h", s / 3600),
    };
    let body = html! {
        h1 { (t.health) }
        @if statuses.is_empty() { div.card { p.empty { (t.no_connectors) } } }
        @for c in &statuses {
            div.card.connector id={ "connector-" (c.name) } {
                div.title-row {
                    h2 { (c.name) " " span.muted { "(" (c.vendor) ")" } }
                    @let class = match c.state { ConnectorState::Ok => "ok", ConnectorState::Pending => "grey", ConnectorState::Failing | ConnectorState::Deferred => "warn", ConnectorState::Parked => "bad" };
                    span class={ "pill " (class) } { (t.state(c.state)) }
                }
                @if let Some(reason) = &c.reason { p.reason { (t.reason) ": " (reason) } }
                table.stack {
                    thead { tr { th { (t.kind) } th { (t.last_run) } th { (t.last_success) } th { (t.lag) } th { (t.throttled) } th { (t.failed_runs) } } }
                    tbody {
                        @for k in &c.kinds {
                            tr {
                                td data-label=(t.kind) { (t.kind(k.kind)) }
                                td data-label=(t.last_run) {
                                    (time.time(k.last_run_started_at))
                                    @if let Some(s) = k.last_run_status { " " span.pill.grey { (s.as_str()) } }
                                    @if let Some(e) = &k.last_error { div.reason { (e) } }
                                }
                                td data-label=(t.last_success) { (time.time(k.last_success_at)) }
                                td data-label=(t.lag) { (lag(k.lag_seconds)) }
                                td.count data-label=(t.throttled) { (k.throttled_recently) }
                                td.count data-label=(t.failed_runs) { (k.failed_recently) }
                            }
                        }
                    }
                }
            }
        }
        div.card {
            h2 { (t.recent_runs) }
            table.stack {
                thead { tr { th { (t.started) } th { (t.connector) } th { (t.kind) } th { (t.status) } th { (t.records) } th { (t.requests) } th { (t.throttled) } } }
                tbody {
                    @for r in &runs {
                        tr {
                            td data-label=(t.started) { (time.time(Some(r.started_at))) }
                            td data-label=(t.connector) { (system_pill(&r.connector)) " " span.muted { (r.mode.as_str()) } }
                            td data-label=(t.kind) { (t.kind(r.kind)) }
                            td data-label=(t.status) {
                                @let class = match r.status.as_str() { "ok" => "ok", "failed" => "bad", _ => "grey" };
                                span class={ "pill " (class) } { (r.status.as_str()) }
                                @if let Some(m) = &r.message { div.reason { (m) } }
                            }
                            td.count data-label=(t.records) { (r.records) }
                            td.count data-label=(t.requests) { (r.requests) }
                            td.count data-label=(t.throttled) { (r.throttled) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, &time, t.health, Nav::Health, &body))
}
