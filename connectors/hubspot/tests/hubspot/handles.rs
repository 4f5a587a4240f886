//! Idempotency handles: a create whose answer was lost is found by the property it carries,
//! a resend does not duplicate it, and `check_creates` says when the property is missing.

use std::time::Duration;

use crate::common::{clock, connector, data, must_drain, sim};
use zveno_connector::{
    Client, Clock as _, Connector, Cursor, ErrorKind, Kind, RecordData, SyncMode, Task, TaskStatus, WriteAction,
    WriteErrorKind, WriteOp,
};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::kit::FaultConfig;

fn create(op: &str, data: RecordData) -> WriteOp {
    WriteOp { op_id: op.into(), action: WriteAction::Create { data } }
}

fn company(name: &str) -> RecordData {
    RecordData::Client(Client { name: name.into(), ..Client::default() })
}

fn task(title: &str) -> RecordData {
    RecordData::Task(Task::new(title, TaskStatus::Todo))
}

/// Pushes `ops` with every answer dropped mid-body after the portal applied the write.
async fn push_answers_lost(
    sim: &zveno_hubspot::simulator::HubSpotSim,
    c: &dyn Connector,
    kind: Kind,
    ops: &[WriteOp],
) -> Vec<zveno_connector::WriteOutcome> {
    must_drain(c, kind, SyncMode::Full, Cursor::default()).await; // owners cached
    sim.kit().faults().set(FaultConfig { dropped: 1.0, ..FaultConfig::NONE });
    let outcomes = c.push(kind, ops).await;
    sim.kit().faults().set(FaultConfig::NONE);
    outcomes.unwrap_or_else(|e| panic!("a create that may have been applied is reported per op, not as {e}"))
}

#[tokio::test]
async fn a_company_whose_answer_was_lost_is_found_by_its_handle_and_a_resend_does_not_duplicate() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let op = create("op-7f3a", company("Acme"));
    let outcomes = push_answers_lost(&sim, &*c, Kind::Client, std::slice::from_ref(&op)).await;
    assert!(outcomes[0].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Unknown), "{outcomes:?}");
    assert_eq!(sim.count(Kind::Client), 3, "written once, although the upsert was resent after each lost answer");
    assert!(c.http_stats().retried > 0, "upserts are resent like updates");

    // Found at once: batch read by the unique property does not wait for the search index.
    let found = c.find_created(Kind::Client, "op-7f3a", clock.now()).await;
    let Ok(Some(id)) = found else { panic!("{found:?}") };
    let record = sim.record(Kind::Client, &id).unwrap_or_default();
    assert_eq!((&record["properties"]["name"], &record["properties"]["zveno_id"]), (&"Acme".into(), &"op-7f3a".into()));

    // Sent again (the same op id), it lands on the same record.
    let outcomes = c.push(Kind::Client, &[op]).await.unwrap_or_default();
    assert_eq!(outcomes[0].result, Ok(id));
    assert_eq!(sim.count(Kind::Client), 3);
    assert_eq!(c.find_created(Kind::Client, "never-sent", clock.now()).await.ok(), Some(None), "certainly absent");
}

#[tokio::test]
async fn a_task_whose_answer_was_lost_is_found_once_the_search_index_caught_up() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let sent = clock.now();
    let outcomes = push_answers_lost(&sim, &*c, Kind::Task, &[create("op-t1", task("Call back"))]).await;
    assert!(outcomes[0].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Unknown), "{outcomes:?}");
    assert_eq!(c.http_stats().retried, 0, "a task create is never resent blindly");
    assert_eq!(sim.count(Kind::Task), 3);

    // The search index has not caught up yet: unknown, not absent.
    let early = c.find_created(Kind::Task, "op-t1", sent).await;
    assert_eq!(early.as_ref().err().map(|e| e.kind()), Some(ErrorKind::Transient), "{early:?}");
    clock.advance(Duration::from_secs(3));
    let found = c.find_created(Kind::Task, "op-t1", sent).await;
    let Ok(Some(id)) = found else { panic!("{found:?}") };
    assert_eq!(sim.record(Kind::Task, &id).unwrap_or_default()["properties"]["zveno_id"], "op-t1");

    // Absent is said only once the lag has passed since the create was sent.
    let missing = c.find_created(Kind::Task, "op-none", clock.now()).await;
    assert_eq!(missing.err().map(|e| e.kind()), Some(ErrorKind::Transient));
    clock.advance(Duration::from_secs(301));
    assert_eq!(c.find_created(Kind::Task, "op-none", sent).await.ok(), Some(None));
}

#[tokio::test]
async fn check_creates_wants_the_handle_property_and_unique_values_on_companies() {
    let clock = clock();
    let sim = sim(&data(1), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    for kind in [Kind::Client, Kind::Task] {
        assert!(c.check_creates(kind).await.is_ok(), "{kind}: the default portal has zveno_id");
    }
    sim.define_property(Kind::Client, "zveno_id", false);
    let err = c.check_creates(Kind::Client).await.err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::Config));
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("does not require unique values") && message.contains("Require unique values"),
        "{message}"
    );
    // Upserts on it are refused, and nothing is written.
    let outcomes = c.push(Kind::Client, &[create("op-u", company("Refused"))]).await.unwrap_or_default();
    assert!(outcomes[0].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Invalid), "{outcomes:?}");
    assert_eq!(sim.count(Kind::Client), 1);

    sim.delete_property(Kind::Task, "zveno_id");
    let message = c.check_creates(Kind::Task).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("no task property zveno_id") && message.contains("connectors.crm.idempotency_property"),
        "{message}"
    );

    let other = connector(&sim, &clock, |_, options| options["idempotency_property"] = "crm_handle".into());
    let message = other.check_creates(Kind::Client).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("no company property crm_handle"), "{message}");
    sim.define_property(Kind::Client, "crm_handle", true);
    assert!(other.check_creates(Kind::Client).await.is_ok());
}
