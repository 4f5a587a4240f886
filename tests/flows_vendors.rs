//! Write-back flows on the real vendors' simulators: the issue's two flows — HubSpot
//! companies copied one way into Bitrix24 (created there when missing), Jira issues kept
//! two ways with Bitrix24 tasks (a status changed in Bitrix24 goes back to Jira through a
//! workflow transition) — run by the daemon's own pieces on a virtual clock, through random
//! edits people make in all three systems.
//!
//! Edits go through each vendor's API (the connectors' `push`, as a person's edit reaches
//! the vendor) and through the simulators' handles for deletions; the write requests zveno
//! sends, and the largest batch each carried, are counted from the simulators' request logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Its `build` (a daemon without flows) is for other tests.
#[path = "common/crash.rs"]
mod crash;
#[allow(dead_code)]
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/flows.rs"]
mod flows;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use zveno::app::App;
use zveno::engine::Shutdown;
use zveno::flows::apply::{apply, ApplyReport};
use zveno::flows::Flow;
use zveno::store::{RecordKey, Store};
use zveno_bitrix24::simulator::{Bitrix24Sim, INN_USER_FIELD, WEBHOOK_ENV};
use zveno_connector::{
    Client, Clock, Connector, Domain, Env, Kind, ManualClock, Phone, RecordData, SystemClock, TaskStatus,
};
use zveno_connector::{WriteAction, WriteOp};
use zveno_hubspot::simulator::HubSpotSim;
use zveno_jira::JiraSim;
use zveno_sim::conformance::SimControls;
use zveno_sim::kit::{EndpointStats, Kit, SimServer};
use zveno_sim::world::{SystemData, World, WorldSpec};

use crash::CrashWorld;
use flows::{assert_converged, convergence_cycles, nothing_written, task};

/// The issue's two flows, as an operator writes them.
const FLOWS: &str = r#"
[[flows]]
name = "clients-to-portal"
kind = "client"
from = ["hubspot"]
to = "bitrix24"
create = true
fields = ["name", "tax_id", "domains", "phones", "emails", "owner"]
on_conflict = "source"

[[flows]]
name = "jira-tasks-to-portal"
kind = "task"
from = ["jira"]
to = "bitrix24"
create = true
fields = ["title", "status", "due", "assignee"]
direction = "two-way"
on_conflict = "most_recent"
on_delete = "archive"
"#;

/// The three simulators: HubSpot and Jira holding a generated world of `clients`, Bitrix24
/// empty but for its users (the same people, by e-mail, as the other systems'), on `clock`,
/// with the Bitrix24 portal's request budget `bitrix24`.
struct Sims {
    hubspot: HubSpotSim,
    jira: JiraSim,
    bitrix: Bitrix24Sim,
    _bitrix_server: SimServer,
    /// The `[connectors.*]` tables pointing at them.
    connectors: toml::Table,
    /// The credentials those tables reference.
    vars: Vec<(String, String)>,
}

