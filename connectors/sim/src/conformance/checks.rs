//! The checks. Each starts its own simulator on its own [`ManualClock`] (see
//! [`suite_clock`]), so they are independent and can run in parallel as separate tests.
//!
//! The suite plays the engine: it pulls page by page, persists the cursor as JSON text
//! between pages, and — like the scheduler — retries a *page* whose error kind is
//! retryable ([`drain`]). Retrying *requests* (5xx, timeouts, `Retry-After`) is the shared
//! HTTP client's job, and the checks look at the simulator's request log to see that it
//! happened. Failures panic with what was expected and what was seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use zveno_connector::http::HttpOptions;
use zveno_connector::{
    Clock, Connector, ConnectorError, Cursor, ErrorKind, Kind, ManualClock, Page, RecordError, SourceRecord, SyncMode,
};

use super::SimulatedVendor;
use crate::kit::FaultConfig;
use crate::world::WorldSpec;

/// The seed every check starts its simulator with.
pub const SEED: u64 = 20_260_921;

/// Unchanged records an incremental run may return besides the touched ones (overlap
/// windows re-read a little on purpose).
pub const OVERLAP_ALLOWANCE: usize = 5;

/// The suite's clock: one day after the default world's `now` ([`WorldSpec::new`]), so
/// every generated record lies in the past and records touched by a check are newer than
/// all of them. Harnesses should generate their worlds with that default `now`.
pub fn suite_clock() -> Arc<ManualClock> {
    let now = WorldSpec::new(0, 0, &[]).now + chrono::Duration::days(1);
    Arc::new(ManualClock::new(now))
}

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
        out.pages.push((page.records.len(), page.errors.len()));
        out.records.extend(page.records);
        out.errors.extend(page.errors);
        out.cursor = persisted(&page.cursor);
        if !page.more {
            return Ok(out);
        }
    }
}

/// The cursor after a round trip through JSON text, as the store keeps it.
fn persisted(cursor: &Cursor) -> Cursor {
    let text = match serde_json::to_string(cursor) {
        Ok(text) => text,
        Err(e) => panic!("a cursor must serialise to JSON text: {e}"),
    };
    match serde_json::from_str(&text) {
        Ok(cursor) => cursor,
        Err(e) => panic!("a cursor must read back from its JSON text {text}: {e}"),
    }
}

fn must<T>(result: Result<T, ConnectorError>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: expected success, got {e}"),
    }
}

/// External ids of the live (non-tombstone) records.
fn live_ids(records: &[SourceRecord]) -> Vec<String> {
    records.iter().filter(|r| !r.deleted).map(|r| r.external_id.clone()).collect()
}

fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let dups: BTreeSet<String> = ids.iter().filter(|id| !seen.insert(id.as_str())).cloned().collect();
    dups.into_iter().collect()
}

async fn start<V: SimulatedVendor>() -> (V, Arc<ManualClock>) {
    let clock = suite_clock();
    (V::start(SEED, clock.clone()).await, clock)
}

fn first_kind<V: SimulatedVendor>(v: &V) -> Kind {
    match v.kinds().first() {
        Some(kind) => *kind,
        None => panic!("the harness reads no kinds; the suite has nothing to check"),
    }
}

/// A full pull of every kind ends and returns exactly `count(kind)` distinct records.
pub async fn pagination_terminates<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let connector = v.connector();
    for kind in v.kinds() {
        let want = v.count(kind);
        let run = must(
            drain(&*connector, &clock, kind, SyncMode::Full, Cursor::default(), want + 10, 0).await,
            &format!("full pull of {kind}"),
        );
        let ids = live_ids(&run.records);
        let dups = duplicates(&ids);
        assert!(dups.is_empty(), "{kind}: a full pull returned these ids more than once: {dups:?}");
        assert_eq!(
            ids.len(),
            want,
            "{kind}: expected {want} records from a full pull, saw {} in {} pages",
            ids.len(),
            run.pages.len()
        );
        assert!(run.errors.is_empty(), "{kind}: a clean world gave record errors: {:?}", run.errors);
    }
}

