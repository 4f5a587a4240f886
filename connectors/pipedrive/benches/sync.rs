//! Pipedrive sync benchmark, on the real clock against the simulator's real limits (a Lite
//! company: 20 requests per rolling 2 s, token costs against a daily budget).
//!
//! ```text
//! cargo bench -p zveno-pipedrive --features simulator                    # 20,000 organizations
//! ZVENO_BENCH_QUICK=1 cargo bench -p zveno-pipedrive --features simulator   # 2,000
//! ```
//!
//! The connector is driven page by page as the engine drives it (the cursor goes through
//! JSON text between pages). Phases:
//!
//! 1. a full sync of organizations, persons and activities (`zveno sync --once --full`):
//!    list requests against the floor ceil(records / 500), tokens spent, 429s (and 429s
//!    after the first 10 s), records/s;
//! 2. 1% of each kind changed and 0.1% added, then an incremental sync: list requests
//!    against ceil(changed / 500) + 2, every change and addition picked up;
//! 3. 0.5% deleted, then a full scan (the census): every deleted record missing from it.
//!
//! Peak memory is the process's (simulator included) high-water mark.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zveno_connector::{Clock, Connector, Cursor, Kind, SyncMode, SystemClock};
use zveno_pipedrive::simulator::{demo_token, PipedriveSim, SimOptions};
use zveno_sim::world::{World, WorldSpec};

const SEED: u64 = 20_261_207;

fn entity(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "organizations",
        Kind::Contact => "persons",
        Kind::Task => "activities",
    }
}

/// What one run returned: the live ids, the tombstones, the cursor it ended on.
struct Pass {
    live: BTreeSet<String>,
    cursor: Cursor,
    errors: usize,
    wall: Duration,
}

async fn run(connector: &dyn Connector, kind: Kind, mode: SyncMode, mut cursor: Cursor) -> Pass {
    let started = Instant::now();
    let (mut live, mut errors) = (BTreeSet::new(), 0);
    loop {
        let page = connector
            .pull(kind, mode, &cursor)
            .await
            .unwrap_or_else(|e| panic!("{kind} {} pull failed: {e}", mode.as_str()));
        errors += page.errors.len();
        live.extend(page.records.into_iter().filter(|r| !r.deleted).map(|r| r.external_id));
        cursor = serde_json::from_str(&serde_json::to_string(&page.cursor).unwrap_or_default()).unwrap_or_default();
        if !page.more {
            return Pass { live, cursor, errors, wall: started.elapsed() };
        }
    }
}

/// The 429 count the simulator has logged `after` from now, sampled in the background.
fn throttled_at(sim: &Arc<PipedriveSim>, after: Duration) -> Arc<AtomicU64> {
    let sample = Arc::new(AtomicU64::new(u64::MAX));
    let (sim, out) = (sim.clone(), sample.clone());
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        out.store(sim.kit().log().total().throttled, Ordering::Relaxed);
    });
    sample
}