async fn sims(
    clock: Arc<dyn Clock>,
    clients: usize,
    seed: u64,
    bitrix24: zveno_bitrix24::simulator::SimOptions,
) -> Sims {
    let (hs, jr, bx) =
        (zveno_hubspot::simulator::SYSTEM, zveno_jira::simulator::SYSTEM, zveno_bitrix24::simulator::SYSTEM);
    let mut spec = WorldSpec::new(seed, clients, &[hs, jr, bx]);
    spec.now = clock.now() - chrono::Duration::days(1);
    let world = World::generate(&spec);
    let hubspot_options = zveno_hubspot::simulator::SimOptions::new(&zveno_hubspot::simulator::demo_token(seed));
    let hubspot = HubSpotSim::start(&world.system(hs), clock.clone(), seed, hubspot_options).await.unwrap();
    let jira = JiraSim::start(world.system(jr), clock.clone(), seed, zveno_jira::SimOptions::default()).await.unwrap();
    let portal = SystemData { users: world.system(bx).users, ..SystemData::default() };
    let bitrix = Bitrix24Sim::new(&portal, Kit::new(clock, seed), bitrix24);
    let bitrix_server = bitrix.serve().await.unwrap();

    let mut connectors = toml::Table::new();
    let mut options = hubspot.connector_options();
    options["entities"] = json!(["client"]);
    connectors.insert("hubspot".into(), daemon::connector("hubspot", &hubspot.url(), options));
    connectors.insert("jira".into(), daemon::connector("jira", &jira.url(), jira.connector_options()));
    let options =
        json!({"webhook_url_env": WEBHOOK_ENV, "entities": ["client", "task"], "tax_id_field": [INN_USER_FIELD]});
    connectors.insert("bitrix24".into(), daemon::connector("bitrix24", &bitrix_server.url(), options));
    let vars = vec![
        (WEBHOOK_ENV.to_string(), bitrix.webhook_url(&bitrix_server.url())),
        (zveno_hubspot::simulator::TOKEN_ENV.to_string(), hubspot.token()),
        (zveno_jira::simulator::TOKEN_ENV.to_string(), jira.options().token.clone()),
    ];
    Sims { hubspot, jira, bitrix, _bitrix_server: bitrix_server, connectors, vars }
}

