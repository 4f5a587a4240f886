//! Identity resolution: which source records are one client (or one person), the golden
//! record of each, and which client each task concerns.
//!
//! The pipeline, by file:
//!
//! - [`model`] reads the stored records' data; [`names`] (with [`spelling`]), [`keys`]
//!   derive what identifies a record (tax id, corporate domain, free-mail address, phone; a name block);
//! - [`blocking`] groups records sharing a key; [`score`] compares names inside a block;
//!   [`vetoes`] keeps conflicting identities apart, helped by [`staff`] (the domains a
//!   client's contacts write from); [`clients`] and [`contacts`] cluster
//!   with [`union_find`], recording each record's [`rules::Rule`] in [`cluster`];
//! - [`golden`] merges each cluster under the configured survivorship; [`ids`] keeps
//!   entity ids stable; [`batch`] turns a clustered batch into store rows;
//! - [`hints`] and [`tasks`] attach tasks (and contacts) to client entities;
//! - [`full`] resolves the whole store, block by block as [`plan`] splits it;
//!   [`incremental`] resolves only what changed, with [`scope`] finding the clusters a
//!   change touches; [`load`] reads rows for both;
//! - [`explain`] says why two records are or are not one client (`zveno why`); [`review`]
//!   lists borderline pairs for a person to settle (`zveno review`);
//! - [`bench`] measures it (`zveno bench resolve`); [`eval`] scores it against a labelled
//!   world's truth.
//!
//! [`Resolver::run`] is what the engine calls after a sync: it drains the store's dirty
//! queue incrementally, or re-resolves everything when most of the store changed (a first
//! sync). Either way results and the queue's versions are committed together, so a crash
//! never loses a change: the records stay dirty and are resolved on the next run.

pub mod bench;
pub mod eval;
pub mod explain;
pub mod review;

mod batch;
mod blocking;
mod clients;
mod cluster;
mod contacts;
mod full;
mod golden;
mod hints;
mod ids;
mod incremental;
mod keys;
mod load;
mod lock;
mod model;
mod names;
mod owners;
mod plan;
mod rules;
mod scope;
mod score;
mod spelling;
mod staff;
mod systems;
mod tasks;
mod union_find;
mod vetoes;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::store::{RecordKey, Store, StoreError};
use lock::StoreLock;

pub use batch::source_name;
pub use golden::{domain_unicode, Field, Golden, Survival, Survivorship, Won};
pub use names::to_latin;
pub use systems::Systems;

/// Dirty records an incremental run takes per round.
const INCREMENTAL_BATCH: u32 = 5_000;

/// When at least this share of the live records is dirty, one full pass is cheaper than
/// neighbourhood look-ups for each change.
const FULL_SHARE: f64 = 0.25;

/// Why resolution stopped.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The store failed; the dirty queue is untouched, so the next run retries.
    #[error("identity resolution: {0}")]
    Store(#[from] StoreError),
}

/// How a run went about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Everything re-resolved.
    Full,
    /// Only the clusters changes touched.
    Incremental,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveReport {
    /// Full or incremental.
    pub mode: Mode,
    /// Dirty-queue versions answered.
    pub changed: u64,
    /// Client records resolved (changed ones and the clusters they touch).
    pub clients: u64,
    /// Contact records resolved or re-attached.
    pub contacts: u64,
    /// Tasks attached.
    pub tasks: u64,
    /// Entities written.
    pub entities: u64,
    /// Tasks no client was found for.
    pub unattached: u64,
    /// Records left out because their stored data could not be read.
    pub unreadable: u64,
    /// Keys skipped for being shared by too many records.
    pub overfull_keys: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

impl ResolveReport {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            changed: 0,
            clients: 0,
            contacts: 0,
            tasks: 0,
            entities: 0,
            unattached: 0,
            unreadable: 0,
            overfull_keys: 0,
            elapsed_ms: 0,
        }
    }

    fn add(&mut self, other: &ResolveReport) {
        self.changed += other.changed;
        self.clients += other.clients;
        self.contacts += other.contacts;
        self.tasks += other.tasks;
        self.entities += other.entities;
        self.unattached += other.unattached;
        self.unreadable += other.unreadable;
        self.overfull_keys += other.overfull_keys;
    }
}

