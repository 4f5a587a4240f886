//! The engine: pulls pages from connectors and commits them with their cursors.
//!
//! One run = one connector × one kind × one mode. Every page is committed together with
//! the cursor that follows it (in one store transaction), so a crash or a stop between
//! pages resumes from the last committed page: nothing is lost and at most one page is
//! read twice (idempotently). A full scan that finishes lets the store tombstone records
//! it no longer saw; an incremental pull never does, but the id census that follows it
//! when due does (see [`census`]). After syncing, [`Engine::resolve`]
//! turns what changed into the unified view (see [`crate::resolve`]).
//!
//! What a failed run means for its connector — parked, deferred, backing off — is decided
//! from the error's kind in [`supervisor`]; the daemon's loop is in `scheduler`.

mod census;
mod guards;
mod instance;
mod scheduler;
mod shutdown;
mod source;
pub mod supervisor;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use rand::Rng as _;
use serde::Serialize;
use zveno_connector::{Clock, Connector, ConnectorError, Kind, SyncMode};

pub use census::CensusReport;
pub use guards::PaginationError;
pub(crate) use instance::died_here;
pub use instance::instance_id;
pub use scheduler::run_daemon;
pub use shutdown::Shutdown;
pub use supervisor::{Admission, JobOutcome, Supervised};

use crate::metrics::Metrics;
use crate::resolve::{ResolveError, ResolveReport, Resolver};
use crate::settings::Schedule;
use crate::store::{Fence, Heartbeat, Lease, RunOutcome, RunStatus, Store, StoreError};
use guards::Pagination;

/// A connector as the engine runs it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The connector.
    pub connector: Arc<dyn Connector>,
    /// Kinds to sync, in order.
    pub kinds: Vec<Kind>,
    /// When.
    pub schedule: Schedule,
    /// Fingerprint of the connector's configuration and referenced secrets: a connector
    /// parked for them resumes at a start after they changed.
    pub fingerprint: String,
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The connector failed (its kind says whether a later run may succeed).
    #[error("{connector}/{kind}: {source}")]
    Connector {
        /// Connector name.
        connector: String,
        /// Kind being synced.
        kind: Kind,
        /// The error.
        #[source]
        source: ConnectorError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Identity resolution failed (what changed stays queued for the next run).
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Another instance holds the lease on this connector and kind: it is pulling it now.
    #[error("{connector}/{kind}: being pulled by instance {holder} (lease until {until}); skipped")]
    Leased {
        /// Connector name.
        connector: String,
        /// Kind.
        kind: Kind,
        /// The instance holding the lease.
        holder: String,
        /// When its lease expires unless renewed.
        until: DateTime<Utc>,
    },
    /// This run lost its lease (or the cursor moved under it): its last page was refused
    /// and nothing of it written.
    #[error("{connector}/{kind}: stopped, the run no longer owns the cursor: {reason}")]
    LeaseLost {
        /// Connector name.
        connector: String,
        /// Kind.
        kind: Kind,
        /// Which check failed.
        reason: String,
    },
    /// Pagination went wrong (a repeated cursor, too many pages).
    #[error("{connector}/{kind}: {source}")]
    Pagination {
        /// Connector name.
        connector: String,
        /// Kind.
        kind: Kind,
        /// What happened.
        #[source]
        source: PaginationError,
    },
    /// The connector panicked while pulling (a bug, caught so the run is closed and the
    /// rest of the daemon goes on).
    #[error("{connector}/{kind}: panicked: {message}")]
    Panicked {
        /// Connector name.
        connector: String,
        /// Kind being synced.
        kind: Kind,
        /// The panic's message.
        message: String,
    },
}

