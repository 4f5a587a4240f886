//! Deletions within one cycle on the real connectors, through the daemon's own path
//! (config file, registry, engine, store, resolver, views) against their simulators on
//! virtual time: records deleted in Jira and Bitrix24 are gone from `clients`/`tasks` after
//! the next incremental cycle at default settings, with the id census's requests bounded
//! and counted apart from the pull's; issues a token lost access to are held, not
//! tombstoned, until `census approve`; HubSpot's archived records go with the next cycle's
//! sweep and its purged (privacy-deleted) ones with the census on the full-scan schedule;
//! Pipedrive's deleted records go with its census when that is due.
//!
//! World size: `ZVENO_CENSUS_CLIENTS` clients (400 by default; the Bitrix24 and Jira
//! bounds are worth checking at 6,000 and more, where the census spans several requests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/daemon.rs"]
mod daemon;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use daemon::connector;
use zveno::app::App;
use zveno::engine::{RunSummary, Shutdown};
use zveno::resolve::Resolver;
use zveno::view::query::{clients, tasks};
use zveno::view::{ClientQuery, TaskQuery, ViewTime};
use zveno_connector::{Clock, Kind, ManualClock, SyncMode};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::world::{System, World, WorldSpec};

fn world_clients() -> usize {
    std::env::var("ZVENO_CENSUS_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

/// The daemon over some simulators, on a virtual clock.
struct Daemon {
    clock: Arc<ManualClock>,
    app: App,
    _dir: tempfile::TempDir,
}

impl Daemon {
    async fn build(clock: &Arc<ManualClock>, connectors: toml::Table, vars: Vec<(String, String)>) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let app = daemon::build(&dir, None, connectors, vars, clock.clone()).await;
        Daemon { clock: clock.clone(), app, _dir: dir }
    }

    /// A full sync of every connector, then the unified view.
    async fn full_sync(&self) {
        for job in &self.app.jobs {
            for result in self.app.engine.sync_job(job, true, &Shutdown::new()).await {
                let run = result.unwrap_or_else(|e| panic!("full sync failed: {e}"));
                assert_eq!(run.mode, SyncMode::Full);
            }
        }
        self.app.engine.resolve().await.unwrap();
    }

    /// One scheduled cycle five minutes later: every connector's kinds as the scheduler
    /// runs them (incremental, or full when one is due; the census when due after an
    /// incremental run), then the unified view.
    async fn cycle(&self) -> Vec<RunSummary> {
        self.clock.advance(Duration::from_secs(300));
        let mut runs = Vec::new();
        for job in &self.app.jobs {
            for result in self.app.engine.sync_job(job, false, &Shutdown::new()).await {
                runs.push(result.unwrap_or_else(|e| panic!("cycle failed: {e}")));
            }
        }
        self.app.engine.resolve().await.unwrap();
        for run in &runs {
            assert!(run.error.is_none(), "{run:?}");
        }
        runs
    }

    /// `(connector, kind, external id)` of every source record `zveno clients` and
    /// `zveno tasks` show.
    async fn shown(&self) -> HashSet<Shown> {
        let store = self.app.engine.store();
        let mut shown = HashSet::new();
        for client in clients(store, &ClientQuery::default(), true).await.unwrap().items {
            shown.extend(client.sources.into_iter().map(|s| (s.connector, Kind::Client, s.external_id)));
        }
        let time = ViewTime::new(chrono_tz::UTC, self.clock.now());
        for task in tasks(store, &TaskQuery::default(), &time, true).await.unwrap().items {
            shown.extend(task.sources.into_iter().map(|s| (s.connector, Kind::Task, s.external_id)));
        }
        shown
    }

    async fn live(&self, connector: &str, kind: Kind) -> u64 {
        self.app.engine.store().count_records(Some(connector), Some(kind), false).await.unwrap()
    }

    async fn stored_ids(&self, connector: &str, kind: Kind) -> Vec<String> {
        let records = self.app.engine.store().list_records(connector, kind, None, 1_000_000).await.unwrap();
        records.into_iter().filter(|r| !r.record.deleted).map(|r| r.record.external_id).collect()
    }
}

/// The incremental run of `connector`/`kind` in `runs`.
fn run<'a>(runs: &'a [RunSummary], connector: &str, kind: Kind) -> &'a RunSummary {
    let run = runs.iter().find(|r| r.connector == connector && r.kind == kind);
    let run = run.unwrap_or_else(|| panic!("no {connector}/{kind} run"));
    assert_eq!(run.mode, SyncMode::Incremental, "{run:?}");
    run
}

