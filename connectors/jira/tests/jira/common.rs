//! Helpers shared by the integration tests: a seeded world, a simulator on a manual
//! clock, and a loop that drains a pull run.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use zveno_connector::{Connector, Cursor, Kind, ManualClock, RecordError, SourceRecord, SyncMode};
use zveno_jira::simulator::harness::{Build, JiraHarness};
use zveno_jira::SimOptions;
use zveno_sim::world::{SystemData, World, WorldSpec};

/// The instant worlds are generated at.
pub fn world_now() -> chrono::DateTime<chrono::Utc> {
    WorldSpec::new(0, 1, &[zveno_jira::simulator::SYSTEM]).now
}

/// Jira data for `clients` clients.
pub fn jira_data(seed: u64, clients: usize) -> SystemData {
    World::generate(&WorldSpec::new(seed, clients, &[zveno_jira::simulator::SYSTEM]))
        .system(zveno_jira::simulator::SYSTEM)
}

/// A simulator with `clients` clients' issues on a manual clock set to the world's now.
pub async fn harness(clients: usize, options: SimOptions) -> (JiraHarness, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(world_now()));
    let h = JiraHarness::start(jira_data(7, clients), clock.clone(), 7, options).await;
    (h, clock)
}

/// What one run returned.
#[derive(Debug, Default)]
pub struct Run {
    pub records: Vec<SourceRecord>,
    pub errors: Vec<RecordError>,
    pub pages: usize,
    pub cursor: Cursor,
}

impl Run {
    pub fn ids(&self) -> BTreeSet<String> {
        self.records.iter().map(|r| r.external_id.clone()).collect()
    }

    /// `(id, updated ms)` of every record.
    pub fn versions(&self) -> Vec<(String, i64)> {
        self.records.iter().map(|r| (r.external_id.clone(), r.updated_at.map_or(0, |t| t.timestamp_millis()))).collect()
    }
}

/// Pulls pages until `more` is false (at most 10,000 pages).
pub async fn drain(connector: &dyn Connector, mode: SyncMode, cursor: Cursor) -> Run {
    let mut run = Run { cursor, ..Run::default() };
    for _ in 0..10_000 {
        let page = match connector.pull(Kind::Task, mode, &run.cursor).await {
            Ok(page) => page,
            Err(e) => panic!("pull failed on page {}: {e}", run.pages + 1),
        };
        run.pages += 1;
        run.records.extend(page.records);
        run.errors.extend(page.errors);
        run.cursor = page.cursor;
        if !page.more {
            return run;
        }
    }
    panic!("pull did not terminate");
}

/// Options merged over the simulator's.
pub fn options(pairs: &Value) -> Build {
    Build { options: pairs.as_object().cloned().unwrap_or_default(), ..Build::default() }
}

/// `updated` of an issue as the simulator holds it, in epoch ms.
pub fn updated_ms(h: &JiraHarness, id: &str) -> i64 {
    h.sim
        .issue(id)
        .and_then(|i| i["fields"]["updated"].as_str().and_then(zveno_jira::mapping::time::parse_timestamp))
        .map_or(0, |t| t.timestamp_millis())
}