/// Pull one page, drop the connector, build a new one and continue from the saved cursor:
/// the union is everything, and at most one page is read twice. Full pulls, and
/// incremental ones when the connector has them.
pub async fn cursor_resumes_after_restart<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let mut modes = vec![SyncMode::Full];
    if v.connector().capabilities().incremental {
        modes.push(SyncMode::Incremental);
    }
    let mut resumed = 0;
    for mode in modes {
        for kind in v.kinds() {
            let want = v.count(kind);
            let what = format!("{kind} {} pull", mode.as_str());
            let before_restart = v.connector();
            let (first, _) = must(
                pull_page(&*before_restart, &clock, kind, mode, &Cursor::default(), 3).await,
                &format!("first page of a {what}"),
            );
            if !first.more {
                continue;
            }
            let saved = persisted(&first.cursor);
            drop(before_restart);
            let after_restart = v.connector();
            let rest = must(
                drain(&*after_restart, &clock, kind, mode, saved, want + 10, 3).await,
                &format!("{what} resumed after a restart"),
            );
            let mut all = live_ids(&first.records);
            all.extend(live_ids(&rest.records));
            let distinct: BTreeSet<&String> = all.iter().collect();
            assert_eq!(
                distinct.len(),
                want,
                "{what}: after a restart the pages together should hold all {want} records, saw {}",
                distinct.len()
            );
            let repeated = all.len() - distinct.len();
            assert!(
                repeated <= first.records.len(),
                "{what}: {repeated} records were read twice across the restart; at most one page ({}) may be",
                first.records.len()
            );
            resumed += 1;
        }
    }
    assert!(
        resumed > 0,
        "no kind spans two pages, so resuming was never exercised: give the harness a smaller page size or a larger world"
    );
}

/// After a baseline incremental run, touching `n` records makes the next incremental run
/// return those (and few others).
pub async fn incremental_returns_only_changes<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let connector = v.connector();
    if !connector.capabilities().incremental {
        eprintln!("incremental_returns_only_changes: {} has no incremental pulls; skipped", connector.vendor());
        return;
    }
    for kind in v.kinds() {
        let max_pages = v.count(kind) + 10;
        let baseline = must(
            drain(&*connector, &clock, kind, SyncMode::Incremental, Cursor::default(), max_pages, 3).await,
            &format!("baseline incremental pull of {kind}"),
        );
        clock.advance(Duration::from_secs(60));
        let touched = v.touch(kind, 3).await;
        assert!(!touched.is_empty(), "{kind}: the harness touched no records");
        clock.advance(Duration::from_secs(1));
        let next = must(
            drain(&*connector, &clock, kind, SyncMode::Incremental, baseline.cursor, max_pages, 3).await,
            &format!("incremental pull of {kind} after touching {touched:?}"),
        );
        let seen: BTreeSet<String> = live_ids(&next.records).into_iter().collect();
        let missing: Vec<&String> = touched.iter().filter(|id| !seen.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "{kind}: an incremental run after touching {touched:?} missed {missing:?} (it returned {} records)",
            seen.len()
        );
        let others: Vec<&String> = seen.iter().filter(|id| !touched.contains(id)).collect();
        assert!(
            others.len() <= OVERLAP_ALLOWANCE,
            "{kind}: an incremental run should return the {} touched records and at most {OVERLAP_ALLOWANCE} others; it also returned {} unchanged ones: {others:?}",
            touched.len(),
            others.len()
        );
    }
}

