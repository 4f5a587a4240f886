//! The connector against the simulator: what full and incremental pulls return, how they
//! get past the search cap, index lag, deletes, throttling and the daily quota.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{clock, connector, data, drain, must_drain, sim};
use chrono::Duration as Span;
use zveno_connector::http::RateLimit;
use zveno_connector::{ClientRef, Clock, Cursor, ErrorKind, Kind, RecordData, SyncMode, TaskStatus};

#[tokio::test]
async fn a_full_pull_maps_every_kind_with_owner_emails_and_associations() {
    let clock = clock();
    let sim = sim(&data(5), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});

    let companies = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    let live = companies.live();
    assert_eq!(live.len(), 5);
    let Some(RecordData::Client(romashka)) = live.get("1").and_then(|r| r.data.clone()) else {
        panic!("company 1 is a client");
    };
    assert_eq!(romashka.name, "ООО «Ромашка»");
    assert_eq!(romashka.domains.iter().map(ToString::to_string).collect::<Vec<_>>(), ["company1.ru"]);
    assert_eq!(romashka.phones.iter().map(ToString::to_string).collect::<Vec<_>>(), ["+74957654321"]);
    assert_eq!(romashka.tax_id.map(|t| t.to_string()).as_deref(), Some("7707083893"));
    assert_eq!(romashka.owner.as_deref(), Some("owner2@zveno-demo.ru"));
    assert_eq!(live["1"].url.as_deref(), Some("https://app.hubspot.com/contacts/62515/company/1"));
    // Company 2's INN has a wrong check digit: the field goes, the record stays.
    assert!(live["2"].warnings.iter().any(|w| w.contains("inn")), "{:?}", live["2"].warnings);
    let Some(RecordData::Client(two)) = live["2"].data.clone() else { panic!("client") };
    assert_eq!(two.tax_id, None);
    assert_eq!(two.phones.iter().map(ToString::to_string).collect::<Vec<_>>(), ["+74951234567"]);

    let contacts = must_drain(&*c, Kind::Contact, SyncMode::Full, Cursor::default()).await;
    let Some(RecordData::Contact(anna)) = contacts.live().get("4").and_then(|r| r.data.clone()) else {
        panic!("contact 4");
    };
    assert_eq!(anna.name, "Анна Contact 4");
    assert_eq!(anna.emails.iter().map(ToString::to_string).collect::<Vec<_>>(), ["anna4@company4.ru", "a4@mail.ru"]);
    assert_eq!(anna.phones.iter().map(ToString::to_string).collect::<Vec<_>>(), ["+4930901820", "+79161234567"]);
    assert_eq!(anna.client_ids, ["4"], "the labelled and unlabelled association count once");
    assert!(contacts.live()["3"].warnings.iter().any(|w| w.contains("not-an-email")));

    let tasks = must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await;
    let statuses: BTreeSet<String> = tasks
        .live()
        .values()
        .filter_map(|r| match &r.data {
            Some(RecordData::Task(t)) => Some(format!("{:?}", t.status)),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 4, "all four statuses round-trip: {statuses:?}");
    let Some(RecordData::Task(t)) = tasks.live().get("2").and_then(|r| r.data.clone()) else { panic!("task 2") };
    assert_eq!(t.clients, [ClientRef::External("2".into())]);
    assert_eq!(t.contact_ids, ["2"]);
    assert_eq!(t.assignee.as_deref(), Some("owner2@zveno-demo.ru"));
    assert_eq!(t.description.as_deref(), Some("Send the proposal"));
    assert_eq!(t.status, TaskStatus::Done);
    assert!(tasks.errors.is_empty() && companies.errors.is_empty() && contacts.errors.is_empty());
}

