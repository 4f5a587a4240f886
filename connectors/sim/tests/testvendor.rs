//! The test vendor beyond the conformance suite: launching it for the daemon, writes,
//! deletes, and its rate limit against the connector's default limiter.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::factory::VendorEntry;
use zveno_connector::http::RateLimit;
use zveno_connector::{
    BuildContext, Client, Clock, Connector, Cursor, Env, Kind, ManualClock, RecordData, SyncMode, WriteAction, WriteOp,
};
use zveno_sim::conformance::{drain, suite_clock, SimulatedVendor};
use zveno_sim::kit::Kit;
use zveno_sim::testvendor::{launch, TestVendorFactory, TestVendorHarness, TestVendorSim, TOKEN_ENV};
use zveno_sim::world::{World, WorldSpec};

fn connector(
    url: &str,
    token: &str,
    clock: Arc<ManualClock>,
    options: &serde_json::Value,
    limits: BTreeMap<String, RateLimit>,
) -> Arc<dyn Connector> {
    let clock: Arc<dyn Clock> = clock;
    let mut ctx = BuildContext::new("tv", clock);
    ctx.base_url = url::Url::parse(url).ok();
    ctx.env = Env::from_pairs([(TOKEN_ENV, token)]);
    ctx.rate_limits = limits;
    let entry = VendorEntry::of::<TestVendorFactory>();
    let problems = (entry.validate)(options, &ctx);
    assert!(problems.is_empty(), "{problems:?}");
    (entry.build)(options, ctx).unwrap_or_else(|e| panic!("build: {e}"))
}

#[tokio::test]
async fn launch_describes_how_to_point_a_connector_at_it() {
    let world = World::generate(&WorldSpec::new(3, 30, &[zveno_sim::testvendor::SYSTEM]));
    let data = world.system(zveno_sim::testvendor::SYSTEM);
    let clock = suite_clock();
    let (launched, sim) = launch(&data, clock.clone(), 3).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(launched.vendor, "testvendor");
    assert!(launched.help.contains(&launched.server.url()), "{}", launched.help);
    let (var, token) = &launched.env[0];
    assert_eq!(var, TOKEN_ENV);
    let c = connector(&launched.server.url(), token, clock.clone(), &launched.options, BTreeMap::new());
    c.check().await.unwrap_or_else(|e| panic!("check: {e}"));
    let run = drain(&*c, &clock, Kind::Client, SyncMode::Full, Cursor::default(), 10, 0)
        .await
        .unwrap_or_else(|e| panic!("pull: {e}"));
    assert_eq!(run.records.len(), data.companies.len());
    assert_eq!(sim.count(Kind::Client), data.companies.len());
}

#[tokio::test]
async fn writes_and_deletes_show_up_in_the_next_incremental_run() {
    let clock = suite_clock();
    let h = TestVendorHarness::start(11, clock.clone()).await;
    let c = h.connector();
    let baseline = drain(&*c, &clock, Kind::Client, SyncMode::Incremental, Cursor::default(), 50, 0)
        .await
        .unwrap_or_else(|e| panic!("baseline: {e}"));
    clock.advance(std::time::Duration::from_secs(5));

    let data = |name: &str| RecordData::Client(Client { name: name.into(), ..Client::default() });
    let ops = [
        WriteOp { op_id: "a".into(), action: WriteAction::Create { data: data("Новый клиент") } },
        WriteOp { op_id: "b".into(), action: WriteAction::Update { external_id: "2".into(), data: data("Renamed") } },
        WriteOp { op_id: "c".into(), action: WriteAction::Archive { external_id: "3".into() } },
        WriteOp { op_id: "d".into(), action: WriteAction::Update { external_id: "999".into(), data: data("x") } },
    ];
    let outcomes = c.push(Kind::Client, &ops).await.unwrap_or_else(|e| panic!("push: {e}"));
    let results: Vec<_> = outcomes.iter().map(|o| (o.op_id.as_str(), o.result.is_ok())).collect();
    assert_eq!(results, [("a", true), ("b", true), ("c", true), ("d", false)]);
    let created = outcomes[0].result.clone().unwrap_or_default();
    assert_eq!(h.writes(), 4);

    let next = drain(&*c, &clock, Kind::Client, SyncMode::Incremental, baseline.cursor, 50, 0)
        .await
        .unwrap_or_else(|e| panic!("incremental: {e}"));
    let live: Vec<(&str, bool)> = next.records.iter().map(|r| (r.external_id.as_str(), r.deleted)).collect();
    assert!(live.contains(&(created.as_str(), false)), "{live:?}");
    assert!(live.contains(&("2", false)) && live.contains(&("3", true)), "{live:?}");
    assert!(live.len() <= 4, "only the changes (and the overlap) come back: {live:?}");

    // Archiving again (a resend after a lost answer) is still success.
    let again = c.push(Kind::Client, &ops[2..3]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(again[0].result.is_ok(), "{again:?}");
    // A full scan no longer lists the deleted record.
    let full = drain(&*c, &clock, Kind::Client, SyncMode::Full, Cursor::default(), 50, 0)
        .await
        .unwrap_or_else(|e| panic!("full: {e}"));
    assert!(full.records.iter().all(|r| r.external_id != "3"));
    assert_eq!(full.records.len(), h.count(Kind::Client));
}

#[tokio::test]
async fn the_default_limiter_never_meets_a_429_and_an_aggressive_override_does() {
    let clock = suite_clock();
    let world = World::generate(&WorldSpec::new(12, 120, &[zveno_sim::testvendor::SYSTEM]));
    let sim = TestVendorSim::new(&world.system(zveno_sim::testvendor::SYSTEM), Kit::new(clock.clone(), 12), "t0ken");
    let server = sim.serve().await.unwrap_or_else(|e| panic!("{e}"));
    let options = serde_json::json!({"token_env": TOKEN_ENV, "page_size": 1});
    let polite = connector(&server.url(), "t0ken", clock.clone(), &options, BTreeMap::new());
    let want = sim.count(Kind::Task);
    let run = drain(&*polite, &clock, Kind::Task, SyncMode::Full, Cursor::default(), want + 5, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.records.len(), want);
    assert!(want > 150, "the world must exceed the 100-request window: {want}");
    assert_eq!(sim.kit().log().total().throttled, 0, "{:?}", sim.kit().log().by_endpoint());

    let eager_limits = BTreeMap::from([("default".to_string(), RateLimit::new(1000, 1))]);
    let eager = connector(&server.url(), "t0ken", clock.clone(), &options, eager_limits);
    let run = drain(&*eager, &clock, Kind::Task, SyncMode::Full, Cursor::default(), want + 5, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.records.len(), want, "429s are waited out, nothing is lost");
    assert!(sim.kit().log().total().throttled > 0, "an over-eager client meets the vendor's limit");
    assert!(eager.http_stats().throttled > 0);
}