impl EngineError {
    /// Whether the run stopped because another instance owns its connector and kind now
    /// (not a failure of the connector: its next run is on schedule).
    pub fn lost_lease(&self) -> bool {
        matches!(self, Self::Leased { .. } | Self::LeaseLost { .. })
    }
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id in the store.
    pub run_id: i64,
    /// Connector name.
    pub connector: String,
    /// Kind.
    pub kind: Kind,
    /// Mode.
    pub mode: SyncMode,
    /// How it ended.
    pub status: RunStatus,
    /// Pages committed.
    pub pages: u64,
    /// Records received.
    pub records: u64,
    /// Records that could not be normalised.
    pub record_errors: u64,
    /// Records tombstoned: by a completed full scan, or by the id census after the run.
    pub tombstoned: u64,
    /// Records a census would have tombstoned, held for an operator (`zveno census approve`).
    pub held: u64,
    /// HTTP requests of the id census and its lookups, apart from `requests`.
    pub census_requests: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Throttled answers received.
    pub throttled: u64,
    /// Requests made smaller or later because the vendor reported nearing a limit.
    pub slowed: u64,
    /// Wall time.
    pub elapsed_ms: u64,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// What the operator should know about a run that did not fail (the connector's source
    /// changed, see `source.rs`); kept as the run's message when there is no error.
    pub note: Option<String>,
}

/// How the engine shares a store with other instances and guards its runs (`[engine]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// This instance's name in lease rows: unique per process.
    pub instance: String,
    /// How long a lease lasts without a heartbeat: how soon another instance takes over
    /// the connectors of one that died.
    pub lease_ttl: Duration,
    /// Pages one run may pull before it is stopped as a runaway.
    pub max_pages_per_run: u64,
    /// Full scans failing in a row after which the kind alternates with incremental runs,
    /// so changes keep flowing while the full scan keeps failing.
    pub full_failures_before_fallback: u32,
    /// How long a deleted record keeps its personal data (`[store] tombstone_retention_days`).
    pub tombstone_retention: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            instance: instance_id(),
            lease_ttl: Duration::from_secs(120),
            max_pages_per_run: 100_000,
            full_failures_before_fallback: 3,
            tombstone_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Pulls connectors into the store, and resolves identities when given a [`Resolver`].
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    resolver: Option<Resolver>,
    metrics: Option<Arc<Metrics>>,
    options: EngineOptions,
    flows: Option<Arc<crate::flows::FlowRunner>>,
}

/// One run in progress, as `pull_pages` needs it.
struct Run<'a> {
    connector: &'a Arc<dyn Connector>,
    kind: Kind,
    mode: SyncMode,
    started: DateTime<Utc>,
    shutdown: &'a Shutdown,
    lease: &'a Lease,
    heartbeat: &'a Heartbeat,
}