impl Sims {
    fn controls(&self) -> [(&'static str, &dyn SimControls); 3] {
        [("hubspot", &self.hubspot), ("jira", &self.jira), ("bitrix24", &self.bitrix)]
    }

    /// Ids of the live Bitrix24 records of `kind`.
    fn bitrix_ids(&self, kind: Kind) -> BTreeSet<String> {
        self.bitrix.ids(kind).iter().map(ToString::to_string).collect()
    }
}

/// The daemon pointed at the three simulators on a virtual clock, with the issue's flows.
struct Vendors {
    app: App,
    flows: Vec<Flow>,
    clock: Arc<ManualClock>,
    sims: Sims,
    _dir: tempfile::TempDir,
}

async fn vendors(clients: usize, seed: u64) -> Vendors {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let sims = sims(clock.clone(), clients, seed, zveno_bitrix24::simulator::SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(&dir, None, sims.connectors.clone(), FLOWS);
    let settings = zveno::settings::load(Some(&path), &Env::from_pairs(sims.vars.clone())).unwrap();
    let app = App::build(&settings, clock.clone()).await.unwrap();
    Vendors { app, flows: settings.flows, clock, sims, _dir: dir }
}

/// What zveno's applies sent to one vendor: write requests, and the largest batch.
#[derive(Debug, Default, Clone, Copy)]
struct Sent {
    requests: u64,
    largest_batch: u64,
}

impl Vendors {
    fn store(&self) -> &Store {
        self.app.engine.store()
    }

    fn connectors(&self) -> BTreeMap<String, Arc<dyn Connector>> {
        self.app.jobs.iter().map(|j| (j.connector.name().to_string(), j.connector.clone())).collect()
    }

    /// Five minutes later: every connector synced, identities resolved, then every flow
    /// applied, with the write requests the applies (not the edits before) sent per vendor.
    async fn cycle(&self, sent: &mut BTreeMap<&'static str, Sent>) -> Vec<ApplyReport> {
        self.clock.advance(Duration::from_secs(300));
        for job in &self.app.jobs {
            for result in self.app.engine.sync_job(job, false, &Shutdown::new()).await {
                let run = result.unwrap();
                assert!(run.error.is_none(), "{run:?}");
            }
        }
        self.app.engine.resolve().await.unwrap();
        let before: Vec<u64> = self.sims.controls().iter().map(|(_, s)| s.writes()).collect();
        let connectors = self.connectors();
        let mut reports = Vec::new();
        for flow in &self.flows {
            reports.push(apply(self.store(), flow, &connectors).await.unwrap());
        }
        for ((vendor, sim), before) in self.sims.controls().into_iter().zip(before) {
            let counted = sent.entry(vendor).or_default();
            counted.requests += sim.writes() - before;
            let log: EndpointStats = sim.kit().log().total();
            counted.largest_batch = counted.largest_batch.max(log.largest_batch);
        }
        reports
    }

    async fn push(&self, connector: &str, kind: Kind, action: WriteAction) {
        let connector = self.connectors().remove(connector).unwrap();
        let outcomes = connector.push(kind, &[WriteOp { op_id: "person".into(), action }]).await.unwrap();
        assert!(outcomes[0].result.is_ok(), "{}: {outcomes:?}", connector.name());
    }

    /// Ids of the live records of `connector`/`kind` as zveno last read them.
    async fn stored(&self, connector: &str, kind: Kind) -> Vec<String> {
        let records = self.store().list_records(connector, kind, None, 1_000_000).await.unwrap();
        records.into_iter().filter(|r| !r.record.deleted).map(|r| r.record.external_id).collect()
    }

    /// Task copies in Bitrix24 whose Jira issue concerns a client zveno copied there: each
    /// must be attached to that company (`UF_CRM_TASK` holds `CO_<id>`). Returns how many.
    async fn attached_to_their_clients(&self) -> usize {
        let client_copies = self.store().flow_copies("bitrix24", Kind::Client).await.unwrap();
        let tasks = self.store().tasks(&zveno::store::TaskFilter::default()).await.unwrap();
        let pairs = self.store().flow_state("jira-tasks-to-portal", &[]).await.unwrap().pairs;
        let mut attached = 0;
        for task in tasks.iter().filter(|t| t.connector == "jira") {
            let copy = pairs.get(&format!("jira/task/{}", task.external_id));
            let company = task.client_id.as_ref().and_then(|c| client_copies.get(c));
            let (Some(copy), Some(company)) = (copy, company) else { continue };
            let Some(held) = self.sims.bitrix.task(copy.external_id.parse().unwrap()) else { continue };
            let links = held["ufCrmTask"].as_array().cloned().unwrap_or_default();
            assert!(
                links.contains(&json!(format!("CO_{company}"))),
                "Bitrix24 task {} (Jira {}) is not attached to company {company}: {links:?}",
                copy.external_id,
                task.external_id
            );
            attached += 1;
        }
        attached
    }

    /// The copies a flow made that are still live in Bitrix24.
    async fn copies(&self, flow: &str, kind: Kind) -> Vec<String> {
        let pairs = self.store().flow_state(flow, &[]).await.unwrap().pairs;
        let live = self.sims.bitrix_ids(kind);
        pairs.into_values().map(|k| k.external_id).filter(|id| live.contains(id)).collect()
    }
}

/// Random edits and what they leave different on purpose.
struct Editor {
    rng: StdRng,
    /// Bitrix24 copies a person edited (field by field): a one-way flow leaves them alone.
    edited_copies: BTreeSet<(String, String)>,
    /// Bitrix24 copies of deleted Jira issues, which `on_delete = "archive"` completes
    /// (unless a person changed the copy after the deletion).
    closing: BTreeSet<String>,
    counts: BTreeMap<&'static str, u32>,
}

fn pick(rng: &mut StdRng, ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone())
}

impl Editor {
    /// The `n`-th edit by a person, in one of the three systems: renames, new phones,
    /// status changes, new clients and tasks, deletions.
    async fn edit(&mut self, v: &Vendors, n: usize) {
        let statuses = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];
        let status = statuses[self.rng.gen_range(0..statuses.len())];
        let phone =
            Phone::parse(&format!("+7 495 {:03} {:02} {:02}", 100 + n % 900, n % 100, (n * 7) % 100), None).unwrap();
        // Every kind of edit in turn; what it hits is drawn at random.
        let what = n % 12;
        let hubspot = v.stored("hubspot", Kind::Client).await;
        let issues = v.stored("jira", Kind::Task).await;
        let companies = v.copies("clients-to-portal", Kind::Client).await;
        let tasks = v.copies("jira-tasks-to-portal", Kind::Task).await;
        let name: &'static str = match what {
            0 | 1 => {
                let Some(id) = pick(&mut self.rng, &hubspot) else { return };
                let data = if what == 0 {
                    Client { name: format!("ООО «Клиент {n}»"), ..Client::default() }
                } else {
                    Client { phones: vec![phone], ..Client::default() }
                };
                v.push("hubspot", Kind::Client, update(id, RecordData::Client(data))).await;
                if what == 0 {
                    "hubspot rename"
                } else {
                    "hubspot new phone"
                }
            }
            2 => {
                let data = Client {
                    name: format!("New client {n}"),
                    domains: vec![Domain::parse(&format!("new-client-{n}.example")).unwrap()],
                    phones: vec![phone],
                    ..Client::default()
                };
                v.push("hubspot", Kind::Client, WriteAction::Create { data: RecordData::Client(data) }).await;
                "hubspot new client"
            }
            3 => {
                let Some(id) = pick(&mut self.rng, &hubspot) else { return };
                v.push("hubspot", Kind::Client, WriteAction::Archive { external_id: id }).await;
                "hubspot deletion"
            }
            4 | 5 => {
                let Some(id) = pick(&mut self.rng, &companies) else { return };
                let (data, field) = if what == 4 {
                    (
                        Client {
                            name: format!("Переименована в Битрикс24 {n}"), ..Client::default()
                        },
                        "name",
                    )
                } else {
                    (Client { phones: vec![phone], ..Client::default() }, "phones")
                };
                v.push("bitrix24", Kind::Client, update(id.clone(), RecordData::Client(data))).await;
                self.edited_copies.insert((id, field.to_string()));
                if what == 4 {
                    "bitrix24 company rename"
                } else {
                    "bitrix24 company new phone"
                }
            }
            6 | 7 => {
                let Some(id) = pick(&mut self.rng, &issues) else { return };
                let title =
                    if what == 6 { format!("Переименованная задача {n}") } else { String::new() };
                v.push("jira", Kind::Task, update(id, RecordData::Task(task(title, status)))).await;
                if what == 6 {
                    "jira rename"
                } else {
                    "jira status change"
                }
            }
            8 => {
                let data = RecordData::Task(task(format!("New task {n}"), status));
                v.push("jira", Kind::Task, WriteAction::Create { data }).await;
                "jira new task"
            }
            9 => {
                let Some(id) = pick(&mut self.rng, &issues) else { return };
                assert!(v.sims.jira.delete(id.parse().unwrap()), "issue {id}");
                let pairs = v.store().flow_state("jira-tasks-to-portal", &[]).await.unwrap().pairs;
                self.closing.extend(pairs.get(&format!("jira/task/{id}")).map(|k| k.external_id.clone()));
                "jira deletion"
            }
            10 => {
                let Some(id) = pick(&mut self.rng, &tasks) else { return };
                self.closing.remove(&id);
                v.push("bitrix24", Kind::Task, update(id, RecordData::Task(task(String::new(), status)))).await;
                "bitrix24 task status change"
            }
            _ => {
                let Some(id) = pick(&mut self.rng, &tasks) else { return };
                self.closing.remove(&id);
                let title = format!("Задача переименована в Битрикс24 {n}");
                v.push("bitrix24", Kind::Task, update(id, RecordData::Task(task(title, status)))).await;
                "bitrix24 task rename"
            }
        };
        *self.counts.entry(name).or_default() += 1;
    }
}

