//! Write-back flows end to end: two test-vendor simulators (a CRM with a generated world,
//! an empty portal), synced, resolved and applied by the daemon's own pieces; and the
//! write-back tables on both store backends.
//!
//! The CRM's records are edited through its API (a connector `push`), as a person's edits
//! arrive in practice; the portal's simulator counts every write request it receives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/backends.rs"]
mod backends;
#[path = "common/flows.rs"]
mod flows;
#[path = "common/postgres.rs"]
mod postgres;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use zveno::app::App;
use zveno::engine::Shutdown;
use zveno::flows::apply::{apply, apply_as, ApplyError, ApplyReport};
use zveno::flows::Flow;
use zveno::store::{NewConflict, OutboxRow, RecordKey, Store, WriteSettled, Written};
use zveno_connector::{
    Capabilities, Client, Connector, ConnectorError, Cursor, Env, Fetched, Kind, ManualClock, Page, Phone, RecordData,
    SyncMode, TaskStatus, WriteAction, WriteOp, WriteOutcome,
};
use zveno_sim::conformance::SimControls as _;
use zveno_sim::kit::{Kit, SimServer};
use zveno_sim::testvendor::{TestVendorSim, TOKEN_ENV};
use zveno_sim::world::{SystemData, World, WorldSpec};

use backends::on_both;
use flows::{assert_converged, convergence_cycles, nothing_written, task};

const TOKEN: &str = "tv-flows";
const CLIENTS: usize = 24;

struct Fixture {
    app: App,
    flows: Vec<Flow>,
    settings: zveno::settings::Settings,
    clock: Arc<ManualClock>,
    crm: TestVendorSim,
    portal: TestVendorSim,
    _servers: Vec<SimServer>,
    _dir: tempfile::TempDir,
}

/// The client flow every test has: CRM → portal, over the fields both hold.
fn client_flow(direction: &str, on_conflict: &str) -> String {
    format!(
        "[[flows]]\nname = \"clients-to-portal\"\nkind = \"client\"\nfrom = [\"crm\"]\nto = \"portal\"\n\
         create = true\nfields = [\"name\", \"tax_id\", \"domains\", \"phones\", \"emails\"]\n\
         direction = \"{direction}\"\non_conflict = \"{on_conflict}\"\n"
    )
}

async fn fixture(direction: &str, on_conflict: &str) -> Fixture {
    fixture_with(CLIENTS, &["client"], &client_flow(direction, on_conflict)).await
}

/// Two simulators (a CRM holding a generated world of `clients`, an empty portal), both
/// syncing `kinds`, and `flows` (TOML) between them.
async fn fixture_with(clients: usize, kinds: &[&str], flows: &str) -> Fixture {
    fixture_on(None, clients, kinds, flows).await
}

