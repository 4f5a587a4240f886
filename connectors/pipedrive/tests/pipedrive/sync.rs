//! The connector against its simulator on virtual time: the token ledger and its reserve,
//! the company budget answering 429, incremental runs picking up changes and additions,
//! deletes seen by full scans, and writes with per-op outcomes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use zveno_connector::{
    Client, ClientRef, Clock, Connector, Cursor, Domain, ErrorKind, Kind, ManualClock, RecordData, SyncMode, Task,
    TaskStatus, TaxId, WriteAction, WriteOp,
};
use zveno_pipedrive::simulator::{demo_token, PipedriveSim, SimOptions};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::conformance::{drain, suite_clock};
use zveno_sim::world::{World, WorldSpec};

const SEED: u64 = 77;

async fn start(clients: usize, page: usize) -> (PipedriveSim, Arc<ManualClock>) {
    let clock = suite_clock();
    let world = World::generate(&WorldSpec::new(SEED, clients, &[zveno_pipedrive::simulator::SYSTEM]));
    let options = SimOptions { max_page: page, ..SimOptions::new(&demo_token(SEED)) };
    let sim_clock: Arc<dyn Clock> = clock.clone();
    let sim =
        PipedriveSim::start(&world.system(zveno_pipedrive::simulator::SYSTEM), sim_clock, SEED, options).await.unwrap();
    (sim, clock)
}

fn connector(sim: &PipedriveSim, clock: &Arc<ManualClock>, options: Value) -> Arc<dyn Connector> {
    let clock: Arc<dyn Clock> = clock.clone();
    sim.connector("pd", clock, &sim.token(), |_, o| {
        if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), options) {
            o.extend(extra);
        }
    })
    .unwrap()
}

fn ids(records: &[zveno_connector::SourceRecord]) -> BTreeSet<String> {
    records.iter().filter(|r| !r.deleted).map(|r| r.external_id.clone()).collect()
}

