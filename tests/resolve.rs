//! Identity resolution end to end on the store: quality on a large seeded world against its
//! ground truth, incremental runs agreeing with full ones, and operators' decisions
//! surviving re-syncs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/backends.rs"]
mod backends;
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/quality.rs"]
mod quality;
#[path = "common/seed.rs"]
mod seed;
#[path = "common/simulated.rs"]
mod simulated;
#[path = "common/vendor_adapter.rs"]
mod vendor_adapter;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use zveno::registry;
use zveno::resolve::eval::{score_store, Scores};
use zveno::resolve::explain::{self, Explanation, Outcome};
use zveno::resolve::review::{self, ReviewKind};
use zveno::resolve::{to_latin, Mode, Resolver, Survivorship, Systems};
use zveno::store::{OverdueAt, RecordKey, Store, TaskFilter};
use zveno_connector::{
    Client, ClientRef, Clock, Contact, Cursor, Domain, Email, Kind, ManualClock, Page, Phone, Priority, RecordData,
    SourceRecord, SyncMode, Task, TaskStatus, TaxId,
};
use zveno_sim::world::{System, World, WorldSpec};

use simulated::Simulated;

const SYSTEMS: [System; 3] =
    [zveno_hubspot::simulator::SYSTEM, zveno_bitrix24::simulator::SYSTEM, zveno_jira::simulator::SYSTEM];
/// The four vendors zveno promises, in one world.
const FOUR: [System; 4] = [
    zveno_hubspot::simulator::SYSTEM,
    zveno_bitrix24::simulator::SYSTEM,
    zveno_pipedrive::simulator::SYSTEM,
    zveno_jira::simulator::SYSTEM,
];

/// A store holding every record of `world`, committed as full scans in pages of 500.
async fn seeded(world: &World) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("zveno.db").display())).await;
    seed(&store, world).await;
    (dir, store)
}

async fn seed(store: &Store, world: &World) {
    seed::full_scans(store, vendor_adapter::records(world)).await;
}

fn resolver(store: Store) -> Resolver {
    let systems = Systems::new(vendor_adapter::CONNECTORS.iter().map(|(c, _)| (*c, *c)));
    Resolver::new(store, Survivorship::default(), systems)
}

async fn measure(world: &World, store: &Store) -> Scores {
    let systems = Systems::new(vendor_adapter::CONNECTORS.iter().map(|(c, _)| (*c, *c)));
    let scores = score_store(store, &quality::truth(world), &systems).await.unwrap();
    for example in &scores.mixed_examples {
        println!("  merged: {example:?}");
    }
    scores
}

#[tokio::test]
async fn a_10000_client_world_resolves_precisely_completely_and_without_merging_decoys() {
    let world = World::generate(&WorldSpec::new(2026, 10_000, &SYSTEMS));
    let decoys = world.clients.iter().filter(|c| c.decoy_of.is_some()).count();
    let began = Instant::now();
    let (_dir, store) = seeded(&world).await;
    let seeded_in = began.elapsed();
    let report = resolver(store.clone()).run().await.unwrap();
    let q = measure(&world, &store).await;
    println!(
        "10,000 clients ({decoys} decoys): seeded in {seeded_in:.1?}, resolved in {} ms ({:?}); {}",
        report.elapsed_ms, report.mode, q
    );
    assert_eq!(q.records_linked_once, q.records, "every client record belongs to exactly one client");
    assert!(q.precision >= 0.995, "precision {:.4}", q.precision);
    assert!(q.recall >= 0.98, "recall {:.4}", q.recall);
    assert!(q.decoys_merged.is_empty(), "decoys merged: {:?}", q.decoys_merged);
    assert!(q.task_accuracy() >= 0.995, "tasks right {:.4}", q.task_accuracy());
    assert_eq!(q.tasks, store.count_records(None, Some(Kind::Task), false).await.unwrap() as usize);
}

