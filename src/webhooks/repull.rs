//! The re-pull worker: reads the records webhooks named by id, re-points merges whose
//! survivor it just read, and re-resolves identities — one pass per batch of queued work.
//!
//! Work that arrives while a pass runs is gathered into the next pass, so a burst of
//! deliveries (Bitrix24 sends one call per changed record) costs one fetch per connector and
//! kind and one resolution, not one each. A fetch that fails leaves the change to the next
//! scheduled pull; an id the vendor no longer returns is left to the census, which confirms
//! a delete before tombstoning (a hint is not proof).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::mpsc;
use zveno_connector::{Connector, Kind};

use crate::engine::Engine;
use crate::store::{RecordKey, Store, StoreError};

/// What one delivery left to do.
#[derive(Debug, Default)]
pub(super) struct Work {
    /// The connector.
    pub connector: String,
    /// Ids to read again, by kind.
    pub changed: BTreeMap<Kind, BTreeSet<String>>,
    /// `(merged, survivor)` pairs whose survivor is not stored yet.
    pub merges: Vec<(RecordKey, RecordKey)>,
    /// Records re-pointed or tombstoned already, whose clusters must be re-resolved.
    pub touched: Vec<RecordKey>,
}

/// What [`repoint`] did.
#[derive(Debug, Default)]
pub(super) struct Repointed {
    /// Pairs linked: the merged record now belongs with its survivor.
    pub done: Vec<(RecordKey, RecordKey)>,
    /// Pairs whose survivor is not in the store (or is deleted) yet.
    pub waiting: Vec<(RecordKey, RecordKey)>,
}

/// Re-points each merged record at its survivor where both are stored and the survivor
/// is live. The merge is kept as a link decision, so every later resolution keeps the
/// merged record — and the tasks and contacts that name it — with the survivor's client,
/// until the vendor's own re-pointed associations arrive. A merged record zveno never
/// stored had nothing pointing at it.
pub(super) async fn repoint(store: &Store, merges: Vec<(RecordKey, RecordKey)>) -> Result<Repointed, StoreError> {
    let mut out = Repointed::default();
    if merges.is_empty() {
        return Ok(out);
    }
    let keys: Vec<RecordKey> = merges.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    let rows = store.resolution_rows(&keys).await?;
    let live = |k: &RecordKey| rows.iter().find(|r| &r.version.key == k).map(|r| !r.deleted);
    for (merged, survivor) in merges {
        match (live(&merged), live(&survivor)) {
            (None, _) => {}
            (Some(_), Some(true)) => {
                store.add_link(&merged, &survivor).await?;
                out.done.push((merged, survivor));
            }
            (Some(_), _) => out.waiting.push((merged, survivor)),
        }
    }
    Ok(out)
}

/// Runs until every sender is gone.
pub(super) async fn run(
    connectors: Arc<BTreeMap<String, Arc<dyn Connector>>>,
    engine: Engine,
    mut queue: mpsc::UnboundedReceiver<Work>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = queue.try_recv() {
            batch.push(more);
        }
        if let Err(e) = pass(&connectors, &engine, batch).await {
            tracing::warn!(error = %e, "webhook re-pull failed; the next scheduled pull reads the same changes");
        }
    }
}

/// One pass over queued work.
async fn pass(
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
    engine: &Engine,
    batch: Vec<Work>,
) -> Result<(), crate::engine::EngineError> {
    let store = engine.store();
    let mut changed: BTreeMap<(String, Kind), BTreeSet<String>> = BTreeMap::new();
    let mut merges = Vec::new();
    let mut touched = Vec::new();
    for work in batch {
        for (kind, ids) in work.changed {
            changed.entry((work.connector.clone(), kind)).or_default().extend(ids);
        }
        merges.extend(work.merges);
        touched.extend(work.touched);
    }
    for ((name, kind), ids) in changed {
        let Some(connector) = connectors.get(&name) else { continue };
        let ids: Vec<String> = ids.into_iter().collect();
        match connector.fetch(kind, &ids).await {
            Ok(fetched) => {
                let outcome = store.commit_records(&name, kind, &fetched.records).await?;
                tracing::info!(
                    connector = %name,
                    kind = kind.as_str(),
                    asked = ids.len(),
                    written = outcome.written(),
                    unreadable = fetched.errors.len(),
                    missing = fetched.missing.len(),
                    "webhook re-pull"
                );
            }
            Err(e) => tracing::warn!(connector = %name, kind = kind.as_str(), error = %e, "webhook re-pull failed"),
        }
    }
    let repointed = repoint(store, merges).await?;
    for (merged, survivor) in &repointed.waiting {
        tracing::info!(%merged, %survivor, "merge not re-pointed: the survivor is not in the store");
    }
    touched.extend(repointed.done.into_iter().flat_map(|(a, b)| [a, b]));
    if let Some(resolver) = engine.resolver() {
        if !touched.is_empty() {
            resolver.reresolve(&touched).await?;
        }
    }
    engine.resolve().await?;
    Ok(())
}