#[tokio::test]
async fn a_full_pull_costs_one_list_request_per_hundred_records_and_owners_once() {
    let clock = clock();
    let sim = sim(&data(250), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    for kind in Kind::ALL {
        must_drain(&*c, kind, SyncMode::Full, Cursor::default()).await;
    }
    let log = sim.kit().log();
    for object in ["companies", "contacts", "tasks"] {
        assert_eq!(log.endpoint(&format!("list {object}")).requests, 3, "{object}: ceil(250/100) pages");
        assert_eq!(log.endpoint(&format!("list {object} archived")).requests, 1);
    }
    assert_eq!(log.endpoint("owners").requests, 2, "active and archived owners, read once per instance");
    assert_eq!(log.total().throttled, 0, "the limiter keeps a steady state under HubSpot's limits");
}

#[tokio::test]
async fn incremental_pulls_read_associations_search_leaves_out() {
    let clock = clock();
    let sim = sim(&data(30), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(60));
    let touched = sim.touch(Kind::Task, 4);
    clock.advance(Duration::from_secs(5));
    let next = must_drain(&*c, Kind::Task, SyncMode::Incremental, base.cursor).await;
    assert_eq!(next.live().keys().cloned().collect::<BTreeSet<_>>(), touched.iter().cloned().collect());
    // A full scan now lists the same versions: they hash the same whether they came from
    // a list call (inline associations) or a search plus the v4 association read.
    let listed = must_drain(&*c, Kind::Task, SyncMode::Full, Cursor::default()).await;
    for (id, record) in next.live() {
        let Some(RecordData::Task(t)) = &record.data else { panic!("task") };
        assert_eq!(t.clients, [ClientRef::External(id.clone())], "task {id} keeps its company");
        assert_eq!(t.contact_ids, std::slice::from_ref(&id), "task {id} keeps its contact");
        assert_eq!(record.payload_hash, listed.live()[&id].payload_hash, "task {id}");
        assert_eq!(record.data, listed.live()[&id].data, "task {id}");
    }
    let log = sim.kit().log();
    assert_eq!(log.endpoint("search tasks").requests, 1);
    assert_eq!(log.endpoint("associations read tasks/companies").requests, 1);
    assert_eq!(log.endpoint("associations read tasks/contacts").requests, 1);
}

#[tokio::test]
async fn changes_the_index_has_not_caught_up_with_are_read_by_the_next_overlapping_window() {
    let clock = clock();
    let sim = sim(&data(20), &clock, |o| o.index_lag = Duration::from_secs(30)).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(60));
    let touched = sim.touch(Kind::Client, 3);
    let early = must_drain(&*c, Kind::Client, SyncMode::Incremental, base.cursor).await;
    assert!(early.live().is_empty(), "still inside the index lag, search does not see them yet");
    clock.advance(Duration::from_secs(120));
    let later = must_drain(&*c, Kind::Client, SyncMode::Incremental, early.cursor).await;
    let seen: BTreeSet<String> = later.live().keys().cloned().collect();
    assert_eq!(seen, touched.into_iter().collect(), "the overlap re-reads the lagging window");
}

