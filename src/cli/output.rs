//! Printing: aligned tables for people, `--json` for tools.

use std::io::Write as _;

use serde::Serialize;

use crate::engine::RunSummary;
use crate::resolve::ResolveReport;
use crate::store::RunRow;

/// Prints `value` as pretty JSON on stdout.
pub(super) fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints rows under headers, each column as wide as its widest cell.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(ToString::to_string).collect());
    for row in rows {
        line(row.clone());
    }
}

pub(super) fn summaries(summaries: &[RunSummary]) {
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            vec![
                s.connector.clone(),
                s.kind.to_string(),
                s.mode.as_str().to_string(),
                s.status.to_string(),
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
    );
}

pub(super) fn runs(runs: &[RunRow]) {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.connector.clone(),
                r.kind.to_string(),
                r.mode.as_str().to_string(),
                time(Some(r.started_at)),
                time(r.finished_at),
                r.status.to_string(),
                r.pages.to_string(),
                r.records.to_string(),
                r.requests.to_string(),
                r.throttled.to_string(),
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
            "FINISHED",
            "STATUS",
            "PAGES",
            "RECORDS",
            "REQUESTS",
            "THROTTLED",
            "ERRORS",
            "MESSAGE",
        ],
        &rows,
    );
}

/// One line on what identity resolution did.
pub(super) fn resolution(r: &ResolveReport) {
    println!(
        "resolved ({:?}): {} changed record(s); {} client, {} contact and {} task record(s) into {} entities; \
         {} task(s) unattached; {} ms",
        r.mode, r.changed, r.clients, r.contacts, r.tasks, r.entities, r.unattached, r.elapsed_ms
    );
}