/// [`fixture_with`] on the store at `store_url` (a SQLite file in the fixture's directory
/// when `None`).
async fn fixture_on(store_url: Option<&str>, clients: usize, kinds: &[&str], flows: &str) -> Fixture {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let system = zveno_sim::testvendor::SYSTEM;
    let world = World::generate(&WorldSpec::new(15, clients, &[system]));
    let crm = TestVendorSim::new(&world.system(system), Kit::new(clock.clone(), 15), TOKEN);
    let portal = TestVendorSim::new(&SystemData::default(), Kit::new(clock.clone(), 16), TOKEN);
    let servers = vec![crm.serve().await.unwrap(), portal.serve().await.unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let entities = kinds.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let connector = |name: &str, url: String| {
        format!(
            "[connectors.{name}]\nvendor = \"testvendor\"\nbase_url = \"{url}\"\ntoken_env = \"{TOKEN_ENV}\"\n\
             entities = [{entities}]\ndefault_region = \"RU\"\n\n"
        )
    };
    let sqlite = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let config = format!(
        "[store]\nurl = \"{store}\"\n\n{crm}{portal}{flows}",
        store = store_url.unwrap_or(&sqlite),
        crm = connector("crm", servers[0].url()),
        portal = connector("portal", servers[1].url()),
    );
    let path = dir.path().join("zveno.toml");
    std::fs::write(&path, config).unwrap();
    let settings = zveno::settings::load(Some(&path), &Env::from_pairs([(TOKEN_ENV, TOKEN)])).unwrap();
    let app = App::build(&settings, clock.clone()).await.unwrap();
    Fixture { app, flows: settings.flows.clone(), settings, clock, crm, portal, _servers: servers, _dir: dir }
}

impl Fixture {
    fn store(&self) -> &Store {
        self.app.engine.store()
    }

    fn connectors(&self) -> BTreeMap<String, Arc<dyn Connector>> {
        self.app.jobs.iter().map(|j| (j.connector.name().to_string(), j.connector.clone())).collect()
    }

    fn connector(&self, name: &str) -> Arc<dyn Connector> {
        self.connectors().remove(name).unwrap()
    }

    /// Five minutes later: both connectors synced, identities resolved, the flow applied.
    async fn cycle(&self) -> ApplyReport {
        self.cycle_through(&self.connectors()).await
    }

    async fn cycle_through(&self, connectors: &BTreeMap<String, Arc<dyn Connector>>) -> ApplyReport {
        self.cycle_all(connectors).await.remove(0)
    }

    /// Every flow's report.
    async fn cycle_all(&self, connectors: &BTreeMap<String, Arc<dyn Connector>>) -> Vec<ApplyReport> {
        self.sync().await;
        let mut reports = Vec::new();
        for flow in &self.flows {
            reports.push(apply(self.store(), flow, connectors).await.unwrap());
        }
        reports
    }

    /// Five minutes later: both connectors synced, identities resolved.
    async fn sync(&self) {
        self.clock.advance(Duration::from_secs(300));
        for job in &self.app.jobs {
            for result in self.app.engine.sync_job(job, false, &Shutdown::new()).await {
                result.unwrap();
            }
        }
        self.app.engine.resolve().await.unwrap();
    }

    /// A person's edit, through the vendor's API.
    async fn edit(&self, connector: &str, id: &str, client: Client) {
        let op = WriteOp {
            op_id: "person".into(),
            action: WriteAction::Update { external_id: id.into(), data: RecordData::Client(client) },
        };
        let outcomes = self.connector(connector).push(Kind::Client, &[op]).await.unwrap();
        assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
    }

    async fn read(&self, connector: &str, id: &str) -> Client {
        let fetched = self.connector(connector).fetch(Kind::Client, &[id.to_string()]).await.unwrap();
        match fetched.records.into_iter().next().and_then(|r| r.data) {
            Some(RecordData::Client(c)) => c,
            other => panic!("{connector}/{id}: {other:?}"),
        }
    }

    /// The portal copy the flow made of CRM record `id`'s client.
    async fn copy_of(&self, id: &str) -> String {
        let links = self.store().all_links(Kind::Client).await.unwrap();
        let entity =
            links.iter().find(|l| l.key.connector == "crm" && l.key.external_id == id).unwrap().entity_id.clone();
        let state = self.store().flow_state("clients-to-portal", &[]).await.unwrap();
        let copy = state.pairs.get(&entity).unwrap_or_else(|| panic!("no copy of {entity}: {:?}", state.pairs));
        copy.external_id.clone()
    }
}

#[tokio::test]
async fn clients_are_created_once_and_a_cycle_without_edits_writes_nothing() {
    let f = fixture("one-way", "source").await;
    let first = f.cycle().await;
    let groups = f.store().entity_counts(Kind::Client).await.unwrap().0;
    assert!(first.failed.is_empty(), "{first:?}");
    assert_eq!(first.created, groups, "one copy per golden client");
    assert_eq!(f.portal.count(Kind::Client) as u64, groups);
    let writes = f.portal.writes();
    assert_eq!(first.push_calls, 1, "one push for the whole plan, batched inside the connector");

    for _ in 0..2 {
        let again = f.cycle().await;
        assert!(nothing_written(&again) && again.conflicts_open == 0, "{again:?}");
        assert_eq!(f.portal.writes(), writes, "no request at all");
    }
    assert_eq!(f.portal.count(Kind::Client) as u64, groups, "no duplicate");
}

#[tokio::test]
async fn a_rename_flows_to_the_copy_and_its_echo_triggers_nothing() {
    let f = fixture("one-way", "manual").await;
    f.cycle().await;
    let id = f.crm.live_ids(Kind::Client)[3].clone();
    f.edit("crm", &id, Client { name: "ООО «Переименованная»".into(), ..Client::default() }).await;
    let report = f.cycle().await;
    assert_eq!((report.updated, report.created, report.conflicts_open), (1, 0, 0), "{report:?}");
    let copy = f.copy_of(&id).await;
    assert_eq!(f.read("portal", &copy).await.name, "ООО «Переименованная»");
    let quiet = f.cycle().await;
    assert!(nothing_written(&quiet), "{quiet:?}");
    // One-way: an edit in the portal stays there, and is not overwritten either.
    f.edit("portal", &copy, Client { name: "Portal's own name".into(), ..Client::default() }).await;
    let after = f.cycle().await;
    assert!(nothing_written(&after) && after.conflicts_open == 0, "{after:?}");
    assert_eq!(f.read("portal", &copy).await.name, "Portal's own name");
}

#[tokio::test]
async fn a_two_way_edit_goes_back_and_a_conflict_waits_for_a_person() {
    let f = fixture("two-way", "manual").await;
    f.cycle().await;
    let id = f.crm.live_ids(Kind::Client)[5].clone();
    let copy = f.copy_of(&id).await;
    let phone = Phone::parse("+7 495 765 43 21", None).unwrap();
    f.edit("portal", &copy, Client { phones: vec![phone.clone()], ..Client::default() }).await;
    let back = f.cycle().await;
    assert_eq!((back.updated, back.conflicts_open), (1, 0), "{back:?}");
    assert_eq!(f.read("crm", &id).await.phones, vec![phone], "the portal's phone list went back to the CRM");
    assert!(nothing_written(&f.cycle().await));

    f.edit("crm", &id, Client { name: "Name in CRM".into(), ..Client::default() }).await;
    f.edit("portal", &copy, Client { name: "Name in portal".into(), ..Client::default() }).await;
    let held = f.cycle().await;
    assert_eq!((held.updated, held.conflicts_open), (0, 1), "{held:?}");
    let conflicts = f.store().conflicts(false).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0].field.as_str(), &conflicts[0].source_value), ("name", &json!("Name in CRM")));
    assert_eq!(f.read("crm", &id).await.name, "Name in CRM", "nothing silently overwritten");
    assert_eq!(f.read("portal", &copy).await.name, "Name in portal");
    assert!(f.cycle().await.conflicts_open == 1, "still queued, once");

    f.store().resolve_conflict(conflicts[0].id, "target").await.unwrap().unwrap();
    let settled = f.cycle().await;
    assert_eq!((settled.updated, settled.conflicts_open), (1, 0), "{settled:?}");
    assert_eq!(f.read("crm", &id).await.name, "Name in portal");
    assert!(nothing_written(&f.cycle().await));
}

