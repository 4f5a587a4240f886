//! Writes through the batch endpoints: per-op outcomes, 207 partial failures, associations,
//! batches of 100, and failures that must not lose or duplicate a record.

use crate::common::{clock, connector, data, must_drain, sim};
use zveno_connector::{
    Client, ClientRef, Cursor, ErrorKind, Kind, RecordData, SyncMode, Task, TaskStatus, TaxId, WriteAction,
    WriteErrorKind, WriteOp,
};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::kit::FaultConfig;

fn company(name: &str, tax: Option<&str>) -> RecordData {
    RecordData::Client(Client {
        name: name.into(),
        tax_id: tax.and_then(|t| TaxId::parse(t, None).ok()),
        owner: Some("owner1@zveno-demo.ru".into()),
        ..Client::default()
    })
}

fn task(title: &str, companies: &[&str], contacts: &[&str]) -> RecordData {
    RecordData::Task(Task {
        description: Some("From zveno".into()),
        clients: companies.iter().map(|c| ClientRef::External(c.to_string())).collect(),
        contact_ids: contacts.iter().map(|c| c.to_string()).collect(),
        ..Task::new(title, TaskStatus::InProgress)
    })
}

fn create(op: &str, data: RecordData) -> WriteOp {
    WriteOp { op_id: op.into(), action: WriteAction::Create { data } }
}

fn update(op: &str, id: &str, data: RecordData) -> WriteOp {
    WriteOp { op_id: op.into(), action: WriteAction::Update { external_id: id.into(), data } }
}

#[tokio::test]
async fn a_partially_failed_batch_gives_one_outcome_per_op() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    // The portal has no `vat` property: creates carrying a tax id fail there, and only those.
    let c = connector(&sim, &clock, |_, options| options["tax_id_property"] = "vat".into());
    let ops = vec![
        create("a", company("Acme", None)),
        create("b", company("Beta", Some("7707083893"))),
        create("c", company("", None)),
        create("d", task("wrong kind", &[], &[])),
        create("e", company("Gamma", None)),
    ];
    let outcomes = match c.push(Kind::Client, &ops).await {
        Ok(o) => o,
        Err(e) => panic!("push failed as a whole: {e}"),
    };
    let ids: Vec<&str> = outcomes.iter().map(|o| o.op_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"], "outcomes come back in op order");
    let Ok(acme) = &outcomes[0].result else { panic!("a: {:?}", outcomes[0]) };
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.message.contains("vat")), "{:?}", outcomes[1]);
    assert!(outcomes[2].result.is_err() && outcomes[3].result.is_err());
    assert!(outcomes[4].result.is_ok());
    let stored = sim.record(Kind::Client, acme);
    assert_eq!(stored.as_ref().map(|r| r["properties"]["name"].clone()), Some("Acme".into()));
    assert_eq!(stored.map(|r| r["properties"]["hubspot_owner_id"].clone()), Some("1".into()));
    assert_eq!(sim.count(Kind::Client), 5);
    // HubSpot refused the batch whole for `b`: halves were sent again down to `b` alone —
    // [a b e] → [a] ok, [b e] → [b] refused, [e] ok.
    assert_eq!(sim.kit().log().endpoint("batch upsert companies").requests, 5, "split down to the bad input");
}