#[tokio::test]
async fn decoy_heavy_worlds_of_other_seeds_and_single_crm_worlds_merge_no_decoy() {
    let single: &[System] = &[zveno_hubspot::simulator::SYSTEM];
    let no_hubspot: &[System] = &[zveno_bitrix24::simulator::SYSTEM, zveno_jira::simulator::SYSTEM];
    for (seed, systems) in [(1, &SYSTEMS[..]), (42, &SYSTEMS[..]), (99, single), (7, no_hubspot)] {
        let mut spec = WorldSpec::new(seed, 2_000, systems);
        spec.decoy_rate = 0.15;
        let world = World::generate(&spec);
        let (_dir, store) = seeded(&world).await;
        resolver(store.clone()).run().await.unwrap();
        let q = measure(&world, &store).await;
        println!("seed {seed}, {systems:?}, 15% decoys: {q}");
        assert!(q.decoys_merged.is_empty(), "seed {seed}: decoys merged: {:?}", q.decoys_merged);
        assert!(q.precision >= 0.995, "seed {seed}: {q}");
        // Measured 0.9927–1 at 15% decoys (seed 42 lowest), short of the 0.995 the issue
        // asks at the default decoy rate.
        assert!(q.task_accuracy() >= 0.99, "seed {seed}: {q}");
    }
}

/// Entities as sets of their records, and each task with the records of its client: what
/// resolution decided, independent of the ids it chose.
async fn decisions(store: &Store) -> (BTreeSet<Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for kind in [Kind::Client, Kind::Contact] {
        for l in store.all_links(kind).await.unwrap() {
            members.entry(l.entity_id).or_default().push(format!("{}:{}:{}", l.key.connector, kind, l.key.external_id));
        }
    }
    for list in members.values_mut() {
        list.sort();
    }
    let tasks = store
        .tasks(&TaskFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            let client = t.client_id.and_then(|c| members.get(&c).cloned()).unwrap_or_default();
            (format!("{}:{}", t.connector, t.external_id), client)
        })
        .collect();
    (members.into_values().collect(), tasks)
}

/// Changes about 1% of the records: new tax ids, phones and names taken from other
/// clients (so clusters merge and split), lost websites, deletions, new hints.
fn change_one_percent(world: &World) -> Vec<(String, Kind, Vec<SourceRecord>)> {
    let later = world.spec.now + chrono::Duration::hours(1);
    let mut out = Vec::new();
    for (connector, kind, records) in vendor_adapter::records(world) {
        let donors = records.clone();
        let mut changed = Vec::new();
        for (i, r) in records.into_iter().enumerate().filter(|(i, _)| i % 97 == 3) {
            let mut r = r;
            let donor = &donors[(i * 7 + 11) % donors.len()];
            match (&mut r.data, &donor.data, i % 4) {
                (_, _, 0) => r = SourceRecord::tombstone(&connector, kind, r.external_id.clone(), Some(later)),
                (Some(RecordData::Client(c)), Some(RecordData::Client(d)), 1) => c.tax_id = d.tax_id.clone(),
                (Some(RecordData::Client(c)), Some(RecordData::Client(d)), 2) => c.phones = d.phones.clone(),
                (Some(RecordData::Client(c)), Some(RecordData::Client(d)), _) => {
                    c.name = d.name.clone();
                    c.domains.clear();
                }
                (Some(RecordData::Contact(c)), Some(RecordData::Contact(d)), _) => c.emails = d.emails.clone(),
                (Some(RecordData::Task(t)), Some(RecordData::Task(d)), _) => t.clients = d.clients.clone(),
                _ => {}
            }
            r.updated_at = Some(later);
            r.payload_hash = format!("changed-{i}");
            changed.push(r);
        }
        out.push((connector, kind, changed));
    }
    out
}

async fn commit_incremental(store: &Store, changes: Vec<(String, Kind, Vec<SourceRecord>)>) -> usize {
    let mut n = 0;
    for (connector, kind, records) in changes {
        n += records.len();
        let page =
            Page { records, errors: Vec::new(), cursor: Cursor(serde_json::json!({ "changed": true })), more: false };
        store.commit_page(&connector, kind, SyncMode::Incremental, &page).await.unwrap();
    }
    n
}

#[tokio::test]
async fn an_incremental_run_after_a_one_percent_change_decides_exactly_what_a_full_run_does() {
    let world = World::generate(&WorldSpec::new(7, 1_500, &SYSTEMS));
    backends::on_both(|store, _| {
        let world = world.clone();
        async move { incremental_matches_full(&world, store).await }
    })
    .await;
}

