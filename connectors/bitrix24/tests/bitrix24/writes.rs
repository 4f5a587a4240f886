//! Writes: companies and tasks, packed in batches, with per-op outcomes.

use serde_json::{json, Value};
use zveno_connector::{
    Client, ClientRef, Domain, Email, Kind, Phone, Priority, RecordData, Task, TaskStatus, WriteAction, WriteOp,
};
use zveno_sim::conformance::SimControls as _;

use super::{fast, portal, world};

fn phone(raw: &str) -> Phone {
    Phone::parse(raw, Phone::region("RU").ok()).unwrap_or_else(|e| panic!("{e}"))
}

fn values(company: &Value, field: &str) -> Vec<(String, String)> {
    company[field]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (text("ID"), text("VALUE"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn create(op_id: &str, data: RecordData) -> WriteOp {
    WriteOp { op_id: op_id.into(), action: WriteAction::Create { data } }
}

fn update(op_id: &str, id: &str, data: RecordData) -> WriteOp {
    WriteOp { op_id: op_id.into(), action: WriteAction::Update { external_id: id.into(), data } }
}

fn client(name: &str) -> Client {
    Client {
        name: name.into(),
        domains: vec![Domain::parse("romashka-new.ru").unwrap_or_else(|e| panic!("{e}"))],
        emails: vec![Email::parse("hello@romashka-new.ru").unwrap_or_else(|e| panic!("{e}"))],
        phones: vec![phone("+7 495 765-43-21")],
        tax_id: None,
        owner: Some("user2@zveno-demo.ru".into()),
    }
}

fn task(title: &str) -> Task {
    Task {
        title: title.into(),
        description: Some("Созвон по договору".into()),
        status: TaskStatus::Todo,
        status_name: None,
        priority: Some(Priority::High),
        assignee: Some("user3@zveno-demo.ru".into()),
        reporter: None,
        due: Some(super::world_now() + chrono::TimeDelta::days(3)),
        resolved_at: None,
        labels: vec![],
        clients: vec![ClientRef::External("4".into())],
        contact_ids: vec!["4".into()],
        labels_removed: Vec::new(),
    }
}

#[tokio::test]
async fn a_created_company_is_not_created_twice_when_the_push_is_retried() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let ops = [create("op-1", RecordData::Client(client("ООО «Новая Ромашка»")))];
    let first = c.push(Kind::Client, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first[0].result, Ok("6".to_string()));
    let company = h.sim().company(6).unwrap_or_default();
    assert_eq!(company["TITLE"], "ООО «Новая Ромашка»");
    assert_eq!(company["ORIGINATOR_ID"], "zveno");
    assert_eq!(company["ORIGIN_ID"], "op-1");
    assert_eq!(company["ASSIGNED_BY_ID"], "2");
    assert_eq!(values(&company, "PHONE").len(), 1);
    let writes = h.sim().writes();
    let again = c.push(Kind::Client, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again[0].result, Ok("6".to_string()));
    assert_eq!(h.sim().writes(), writes, "found by ORIGIN_ID, not added again");
    assert_eq!(h.sim().count(Kind::Client), 6);
}

#[tokio::test]
async fn updating_multi_fields_carries_entry_ids_and_never_duplicates() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let before = h.sim().company(2).unwrap_or_default();
    let old_phone = values(&before, "PHONE");
    let old_email = values(&before, "EMAIL");
    let mut data = client("ООО «Ромашка-2»");
    data.domains = vec![];
    data.emails = vec![];
    data.phones = vec![phone(&old_phone[0].1), phone("+7 (495) 111-22-33")];
    let out =
        c.push(Kind::Client, &[update("op-2", "2", RecordData::Client(data))]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out[0].result, Ok("2".to_string()));
    let after = h.sim().company(2).unwrap_or_default();
    let phones = values(&after, "PHONE");
    assert_eq!(phones.len(), 2, "kept one, added one: {phones:?}");
    assert_eq!(phones[0], old_phone[0], "the matching entry is untouched");
    assert_eq!(values(&after, "EMAIL"), old_email, "an empty list leaves e-mails alone");
    assert_eq!(values(&after, "WEB"), values(&before, "WEB"));
    // Replacing the second phone reuses its entry id.
    let mut data = client("ООО «Ромашка-2»");
    data.domains = vec![];
    data.emails = vec![];
    data.phones = vec![phone(&old_phone[0].1), phone("+7 (495) 999-88-77")];
    c.push(Kind::Client, &[update("op-3", "2", RecordData::Client(data))]).await.unwrap_or_else(|e| panic!("{e}"));
    let last = values(&h.sim().company(2).unwrap_or_default(), "PHONE");
    assert_eq!(last.len(), 2);
    assert_eq!(last[1].0, phones[1].0, "same entry, new value");
    assert_eq!(last[1].1, "+74959998877");
}

#[tokio::test]
async fn failed_ops_in_a_batch_do_not_fail_the_others() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let ops = [
        update("bad-id", "999", RecordData::Client(client("Нет такой"))),
        update("ok", "3", RecordData::Client(client("ООО «Ромашка-3»"))),
        WriteOp { op_id: "archive".into(), action: WriteAction::Archive { external_id: "4".into() } },
        create("wrong-kind", RecordData::Task(task("не компания"))),
    ];
    let out = c.push(Kind::Client, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = out.iter().map(|o| o.op_id.as_str()).collect();
    assert_eq!(ids, ["bad-id", "ok", "archive", "wrong-kind"], "outcomes in op order");
    assert!(out[0].result.as_ref().is_err_and(|e| e.message.contains("999")));
    assert_eq!(out[1].result, Ok("3".to_string()));
    assert!(out[2].result.is_err() && out[3].result.is_err());
}

#[tokio::test]
async fn tasks_are_created_and_updated_keeping_links_zveno_does_not_own() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let out = c
        .push(Kind::Task, &[create("t-1", RecordData::Task(task("Позвонить в «Ромашку»")))])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out[0].result, Ok("11".to_string()));
    let created = h.sim().task(11).unwrap_or_default();
    assert_eq!(created["ufCrmTask"], json!(["CO_4", "C_4"]));
    assert_eq!(created["responsibleId"], "3");
    assert_eq!(created["status"], "2");
    // Someone links a deal in the portal; zveno then moves the task to another client.
    h.sim().set_task_links(11, &["CO_4", "C_4", "D_10"]);
    let mut moved = task("Позвонить в «Ромашку»");
    moved.clients = vec![ClientRef::External("5".into())];
    moved.contact_ids = vec![];
    moved.status = TaskStatus::Done;
    let out =
        c.push(Kind::Task, &[update("t-2", "11", RecordData::Task(moved))]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out[0].result, Ok("11".to_string()));
    let updated = h.sim().task(11).unwrap_or_default();
    assert_eq!(updated["ufCrmTask"], json!(["D_10", "CO_5"]), "the deal link survives");
    assert_eq!(updated["status"], "5");
}