/// Every `step`-th id of `ids`, `n` of them.
fn spread(ids: &[String], n: usize) -> Vec<String> {
    let step = (ids.len() / n.max(1)).max(1);
    ids.iter().step_by(step).take(n).cloned().collect()
}

/// A source record as the views show it: connector, kind, external id.
type Shown = (String, Kind, String);

fn pairs(connector: &str, kind: Kind, ids: &[String]) -> Vec<Shown> {
    ids.iter().map(|id| (connector.to_string(), kind, id.clone())).collect()
}

fn assert_shown(shown: &HashSet<Shown>, expected: &[Shown], yes: bool) {
    for pair in expected {
        assert_eq!(shown.contains(pair), yes, "{pair:?} shown: expected {yes}");
    }
}

async fn start_world(seed: u64, systems: &[System]) -> (Arc<ManualClock>, World) {
    // The start of today (UTC), not now: Pipedrive's token budget is per day, and a test
    // that moves the clock six hours on from 18:00 would see the budget reset midway.
    let today = chrono::Utc::now().date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let clock = Arc::new(ManualClock::new(today));
    let mut spec = WorldSpec::new(seed, world_clients(), systems);
    spec.now = clock.now() - chrono::Duration::days(1);
    (clock, World::generate(&spec))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_deleted_in_jira_and_bitrix24_are_gone_after_the_next_incremental_cycle() {
    let (clock, world) = start_world(31, &[zveno_bitrix24::simulator::SYSTEM, zveno_jira::simulator::SYSTEM]).await;
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let (bitrix_launched, bitrix) = zveno_bitrix24::simulator::launch_with_handle(
        &world.system(zveno_bitrix24::simulator::SYSTEM),
        dyn_clock.clone(),
        31,
    )
    .await
    .unwrap();
    let jira = zveno_jira::JiraSim::start(
        world.system(zveno_jira::simulator::SYSTEM),
        dyn_clock,
        31,
        zveno_jira::SimOptions::default(),
    )
    .await
    .unwrap();
    let mut connectors = toml::Table::new();
    connectors
        .insert("b24".into(), connector("bitrix24", &bitrix_launched.server.url(), bitrix_launched.options.clone()));
    connectors.insert("jira".into(), connector("jira", &jira.url(), jira.connector_options()));
    let mut vars = bitrix_launched.env.clone();
    vars.push((zveno_jira::simulator::TOKEN_ENV.to_string(), jira.options().token.clone()));
    let d = Daemon::build(&clock, connectors, vars).await;
    d.full_sync().await;

    // At most 50 of each kind: more than max(5%, 50) would be held for an operator.
    let companies = spread(&d.stored_ids("b24", Kind::Client).await, 40);
    let b24_tasks = spread(&d.stored_ids("b24", Kind::Task).await, 40);
    let issues = spread(&d.stored_ids("jira", Kind::Task).await, 40);
    let deleted = [
        pairs("b24", Kind::Client, &companies),
        pairs("b24", Kind::Task, &b24_tasks),
        pairs("jira", Kind::Task, &issues),
    ]
    .concat();
    assert_shown(&d.shown().await, &deleted, true);
    for id in &companies {
        assert!(bitrix.delete(Kind::Client, id.parse().unwrap()), "company {id}");
    }
    for id in &b24_tasks {
        assert!(bitrix.delete(Kind::Task, id.parse().unwrap()), "task {id}");
    }
    for id in &issues {
        assert!(jira.delete(id.parse().unwrap()), "issue {id}");
    }

    let runs = d.cycle().await;
    assert_shown(&d.shown().await, &deleted, false);
    for (name, kind, n, per_request, per_lookup) in [
        ("b24", Kind::Client, companies.len(), 2_500, 50),
        ("b24", Kind::Task, b24_tasks.len(), 2_500, 50),
        ("jira", Kind::Task, issues.len(), 5_000, 100),
    ] {
        let r = run(&runs, name, kind);
        let live = d.live(name, kind).await;
        let listed = live + n as u64;
        let listing = listed.div_ceil(per_request);
        let lookups = (n as u64).div_ceil(per_lookup);
        eprintln!(
            "{name}/{kind}: {listed} records, {n} deleted; pull {} requests, census {} requests \
             (bound: {listing} listing + {lookups} lookup)",
            r.requests, r.census_requests
        );
        assert_eq!((r.tombstoned, r.held), (n as u64, 0), "{name}/{kind}: {r:?}");
        assert!(r.census_requests >= 1, "{name}/{kind}: the census ran: {r:?}");
        assert!(r.census_requests <= listing + lookups, "{name}/{kind}: {r:?}");
        let row = d.app.engine.store().runs(10, Some(name)).await.unwrap();
        let row = row.iter().find(|row| row.id == r.run_id).unwrap();
        assert_eq!((row.census_requests, row.requests), (r.census_requests, r.requests), "reported apart");
    }
    // Nothing else went: the census confirmed each record it missed.
    assert_eq!(d.live("b24", Kind::Client).await, bitrix.count(Kind::Client) as u64);
    assert_eq!(d.live("b24", Kind::Task).await, bitrix.count(Kind::Task) as u64);
    assert_eq!(d.live("jira", Kind::Task).await, jira.count() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_token_that_lost_access_to_half_the_issues_tombstones_nothing_until_approved() {
    let (clock, world) = start_world(32, &[zveno_jira::simulator::SYSTEM]).await;
    let jira = zveno_jira::JiraSim::start(
        world.system(zveno_jira::simulator::SYSTEM),
        clock.clone(),
        32,
        zveno_jira::SimOptions::default(),
    )
    .await
    .unwrap();
    let mut connectors = toml::Table::new();
    connectors.insert("jira".into(), connector("jira", &jira.url(), jira.connector_options()));
    let vars = vec![(zveno_jira::simulator::TOKEN_ENV.to_string(), jira.options().token.clone())];
    let d = Daemon::build(&clock, connectors, vars).await;
    d.full_sync().await;

    let all = d.stored_ids("jira", Kind::Task).await;
    let half: Vec<String> = all.iter().step_by(2).cloned().collect();
    let ids: Vec<u64> = half.iter().map(|id| id.parse().unwrap()).collect();
    assert_eq!(jira.restrict(&ids), half.len(), "an admin moves half the issues under a security level");

    for _ in 0..2 {
        let runs = d.cycle().await;
        let r = run(&runs, "jira", Kind::Task);
        assert_eq!((r.tombstoned, r.held), (0, half.len() as u64), "{r:?}");
        assert_eq!(d.live("jira", Kind::Task).await, all.len() as u64, "nothing tombstoned");
        assert_shown(&d.shown().await, &pairs("jira", Kind::Task, &half), true);
    }
    let holds = d.app.engine.store().census_holds().await.unwrap();
    assert_eq!(holds.len(), 1);
    let said = holds[0].describe();
    assert!(said.contains(&format!("{} of {}", half.len(), all.len())), "{said}");
    assert!(said.contains("zveno census approve jira task"), "{said}");

    let resolver = Resolver::new(d.app.engine.store().clone(), Default::default(), Default::default());
    let approved = zveno::admin::approve_census(&resolver, "jira", "task").await.unwrap();
    assert_eq!(approved.tombstoned, half.len() as u64);
    d.app.engine.resolve().await.unwrap();
    assert_shown(&d.shown().await, &pairs("jira", Kind::Task, &half), false);
    assert_eq!(d.live("jira", Kind::Task).await, (all.len() - half.len()) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_archives_go_with_the_next_cycle_and_purges_with_the_daily_census() {
    const TOKEN: &str = "pat-na1-census-test";
    let (clock, world) = start_world(33, &[zveno_hubspot::simulator::SYSTEM]).await;
    let hubspot = zveno_hubspot::HubSpotSim::start(
        &world.system(zveno_hubspot::simulator::SYSTEM),
        clock.clone(),
        33,
        zveno_hubspot::SimOptions::new(TOKEN),
    )
    .await
    .unwrap();
    let mut connectors = toml::Table::new();
    connectors.insert("hs".into(), connector("hubspot", &hubspot.url(), hubspot.connector_options()));
    let vars = vec![(zveno_hubspot::simulator::TOKEN_ENV.to_string(), TOKEN.to_string())];
    let d = Daemon::build(&clock, connectors, vars).await;
    d.full_sync().await;
    // The first cycle runs the census (never run yet); the next one is a day away.
    let first = d.cycle().await;
    assert!(run(&first, "hs", Kind::Client).census_requests > 0);

    let archived = hubspot.archive(Kind::Client, 12);
    let purged = hubspot.purge(Kind::Client, 7);
    let both = [pairs("hs", Kind::Client, &archived), pairs("hs", Kind::Client, &purged)].concat();
    assert_shown(&d.shown().await, &both, true);
    // Past the search index lag.
    clock.advance(Duration::from_secs(30));
    let runs = d.cycle().await;
    let r = run(&runs, "hs", Kind::Client);
    assert_eq!(r.census_requests, 0, "the census is not due: {r:?}");
    let shown = d.shown().await;
    assert_shown(&shown, &pairs("hs", Kind::Client, &archived), false);
    assert_shown(&shown, &pairs("hs", Kind::Client, &purged), true);

    // A day later the full scan is due, and the census right after it: a full scan alone
    // tombstones only what two of them missed.
    clock.advance(Duration::from_secs(86_400));
    let full = d.cycle().await;
    assert!(full.iter().all(|r| r.mode == SyncMode::Full), "{full:?}");
    assert_shown(&d.shown().await, &pairs("hs", Kind::Client, &purged), true);
    let runs = d.cycle().await;
    let r = run(&runs, "hs", Kind::Client);
    let live = d.live("hs", Kind::Client).await;
    assert_eq!(r.tombstoned, purged.len() as u64, "{r:?}");
    let bound = (live + purged.len() as u64).div_ceil(100) + 1;
    eprintln!(
        "hubspot/client: {live} live, {} purged; census {} requests (bound {bound})",
        purged.len(),
        r.census_requests
    );
    assert!(r.census_requests <= bound, "{r:?}");
    assert_shown(&d.shown().await, &pairs("hs", Kind::Client, &purged), false);
    assert_eq!(live, hubspot.count(Kind::Client) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_archived_sweeps_keep_to_their_own_interval() {
    const TOKEN: &str = "pat-na1-sweep-test";
    let (clock, world) = start_world(34, &[zveno_hubspot::simulator::SYSTEM]).await;
    let hubspot = zveno_hubspot::HubSpotSim::start(
        &world.system(zveno_hubspot::simulator::SYSTEM),
        clock.clone(),
        34,
        zveno_hubspot::SimOptions::new(TOKEN),
    )
    .await
    .unwrap();
    let mut options = hubspot.connector_options();
    options["archived_sweep_secs"] = serde_json::json!(3_600);
    let mut connectors = toml::Table::new();
    connectors.insert("hs".into(), connector("hubspot", &hubspot.url(), options));
    let vars = vec![(zveno_hubspot::simulator::TOKEN_ENV.to_string(), TOKEN.to_string())];
    let d = Daemon::build(&clock, connectors, vars).await;
    d.full_sync().await;
    let sweeps = || hubspot.kit().log().endpoint("list companies archived").requests;
    d.cycle().await;
    let after_first = sweeps();
    let archived = hubspot.archive(Kind::Client, 3);
    clock.advance(Duration::from_secs(30));
    d.cycle().await;
    assert_eq!(sweeps(), after_first, "five minutes on: no sweep");
    assert_shown(&d.shown().await, &pairs("hs", Kind::Client, &archived), true);
    for _ in 0..12 {
        clock.advance(Duration::from_secs(300));
    }
    d.cycle().await;
    assert!(sweeps() > after_first, "an hour on: swept");
    assert_shown(&d.shown().await, &pairs("hs", Kind::Client, &archived), false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipedrive_deletes_go_with_the_census_when_it_is_due() {
    let (clock, world) = start_world(35, &[zveno_pipedrive::simulator::SYSTEM]).await;
    let sim = zveno_pipedrive::PipedriveSim::start(
        &world.system(zveno_pipedrive::simulator::SYSTEM),
        clock.clone(),
        35,
        zveno_pipedrive::SimOptions::new("pd-census-token"),
    )
    .await
    .unwrap();
    let mut connectors = toml::Table::new();
    connectors.insert("pd".into(), connector("pipedrive", &sim.url(), sim.connector_options()));
    let vars = vec![(zveno_pipedrive::simulator::TOKEN_ENV.to_string(), sim.token())];
    let d = Daemon::build(&clock, connectors, vars).await;
    d.full_sync().await;
    let first = d.cycle().await;
    assert!(run(&first, "pd", Kind::Client).census_requests > 0, "never run: due");

    let orgs = sim.delete(Kind::Client, 9);
    let activities = sim.delete(Kind::Task, 11);
    let deleted = [pairs("pd", Kind::Client, &orgs), pairs("pd", Kind::Task, &activities)].concat();
    let runs = d.cycle().await;
    assert_eq!(run(&runs, "pd", Kind::Client).census_requests, 0, "not due five minutes later");
    assert_shown(&d.shown().await, &deleted, true);

    // Six hours on (the default census_every_secs): due.
    clock.advance(Duration::from_secs(6 * 3600));
    let tokens_before = sim.tokens_used();
    let runs = d.cycle().await;
    let tokens = sim.tokens_used() - tokens_before;
    assert_shown(&d.shown().await, &deleted, false);
    let mut census_requests = 0;
    for (kind, n) in [(Kind::Client, orgs.len()), (Kind::Task, activities.len())] {
        let r = run(&runs, "pd", kind);
        let listed = d.live("pd", kind).await + n as u64;
        eprintln!("pipedrive/{kind}: {listed} records, {n} deleted; census {} requests", r.census_requests);
        assert_eq!(r.tombstoned, n as u64, "{r:?}");
        // ceil(N / 500) list pages, one `ids=` lookup of up to 100.
        assert!(r.census_requests <= listed.div_ceil(500) + 1, "{r:?}");
        census_requests += r.census_requests;
        assert_eq!(d.live("pd", kind).await, sim.count(kind) as u64);
    }
    let persons = run(&runs, "pd", Kind::Contact);
    census_requests += persons.census_requests;
    let pulls: u64 = runs.iter().map(|r| r.requests).sum();
    eprintln!("pipedrive cycle with census: {tokens} tokens, {pulls} pull requests, {census_requests} census requests");
    assert!(tokens >= census_requests * 10, "every census call is a 10-token list call");
}