async fn incremental_matches_full(world: &World, store: Store) {
    seed(&store, world).await;
    let resolver = resolver(store.clone());
    assert_eq!(resolver.run().await.unwrap().mode, Mode::Full, "a first sync is resolved in one pass");

    let changed = commit_incremental(&store, change_one_percent(world)).await;
    let total = store.count_records(None, None, true).await.unwrap() as usize;
    assert!(changed * 50 < total && changed * 200 > total, "{changed} of {total} changed");
    let before = decisions(&store).await;
    let report = resolver.run().await.unwrap();
    println!("{changed} of {total} records changed: {report:?}");
    assert_eq!(report.mode, Mode::Incremental);
    assert_eq!(report.changed as usize, changed);
    assert!(
        report.clients < 10 * changed as u64,
        "re-resolved {} client records for {changed} changes",
        report.clients
    );
    assert_eq!(store.count_dirty().await.unwrap(), 0);
    let incremental = decisions(&store).await;
    assert_ne!(before.0, incremental.0, "the changes moved records between entities");

    resolver.run_full().await.unwrap();
    let full = decisions(&store).await;
    assert_eq!(incremental.0, full.0, "the same entities");
    assert_eq!(incremental.1, full.1, "the same task attachments");
}

// ---------------------------------------------------------------------------------------
// The unified view and operators' decisions, on both backends

fn at(hours: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000 + hours * 3600, 0).unwrap()
}

fn record(connector: &str, id: &str, data: RecordData) -> SourceRecord {
    SourceRecord::new(connector, id, data, serde_json::json!({ "id": id }))
        .with_times(Some(at(0)), Some(at(1)))
        .with_url(format!("https://{connector}.example/{id}"))
}

fn company(connector: &str, id: &str, name: &str, domain: &str, tax: Option<&str>, owner: &str) -> SourceRecord {
    let client = Client {
        name: name.into(),
        domains: Domain::parse(domain).into_iter().collect(),
        tax_id: tax.and_then(|t| TaxId::parse(t, None).ok()),
        owner: Some(owner.into()),
        ..Client::default()
    };
    record(connector, id, RecordData::Client(client))
}

fn task(connector: &str, id: &str, refs: Vec<ClientRef>, status: TaskStatus, due: i64, assignee: &str) -> SourceRecord {
    let task = Task {
        title: format!("task {id}"),
        description: None,
        status,
        status_name: None,
        priority: Some(Priority::High),
        assignee: Some(assignee.into()),
        reporter: None,
        due: Some(at(due)),
        resolved_at: None,
        labels: Vec::new(),
        clients: refs,
        contact_ids: Vec::new(),
        labels_removed: Vec::new(),
    };
    record(connector, id, RecordData::Task(task))
}

async fn put(store: &Store, connector: &str, kind: Kind, records: Vec<SourceRecord>) {
    let page = Page { records, errors: Vec::new(), cursor: Cursor(serde_json::json!({ "n": 1 })), more: false };
    store.commit_page(connector, kind, SyncMode::Incremental, &page).await.unwrap();
}

/// Two CRMs and a tracker: Ромашка in both CRMs (one domain), Acme in one, a contact, and
/// tasks attached by association, by hint, and not at all.
async fn small_world(store: &Store) {
    put(
        store,
        "crm-a",
        Kind::Client,
        vec![
            company("crm-a", "1", "ООО «Ромашка»", "romashka.ru", Some("7707083893"), "ann@team.ru"),
            company("crm-a", "2", "Acme Inc", "acme.com", None, "bob@team.ru"),
        ],
    )
    .await;
    put(
        store,
        "crm-b",
        Kind::Client,
        vec![company("crm-b", "10", "Romashka LLC", "https://www.romashka.ru/", None, "Ann@Team.ru")],
    )
    .await;
    let contact = Contact {
        name: "Иван Петров".into(),
        emails: Email::parse("ivan@romashka.ru").into_iter().collect(),
        client_ids: vec!["10".into()],
        ..Contact::default()
    };
    put(store, "crm-b", Kind::Contact, vec![record("crm-b", "20", RecordData::Contact(contact))]).await;
    put(
        store,
        "trk",
        Kind::Task,
        vec![
            task("trk", "30", vec![ClientRef::Hint("crm-b:10".into())], TaskStatus::Todo, -24, "ann@team.ru"),
            task("trk", "31", vec![ClientRef::Hint("acme.com".into())], TaskStatus::Done, -24, "bob@team.ru"),
            task(
                "trk",
                "32",
                vec![ClientRef::Hint("nobody.example".into())],
                TaskStatus::InProgress,
                24,
                "ann@team.ru",
            ),
        ],
    )
    .await;
}

fn small_resolver(store: Store) -> Resolver {
    Resolver::new(
        store,
        Survivorship::default(),
        Systems::new([("crm-a", "testvendor"), ("crm-b", "testvendor"), ("trk", "testvendor")]),
    )
}

fn key(connector: &str, kind: Kind, id: &str) -> RecordKey {
    RecordKey { connector: connector.into(), kind, external_id: id.into() }
}

