//! A simulated HubSpot portal (feature `simulator`), seeded from a `zveno-sim` world or from
//! recorded list results ([`launch_recorded`]).
//!
//! It speaks the endpoints zveno uses with HubSpot's paths, parameters and JSON: object
//! lists with opaque `paging.next.after` cursors and inline associations, single reads,
//! search (filter groups, one sort, `limit` ≤ 200, offset `after`, `total`, the 10,000-result
//! cap answered with HTTP 400, an index lag during which changes are invisible, archived
//! records never found), `archived=true` lists, batch create/update/upsert/archive with 207
//! partial failures, batch reads by id or by a unique property, property definitions with
//! unique values enforced, owners, and the v4 association labels/read/create calls. Requests need
//! `Authorization: Bearer <token>` (401 otherwise) and are limited like a Free/Starter
//! private app: 100 per rolling 10 s answered with HubSpot's `TEN_SECONDLY_ROLLING` 429 and
//! `X-HubSpot-RateLimit-*` headers, 5 searches a second answered with the "secondly" 429,
//! and a daily quota (`DAILY`).
//!
//! [`HubSpotSim`] is the handle tests and benchmarks hold: besides the server it mutates
//! the portal as users would (touch records now, stamp thousands with one millisecond,
//! archive, corrupt one) and forces throttling. [`launch`] is what `zveno demo` calls.

mod harness;
mod portal;
mod properties;
mod recorded;
mod render;
mod routes;
mod search;
mod store;
mod writes;

use std::sync::Arc;
use std::time::Duration;
use zveno_sim::conformance::SimControls;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zveno_connector::factory::VendorEntry;
use zveno_connector::{BuildContext, Clock, Connector, Kind};
use zveno_sim::kit::{BenchSim, SimulatorEntry};
use zveno_sim::kit::{Connect, Kit, LaunchedSim, SimServer};
use zveno_sim::world::{System, SystemData, SystemProfile};

pub use harness::{HubSpotHarness, HARNESS_CLIENTS, HARNESS_INDEX_LAG};
pub use portal::SimOptions;
pub use search::RESULT_CAP;
pub use writes::VALUE_MAX;

use crate::dto::object::Object;
use crate::HubSpotFactory;
use portal::Portal;
use store::Db;

/// The environment variable [`launch`]'s options name for the token.
pub const TOKEN_ENV: &str = "ZVENO_HUBSPOT_TOKEN";

/// A running simulated portal.
#[derive(Debug)]
pub struct HubSpotSim {
    server: SimServer,
    portal: Arc<Portal>,
}

impl HubSpotSim {
    /// Starts a portal holding `data` on `127.0.0.1:0`, rate limits and lag on `clock`,
    /// faults drawn from `seed`.
    pub async fn start(
        data: &SystemData,
        clock: Arc<dyn Clock>,
        seed: u64,
        options: SimOptions,
    ) -> std::io::Result<Self> {
        let db = Db::seed(data, &options.tax_id_property, clock.now());
        Self::serve(db, clock, seed, options).await
    }

    /// Starts a portal holding recorded CRM v3 list results (`{"companies": [...],
    /// "contacts": [...], "tasks": [...]}`), served as they were recorded.
    pub async fn start_recorded(
        responses: &Value,
        clock: Arc<dyn Clock>,
        seed: u64,
        options: SimOptions,
    ) -> std::io::Result<Self> {
        let db = Db::from_recorded(responses)?;
        Self::serve(db, clock, seed, options).await
    }

