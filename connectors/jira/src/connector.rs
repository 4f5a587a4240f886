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
use crate::cursor::{Run, State};
use crate::dto::SearchRequest;
use crate::mapping::Mapper;
use crate::time;

/// The largest page `search/jql` serves: 5,000 ids, or 100 issues with fields.
pub const MAX_RESULTS: u32 = 5000;
/// Issues per page when fields are requested, as Jira Cloud serves them.
pub const FIELDS_PAGE_SIZE: usize = 100;
/// Page tokens expire after 7 days; a run older than that starts over instead.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::days(7);
/// `reconcileIssues` takes at most 50 ids.
const MAX_RECONCILE: usize = 50;

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

    /// Ids written within the overlap, newest last, at most 50.
    fn reconcile_ids(&self, now: DateTime<Utc>) -> Vec<u64> {
        let horizon = now - chrono::Duration::milliseconds(self.overlap_ms());
        let mut writes = self.recent_writes.lock().unwrap_or_else(PoisonError::into_inner);
        writes.retain(|(_, at)| *at >= horizon);
        let mut ids: Vec<u64> = writes.iter().map(|(id, _)| *id).collect();
        ids.dedup();
        let skip = ids.len().saturating_sub(MAX_RECONCILE);
        ids.split_off(skip)
    }

    /// Fixes the query of a new run.
    async fn start_run(&self, mode: SyncMode, state: &State) -> Result<Run, ConnectorError> {
        let zone = self.read_zone().await?;
        let now = self.clock.now();
        let scope = format!("({})", self.settings.jql);
        let (jql, reconcile) = match mode {
            SyncMode::Full => (format!("{scope} ORDER BY created ASC, key ASC"), Vec::new()),
            SyncMode::Incremental => {
                let start = state.window_start_ms(self.overlap_ms()).and_then(DateTime::from_timestamp_millis);
                let lower =
                    start.map(|l| format!(" AND updated >= {}", time::jql_lower_bound(l, zone))).unwrap_or_default();
                let upper = time::jql_upper_bound(now, zone);
                (
                    format!("{scope}{lower} AND updated <= {upper} ORDER BY updated ASC, key ASC"),
                    self.reconcile_ids(now),
                )
            }
        };
        tracing::debug!(connector = %self.name, mode = mode.as_str(), %jql, "starting a run");
        Ok(Run {
            mode,
            started_ms: now.timestamp_millis(),
            time_zone: zone.map(|z| z.name().to_string()),
            jql,
            reconcile,
            next_page_token: None,
            max_seen_ms: None,
        })
    }

    fn run_is_resumable(&self, run: &Run, mode: SyncMode) -> bool {
        let age = self.clock.now().timestamp_millis() - run.started_ms;
        run.mode == mode && age < TOKEN_LIFETIME.num_milliseconds()
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
            write_batch: crate::write::BULK_CREATE_LIMIT,
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
        let mut state: State = cursor.decode()?;
        if state.scope.as_deref() != Some(self.settings.jql.as_str()) {
            // A new or changed JQL: the old watermark says nothing about the new scope.
            state = State { scope: Some(self.settings.jql.clone()), ..State::default() };
        }
        let mut run = match state.run.take() {
            Some(run) if self.run_is_resumable(&run, mode) => run,
            _ => self.start_run(mode, &state).await?,
        };
        let zone = run.time_zone.as_deref().and_then(|z| z.parse::<Tz>().ok());
        let response = self
            .client
            .search(&SearchRequest {
                jql: run.jql.clone(),
                max_results: Some(MAX_RESULTS),
                fields: self.mapper.fields(),
                next_page_token: run.next_page_token.clone(),
                reconcile_issues: run.reconcile.clone(),
            })
            .await?;

        let mut page = Page::default();
        let overlap = self.overlap_ms();
        let next = response.next_page_token.filter(|t| !t.is_empty());
        run.next_page_token.clone_from(&next);
        state.run = Some(run);
        for issue in &response.issues {
            let record = match self.mapper.map(issue, zone) {
                Ok(record) => record,
                Err(error) => {
                    page.errors.push(error);
                    continue;
                }
            };
            let updated_ms = record.updated_at.map_or(0, |t| t.timestamp_millis());
            if mode == SyncMode::Incremental && state.has_seen(&record.external_id, updated_ms) {
                continue;
            }
            state.remember(&record.external_id, updated_ms);
            page.records.push(record);
        }
        // The last page has no token; `isLast` without a token is the same thing.
        let last = next.is_none() || response.is_last == Some(true);
        if last {
            state.finish_run(overlap);
        } else {
            state.prune(overlap);
        }
        page.more = !last;
        page.cursor = Cursor::encode(&state)?;
        Ok(page)
    }

    /// Issues by id or key through the bulk fetch (see [`crate::fetch`]). Jira has no client
    /// or contact records (clients are hints inside issues), so only tasks are fetched.
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        only_tasks(kind, "read")?;
        self.fetch_issues(ids).await
    }

    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        only_tasks(kind, "written")?;
        crate::write::push(self, ops).await
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
            watermark_ms: Some(since.timestamp_millis()),
            ..State::default()
        };
        Cursor::encode(&state).ok()
    }

    fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }
}