async fn entity_of(store: &Store, record: &RecordKey) -> String {
    store.links_of(std::slice::from_ref(record)).await.unwrap().pop().map(|l| l.entity_id).unwrap_or_default()
}

#[tokio::test]
async fn the_unified_view_lists_searches_and_filters_on_both_backends() {
    backends::on_both(|store, _| async move {
        small_world(&store).await;
        small_resolver(store.clone()).run().await.unwrap();

        let all = store.client_entities(&[], None).await.unwrap();
        assert_eq!(all.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["Acme Inc", "ООО «Ромашка»"]);
        for query in ["romashka", "ромашка", "7707083893"] {
            let patterns = vec![query.to_lowercase(), to_latin(query)];
            let found = store.client_entities(&patterns, None).await.unwrap();
            assert_eq!(found.len(), 1, "{query}");
        }
        assert_eq!(store.client_entities(&[], Some("ANN@team.ru")).await.unwrap().len(), 1);
        assert_eq!(store.client_entities(&["50%_".into()], None).await.unwrap().len(), 0, "LIKE wildcards are literal");

        let romashka = entity_of(&store, &key("crm-a", Kind::Client, "1")).await;
        assert_eq!(entity_of(&store, &key("crm-b", Kind::Client, "10")).await, romashka);
        let links = store.entity_links(std::slice::from_ref(&romashka)).await.unwrap();
        let b = links.iter().find(|l| l.key.connector == "crm-b").unwrap();
        assert_eq!(
            (b.rule.as_str(), b.evidence.as_str(), b.via.as_deref()),
            ("domain", "romashka.ru", Some("crm-a:client:1"))
        );
        assert_eq!(b.url.as_deref(), Some("https://crm-b.example/10"));
        assert_eq!(store.contacts_of(&romashka).await.unwrap().len(), 1, "the contact follows its client");
        assert_eq!(store.entity_counts(Kind::Client).await.unwrap(), (2, 1));

        let tasks = |filter: TaskFilter| {
            let store = store.clone();
            async move { store.tasks(&filter).await.unwrap().into_iter().map(|t| t.external_id).collect::<Vec<_>>() }
        };
        assert_eq!(tasks(TaskFilter::default()).await, ["30", "31", "32"], "unattached tasks are listed too");
        assert_eq!(
            tasks(TaskFilter { overdue_at: Some(OverdueAt::utc(at(0).timestamp_millis())), ..TaskFilter::default() })
                .await,
            ["30"]
        );
        assert_eq!(tasks(TaskFilter { assignee: Some("BOB@team.ru".into()), ..TaskFilter::default() }).await, ["31"]);
        assert_eq!(tasks(TaskFilter { client_id: Some(romashka.clone()), ..TaskFilter::default() }).await, ["30"]);
        assert_eq!(tasks(TaskFilter { status: Some(TaskStatus::Done), ..TaskFilter::default() }).await, ["31"]);
        assert_eq!(tasks(TaskFilter { unattached: true, ..TaskFilter::default() }).await, ["32"]);
        let unattached = store.tasks(&TaskFilter { unattached: true, ..TaskFilter::default() }).await.unwrap();
        assert!(unattached[0].detail.contains("nobody.example"), "{}", unattached[0].detail);
    })
    .await;
}

#[tokio::test]
async fn operators_decisions_win_persist_and_replace_each_other_on_both_backends() {
    backends::on_both(|store, _| async move {
        small_world(&store).await;
        let resolver = small_resolver(store.clone());
        resolver.run().await.unwrap();
        let (a1, a2, b10) =
            (key("crm-a", Kind::Client, "1"), key("crm-a", Kind::Client, "2"), key("crm-b", Kind::Client, "10"));

        // Acme and Ромашка share nothing; the operator says they are one client.
        store.add_link(&a2, &b10).await.unwrap();
        resolver.reresolve(&[a2.clone(), b10.clone()]).await.unwrap();
        assert_eq!(entity_of(&store, &a2).await, entity_of(&store, &a1).await);
        // Then takes crm-a:1 out of it.
        store.add_unlink(&a1).await.unwrap();
        resolver.reresolve(std::slice::from_ref(&a1)).await.unwrap();
        let alone = entity_of(&store, &a1).await;
        assert_ne!(alone, entity_of(&store, &b10).await);
        assert_eq!(entity_of(&store, &a2).await, entity_of(&store, &b10).await, "the link stands");
        let rule = store.links_of(std::slice::from_ref(&a1)).await.unwrap()[0].rule.clone();
        assert_eq!(rule, "unlinked");

        // Both survive a full re-resolve.
        resolver.run_full().await.unwrap();
        assert_eq!(entity_of(&store, &a1).await, alone, "an entity keeps its id");
        assert_eq!(entity_of(&store, &a2).await, entity_of(&store, &b10).await);
        assert_eq!(store.overrides(Kind::Client).await.unwrap().len(), 2);

        // A newer decision replaces an older one: linking crm-a:1 withdraws its unlink.
        store.add_link(&a1, &b10).await.unwrap();
        resolver.reresolve(&[a1.clone(), b10.clone()]).await.unwrap();
        assert_eq!(entity_of(&store, &a1).await, entity_of(&store, &b10).await);
        let decisions = store.overrides(Kind::Client).await.unwrap();
        assert!(decisions.iter().all(|d| d.linked_with.is_some()), "{decisions:?}");
        assert!(store.add_link(&a1, &key("crm-b", Kind::Contact, "20")).await.is_err(), "kinds must agree");
    })
    .await;
}

