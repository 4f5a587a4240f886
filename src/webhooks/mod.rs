//! Vendor webhooks: `POST /webhooks/{connector}` turned into store changes within seconds,
//! with polling as the backstop.
//!
//! A delivery goes through four steps:
//!
//! 1. **verify and parse** — vendor-specific, in the connector's `webhook` hook (HubSpot v3
//!    signatures, Jira's `X-Hub-Signature`, Bitrix24's application token, Pipedrive's HTTP
//!    Basic credentials); it sees the raw body and the URL the vendor called, rebuilt from
//!    `[server] public_url`. A refused delivery changes and fetches nothing;
//! 2. **drop replays** — each event id is claimed once in the store (`webhook_events`,
//!    kept for [`REPLAY_WINDOW`]); hints of an event seen before are dropped;
//! 3. **act at once on what cannot be read back** — a delete becomes a tombstone; a merge
//!    re-points the merged record at its survivor (a vendor-made link, so tasks and
//!    contacts follow), never a tombstone of the client;
//! 4. **queue the rest** for [`repull`]: changed records are read again by id (the hint is
//!    never trusted as data), merges whose survivor zveno has not seen yet are re-pointed
//!    once it is read, and identities are re-resolved.
//!
//! The answer goes back after step 3, so vendors that drop slow deliveries (Bitrix24) are
//! answered at once. Events lost in a crash between steps 2 and 4 — and deliveries a
//! vendor never makes — are caught by the next scheduled pull.

mod repull;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use zveno_connector::{Change, ChangeHint, Connector, ErrorKind, Kind, SourceRecord, WebhookRequest};

use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::store::{RecordKey, StoreError};

/// How long an event id is remembered: longer than any vendor retries a delivery
/// (HubSpot: about ten times over 24 hours).
pub const REPLAY_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);

/// Why a delivery was refused; each maps to one HTTP status in the server.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No connector of that name is configured.
    #[error("no connector named {0:?}")]
    UnknownConnector(String),
    /// The connector has no webhook secret, or its vendor has no webhooks.
    #[error("{0}")]
    NotEnabled(String),
    /// Signature, token or credentials wrong, missing or stale.
    #[error("{0}")]
    Unauthorized(String),
    /// Verified, but unreadable.
    #[error("{0}")]
    Invalid(String),
    /// The store failed; the vendor may retry.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The connector failed otherwise.
    #[error("{0}")]
    Failed(String),
}

impl WebhookError {
    /// The `outcome` label of `zveno_webhooks_total`.
    fn outcome(&self) -> &'static str {
        match self {
            Self::UnknownConnector(_) | Self::NotEnabled(_) => "not_enabled",
            Self::Unauthorized(_) => "unauthorized",
            Self::Invalid(_) => "invalid",
            Self::Store(_) | Self::Failed(_) => "failed",
        }
    }
}

/// What a delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Records the delivery named (after dropping kinds the connector does not sync).
    pub hints: usize,
    /// Of those, dropped because their event was received before.
    pub replayed: usize,
    /// Tombstoned now.
    pub deleted: usize,
    /// Re-pointed at their survivor now.
    pub merged: usize,
    /// Queued to be read again by id.
    pub queued: usize,
    /// Stored records whose personal data a privacy deletion erased now.
    pub erased: u64,
}

/// Receives webhook deliveries for the configured connectors. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    connectors: Arc<BTreeMap<String, Arc<dyn Connector>>>,
    engine: Engine,
    metrics: Arc<Metrics>,
    queue: mpsc::UnboundedSender<repull::Work>,
}

impl Webhooks {
    /// Receives for `connectors`, writing through `engine` (its store and resolver), and
    /// starts the re-pull worker on the current runtime; it ends when every clone of the
    /// returned value is dropped.
    pub fn start(connectors: Vec<Arc<dyn Connector>>, engine: Engine, metrics: Arc<Metrics>) -> Self {
        let (queue, work) = mpsc::unbounded_channel();
        let connectors: BTreeMap<String, Arc<dyn Connector>> =
            connectors.into_iter().map(|c| (c.name().to_string(), c)).collect();
        let connectors = Arc::new(connectors);
        tokio::spawn(repull::run(connectors.clone(), engine.clone(), work));
        Self { connectors, engine, metrics, queue }
    }