fn since_sample(sim: &PipedriveSim, sample: &AtomicU64) -> u64 {
    match sample.load(Ordering::Relaxed) {
        u64::MAX => 0,
        at => sim.kit().log().total().throttled.saturating_sub(at),
    }
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn main() {
    let quick = std::env::var("ZVENO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let clients = if quick { 2_000 } else { 20_000 };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut spec = WorldSpec::new(SEED, clients, &[zveno_pipedrive::simulator::SYSTEM]);
    spec.now = clock.now() - chrono::Duration::days(1);
    let data = World::generate(&spec).system(zveno_pipedrive::simulator::SYSTEM);
    let options = SimOptions::new(&demo_token(SEED));
    let sim = Arc::new(PipedriveSim::start(&data, clock.clone(), SEED, options.clone()).await.expect("simulator"));
    println!(
        "# Pipedrive sync benchmark ({} mode)\n\nworld: {} organizations, {} persons, {} activities, {} users",
        if quick { "quick" } else { "full" },
        data.companies.len(),
        data.contacts.len(),
        data.tasks.len(),
        data.users.len()
    );
    println!(
        "simulator: {} requests / rolling 2 s, {} tokens / day; connector: default limits (Lite), real clock\n",
        options.burst_limit, options.daily_tokens
    );
    let connector = sim.connector("pipedrive", clock.clone(), &sim.token(), |_, _| {}).expect("connector config");
    let log = || sim.kit().log();

    println!("## Full sync (zveno sync --once --full)\n");
    println!(
        "| entity | records | list requests | floor | ratio | tokens | 429s | 429s after 10 s | wall | records/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let whole = Instant::now();
    let whole_10s = throttled_at(&sim, Duration::from_secs(10));
    let tokens_before = sim.tokens_used();
    let mut cursors = BTreeMap::new();
    let mut records = 0;
    for kind in Kind::ALL {
        let (throttled, tokens) = (log().total().throttled, sim.tokens_used());
        let kind_10s = throttled_at(&sim, Duration::from_secs(10));
        let lists = log().endpoint(&format!("list {}", entity(kind))).requests;
        let pass = run(&*connector, kind, SyncMode::Full, Cursor::default()).await;
        let want = sim.count(kind);
        assert_eq!((pass.live.len(), pass.errors), (want, 0), "{kind}: every record stored, none refused");
        let lists = log().endpoint(&format!("list {}", entity(kind))).requests - lists;
        let floor = want.div_ceil(500) as u64;
        records += want;
        println!(
            "| {} | {want} | {lists} | {floor} | {:.3} | {} | {} | {} | {:.1} s | {:.0} |",
            entity(kind),
            lists as f64 / floor as f64,
            sim.tokens_used() - tokens,
            log().total().throttled - throttled,
            since_sample(&sim, &kind_10s),
            pass.wall.as_secs_f64(),
            want as f64 / pass.wall.as_secs_f64()
        );
        cursors.insert(kind, pass.cursor);
    }
    let wall = whole.elapsed().as_secs_f64();
    let total = log().total();
    println!(
        "\nwhole sync: {records} records in {wall:.1} s ({:.0} records/s), {} requests (users: {}), {} tokens \
         of {} a day, 429s: {}, after the first 10 s: {}\n",
        records as f64 / wall,
        total.requests,
        log().endpoint("users").requests,
        sim.tokens_used() - tokens_before,
        options.daily_tokens,
        total.throttled,
        since_sample(&sim, &whole_10s)
    );

    println!("## Incremental sync after 1% changed and 0.1% added\n");
    println!("| entity | changed | added | list requests | budget ceil(n/500)+2 | tokens | picked up | wall |");
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    let mut changes = BTreeMap::new();
    for kind in Kind::ALL {
        let n = sim.count(kind);
        let touched = sim.touch(kind, n.div_ceil(100));
        let added = sim.add(kind, n.div_ceil(1000));
        changes.insert(kind, (touched, added));
    }
    // `updated_until` is exclusive to the second: let the second of the changes pass.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for kind in Kind::ALL {
        let (touched, added) = &changes[&kind];
        let (lists, tokens) = (log().endpoint(&format!("list {}", entity(kind))).requests, sim.tokens_used());
        let pass = run(&*connector, kind, SyncMode::Incremental, cursors.remove(&kind).unwrap_or_default()).await;
        let lists = log().endpoint(&format!("list {}", entity(kind))).requests - lists;
        let missed = touched.iter().chain(added).filter(|id| !pass.live.contains(*id)).count();
        let changed = touched.len() + added.len();
        println!(
            "| {} | {} | {} | {lists} | {} | {} | {} | {:.1} s |",
            entity(kind),
            touched.len(),
            added.len(),
            changed.div_ceil(500) + 2,
            sim.tokens_used() - tokens,
            if missed == 0 { "all".to_string() } else { format!("{missed} MISSED") },
            pass.wall.as_secs_f64()
        );
        assert_eq!(missed, 0, "{kind}: every change and addition picked up");
        assert!(lists as usize <= changed.div_ceil(500) + 2, "{kind}: within the request budget");
    }

    println!("\n## Deletes: 0.5% deleted, then a full scan (the census)\n");
    println!("| entity | deleted | list requests | tokens | still listed | wall |");
    println!("|---|---:|---:|---:|---:|---:|");
    for kind in Kind::ALL {
        let deleted = sim.delete(kind, sim.count(kind).div_ceil(200));
        let (lists, tokens) = (log().endpoint(&format!("list {}", entity(kind))).requests, sim.tokens_used());
        let pass = run(&*connector, kind, SyncMode::Full, Cursor::default()).await;
        let listed = deleted.iter().filter(|id| pass.live.contains(*id)).count();
        println!(
            "| {} | {} | {} | {} | {listed} | {:.1} s |",
            entity(kind),
            deleted.len(),
            log().endpoint(&format!("list {}", entity(kind))).requests - lists,
            sim.tokens_used() - tokens,
            pass.wall.as_secs_f64()
        );
        assert_eq!(listed, 0, "{kind}: a completed scan no longer holds deleted records");
        assert_eq!(pass.live.len(), sim.count(kind));
    }
    let stats = connector.http_stats();
    println!(
        "\nconnector: {} requests, {} throttled, {} retried, {} failed; {} tokens spent in all; peak memory {}",
        stats.requests,
        stats.throttled,
        stats.retried,
        stats.failed,
        sim.tokens_used() - tokens_before,
        peak_memory_mib().map_or("unknown".to_string(), |m| format!("{m:.0} MiB"))
    );
}