/// The portal as seen by an apply that crashes around `push`: with `sent`, after the
/// vendor wrote (the request goes through to the simulator, its answer is lost); without,
/// before the request left.
#[derive(Debug)]
struct LostAnswers {
    portal: Arc<dyn Connector>,
    sent: bool,
}

#[async_trait]
impl Connector for LostAnswers {
    fn name(&self) -> &str {
        self.portal.name()
    }
    fn vendor(&self) -> &str {
        self.portal.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.portal.capabilities()
    }
    async fn check(&self) -> Result<(), ConnectorError> {
        self.portal.check().await
    }
    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        self.portal.pull(kind, mode, cursor).await
    }
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        self.portal.fetch(kind, ids).await
    }
    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        if self.sent {
            self.portal.push(kind, ops).await?;
        }
        Err(ConnectorError::transient("connection reset after the request was sent"))
    }
}

impl Fixture {
    /// One cycle whose apply crashes around the portal's `push` (see [`LostAnswers`]).
    async fn crashed_cycle(&self, sent: bool) -> ApplyReport {
        let mut lossy = self.connectors();
        let portal = lossy.remove("portal").unwrap();
        lossy.insert("portal".into(), Arc::new(LostAnswers { portal, sent }));
        self.cycle_through(&lossy).await
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_its_handle_never_sent_again() {
    let f = fixture("one-way", "source").await;
    let crashed = f.crashed_cycle(true).await;
    let groups = f.store().entity_counts(Kind::Client).await.unwrap().0;
    assert_eq!(crashed.created, 0);
    assert_eq!(f.portal.count(Kind::Client) as u64, groups, "the vendor wrote them");
    let unsettled = f.store().outbox_unsettled("clients-to-portal").await.unwrap();
    assert_eq!(unsettled.len() as u64, groups, "every op left `sending`");
    let writes = f.portal.writes();

    let after = f.cycle().await;
    assert_eq!((after.created, after.recovered, after.unsettled), (0, groups, 0), "{after:?}");
    assert!(f.store().outbox_unsettled("clients-to-portal").await.unwrap().is_empty());
    let pairs = f.store().flow_state("clients-to-portal", &[]).await.unwrap().pairs;
    assert_eq!(pairs.len() as u64, groups, "each found copy paired with its client");
    assert!(nothing_written(&f.cycle().await));
    assert_eq!(f.portal.writes(), writes, "no create sent again, and the found copies need no update");
    assert_eq!(f.portal.count(Kind::Client) as u64, groups, "no duplicate");
}

#[tokio::test]
async fn a_create_persisted_but_never_sent_is_sent_once_after_its_handle_is_not_found() {
    let f = fixture("one-way", "source").await;
    let crashed = f.crashed_cycle(false).await;
    let groups = f.store().entity_counts(Kind::Client).await.unwrap().0;
    assert_eq!((crashed.created, f.portal.count(Kind::Client)), (0, 0));
    assert_eq!(f.store().outbox_unsettled("clients-to-portal").await.unwrap().len() as u64, groups);

    let after = f.cycle().await;
    assert_eq!((after.created, after.recovered, after.unsettled), (groups, 0, 0), "{after:?}");
    let outbox = f.store().outbox("clients-to-portal").await.unwrap();
    assert!(outbox.iter().all(|r| r.state == "done" && r.attempts == 2), "the same ops, sent on the second attempt");
    assert!(nothing_written(&f.cycle().await));
    let mut handles = f.portal.handles(Kind::Client);
    handles.sort();
    handles.dedup();
    assert_eq!((f.portal.count(Kind::Client) as u64, handles.len() as u64), (groups, groups), "no duplicate");
}

#[tokio::test]
async fn the_write_back_tables_keep_the_outbox_ledger_base_and_conflicts_on_both_backends() {
    on_both(|store: Store, _url| async move {
        let key = |id: &str| RecordKey { connector: "portal".into(), kind: Kind::Client, external_id: id.into() };
        let row = OutboxRow {
            op_id: "op-1".into(),
            flow: "f".into(),
            group: "cl-1".into(),
            connector: "portal".into(),
            kind: Kind::Client,
            action: "create".into(),
            external_id: None,
            op: json!({"changes": []}),
            state: "sending".into(),
            attempts: 0,
            error: None,
            updated_ms: 0,
        };
        let lease = store.acquire_flow_lease("f", "test", Duration::from_secs(60)).await.unwrap().unwrap();
        assert!(store.outbox_begin(&row, &lease).await.unwrap());
        assert!(store.outbox_begin(&row, &lease).await.unwrap(), "not done yet: sent again counts an attempt");
        let state = store.flow_state("f", &["portal".into()]).await.unwrap();
        assert!(state.creating.contains("cl-1"), "an unsettled create blocks its group");
        let unsettled = store.outbox_unsettled("f").await.unwrap();
        assert_eq!((unsettled.len(), unsettled[0].attempts), (1, 2));

        let settled = WriteSettled {
            record: Some(key("77")),
            ledger: vec![("name".into(), Written { hash: "h-read-back".into(), sent: Some("h-sent".into()) })],
            agreed: vec![(key("77"), "name".into(), "h-agreed".into())],
            pair: Some("cl-1".into()),
        };
        store.outbox_done("f", "op-1", &settled).await.unwrap();
        assert!(!store.outbox_begin(&row, &lease).await.unwrap(), "a done op is never sent again");
        let state = store.flow_state("f", &["portal".into()]).await.unwrap();
        assert_eq!(state.pairs.get("cl-1"), Some(&key("77")));
        let written = state.ledger.get(&(key("77"), "name".into())).unwrap();
        assert_eq!((written.hash.as_str(), written.sent.as_deref()), ("h-read-back", Some("h-sent")));
        assert_eq!(state.agreed.get(&(key("77"), "name".into())).map(String::as_str), Some("h-agreed"));
        assert!(store.outbox_unsettled("f").await.unwrap().is_empty());

        let crm = RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: "5".into() };
        let conflict = |source: &str| NewConflict {
            group: "cl-1".into(),
            field: "name".into(),
            source: (crm.clone(), json!(source)),
            target: (key("77"), json!("B")),
            base: Some("h-agreed".into()),
        };
        assert_eq!(store.queue_conflicts("f", &[conflict("A")]).await.unwrap(), 1);
        assert_eq!(store.queue_conflicts("f", &[conflict("A2")]).await.unwrap(), 1, "one open row per field");
        let open = store.conflicts(false).await.unwrap();
        assert_eq!(open[0].source_value, json!("A2"));
        assert!(store.resolve_conflict(open[0].id + 100, "source").await.unwrap().is_none());
        let resolved = store.resolve_conflict(open[0].id, "source").await.unwrap().unwrap();
        assert_eq!(resolved.taken.as_deref(), Some("source"));
        assert!(store.conflicts(false).await.unwrap().is_empty());
        let state = store.flow_state("f", &[]).await.unwrap();
        let base = state.agreed.get(&(key("77"), "name".into())).cloned();
        assert_eq!(base, Some(zveno::flows::values::hash(&json!("B"))), "the base moves to the losing side's value");

        store.queue_conflicts("f", &[conflict("C")]).await.unwrap();
        assert_eq!(store.queue_conflicts("f", &[]).await.unwrap(), 0, "a conflict no longer found settles itself");
        store.outbox_failed("op-1", "refused").await.unwrap();
    })
    .await;
}

/// Two instances on one store (a daemon and `zveno apply` in a shell) applying the same
/// flow at the same moment, after the same sync: every planned op is sent once, by
/// whichever takes the flow's lease first; the other waits, plans again and finds nothing
/// left to do. Creates first, then renames.
async fn concurrent_applies_send_each_op_once(store_url: Option<&str>) {
    let f = fixture_on(store_url, CLIENTS, &["client"], &client_flow("one-way", "source")).await;
    let other = App::build(&f.settings, f.clock.clone()).await.unwrap();
    let theirs: BTreeMap<String, Arc<dyn Connector>> =
        other.jobs.iter().map(|j| (j.connector.name().to_string(), j.connector.clone())).collect();
    let flow = &f.flows[0];
    let ours = f.connectors();
    let both = || async {
        let (a, b) = tokio::join!(
            apply_as(f.store(), flow, &ours, "daemon", true),
            apply_as(other.engine.store(), flow, &theirs, "shell", true),
        );
        [a.unwrap(), b.unwrap()]
    };

    f.sync().await;
    let groups = f.store().entity_counts(Kind::Client).await.unwrap().0;
    let reports = both().await;
    assert_eq!(reports.iter().map(|r| r.created).sum::<u64>(), groups, "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.push_calls).sum::<u64>(), 1, "one instance sent, the other found it done");
    assert_eq!(f.portal.count(Kind::Client) as u64, groups, "no duplicate copy");
    assert_eq!(f.portal.writes(), groups, "one create request per client (the portal has no batch endpoint)");

    let ids = f.crm.live_ids(Kind::Client);
    for (n, id) in ids.iter().take(3).enumerate() {
        f.edit("crm", id, Client { name: format!("Renamed {n}"), ..Client::default() }).await;
    }
    f.sync().await;
    let reports = both().await;
    assert_eq!(reports.iter().map(|r| r.updated).sum::<u64>(), 3, "{reports:?}");
    assert!(reports.iter().all(|r| r.failed.is_empty() && r.already_done == 0), "{reports:?}");
    assert_eq!(f.portal.writes(), groups + 3, "each rename sent once");
    let outbox = f.store().outbox(&flow.name).await.unwrap();
    assert_eq!(outbox.len() as u64, groups + 3);
    assert!(outbox.iter().all(|op| op.state == "done" && op.attempts == 1), "each op sent once: {outbox:?}");
    for (n, id) in ids.iter().take(3).enumerate() {
        assert_eq!(f.read("portal", &f.copy_of(id).await).await.name, format!("Renamed {n}"));
    }
}

#[tokio::test]
async fn two_instances_applying_a_flow_at_once_send_each_op_once_on_sqlite() {
    concurrent_applies_send_each_op_once(None).await;
}

#[tokio::test]
async fn two_instances_applying_a_flow_at_once_send_each_op_once_on_postgres() {
    let pg = postgres::PgSchema::create().await;
    concurrent_applies_send_each_op_once(Some(pg.url())).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn an_apply_refused_while_another_instance_holds_the_flow_names_it_and_sends_nothing() {
    let f = fixture("one-way", "source").await;
    f.sync().await;
    let flow = &f.flows[0];
    let held = f.store().acquire_flow_lease(&flow.name, "host-b:4242:abcdef", Duration::from_secs(60)).await;
    let held = held.unwrap().unwrap();
    let err = apply_as(f.store(), flow, &f.connectors(), "shell", false).await.expect_err("held elsewhere");
    assert!(matches!(err, ApplyError::Held { .. }), "{err}");
    assert!(err.to_string().contains("host-b:4242:abcdef"), "{err}");
    assert_eq!(f.portal.writes(), 0, "nothing sent");
    assert!(f.store().outbox(&flow.name).await.unwrap().is_empty());
    f.store().release_lease(&held).await.unwrap();
    let report = apply_as(f.store(), flow, &f.connectors(), "shell", false).await.unwrap();
    assert!(report.created > 0 && report.failed.is_empty(), "{report:?}");
}

impl Fixture {
    /// One random edit by a person: on either side a rename or a new phone of a client, a
    /// task's status change; in the CRM also a new client, a deleted client, a new task or
    /// a deleted task.
    async fn random_edit(&self, rng: &mut impl rand::Rng, n: usize) {
        let clients = self.store().flow_state("clients-to-portal", &[]).await.unwrap();
        let tasks = self.store().flow_state("tasks-to-portal", &[]).await.unwrap();
        let pick = |ids: Vec<String>, rng: &mut dyn rand::RngCore| -> Option<String> {
            (!ids.is_empty()).then(|| ids[rng.next_u32() as usize % ids.len()].clone())
        };
        let copies = |state: &zveno::store::FlowState, kind: Kind| -> Vec<String> {
            let live = self.portal.live_ids(kind);
            state.pairs.values().map(|k| k.external_id.clone()).filter(|id| live.contains(id)).collect()
        };
        let phone =
            || Phone::parse(&format!("+7 495 {:03} {:02} {:02}", 100 + n, n % 100, (n * 7) % 100), None).unwrap();
        let side = if rng.gen_bool(0.5) { "crm" } else { "portal" };
        let (kind, what) = (if rng.gen_bool(0.5) { Kind::Client } else { Kind::Task }, rng.gen_range(0..4));
        let id = match (side, kind) {
            ("crm", kind) => pick(self.crm.live_ids(kind), rng),
            (_, Kind::Client) => pick(copies(&clients, Kind::Client), rng),
            _ => pick(copies(&tasks, Kind::Task), rng),
        };
        let Some(id) = id else { return };
        let statuses = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];
        let status = statuses[rng.gen_range(0..statuses.len())];
        let action = match (kind, what) {
            (_, 3) if side == "crm" => {
                self.crm.delete(kind, id.parse().unwrap());
                return;
            }
            (Kind::Client, 2) if side == "crm" => {
                let data = Client {
                    name: format!("New client {n}"),
                    domains: vec![zveno_connector::Domain::parse(&format!("new-client-{n}.example")).unwrap()],
                    phones: vec![phone()],
                    ..Client::default()
                };
                WriteAction::Create { data: RecordData::Client(data) }
            }
            (Kind::Task, 2) if side == "crm" => {
                WriteAction::Create { data: RecordData::Task(task(format!("New task {n}"), status)) }
            }
            (Kind::Client, 0) => {
                let data = Client { name: format!("ООО «Клиент {n}»"), ..Client::default() };
                WriteAction::Update { external_id: id, data: RecordData::Client(data) }
            }
            (Kind::Client, _) => {
                let data = Client { phones: vec![phone()], ..Client::default() };
                WriteAction::Update { external_id: id, data: RecordData::Client(data) }
            }
            _ => WriteAction::Update { external_id: id, data: RecordData::Task(task(String::new(), status)) },
        };
        let outcomes = self.connector(side).push(kind, &[WriteOp { op_id: "person".into(), action }]).await.unwrap();
        assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
    }
}

#[tokio::test]
async fn random_edits_on_both_sides_converge_or_wait_as_conflicts_without_duplicates() {
    let flows = format!(
        "{}\n[[flows]]\nname = \"tasks-to-portal\"\nkind = \"task\"\nfrom = [\"crm\"]\nto = \"portal\"\n\
         create = true\nfields = [\"title\", \"status\", \"due\"]\ndirection = \"two-way\"\non_conflict = \"most_recent\"\n",
        client_flow("two-way", "manual")
    );
    let f = fixture_with(12, &["client", "task"], &flows).await;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(20);
    let connectors = f.connectors();
    let first = f.cycle_all(&connectors).await;
    assert!(first.iter().all(|r| r.failed.is_empty() && r.created > 0), "{first:?}");
    let (mut created, mut updated) = (0, 0);
    let cycles = convergence_cycles(20);
    for cycle in 0..cycles {
        for edit in 0..4 {
            f.random_edit(&mut rng, cycle * 10 + edit).await;
        }
        for report in f.cycle_all(&connectors).await {
            assert!(report.failed.is_empty(), "cycle {cycle}: {report:?}");
            (created, updated) = (created + report.created, updated + report.updated);
        }
    }
    eprintln!("convergence: {cycles} cycles, {created} records created and {updated} updated after the first cycle");
    if cycles >= 10 {
        assert!(created > 0 && updated > 0, "the edits made the flows write: {created} created, {updated} updated");
    }
    // Settling: a write-back's own echo is read in the cycle after it.
    f.cycle_all(&connectors).await;
    let (crm_writes, portal_writes) = (f.crm.writes(), f.portal.writes());
    let quiet = f.cycle_all(&connectors).await;
    assert!(quiet.iter().all(nothing_written), "a cycle without edits writes nothing: {quiet:?}");
    assert_eq!((f.crm.writes(), f.portal.writes()), (crm_writes, portal_writes), "not one write request");

    let open = f.store().conflicts(false).await.unwrap();
    eprintln!("convergence: {} conflicts left open for a person", open.len());
    let copies = assert_converged(f.store(), &f.flows, |_, _, _| false).await;
    for (flow, copies) in f.flows.iter().zip(copies) {
        // No duplicates: every portal record is exactly one group's copy, made once.
        let live: std::collections::BTreeSet<String> = f.portal.live_ids(flow.kind).into_iter().collect();
        assert_eq!(live, copies, "{}: every copy made once and still there, nothing else", flow.name);
    }
}

const READ: &str = "read-token-for-flows";
const ADMIN: &str = "admin-token-for-flows";

/// The HTTP service over the fixture's store and flows, with a read and an admin token.
fn web(f: &Fixture) -> axum::Router {
    use zveno::server::{router, Auth, ServerState, StateParts};
    router(ServerState::new(StateParts {
        store: f.store().clone(),
        resolver: f.app.engine.resolver().cloned(),
        connectors: Vec::new(),
        zone: chrono_tz::Europe::Moscow,
        auth: Auth::new(Some(zveno_connector::Secret::new(READ)), Some(zveno_connector::Secret::new(ADMIN))),
        metrics: Arc::new(zveno::metrics::Metrics::new()),
        clock: f.clock.clone(),
        secure_cookies: false,
        public_url: None,
        webhooks: None,
        flows: f.flows.clone(),
    }))
}

/// Status and body of `request`.
async fn call(app: &axum::Router, request: axum::http::Request<axum::body::Body>) -> (axum::http::StatusCode, String) {
    use tower::ServiceExt as _;
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The session cookie of signing in with `token`.
async fn session(app: &axum::Router, token: &str) -> String {
    use tower::ServiceExt as _;
    let form = axum::http::Request::post("/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("token={token}&next=%2Fflows")))
        .unwrap();
    let answer = app.clone().oneshot(form).await.unwrap();
    let cookie = answer.headers().get("set-cookie").expect("signed in").to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

fn page(uri: &str, cookie: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(uri).header("cookie", cookie).body(axum::body::Body::empty()).unwrap()
}

fn resolve_form(cookie: &str, id: i64, take: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post("/admin/conflicts/resolve")
        .header("cookie", cookie)
        .header("host", "127.0.0.1:9470")
        .header("origin", "http://127.0.0.1:9470")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("id={id}&take={take}&next=%2Fflows%23conflicts")))
        .unwrap()
}

fn api(method: &str, uri: &str, token: &str, body: Option<serde_json::Value>) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(axum::body::Body::empty, |b| axum::body::Body::from(b.to_string())))
        .unwrap()
}

#[tokio::test]
async fn signed_in_admins_see_each_plan_and_settle_conflicts_in_the_web_view_and_readers_do_not() {
    let f = fixture("two-way", "manual").await;
    f.cycle().await;
    let ids = f.crm.live_ids(Kind::Client);
    let (id, copy) = (ids[5].clone(), f.copy_of(&ids[5]).await);
    f.edit("crm", &id, Client { name: "Name in CRM".into(), ..Client::default() }).await;
    f.edit("portal", &copy, Client { name: "Name in portal".into(), ..Client::default() }).await;
    assert_eq!(f.cycle().await.conflicts_open, 1);
    let renamed = f.copy_of(&ids[7]).await;
    let old_name = f.read("portal", &renamed).await.name;
    f.edit("crm", &ids[7], Client { name: "Pending rename".into(), ..Client::default() }).await;
    f.sync().await;
    let conflict = f.store().conflicts(false).await.unwrap().remove(0);

    let app = web(&f);
    let (admin, reader) = (session(&app, ADMIN).await, session(&app, READ).await);
    let (status, body) = call(&app, page("/flows", &reader)).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN);
    assert!(!body.contains("Pending rename") && !body.contains("Name in CRM"), "readers see neither: {body}");
    let (_, clients) = call(&app, page("/clients", &reader)).await;
    assert!(!clients.contains("href=\"/flows\""), "no write-back tab for readers");

