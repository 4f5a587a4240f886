//! HubSpot sync benchmark: API calls against the floor, 429s, wall time and records/s, on
//! the real clock against the simulator's real rate limits (100 requests per rolling 10 s,
//! 5 searches per second, a 2-second search index lag).
//!
//! ```text
//! cargo bench -p zveno-hubspot --features simulator            # 20,000 companies
//! ZVENO_BENCH_QUICK=1 cargo bench -p zveno-hubspot --features simulator   # 2,000
//! ```
//!
//! Phases, each driving the connector page by page as the engine does (cursor persisted as
//! JSON between pages, records upserted into an in-memory store):
//!
//! 1. a full sync of companies, contacts and tasks (`zveno sync --once --full`): list
//!    requests vs the floor ceil(records / 100), 429s (and 429s after the first 10 s);
//! 2. 1% of each kind changed, then an incremental sync: search requests vs
//!    ceil(changed / 200) + 2, and every change picked up;
//! 3. a window of more than 10,000 changed companies, synced completely;
//! 4. 10,001 companies sharing one modification millisecond, synced completely.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zveno_connector::{Clock, Connector, Cursor, Kind, SourceRecord, SyncMode, SystemClock};
use zveno_hubspot::simulator::{demo_token, HubSpotSim, SimOptions};
use zveno_sim::world::{World, WorldSpec};

const SEED: u64 = 20_260_921;

struct Scale {
    clients: usize,
    big_window: usize,
    flood: usize,
}

/// The store: the newest version of each record, as the engine keeps it.
#[derive(Default)]
struct Store {
    records: HashMap<(Kind, String), SourceRecord>,
}

impl Store {
    fn upsert(&mut self, record: SourceRecord) {
        let key = (record.kind, record.external_id.clone());
        let newer = self.records.get(&key).is_none_or(|old| old.updated_at <= record.updated_at);
        if newer {
            self.records.insert(key, record);
        }
    }

    fn live(&self, kind: Kind) -> usize {
        self.records.iter().filter(|((k, _), r)| *k == kind && !r.deleted).count()
    }
}

struct Run {
    ids: Vec<String>,
    cursor: Cursor,
    pages: usize,
    errors: usize,
    wall: Duration,
}

async fn drain(c: &dyn Connector, store: &mut Store, kind: Kind, mode: SyncMode, cursor: Cursor) -> Run {
    let started = Instant::now();
    let mut run = Run { ids: Vec::new(), cursor, pages: 0, errors: 0, wall: Duration::ZERO };
    loop {
        let page = match c.pull(kind, mode, &run.cursor).await {
            Ok(page) => page,
            Err(e) => panic!("{kind} {} pull failed: {e}", mode.as_str()),
        };
        run.pages += 1;
        run.errors += page.errors.len();
        for record in page.records {
            run.ids.push(record.external_id.clone());
            store.upsert(record);
        }
        let text = serde_json::to_string(&page.cursor).unwrap_or_default();
        run.cursor = serde_json::from_str(&text).unwrap_or_default();
        if !page.more {
            run.wall = started.elapsed();
            return run;
        }
    }
}

fn object(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "companies",
        Kind::Contact => "contacts",
        Kind::Task => "tasks",
    }
}

fn endpoint(sim: &HubSpotSim, name: &str) -> (u64, u64, u64) {
    let e = sim.kit().log().endpoint(name);
    (e.requests, e.throttled, e.errors)
}

