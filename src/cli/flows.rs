//! `zveno plan`, `zveno apply` and `zveno conflicts`: write-back flows from the command line.

use std::process::ExitCode;

use serde_json::Value;

use super::output;
use crate::flows::{self, Action, Flow, Plan};
use crate::settings::Settings;

/// The flows `name` selects (all when `None`); an unknown name is an error listing them.
pub(super) fn select<'a>(settings: &'a Settings, name: Option<&str>) -> anyhow::Result<Vec<&'a Flow>> {
    match name {
        None => Ok(settings.flows.iter().collect()),
        Some(name) => match settings.flows.iter().find(|f| f.name == name) {
            Some(flow) => Ok(vec![flow]),
            None => {
                let known: Vec<&str> = settings.flows.iter().map(|f| f.name.as_str()).collect();
                anyhow::bail!(
                    "no flow named {name:?} (configured: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )
            }
        },
    }
}

/// `zveno plan [--flow NAME] [--json]`: reads the store, writes nothing.
pub(super) async fn plan(settings: &Settings, flow: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let flows = select(settings, flow)?;
    let store = super::store_open::open_existing(&settings.store_url).await?;
    let mut plans = Vec::new();
    for flow in flows {
        plans.push(flows::load::plan_now(&store, flow).await?);
    }
    if json {
        output::json(&plans)?;
    } else {
        for (flow, plan) in settings.flows.iter().filter(|f| plans.iter().any(|p| p.flow == f.name)).zip(&plans) {
            print_plan(flow, plan)?;
        }
        if plans.is_empty() {
            out!("no flows configured ([[flows]] in the config)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "∅".to_string(),
        other => other.to_string(),
    }
}

/// One flow's plan for people: a header, each op with its fields before → after, then
/// conflicts and unmapped people.
pub(super) fn print_plan(flow: &Flow, plan: &Plan) -> anyhow::Result<()> {
    out!(
        "flow {} ({}: {} → {}, {}, on_conflict {})",
        flow.name,
        flow.kind,
        flow.from.join(", "),
        flow.to,
        flow.direction,
        flow.on_conflict
    );
    for op in &plan.ops {
        let record = op.external_id.as_deref().map_or_else(|| "(new)".to_string(), str::to_string);
        let action = match op.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Archive => "archive",
        };
        out!("  {action} {}/{} {record}  [{}, from {}]", op.connector, op.kind, op.group, op.from);
        for change in &op.changes {
            out!("    {}: {} → {}", change.field, shown(&change.before), shown(&change.after));
        }
        if let Some(client) = &op.client {
            out!("    attached to client {client}");
        }
    }
    for c in &plan.conflicts {
        out!(
            "  {} {} [{}]: {} {} ≠ {} {}",
            output::alert("conflict"),
            c.field,
            c.group,
            c.source,
            shown(&c.source_value),
            c.target,
            shown(&c.target_value)
        );
    }
    for u in &plan.unmapped {
        let record = u.record.as_ref().map_or_else(|| format!("new {} record", u.connector), ToString::to_string);
        out!("  unmapped {} {:?} for {record} [{}]: no such user in {}", u.field, u.value, u.group, u.connector);
    }
    let count = |a: Action| plan.ops.iter().filter(|op| op.action == a).count();
    out!(
        "  {} create(s), {} update(s), {} archive(s), {} conflict(s), {} unmapped",
        count(Action::Create),
        count(Action::Update),
        count(Action::Archive),
        plan.conflicts.len(),
        plan.unmapped.len()
    );
    Ok(())
}

/// Exit code of an apply that skipped a flow another instance was applying: EX_TEMPFAIL
/// (sysexits.h), "try again later", so a cron job or a script tells it from a failure.
const BUSY: u8 = 75;

/// `zveno apply [--flow NAME] [--wait] [--json]`: plans and applies each flow under its
/// lease, then prints what was done. A flow another instance is applying is skipped (named
/// on stderr) unless `wait`.
pub(super) async fn apply(settings: &Settings, flow: Option<&str>, wait: bool, json: bool) -> anyhow::Result<ExitCode> {
    let flows = select(settings, flow)?;
    let app = crate::app::App::build(settings, std::sync::Arc::new(zveno_connector::SystemClock::new())).await?;
    let connectors = app.jobs.iter().map(|j| (j.connector.name().to_string(), j.connector.clone())).collect();
    let (store, me) = (app.engine.store(), settings.engine.instance.as_str());
    let mut reports = Vec::new();
    let mut busy = false;
    for flow in flows {
        match flows::apply::apply_as(store, flow, &connectors, me, wait).await {
            Ok(report) => reports.push(report),
            Err(e @ flows::apply::ApplyError::Held { .. }) => {
                eprintln!("{}: {e} (run again later, or pass --wait)", output::alert("busy"));
                busy = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let failed = reports.iter().any(|r| !r.failed.is_empty());
    if json {
        output::json(&reports)?;
    } else {
        for r in &reports {
            out!(
                "flow {}: {} created, {} updated, {} archived, {} failed, {} already done, {} open conflict(s), {} unmapped",
                r.flow,
                r.created,
                r.updated,
                r.archived,
                r.failed.len(),
                r.already_done,
                r.conflicts_open,
                r.unmapped
            );
            for (op, why) in &r.failed {
                out!("  {} op {op}: {why}", output::alert("failed"));
            }
            if r.recovered > 0 {
                out!("  {} create(s) sent before a crash found at the vendor by their handle and settled", r.recovered);
            }
            if r.unsettled > 0 {
                out!(
                    "  {} create(s) sent before a crash await settling; their clients are not created again",
                    r.unsettled
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else if busy {
        ExitCode::from(BUSY)
    } else {
        ExitCode::SUCCESS
    })
}

/// `zveno conflicts [--json]`: the open conflicts.
pub(super) async fn conflicts(store_url: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = super::store_open::open_existing(store_url).await?;
    let rows = store.conflicts(false).await?;
    if json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out!("no open conflicts");
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.flow.clone(),
                c.field.clone(),
                format!("{} {}", c.source, shown(&c.source_value)),
                format!("{} {}", c.target, shown(&c.target_value)),
            ]
        })
        .collect();
    if !table.is_empty() {
        output::table(&["ID", "FLOW", "FIELD", "SOURCE", "TARGET"], &table)?;
        out!("settle one with `zveno conflicts resolve ID --take source|target`");
    }
    Ok(ExitCode::SUCCESS)
}

/// `zveno conflicts resolve ID --take source|target`.
pub(super) async fn resolve(store_url: &str, id: i64, take: &str) -> anyhow::Result<ExitCode> {
    let store = super::store_open::open_existing(store_url).await?;
    match store.resolve_conflict(id, take).await? {
        Some(c) => {
            out!(
                "conflict {id} settled: {} of {} takes the {take}'s value; the next apply writes it",
                c.field,
                c.group
            );
            Ok(ExitCode::SUCCESS)
        }
        None => anyhow::bail!("no open conflict {id} (see `zveno conflicts`)"),
    }
}