impl Engine {
    /// An engine writing to `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, resolver: None, metrics: None, options: EngineOptions::default(), flows: None }
    }

    /// The same engine with `options`.
    pub fn with_options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// How this engine shares the store.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The same engine, counting runs and resolutions in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The resolver, if any: the service's link/unlink share it (and its lock).
    pub fn resolver(&self) -> Option<&Resolver> {
        self.resolver.as_ref()
    }

    /// The same engine, resolving identities with `resolver` in [`Engine::resolve`].
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Resolves what the syncs so far changed (`None` without a resolver). Runs of
    /// several connectors share the resolver's lock, so they never overlap.
    pub async fn resolve(&self) -> Result<Option<ResolveReport>, EngineError> {
        let Some(resolver) = &self.resolver else { return Ok(None) };
        let report = resolver.run().await?;
        if let Some(m) = &self.metrics {
            m.resolved(Duration::from_millis(report.elapsed_ms));
        }
        if report.changed > 0 {
            tracing::info!(
                mode = ?report.mode,
                changed = report.changed,
                clients = report.clients,
                tasks = report.tasks,
                unattached = report.unattached,
                elapsed_ms = report.elapsed_ms,
                "identities resolved"
            );
        }
        Ok(Some(report))
    }

    /// The same engine, applying (or planning) write-back flows after each sync.
    pub fn with_flows(mut self, flows: Arc<crate::flows::FlowRunner>) -> Self {
        self.flows = Some(flows);
        self
    }

    /// Applies or plans the write-back flows touching `connector` (see
    /// [`crate::flows::FlowRunner`]); nothing without flows.
    pub async fn after_sync(&self, connector: &str) {
        if let Some(flows) = &self.flows {
            flows.after_sync(&self.store, connector, &self.options.instance).await;
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock runs are timed and scheduled on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Chooses the mode of the next run: full when asked, when the connector cannot do
    /// incremental pulls, when no full scan has completed yet, or when the last one is
    /// older than `full_every` — unless full scans keep failing (see below).
    pub async fn next_mode(&self, job: &Job, kind: Kind, force_full: bool) -> Result<SyncMode, EngineError> {
        if force_full || !job.connector.capabilities().incremental {
            return Ok(SyncMode::Full);
        }
        let last_full = self.store.last_completed(job.connector.name(), kind, SyncMode::Full).await?;
        if self.source_pending(&job.connector, last_full).await? {
            return Ok(SyncMode::Full);
        }
        let due = last_full.is_none_or(|at| {
            let age = self.clock.now().signed_duration_since(at).to_std().unwrap_or(Duration::ZERO);
            age >= job.schedule.full_every
        });
        if !due {
            return Ok(SyncMode::Incremental);
        }
        // A full scan that keeps failing (one page the vendor never serves) would otherwise
        // hold the kind at that page forever: after a few failures in a row, every other
        // run is incremental, so changes keep flowing while the scan keeps being retried.
        let (failed, newest) = self.store.failed_full_scans(job.connector.name(), kind).await?;
        if failed >= self.options.full_failures_before_fallback && newest {
            tracing::warn!(
                connector = job.connector.name(),
                %kind,
                failed,
                "the full scan failed {failed} times in a row; running incremental this time \
                 (`zveno cursor reset {} {kind}` restarts the scan from the beginning)",
                job.connector.name()
            );
            return Ok(SyncMode::Incremental);
        }
        Ok(SyncMode::Full)
    }

    /// Runs every kind of `job` once. Later kinds still run when an earlier one failed,
    /// unless the failure concerns the whole connector (credentials, configuration, the
    /// account's quota, a panic): then the job stops there, and the vendor is not called
    /// again for nothing.
    pub async fn sync_job(
        &self,
        job: &Job,
        force_full: bool,
        shutdown: &Shutdown,
    ) -> Vec<Result<RunSummary, EngineError>> {
        let mut results = Vec::new();
        for &kind in &job.kinds {
            if shutdown.requested() {
                break;
            }
            let mut result = match self.next_mode(job, kind, force_full).await {
                Ok(mode) => self.sync(&job.connector, kind, mode, shutdown).await,
                Err(e) => Err(e),
            };
            // A full scan is a census of its own; after an incremental pull the id census
            // runs when due, so deletes show within one cycle.
            if let Ok(summary) = &mut result {
                if summary.mode == SyncMode::Incremental && summary.status == RunStatus::Ok {
                    self.census_after_run(job, summary, shutdown).await;
                }
            }
            let stop = result.as_ref().err().is_some_and(JobOutcome::stops_the_job);
            results.push(result);
            if stop {
                break;
            }
        }
        results
    }

    /// One run of `kind` in `mode`, page by page until the connector says there is no more,
    /// the connector fails, the lease is lost, or `shutdown` is requested (checked between
    /// pages).
    ///
    /// The run first takes the lease on `connector`/`kind` ([`EngineError::Leased`] while
    /// another instance holds it), keeps it alive while it pulls, and commits every page
    /// fenced by it and by the cursor the page came from. Once opened, the run row is
    /// closed on every path out (ok, failed or interrupted); a run whose process died is
    /// closed as `interrupted` by whoever takes its lease next.
    pub async fn sync(
        &self,
        connector: &Arc<dyn Connector>,
        kind: Kind,
        mode: SyncMode,
        shutdown: &Shutdown,
    ) -> Result<RunSummary, EngineError> {
        let name = connector.name();
        let (me, ttl) = (&self.options.instance, self.options.lease_ttl);
        let taken = match self.store.acquire_lease(name, kind, me, ttl).await? {
            Err(held) if instance::died_here(&held.holder) => {
                tracing::info!(connector = name, %kind, dead = %held.holder, "taking over the lease of a dead instance");
                self.store.take_over_lease(name, kind, me, ttl, &held.holder).await?
            }
            taken => taken,
        };
        let lease = match taken {
            Ok(lease) => lease,
            Err(held) => {
                return Err(EngineError::Leased {
                    connector: name.to_string(),
                    kind,
                    holder: held.holder,
                    until: held.expires_at,
                })
            }
        };
        let heartbeat = Heartbeat::start(self.store.clone(), lease.clone());
        let result = match self.adopt_source(connector).await {
            Ok(note) => self.sync_leased(connector, kind, mode, shutdown, &lease, &heartbeat, note).await,
            Err(e) => Err(e),
        };
        drop(heartbeat);
        if let Err(e) = self.store.release_lease(&lease).await {
            // It expires by itself; another instance waits a little longer.
            tracing::warn!(connector = name, %kind, error = %e, "cannot release the lease");
        }
        result
    }

    #[allow(clippy::too_many_arguments)] // one call site, each argument a different thing
    async fn sync_leased(
        &self,
        connector: &Arc<dyn Connector>,
        kind: Kind,
        mode: SyncMode,
        shutdown: &Shutdown,
        lease: &Lease,
        heartbeat: &Heartbeat,
        note: Option<String>,
    ) -> Result<RunSummary, EngineError> {
        let name = connector.name().to_string();
        let started = self.clock.now();
        let run_id = self.store.start_run(&name, kind, mode, started).await?;
        let http_before = connector.http_stats();
        let mut summary = RunSummary {
            run_id,
            connector: name.clone(),
            kind,
            mode,
            status: RunStatus::Ok,
            pages: 0,
            records: 0,
            record_errors: 0,
            tombstoned: 0,
            held: 0,
            census_requests: 0,
            requests: 0,
            throttled: 0,
            slowed: 0,
            elapsed_ms: 0,
            error: None,
            note,
        };
        let span = tracing::info_span!("sync", connector = %name, %kind, mode = mode.as_str(), run_id);
        let _entered = span.enter();
        tracing::info!(lease = lease.token, "run started");
        let run = Run { connector, kind, mode, started, shutdown, lease, heartbeat };
        // Everything that can fail is inside `pull_pages`, so the run row is closed below
        // on every path.
        let result = self.pull_pages(&run, &mut summary).await;
        let http = connector.http_stats().since(&http_before);
        summary.requests = http.requests;
        summary.throttled = http.throttled;
        summary.slowed = http.slowed;
        summary.elapsed_ms = u64::try_from((self.clock.now() - started).num_milliseconds()).unwrap_or(0);
        if let Err(e) = &result {
            summary.status = if e.lost_lease() { RunStatus::Interrupted } else { RunStatus::Failed };
            // Vendor answers quoted in errors may carry credentials: never into the store.
            summary.error = Some(zveno_connector::redact_text(&e.to_string()));
        }
        let outcome = RunOutcome {
            status: summary.status,
            finished_at: self.clock.now(),
            pages: summary.pages,
            records: summary.records,
            record_errors: summary.record_errors,
            tombstoned: summary.tombstoned,
            requests: http.requests,
            throttled: http.throttled,
            retried: http.retried,
            failed_requests: http.failed,
            slowed: http.slowed,
            census_requests: 0,
            held: summary.held,
            message: summary.error.clone().or_else(|| summary.note.clone()),
        };
        self.store.finish_run(run_id, &outcome).await?;
        if let Some(m) = &self.metrics {
            m.run_finished(&summary, &http);
        }
        match result {
            Ok(()) => {
                tracing::info!(status = %summary.status, pages = summary.pages, records = summary.records, "run finished");
                Ok(summary)
            }
            Err(e) => {
                tracing::error!(error = %e, "run failed");
                Err(e)
            }
        }
    }

    /// The pages of one run, committed one by one under the run's lease.
    async fn pull_pages(&self, run: &Run<'_>, summary: &mut RunSummary) -> Result<(), EngineError> {
        let Run { connector, kind, mode, .. } = *run;
        let name = connector.name();
        let mut cursor = self.store.cursor(name, kind, mode).await?;
        let resumed = !cursor.is_start();
        if resumed {
            tracing::info!("resuming from the last committed page");
        }
        let mut pagination = Pagination::new(&cursor, self.options.max_pages_per_run);
        loop {
            if run.shutdown.requested() {
                summary.status = RunStatus::Interrupted;
                return Ok(());
            }
            if run.heartbeat.lost() {
                return Err(EngineError::LeaseLost {
                    connector: name.to_string(),
                    kind,
                    reason: "another instance took the lease over".to_string(),
                });
            }
            // A panic in the connector (a bug, or one record it cannot cope with) fails this
            // run like an error, so the run is closed and the daemon goes on.
            let pulled = AssertUnwindSafe(connector.pull(kind, mode, &cursor)).catch_unwind().await;
            let page = match pulled {
                Ok(Ok(page)) => page,
                Ok(Err(source)) => return Err(EngineError::Connector { connector: name.to_string(), kind, source }),
                Err(panic) => {
                    let message = supervisor::panic_message(&*panic);
                    return Err(EngineError::Panicked { connector: name.to_string(), kind, message });
                }
            };
            if page.more {
                pagination.next(&page.cursor).map_err(|source| EngineError::Pagination {
                    connector: name.to_string(),
                    kind,
                    source,
                })?;
            }
            for bad in &page.errors {
                tracing::warn!(external_id = bad.external_id.as_deref().unwrap_or("?"), error = %bad.message, "record skipped");
            }
            let fence = Fence { lease: run.lease, from: &cursor };
            let outcome = match self.store.commit_fenced(name, kind, mode, &page, &fence).await {
                Ok(outcome) => outcome,
                Err(StoreError::Fenced { reason, .. }) => {
                    return Err(EngineError::LeaseLost { connector: name.to_string(), kind, reason })
                }
                Err(e) => return Err(e.into()),
            };
            summary.pages += 1;
            summary.records += page.records.len() as u64;
            summary.record_errors += page.errors.len() as u64;
            summary.tombstoned += outcome.tombstoned;
            summary.held += outcome.held;
            tracing::info!(
                page = summary.pages,
                records = summary.records,
                inserted = outcome.inserted,
                updated = outcome.updated,
                "page committed"
            );
            if !page.more {
                if mode == SyncMode::Full {
                    self.seed_incremental(connector, kind, run.started, resumed).await?;
                }
                return Ok(());
            }
            cursor = page.cursor;
        }
    }

    /// After a completed full scan, starts the incremental stream at the scan's start (when
    /// the connector can), so the next incremental run reads only what changed since.
    async fn seed_incremental(
        &self,
        connector: &Arc<dyn Connector>,
        kind: Kind,
        started: DateTime<Utc>,
        resumed: bool,
    ) -> Result<(), EngineError> {
        let current = self.store.cursor(connector.name(), kind, SyncMode::Incremental).await?;
        // A resumed scan began before this process started; its start time is unknown
        // here, so leave the incremental stream to begin from scratch rather than guess.
        if !current.is_start() || resumed {
            return Ok(());
        }
        if let Some(cursor) = connector.incremental_cursor(kind, started) {
            self.store.set_cursor(connector.name(), kind, SyncMode::Incremental, &cursor).await?;
        }
        Ok(())
    }
}

/// `interval` ±10%, so many instances (and connectors) never align.
pub(crate) fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::thread_rng().gen_range(0.9..=1.1))
}