/// Wrong credentials give an `Auth` error after exactly one request: a 401 is not retried.
pub async fn unauthorized_is_auth_error<V: SimulatedVendor>() {
    let (v, _clock) = start::<V>().await;
    let connector = v.connector_with_wrong_credentials();
    let kind = first_kind(&v);
    let requests = || v.kit().log().total().requests;

    let before = requests();
    match connector.pull(kind, SyncMode::Full, &Cursor::default()).await {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Auth, "pull with wrong credentials: expected an auth error, got {e}"),
        Ok(page) => {
            panic!("pull with wrong credentials: expected an auth error, got a page of {} records", page.records.len())
        }
    }
    let made = requests() - before;
    assert_eq!(made, 1, "a rejected pull must not be retried: expected exactly 1 request, the simulator saw {made}");

    let before = requests();
    match connector.check().await {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Auth, "check() with wrong credentials: expected an auth error, got {e}")
        }
        Ok(()) => panic!("check() with wrong credentials: expected an auth error, got success"),
    }
    let made = requests() - before;
    assert_eq!(made, 1, "a rejected check() must not be retried: expected exactly 1 request, the simulator saw {made}");
}

/// After the vendor's throttling answer, the pull waits (at least what was asked, on the
/// virtual clock) and then succeeds.
pub async fn throttling_waits_then_succeeds<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let connector = v.connector();
    let kind = first_kind(&v);
    let slept_before = clock.slept();
    let throttled_before = v.kit().log().total().throttled;
    let asked = v.throttle_next(Duration::from_secs(30)).await;
    let page = match connector.pull(kind, SyncMode::Full, &Cursor::default()).await {
        Ok(page) => page,
        Err(e) => panic!("after one throttling answer a pull of {kind} should wait and succeed; it failed: {e}"),
    };
    assert!(
        !page.records.is_empty() || v.count(kind) == 0,
        "the pull after throttling returned no {kind} records although the simulator holds {}",
        v.count(kind)
    );
    let throttled = v.kit().log().total().throttled - throttled_before;
    assert!(
        throttled >= 1,
        "the simulator should have answered a request with its throttling response; its log shows {throttled}"
    );
    if let Some(wait) = asked {
        let slept = clock.slept().saturating_sub(slept_before);
        assert!(slept >= wait, "the vendor asked to wait {wait:?}; the client slept only {slept:?}");
    }
}

/// With 30% of requests failing with 5xx, full pulls still complete; a request slower than
/// the connector's timeout ends as `Transient` after retries.
pub async fn server_errors_and_timeouts_are_retried<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let log = || v.kit().log().total();
    v.kit().faults().set(FaultConfig { server_errors: 0.3, ..FaultConfig::NONE });
    let connector = v.connector();
    let errors_before = log().errors;
    for kind in v.kinds() {
        let want = v.count(kind);
        let run = must(
            drain(&*connector, &clock, kind, SyncMode::Full, Cursor::default(), want + 10, 3).await,
            &format!("full pull of {kind} with 30% server errors"),
        );
        let ids = live_ids(&run.records);
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            (distinct.len(), ids.len()),
            (want, want),
            "{kind} with 30% server errors: expected {want} distinct records once each, saw (distinct, total)"
        );
    }
    v.kit().faults().set(FaultConfig::NONE);
    let injected = log().errors - errors_before;
    assert!(injected > 0, "with 30% server errors the simulator should have failed some requests; it failed none");
    let stats = connector.http_stats();
    assert!(
        stats.requests > 0,
        "the connector reports no HTTP statistics (Connector::http_stats), so its retries cannot be checked: {stats:?}"
    );
    assert!(stats.retried > 0, "{injected} server errors were injected but the HTTP client retried nothing: {stats:?}");

    let options = HttpOptions { timeout_secs: Some(1), max_attempts: 2, ..HttpOptions::default() };
    let Some(slow) = v.connector_with_http(options) else {
        panic!("the harness builds no connector with other HTTP options (connector_with_http), so timeouts cannot be checked");
    };
    let kind = first_kind(&v);
    v.kit().faults().set(FaultConfig { latency_ms: 1_500, ..FaultConfig::NONE });
    let before = slow.http_stats().requests;
    let result = slow.pull(kind, SyncMode::Full, &Cursor::default()).await;
    v.kit().faults().set(FaultConfig::NONE);
    match result {
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::Transient,
            "a request slower than the 1 s timeout should end as a transient error after retries, got {e}"
        ),
        Ok(page) => panic!(
            "a request slower than the 1 s timeout should fail, but a page of {} records came back",
            page.records.len()
        ),
    }
    let made = slow.http_stats().requests - before;
    assert!(
        made >= 2,
        "a timed-out GET should be retried: expected {} attempts, the client made {made} (no HTTP statistics?)",
        options.max_attempts
    );
}