#[tokio::test]
async fn a_contact_change_re_resolves_its_client_only_when_its_domains_or_company_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("zveno.db").display())).await;
    // Other clients, so that one changed record is an incremental run, not most of the store.
    let mut clients: Vec<SourceRecord> = (2..12)
        .map(|i| company("crm-a", &i.to_string(), &format!("Client {i}"), &format!("client{i}.ru"), None, "a@team.ru"))
        .collect();
    clients.push(company("crm-a", "1", "ООО «Атлас»", "", Some("7707083893"), "ann@team.ru"));
    put(&store, "crm-a", Kind::Client, clients).await;
    let person = |email: &str, phone: &str, hours: i64| {
        let contact = Contact {
            name: "Иван Петров".into(),
            emails: Email::parse(email).into_iter().collect(),
            phones: Phone::parse(phone, None).into_iter().collect(),
            client_ids: vec!["1".into()],
            ..Contact::default()
        };
        record("crm-a", "20", RecordData::Contact(contact)).with_times(Some(at(0)), Some(at(hours)))
    };
    put(&store, "crm-a", Kind::Contact, vec![person("ivan@atlas3.ru", "+74951234567", 1)]).await;
    let resolver = small_resolver(store.clone());
    resolver.run().await.unwrap();

    put(&store, "crm-a", Kind::Contact, vec![person("ivan@atlas3.ru", "+74957654321", 2)]).await;
    let report = resolver.run().await.unwrap();
    assert_eq!((report.mode, report.clients), (Mode::Incremental, 0), "a new phone says nothing about the company");
    put(&store, "crm-a", Kind::Contact, vec![person("ivan@atlas.ru", "+74957654321", 3)]).await;
    let report = resolver.run().await.unwrap();
    assert_eq!((report.mode, report.clients), (Mode::Incremental, 1), "its staff now write from atlas.ru");

    // A sole trader's own contact lends his record its phone: a new number re-resolves it.
    put(&store, "crm-a", Kind::Client, vec![company("crm-a", "30", "ИП Волкова Л.Г.", "", None, "ann@team.ru")]).await;
    let larisa = |phone: &str, hours: i64| {
        let contact = Contact {
            name: "Лариса Волкова".into(),
            phones: Phone::parse(phone, None).into_iter().collect(),
            client_ids: vec!["30".into()],
            ..Contact::default()
        };
        record("crm-a", "31", RecordData::Contact(contact)).with_times(Some(at(0)), Some(at(hours)))
    };
    put(&store, "crm-a", Kind::Contact, vec![larisa("+79715359323", 4)]).await;
    resolver.run().await.unwrap();
    put(&store, "crm-a", Kind::Contact, vec![larisa("+79715359324", 5)]).await;
    let report = resolver.run().await.unwrap();
    assert_eq!((report.mode, report.clients), (Mode::Incremental, 1), "the entrepreneur's own number changed");
    let keys = store.stored_keys(&[key("crm-a", Kind::Client, "30")]).await.unwrap();
    assert!(keys.iter().any(|(_, k)| k == "ph:+79715359324"), "{keys:?}");
}