/// The record HubSpot holds under the id an outcome names: its name.
fn name_of(sim: &zveno_hubspot::simulator::HubSpotSim, id: &str) -> String {
    let record = sim.record(Kind::Client, id).unwrap_or_default();
    record["properties"]["name"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn batch_results_in_any_order_are_matched_to_their_inputs_by_trace_id() {
    let clock = clock();
    let sim = sim(&data(1), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let ops: Vec<WriteOp> = (0..7).map(|i| create(&format!("op{i}"), company(&format!("Company {i}"), None))).collect();
    let outcomes = c.push(Kind::Client, &ops).await.unwrap_or_default();
    assert_eq!(outcomes.len(), 7);
    for (i, outcome) in outcomes.iter().enumerate() {
        let Ok(id) = &outcome.result else { panic!("{outcome:?}") };
        assert_eq!(name_of(&sim, id), format!("Company {i}"), "{} got another input's record", outcome.op_id);
    }
    // The simulator answered them in reverse: position would have matched op0 to Company 6.
    assert_eq!(sim.kit().log().endpoint("batch upsert companies").requests, 1);
}

#[tokio::test]
async fn one_invalid_input_does_not_block_the_other_ninety_nine() {
    let clock = clock();
    let sim = sim(&data(1), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let too_long = "Я".repeat(zveno_hubspot::simulator::VALUE_MAX + 1);
    let ops: Vec<WriteOp> = (0..100)
        .map(|i| {
            let name = if i == 37 { too_long.clone() } else { format!("Company {i}") };
            create(&format!("op{i}"), company(&name, None))
        })
        .collect();
    let outcomes = c.push(Kind::Client, &ops).await.unwrap_or_default();
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.result.is_err()).map(|o| o.op_id.as_str()).collect();
    assert_eq!(failed, ["op37"], "only the bad input fails");
    assert!(outcomes[37].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Invalid), "{:?}", outcomes[37]);
    for (i, outcome) in outcomes.iter().enumerate().filter(|(i, _)| *i != 37) {
        let Ok(id) = &outcome.result else { panic!("{outcome:?}") };
        assert_eq!(name_of(&sim, id), format!("Company {i}"));
    }
    assert_eq!(sim.count(Kind::Client), 100, "99 written, once each");
    // One refused batch, then two halves per level down to one input: 2·⌈log2 100⌉ + 1.
    let requests = sim.kit().log().endpoint("batch upsert companies").requests;
    assert!((3..=15).contains(&requests), "{requests} requests");
}

#[tokio::test]
async fn a_batch_that_failed_with_a_server_error_is_neither_split_nor_resent() {
    let clock = clock();
    let sim = sim(&data(1), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await; // owners cached
                                                                          // Task creates go through batch/create (company creates are upserts, safe to resend).
    let ops: Vec<WriteOp> = (0..4).map(|i| create(&format!("op{i}"), task(&format!("Task {i}"), &[], &[]))).collect();
    let before = c.http_stats();
    sim.kit().faults().set(FaultConfig { server_errors: 1.0, ..FaultConfig::NONE });
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_default();
    sim.kit().faults().set(FaultConfig::NONE);
    assert!(
        outcomes.iter().all(|o| o.result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Unknown)),
        "{outcomes:?}"
    );
    let sent = c.http_stats().since(&before);
    assert_eq!((sent.requests, sent.retried), (1, 0), "one request, never split or resent");
}

#[tokio::test]
async fn tasks_are_created_with_their_company_and_contact_associations() {
    let clock = clock();
    let sim = sim(&data(5), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let ops = vec![
        create("t1", task("Follow up", &["3"], &["3"])),
        create("t2", task("Orphan link", &["999999"], &[])),
        create("t3", task("No links", &[], &[])),
    ];
    let outcomes = c.push(Kind::Task, &ops).await.unwrap_or_default();
    assert_eq!(outcomes.len(), 3);
    let Ok(t1) = &outcomes[0].result else { panic!("t1: {:?}", outcomes[0]) };
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.message.contains("999999")), "{:?}", outcomes[1]);
    assert!(outcomes[2].result.is_ok());
    let stored = sim.record(Kind::Task, t1).unwrap_or_default();
    assert_eq!(stored["associations"]["companies"]["results"][0]["id"], "3");
    assert_eq!(stored["associations"]["contacts"]["results"][0]["id"], "3");
    assert_eq!(stored["properties"]["hs_task_status"], "IN_PROGRESS");
    // Read back, the task is what was written.
    let run = must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await;
    let Some(RecordData::Task(back)) = run.live().get(t1.as_str()).and_then(|r| r.data.clone()) else {
        panic!("created task is listed");
    };
    assert_eq!((back.title.as_str(), back.status), ("Follow up", TaskStatus::InProgress));
    assert_eq!(back.clients, [ClientRef::External("3".into())]);
    // Association type ids come from the labels endpoint, once per instance.
    c.push(Kind::Task, &[create("t4", task("Again", &["1"], &["1"]))]).await.unwrap_or_default();
    assert_eq!(sim.kit().log().endpoint("association labels").requests, 2);
}

#[tokio::test]
async fn updates_touch_only_what_is_filled_in_and_add_task_associations() {
    let clock = clock();
    let sim = sim(&data(5), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let outcomes = c
        .push(
            Kind::Client,
            &[update("u1", "1", company("Romashka LLC", None)), update("u2", "999999", company("Nobody", None))],
        )
        .await
        .unwrap_or_default();
    assert_eq!(outcomes[0].result, Ok("1".to_string()));
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.message.contains("OBJECT_NOT_FOUND")), "{:?}", outcomes[1]);
    assert!(outcomes[1].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::NotFound), "{:?}", outcomes[1]);
    let one = sim.record(Kind::Client, "1").unwrap_or_default();
    assert_eq!(one["properties"]["name"], "Romashka LLC");
    assert_eq!(one["properties"]["domain"], "company1.ru", "an empty field is not cleared");

    let mut moved = task("", &["2"], &[]);
    if let RecordData::Task(t) = &mut moved {
        t.status = TaskStatus::Done;
    }
    let outcomes = c.push(Kind::Task, &[update("u3", "1", moved)]).await.unwrap_or_default();
    assert_eq!(outcomes[0].result, Ok("1".to_string()));
    let t = sim.record(Kind::Task, "1").unwrap_or_default();
    assert_eq!(t["properties"]["hs_task_status"], "COMPLETED");
    assert_eq!(t["properties"]["hs_task_subject"], "Call company 1", "an empty title is not written");
    let companies: Vec<&str> = t["associations"]["companies"]["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|a| a["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(companies.contains(&"1") && companies.contains(&"2"), "{companies:?}");
}