#[tokio::test]
async fn a_task_refused_by_the_portal_is_that_op_failing() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let mut nobody = task("Без ответственного");
    nobody.assignee = Some("404".into());
    let ops = [create("bad", RecordData::Task(nobody)), create("good", RecordData::Task(task("С ответственным")))];
    let out = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(out[0].result.as_ref().is_err_and(|e| e.message.contains("Responsible")), "{out:?}");
    assert!(out[1].result.is_ok());
}

#[tokio::test]
async fn check_reads_every_scope_and_never_writes() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    c.check().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.sim().writes(), 0);
    assert_eq!(h.sim().calls("crm.requisite.list"), 1);
    assert_eq!(h.sim().calls("tasks.task.list"), 1);
    assert_eq!(c.push(Kind::Contact, &[]).await.err().map(|e| e.kind()), Some(zveno_connector::ErrorKind::Unsupported));
}

#[tokio::test]
async fn a_create_batch_answered_with_a_gateway_502_is_sent_once() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let ops = [create("op-502", RecordData::Client(client("ООО «Шлюз»")))];
    // The portal runs the add; a gateway in front of it answers an HTML 502.
    h.sim().gateway_error_after_next_write();
    let err = c.push(Kind::Client, &ops).await.expect_err("the answer never arrived");
    assert_eq!(err.kind(), zveno_connector::ErrorKind::Transient);
    assert!(err.message().contains("not resent"), "{err}");
    assert_eq!(h.sim().calls("crm.company.add"), 1, "a create that may have run is never resent");
    assert_eq!(h.sim().count(Kind::Client), 6, "it did run");
    // Pushing the op again finds it by its ORIGIN_ID instead of creating it twice.
    let again = c.push(Kind::Client, &ops).await.unwrap();
    assert_eq!(again[0].result, Ok("6".to_string()));
    assert_eq!(h.sim().calls("crm.company.add"), 1);
    assert_eq!(h.sim().count(Kind::Client), 6);
}