#[tokio::test]
async fn why_explains_joins_and_vetoes_and_review_lists_names_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("zveno.db").display())).await;
    put(
        &store,
        "crm-a",
        Kind::Client,
        vec![
            company("crm-a", "1", "ООО «Ромашка»", "romashka.ru", Some("7707083893"), "ann@team.ru"),
            company("crm-a", "3", "Acme Inc", "acme.com", None, "bob@team.ru"),
            company("crm-a", "4", "ACME Inc.", "", None, "bob@team.ru"),
        ],
    )
    .await;
    put(
        &store,
        "crm-b",
        Kind::Client,
        vec![
            company("crm-b", "10", "Romashka LLC", "https://www.romashka.ru/", None, "ann@team.ru"),
            company("crm-b", "11", "ООО \"Ромашка\"", "", Some("500100732259"), "ann@team.ru"),
        ],
    )
    .await;
    let person = |id: &str, name: &str, email: &str| {
        let contact =
            Contact { name: name.into(), emails: Email::parse(email).into_iter().collect(), ..Contact::default() };
        record("crm-a", id, RecordData::Contact(contact))
    };
    let contacts = vec![
        person("20", "Иван Петров", "ivan@romashka.ru"),
        person("21", "Petrov Ivan", "Ivan@Romashka.ru"),
        person("22", "Анна Смирнова", "anna@romashka.ru"),
    ];
    put(&store, "crm-a", Kind::Contact, contacts).await;
    small_resolver(store.clone()).run().await.unwrap();
    let contact = |id: &str| key("crm-a", Kind::Contact, id);
    let same = explain::why(&store, &contact("20"), &contact("21")).await.unwrap();
    assert!(same.together && same.verdict.starts_with("one contact"), "{same:?}");
    let other = explain::why(&store, &contact("20"), &contact("22")).await.unwrap();
    assert!(!other.together && other.verdict.starts_with("apart: people are one when"), "{other:?}");
    let why = |a: (&str, &str), b: (&str, &str)| {
        let store = store.clone();
        let (a, b) = (key(a.0, Kind::Client, a.1), key(b.0, Kind::Client, b.1));
        async move { explain::why(&store, &a, &b).await }
    };

    let joined = why(("crm-a", "1"), ("crm-b", "10")).await.unwrap();
    assert!(joined.together, "{joined:?}");
    assert!(joined.verdict.starts_with("one client"), "{}", joined.verdict);
    assert!(joined.verdict.contains("domain romashka.ru"), "{}", joined.verdict);

    let vetoed = why(("crm-a", "1"), ("crm-b", "11")).await.unwrap();
    assert!(!vetoed.together);
    let check = |e: &Explanation, rule: &str| e.checks.iter().find(|c| c.rule == rule).cloned().unwrap();
    assert_eq!(check(&vetoed, "tax_id").outcome, Outcome::Different);
    assert_eq!(check(&vetoed, "name").outcome, Outcome::Same);
    assert!(check(&vetoed, "name").veto.unwrap().contains("different tax ids"));
    assert!(vetoed.verdict.contains("different tax ids"), "{}", vetoed.verdict);

    let one_crm = why(("crm-a", "3"), ("crm-a", "4")).await.unwrap();
    assert!(!one_crm.together);
    assert!(one_crm.verdict.contains("both records are in crm-a"), "{}", one_crm.verdict);

    let missing = why(("crm-a", "1"), ("crm-a", "999")).await.unwrap_err();
    assert!(missing.to_string().contains("crm-a:client:999"), "{missing}");
    let tasks = explain::why(&store, &key("crm-a", Kind::Client, "1"), &key("trk", Kind::Task, "1")).await;
    assert!(tasks.is_err_and(|e| e.to_string().contains("is a task")));

    let items = review::review(&store, 50).await.unwrap();
    let acme = items.iter().find(|i| i.name == "n:acme").unwrap_or_else(|| panic!("{items:#?}"));
    assert_eq!(acme.kind, ReviewKind::NamesAgreeApart);
    assert!(acme.why.contains("one system"), "{}", acme.why);
    assert_eq!(acme.settle, "zveno link crm-a:client:3 crm-a:client:4");
    assert!(!items.iter().any(|i| i.name == "n:romashka"), "different tax ids are not borderline: {items:#?}");
}

// ---------------------------------------------------------------------------------------
// Through the vendors' simulators and connectors

/// The daemon pointed at the simulators of `world`'s systems holding their data, writing to
/// `store_url`.
async fn simulated(world: &World, store_url: &str, clock: Arc<dyn Clock>) -> Simulated {
    let mut sims = Vec::new();
    for system in world.spec.systems.iter().copied() {
        sims.push(registry::launch_simulator(system, world.system(system), clock.clone(), 1).await.unwrap());
    }
    Simulated::start(sims, store_url, clock).await
}