#[tokio::test]
async fn pushes_go_in_batches_of_one_hundred() {
    let clock = clock();
    let sim = sim(&data(1), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let ops: Vec<WriteOp> = (0..250).map(|i| create(&format!("op{i}"), company(&format!("New {i}"), None))).collect();
    let outcomes = c.push(Kind::Client, &ops).await.unwrap_or_default();
    assert_eq!(outcomes.iter().filter(|o| o.result.is_ok()).count(), 250);
    assert_eq!(sim.kit().log().endpoint("batch upsert companies").requests, 3);
    assert_eq!(sim.count(Kind::Client), 251);
}

#[tokio::test]
async fn archive_ops_archive_and_show_up_as_tombstones() {
    let clock = clock();
    let sim = sim(&data(5), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let op = WriteOp { op_id: "x".into(), action: WriteAction::Archive { external_id: "5".into() } };
    let outcomes = c.push(Kind::Client, &[op]).await.unwrap_or_default();
    assert_eq!(outcomes[0].result, Ok("5".to_string()));
    assert_eq!(sim.count(Kind::Client), 4);
    let run = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.tombstones(), ["5"]);
}

#[tokio::test]
async fn task_creates_lost_in_transit_fail_with_a_warning_instead_of_being_resent() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await; // owners cached
    sim.kit().faults().set(FaultConfig { server_errors: 1.0, ..FaultConfig::NONE });
    let outcomes = c.push(Kind::Task, &[create("a", task("Call Acme", &[], &[]))]).await;
    sim.kit().faults().set(FaultConfig::NONE);
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => panic!("a create that may have been applied must be reported per op, not as {e}"),
    };
    assert!(
        outcomes[0].result.as_ref().is_err_and(|e| e.message.contains("may have been applied")),
        "{:?}",
        outcomes[0]
    );
    assert!(
        outcomes[0].result.as_ref().is_err_and(|e| e.kind == WriteErrorKind::Unknown),
        "look it up before resending"
    );
    assert_eq!(c.http_stats().retried, 0, "a create is never resent blindly");
}

#[tokio::test]
async fn an_update_batch_that_fails_before_anything_was_written_returns_its_error() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let good = connector(&sim, &clock, |_, _| {});
    let bad = match sim.connector("crm", clock.clone(), "pat-na1-wrong", |_, _| {}) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let err = bad.push(Kind::Client, &[update("u", "1", company("X", None))]).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Auth));
    let err = good.push(Kind::Contact, &[]).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unsupported), "contacts are read-only");
    assert_eq!(sim.writes(), 0);
}
