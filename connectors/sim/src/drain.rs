//! The drain every test uses: pull every page of a kind until the connector says no more
//! follow, persisting the cursor as JSON text between pages exactly as the engine's store
//! does (a cursor that does not survive the round trip fails here, not in production).
//!
//! [`drain`] plays the scheduler too: it pulls a page again after a retryable error, waiting
//! on the test's clock, and panics after a page limit (a pull that never ends is the bug it
//! guards against). [`must_drain`] is the plain form vendor tests want: no retries, a
//! generous limit, and a panic naming the kind, mode and page on any error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use zveno_connector::{
    Clock, Connector, ConnectorError, Cursor, ErrorKind, Kind, ManualClock, Page, RecordError, SourceRecord, SyncMode,
};

/// What one run (a pull until `more` is false) returned.
#[derive(Debug, Clone, Default)]
pub struct Drained {
    /// Every record of every page, in order (tombstones included).
    pub records: Vec<SourceRecord>,
    /// Every record error of every page.
    pub errors: Vec<RecordError>,
    /// `(records, errors)` per page.
    pub pages: Vec<(usize, usize)>,
    /// The last page's cursor: where the next run starts.
    pub cursor: Cursor,
    /// Pages that failed with a retryable error and were pulled again.
    pub page_retries: u32,
}

/// Pulls one page, pulling it again (same cursor) up to `retries` times when the error is
/// retryable, after waiting on `clock` as the scheduler would.
pub async fn pull_page(
    connector: &dyn Connector,
    clock: &ManualClock,
    kind: Kind,
    mode: SyncMode,
    cursor: &Cursor,
    retries: u32,
) -> Result<(Page, u32), ConnectorError> {
    let mut failed = 0;
    loop {
        match connector.pull(kind, mode, cursor).await {
            Ok(page) => return Ok((page, failed)),
            Err(e) if e.kind().is_retryable() && failed < retries => {
                failed += 1;
                let wait = match e.kind() {
                    ErrorKind::RateLimited { retry_after: Some(wait) } => wait,
                    _ => Duration::from_secs(1),
                };
                clock.sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Pulls from `cursor` until a page says no more follow, storing the cursor as JSON text
/// between pages exactly as the engine's store would. Panics after `max_pages` pages: a
/// pull that does not end is the bug this guards against.
pub async fn drain(
    connector: &dyn Connector,
    clock: &ManualClock,
    kind: Kind,
    mode: SyncMode,
    cursor: Cursor,
    max_pages: usize,
    retries: u32,
) -> Result<Drained, ConnectorError> {
    let mut out = Drained { cursor, ..Drained::default() };
    loop {
        assert!(
            out.pages.len() < max_pages,
            "{kind} {} pull did not end after {max_pages} pages ({} records so far); last cursor {}",
            mode.as_str(),
            out.records.len(),
            out.cursor.0
        );
        let (page, failed) = pull_page(connector, clock, kind, mode, &out.cursor, retries).await?;
        out.page_retries += failed;
        if !out.absorb(page) {
            return Ok(out);
        }
    }
}

/// The cursor after a round trip through JSON text, as the store keeps it.
pub fn persisted(cursor: &Cursor) -> Cursor {
    let text = match serde_json::to_string(cursor) {
        Ok(text) => text,
        Err(e) => panic!("a cursor must serialise to JSON text: {e}"),
    };
    match serde_json::from_str(&text) {
        Ok(cursor) => cursor,
        Err(e) => panic!("a cursor must read back from its JSON text {text}: {e}"),
    }
}

impl Drained {
    /// Adds a page and moves to its cursor (through JSON text); whether more pages follow.
    fn absorb(&mut self, page: Page) -> bool {
        self.pages.push((page.records.len(), page.errors.len()));
        self.records.extend(page.records);
        self.errors.extend(page.errors);
        self.cursor = persisted(&page.cursor);
        page.more
    }

    /// Live (non-tombstone) records by external id.
    pub fn live(&self) -> BTreeMap<String, &SourceRecord> {
        self.records.iter().filter(|r| !r.deleted).map(|r| (r.external_id.clone(), r)).collect()
    }

    /// External ids of the tombstones, in order.
    pub fn tombstones(&self) -> Vec<String> {
        self.records.iter().filter(|r| r.deleted).map(|r| r.external_id.clone()).collect()
    }

    /// Every external id seen (tombstones included).
    pub fn external_ids(&self) -> BTreeSet<String> {
        self.records.iter().map(|r| r.external_id.clone()).collect()
    }
}

/// The most pages [`must_drain`] pulls before it calls the pull endless.
const MUST_DRAIN_PAGES: usize = 100_000;

/// Pulls `kind` from `cursor` until no page follows, with no page retries, on a clock that
/// is never waited on; panics on an error (naming kind, mode and page) or an endless pull.
pub async fn must_drain(connector: &dyn Connector, kind: Kind, mode: SyncMode, cursor: Cursor) -> Drained {
    match try_drain(connector, kind, mode, cursor).await {
        Ok(run) => run,
        Err(e) => panic!("{kind} {} pull failed: {e}", mode.as_str()),
    }
}

/// [`must_drain`] that returns the error instead of panicking, for tests of failures.
pub async fn try_drain(
    connector: &dyn Connector,
    kind: Kind,
    mode: SyncMode,
    cursor: Cursor,
) -> Result<Drained, ConnectorError> {
    let mut out = Drained { cursor, ..Drained::default() };
    loop {
        assert!(out.pages.len() < MUST_DRAIN_PAGES, "{kind} {} pull did not end", mode.as_str());
        let page = connector.pull(kind, mode, &out.cursor).await?;
        if !out.absorb(page) {
            return Ok(out);
        }
    }
}