/// Counts 429s from `at` on, by sampling the request log `at` after the start.
fn throttled_after(sim: &Arc<HubSpotSim>, at: Duration) -> Arc<AtomicU64> {
    let sample = Arc::new(AtomicU64::new(u64::MAX));
    let (sim, out) = (sim.clone(), sample.clone());
    tokio::spawn(async move {
        tokio::time::sleep(at).await;
        out.store(sim.kit().log().total().throttled, Ordering::Relaxed);
    });
    sample
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("ZVENO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let scale = if quick {
        Scale { clients: 2_000, big_window: 1_500, flood: 1_001 }
    } else {
        Scale { clients: 20_000, big_window: 12_000, flood: 10_001 }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let generated = Instant::now();
    let mut spec = WorldSpec::new(SEED, scale.clients, &[zveno_hubspot::simulator::SYSTEM]);
    spec.now = clock.now() - chrono::Duration::days(1);
    let world = World::generate(&spec);
    let data = world.system(zveno_hubspot::simulator::SYSTEM);
    let sim = match HubSpotSim::start(&data, clock.clone(), SEED, SimOptions::new(&demo_token(SEED))).await {
        Ok(sim) => Arc::new(sim),
        Err(e) => panic!("simulator did not start: {e}"),
    };
    let lag = sim.options().index_lag;
    println!(
        "# HubSpot sync benchmark ({} mode)\n\nworld: {} companies, {} contacts, {} tasks, {} owners (generated and seeded in {:.1} s)",
        if quick { "quick" } else { "full" },
        data.companies.len(),
        data.contacts.len(),
        data.tasks.len(),
        data.users.len(),
        generated.elapsed().as_secs_f64()
    );
    println!("simulator: 100 requests / rolling 10 s, 5 searches / s, index lag {lag:?}; connector: default limits, real clock\n");
    let connector = match sim.connector("hubspot", clock.clone(), &sim.token(), |_, _| {}) {
        Ok(c) => c,
        Err(e) => panic!("connector config rejected: {e}"),
    };
    let mut store = Store::default();

    // 1. Full sync.
    println!("## Full sync (zveno sync --once --full)\n");
    println!("| object | records | list requests | floor | ratio | 429s | 429s after 10 s | wall | records/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sync_started = Instant::now();
    let after_10s = throttled_after(&sim, Duration::from_secs(10));
    let mut cursors = BTreeMap::new();
    let mut total_records = 0;
    for kind in Kind::ALL {
        let before = sim.kit().log().total().throttled;
        let started = Instant::now();
        let kind_10s = throttled_after(&sim, Duration::from_secs(10));
        let run = drain(&*connector, &mut store, kind, SyncMode::Full, Cursor::default()).await;
        let want = sim.count(kind);
        assert_eq!(store.live(kind), want, "{kind}: every record stored");
        assert_eq!(run.errors, 0, "{kind}: no record errors");
        let (live, _, _) = endpoint(&sim, &format!("list {}", object(kind)));
        let (archived, _, _) = endpoint(&sim, &format!("list {} archived", object(kind)));
        let requests = live + archived;
        let floor = want.div_ceil(100) as u64;
        let throttled = sim.kit().log().total().throttled - before;
        let sampled = kind_10s.load(Ordering::Relaxed);
        let late = if sampled == u64::MAX { 0 } else { sim.kit().log().total().throttled.saturating_sub(sampled) };
        let wall = started.elapsed();
        total_records += want;
        println!(
            "| {} | {want} | {requests} ({live} + {archived} archived) | {floor} | {:.3} | {throttled} | {late} | {:.1} s | {:.0} |",
            object(kind),
            requests as f64 / floor as f64,
            wall.as_secs_f64(),
            want as f64 / wall.as_secs_f64()
        );
        cursors.insert(kind, run.cursor);
    }
    let sync_wall = sync_started.elapsed();
    let sampled = after_10s.load(Ordering::Relaxed);
    let total = sim.kit().log().total();
    println!(
        "\nwhole sync: {total_records} records in {:.1} s ({:.0} records/s), {} requests (owners: {}), 429s: {}, after the first 10 s: {}\n",
        sync_wall.as_secs_f64(),
        total_records as f64 / sync_wall.as_secs_f64(),
        total.requests,
        endpoint(&sim, "owners").0,
        total.throttled,
        if sampled == u64::MAX { 0 } else { total.throttled - sampled }
    );

    // 2. 1% changed, incremental sync.
    sim.kit().log().reset();
    println!("## Incremental sync after 1% changed\n");
    println!("| object | changed | search requests | budget ceil(n/200)+2 | association reads | sweep lists | picked up | wall |");
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    let mut touched = BTreeMap::new();
    for kind in Kind::ALL {
        let n = sim.count(kind).div_ceil(100);
        touched.insert(kind, sim.touch_spread(kind, n, Duration::from_millis(5)));
    }
    tokio::time::sleep(lag + Duration::from_millis(500)).await; // let the index catch up
    for kind in Kind::ALL {
        let changed = &touched[&kind];
        let cursor = cursors.remove(&kind).unwrap_or_default();
        let run = drain(&*connector, &mut store, kind, SyncMode::Incremental, cursor).await;
        let seen: BTreeSet<&String> = run.ids.iter().collect();
        let missing = changed.iter().filter(|id| !seen.contains(id)).count();
        let (searches, _, _) = endpoint(&sim, &format!("search {}", object(kind)));
        let assoc: u64 = ["companies", "contacts"]
            .iter()
            .map(|to| endpoint(&sim, &format!("associations read {}/{to}", object(kind))).0)
            .sum();
        let (sweep, _, _) = endpoint(&sim, &format!("list {} archived", object(kind)));
        println!(
            "| {} | {} | {searches} | {} | {assoc} | {sweep} | {} | {:.1} s |",
            object(kind),
            changed.len(),
            changed.len().div_ceil(200) + 2,
            if missing == 0 { "all".to_string() } else { format!("{missing} MISSED") },
            run.wall.as_secs_f64()
        );
        assert_eq!(missing, 0, "{kind}: every change picked up");
        cursors.insert(kind, run.cursor);
    }

    // 3 and 4. Windows past the search cap.
    println!("\n## Windows past the 10,000-result search cap (companies)\n");
    println!("| window | changed | returned | search requests | search 400s | 429s | complete | wall |");
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    for (name, flood) in [("distinct timestamps", false), ("one shared millisecond", true)] {
        sim.kit().log().reset();
        let changed = if flood {
            sim.touch_at(Kind::Client, scale.flood, clock.now())
        } else {
            sim.touch_spread(Kind::Client, scale.big_window, Duration::from_millis(1))
        };
        tokio::time::sleep(lag + Duration::from_millis(500)).await;
        let cursor = cursors.remove(&Kind::Client).unwrap_or_default();
        let run = drain(&*connector, &mut store, Kind::Client, SyncMode::Incremental, cursor).await;
        let seen: BTreeSet<&String> = run.ids.iter().collect();
        let missing = changed.iter().filter(|id| !seen.contains(id)).count();
        let (searches, throttled, errors) = endpoint(&sim, "search companies");
        println!(
            "| {name} | {} | {} | {searches} | {errors} | {throttled} | {} | {:.1} s |",
            changed.len(),
            run.ids.len(),
            if missing == 0 { "yes".to_string() } else { format!("NO: {missing} missed") },
            run.wall.as_secs_f64()
        );
        assert_eq!(missing, 0, "{name}: every change picked up");
        cursors.insert(Kind::Client, run.cursor);
    }
    let stats = connector.http_stats();
    println!(
        "\nconnector HTTP counters over the whole benchmark: {} requests, {} throttled, {} retried, {} failed",
        stats.requests, stats.throttled, stats.retried, stats.failed
    );
}