#[tokio::test]
async fn creates_are_found_by_their_handle_after_a_lost_answer() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let sent = chrono::Utc::now();
    let company = c.push(Kind::Client, &[create("op-c", RecordData::Client(client("ООО «Ручка»")))]).await;
    let company = company.unwrap_or_else(|e| panic!("{e}"))[0].result.clone().unwrap_or_else(|e| panic!("{e}"));
    let created = c.push(Kind::Task, &[create("op-t", RecordData::Task(task("Созвон")))]).await;
    let task_id = created.unwrap_or_else(|e| panic!("{e}"))[0].result.clone().unwrap_or_else(|e| panic!("{e}"));
    let found = |kind: Kind, handle: &'static str| {
        let c = c.clone();
        async move { c.find_created(kind, handle, sent).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(found(Kind::Client, "op-c").await, Some(company), "by ORIGINATOR_ID + ORIGIN_ID");
    assert_eq!(found(Kind::Task, "op-t").await, Some(task_id.clone()), "by XML_ID");
    assert_eq!(found(Kind::Client, "op-never").await, None, "a create never made is absent");
    assert_eq!(found(Kind::Task, "op-never").await, None);
    let listed = h.sim().task(task_id.parse().unwrap_or_default()).unwrap_or_default();
    assert_eq!(listed["xmlId"], "zveno-op-t", "the marker the portal keeps");
}

#[tokio::test]
async fn writes_go_fifty_to_a_batch_request() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let ops: Vec<WriteOp> =
        (0..120).map(|i| create(&format!("op-{i}"), RecordData::Client(client(&format!("ООО «Новая {i}»"))))).collect();
    let before = h.sim().kit().log().total().requests;
    let outcomes = c.push(Kind::Client, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let requests = h.sim().kit().log().total().requests - before;
    assert_eq!(h.sim().writes(), 120, "one crm.company.add each");
    // 120 ops = 50 + 50 + 20: per chunk one batch looking earlier creates up and one of
    // writes; and one batch reading the portal's users, once, for owners.
    let batches = h.sim().kit().log().endpoint("batch").requests;
    assert_eq!((requests, batches), (7, 7), "requests for 120 creates, all of them batches");
}

#[tokio::test]
async fn archiving_a_task_completes_it_and_changes_nothing_else() {
    let h = portal(&world(5)).await;
    let c = fast(&h);
    let before = h.sim().task(2).unwrap_or_default();
    assert_ne!(before["status"], "5", "{before}");
    let ops = [
        WriteOp { op_id: "close".into(), action: WriteAction::Archive { external_id: "2".into() } },
        WriteOp { op_id: "bad".into(), action: WriteAction::Archive { external_id: "T-2".into() } },
    ];
    let out = c.push(Kind::Task, &ops).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out[0].result, Ok("2".to_string()));
    assert!(out[1].result.as_ref().is_err_and(|e| e.message.contains("T-2")), "{out:?}");
    let after = h.sim().task(2).unwrap_or_default();
    assert_eq!(after["status"], "5", "completed: {after}");
    for field in ["title", "responsibleId", "deadline", "ufCrmTask"] {
        assert_eq!(after[field], before[field], "{field} untouched");
    }
}