#[tokio::test]
async fn a_window_with_more_than_ten_thousand_changes_is_synced_completely() {
    let clock = clock();
    let sim = sim(&data(12_000), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(60));
    let touched = sim.touch_spread(Kind::Client, 11_000, Duration::from_millis(1));
    clock.advance(Duration::from_secs(5));
    sim.kit().log().reset();
    let next = must_drain(&*c, Kind::Client, SyncMode::Incremental, base.cursor).await;
    let seen: BTreeSet<String> = next.live().keys().cloned().collect();
    assert_eq!(seen, touched.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(next.records.len(), touched.len(), "no record is returned twice");
    let search = sim.kit().log().endpoint("search companies");
    assert_eq!(search.errors, 0);
    assert!(search.requests <= 11_000 / 199 + 2, "{} search requests", search.requests);
}

#[tokio::test]
async fn ten_thousand_and_one_records_sharing_one_millisecond_are_synced_completely() {
    let clock = clock();
    let sim = sim(&data(10_100), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(60));
    let touched = sim.touch_at(Kind::Client, 10_001, clock.now() - Span::seconds(10));
    clock.advance(Duration::from_secs(5));
    sim.kit().log().reset();
    let next = must_drain(&*c, Kind::Client, SyncMode::Incremental, base.cursor).await;
    let seen: BTreeSet<String> = next.live().keys().cloned().collect();
    assert_eq!(seen.len(), 10_001);
    assert_eq!(seen, touched.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(next.records.len(), 10_001, "no record is returned twice");
    let search = sim.kit().log().endpoint("search companies");
    assert_eq!(search.errors, 0, "never pages into the 10,000 cap");
    assert!(search.requests <= 10_001 / 200 + 3, "{} search requests", search.requests);
}

#[tokio::test]
async fn the_first_incremental_pull_reads_everything_in_windows() {
    let clock = clock();
    let sim = sim(&data(450), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let run = must_drain(&*c, Kind::Contact, SyncMode::Incremental, Cursor::default()).await;
    assert_eq!(run.live().len(), 450);
    assert_eq!(run.records.len(), 450);
}

#[tokio::test]
async fn archived_records_become_tombstones_in_full_and_incremental_pulls() {
    let clock = clock();
    let sim = sim(&data(40), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Contact, SyncMode::Full, Cursor::default()).await;
    assert!(base.tombstones().is_empty());
    clock.advance(Duration::from_secs(60));
    let gone = sim.archive(Kind::Contact, 3);
    clock.advance(Duration::from_secs(5));
    let next = must_drain(&*c, Kind::Contact, SyncMode::Incremental, base.cursor.clone()).await;
    assert_eq!(next.tombstones(), gone, "search never shows archives; the archived list does");
    assert!(next.live().is_empty());
    let tomb = next.records.iter().find(|r| r.deleted);
    assert!(tomb.is_some_and(|t| t.updated_at.is_some() && t.kind == Kind::Contact));
    // Archives are reported again only while they lie inside the next window's overlap.
    clock.advance(Duration::from_secs(3_600));
    let later = must_drain(&*c, Kind::Contact, SyncMode::Incremental, next.cursor).await;
    clock.advance(Duration::from_secs(3_600));
    let latest = must_drain(&*c, Kind::Contact, SyncMode::Incremental, later.cursor).await;
    assert!(latest.tombstones().is_empty(), "{:?}", latest.tombstones());
    // A full scan lists the live records (the census) and every archived one.
    let full = must_drain(&*c, Kind::Contact, SyncMode::Full, Cursor::default()).await;
    assert_eq!(full.live().len(), 37);
    assert_eq!(full.tombstones(), gone);
}

#[tokio::test]
async fn a_full_scan_sets_the_watermark_incremental_pulls_start_from() {
    let clock = clock();
    let sim = sim(&data(50), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let full = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(600));
    let quiet = must_drain(&*c, Kind::Client, SyncMode::Incremental, full.cursor).await;
    assert!(quiet.records.is_empty(), "nothing changed since the full scan");
    assert_eq!(quiet.pages, 2, "one search, one archived sweep");
}

#[tokio::test]
async fn a_throttled_search_waits_for_the_secondly_limit_and_succeeds() {
    let clock = clock();
    let sim = sim(&data(10), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    sim.throttle_next();
    let before = clock.slept();
    let run = must_drain(&*c, Kind::Client, SyncMode::Incremental, Cursor::default()).await;
    assert_eq!(run.live().len(), 10);
    assert!(clock.slept() - before >= Duration::from_secs(1));
    assert_eq!(sim.kit().log().endpoint("search companies").throttled, 1);
}

#[tokio::test]
async fn a_portal_with_a_lower_limit_than_configured_throttles_and_zveno_still_finishes() {
    let clock = clock();
    // zveno is configured for 190/10 s; the portal leaves it 20 (another app uses the rest).
    let sim = sim(&data(3_000), &clock, |o| o.ten_secondly_limit = 20).await;
    let c = connector(&sim, &clock, |ctx, _| {
        ctx.rate_limits.insert("default".into(), RateLimit::new(190, 10));
    });
    let run = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    assert_eq!(run.live().len(), 3_000);
    let log = sim.kit().log().endpoint("list companies");
    assert!(log.throttled > 0, "HubSpot answered TEN_SECONDLY_ROLLING 429s");
    assert!(c.http_stats().throttled > 0);
}

#[tokio::test]
async fn the_daily_quota_slows_zveno_down_and_an_exhausted_one_defers() {
    let clock = clock();
    let sim = sim(&data(300), &clock, |o| o.daily_limit = 10_000).await;
    let c = connector(&sim, &clock, |_, _| {});
    // 2% of the quota left: below the 10% reserve.
    sim.set_daily_used(9_800);
    let before = clock.slept();
    must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    let slept = clock.slept() - before;
    // 6 requests (3 list pages, 2 owner pages, the archived list); after each, a gap of
    // 86400 s / ~200 remaining, capped at the client's longest wait (300 s).
    assert!(slept >= Duration::from_secs(5 * 300), "slept {slept:?}");
    sim.set_daily_used(10_000);
    let err = drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await.err();
    assert!(
        matches!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::RateLimited { retry_after: Some(_) })),
        "DAILY is deferred to the scheduler: {err:?}"
    );
}

#[tokio::test]
async fn a_corrupt_record_in_a_search_page_is_an_error_for_that_record_only() {
    let clock = clock();
    let sim = sim(&data(30), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |_, _| {});
    let base = must_drain(&*c, Kind::Client, SyncMode::Full, Cursor::default()).await;
    clock.advance(Duration::from_secs(60));
    let touched = sim.touch(Kind::Client, 3);
    let broken = sim.corrupt(Kind::Client);
    clock.advance(Duration::from_secs(5));
    let next = must_drain(&*c, Kind::Client, SyncMode::Incremental, base.cursor).await;
    assert_eq!(next.errors.len(), 1);
    assert_eq!(next.errors[0].external_id, broken);
    assert_eq!(next.live().len(), touched.len() - 1);
}

#[tokio::test]
async fn a_kind_outside_the_configuration_is_unsupported() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    let c = connector(&sim, &clock, |ctx, _| ctx.kinds = vec![Kind::Client]);
    let err = c.pull(Kind::Task, SyncMode::Full, &Cursor::default()).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unsupported));
    assert_eq!(c.capabilities().write, [Kind::Client]);
}
