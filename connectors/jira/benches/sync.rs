//! Jira sync benchmark: a 20,000-issue site, real clock, the simulator's real limits.
//!
//! `cargo bench -p zveno-jira --features simulator`
//!
//! Phases, each on a fresh connector against the same simulator (Jira Cloud's limits:
//! 100 requests/s GET/POST, 100 issues per page with fields, 5,000 ids per page, 2 s index
//! lag):
//!
//! 1. full pull at the default budget (10 requests/s);
//! 2. incremental run after 500 issues were edited;
//! 3. full pull with `rate_limits.default = { requests = 90, per_secs = 1 }`;
//! 4. the id-only census (`fields=["id"]`, 5,000 per page) the full pull replaces, for
//!    comparison.
//!
//! For each: requests vs the floor `ceil(issues / page size)` (+1 for `/myself`, read once
//! per run), 429s after the warm-up `check()` (target: none), wall time and records/s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use zveno_connector::http::{Call, RateLimit};
use zveno_connector::{Clock, Connector, Cursor, Kind, SyncMode, SystemClock};
use zveno_jira::simulator::harness::{Build, JiraHarness};
use zveno_jira::simulator::{MAX_FIELDS_PAGE, MAX_IDS_PAGE};
use zveno_jira::SimOptions;
use zveno_sim::world::{World, WorldSpec};

const ISSUES: usize = 20_000;
const EDITED: usize = 500;

struct Phase {
    name: &'static str,
    records: usize,
    requests: u64,
    floor: u64,
    throttled: u64,
    wall: Duration,
}

impl Phase {
    fn print(&self) {
        let rate = self.records as f64 / self.wall.as_secs_f64().max(1e-9);
        println!(
            "| {:<36} | {:>7} | {:>8} | {:>5} | {:>4} | {:>8.2} s | {:>9.0} |",
            self.name,
            self.records,
            self.requests,
            self.floor,
            self.throttled,
            self.wall.as_secs_f64(),
            rate
        );
    }
}

async fn drain(c: &dyn Connector, mode: SyncMode, cursor: Cursor) -> (usize, Cursor) {
    let mut cursor = cursor;
    let mut records = 0;
    let started = Instant::now();
    for pages in 1.. {
        if pages % 50 == 0 {
            eprintln!("  {pages} pages, {records} records, {:.1} s", started.elapsed().as_secs_f64());
        }
        let page = match c.pull(Kind::Task, mode, &cursor).await {
            Ok(page) => page,
            Err(e) => panic!("pull failed: {e}"),
        };
        records += page.records.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    (records, cursor)
}

async fn measured<F, Fut>(h: &JiraHarness, name: &'static str, floor: u64, run: F) -> Phase
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    eprintln!("{name}...");
    h.sim.kit().log().reset();
    let started = Instant::now();
    let records = run().await;
    let wall = started.elapsed();
    let log = h.sim.kit().log().total();
    Phase { name, records, requests: log.requests, floor, throttled: log.throttled, wall }
}

#[tokio::main]
async fn main() {
    let mut spec = WorldSpec::new(42, 8_000, &[zveno_jira::simulator::SYSTEM]);
    spec.tasks_per_client = 3.0;
    let started = Instant::now();
    let mut data = World::generate(&spec).system(zveno_jira::simulator::SYSTEM);
    eprintln!("world: {} issues in {:.1} s", data.tasks.len(), started.elapsed().as_secs_f64());
    assert!(data.tasks.len() >= ISSUES, "world too small: {} issues", data.tasks.len());
    data.tasks.truncate(ISSUES);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let h = JiraHarness::start(data, clock, 42, SimOptions::default()).await;
    let fields_floor = ISSUES.div_ceil(MAX_FIELDS_PAGE) as u64 + 1;

    let default_budget = h.connector();
    if let Err(e) = default_budget.check().await {
        panic!("warm-up check failed: {e}");
    }

    let mut phases = Vec::new();
    let mut cursor = Cursor::default();
    phases.push(
        measured(&h, "full pull, default 10 req/s", fields_floor, || async {
            let (n, c) = drain(default_budget.as_ref(), SyncMode::Full, Cursor::default()).await;
            cursor = c;
            n
        })
        .await,
    );
    // Incremental: the cursor of a completed full run carries the watermark.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ids = h.sim.ids();
    let edited: Vec<u64> = ids.iter().copied().step_by(ids.len() / EDITED).take(EDITED).collect();
    h.sim.touch_ids(&edited);
    tokio::time::sleep(SimOptions::default().lag + Duration::from_millis(200)).await;
    let incremental_floor = EDITED.div_ceil(MAX_FIELDS_PAGE) as u64 + 1;
    phases.push(
        measured(&h, "incremental, 500 edited", incremental_floor, || async {
            drain(default_budget.as_ref(), SyncMode::Incremental, cursor.clone()).await.0
        })
        .await,
    );
    let tuned = h.must_build(Build {
        rate_limits: BTreeMap::from([("default".to_string(), RateLimit::new(90, 1))]),
        ..Build::default()
    });
    phases.push(
        measured(&h, "full pull, rate_limits.default 90/s", fields_floor, || async {
            drain(tuned.as_ref(), SyncMode::Full, Cursor::default()).await.0
        })
        .await,
    );
    let census_floor = ISSUES.div_ceil(MAX_IDS_PAGE) as u64;
    phases.push(
        measured(&h, "id-only census (comparison)", census_floor, || async {
            let Ok(http) = h.http() else { panic!("raw client") };
            let (mut token, mut ids) = (None::<String>, 0);
            loop {
                let body = json!({"jql": "project in (OPS, SUP)", "fields": ["id"], "maxResults": MAX_IDS_PAGE,
                                  "nextPageToken": token});
                let page: serde_json::Value = match http
                    .send(Call::post_json(h.api("rest/api/3/search/jql"), &body).idempotent(true))
                    .await
                    .and_then(|r| r.json())
                {
                    Ok(page) => page,
                    Err(e) => panic!("census page failed: {e}"),
                };
                ids += page["issues"].as_array().map_or(0, Vec::len);
                token = page["nextPageToken"].as_str().map(str::to_string);
                if token.is_none() {
                    return ids;
                }
            }
        })
        .await,
    );

    println!("\nJira sync benchmark: {ISSUES} issues, SystemClock, simulator limits 100 req/s, 100 issues/page with fields\n");
    println!("| phase                                | records | requests | floor | 429s |     wall   | records/s |");
    println!("|--------------------------------------|--------:|---------:|------:|-----:|-----------:|----------:|");
    for phase in &phases {
        phase.print();
    }
    println!("\nfloor = ceil(issues / page size), +1 for the /myself read that starts each run");
    let total_429: u64 = phases.iter().map(|p| p.throttled).sum();
    println!("429s after warm-up: {total_429}");
    assert_eq!(phases[0].records, ISSUES);
    assert!(phases[1].records >= EDITED);
}
