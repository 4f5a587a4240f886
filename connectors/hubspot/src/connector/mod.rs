//! [`HubSpotConnector`]: the [`Connector`] implementation.
//!
//! - **Full pulls** page through the list endpoint (`limit=100`, `after`, explicit
//!   `properties`, inline `associations`), then through the `archived=true` list, whose
//!   records become tombstones. A completed full scan is also the id census the store diffs.
//! - **Incremental pulls** search on the modification property in windows
//!   ([`cursor`] explains how they get past the 10,000-result cap), read the associations
//!   search does not return through the v4 batch read, then, when one is due, sweep the
//!   archived list for tombstones (search never returns archived records); sweeps run on
//!   their own interval, bounded to a share of the daily quota ([`sweep`]).
//! - **Hard (privacy) deletions** leave no archived record: an id census of the live list
//!   finds them on the full-scan schedule ([`census`]).
//! - **Fetches** read records by id through `batch/read` (100 a call) plus the v4
//!   association read; see [`fetch`].
//! - **Pushes** go through the batch endpoints, 100 inputs a call; see [`push`]. Every
//!   create carries an idempotency handle zveno can look up after a crash; see [`handles`].
//!
//! Every `pull` makes one list or search request (plus, after a search, the association
//! reads for that page, and the owner directory when it is stale), so a page and its cursor
//! always commit together.

mod census;
pub mod cursor;
mod fetch;
mod handles;
mod owners;
mod pull;
mod push;
pub mod sweep;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpStats;
use zveno_connector::{
    Capabilities, CensusPage, CensusPlan, ChangeHint, Clock, Connector, ConnectorError, Cursor, DeleteDetection,
    Fetched, Kind, Page, Secret, SyncMode, WebhookRequest, WriteOp, WriteOutcome,
};

use crate::client::{HubSpotClient, BATCH_LIMIT, LIST_LIMIT, SEARCH_LIMIT};
use crate::dto::object::Object;
use crate::mapping::Mapper;

/// A configured HubSpot portal.
#[derive(Debug)]
pub struct HubSpotConnector {
    name: String,
    kinds: Vec<Kind>,
    client: HubSpotClient,
    mapper: Mapper,
    overlap: Duration,
    clock: Arc<dyn Clock>,
    owners: zveno_connector::Directory<crate::mapping::Owners>,
    association_types: Mutex<BTreeMap<(Object, Object), u32>>,
    webhook_secret: Option<Secret>,
    sweep: sweep::SweepPolicy,
    /// The portal this instance reads (see `Connector::source`).
    source: Option<String>,
    /// The custom property every create carries its idempotency handle in ([`handles`]).
    handle_property: String,
}

impl HubSpotConnector {
    /// A connector named `name` reading `kinds` through `client`.
    pub fn new(
        name: &str,
        kinds: Vec<Kind>,
        client: HubSpotClient,
        mapper: Mapper,
        overlap: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            name: name.to_string(),
            kinds,
            client,
            mapper,
            overlap,
            clock,
            owners: owners::cache(),
            association_types: Mutex::new(BTreeMap::new()),
            webhook_secret: None,
            sweep: sweep::SweepPolicy::default(),
            source: None,
            handle_property: handles::DEFAULT_PROPERTY.to_string(),
        }
    }

    /// The same connector, stamping creates with their handle in property `name`.
    pub fn with_handle_property(mut self, name: String) -> Self {
        self.handle_property = name;
        self
    }

    /// The same connector, sweeping the archived lists by `policy`.
    pub fn with_sweep(mut self, policy: sweep::SweepPolicy) -> Self {
        self.sweep = policy;
        self
    }

    /// The same connector, naming the portal it reads (see `Connector::source`).
    pub fn with_source(mut self, source: String) -> Self {
        self.source = Some(source);
        self
    }

    /// The same connector, verifying webhook deliveries with the app's client secret.
    pub fn with_webhook_secret(mut self, secret: Option<Secret>) -> Self {
        self.webhook_secret = secret;
        self
    }

    fn object(&self, kind: Kind) -> Result<Object, ConnectorError> {
        if self.kinds.contains(&kind) {
            Ok(Object::of(kind))
        } else {
            Err(ConnectorError::unsupported(format!(
                "connector {} is not configured to sync {kind} records",
                self.name
            )))
        }
    }

    /// The properties a pull of `object` asks for by name.
    fn properties(&self, object: Object) -> Vec<String> {
        let mut props: Vec<String> = object.properties().iter().map(|p| p.to_string()).collect();
        props.push("hs_object_id".into());
        if object == Object::Companies {
            props.extend(self.mapper.tax_id_properties().iter().cloned());
        }
        props
    }

    /// The default association type id `from` → `to`, read once per instance.
    async fn association_type(&self, from: Object, to: Object) -> Result<u32, ConnectorError> {
        let cached = self.association_types.lock().unwrap_or_else(PoisonError::into_inner).get(&(from, to)).copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = self.client.default_association_type(from, to).await?;
        self.association_types.lock().unwrap_or_else(PoisonError::into_inner).insert((from, to), id);
        Ok(id)
    }
}

