//! [`JiraConnector`]: issues as tasks, read page by page through `/rest/api/3/search/jql`.
//!
//! **Incremental runs** read `(<operator jql>) AND updated >= L AND updated <= U ORDER BY
//! updated ASC, key ASC`, where both bounds are written in the account's time zone (read
//! from `/myself` at the start of every run) and floored to the minute: `L` is the
//! watermark minus the overlap, `U` the minute after the run's start. The watermark is the highest
//! `fields.updated` actually seen, never the wall clock; re-read versions are dropped by
//! `(id, updated)`. Issues updated after `U` (or indexed late, within the overlap) are
//! picked up by the next run.
//!
//! **Full runs** list every issue of the JQL ordered by `created ASC, key ASC` (an order
//! that edits do not disturb) with all fields. A full run that completes is the census the
//! engine diffs against the store to find deleted issues. An id-only census
//! (`fields=id`, 5,000 per page) costs 50× fewer requests: the engine runs one after
//! incremental runs (see `census`), so a deleted issue is gone within one cycle; with
//! fields, Jira returns at most 100 issues per page.
//!
//! Both modes ask for `maxResults = 5000`, the endpoint's ceiling, and take what the site
//! returns: "maxResults is a ceiling, not a promise".

mod census;
pub mod cursor;
pub mod fetch;
pub mod keyset;
mod pull;
pub mod push;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use zveno_connector::http::HttpStats;
use zveno_connector::{
    Capabilities, CensusPage, CensusPlan, ChangeHint, Clock, Connector, ConnectorError, Cursor, DeleteDetection,
    Fetched, Kind, Page, Secret, SyncMode, WebhookRequest, WriteOp, WriteOutcome,
};

use crate::client::JiraClient;
use crate::config::Settings;
use crate::mapping::Mapper;
use cursor::State;

/// The largest page `search/jql` serves: 5,000 ids, or 100 issues with fields.
pub const MAX_RESULTS: u32 = 5000;
/// Issues per page when fields are requested, as Jira Cloud serves them.
pub const FIELDS_PAGE_SIZE: usize = 100;

/// A configured Jira site.
#[derive(Debug)]
pub struct JiraConnector {
    pub(crate) name: String,
    pub(crate) settings: Settings,
    pub(crate) client: JiraClient,
    pub(crate) mapper: Mapper,
    pub(crate) clock: Arc<dyn Clock>,
    /// The account's zone as last read from `/myself` (`None` inside: unknown zone).
    pub(crate) zone: Mutex<Option<Option<Tz>>>,
    /// Ids of issues this instance wrote recently, with when, for `reconcileIssues`.
    pub(crate) recent_writes: Mutex<Vec<(u64, DateTime<Utc>)>>,
    /// The admin webhook's secret (`None`: deliveries are refused).
    webhook_secret: Option<Secret>,
}

impl JiraConnector {
    /// A connector for validated `settings`.
    pub fn new(name: &str, settings: Settings, client: JiraClient, clock: Arc<dyn Clock>) -> Self {
        Self {
            name: name.to_string(),
            mapper: Mapper::new(name, &settings),
            settings,
            client,
            clock,
            zone: Mutex::new(None),
            recent_writes: Mutex::new(Vec::new()),
            webhook_secret: None,
        }
    }

    /// The same connector, verifying webhook deliveries with the admin webhook's secret.
    pub fn with_webhook_secret(mut self, secret: Option<Secret>) -> Self {
        self.webhook_secret = secret;
        self
    }

    fn overlap_ms(&self) -> i64 {
        i64::try_from(self.settings.overlap_secs).unwrap_or(i64::MAX / 2_000).saturating_mul(1000)
    }

    /// Reads the account's time zone from `/myself` (and remembers it for writes). An
    /// absent or unknown zone is not fatal: bounds are then written as epoch milliseconds.
    pub(crate) async fn read_zone(&self) -> Result<Option<Tz>, ConnectorError> {
        let me = self.client.myself().await?;
        let zone = match me.time_zone.as_deref().map(str::parse::<Tz>) {
            Some(Ok(tz)) => Some(tz),
            other => {
                tracing::warn!(
                    connector = %self.name,
                    time_zone = ?me.time_zone,
                    parsed = other.is_some(),
                    "account time zone unknown; JQL bounds use epoch milliseconds and due dates UTC"
                );
                None
            }
        };
        *self.zone.lock().unwrap_or_else(PoisonError::into_inner) = Some(zone);
        Ok(zone)
    }

