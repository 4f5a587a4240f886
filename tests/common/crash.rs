//! Crashes during write-back, whichever simulators the flows write to: real `zveno apply`
//! processes, SIGKILLed at random points while they create and update records, each kill
//! followed by a restart.
//!
//! It holds when, after the kills and a few undisturbed `sync` + `apply` rounds: no record
//! was created twice in the target (each create's idempotency handle is on exactly one
//! live record, the one its outbox row names), every create is done and every other op done
//! or released by the restart as superseded by a later edit, the plan is empty (everything
//! planned was applied), and every copy is paired once with nothing else in the target.
//!
//! Bounded by its kill count: `ZVENO_CRASH_KILLS` (each test's default is its CI size; 50
//! is the benchmark) and `ZVENO_CRASH_SEED` (the kill points and edits).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::Command;
use zveno::store::Store;
use zveno_connector::{Env, Kind};

/// A numeric setting from the environment.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The simulators a crash run writes to, and the config between them.
#[async_trait]
pub trait CrashWorld: Send + Sync {
    /// `zveno.toml`.
    fn config(&self) -> &Path;
    /// The store the config names.
    fn store_url(&self) -> &str;
    /// The credentials the config references.
    fn env(&self) -> Vec<(String, String)>;
    /// The flows, with the kind each writes.
    fn flows(&self) -> Vec<(&'static str, Kind)>;
    /// People's edits between applies (through the vendors' APIs), so the flows have
    /// updates to apply.
    async fn edit(&self, rng: &mut StdRng, round: u64);
    /// The idempotency handle (the op id of the create) of each live record of `kind` in
    /// the target that carries one.
    fn handles(&self, kind: Kind) -> Vec<String>;
    /// The ids of the live records of `kind` in the target.
    fn live(&self, kind: Kind) -> BTreeSet<String>;
}

/// What a crash run measured.
#[derive(Debug, Default)]
pub struct CrashReport {
    pub kills: u64,
    pub mid_write: u64,
    pub in_flight: usize,
    pub finished: u64,
    pub creates: usize,
    pub other_done: usize,
    pub interrupted: usize,
    pub superseded: usize,
    pub plan_ms: u64,
}

/// `zveno` on `world`'s config and environment, quiet unless a caller pipes its output.
pub fn zveno(world: &dyn CrashWorld) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zveno"));
    cmd.env_remove("ZVENO_CONFIG")
        .env("RUST_LOG", "error")
        .envs(world.env())
        .arg("--config")
        .arg(world.config())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// One undisturbed `zveno sync --once`.
pub async fn sync(world: &dyn CrashWorld) {
    let out = zveno(world).args(["sync", "--once"]).stderr(Stdio::piped()).output().await.unwrap();
    assert!(out.status.success(), "sync --once: {}", String::from_utf8_lossy(&out.stderr));
}

/// One undisturbed `zveno apply`: whether it succeeded, and its report.
async fn apply(world: &dyn CrashWorld) -> (bool, serde_json::Value) {
    let out = zveno(world).args(["apply", "--json"]).stdout(Stdio::piped()).output().await.unwrap();
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or_default())
}