fn update(id: String, data: RecordData) -> WriteAction {
    WriteAction::Update { external_id: id, data }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_in_hubspot_jira_and_bitrix24_converge_without_duplicates_within_batch_limits() {
    let started = Instant::now();
    let v = vendors(40, 21).await;
    let mut sent = BTreeMap::new();
    let first = v.cycle(&mut sent).await;
    assert!(first.iter().all(|r| r.failed.is_empty() && r.created > 0), "{first:?}");
    let initial: u64 = first.iter().map(|r| r.created).sum();
    let mut editor = Editor {
        rng: StdRng::seed_from_u64(21),
        edited_copies: BTreeSet::new(),
        closing: BTreeSet::new(),
        counts: BTreeMap::new(),
    };
    let (mut created, mut updated, mut archived) = (0, 0, 0);
    // 10 in CI (about 20 s); the issue's 20 with ZVENO_CONVERGENCE_CYCLES=20.
    let cycles = convergence_cycles(10);
    for cycle in 0..cycles {
        for edit in 0..4 {
            editor.edit(&v, cycle * 4 + edit).await;
        }
        for report in v.cycle(&mut sent).await {
            assert!(report.failed.is_empty(), "cycle {cycle}: {report:?}");
            (created, updated) = (created + report.created, updated + report.updated);
            archived += report.archived;
        }
    }
    if cycles >= 10 {
        assert!(created > 0 && updated > 0, "the edits made the flows write: {created} created, {updated} updated");
    }
    // Settling: a write-back's own echo is read in the cycle after it.
    v.cycle(&mut sent).await;
    let writes: Vec<u64> = v.sims.controls().iter().map(|(_, s)| s.writes()).collect();
    let quiet = v.cycle(&mut sent).await;
    assert!(quiet.iter().all(nothing_written), "a cycle without edits writes nothing: {quiet:?}");
    assert_eq!(v.sims.controls().iter().map(|(_, s)| s.writes()).collect::<Vec<_>>(), writes, "not one write request");

    let open = v.store().conflicts(false).await.unwrap();
    let explained = |flow: &Flow, copy: &RecordKey, field: &str| {
        flow.kind == Kind::Client && editor.edited_copies.contains(&(copy.external_id.clone(), field.to_string()))
    };
    let copies = assert_converged(v.store(), &v.flows, explained).await;
    for (flow, copies) in v.flows.iter().zip(copies) {
        // No duplicates: every Bitrix24 record is one group's copy, made once.
        let live = v.sims.bitrix_ids(flow.kind);
        assert!(live.is_subset(&copies), "{}: a Bitrix24 record no flow made: {live:?} / {copies:?}", flow.name);
    }
    let attached = v.attached_to_their_clients().await;
    // Completed by zveno, or closed already (a deferred task is cancelled in the model).
    let copies = v.store().list_records("bitrix24", Kind::Task, None, 1_000_000).await.unwrap();
    for id in &editor.closing {
        let copy = copies.iter().find(|r| &r.record.external_id == id).unwrap();
        let status = match &copy.record.data {
            Some(RecordData::Task(t)) => t.status,
            other => panic!("{id}: {other:?}"),
        };
        assert!(!status.is_open(), "the copy {id} of a deleted Jira issue is closed: {status:?}");
    }
    for (vendor, limit) in [("hubspot", 100), ("bitrix24", 50), ("jira", 50)] {
        let s = sent.get(vendor).copied().unwrap_or_default();
        assert!(s.largest_batch <= limit, "{vendor}: a batch of {} (limit {limit})", s.largest_batch);
    }
    eprintln!(
        "flows on vendor simulators: {cycles} cycles of 4 edits ({:?}); {initial} records created by the first \
         apply, then {created} created, {updated} updated and {archived} archived; {} conflicts open; {attached} task copies \
         attached to their client's company; {} copies of deleted issues closed; write requests per vendor (largest batch): {sent:?}; {:.1} s",
        editor.counts,
        open.len(),
        editor.closing.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The three simulators on the wall clock, for `zveno apply` processes killed mid-write
/// (`common/crash.rs`): between applies people rename HubSpot companies and move a Bitrix24
/// task copy to another status (a write-back to Jira). The portal has an Enterprise plan's
/// request budget, so the many short-lived processes are not throttled.
struct Crashing {
    sims: Sims,
    hubspot: Arc<dyn Connector>,
    bitrix24: Arc<dyn Connector>,
    config: std::path::PathBuf,
    store_url: String,
    _dir: tempfile::TempDir,
}

async fn crashing(clients: usize, seed: u64) -> Crashing {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let enterprise =
        zveno_bitrix24::simulator::SimOptions { bucket_capacity: 250, bucket_drain: 5.0, ..Default::default() };
    let sims = sims(clock.clone(), clients, seed, enterprise).await;
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite://{}", dir.path().join("zveno.db").display());
    let config = daemon::write_config(&dir, Some(&store_url), sims.connectors.clone(), FLOWS);
    let settings = zveno::settings::load(Some(&config), &Env::from_pairs(sims.vars.clone())).unwrap();
    let app = App::build(&settings, clock).await.unwrap();
    let connector = |name: &str| app.jobs.iter().find(|j| j.connector.name() == name).unwrap().connector.clone();
    let (hubspot, bitrix24) = (connector("hubspot"), connector("bitrix24"));
    Crashing { sims, hubspot, bitrix24, config, store_url, _dir: dir }
}

#[async_trait]
impl CrashWorld for Crashing {
    fn config(&self) -> &std::path::Path {
        &self.config
    }

    fn store_url(&self) -> &str {
        &self.store_url
    }

    fn env(&self) -> Vec<(String, String)> {
        self.sims.vars.clone()
    }

    fn flows(&self) -> Vec<(&'static str, Kind)> {
        vec![("clients-to-portal", Kind::Client), ("jira-tasks-to-portal", Kind::Task)]
    }

    async fn edit(&self, rng: &mut StdRng, round: u64) {
        let store = Store::connect(&self.store_url).await.unwrap();
        let companies = store.list_records("hubspot", Kind::Client, None, 1_000_000).await.unwrap();
        let companies: Vec<String> = companies.into_iter().map(|r| r.record.external_id).collect();
        let tasks: Vec<String> = self.sims.bitrix_ids(Kind::Task).into_iter().collect();
        store.close().await;
        for i in 0..2 {
            let Some(id) = pick(rng, &companies) else { break };
            let data = RecordData::Client(Client { name: format!("Renamed {round}.{i}"), ..Client::default() });
            let outcomes = self.hubspot.push(Kind::Client, &[person(update(id, data))]).await.unwrap();
            assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
        }
        if let Some(id) = pick(rng, &tasks) {
            let status = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done][rng.gen_range(0..3)];
            let data = RecordData::Task(task(String::new(), status));
            let outcomes = self.bitrix24.push(Kind::Task, &[person(update(id, data))]).await.unwrap();
            assert!(outcomes[0].result.is_ok(), "{outcomes:?}");
        }
    }

    fn handles(&self, kind: Kind) -> Vec<String> {
        let bitrix = &self.sims.bitrix;
        bitrix
            .ids(kind)
            .into_iter()
            .filter_map(|id| match kind {
                Kind::Task => bitrix.task(id)?.get("xmlId")?.as_str()?.strip_prefix("zveno-").map(str::to_string),
                _ => bitrix.company(id)?.get("ORIGIN_ID")?.as_str().map(str::to_string),
            })
            .collect()
    }

    fn live(&self, kind: Kind) -> BTreeSet<String> {
        self.sims.bitrix_ids(kind)
    }
}

fn person(action: WriteAction) -> WriteOp {
    WriteOp { op_id: "person".into(), action }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_to_bitrix24_and_jira_killed_at_random_points_create_nothing_twice() {
    let s = crashing(crash::setting("ZVENO_CRASH_CLIENTS", 20) as usize, 31).await;
    // 3 kills in CI (each run starts three connectors: slower than the test vendor's).
    let report = crash::run(&s, 3).await;
    assert_eq!(s.sims.bitrix.count(Kind::Task), s.sims.jira.count(), "one copy per Jira issue");
    let requests: Vec<String> = s
        .sims
        .controls()
        .iter()
        .map(|(vendor, sim)| {
            format!("{vendor} {} (largest batch {})", sim.writes(), sim.kit().log().total().largest_batch)
        })
        .collect();
    eprintln!("flows crash on vendor simulators: {report}; write requests: {}", requests.join(", "));
}