#[tokio::test]
async fn the_vendor_connectors_and_the_test_adapter_resolve_a_world_identically() {
    let world = World::generate(&WorldSpec::new(2026, 1_000, &SYSTEMS));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let through_vendors = simulated(&world, &url, Arc::new(ManualClock::new(world.spec.now))).await;
    through_vendors.sync().await;
    let store = through_vendors.app.engine.store();
    let q = measure(&world, store).await;
    println!("1,000 clients through the HubSpot, Bitrix24 and Jira simulators: {}", q);
    assert!(q.precision >= 0.995 && q.recall >= 0.98 && q.decoys_merged.is_empty(), "{q}");
    assert!(q.task_accuracy() >= 0.995, "{q}");

    let (_adapter_dir, adapted) = seeded(&world).await;
    resolver(adapted.clone()).run().await.unwrap();
    assert_eq!(decisions(store).await, decisions(&adapted).await, "the adapter maps records as the connectors do");
}

#[tokio::test]
async fn four_vendors_through_their_simulators_resolve_a_world_as_the_adapter_does() {
    let world = World::generate(&WorldSpec::new(2027, 1_000, &FOUR));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let through_vendors = simulated(&world, &url, Arc::new(ManualClock::new(world.spec.now))).await;
    through_vendors.sync().await;
    let store = through_vendors.app.engine.store();
    let q = measure(&world, store).await;
    println!("1,000 clients through the HubSpot, Bitrix24, Pipedrive and Jira simulators: {}", q);
    assert!(q.precision >= 0.995 && q.recall >= 0.98 && q.decoys_merged.is_empty(), "{q}");
    assert!(q.task_accuracy() >= 0.995, "{q}");
    let jira = world.system(zveno_jira::simulator::SYSTEM);
    let hints = jira.tasks.iter().filter_map(|t| t.client_hint.as_deref());
    assert!(hints.filter(|h| h.starts_with("pipedrive:")).count() > 0, "Jira issues name Pipedrive ids");

    let (_adapter_dir, adapted) = seeded(&world).await;
    resolver(adapted.clone()).run().await.unwrap();
    assert_eq!(decisions(store).await, decisions(&adapted).await, "the adapter maps records as the connectors do");
}

#[tokio::test]
async fn a_manual_link_and_unlink_survive_a_full_resync() {
    let world = World::generate(&WorldSpec::new(11, 300, &SYSTEMS));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let clock = Arc::new(ManualClock::new(world.spec.now));
    let first = simulated(&world, &url, clock.clone()).await;
    first.sync().await;
    let store = first.app.engine.store().clone();

    // A record out of a cluster of several, and two clients nothing connects.
    let mut by_entity: BTreeMap<String, Vec<RecordKey>> = BTreeMap::new();
    for l in store.all_links(Kind::Client).await.unwrap() {
        by_entity.entry(l.entity_id).or_default().push(l.key);
    }
    let unlinked = by_entity.values().find(|m| m.len() >= 2).map(|m| m[0].clone()).unwrap();
    let singles: Vec<&RecordKey> = by_entity.values().filter(|m| m.len() == 1).map(|m| &m[0]).collect();
    let (a, b) =
        (singles[0].clone(), singles.iter().find(|k| k.connector != singles[0].connector).cloned().cloned().unwrap());
    let resolver = resolver(store.clone());
    store.add_unlink(&unlinked).await.unwrap();
    store.add_link(&a, &b).await.unwrap();
    resolver.reresolve(&[unlinked.clone(), a.clone(), b.clone()]).await.unwrap();
    let alone = entity_of(&store, &unlinked).await;
    let together = entity_of(&store, &a).await;
    assert_eq!(store.entity_links(std::slice::from_ref(&alone)).await.unwrap().len(), 1);
    assert_eq!(entity_of(&store, &b).await, together);

    // A day later every record has changed: a full re-sync stores them all again.
    let mut later = world.clone();
    later.spec.now += chrono::Duration::days(1);
    let later = World::generate(&later.spec);
    clock.advance(std::time::Duration::from_secs(86_400));
    drop(first);
    let second = simulated(&later, &url, clock).await;
    let report = second.sync().await;
    assert_eq!(report.mode, Mode::Full, "everything changed: {report:?}");
    assert_eq!(entity_of(&store, &unlinked).await, alone, "still alone, same id");
    assert_eq!(store.entity_links(std::slice::from_ref(&alone)).await.unwrap().len(), 1);
    assert_eq!(entity_of(&store, &a).await, together);
    assert_eq!(entity_of(&store, &b).await, together, "still linked");
    let links = store.entity_links(std::slice::from_ref(&together)).await.unwrap();
    assert!(links.iter().any(|l| l.rule == "manual"), "{links:?}");
}