    /// The account's zone, read once if no run has read it yet.
    pub(crate) async fn zone(&self) -> Result<Option<Tz>, ConnectorError> {
        let known = *self.zone.lock().unwrap_or_else(PoisonError::into_inner);
        match known {
            Some(zone) => Ok(zone),
            None => self.read_zone().await,
        }
    }

    pub(crate) fn remember_writes(&self, ids: impl IntoIterator<Item = u64>) {
        let now = self.clock.now();
        let mut writes = self.recent_writes.lock().unwrap_or_else(PoisonError::into_inner);
        writes.extend(ids.into_iter().map(|id| (id, now)));
    }
}

/// Jira has no client or contact records (clients are hints inside issues).
fn only_tasks(kind: Kind, verb: &str) -> Result<(), ConnectorError> {
    if kind == Kind::Task {
        Ok(())
    } else {
        Err(ConnectorError::unsupported(format!("Jira has no {kind} records; only tasks (issues) are {verb}")))
    }
}

#[async_trait]
impl Connector for JiraConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> &str {
        "jira"
    }

    /// The Jira site (its host).
    fn source(&self) -> Option<String> {
        Some(zveno_connector::host_of(&self.settings.api_base))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: vec![Kind::Task],
            write: vec![Kind::Task],
            incremental: true,
            deletes: DeleteDetection::Census,
            page_size: FIELDS_PAGE_SIZE,
            floor_page_size: FIELDS_PAGE_SIZE,
            write_batch: crate::connector::push::BULK_CREATE_LIMIT,
            webhooks: true,
        }
    }

    /// Reads `/myself`: proves the credentials and reachability, writes nothing.
    async fn check(&self) -> Result<(), ConnectorError> {
        self.read_zone().await.map(|_| ())
    }

    async fn webhook(&self, request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
        let secret = zveno_connector::webhook::secret(self.webhook_secret.as_ref(), &self.name)?;
        crate::webhook::verify_signature(request, secret)?;
        crate::webhook::parse(request)
    }

    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        only_tasks(kind, "read")?;
        self.pull_tasks(mode, cursor).await
    }

    /// Issues by id or key through the bulk fetch (see [`fetch`]). Jira has no client
    /// or contact records (clients are hints inside issues), so only tasks are fetched.
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        only_tasks(kind, "read")?;
        self.fetch_issues(ids).await
    }

    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        only_tasks(kind, "written")?;
        crate::connector::push::push(self, ops).await
    }

    /// Every incremental cycle: the id census costs ceil(issues / 5,000) requests.
    fn census_plan(&self, kind: Kind) -> Option<CensusPlan> {
        (kind == Kind::Task).then_some(CensusPlan { every: std::time::Duration::ZERO })
    }

    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        self.census_page(kind, cursor).await
    }

    /// A full scan that began at `since` read every issue updated before it, so the
    /// incremental stream of this JQL starts there (its first window still steps back by
    /// `overlap_secs`, covering minute precision and search lag).
    fn incremental_cursor(&self, kind: Kind, since: chrono::DateTime<chrono::Utc>) -> Option<Cursor> {
        if kind != Kind::Task {
            return None;
        }
        let state = State {
            scope: Some(self.settings.jql.clone()),
            watermark_ms: Some(self.client.http().to_vendor_time(since).timestamp_millis()),
            ..State::default()
        };
        Cursor::encode(&state).ok()
    }

    /// JQL `labels = "zveno-<handle>"` (the label every create carries). The search index
    /// lags behind writes: a create sent less than `overlap_secs` ago that the search does
    /// not show yet is not reported absent but unknown (a transient error), so it waits.
    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        if kind != Kind::Task {
            return Err(ConnectorError::unsupported(format!("Jira holds no {kind} records")));
        }
        let request = crate::dto::SearchRequest {
            jql: format!("labels = \"{}\"", push::handle_label(handle)),
            max_results: Some(2),
            fields: vec!["id".into()],
            next_page_token: None,
            reconcile_issues: Vec::new(),
        };
        let found = self.client.search(&request).await?;
        let ids: Vec<String> = found
            .issues
            .iter()
            .filter_map(|i| i.get("id").and_then(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string()))))
            .collect();
        if let Some(id) = ids.into_iter().min_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX)) {
            return Ok(Some(id));
        }
        let lag = chrono::Duration::seconds(i64::try_from(self.settings.overlap_secs).unwrap_or(i64::MAX));
        if self.clock.now() - sent < lag {
            return Err(ConnectorError::transient(format!(
                "no issue labelled {} yet; the search index may lag behind the create",
                push::handle_label(handle)
            )));
        }
        Ok(None)
    }

    fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }
}
