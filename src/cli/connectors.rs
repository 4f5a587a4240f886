//! `zveno connectors` and `zveno connector resume NAME`: which connectors run, which are
//! deferred or parked and why, and bringing a parked one back. Both read only the store and
//! the config's connector names, so they work in a shell without the connectors' secrets.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde::Serialize;
use zveno_connector::Kind;

use super::output;
use crate::settings::ResolutionSettings;
use crate::store::{ConnectorState, ConnectorStatus, Store};

/// One line of `zveno connectors`.
#[derive(Debug, Serialize)]
struct ConnectorLine {
    connector: String,
    vendor: Option<String>,
    configured: bool,
    status: ConnectorStatus,
    reason: Option<String>,
    since: Option<DateTime<Utc>>,
    next_run_at: Option<DateTime<Utc>>,
    failures: u32,
    needs_attention: bool,
}

impl ConnectorLine {
    fn new(connector: &str, vendor: Option<&String>, state: Option<&ConnectorState>) -> Self {
        Self {
            connector: connector.to_string(),
            vendor: vendor.cloned(),
            configured: vendor.is_some(),
            status: state.map_or(ConnectorStatus::Active, |s| s.status),
            reason: state.and_then(|s| s.reason.clone()),
            since: state.map(|s| s.since),
            next_run_at: state.and_then(|s| s.next_run_at),
            failures: state.map_or(0, |s| s.failures),
            needs_attention: state.is_some_and(ConnectorState::needs_attention),
        }
    }
}

async fn open(settings: &ResolutionSettings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.store_url).await?;
    store.migrate().await?;
    Ok(store)
}

pub(super) async fn list(settings: &ResolutionSettings, json: bool) -> anyhow::Result<ExitCode> {
    let store = open(settings).await?;
    let states = store.connector_states().await?;
    let mut lines: Vec<ConnectorLine> = settings
        .connectors
        .iter()
        .map(|(name, vendor)| ConnectorLine::new(name, Some(vendor), states.iter().find(|s| &s.connector == name)))
        .collect();
    // Connectors removed from the config but remembered by the store (another instance's).
    lines.extend(
        states
            .iter()
            .filter(|s| !settings.connectors.contains_key(&s.connector))
            .map(|s| ConnectorLine::new(&s.connector, None, Some(s))),
    );
    if json {
        output::json(&lines)?;
        return Ok(ExitCode::SUCCESS);
    }
    let time =
        |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.connector.clone(),
                l.vendor.clone().unwrap_or_else(|| "(not configured)".into()),
                l.status.to_string(),
                time(l.since),
                time(l.next_run_at),
                l.failures.to_string(),
                l.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(&["CONNECTOR", "VENDOR", "STATE", "SINCE (UTC)", "NEXT RUN (UTC)", "FAILURES", "REASON"], &rows)?;
    for line in lines.iter().filter(|l| l.needs_attention) {
        out!("\n{0} is parked: fix the cause, then `zveno connector resume {0}`", line.connector);
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn resume(settings: &ResolutionSettings, name: &str) -> anyhow::Result<ExitCode> {
    let store = open(settings).await?;
    let Some(before) = store.resume(name).await? else {
        if settings.connectors.contains_key(name) {
            out!("{name} has not run yet: nothing to resume");
            return Ok(ExitCode::SUCCESS);
        }
        let known: Vec<&str> = settings.connectors.keys().map(String::as_str).collect();
        anyhow::bail!("no connector named {name:?} (configured: {})", known.join(", "));
    };
    if before.status == ConnectorStatus::Active {
        out!("{name} is active: nothing to resume");
    } else {
        out!(
            "{name} resumed (it was {} since {}: {}); a running daemon picks it up within seconds",
            before.status,
            before.since.format("%Y-%m-%d %H:%M:%S UTC"),
            before.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn reset_cursor(
    settings: &ResolutionSettings,
    name: &str,
    kind: Option<Kind>,
) -> anyhow::Result<ExitCode> {
    let store = open(settings).await?;
    let reset = store.reset_cursors(name, kind).await?;
    let what = kind.map_or_else(|| name.to_string(), |k| format!("{name}/{k}"));
    if reset == 0 {
        if !settings.connectors.contains_key(name) {
            let known: Vec<&str> = settings.connectors.keys().map(String::as_str).collect();
            anyhow::bail!("no connector named {name:?} (configured: {})", known.join(", "));
        }
        out!("{what} has no stored cursor: its next run starts from the beginning anyway");
    } else {
        out!("{what}: {reset} cursor(s) reset; the next run is a full scan from the first page");
    }
    Ok(ExitCode::SUCCESS)
}

/// Lines for `zveno runs`: connectors that do not run normally, and why.
pub(super) fn standing_notes(states: &[ConnectorState]) -> Vec<String> {
    states
        .iter()
        .filter(|s| s.status != ConnectorStatus::Active)
        .map(|s| {
            let reason = s.reason.as_deref().unwrap_or("no reason recorded");
            let since = s.since.format("%Y-%m-%d %H:%M:%S UTC");
            match (s.status, s.next_run_at) {
                (ConnectorStatus::Parked, None) => format!(
                    "{} is parked since {since}: {reason} (`zveno connector resume {}` after fixing it)",
                    s.connector, s.connector
                ),
                (_, Some(next)) => format!(
                    "{} is {} since {since}, next run {}: {reason}",
                    s.connector,
                    s.status,
                    next.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                (_, None) => format!("{} is {} since {since}: {reason}", s.connector, s.status),
            }
        })
        .collect()
}
