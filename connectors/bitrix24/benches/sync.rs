//! Full syncs of a 50,000-company Bitrix24 portal (plus its contacts and tasks) through the
//! simulator, on the real clock with the real leaky bucket (50 requests, draining 2/s).
//!
//! `cargo bench -p zveno-bitrix24 --features simulator`
//!
//! Two full syncs run back to back: a **cold** one, starting with an empty bucket, and a
//! **warm** one right after it, starting with the bucket as the first left it (the steady
//! state, where every request must wait for the drain); then 500 records of each kind change
//! and an **incremental** sync reads them. For each it reports:
//! - HTTP requests against the batch floor: per list, the fewest 50-call batches that read
//!   every row *and* see the short page that ends the scan, `ceil((floor(n/50) + 1) / 50)`,
//!   plus one 50-call batch of requisite lookups per 2,500 companies;
//! - `503 QUERY_LIMIT_EXCEEDED` answers, in all and after the first 50 requests (warm-up);
//! - wall time against the leaky-bucket floor: cold `(requests − 50) / 2` s (the bucket lets
//!   50 through at once, then 2 a second); warm `(requests − 5) / 2` s (the cold sync leaves
//!   the bucket about 45 full, the connector's burst, so 5 go at once and the rest at 2/s);
//! - records per second.

use std::sync::Arc;
use std::time::Instant;

use zveno_bitrix24::simulator::launch_with_handle;
use zveno_bitrix24::Bitrix24Factory;
use zveno_connector::factory::VendorEntry;
use zveno_connector::{BuildContext, Clock, Connector, Cursor, Env, Kind, SyncMode, SystemClock};
use zveno_sim::world::{World, WorldSpec};

const SEED: u64 = 24;
const COMPANIES: usize = 50_000;
/// Records of each kind changed before the incremental sync.
const CHANGES: usize = 500;

/// What one full sync cost.
#[derive(Debug, Default)]
struct Run {
    requests: u64,
    throttled: u64,
    throttled_after_warmup: u64,
    secs: f64,
    records: usize,
    errors: usize,
}

fn batch_floor(rows: usize) -> u64 {
    let calls = rows / 50 + 1;
    calls.div_ceil(50) as u64
}

/// Pulls every kind until done, from `cursors` (one per kind; none: from the start).
async fn sync(
    connector: &dyn Connector,
    sim: &zveno_bitrix24::simulator::Bitrix24Sim,
    mode: SyncMode,
    cursors: &[Cursor],
) -> Run {
    let log = || sim.kit().log().endpoint("batch");
    let before = log();
    let start = Instant::now();
    let mut run = Run::default();
    let mut warm_mark: Option<u64> = None;
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        let mut cursor = cursors.get(i).cloned().unwrap_or_default();
        loop {
            let page = match connector.pull(kind, mode, &cursor).await {
                Ok(page) => page,
                Err(e) => panic!("full pull of {kind} failed: {e}"),
            };
            run.records += page.records.len();
            run.errors += page.errors.len();
            cursor = page.cursor;
            let now = log();
            if warm_mark.is_none() && now.requests - before.requests >= 50 {
                warm_mark = Some(now.throttled);
            }
            if !page.more {
                break;
            }
        }
    }
    run.secs = start.elapsed().as_secs_f64();
    let after = log();
    run.requests = after.requests - before.requests;
    run.throttled = after.throttled - before.throttled;
    run.throttled_after_warmup = after.throttled - warm_mark.unwrap_or(after.throttled);
    run
}

fn report(name: &str, run: &Run, floor: u64, bucket_floor_secs: f64) {
    println!(
        "| {name} | {} | {floor} | {:.2}x | {} | {} | {:.1} s | {:.1} s | {:.2}x | {:.0} |",
        run.requests,
        run.requests as f64 / floor as f64,
        run.throttled,
        run.throttled_after_warmup,
        run.secs,
        bucket_floor_secs,
        run.secs / bucket_floor_secs,
        run.records as f64 / run.secs,
    );
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start a runtime: {e}"),
    };
    runtime.block_on(bench());
}

