//! Helpers shared by the integration tests: a hand-built portal, a simulator on a manual
//! clock, connectors built through the factory, and a drain loop that plays the engine.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration as Days, Utc};
use zveno_connector::{
    BuildContext, Clock, Connector, ConnectorError, Cursor, Kind, ManualClock, Priority, RecordError, SourceRecord,
    SyncMode, TaskStatus,
};
use zveno_hubspot::simulator::{demo_token, HubSpotSim, SimOptions};
use zveno_sim::world::{SimCompany, SimContact, SimTask, SimUser, SystemData};

/// The world's "now": records were created and changed before it.
pub fn world_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

/// A manual clock one day after the world's now.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(world_now() + Days::days(1)))
}

/// A portal with `companies` companies, one contact and one task for each, 3 owners, and
/// the messy values real portals hold (national phone formats, a bad e-mail, a Cyrillic
/// name, an invalid INN).
pub fn data(companies: u64) -> SystemData {
    let at = |i: u64| world_now() - Days::days(30) + Days::seconds(i as i64);
    let users = (1..=3)
        .map(|id| SimUser {
            id,
            email: format!("Owner{id}@Zveno-Demo.ru"),
            first_name: "Owner".into(),
            last_name: id.to_string(),
        })
        .collect();
    let companies_list = (1..=companies)
        .map(|id| SimCompany {
            id,
            name: if id == 1 { "ООО «Ромашка»".into() } else { format!("Company {id}") },
            website: Some(format!("https://www.company{id}.ru/")),
            phones: vec![if id % 2 == 0 { "8 (495) 123-45-67".into() } else { "+7 495 765 43 21".into() }],
            emails: vec![],
            tax_id: Some(if id == 2 { "7707083894".into() } else { "7707083893".into() }),
            owner_id: Some(id % 3 + 1),
            created_at: at(id),
            updated_at: at(id),
        })
        .collect();
    let contacts = (1..=companies)
        .map(|id| SimContact {
            id,
            first_name: "Анна".into(),
            last_name: format!("Contact {id}"),
            emails: if id == 3 {
                vec!["not-an-email".into()]
            } else {
                vec![format!("Anna{id}@Company{id}.ru"), format!("a{id}@mail.ru")]
            },
            phones: vec!["+49 30 901820".into(), "8 916 123-45-67".into()],
            company_id: Some(id),
            owner_id: Some(1),
            created_at: at(id),
            updated_at: at(id),
        })
        .collect();
    let tasks = (1..=companies)
        .map(|id| SimTask {
            id,
            title: format!("Call company {id}"),
            description: Some("Send the proposal".into()),
            status: [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done, TaskStatus::Cancelled]
                [(id % 4) as usize],
            priority: Priority::High,
            due: Some(world_now() + Days::days(3)),
            assignee_id: Some(2),
            reporter_id: None,
            company_id: Some(id),
            contact_id: Some(id),
            client_hint: None,
            labels: vec![],
            created_at: at(id),
            updated_at: at(id),
        })
        .collect();
    SystemData { users, companies: companies_list, contacts, tasks }
}

/// A simulator holding `data` on `clock`.
pub async fn sim(data: &SystemData, clock: &Arc<ManualClock>, tune: impl FnOnce(&mut SimOptions)) -> HubSpotSim {
    let mut options = SimOptions::new(&demo_token(7));
    tune(&mut options);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    match HubSpotSim::start(data, dyn_clock, 7, options).await {
        Ok(sim) => sim,
        Err(e) => panic!("simulator did not start: {e}"),
    }
}

/// A connector for `sim`, built through the factory.
pub fn connector(
    sim: &HubSpotSim,
    clock: &Arc<ManualClock>,
    tune: impl FnOnce(&mut BuildContext, &mut serde_json::Value),
) -> Arc<dyn Connector> {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    match sim.connector("crm", dyn_clock, &sim.token(), tune) {
        Ok(c) => c,
        Err(e) => panic!("connector config rejected: {e}"),
    }
}

/// What a run returned.
#[derive(Debug, Default)]
pub struct Run {
    pub records: Vec<SourceRecord>,
    pub errors: Vec<RecordError>,
    pub cursor: Cursor,
    pub pages: usize,
}

impl Run {
    /// Live records by id.
    pub fn live(&self) -> BTreeMap<String, &SourceRecord> {
        self.records.iter().filter(|r| !r.deleted).map(|r| (r.external_id.clone(), r)).collect()
    }

    /// Ids of tombstones.
    pub fn tombstones(&self) -> Vec<String> {
        self.records.iter().filter(|r| r.deleted).map(|r| r.external_id.clone()).collect()
    }
}

/// Pulls until `more` is false, persisting the cursor through JSON text between pages.
pub async fn drain(c: &dyn Connector, kind: Kind, mode: SyncMode, cursor: Cursor) -> Result<Run, ConnectorError> {
    let mut run = Run { cursor, ..Run::default() };
    loop {
        assert!(run.pages < 100_000, "the pull does not end");
        let page = c.pull(kind, mode, &run.cursor).await?;
        run.pages += 1;
        run.records.extend(page.records);
        run.errors.extend(page.errors);
        let text = serde_json::to_string(&page.cursor).unwrap_or_default();
        run.cursor = serde_json::from_str(&text).unwrap_or_default();
        if !page.more {
            return Ok(run);
        }
    }
}

/// `drain`, panicking on error.
pub async fn must_drain(c: &dyn Connector, kind: Kind, mode: SyncMode, cursor: Cursor) -> Run {
    match drain(c, kind, mode, cursor).await {
        Ok(run) => run,
        Err(e) => panic!("{kind} {} pull failed: {e}", mode.as_str()),
    }
}
