//! Pulls: keyset pages chained in batches, requisites, users, incremental windows.

use serde_json::json;
use zveno_connector::{ClientRef, Cursor, Kind, RecordData, SyncMode, TaskStatus};

use zveno_connector::Clock as _;
use zveno_sim::conformance::SimulatedVendor as _;

use super::{connector, drain, fast, harness, inn, portal, world};

fn batches(h: &zveno_bitrix24::simulator::Bitrix24Harness) -> u64 {
    h.sim().kit().log().endpoint("batch").requests
}

#[tokio::test]
async fn full_pulls_read_every_record_of_every_kind_page_by_page() {
    let h = harness(11).await;
    let c = h.connector();
    for kind in Kind::ALL {
        let out = drain(c.as_ref(), kind, SyncMode::Full, Cursor::default()).await;
        let n = h.sim().count(kind);
        assert!(n > 100, "the harness world should span pages: {n} {kind}");
        assert_eq!(out.records.len(), n, "{kind}");
        assert_eq!(out.unique().len(), n, "{kind}: duplicates");
        assert!(out.errors.is_empty(), "{kind}: {:?}", out.errors);
        assert_eq!(out.pages, n.div_ceil(50) + usize::from(n % 50 == 0), "{kind}: one page per 50 rows");
        assert_eq!(out.cursor, Cursor::default(), "a finished full scan starts over");
    }
}

#[tokio::test]
async fn a_full_scan_costs_one_request_per_2500_records_and_one_for_their_requisites() {
    let h = portal(&world(5_100)).await;
    let c = fast(&h);
    let out = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(out.records.len(), 5_100);
    assert_eq!(out.unique().len(), 5_100);
    assert_eq!(out.pages, 3, "2,500 + 2,500 + 100");
    // users (1) + three company batches + three requisite batches
    assert_eq!(batches(&h), 7);
    assert_eq!(h.sim().calls("crm.requisite.list"), 102, "one call per 50 companies");
    let contacts = drain(c.as_ref(), Kind::Contact, SyncMode::Full, Cursor::default()).await;
    assert_eq!(contacts.records.len(), 5_100);
    assert_eq!(batches(&h), 10, "contacts: three more batches, users cached");
}

