//! Resolution benchmark: what `zveno bench resolve` measures on a freshly synced store.
//!
//! Four steps, each run by `zveno bench resolve` in a fresh process of its own so that
//! its peak memory (`VmHWM`) is that step's and not an earlier one's: the first resolution
//! of the whole store (every record dirty, so a full pass: resolve+merge throughput in
//! source records per second), a change to every [`CHANGE_EVERY`]-th record (1%, not a
//! resolution, so not compared), an incremental run resolving that change, and a forced
//! full re-resolve of the same store for comparison.

use std::time::Instant;

use serde::Serialize;
use zveno_connector::{Cursor, Kind, Page, RecordData, SyncMode, TaskStatus};

use super::{ResolveError, ResolveReport, Resolver};
use crate::store::{RecordKey, Store, StoreError};

/// One record in this many is changed before the incremental run (1%).
pub const CHANGE_EVERY: usize = 100;

/// A step of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Resolve the freshly synced store.
    First,
    /// Change 1% of the records, as an incremental pull would store them.
    Change,
    /// Resolve the change.
    Incremental,
    /// Re-resolve everything.
    Full,
}

/// What one step did, and what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// The step.
    pub step: Step,
    /// Live source records in the store.
    pub records: u64,
    /// Records the step changed (the change step) or found changed (resolutions).
    pub changed: u64,
    /// Wall time.
    pub secs: f64,
    /// Live source records / `secs` (resolutions).
    pub records_per_sec: f64,
    /// Peak resident memory of the process, in MiB (Linux only).
    pub peak_mib: Option<f64>,
    /// What the resolution did (`None` for the change step).
    pub report: Option<ResolveReport>,
}

/// Runs `step` against the resolver's store.
pub async fn run(resolver: &Resolver, step: Step) -> Result<Measured, ResolveError> {
    let store = resolver.store();
    let records = store.count_records(None, None, false).await?;
    let started = Instant::now();
    let (changed, report) = match step {
        Step::First | Step::Incremental => {
            let r = resolver.run().await?;
            (r.changed, Some(r))
        }
        Step::Full => {
            let r = resolver.run_full().await?;
            (r.changed, Some(r))
        }
        Step::Change => (change(store).await?, None),
    };
    let secs = started.elapsed().as_secs_f64();
    Ok(Measured {
        step,
        records,
        changed,
        secs,
        records_per_sec: records as f64 / secs.max(1e-9),
        peak_mib: crate::usage::peak_mib(),
        report,
    })
}

/// Changes every [`CHANGE_EVERY`]-th live record as a user would — a client's phones, a
/// contact's e-mails, a task's status — one hour after its last change, committed as an
/// incremental pull would commit them. Returns how many changed.
async fn change(store: &Store) -> Result<u64, StoreError> {
    let mut changed = 0;
    for kind in Kind::ALL {
        for connector in store.connectors_with(kind).await? {
            let mut picked: Vec<RecordKey> = Vec::new();
            let (mut after, mut seen) = (String::new(), 0usize);
            loop {
                let page = store.resolution_page(&connector, kind, &after, 5_000).await?;
                let Some(last) = page.last() else { break };
                after = last.version.key.external_id.clone();
                for row in page.iter().filter(|r| !r.deleted) {
                    if seen % CHANGE_EVERY == CHANGE_EVERY / 2 {
                        picked.push(row.version.key.clone());
                    }
                    seen += 1;
                }
            }
            let mut records = Vec::with_capacity(picked.len());
            for key in picked {
                let Some(stored) = store.record(&key.connector, key.kind, &key.external_id).await? else { continue };
                let mut record = stored.record;
                match &mut record.data {
                    Some(RecordData::Client(c)) => c.phones.reverse(),
                    Some(RecordData::Contact(c)) => c.emails.reverse(),
                    Some(RecordData::Task(t)) => t.status = TaskStatus::Done,
                    None => continue,
                }
                record.updated_at = record.updated_at.map(|t| t + chrono::Duration::hours(1));
                record.payload_hash = format!("{}-changed", record.payload_hash);
                records.push(record);
            }
            for chunk in records.chunks(500) {
                let page = Page {
                    records: chunk.to_vec(),
                    errors: Vec::new(),
                    cursor: Cursor(serde_json::json!({ "bench": "changed" })),
                    more: false,
                };
                changed += store.commit_page(&connector, kind, SyncMode::Incremental, &page).await?.written();
            }
        }
    }
    Ok(changed)
}