/// A record the connector cannot normalise becomes a `RecordError` naming its id; the rest
/// of its page (and of the pull) still arrives.
pub async fn malformed_record_is_reported_not_fatal<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let connector = v.connector();
    for kind in v.kinds() {
        let id = v.corrupt(kind).await;
        let want = v.count(kind);
        let run = must(
            drain(&*connector, &clock, kind, SyncMode::Full, Cursor::default(), want + 10, 0).await,
            &format!("full pull of {kind} with record {id} corrupted"),
        );
        let naming: Vec<&RecordError> =
            run.errors.iter().filter(|e| e.external_id.as_deref() == Some(id.as_str())).collect();
        assert_eq!(
            naming.len(),
            1,
            "{kind}: record {id} was corrupted; expected one record error naming it, got {:?}",
            run.errors
        );
        let ids = live_ids(&run.records);
        assert!(!ids.contains(&id), "{kind}: corrupted record {id} came back as a normal record");
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            want - 1,
            "{kind}: every other record should still arrive: expected {}, saw {}",
            want - 1,
            distinct.len()
        );
        for (records, errors) in &run.pages {
            assert!(
                *errors == 0 || records + errors == 1 || *records > 0,
                "{kind}: the page holding the corrupted record should still carry its other records; it had {records} records and {errors} errors"
            );
        }
    }
}

/// `check()` succeeds with good credentials, fails with bad ones, and never writes.
pub async fn check_never_writes<V: SimulatedVendor>() {
    let (v, _clock) = start::<V>().await;
    let before = v.writes();
    must(v.connector().check().await, "check() with valid credentials");
    match v.connector_with_wrong_credentials().check().await {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Auth, "check() with wrong credentials: expected an auth error, got {e}")
        }
        Ok(()) => panic!("check() with wrong credentials: expected an auth error, got success"),
    }
    let after = v.writes();
    assert_eq!(after, before, "check() must never write; the simulator counted {} write requests", after - before);
}

/// With the conformance fault mix on (5xx, latency, truncated bodies, dropped
/// connections), a full pull of every kind still returns everything exactly once.
pub async fn full_sync_under_faults<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    v.kit().faults().set(FaultConfig::CONFORMANCE);
    let connector = v.connector();
    for kind in v.kinds() {
        let want = v.count(kind);
        let run = must(
            drain(&*connector, &clock, kind, SyncMode::Full, Cursor::default(), want + 10, 10).await,
            &format!("full pull of {kind} under {:?}", FaultConfig::CONFORMANCE),
        );
        let ids = live_ids(&run.records);
        let dups = duplicates(&ids);
        assert!(dups.is_empty(), "{kind} under faults: these ids arrived more than once: {dups:?}");
        assert_eq!(ids.len(), want, "{kind} under faults: expected {want} records, saw {}", ids.len());
        assert!(
            run.errors.is_empty(),
            "{kind} under faults: faults must not turn into record errors: {:?}",
            run.errors
        );
    }
    v.kit().faults().set(FaultConfig::NONE);
    let log = v.kit().log().total();
    assert!(log.errors > 0, "the fault mix injected nothing; the check proved nothing: {log:?}");
}