#[tokio::test]
async fn calls_after_the_last_short_page_are_discarded() {
    // 120 companies: calls 0 and 1 are full, call 2 has 20 rows, and calls 3..49 reference a
    // row that does not exist; the portal runs them with a meaningless filter.
    let h = portal(&world(120)).await;
    let out = drain(fast(&h).as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(out.ids(), (1..=120).collect::<Vec<u64>>());
    assert_eq!(out.pages, 1);
    assert_eq!(h.sim().calls("crm.company.list"), 50, "the whole chain was sent");
}

#[tokio::test]
async fn clients_carry_requisite_inns_and_companies_without_requisites_have_none() {
    let h = portal(&world(60)).await;
    let out = drain(fast(&h).as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    for record in &out.records {
        let id: u64 = record.external_id.parse().unwrap_or(0);
        let Some(RecordData::Client(client)) = &record.data else {
            panic!("not a client: {record:?}");
        };
        let want = (id % 3 != 0).then(|| inn(id));
        assert_eq!(client.tax_id.as_ref().map(ToString::to_string), want, "company {id}");
        assert_eq!(client.name, format!("ООО «Ромашка-{id}»"));
        assert_eq!(client.owner.as_deref(), Some(format!("user{}@zveno-demo.ru", 1 + id % 3).as_str()));
        assert_eq!(client.domains.first().map(|d| d.to_string()), Some(format!("romashka{id}.ru")));
        assert!(client.phones.first().is_some_and(|p| p.as_str().starts_with("+7495")));
        assert!(record.url.as_deref().is_some_and(|u| u.ends_with(&format!("/crm/company/details/{id}/"))));
    }
}

#[tokio::test]
async fn a_company_with_more_requisites_than_a_page_still_gets_its_inn() {
    let h = portal(&world(60)).await;
    // Company 3 has no INN in the world. Give it 55 requisites, the 49th with an INN: the
    // page for companies 1-50 fills up with its first requisites before reaching that one.
    for n in 1..=55 {
        h.sim().add_requisite(3, if n == 49 { inn(3) } else { String::new() }.as_str());
    }
    let out = drain(fast(&h).as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    let three = out.records.iter().find(|r| r.external_id == "3");
    let tax = three.and_then(|r| match &r.data {
        Some(RecordData::Client(c)) => c.tax_id.clone(),
        _ => None,
    });
    assert_eq!(tax.map(|t| t.to_string()), Some(inn(3)));
    assert!(h.sim().calls("crm.requisite.list") > 2, "the crowded company was read again");
}

fn tax_ids(records: &[zveno_connector::SourceRecord]) -> std::collections::BTreeMap<u64, String> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            Some(RecordData::Client(c)) => Some((r.external_id.parse().ok()?, c.tax_id.as_ref()?.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn with_a_tax_id_field_set_requisite_inns_are_still_read() {
    // A portal that keeps INNs in both places: companies 1-10 only in requisites, 11-20
    // only in the user field, 21-30 in both, one of them (22) with a different INN there.
    let h = portal(&world(60)).await;
    for id in 1..=10 {
        h.sim().set_company_field(id, "UF_CRM_INN", "");
    }
    for id in 11..=20 {
        h.sim().clear_requisites(id);
    }
    h.sim().set_company_field(22, "UF_CRM_INN", &inn(23));
    let c = connector(&h, &json!({"calls_per_batch": 50, "tax_id_field": ["UF_CRM_INN"]}));
    let out = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    let found = tax_ids(&out.records);
    for id in (1..=30).filter(|id| id % 3 != 0) {
        assert_eq!(found.get(&id), Some(&inn(id)), "company {id}");
    }
    assert_eq!(found.len(), 40, "every company with an INN anywhere has one");
    let conflicted = out.records.iter().find(|r| r.external_id == "22").map(|r| r.warnings.clone());
    let warning = conflicted.unwrap_or_default().into_iter().find(|w| w.contains("different tax ids"));
    assert_eq!(
        warning,
        Some(format!("different tax ids: {} in UF_CRM_INN; using {} of requisite 15", inn(23), inn(22)))
    );
    assert!(h.sim().calls("crm.requisite.list") > 0);
}

#[tokio::test]
async fn an_incremental_run_sees_a_requisite_edit_that_left_the_company_untouched() {
    let h = portal(&world(60)).await;
    let c = fast(&h);
    let full = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(tax_ids(&full.records).get(&3), None, "company 3 has no INN yet");
    let since = h.clock().now();
    let Some(start) = c.incremental_cursor(Kind::Client, since) else { panic!("no incremental cursor") };
    h.clock().advance(std::time::Duration::from_secs(60));
    h.sim().add_requisite(3, &inn(3));
    let out = drain(c.as_ref(), Kind::Client, SyncMode::Incremental, start).await;
    assert_eq!(out.ids(), [3], "only the company whose requisite changed");
    assert_eq!(tax_ids(&out.records).get(&3), Some(&inn(3)));
    // The next window's overlap still reaches back to the edit; the one after does not.
    let mut cursor = out.cursor.clone();
    let mut windows = Vec::new();
    for _ in 0..2 {
        h.clock().advance(std::time::Duration::from_secs(600));
        let window = drain(c.as_ref(), Kind::Client, SyncMode::Incremental, cursor).await;
        windows.push(window.ids());
        cursor = window.cursor;
    }
    assert_eq!(windows, [vec![3], vec![]], "re-read within the overlap, then quiet");
}

#[tokio::test]
async fn contacts_link_to_their_company_and_tasks_to_clients_and_contacts() {
    let h = portal(&world(30)).await;
    let c = fast(&h);
    let contacts = drain(c.as_ref(), Kind::Contact, SyncMode::Full, Cursor::default()).await;
    let Some(RecordData::Contact(first)) = contacts.records.first().and_then(|r| r.data.clone()) else {
        panic!("no contact");
    };
    assert_eq!(first.client_ids, ["1"]);
    assert_eq!(first.name, "Анна Петрова-1");
    assert_eq!(first.owner.as_deref(), Some("user2@zveno-demo.ru"));
    h.sim().set_task_links(1, &["CO_1", "C_1", "D_10", "CO_2", "L_4"]);
    let tasks = drain(c.as_ref(), Kind::Task, SyncMode::Full, Cursor::default()).await;
    assert_eq!(tasks.records.len(), 60);
    let Some(RecordData::Task(task)) = tasks.records.first().and_then(|r| r.data.clone()) else {
        panic!("no task");
    };
    assert_eq!(task.clients, [ClientRef::External("1".into()), ClientRef::External("2".into())]);
    assert_eq!(task.contact_ids, ["1"]);
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(task.assignee.as_deref(), Some("user3@zveno-demo.ru"));
    assert_eq!(task.labels, ["звонок"]);
    assert!(task.due.is_some());
}

#[tokio::test]
async fn incremental_pulls_see_only_what_changed_since_the_full_scan() {
    let h = harness(12).await;
    let c = h.connector();
    for kind in Kind::ALL {
        let since = h.clock().now();
        drain(c.as_ref(), kind, SyncMode::Full, Cursor::default()).await;
        let cursor = c.incremental_cursor(kind, since).unwrap_or_default();
        h.clock().advance(std::time::Duration::from_secs(600));
        let touched = h.sim().touch(kind, 7);
        let out = drain(c.as_ref(), kind, SyncMode::Incremental, cursor).await;
        let got: Vec<String> = out.records.iter().map(|r| r.external_id.clone()).collect();
        assert_eq!(got, touched, "{kind}");
        // The next window reaches back over the overlap and re-reads them (idempotently);
        // the one after that is empty.
        h.clock().advance(std::time::Duration::from_secs(3600));
        let again = drain(c.as_ref(), kind, SyncMode::Incremental, out.cursor).await;
        assert_eq!(again.records.len(), 7, "{kind}");
        h.clock().advance(std::time::Duration::from_secs(3600));
        let empty = drain(c.as_ref(), kind, SyncMode::Incremental, again.cursor).await;
        assert!(empty.records.is_empty(), "{kind}: {:?}", empty.ids());
    }
}

#[tokio::test]
async fn the_overlap_rereads_changes_committed_late_before_the_watermark() {
    for (overlap, seen) in [(300, true), (0, false)] {
        let h = portal(&world(20)).await;
        let c = connector(&h, &json!({"calls_per_batch": 50, "overlap_secs": overlap}));
        let closed_at = h.clock().now();
        let first = drain(c.as_ref(), Kind::Task, SyncMode::Incremental, Cursor::default()).await;
        assert_eq!(first.records.len(), 40, "the first window reads everything");
        // A change that commits after that window was read, stamped 2 minutes before it closed.
        h.sim().stamp(Kind::Task, 5, closed_at - chrono::TimeDelta::seconds(120));
        h.clock().advance(std::time::Duration::from_secs(60));
        let out = drain(c.as_ref(), Kind::Task, SyncMode::Incremental, first.cursor).await;
        assert_eq!(out.ids() == [5], seen, "overlap {overlap}: {:?}", out.ids());
    }
}

#[tokio::test]
async fn incremental_chains_grow_while_pages_stay_full() {
    let h = portal(&world(200)).await;
    let c = fast(&h);
    let since = h.clock().now();
    h.clock().advance(std::time::Duration::from_secs(600));
    let touched = h.sim().touch(Kind::Task, 300);
    let before = h.sim().calls("tasks.task.list");
    let cursor = c.incremental_cursor(Kind::Task, since).unwrap_or_default();
    let out = drain(c.as_ref(), Kind::Task, SyncMode::Incremental, cursor).await;
    assert_eq!(out.records.len(), 300);
    assert_eq!(out.unique().len(), 300);
    assert_eq!(touched.len(), 300);
    assert_eq!(out.pages, 2, "2 calls (100 rows), then 8 (200 rows and the end)");
    assert_eq!(h.sim().calls("tasks.task.list") - before, 10);
}

#[tokio::test]
async fn a_restarted_connector_resumes_a_full_scan_from_its_cursor() {
    let h = harness(13).await;
    let first = h.connector();
    let page = first.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(page.more);
    let restarted = h.connector();
    let rest = drain(restarted.as_ref(), Kind::Task, SyncMode::Full, page.cursor).await;
    let mut ids: Vec<String> = page.records.iter().map(|r| r.external_id.clone()).collect();
    ids.extend(rest.records.iter().map(|r| r.external_id.clone()));
    assert_eq!(ids.len(), h.sim().count(Kind::Task));
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
}

#[tokio::test]
async fn a_malformed_record_is_reported_and_its_page_still_returns() {
    let h = portal(&world(80)).await;
    let c = fast(&h);
    for kind in Kind::ALL {
        let bad = h.sim().corrupt(kind).unwrap_or_default();
        let out = drain(c.as_ref(), kind, SyncMode::Full, Cursor::default()).await;
        assert_eq!(out.errors.len(), 1, "{kind}");
        assert_eq!(out.errors[0].external_id.as_deref(), Some(bad.as_str()));
        assert_eq!(out.records.len() + 1, h.sim().count(kind));
    }
}

#[tokio::test]
async fn deletes_show_as_records_missing_from_the_next_full_scan() {
    let h = portal(&world(60)).await;
    let c = fast(&h);
    let before = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert!(h.sim().delete(Kind::Client, 17));
    let after = drain(c.as_ref(), Kind::Client, SyncMode::Full, Cursor::default()).await;
    let gone: Vec<u64> = before.unique().difference(&after.unique()).copied().collect();
    assert_eq!(gone, [17]);
    assert_eq!(c.capabilities().deletes, zveno_connector::DeleteDetection::Census);
}

#[tokio::test]
async fn users_are_loaded_once_and_reloaded_only_for_unknown_ids() {
    let h = portal(&world(60)).await;
    let c = fast(&h);
    for kind in Kind::ALL {
        drain(c.as_ref(), kind, SyncMode::Full, Cursor::default()).await;
    }
    assert_eq!(h.sim().calls("user.get"), 2, "one batch of two calls for three users");
}
