//! The id census: deletions within one cycle, never a live record (ARCHITECTURE.md, data
//! flow, step 2).
//!
//! Most vendors do not say what was deleted. A full scan proves it, but a full scan of a
//! large CRM runs once a day. Where the vendor can list ids cheaply (Jira's `search/jql`
//! with `fields=id` at 5,000 ids a page, Bitrix24's `select: ["ID"]` in chained batches of
//! 2,500), the engine runs a census after an incremental pull, when it is due:
//!
//! 1. list every live id of the kind, page by page ([`Connector::census`]); only a census
//!    that reached its last page counts;
//! 2. the stored live records it did not list (and that were stored before it began) are
//!    *missing*, not yet gone: a search index lags, a record moved out of scope;
//! 3. a lookup by id ([`Connector::fetch`]) confirms each: only ids the vendor no longer
//!    knows are *gone*;
//! 4. the store tombstones them — or, when they are more than max(5% of the kind's live
//!    records, 50), holds them for an operator (`zveno census approve`): a token that lost
//!    access to half the records passes steps 1–3 exactly like a mass deletion.
//!
//! Its requests are counted apart from the pull's, on the same run row.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use zveno_connector::{Connector, Cursor, ErrorKind, Kind};

use super::{Engine, EngineError, Job, RunSummary, Shutdown};
use crate::store::Settled;

/// What one id census found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CensusReport {
    /// Ids the census listed.
    pub listed: u64,
    /// Stored live records it did not list.
    pub missing: u64,
    /// Of those, records a lookup by id confirmed gone.
    pub gone: u64,
    /// Records tombstoned.
    pub tombstoned: u64,
    /// Records that would have been tombstoned, held for an operator.
    pub held: u64,
    /// HTTP requests of the census and its lookups.
    pub requests: u64,
}

impl Engine {
    /// Runs the id census of `kind` after a successful incremental run when one is due,
    /// and adds what it did to the run's row and summary. A census that fails leaves the
    /// pull's result alone: its error is logged and kept in the run's message, and the
    /// next cycle tries again.
    pub(super) async fn census_after_run(&self, job: &Job, summary: &mut RunSummary, shutdown: &Shutdown) {
        match self.census_due(job, summary.kind).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether a census is due; skipping it this cycle");
                return;
            }
        }
        let report = match self.census(&job.connector, summary.kind, shutdown).await {
            Ok(Some(report)) => report,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, connector = %summary.connector, kind = %summary.kind, "id census failed");
                let message = format!("census failed: {e}");
                if let Err(e) = self.store.annotate_run(summary.run_id, &message).await {
                    tracing::warn!(error = %e, "could not record the census failure on the run");
                }
                summary.error = Some(message);
                return;
            }
        };
        summary.census_requests = report.requests;
        summary.tombstoned += report.tombstoned;
        summary.held = report.held;
        if let Err(e) = self.store.record_census(summary.run_id, report.requests, report.tombstoned, report.held).await
        {
            tracing::warn!(error = %e, "could not record the census on the run");
        }
    }

    /// Whether `job`'s connector has an id census of `kind` and it is due: never run, or
    /// last run at least `census_every_secs` (else the vendor's default) ago.
    async fn census_due(&self, job: &Job, kind: Kind) -> Result<bool, EngineError> {
        let Some(plan) = job.connector.census_plan(kind) else { return Ok(false) };
        let every = job.schedule.census_every.unwrap_or(plan.every);
        let last = self.store.last_census(job.connector.name(), kind).await?;
        Ok(last.is_none_or(|at| self.clock.now().signed_duration_since(at).to_std().unwrap_or(Duration::ZERO) >= every))
    }

    /// Runs the id census of `kind` now (see the module docs). `None` when the connector
    /// has no census or `shutdown` stopped it before its last page (nothing is changed).
    pub async fn census(
        &self,
        connector: &Arc<dyn Connector>,
        kind: Kind,
        shutdown: &Shutdown,
    ) -> Result<Option<CensusReport>, EngineError> {
        if connector.census_plan(kind).is_none() {
            return Ok(None);
        }
        let name = connector.name();
        let failed = |source| EngineError::Connector { connector: name.to_string(), kind, source };
        let started = self.clock.now();
        let before = connector.http_stats();
        let mut seen = HashSet::new();
        let mut cursor = Cursor::default();
        loop {
            if shutdown.requested() {
                return Ok(None);
            }
            let page = connector.census(kind, &cursor).await.map_err(failed)?;
            seen.extend(page.ids);
            if !page.more {
                break;
            }
            cursor = page.cursor;
        }
        let (missing, live) = self.store.census_missing(name, kind, &seen, started).await?;
        let gone = self.confirm(connector, kind, &missing).await.map_err(failed)?;
        let settled = self.store.settle_census(name, kind, started, &gone, live).await?;
        let (tombstoned, held) = match settled {
            Settled::Tombstoned(n) => (n, 0),
            Settled::Held(n) => (0, n),
        };
        let report = CensusReport {
            listed: seen.len() as u64,
            missing: missing.len() as u64,
            gone: gone.len() as u64,
            tombstoned,
            held,
            requests: connector.http_stats().since(&before).requests,
        };
        tracing::info!(
            connector = name,
            %kind,
            listed = report.listed,
            missing = report.missing,
            gone = report.gone,
            tombstoned,
            held,
            requests = report.requests,
            "id census finished"
        );
        Ok(Some(report))
    }

    /// The ids of `missing` that a lookup by id confirms gone. A connector that cannot look
    /// records up confirms nothing: its deletes wait for the full scans' census.
    async fn confirm(
        &self,
        connector: &Arc<dyn Connector>,
        kind: Kind,
        missing: &[String],
    ) -> Result<Vec<String>, zveno_connector::ConnectorError> {
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        match connector.fetch(kind, missing).await {
            Ok(fetched) => {
                let unknown: HashSet<&str> = fetched.missing.iter().map(String::as_str).collect();
                Ok(missing.iter().filter(|id| unknown.contains(id.as_str())).cloned().collect())
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                tracing::warn!(
                    connector = connector.name(),
                    %kind,
                    missing = missing.len(),
                    "the census missed records but the connector cannot look them up; full scans will decide"
                );
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }
}
