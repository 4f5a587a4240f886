//! The Bitrix24 connector against its simulated portal: one test binary, one place for
//! helpers. Everything runs on a `ManualClock`, so rate-limit waits cost no wall time and
//! can still be asserted.

#[cfg(not(feature = "simulator"))]
compile_error!("the integration tests drive the simulator: build them with the `simulator` feature (on by default)");

mod conformance;
mod limits;
mod reads;
mod wire;
mod writes;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use zveno_bitrix24::simulator::Bitrix24Harness;
use zveno_connector::http::HttpOptions;
use zveno_connector::{Connector, Cursor, Kind, ManualClock, RecordError, SourceRecord, SyncMode};
use zveno_sim::conformance::SimulatedVendor;
use zveno_sim::world::{SimCompany, SimContact, SimTask, SimUser, SystemData, WorldSpec};

/// "Now" of generated worlds.
pub fn world_now() -> DateTime<Utc> {
    WorldSpec::new(0, 1, &[]).now
}

/// A manual clock a day after the world's now, so every seeded record is in the past.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(world_now() + chrono::TimeDelta::days(1)))
}

/// The conformance harness's portal (a generated world, one list call per batch).
pub async fn harness(seed: u64) -> Bitrix24Harness {
    Bitrix24Harness::start(seed, clock()).await
}

/// A portal holding hand-built `data`.
pub async fn portal(data: &SystemData) -> Bitrix24Harness {
    Bitrix24Harness::with_data(data, clock(), 7).await
}

/// A connector on `h` with extra vendor options.
pub fn connector(h: &Bitrix24Harness, options: &serde_json::Value) -> Arc<dyn Connector> {
    h.build(&h.webhook_url(), options, HttpOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// A connector packing the full 50 list calls per batch.
pub fn fast(h: &Bitrix24Harness) -> Arc<dyn Connector> {
    connector(h, &json!({"calls_per_batch": 50}))
}

/// Everything one run of pulls returned.
#[derive(Debug, Default)]
pub struct Drained {
    pub records: Vec<SourceRecord>,
    pub errors: Vec<RecordError>,
    pub pages: usize,
    pub cursor: Cursor,
}

impl Drained {
    pub fn ids(&self) -> Vec<u64> {
        self.records.iter().map(|r| r.external_id.parse().unwrap_or(0)).collect()
    }

    pub fn unique(&self) -> BTreeSet<u64> {
        self.ids().into_iter().collect()
    }
}

/// Pulls `kind` from `cursor` until no page follows.
pub async fn drain(c: &dyn Connector, kind: Kind, mode: SyncMode, cursor: Cursor) -> Drained {
    let mut out = Drained { cursor, ..Drained::default() };
    for _ in 0..1000 {
        let page = c.pull(kind, mode, &out.cursor).await.unwrap_or_else(|e| panic!("pull {kind}: {e}"));
        out.pages += 1;
        out.records.extend(page.records);
        out.errors.extend(page.errors);
        out.cursor = page.cursor;
        if !page.more {
            return out;
        }
    }
    panic!("pull {kind} did not terminate");
}

/// A hand-built portal: `companies` companies (every third without an INN), a contact per
/// company, two tasks per company, three users.
pub fn world(companies: u64) -> SystemData {
    let at = |days: i64| world_now() - chrono::TimeDelta::days(days);
    let users = (1..=3)
        .map(|id| SimUser {
            id,
            email: format!("user{id}@zveno-demo.ru"),
            first_name: format!("Сотрудник{id}"),
            last_name: "Тестов".into(),
        })
        .collect();
    let companies_list = (1..=companies)
        .map(|id| SimCompany {
            id,
            name: format!("ООО «Ромашка-{id}»"),
            website: Some(format!("https://www.romashka{id}.ru/")),
            phones: vec![format!("8 (495) {:03}-{:02}-{:02}", 100 + id % 900, id % 100, (id / 100) % 100)],
            emails: vec![format!("Info@Romashka{id}.ru")],
            tax_id: (id % 3 != 0).then(|| inn(id)),
            owner_id: Some(1 + id % 3),
            created_at: at(400),
            updated_at: at(30),
        })
        .collect();
    let contacts = (1..=companies)
        .map(|id| SimContact {
            id,
            first_name: "Анна".into(),
            last_name: format!("Петрова-{id}"),
            emails: vec![format!("anna{id}@romashka{id}.ru")],
            phones: vec![format!("+7 916 {:03} {:02} {:02}", id % 1000, id % 100, id % 97)],
            company_id: Some(id),
            owner_id: Some(2),
            created_at: at(300),
            updated_at: at(20),
        })
        .collect();
    let tasks = (1..=companies * 2)
        .map(|id| SimTask {
            id,
            title: format!("Позвонить «Ромашке-{}»", id.div_ceil(2)),
            description: Some("Обсудить договор".into()),
            status: zveno_connector::TaskStatus::InProgress,
            priority: zveno_connector::Priority::Medium,
            due: Some(at(-5)),
            assignee_id: Some(3),
            reporter_id: Some(1),
            company_id: Some(id.div_ceil(2)),
            contact_id: Some(id.div_ceil(2)),
            client_hint: None,
            labels: vec!["звонок".into()],
            created_at: at(100),
            updated_at: at(10),
        })
        .collect();
    SystemData { users, companies: companies_list, contacts, tasks }
}

/// A valid INN derived from `n`.
pub fn inn(n: u64) -> String {
    zveno_connector::TaxId::inn_with_check_digits(&format!("77{:07}", n % 10_000_000))
        .map(|t| t.to_string())
        .unwrap_or_default()
}
