//! Printing: tables that fit the terminal for people, `--json` for tools.
//!
//! Everything goes through `write!` on stdout (the [`out!`] macro), never `println!`, so a
//! closed pipe (`zveno clients | head -1`) is an `io::Error` that [`super::main`] turns
//! into a quiet exit 0 instead of a panic. Colour is used only when stdout is a terminal
//! and `NO_COLOR` is not set (<https://no-color.org>).

use std::io::{IsTerminal as _, Write as _};

use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::engine::RunSummary;
use crate::resolve::ResolveReport;
use crate::store::RunRow;
use crate::view::ViewTime;

/// Prints `value` as pretty JSON on stdout.
pub(super) fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset or empty.
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` in red (bold) when colouring.
pub(super) fn alert(text: &str) -> String {
    if colour() {
        format!("\x1b[1;31m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The width tables must fit: the terminal's, else `COLUMNS`, else none (a file or a pipe
/// gets whole lines, which `grep` and `cut` prefer).
fn width() -> Option<u16> {
    if std::io::stdout().is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return Some(w);
        }
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

/// Prints rows under headers, wrapping the widest columns to fit the terminal.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(headers.iter().map(|h| if colour() { format!("\x1b[1m{h}\x1b[0m") } else { (*h).to_string() }));
    if let Some(w) = width() {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(w);
    }
    for row in rows {
        t.add_row(row);
    }
    for column in t.column_iter_mut() {
        column.set_padding((0, 2));
    }
    // The first column is the row's id: wrapping it would make it uncopyable.
    if let Some(first) = t.column_mut(0) {
        first.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    let mut out = std::io::stdout().lock();
    for line in t.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub(super) fn summaries(summaries: &[RunSummary]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            vec![
                s.connector.clone(),
                s.kind.to_string(),
                s.mode.as_str().to_string(),
                if s.status.as_str() == "failed" { alert("failed") } else { s.status.to_string() },
                s.pages.to_string(),
                s.records.to_string(),
                s.record_errors.to_string(),
                s.tombstoned.to_string(),
                s.requests.to_string(),
                s.throttled.to_string(),
                format!("{:.1}s", s.elapsed_ms as f64 / 1000.0),
            ]
        })
        .collect();
    table(
        &["CONNECTOR", "KIND", "MODE", "STATUS", "PAGES", "RECORDS", "BAD", "DELETED", "REQUESTS", "THROTTLED", "TIME"],
        &rows,
    )
}

pub(super) fn runs(runs: &[RunRow], time: &ViewTime) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.connector.clone(),
                r.kind.to_string(),
                r.mode.as_str().to_string(),
                time.time(Some(r.started_at)),
                r.finished_at.map_or_else(
                    || "-".to_string(),
                    |f| format!("{:.1}s", (f - r.started_at).num_milliseconds() as f64 / 1000.0),
                ),
                if r.status.as_str() == "failed" { alert("failed") } else { r.status.to_string() },
                r.records.to_string(),
                r.tombstoned.to_string(),
                r.requests.to_string(),
                r.throttled.to_string(),
                r.slowed.to_string(),
                r.record_errors.to_string(),
                r.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "CONNECTOR",
            "KIND",
            "MODE",
            "STARTED",
            "TOOK",
            "STATUS",
            "RECORDS",
            "DELETED",
            "REQUESTS",
            "THROTTLED",
            "SLOWED",
            "ERRORS",
            "MESSAGE",
        ],
        &rows,
    )
}

/// One line on what identity resolution did.
pub(super) fn resolution(r: &ResolveReport) -> std::io::Result<()> {
    writeln!(
        std::io::stdout(),
        "resolved ({:?}): {} changed record(s); {} client, {} contact and {} task record(s) into {} entities; \
         {} task(s) unattached; {} ms",
        r.mode,
        r.changed,
        r.clients,
        r.contacts,
        r.tasks,
        r.entities,
        r.unattached,
        r.elapsed_ms
    )
}