/// Resolves identities in a store. Cloning is cheap; clones share one lock, so runs of
/// one process never overlap (two runs would race for the same clusters), and every run
/// also holds the store-wide resolution lock, so runs of other instances and CLI commands
/// never overlap with it either (see `lock.rs`).
#[derive(Debug, Clone)]
pub struct Resolver {
    store: Store,
    survivorship: Survivorship,
    systems: Systems,
    lock: Arc<Mutex<()>>,
    /// This process's name in the store-wide lock.
    holder: Arc<str>,
}

impl Resolver {
    /// A resolver over `store`, merging by `survivorship`, knowing connectors' vendors.
    pub fn new(store: Store, survivorship: Survivorship, systems: Systems) -> Self {
        let holder = crate::engine::instance_id().into();
        Self { store, survivorship, systems, lock: Arc::new(Mutex::new(())), holder }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn context(&self) -> batch::Context<'_> {
        batch::Context { survivorship: &self.survivorship, systems: &self.systems }
    }

    /// Runs `work` holding this process's mutex and the store-wide lock.
    async fn locked<F, Fut>(&self, work: F) -> Result<ResolveReport, ResolveError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<ResolveReport, ResolveError>>,
    {
        let _running = self.lock.lock().await;
        let store_lock = StoreLock::acquire(&self.store, &self.holder).await?;
        let result = work().await;
        store_lock.release().await;
        result
    }

    /// Resolves what changed since the last run: incrementally, or in one full pass when
    /// at least a quarter of the live records changed.
    pub async fn run(&self) -> Result<ResolveReport, ResolveError> {
        self.locked(|| self.changed()).await
    }

    async fn changed(&self) -> Result<ResolveReport, ResolveError> {
        let dirty = self.store.count_dirty().await?;
        let live = self.store.count_records(None, None, false).await?;
        if dirty == 0 {
            return Ok(ResolveReport::new(Mode::Incremental));
        }
        if dirty as f64 >= live as f64 * FULL_SHARE {
            return self.everything().await;
        }
        let started = Instant::now();
        let mut report = ResolveReport::new(Mode::Incremental);
        // Each round takes the oldest dirty records; a record re-dirtied by a concurrent
        // sync is left for the next run rather than chased forever.
        let rounds = dirty.div_ceil(u64::from(INCREMENTAL_BATCH)) + 1;
        for _ in 0..rounds {
            let versions = self.store.dirty_versions(INCREMENTAL_BATCH).await?;
            if versions.is_empty() {
                break;
            }
            report.add(&incremental::resolve(self, &versions, &[]).await?);
        }
        report.elapsed_ms = elapsed_ms(started);
        Ok(report)
    }

    /// Re-resolves the whole store (after changing `[reconcile]`, or to measure).
    pub async fn run_full(&self) -> Result<ResolveReport, ResolveError> {
        self.locked(|| self.everything()).await
    }

    async fn everything(&self) -> Result<ResolveReport, ResolveError> {
        let started = Instant::now();
        let mut report = full::resolve(self).await?;
        report.elapsed_ms = elapsed_ms(started);
        Ok(report)
    }

    /// Re-resolves the clusters of `records` now (after an operator's decision about them).
    pub async fn reresolve(&self, records: &[RecordKey]) -> Result<ResolveReport, ResolveError> {
        self.locked(|| async {
            let started = Instant::now();
            let mut report = incremental::resolve(self, &[], records).await?;
            report.elapsed_ms = elapsed_ms(started);
            Ok(report)
        })
        .await
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