/// The kills (`ZVENO_CRASH_KILLS`, else `kills`), the settling rounds and the checks (see
/// the module doc).
pub async fn run(world: &dyn CrashWorld, kills: u64) -> CrashReport {
    let kills_wanted = setting("ZVENO_CRASH_KILLS", kills);
    let mut rng = StdRng::seed_from_u64(setting("ZVENO_CRASH_SEED", 7));
    sync(world).await;

    // How long `zveno plan` (start, read the store, plan, write nothing) takes: kill points
    // are drawn from a quarter to twice that, so they land in start-up, planning and the
    // writes.
    let started = Instant::now();
    assert!(zveno(world).arg("plan").status().await.unwrap().success());
    let idle = (started.elapsed().as_millis() as u64).max(20);

    let store = Store::connect(world.store_url()).await.unwrap();
    let mut r = CrashReport { plan_ms: idle, ..CrashReport::default() };
    let mut round = 0;
    while r.kills < kills_wanted {
        round += 1;
        if round % 2 == 0 {
            world.edit(&mut rng, round).await;
            sync(world).await;
        }
        let mut child = zveno(world).arg("apply").kill_on_drop(true).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(idle / 4..idle * 2))).await;
        if child.try_wait().unwrap().is_some() {
            r.finished += 1;
            sync(world).await;
            if r.finished > kills_wanted * 4 {
                break;
            }
            continue;
        }
        child.kill().await.unwrap();
        r.kills += 1;
        // Ops the killed process had persisted but not settled: the kill landed mid-write.
        let mut pending = 0;
        for (name, _) in world.flows() {
            pending += store.outbox_unsettled(name).await.unwrap().len();
        }
        r.in_flight += pending;
        r.mid_write += u64::from(pending > 0);
    }

    // Undisturbed: pull what was written, apply what is left, until a round writes nothing.
    let mut settled = false;
    for _ in 0..6 {
        sync(world).await;
        let (ok, report) = apply(world).await;
        let wrote = report
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["created"].as_u64() != Some(0) || r["updated"].as_u64() != Some(0));
        if ok && !wrote {
            settled = true;
            break;
        }
    }
    assert!(settled, "sync + apply settles after the kills");

    let settings = zveno::settings::load(Some(world.config()), &Env::from_pairs(world.env())).unwrap();
    let mut done = 0;
    for (name, kind) in world.flows() {
        let outbox = store.outbox(name).await.unwrap();
        // Every create done; an update interrupted by a kill either done when planned again
        // or released because a later edit superseded it (the plan is empty below).
        let released = |r: &&zveno::store::OutboxRow| {
            r.action != "create" && r.state == "failed" && r.error.as_deref().is_some_and(|e| e.contains("released"))
        };
        let open: Vec<_> = outbox.iter().filter(|r| r.state != "done" && !released(r)).collect();
        assert!(open.is_empty(), "{name}: every op done: {open:?}");
        r.superseded += outbox.iter().filter(released).count();
        done += outbox.len();
        r.interrupted += outbox.iter().filter(|r| r.attempts > 1).count();
        // Every create on exactly one live target record, the one its row names.
        let mut by_handle: BTreeMap<String, u32> = BTreeMap::new();
        for handle in world.handles(kind) {
            *by_handle.entry(handle).or_default() += 1;
        }
        let twice: Vec<_> = by_handle.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{name}: created twice: {twice:?}");
        for row in outbox.iter().filter(|r| r.action == "create") {
            assert_eq!(by_handle.get(&row.op_id), Some(&1), "{name}: create {} made once", row.op_id);
            r.creates += 1;
        }
        let live = world.live(kind);
        let pairs = store.flow_state(name, &[]).await.unwrap().pairs;
        let copies: BTreeSet<String> = pairs.values().map(|k| k.external_id.clone()).collect();
        assert_eq!((copies.len(), &copies), (pairs.len(), &live), "{name}: each copy paired once, nothing else");

        let flow = settings.flows.iter().find(|f| f.name == name).unwrap();
        let (input, _) = zveno::flows::load::input(&store, flow).await.unwrap();
        let plan = zveno::flows::plan(flow, &input);
        assert!(plan.ops.is_empty(), "{name}: everything planned was applied: {:?}", plan.ops);
    }
    r.other_done = done - r.creates - r.superseded;
    store.close().await;
    r
}

impl std::fmt::Display for CrashReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} SIGKILLs during apply ({} mid-write, {} unsettled ops summed over the kills; \
             {} applies ran to the end first), {} creates and {} other ops done once ({} ops begun \
             before a kill and finished after it; {} updates cut by a kill and then superseded by a \
             later edit), `zveno plan` {} ms",
            self.kills,
            self.mid_write,
            self.in_flight,
            self.finished,
            self.creates,
            self.other_done,
            self.interrupted,
            self.superseded,
            self.plan_ms
        )
    }
}
