//! Idempotency handles: an organization create carries its op id in the configured custom
//! field, a create whose answer was lost is found by searching for it (once the search
//! index has caught up), and `check_creates` says when the field is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use zveno_connector::{
    Client, Clock, Connector, Cursor, ErrorKind, Kind, ManualClock, RecordData, SyncMode, WriteAction, WriteErrorKind,
    WriteOp,
};
use zveno_pipedrive::simulator::{demo_token, PipedriveSim, SimOptions};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::conformance::{drain, suite_clock};
use zveno_sim::kit::FaultConfig;
use zveno_sim::world::{World, WorldSpec};

const SEED: u64 = 78;

async fn start() -> (PipedriveSim, Arc<ManualClock>) {
    let clock = suite_clock();
    let world = World::generate(&WorldSpec::new(SEED, 5, &[zveno_pipedrive::simulator::SYSTEM]));
    let sim_clock: Arc<dyn Clock> = clock.clone();
    let options = SimOptions::new(&demo_token(SEED));
    let sim =
        PipedriveSim::start(&world.system(zveno_pipedrive::simulator::SYSTEM), sim_clock, SEED, options).await.unwrap();
    (sim, clock)
}

fn connector(sim: &PipedriveSim, clock: &Arc<ManualClock>, tune: impl FnOnce(&mut Value)) -> Arc<dyn Connector> {
    let clock: Arc<dyn Clock> = clock.clone();
    sim.connector("pd", clock, &sim.token(), |_, o| tune(o)).unwrap()
}

fn create(op: &str, name: &str) -> WriteOp {
    let data = RecordData::Client(Client { name: name.into(), ..Client::default() });
    WriteOp { op_id: op.into(), action: WriteAction::Create { data } }
}

fn handle_field(sim: &PipedriveSim) -> String {
    sim.connector_options()["idempotency_field"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_organization_whose_answer_was_lost_is_found_once_the_search_index_caught_up() {
    let (sim, clock) = start().await;
    let c = connector(&sim, &clock, |_| {});
    drain(&*c, &clock, Kind::Client, SyncMode::Full, Cursor::default(), 10, 0).await.unwrap(); // users cached
    let before = sim.count(Kind::Client);
    let sent = clock.now();
    sim.kit().faults().set(FaultConfig { dropped: 1.0, ..FaultConfig::NONE });
    let outcomes = c.push(Kind::Client, &[create("op-9c1", "Lost Answer LLC")]).await;
    sim.kit().faults().set(FaultConfig::NONE);
    let outcomes = outcomes.unwrap_or_else(|e| panic!("reported per op, not as {e}"));
    assert!(outcomes[0].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Unknown), "{outcomes:?}");
    assert_eq!(sim.count(Kind::Client), before + 1, "applied once, never resent blindly");

    // The search index has not caught up: unknown, not absent (so nothing is resent).
    let early = c.find_created(Kind::Client, "op-9c1", sent).await;
    assert_eq!(early.as_ref().err().map(|e| e.kind()), Some(ErrorKind::Transient), "{early:?}");
    clock.advance(Duration::from_secs(3));
    let found = c.find_created(Kind::Client, "op-9c1", sent).await;
    let Ok(Some(id)) = found else { panic!("{found:?}") };
    let record = sim.record(Kind::Client, &id).unwrap();
    assert_eq!(record["name"], "Lost Answer LLC");
    assert_eq!(record["custom_fields"][handle_field(&sim)], "op-9c1");

    // An organization holding that text in another custom field is not taken for it.
    let decoy = connector(&sim, &clock, |o| o["idempotency_field"] = o["tax_id_field"].clone());
    decoy.push(Kind::Client, &[create("op-decoy", "Decoy")]).await.unwrap()[0].result.clone().unwrap();
    // Absent is said only once the lag has passed since the create was sent.
    let missing = c.find_created(Kind::Client, "op-never", clock.now()).await;
    assert_eq!(missing.err().map(|e| e.kind()), Some(ErrorKind::Transient));
    clock.advance(Duration::from_secs(121));
    assert_eq!(c.find_created(Kind::Client, "op-never", sent).await.ok(), Some(None));
    assert_eq!(
        c.find_created(Kind::Client, "op-decoy", sent).await.ok(),
        Some(None),
        "found by search, refused on read"
    );
    assert_eq!(sim.kit().log().endpoint("search organizations").requests, 5);
}

#[tokio::test]
async fn creates_carry_the_handle_and_without_a_field_the_look_up_is_unsupported() {
    let (sim, clock) = start().await;
    let c = connector(&sim, &clock, |_| {});
    let outcomes = c.push(Kind::Client, &[create("op-a1", "Stamped")]).await.unwrap();
    let id = outcomes[0].result.clone().unwrap();
    assert_eq!(sim.record(Kind::Client, &id).unwrap()["custom_fields"][handle_field(&sim)], "op-a1");

    let bare = connector(&sim, &clock, |o| o["idempotency_field"] = Value::Null);
    let outcomes = bare.push(Kind::Client, &[create("op-a2", "Unstamped")]).await.unwrap();
    let id = outcomes[0].result.clone().unwrap();
    assert!(sim.record(Kind::Client, &id).unwrap()["custom_fields"].get(handle_field(&sim)).is_none());
    let look = bare.find_created(Kind::Client, "op-a2", clock.now()).await;
    assert_eq!(look.err().map(|e| e.kind()), Some(ErrorKind::Unsupported), "waits rather than resends");
    let activities = c.find_created(Kind::Task, "op-a3", clock.now()).await;
    assert_eq!(activities.err().map(|e| e.kind()), Some(ErrorKind::Unsupported));
}

#[tokio::test]
async fn check_creates_wants_a_text_field_under_the_configured_key() {
    let (sim, clock) = start().await;
    let key = handle_field(&sim);
    let c = connector(&sim, &clock, |_| {});
    assert!(c.check_creates(Kind::Client).await.is_ok());
    assert!(c.check_creates(Kind::Task).await.is_ok(), "activities need no setup");
    assert_eq!(sim.kit().log().endpoint("organizationFields").requests, 1);

    sim.define_field(&key, "double");
    let err = c.check_creates(Kind::Client).await.err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::Config));
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("of type double, not Text") && message.contains("connectors.pd.idempotency_field"),
        "{message}"
    );

    sim.delete_field(&key);
    let message = c.check_creates(Kind::Client).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains(&format!("no organization field {key}")), "{message}");

    let bare = connector(&sim, &clock, |o| o["idempotency_field"] = Value::Null);
    let message = bare.check_creates(Kind::Client).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("idempotency_field is not set"), "{message}");

    let bad = sim.connector("pd", clock.clone(), &sim.token(), |_, o| o["idempotency_field"] = json!("zveno_id"));
    assert!(
        bad.err().is_some_and(|e| e.contains("idempotency_field")),
        "a key that is not a field key is a config problem"
    );
}
