//! [`PipedriveConnector`]: the [`Connector`] implementation.
//!
//! - **Pulls** read one v2 list page per call ([`cursor`] explains full scans by id and
//!   incremental windows on `update_time`), 500 records a page: a page costs the same
//!   tokens whatever its size. The user directory is read once per half hour.
//! - **Deletes**: Pipedrive lists no deleted organizations, persons or activities, so a
//!   completed full scan is the census the store diffs (`DeleteDetection::Census`), and
//!   between full scans an id census runs on its own interval ([`census`]); webhooks
//!   report deletes and merges at once ([`crate::webhook`]).
//! - **Fetches** read records by id through the same lists filtered by `ids=`, 100 a
//!   call; see [`fetch`].
//! - **Pushes** create (`POST`) and update (`PATCH`) organizations and activities one
//!   request per op (v2 has no batch writes), each with its own outcome; see [`push`].
//!   Organization creates carry an idempotency handle zveno can look up; see [`handles`].
//! - The **token ledger** is asked before every request; when zveno's share of the daily
//!   budget is spent the pull stops at a page boundary with a `RateLimited` status.

mod census;
pub mod cursor;
mod fetch;
mod handles;
mod pull;
mod push;
mod users;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use zveno_connector::http::HttpStats;
use zveno_connector::{
    Capabilities, CensusPage, CensusPlan, ChangeHint, Clock, Connector, ConnectorError, Cursor, DeleteDetection,
    Fetched, Kind, Page, Secret, SyncMode, WebhookRequest, WriteOp, WriteOutcome,
};

use crate::client::{ListQuery, PipedriveClient, LIST_LIMIT};
use crate::dto::entity::Entity;
use crate::mapping::Mapper;

/// A configured Pipedrive company.
#[derive(Debug)]
pub struct PipedriveConnector {
    name: String,
    kinds: Vec<Kind>,
    client: PipedriveClient,
    mapper: Mapper,
    overlap: Duration,
    clock: Arc<dyn Clock>,
    users: zveno_connector::Directory<crate::mapping::Users>,
    /// The webhook's HTTP Basic `user:password` (`None`: deliveries are refused).
    webhook_credentials: Option<Secret>,
    /// The company this instance reads (see `Connector::source`).
    source: Option<String>,
    /// The organization custom field creates carry their idempotency handle in ([`handles`]).
    handle_field: Option<String>,
}

impl PipedriveConnector {
    /// A connector named `name` reading `kinds` through `client`.
    pub fn new(
        name: &str,
        kinds: Vec<Kind>,
        client: PipedriveClient,
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
            users: users::cache(),
            webhook_credentials: None,
            source: None,
            handle_field: None,
        }
    }

    /// The same connector, stamping organization creates with their handle in custom
    /// field `key` (`None`: they carry none).
    pub fn with_handle_field(mut self, key: Option<String>) -> Self {
        self.handle_field = key;
        self
    }

    /// The same connector, naming the company it reads (see `Connector::source`).
    pub fn with_source(mut self, source: String) -> Self {
        self.source = Some(source);
        self
    }

    /// The same connector, accepting webhook deliveries with these `user:password` HTTP
    /// Basic credentials (those registered with the webhook).
    pub fn with_webhook_secret(mut self, credentials: Option<Secret>) -> Self {
        self.webhook_credentials = credentials;
        self
    }

    fn entity(&self, kind: Kind) -> Result<Entity, ConnectorError> {
        if self.kinds.contains(&kind) {
            Ok(Entity::of(kind))
        } else {
            Err(ConnectorError::unsupported(format!(
                "connector {} is not configured to sync {kind} records",
                self.name
            )))
        }
    }

    /// Tokens zveno spent today by its own ledger (no Pipedrive header reports it).
    pub fn tokens_spent(&self) -> u64 {
        self.client.ledger().spent(self.clock.now())
    }
}

#[async_trait]
impl Connector for PipedriveConnector {
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
            deletes: DeleteDetection::Census,
            page_size: LIST_LIMIT as usize,
            floor_page_size: LIST_LIMIT as usize,
            write_batch: 1,
            webhooks: true,
        }
    }

    /// Reads the user directory (which also proves the token) and one record of each kind.
    async fn check(&self) -> Result<(), ConnectorError> {
        self.client.users().await?;
        for kind in &self.kinds {
            self.client.list(Entity::of(*kind), &ListQuery { limit: 1, ..ListQuery::default() }).await?;
        }
        Ok(())
    }

    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        let entity = self.entity(kind)?;
        self.pull_page(entity, mode, cursor).await
    }

    /// `GET /api/v2/{entity}?ids=…`, 100 ids a call.
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let entity = self.entity(kind)?;
        self.fetch_ids(entity, ids).await
    }

    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        let entity = self.entity(kind)?;
        self.find_by_handle(entity, handle, sent).await
    }

    async fn check_creates(&self, kind: Kind) -> Result<(), ConnectorError> {
        let entity = self.entity(kind)?;
        self.check_handle_field(entity).await
    }

    async fn webhook(&self, request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
        let credentials = zveno_connector::webhook::secret(self.webhook_credentials.as_ref(), &self.name)?;
        crate::webhook::verify_credentials(request, credentials)?;
        crate::webhook::parse(&request.body, &self.kinds)
    }

    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let entity = self.entity(kind)?;
        if entity == Entity::Persons {
            return Err(ConnectorError::unsupported("zveno does not write Pipedrive persons"));
        }
        self.push_ops(entity, ops).await
    }

    /// On its own long interval: a census costs a full listing's tokens (see [`census`]).
    fn census_plan(&self, kind: Kind) -> Option<CensusPlan> {
        self.entity(kind).ok().map(|_| CensusPlan { every: census::DEFAULT_CENSUS_EVERY })
    }

    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let entity = self.entity(kind)?;
        self.census_page(entity, cursor).await
    }

    /// A full scan that began at `since` saw everything updated before it.
    fn incremental_cursor(&self, kind: Kind, since: chrono::DateTime<chrono::Utc>) -> Option<Cursor> {
        self.entity(kind).ok()?;
        let state = cursor::CursorState {
            watermark: Some(cursor::to_second(self.client.http().to_vendor_time(since))),
            run: None,
        };
        Cursor::encode(&state).ok()
    }

    fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }
}