/// `fetch` reads records by id: every live record of a full pull comes back mapped as the
/// pull mapped it (in the vendor's batches, so more than one batch when the world is
/// large enough), and ids the vendor does not hold come back in `missing`, not as errors.
pub async fn fetch_reads_by_id<V: SimulatedVendor>() {
    let (v, clock) = start::<V>().await;
    let connector = v.connector();
    for kind in v.kinds() {
        let want = v.count(kind);
        let pulled = must(
            drain(&*connector, &clock, kind, SyncMode::Full, Cursor::default(), want + 10, 3).await,
            &format!("full pull of {kind}"),
        );
        let by_id: BTreeMap<String, &SourceRecord> =
            pulled.records.iter().filter(|r| !r.deleted).map(|r| (r.external_id.clone(), r)).collect();
        let unknown = unknown_ids(by_id.keys());
        let mut asked: Vec<String> = by_id.keys().cloned().collect();
        asked.extend(unknown.iter().cloned());
        // One id twice: a fetch asks the vendor once and answers once.
        asked.extend(by_id.keys().next().cloned());
        let requests_before = v.kit().log().total().requests;
        let fetched = must(connector.fetch(kind, &asked).await, &format!("fetch of {} {kind} ids", asked.len()));
        let requests = v.kit().log().total().requests - requests_before;
        assert!(fetched.errors.is_empty(), "{kind}: a clean world gave fetch errors: {:?}", fetched.errors);
        let got: Vec<String> = fetched.records.iter().map(|r| r.external_id.clone()).collect();
        let dups = duplicates(&got);
        assert!(dups.is_empty(), "{kind}: fetch returned these ids more than once: {dups:?}");
        let got: BTreeSet<&String> = got.iter().collect();
        let expected: BTreeSet<&String> = by_id.keys().collect();
        assert_eq!(got, expected, "{kind}: fetch should return exactly the {} records a full pull returned", want);
        for record in &fetched.records {
            let Some(pulled) = by_id.get(&record.external_id) else { continue };
            assert_eq!(
                (&record.data, record.deleted, record.created_at, record.updated_at, &record.url),
                (&pulled.data, pulled.deleted, pulled.created_at, pulled.updated_at, &pulled.url),
                "{kind} {}: fetch must map a record as pull does",
                record.external_id
            );
        }
        let missing: BTreeSet<&String> = fetched.missing.iter().collect();
        let unknown: BTreeSet<&String> = unknown.iter().collect();
        assert_eq!(missing, unknown, "{kind}: exactly the unknown ids should be missing");
        assert!(requests >= 1, "{kind}: a fetch of {} ids made no request", asked.len());
        // One request per id would be a loop, not a batch read; a batch may bring a few
        // companion reads (HubSpot's associations, Bitrix24's requisites).
        assert!(
            by_id.len() < 10 || (requests as usize) < by_id.len() / 2,
            "{kind}: fetching {} records took {requests} requests; a fetch reads in vendor batches",
            by_id.len()
        );
    }
    let empty = must(connector.fetch(first_kind(&v), &[]).await, "fetch of no ids");
    assert!(empty.records.is_empty() && empty.missing.is_empty(), "a fetch of no ids returns nothing: {empty:?}");
}

/// Two ids no simulator holds: past the largest numeric id seen (vendors' ids are numbers,
/// and a number out of range is the realistic unknown id).
fn unknown_ids<'a>(known: impl Iterator<Item = &'a String>) -> Vec<String> {
    let top = known.filter_map(|id| id.parse::<u64>().ok()).max().unwrap_or(0);
    vec![(top + 1_000_001).to_string(), (top + 2_000_003).to_string()]
}

/// Every check, one after another.
pub async fn run_all<V: SimulatedVendor>() {
    pagination_terminates::<V>().await;
    cursor_resumes_after_restart::<V>().await;
    incremental_returns_only_changes::<V>().await;
    unauthorized_is_auth_error::<V>().await;
    throttling_waits_then_succeeds::<V>().await;
    server_errors_and_timeouts_are_retried::<V>().await;
    malformed_record_is_reported_not_fatal::<V>().await;
    check_never_writes::<V>().await;
    full_sync_under_faults::<V>().await;
    fetch_reads_by_id::<V>().await;
}
