//! Write-back in the browser, for signed-in admins: each flow's current plan (`/flows`,
//! what `zveno plan` prints: creates, updates and archives per target, field by field
//! before → after, and the people left unmapped) and the conflict queue with the buttons
//! that settle a conflict (`zveno conflicts resolve ID --take source|target`). The plan
//! is computed when the page is asked for, from what the store holds; nothing is written
//! to vendors here — the next apply (`zveno apply`, or `zveno run` for `apply = true`
//! flows) writes the winner of a settled conflict.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::Role;
use super::super::error::ApiError;
use super::super::ServerState;
use super::admin::decide;
use super::{page, system_pill, Nav, Viewer};
use crate::flows::{Action, Flow, Plan};
use crate::store::ConflictRow;

/// `POST /admin/conflicts/resolve`: conflict `id` takes the `take` side's value.
#[derive(Debug, Deserialize)]
pub(super) struct ResolveForm {
    id: i64,
    take: String,
    next: Option<String>,
}

/// `GET /flows`.
pub(super) async fn flows(v: Viewer, State(state): State<ServerState>) -> Result<Response, ApiError> {
    let t = v.lang.t();
    let time = state.view_time();
    if v.role != Role::Admin {
        let body = html! { div.card { p.error role="alert" { (t.admins_only) } } };
        return Ok((StatusCode::FORBIDDEN, page(&v, &time, t.write_back, Nav::Flows, &body)).into_response());
    }
    let plans = super::super::api::plans(&state).await?;
    let conflicts = state.store().conflicts(false).await?;
    let body = html! {
        h1 { (t.write_back) }
        p.sub { (t.write_back_intro) }
        @if state.0.flows.is_empty() { div.card { p.empty { (t.no_flows) } } }
        @for (flow, plan) in state.0.flows.iter().zip(&plans) { (flow_card(&v, flow, plan)) }
        div.card id="conflicts" {
            h2 { (t.conflicts) " " span.muted { "(" (conflicts.len()) ")" } }
            @if conflicts.is_empty() { p.empty { (t.no_conflicts) } }
            @else { (conflict_table(&v, &conflicts)) }
        }
    };
    Ok(page(&v, &time, t.write_back, Nav::Flows, &body))
}

/// `POST /admin/conflicts/resolve`.
pub(super) async fn resolve(
    v: Viewer,
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(f): Form<ResolveForm>,
) -> Response {
    decide(&v, &state, &headers, f.next.as_deref().or(Some("/flows")), async {
        let row = super::super::api::resolve_conflict(&state, f.id, &f.take).await?;
        Ok(format!("conflict {} ({} of {}) takes the {}", row.id, row.field, row.group, f.take))
    })
    .await
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "∅".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// One flow: what it is, its ops (a table of field changes each), its unmapped people.
fn flow_card(v: &Viewer, flow: &Flow, plan: &Plan) -> Markup {
    let t = v.lang.t();
    html! {
        div.card.flow id={ "flow-" (flow.name) } {
            div.title-row {
                h2 { (flow.name) " " span.muted { "(" (t.kind(flow.kind)) ": " (flow.from.join(", ")) " → " (flow.to) ")" } }
                span.pill.grey { (flow.direction.to_string()) ", on_conflict " (flow.on_conflict.to_string()) }
                @if flow.apply { span.pill.ok { "apply = true" } } @else { span.pill.grey { "apply = false" } }
            }
            @if plan.ops.is_empty() { p.empty { (t.plan_empty) } }
            @for op in &plan.ops {
                div.op {
                    p {
                        @let (class, label) = match op.action { Action::Create => ("ok", t.op_actions[0]), Action::Update => ("warn", t.op_actions[1]), Action::Archive => ("bad", t.op_actions[2]) };
                        span class={ "pill " (class) } { (label) } " "
                        (system_pill(&op.connector)) " "
                        span.mono { (op.external_id.as_deref().unwrap_or(t.new_record)) }
                        " " span.muted { "← " (op.from.to_string()) }
                    }
                    @if !op.changes.is_empty() {
                        table.stack {
                            thead { tr { th { (t.field_col) } th { (t.before) } th { (t.after) } } }
                            tbody {
                                @for c in &op.changes {
                                    tr {
                                        td.mono data-label=(t.field_col) { (c.field) }
                                        td data-label=(t.before) { (shown(&c.before)) }
                                        td data-label=(t.after) { strong { (shown(&c.after)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !plan.unmapped.is_empty() {
                h2 { (t.unmapped) }
                ul.unmapped {
                    @for u in &plan.unmapped {
                        li {
                            span.mono { (u.field) } " " (u.value) " — " (t.no_user_in) " " (system_pill(&u.connector))
                            @if let Some(r) = &u.record { " " span.muted.mono { (r.to_string()) } }
                        }
                    }
                }
            }
        }
    }
}

/// The open conflicts, each with its two buttons.
fn conflict_table(v: &Viewer, conflicts: &[ConflictRow]) -> Markup {
    let t = v.lang.t();
    let button = |id: i64, take: &str, label: &str| {
        html! {
            form.inline method="post" action="/admin/conflicts/resolve" {
                input type="hidden" name="id" value=(id);
                input type="hidden" name="take" value=(take);
                input type="hidden" name="next" value="/flows#conflicts";
                button type="submit" { (label) }
            }
        }
    };
    html! {
        table.stack {
            thead { tr { th { "#" } th { (t.flow) } th { (t.field_col) } th { (t.source) } th { (t.target) } th {} } }
            tbody {
                @for c in conflicts {
                    tr id={ "conflict-" (c.id) } {
                        td.count { (c.id) }
                        td data-label=(t.flow) { (c.flow) }
                        td.mono data-label=(t.field_col) { (c.field) }
                        td data-label=(t.source) { (shown(&c.source_value)) br; span.muted.mono { (c.source.to_string()) } }
                        td data-label=(t.target) { (shown(&c.target_value)) br; span.muted.mono { (c.target.to_string()) } }
                        td { (button(c.id, "source", t.take_source)) " " (button(c.id, "target", t.take_target)) }
                    }
                }
            }
        }
    }
}