    async fn serve(mut db: Db, clock: Arc<dyn Clock>, seed: u64, options: SimOptions) -> std::io::Result<Self> {
        db.schema = properties::Schema::for_portal(&options);
        let portal = Arc::new(Portal::new(Kit::new(clock, seed), options, db));
        let server = SimServer::start(routes::router(portal.clone()), portal.kit.clone()).await?;
        Ok(Self { server, portal })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The token the portal accepts.
    pub fn token(&self) -> String {
        self.portal.options().token.clone()
    }

    /// The portal's settings.
    pub fn options(&self) -> SimOptions {
        self.portal.options().clone()
    }

    /// The vendor options that point a zveno connector at this portal (token by
    /// reference to [`TOKEN_ENV`]; the world types phones in Russian national formats).
    pub fn connector_options(&self) -> Value {
        let options = self.portal.options();
        json!({
            "token_env": TOKEN_ENV,
            "portal_id": options.portal_id,
            "tax_id_property": options.tax_id_property,
            "default_region": "RU",
        })
    }

    /// A connector pointed at this portal, built through the factory exactly as the daemon
    /// builds one (options validated first). `tune` may adjust the build context (HTTP
    /// options, rate limits, kinds) and the vendor options before validation.
    pub fn connector(
        &self,
        name: &str,
        clock: Arc<dyn Clock>,
        token: &str,
        tune: impl FnOnce(&mut BuildContext, &mut Value),
    ) -> Result<Arc<dyn Connector>, String> {
        Connect::new(name, clock, Some(&self.url()), self.connector_options())
            .secret(TOKEN_ENV, token)
            .tune(tune)
            .build(VendorEntry::of::<HubSpotFactory>())
    }

    /// A record as the list endpoint renders it (all its properties, its associations).
    pub fn record(&self, kind: Kind, id: &str) -> Option<Value> {
        let object = Object::of(kind);
        let db = self.portal.db();
        let record = db.objects.get(&object)?.get(&id.parse().ok()?)?;
        let asked: Vec<String> = record.props.keys().cloned().collect();
        Some(render::object(&db, object, record, &asked, object.associations()))
    }

    /// Stamps `n` live records of `kind` with one modification time (HubSpot's bulk
    /// updates do this to thousands of records at once).
    pub fn touch_at(&self, kind: Kind, n: usize, at: DateTime<Utc>) -> Vec<String> {
        let at = at.timestamp_millis();
        self.stamp(kind, n, |_| at)
    }

    /// Modifies `n` live records of `kind` at distinct times `step` apart, the last one now.
    pub fn touch_spread(&self, kind: Kind, n: usize, step: Duration) -> Vec<String> {
        let now = self.portal.now_ms();
        let step = i64::try_from(step.as_millis()).unwrap_or(1).max(1);
        let last = i64::try_from(n).unwrap_or(i64::MAX).saturating_sub(1);
        self.stamp(kind, n, |i| now - (last - i64::try_from(i).unwrap_or(0)) * step)
    }

    fn stamp(&self, kind: Kind, n: usize, at: impl Fn(usize) -> i64) -> Vec<String> {
        let object = Object::of(kind);
        let changed_at = self.portal.clock().elapsed();
        let mut db = self.portal.db();
        let ids = db.pick(object, n);
        for (i, id) in ids.iter().enumerate() {
            if let Some(o) = db.get_mut(object, *id) {
                o.updated_ms = at(i);
                o.changed_at = Some(changed_at);
            }
        }
        ids.iter().map(ToString::to_string).collect()
    }

    /// Archives (deletes, in HubSpot's UI) `n` live records of `kind`; returns their ids.
    pub fn archive(&self, kind: Kind, n: usize) -> Vec<String> {
        let object = Object::of(kind);
        let (now, changed_at) = (self.portal.now_ms(), self.portal.clock().elapsed());
        let mut db = self.portal.db();
        let ids = db.pick(object, n);
        for id in &ids {
            if let Some(o) = db.get_mut(object, *id) {
                o.archived_ms = Some(now);
                o.updated_ms = now;
                o.changed_at = Some(changed_at);
            }
        }
        ids.iter().map(ToString::to_string).collect()
    }

    /// Purges `n` live records of `kind` for good, as a GDPR (privacy) deletion does: they
    /// leave every list, the archived one included; returns their ids.
    pub fn purge(&self, kind: Kind, n: usize) -> Vec<String> {
        let object = Object::of(kind);
        let mut db = self.portal.db();
        let ids = db.pick(object, n);
        if let Some(records) = db.objects.get_mut(&object) {
            for id in &ids {
                records.remove(id);
            }
        }
        ids.iter().map(ToString::to_string).collect()
    }

    /// Defines (or redefines) custom property `name` of `kind`, as an operator does in
    /// Settings → Properties; `unique`: "Require unique values for this property".
    pub fn define_property(&self, kind: Kind, name: &str, unique: bool) {
        self.portal.db().schema.define(Object::of(kind), name, unique);
    }

    /// Deletes property `name` of `kind`.
    pub fn delete_property(&self, kind: Kind, name: &str) {
        self.portal.db().schema.remove(Object::of(kind), name);
    }

    /// Deactivates an owner (records keep pointing at it).
    pub fn archive_owner(&self, owner_id: u64) {
        for owner in self.portal.db().owners.iter_mut().filter(|o| o.id == owner_id) {
            owner.archived = true;
        }
    }

    /// Makes the next data request answer HubSpot's 429 (`TEN_SECONDLY_ROLLING`, or the
    /// secondly limit for a search).
    pub fn throttle_next(&self) {
        self.portal.throttle_next();
    }

    /// Sets how much of the daily quota is used.
    pub fn set_daily_used(&self, used: u64) {
        self.portal.set_daily_used(used);
    }

    /// Describes the portal for the daemon; the server keeps running inside it.
    pub fn into_launched(self) -> LaunchedSim {
        let url = self.url();
        let token = self.token();
        let options = self.connector_options();
        LaunchedSim {
            vendor: crate::VENDOR,
            help: format!(
                "HubSpot simulator at {url}: curl -H 'Authorization: Bearer {token}' '{url}/crm/v3/objects/companies?limit=5&properties=name,domain'"
            ),
            server: self.server,
            options,
            env: vec![(TOKEN_ENV.to_string(), token)],
        }
    }
}

/// A private-app-shaped demo token derived from `seed` (a demo credential, not a secret).
pub fn demo_token(seed: u64) -> String {
    let x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("pat-na1-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", x >> 32, (x >> 16) & 0xffff, x & 0xffff, seed & 0xffff, seed)
}

/// Starts a simulated portal holding `data` for `zveno demo` and benchmarks.
pub async fn launch(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    let sim = HubSpotSim::start(&data, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    Ok(sim.into_launched())
}

/// How HubSpot's records look in a generated world (the world generator knows no vendor).
/// HubSpot users often type Russian company and people names in Latin letters; a third of companies carry the tax id property.
pub const PROFILE: SystemProfile = SystemProfile {
    vendor: crate::VENDOR,
    rank: 0,
    crm: true,
    tax_id_share: 0.35,
    latin_name_share: 0.45,
    latin_person_share: 0.2,
    company_ref_prefix: "",
    company_channels: true,
};

/// HubSpot as a system of a generated world.
pub const SYSTEM: System = System::new(&PROFILE);

/// The simulator, as the daemon's registry lists it.
pub fn entry() -> SimulatorEntry {
    SimulatorEntry {
        system: SYSTEM,
        launch: |data, clock, seed| Box::pin(launch(data, clock, seed)),
        bench: Some(|data, clock, seed| Box::pin(launch_bench(data, clock, seed))),
    }
}

/// [`launch`] with a hold on the records, for `zveno bench cost`.
async fn launch_bench(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<BenchSim> {
    let sim = HubSpotSim::start(&data, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    let env = vec![(TOKEN_ENV.to_string(), sim.token())];
    Ok(BenchSim {
        vendor: crate::VENDOR,
        url: sim.url(),
        options: sim.connector_options(),
        env,
        records: Box::new(sim),
    })
}

/// Starts a simulated portal holding recorded CRM v3 list results, for measuring zveno on
/// data recorded elsewhere (see [`HubSpotSim::start_recorded`]).
pub async fn launch_recorded(responses: &Value, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    let sim = HubSpotSim::start_recorded(responses, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    Ok(sim.into_launched())
}

impl SimControls for HubSpotSim {
    fn kit(&self) -> &Kit {
        &self.portal.kit
    }

    fn count(&self, kind: Kind) -> usize {
        self.portal.db().of(Object::of(kind)).filter(|o| o.archived_ms.is_none()).count()
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        let now = self.portal.now_ms();
        self.stamp(kind, n, |_| now)
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        let object = Object::of(kind);
        let mut db = self.portal.db();
        let live = db.pick(object, 3);
        let id = *live.get(live.len() / 2)?;
        db.get_mut(object, id)?.corrupt = true;
        Some(id.to_string())
    }

    fn writes(&self) -> u64 {
        self.portal.writes()
    }
}