#[tokio::test]
async fn the_token_reserve_stops_a_scan_at_a_page_boundary_and_it_resumes_after_the_reset() {
    let (sim, clock) = start(500, 50).await;
    // 100 tokens, 20 kept for others: the users call (20) and six list pages (60).
    let c = connector(&sim, &clock, json!({"daily_token_budget": 100, "daily_reserve_percent": 20}));
    let mut cursor = Cursor::default();
    let mut seen = BTreeSet::new();
    let stopped = loop {
        match c.pull(Kind::Client, SyncMode::Full, &cursor).await {
            Ok(page) => {
                seen.extend(ids(&page.records));
                assert!(page.more, "the scan should not finish inside the budget");
                cursor = page.cursor;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(seen.len(), 6 * 50, "six pages stored before the reserve");
    let ErrorKind::RateLimited { retry_after: Some(wait) } = stopped.kind() else {
        panic!("expected RateLimited with a wait, got {stopped}");
    };
    assert!(stopped.message().contains("reserve") && stopped.message().contains("(UTC)"), "{stopped}");
    let midnight = clock.now().date_naive().succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    assert_eq!(wait, (midnight - clock.now()).to_std().unwrap());
    let requests = sim.kit().log().total().requests;
    assert!(c.pull(Kind::Client, SyncMode::Full, &cursor).await.is_err());
    assert_eq!(sim.kit().log().total().requests, requests, "a refused page sends nothing");

    clock.advance(wait + Duration::from_secs(1));
    let rest = drain(&*c, &clock, Kind::Client, SyncMode::Full, cursor, 100, 0).await;
    let rest = rest.unwrap_or_else(|e| panic!("after the reset the scan resumes: {e}"));
    seen.extend(ids(&rest.records));
    assert_eq!(seen.len(), sim.count(Kind::Client), "resumed from the saved page, every organization stored");
}

#[tokio::test]
async fn a_spent_company_budget_stops_everything_until_the_reset() {
    let (sim, clock) = start(60, 500).await;
    let c = connector(&sim, &clock, json!({}));
    sim.set_tokens_used(SimOptions::new("").daily_tokens);
    let err = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::RateLimited { retry_after: Some(_) }), "{err}");
    assert!(err.message().contains("daily token budget"), "{err}");
    let sent = sim.kit().log().total();
    assert_eq!((sent.requests, sent.throttled), (1, 1), "one 429, no retries against a spent budget");
    let again = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.unwrap_err();
    assert!(again.message().contains("resuming after the reset"), "{again}");
    assert_eq!(sim.kit().log().total().requests, 1, "nothing is sent until the reset");
}

#[tokio::test]
async fn incremental_runs_pick_up_changes_and_additions_and_full_scans_miss_deletes() {
    let (sim, clock) = start(400, 500).await;
    let c = connector(&sim, &clock, json!({}));
    for kind in Kind::ALL {
        let full = drain(&*c, &clock, kind, SyncMode::Full, Cursor::default(), 50, 0).await.unwrap();
        assert_eq!(ids(&full.records).len(), sim.count(kind));
        clock.advance(Duration::from_secs(300));
        let mut changed: BTreeSet<String> = sim.touch(kind, 4).into_iter().collect();
        changed.extend(sim.add(kind, 3));
        clock.advance(Duration::from_secs(5));
        let requests = sim.kit().log().total().requests;
        let next = drain(&*c, &clock, kind, SyncMode::Incremental, full.cursor, 50, 0).await.unwrap();
        assert_eq!(ids(&next.records), changed, "{kind}: exactly the changes and additions");
        assert_eq!(sim.kit().log().total().requests - requests, 1, "{kind}: one list request");

        let deleted: BTreeSet<String> = sim.delete(kind, 5).into_iter().collect();
        let census = drain(&*c, &clock, kind, SyncMode::Full, Cursor::default(), 50, 0).await.unwrap();
        let seen = ids(&census.records);
        assert_eq!(seen.len(), sim.count(kind));
        assert!(seen.is_disjoint(&deleted), "{kind}: a full scan no longer lists deleted records");
    }
}

fn op(id: &str, action: WriteAction) -> WriteOp {
    WriteOp { op_id: id.to_string(), action }
}

#[tokio::test]
async fn writes_create_and_update_organizations_and_activities_one_outcome_per_op() {
    let (sim, clock) = start(40, 500).await;
    let c = connector(&sim, &clock, json!({}));
    let client = Client {
        name: "ООО «Новый клиент»".into(),
        domains: vec![Domain::parse("novy-klient.ru").unwrap()],
        tax_id: TaxId::parse("7707083893", None).ok(),
        ..Client::default()
    };
    let ops = [
        op("new", WriteAction::Create { data: RecordData::Client(client.clone()) }),
        op(
            "rename",
            WriteAction::Update {
                external_id: "2".into(),
                data: RecordData::Client(Client { name: "Renamed".into(), ..Client::default() }),
            },
        ),
        op("missing", WriteAction::Update { external_id: "999999".into(), data: RecordData::Client(client.clone()) }),
        op("nameless", WriteAction::Create { data: RecordData::Client(Client::default()) }),
        op("delete", WriteAction::Archive { external_id: "3".into() }),
    ];
    let before = sim.record(Kind::Client, "2").unwrap();
    let outcomes = c.push(Kind::Client, &ops).await.unwrap();
    let results: Vec<(&str, bool)> = outcomes.iter().map(|o| (o.op_id.as_str(), o.result.is_ok())).collect();
    assert_eq!(results, [("new", true), ("rename", true), ("missing", false), ("nameless", false), ("delete", false)]);
    let new_id = outcomes[0].result.clone().unwrap();
    let created = sim.record(Kind::Client, &new_id).unwrap();
    assert_eq!(created["website"], "https://novy-klient.ru");
    assert_eq!(created["custom_fields"][SimOptions::new("").tax_id_field.as_str()], "7707083893");
    let renamed = sim.record(Kind::Client, "2").unwrap();
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["website"], before["website"], "an update touches only what it names");
    assert_eq!(renamed["custom_fields"], before["custom_fields"]);
    assert_eq!(sim.writes(), 3, "the create, the update and the refused update reached Pipedrive");

    let task = Task {
        labels: vec!["call".into()],
        clients: vec![ClientRef::External(new_id.clone())],
        ..Task::new("Позвонить по продлению", TaskStatus::Todo)
    };
    let done = Task { status: TaskStatus::Done, ..task.clone() };
    let outcomes = c
        .push(
            Kind::Task,
            &[
                op("t1", WriteAction::Create { data: RecordData::Task(task) }),
                op("t2", WriteAction::Update { external_id: "1".into(), data: RecordData::Task(done) }),
            ],
        )
        .await
        .unwrap();
    let activity_id = outcomes[0].result.clone().unwrap();
    let activity = sim.record(Kind::Task, &activity_id).unwrap();
    assert_eq!((activity["type"].as_str(), activity["org_id"].as_u64()), (Some("call"), new_id.parse().ok()));
    assert_eq!(outcomes[1].result.as_deref(), Ok("1"));
    assert_eq!(sim.record(Kind::Task, "1").unwrap()["done"], true);

    let persons = c.push(Kind::Contact, &[]).await.unwrap_err();
    assert_eq!(persons.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_rejected_token_fails_a_push_before_anything_is_written() {
    let (sim, clock) = start(20, 500).await;
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let c = sim.connector("pd", clock_dyn, "wrong-token", |_, _| {}).unwrap();
    let data = RecordData::Client(Client { name: "X".into(), ..Client::default() });
    let err = c.push(Kind::Client, &[op("a", WriteAction::Create { data })]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(sim.writes(), 0);
}

#[tokio::test]
async fn fetch_reads_records_by_id_in_calls_of_a_hundred_and_names_the_missing() {
    let (sim, clock) = start(300, 50).await;
    let c = connector(&sim, &clock, json!({}));
    let pulled = drain(&*c, &clock, Kind::Client, SyncMode::Full, Cursor::default(), 50, 0).await.unwrap();
    let known: Vec<String> = pulled.records.iter().take(250).map(|r| r.external_id.clone()).collect();
    let mut asked = known.clone();
    asked.extend(["99999999".to_string(), "not-an-id".to_string(), known[0].clone()]);
    let lists = sim.kit().log().endpoint("list organizations").requests;
    let fetched = c.fetch(Kind::Client, &asked).await.unwrap();
    let calls = sim.kit().log().endpoint("list organizations").requests - lists;
    // 251 distinct numeric ids: `ids=` calls of 100, 100 and 51, answered in pages of 50
    // (the harness's page), so 2 + 2 + 1 requests following `next_cursor`.
    assert_eq!(calls, 5);
    assert_eq!(ids(&fetched.records), known.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(fetched.records.len(), known.len(), "each record once");
    let mut missing = fetched.missing.clone();
    missing.sort();
    assert_eq!(missing, ["99999999", "not-an-id"]);
    for record in &fetched.records {
        let same = pulled.records.iter().find(|r| r.external_id == record.external_id).unwrap();
        assert_eq!((&record.data, record.updated_at, &record.url), (&same.data, same.updated_at, &same.url));
    }

    let deleted = sim.delete(Kind::Client, 1);
    let gone = c.fetch(Kind::Client, &deleted).await.unwrap();
    assert_eq!((gone.records.len(), gone.missing), (0, deleted), "a deleted record is missing");
    let none = c.fetch(Kind::Client, &[]).await.unwrap();
    assert!(none.records.is_empty() && none.missing.is_empty());
}