async fn bench() {
    let generated = Instant::now();
    let world = World::generate(&WorldSpec::new(SEED, COMPANIES, &[zveno_bitrix24::simulator::SYSTEM]));
    let data = world.system(zveno_bitrix24::simulator::SYSTEM);
    let (users, companies, contacts, tasks) =
        (data.users.len(), data.companies.len(), data.contacts.len(), data.tasks.len());
    println!(
        "world: {companies} companies, {contacts} contacts, {tasks} tasks, {users} users (generated in {:.1} s)",
        generated.elapsed().as_secs_f64()
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let (launched, sim) = match launch_with_handle(&data, clock.clone(), SEED).await {
        Ok(started) => started,
        Err(e) => panic!("cannot start the simulator: {e}"),
    };
    let mut ctx = BuildContext::new("bitrix24-bench", clock);
    ctx.env = Env::from_pairs(launched.env.clone());
    let entry = VendorEntry::of::<Bitrix24Factory>();
    let problems = (entry.validate)(&launched.options, &ctx);
    assert!(problems.is_empty(), "launch options invalid: {problems:?}");
    let connector = match (entry.build)(&launched.options, ctx) {
        Ok(connector) => connector,
        Err(e) => panic!("cannot build the connector: {e}"),
    };

    let floor = batch_floor(users)
        + batch_floor(companies)
        + (companies.div_ceil(50).div_ceil(50)) as u64
        + batch_floor(contacts)
        + batch_floor(tasks);
    let cold = sync(connector.as_ref(), &sim, SyncMode::Full, &[]).await;
    let since = zveno_connector::Clock::now(&SystemClock::new());
    let warm = sync(connector.as_ref(), &sim, SyncMode::Full, &[]).await;
    for kind in Kind::ALL {
        sim.touch(kind, CHANGES);
    }
    let cursors: Vec<Cursor> =
        Kind::ALL.iter().map(|k| connector.incremental_cursor(*k, since).unwrap_or_default()).collect();
    let incremental = sync(connector.as_ref(), &sim, SyncMode::Incremental, &cursors).await;
    let records = companies + contacts + tasks;
    assert_eq!(cold.records, records, "the cold sync lost records");
    assert_eq!(warm.records, records, "the warm sync lost records");
    assert_eq!(cold.errors + warm.errors, 0, "record errors in a clean world");
    println!(
        "sub-calls: crm.company.list {}, crm.requisite.list {}, crm.contact.list {}, tasks.task.list {}, user.get {}",
        sim.calls("crm.company.list"),
        sim.calls("crm.requisite.list"),
        sim.calls("crm.contact.list"),
        sim.calls("tasks.task.list"),
        sim.calls("user.get"),
    );
    println!();
    println!("| sync | requests | batch floor | vs floor | 503s | 503s after warm-up | wall | bucket floor | vs floor | records/s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    report("cold full", &cold, floor, (cold.requests.saturating_sub(50)) as f64 / 2.0);
    // The user cache is warm: no `user.get` this time.
    report("warm full", &warm, floor - batch_floor(users), (warm.requests.saturating_sub(5)) as f64 / 2.0);
    // Per kind: the changed rows and the short page after them; requisites for the companies.
    let changed_floor = 3 * batch_floor(CHANGES) + CHANGES.div_ceil(50).div_ceil(50) as u64;
    report(
        &format!("incremental, {CHANGES} changes per kind"),
        &incremental,
        changed_floor,
        (incremental.requests.saturating_sub(5)) as f64 / 2.0,
    );
    assert_eq!(incremental.records, 3 * CHANGES, "the incremental sync read more or less than the changes");
    let stats = connector.http_stats();
    println!();
    println!(
        "client: {} requests, {} throttled, {} retried, {} failed",
        stats.requests, stats.throttled, stats.retried, stats.failed
    );
}
