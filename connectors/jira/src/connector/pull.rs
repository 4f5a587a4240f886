//! Pulling issues: a run fixes its query (bounds in the account's zone, the upper one on
//! Jira's clock) at its first page and keeps it in the cursor, so a restarted daemon resumes
//! where it stopped: a full run with the same `nextPageToken`, an incremental run at the same
//! key (see [`super::keyset`]).

use std::sync::PoisonError;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use zveno_connector::{ConnectorError, Cursor, Page, SyncMode};

use super::cursor::{Run, State};
use super::keyset;
use super::{JiraConnector, MAX_RESULTS};
use crate::dto::SearchRequest;
use crate::mapping::time;

/// Page tokens expire after 7 days; a run older than that starts over instead.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::days(7);
/// `reconcileIssues` takes at most 50 ids.
const MAX_RECONCILE: usize = 50;

impl JiraConnector {
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
        let mut upper_ms = None;
        let (jql, reconcile, bounded) = match mode {
            SyncMode::Full => (format!("{scope} ORDER BY created ASC, key ASC"), Vec::new(), None),
            SyncMode::Incremental => {
                let start = state.window_start_ms(self.overlap_ms()).and_then(DateTime::from_timestamp_millis);
                let lower =
                    start.map(|l| format!(" AND updated >= {}", time::jql_lower_bound(l, zone))).unwrap_or_default();
                // The vendor's clock (just read through `/myself`), not the daemon's.
                let vendor_now = self.client.http().vendor_now();
                let upper = time::jql_upper_bound(vendor_now, zone);
                upper_ms = Some((time::floor_minute(vendor_now) + chrono::Duration::minutes(1)).timestamp_millis());
                (
                    format!("{scope}{lower} AND updated <= {upper} ORDER BY updated ASC, key ASC"),
                    self.reconcile_ids(now),
                    Some(format!("{scope} AND updated <= {upper}")),
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
            bounded,
            keyset: None,
            upper_ms,
        })
    }

    fn run_is_resumable(&self, run: &Run, mode: SyncMode) -> bool {
        let age = self.clock.now().timestamp_millis() - run.started_ms;
        run.mode == mode && age < TOKEN_LIFETIME.num_milliseconds()
    }

    /// One page of issues of the current run (starting a run when none is in progress).
    pub(super) async fn pull_tasks(&self, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
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
        // Incremental runs page by keyset, full runs by token (see [`super::keyset`]).
        let keyed = run.bounded.clone().filter(|_| run.mode == SyncMode::Incremental);
        let (jql, next_page_token) = match (&keyed, &run.keyset) {
            (Some(bounded), Some(k)) => (keyset::jql(bounded, k, zone), None),
            (Some(_), None) => (run.jql.clone(), None),
            (None, _) => (run.jql.clone(), run.next_page_token.clone()),
        };
        let response = self
            .client
            .search(&SearchRequest {
                jql,
                max_results: Some(MAX_RESULTS),
                fields: self.mapper.fields(),
                next_page_token,
                reconcile_issues: run.reconcile.clone(),
            })
            .await?;

        let mut page = Page::default();
        let overlap = self.overlap_ms();
        let next = response.next_page_token.filter(|t| !t.is_empty());
        // The last page has no token; `isLast` without a token is the same thing.
        let served_last = next.is_none() || response.is_last == Some(true);
        let last = if keyed.is_some() {
            let hits: Vec<_> = response.issues.iter().map(keyset::hit).collect();
            run.keyset = keyset::advance(run.keyset, &hits, served_last, run.upper_ms.unwrap_or(i64::MAX))
                .map_err(|e| ConnectorError::invalid_data(format!("Jira incremental run: {e}")))?;
            run.keyset.is_none()
        } else {
            run.next_page_token.clone_from(&next);
            served_last
        };
        state.run = Some(run);
        for issue in response.issues {
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
        if last {
            state.finish_run(overlap);
        } else {
            state.prune(overlap);
        }
        page.more = !last;
        page.cursor = Cursor::encode(&state)?;
        Ok(page)
    }
}