    let (status, body) = call(&app, page("/flows", &admin)).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert!(body.contains("href=\"/flows\""), "admins have the tab");
    assert!(body.contains("id=\"flow-clients-to-portal\""), "{body}");
    assert!(body.contains(&renamed) && body.contains(&old_name) && body.contains("Pending rename"), "before → after");
    assert!(body.contains(&format!("id=\"conflict-{}\"", conflict.id)), "{body}");
    assert!(body.contains("Name in CRM") && body.contains("Name in portal"));
    assert!(body.contains("action=\"/admin/conflicts/resolve\""));

    let (status, _) = call(&app, resolve_form(&reader, conflict.id, "target")).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN, "readers cannot settle");
    assert_eq!(f.store().conflicts(false).await.unwrap().len(), 1, "a refused post changes nothing");
    let (status, body) = call(&app, resolve_form(&admin, conflict.id, "target")).await;
    assert_eq!(status, axum::http::StatusCode::SEE_OTHER, "{body}");
    assert!(f.store().conflicts(false).await.unwrap().is_empty());
    let (status, body) = call(&app, resolve_form(&admin, conflict.id, "target")).await;
    assert_eq!(status, axum::http::StatusCode::NOT_FOUND, "settled already: {body}");
    let settled = f.cycle().await;
    assert_eq!(f.read("crm", &id).await.name, "Name in portal", "the next apply writes the winner: {settled:?}");

    // The same through the API, for admin tokens only.
    let (status, _) = call(&app, api("GET", "/api/v1/admin/flows/plan", READ, None)).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN);
    f.edit("crm", &ids[9], Client { name: "Through the API".into(), ..Client::default() }).await;
    f.sync().await;
    let (status, body) = call(&app, api("GET", "/api/v1/admin/flows/plan", ADMIN, None)).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    let plans: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plans["items"][0]["flow"], json!("clients-to-portal"));
    let afters: Vec<&serde_json::Value> = plans["items"][0]["ops"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|op| op["changes"].as_array().unwrap())
        .map(|c| &c["after"])
        .collect();
    assert!(afters.contains(&&json!("Through the API")), "{body}");
    let (status, body) = call(&app, api("GET", "/api/v1/admin/conflicts", ADMIN, None)).await;
    assert_eq!((status, body.as_str()), (axum::http::StatusCode::OK, r#"{"items":[],"next_cursor":null}"#));
    let resolve = |take: &str| Some(json!({"id": conflict.id, "take": take}));
    let (status, body) = call(&app, api("POST", "/api/v1/admin/conflicts/resolve", ADMIN, resolve("both"))).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = call(&app, api("POST", "/api/v1/admin/conflicts/resolve", READ, resolve("source"))).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN);
    let (status, _) = call(&app, api("POST", "/api/v1/admin/conflicts/resolve", ADMIN, resolve("source"))).await;
    assert_eq!(status, axum::http::StatusCode::NOT_FOUND, "no open conflict with that id");
}