#[async_trait]
impl Connector for HubSpotConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> &str {
        crate::VENDOR
    }

    fn source(&self) -> Option<String> {
        self.source.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: self.kinds.clone(),
            write: self.kinds.iter().copied().filter(|k| matches!(k, Kind::Client | Kind::Task)).collect(),
            incremental: true,
            deletes: DeleteDetection::Listed,
            page_size: SEARCH_LIMIT as usize,
            floor_page_size: LIST_LIMIT as usize,
            write_batch: BATCH_LIMIT,
            webhooks: true,
        }
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        for kind in &self.kinds {
            self.client.probe(Object::of(*kind)).await?;
        }
        self.client.owners(false, None).await.map(|_| ())
    }

    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        let object = self.object(kind)?;
        self.pull_page(object, mode, cursor).await
    }

    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let object = self.object(kind)?;
        self.fetch_ids(object, ids).await
    }

    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        match self.object(kind)? {
            Object::Companies => self.find_company(handle).await,
            Object::Tasks => self.find_task(handle, sent).await,
            Object::Contacts => Err(ConnectorError::unsupported("zveno does not create HubSpot contacts")),
        }
    }

    async fn check_creates(&self, kind: Kind) -> Result<(), ConnectorError> {
        let object = self.object(kind)?;
        self.check_handle_property(object).await
    }

    async fn webhook(&self, request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
        let secret = zveno_connector::webhook::secret(self.webhook_secret.as_ref(), &self.name)?;
        crate::webhook::verify_signature(request, secret, self.clock.now())?;
        crate::webhook::parse(&request.body, &self.kinds)
    }

    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let object = self.object(kind)?;
        if object == Object::Contacts {
            return Err(ConnectorError::unsupported("zveno does not write HubSpot contacts"));
        }
        self.push_ops(object, ops).await
    }

    /// Daily, for hard deletions the archived list never shows (see [`census`]).
    fn census_plan(&self, kind: Kind) -> Option<CensusPlan> {
        self.object(kind).ok().map(|_| CensusPlan { every: census::CENSUS_EVERY })
    }

    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let object = self.object(kind)?;
        self.census_page(object, cursor).await
    }

    /// A full scan that began at `since` saw everything modified before it, so the
    /// incremental stream starts there (its first window still overlaps by
    /// `overlap_secs`, covering the search index lag).
    fn incremental_cursor(&self, kind: Kind, since: chrono::DateTime<chrono::Utc>) -> Option<Cursor> {
        self.object(kind).ok()?;
        let state = cursor::CursorState {
            watermark_ms: Some(self.client.http().to_vendor_time(since).timestamp_millis()),
            ..cursor::CursorState::default()
        };
        Cursor::encode(&state).ok()
    }

    fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }
}