    /// Verifies, de-duplicates and applies one delivery to connector `name`, counting its
    /// outcome in `zveno_webhooks_total` (for configured connectors only, so a scan of
    /// random names cannot grow the label set).
    pub async fn receive(&self, name: &str, request: &WebhookRequest) -> Result<Receipt, WebhookError> {
        let connector = self.connectors.get(name).ok_or_else(|| WebhookError::UnknownConnector(name.to_string()))?;
        let result = self.apply(connector, request).await;
        let outcome = match &result {
            Ok(r) if r.hints > 0 && r.replayed == r.hints => "replayed",
            Ok(_) => "accepted",
            Err(e) => e.outcome(),
        };
        self.metrics.webhook(name, outcome);
        match &result {
            Ok(r) => tracing::info!(connector = name, outcome, ?r, "webhook received"),
            Err(e) => tracing::warn!(connector = name, outcome, error = %e, "webhook refused"),
        }
        result
    }

    async fn apply(&self, connector: &Arc<dyn Connector>, request: &WebhookRequest) -> Result<Receipt, WebhookError> {
        let name = connector.name();
        let hints = connector.webhook(request).await.map_err(|e| match e.kind() {
            ErrorKind::Auth => WebhookError::Unauthorized(e.to_string()),
            ErrorKind::Config | ErrorKind::Unsupported => WebhookError::NotEnabled(e.to_string()),
            ErrorKind::InvalidData => WebhookError::Invalid(e.to_string()),
            _ => WebhookError::Failed(e.to_string()),
        })?;
        let mut receipt = Receipt { hints: hints.len(), ..Receipt::default() };
        let hints = self.fresh(name, hints).await?;
        receipt.replayed = receipt.hints - hints.len();
        let store = self.engine.store();

        let mut tombstones: BTreeMap<Kind, Vec<SourceRecord>> = BTreeMap::new();
        let mut erased: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
        let mut merges = Vec::new();
        let mut changed: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
        for hint in hints {
            match hint.change {
                Change::Erased => {
                    erased.entry(hint.kind).or_default().push(hint.external_id.clone());
                    tombstones.entry(hint.kind).or_default().push(SourceRecord::tombstone(
                        name,
                        hint.kind,
                        hint.external_id,
                        hint.at,
                    ));
                }
                Change::Deleted => tombstones.entry(hint.kind).or_default().push(SourceRecord::tombstone(
                    name,
                    hint.kind,
                    hint.external_id,
                    hint.at,
                )),
                Change::MergedInto { survivor } => {
                    let key = |id| RecordKey { connector: name.to_string(), kind: hint.kind, external_id: id };
                    changed.entry(hint.kind).or_default().insert(survivor.clone());
                    merges.push((key(hint.external_id), key(survivor)));
                }
                Change::Changed => {
                    changed.entry(hint.kind).or_default().insert(hint.external_id);
                }
            }
        }
        for (kind, records) in &tombstones {
            receipt.deleted += records.len();
            store.commit_records(name, *kind, records).await?;
        }
        // After the tombstones, whatever their verdict (an erasure wins even over a newer
        // stored version): the records keep no personal data from now on.
        for (kind, ids) in &erased {
            receipt.erased += store.erase_records(name, *kind, ids).await?;
        }
        let repointed = repull::repoint(store, merges).await?;
        receipt.merged = repointed.done.len();
        receipt.queued = changed.values().map(BTreeSet::len).sum();
        if receipt.deleted + receipt.merged + receipt.queued > 0 || !repointed.waiting.is_empty() {
            let work = repull::Work {
                connector: name.to_string(),
                changed,
                merges: repointed.waiting,
                touched: repointed.done.into_iter().flat_map(|(a, b)| [a, b]).collect(),
            };
            // A send fails only when the worker has stopped (the server is shutting down);
            // the next scheduled pull reads the same changes.
            let _ = self.queue.send(work);
        }
        Ok(receipt)
    }

    /// Drops hints of events received before; hints without an event id always pass.
    async fn fresh(&self, connector: &str, hints: Vec<ChangeHint>) -> Result<Vec<ChangeHint>, StoreError> {
        let ids: BTreeSet<String> =
            hints.iter().filter_map(|h| h.event_id.clone()).filter(|id| !id.is_empty()).collect();
        if ids.is_empty() {
            return Ok(hints);
        }
        let ids: Vec<String> = ids.into_iter().collect();
        let claimed: BTreeSet<String> =
            self.engine.store().claim_webhook_events(connector, &ids, REPLAY_WINDOW).await?.into_iter().collect();
        Ok(hints
            .into_iter()
            .filter(|h| h.event_id.as_ref().is_none_or(|id| id.is_empty() || claimed.contains(id)))
            .collect())
    }
}