#[tokio::test]
async fn a_link_from_the_shell_waits_while_another_instance_resolves_and_never_interleaves() {
    backends::on_both(|store, _| async move {
        let b = store.backend();
        small_world(&store).await;
        small_resolver(store.clone()).run().await.unwrap();
        let (a2, b10) = (key("crm-a", Kind::Client, "2"), key("crm-b", Kind::Client, "10"));
        let before = (entity_of(&store, &a2).await, entity_of(&store, &b10).await);
        assert_ne!(before.0, before.1, "{b}: Acme and Ромашка start apart");

        // The daemon, in another process, is resolving: it holds the store-wide lock.
        let daemon = store.acquire_lock("daemon-elsewhere", std::time::Duration::from_secs(60)).await.unwrap();
        let daemon = daemon.expect("the lock is free");
        // `zveno link crm-a:2 crm-b:10` in a shell: its own resolver, the same store.
        let shell = small_resolver(store.clone());
        let link = tokio::spawn(async move { zveno::admin::link(&shell, "crm-a:client:2", "crm-b:client:10").await });
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(!link.is_finished(), "{b}: the link must wait for the other instance's resolution");
        assert_eq!(
            (entity_of(&store, &a2).await, entity_of(&store, &b10).await),
            before,
            "{b}: nothing of the link was resolved while the other resolution held the lock"
        );

        store.release_lease(&daemon).await.unwrap();
        let decision = tokio::time::timeout(std::time::Duration::from_secs(30), link).await.unwrap().unwrap().unwrap();
        assert_eq!(decision.after[0], decision.after[1], "{b}: {decision:?}");
        assert_eq!(entity_of(&store, &a2).await, entity_of(&store, &b10).await, "{b}");
    })
    .await;
}

#[tokio::test]
async fn a_link_during_a_running_resolution_waits_for_it_and_both_outcomes_stand() {
    backends::on_both(|store, _| async move {
        let b = store.backend();
        small_world(&store).await;
        small_resolver(store.clone()).run().await.unwrap();
        let (a2, b10) = (key("crm-a", Kind::Client, "2"), key("crm-b", Kind::Client, "10"));
        assert_ne!(entity_of(&store, &a2).await, entity_of(&store, &b10).await, "{b}: Acme and Ромашка start apart");
        // Enough new records that the daemon's resolution is still running when the shell's
        // link arrives.
        let bulk: Vec<SourceRecord> = (0..1_500)
            .map(|i| {
                company("crm-a", &format!("bulk-{i}"), &format!("Bulk {i}"), &format!("bulk{i}.ru"), None, "x@y.ru")
            })
            .collect();
        put(&store, "crm-a", Kind::Client, bulk).await;

        let daemon = small_resolver(store.clone());
        let resolution = tokio::spawn(async move {
            daemon.run().await.unwrap();
            std::time::Instant::now()
        });
        // Wait until the resolution holds the store-wide lock (without taking it).
        let held = async {
            loop {
                let leases = store.leases().await.unwrap();
                if leases.iter().any(|l| l.connector == "*resolve*" && l.holder.is_some()) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), held).await.expect("the resolution takes the lock");
        let shell = small_resolver(store.clone());
        let link = tokio::spawn(async move {
            let decision = zveno::admin::link(&shell, "crm-a:client:2", "crm-b:client:10").await;
            (decision, std::time::Instant::now())
        });

        let resolved_at = resolution.await.unwrap();
        let (decision, linked_at) = link.await.unwrap();
        let decision = decision.unwrap();
        assert!(resolved_at <= linked_at, "{b}: the link finished inside the running resolution");
        // The link stands: Acme and Ромашка are one client now...
        assert_eq!(decision.after[0], decision.after[1], "{b}: {decision:?}");
        assert_eq!(entity_of(&store, &a2).await, entity_of(&store, &b10).await, "{b}");
        // ...and so does the resolution: every new record has its client.
        for i in [0, 749, 1_499] {
            let id = format!("bulk-{i}");
            assert!(!entity_of(&store, &key("crm-a", Kind::Client, &id)).await.is_empty(), "{b}: {id} unresolved");
        }
    })
    .await;
}
