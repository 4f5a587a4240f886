//! A simulated Pipedrive company (feature `simulator`), seeded from a `zveno-sim` world or
//! from recorded list items ([`launch_recorded`]).
//!
//! It speaks the endpoints zveno uses with Pipedrive's paths, parameters and JSON: v2 lists
//! of organizations, persons and activities with opaque cursors, `limit` ≤ 500, `sort_by`,
//! `updated_since` (inclusive) / `updated_until` (exclusive) and `ids`; v2 reads, creates and
//! `PATCH` updates; v1 `users` and `recents`. The INN is a custom field keyed by a
//! 40-character hash. Requests need the `x-api-token` header (401 otherwise); each costs
//! its tokens from the published table against a daily budget, and a 2-second burst window
//! is enforced, both answered with 429 and the `x-ratelimit-*` headers. Deleted records
//! disappear from lists, as Pipedrive's do.
//!
//! [`PipedriveSim`] is the handle tests and benchmarks hold: besides the server it changes
//! the company as users would (touch, delete, corrupt a record) and forces throttling.
//! [`launch`] is what `zveno demo` calls.

mod company;
mod fields;
mod harness;
mod recorded;
mod routes;
mod search;
mod store;

use std::sync::Arc;
use std::time::Duration;
use zveno_sim::conformance::SimControls;

use serde_json::{json, Value};
use zveno_connector::factory::VendorEntry;
use zveno_connector::{BuildContext, Clock, Connector, Kind};
use zveno_sim::kit::{BenchSim, SimulatorEntry};
use zveno_sim::kit::{Connect, Kit, LaunchedSim, SimServer};
use zveno_sim::world::{System, SystemData, SystemProfile};

pub use company::SimOptions;
pub use harness::{PipedriveHarness, HARNESS_CLIENTS, HARNESS_PAGE};

use crate::connector::cursor::to_second;
use crate::dto::entity::Entity;
use crate::PipedriveFactory;
use company::Company;
use store::Db;

/// The environment variable [`launch`]'s options name for the token.
pub const TOKEN_ENV: &str = "ZVENO_PIPEDRIVE_TOKEN";

/// A running simulated company.
#[derive(Debug)]
pub struct PipedriveSim {
    server: SimServer,
    company: Arc<Company>,
}

impl PipedriveSim {
    /// Starts a company holding `data` on `127.0.0.1:0`, limits on `clock`, faults drawn
    /// from `seed`.
    pub async fn start(
        data: &SystemData,
        clock: Arc<dyn Clock>,
        seed: u64,
        options: SimOptions,
    ) -> std::io::Result<Self> {
        let db = Db::seed(data, &options.tax_id_field);
        Self::serve(db, clock, seed, options).await
    }

    /// Starts a company holding recorded API v2 list items (`{"organizations": [...],
    /// "persons": [...], "activities": [...]}`), served as they were recorded.
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
        db.org_fields = fields::for_company(&options);
        let company = Arc::new(Company::new(Kit::new(clock, seed), options, db));
        let server = SimServer::start(routes::router(company.clone()), company.kit.clone()).await?;
        Ok(Self { server, company })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The token the company accepts.
    pub fn token(&self) -> String {
        self.company.options().token.clone()
    }

    /// The vendor options that point a zveno connector at this company (token by reference
    /// to [`TOKEN_ENV`]; the world types phones in Russian national formats).
    pub fn connector_options(&self) -> Value {
        let options = self.company.options();
        let mut out = json!({
            "token_env": TOKEN_ENV,
            "tax_id_field": options.tax_id_field,
            "company_domain": options.company_domain,
            "default_region": "RU",
            "daily_token_budget": options.daily_tokens,
        });
        // Only when made: the options become TOML (`zveno demo`), which has no null.
        if let Some(key) = &options.idempotency_field {
            out["idempotency_field"] = json!(key);
        }
        out
    }

    /// A connector pointed at this company, built through the factory exactly as the daemon
    /// builds one. `tune` may adjust the build context and the vendor options first.
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
            .build(VendorEntry::of::<PipedriveFactory>())
    }

    /// A record as a v2 list renders it (deleted ones too).
    pub fn record(&self, kind: Kind, id: &str) -> Option<Value> {
        let db = self.company.db();
        db.tables.get(&Entity::of(kind))?.get(&id.parse().ok()?).map(|r| r.render())
    }

    /// Defines organization custom field `key` of type `field_type` (`varchar` is Text),
    /// as an operator does in Settings → Data fields.
    pub fn define_field(&self, key: &str, field_type: &str) {
        let mut db = self.company.db();
        db.org_fields.retain(|f| f.code != key);
        let field = fields::Field { code: key.into(), name: key.into(), field_type: field_type.into(), custom: true };
        db.org_fields.push(field);
    }

    /// Deletes organization field `key`.
    pub fn delete_field(&self, key: &str) {
        self.company.db().org_fields.retain(|f| f.code != key);
    }

    /// Adds `n` records of `kind` now, copies of live ones under new ids (as a person
    /// duplicating entries would); returns their ids.
    pub fn add(&self, kind: Kind, n: usize) -> Vec<String> {
        let entity = Entity::of(kind);
        let now = self.company.now();
        let mut db = self.company.db();
        let models: Vec<serde_json::Map<String, Value>> = db
            .pick(entity, n)
            .iter()
            .filter_map(|id| db.tables.get(&entity)?.get(id).map(|r| r.fields.clone()))
            .collect();
        models.into_iter().map(|fields| db.insert(entity, fields, now).to_string()).collect()
    }

    /// Deletes `n` live records of `kind` (they leave every list); returns their ids.
    pub fn delete(&self, kind: Kind, n: usize) -> Vec<String> {
        self.change(kind, n, |row, now| {
            row.deleted = true;
            row.updated = now;
        })
    }

    fn change(
        &self,
        kind: Kind,
        n: usize,
        apply: impl Fn(&mut store::Row, chrono::DateTime<chrono::Utc>),
    ) -> Vec<String> {
        let entity = Entity::of(kind);
        let now = to_second(self.company.now());
        let mut db = self.company.db();
        let ids = db.pick(entity, n);
        for id in &ids {
            if let Some(row) = db.get_mut(entity, *id) {
                apply(row, now);
            }
        }
        ids.iter().map(ToString::to_string).collect()
    }

    /// Makes the next data request answer the burst 429 asking to wait `wait`.
    pub fn throttle_next(&self, wait: Duration) {
        self.company.throttle_next(wait);
    }

    /// Tokens spent today by every caller.
    pub fn tokens_used(&self) -> u64 {
        self.company.tokens_used()
    }

    /// Sets the tokens spent today (others' spending).
    pub fn set_tokens_used(&self, used: u64) {
        self.company.set_tokens_used(used);
    }

    /// Describes the company for the daemon; the server keeps running inside it.
    pub fn into_launched(self) -> LaunchedSim {
        let url = self.url();
        let token = self.token();
        let options = self.connector_options();
        LaunchedSim {
            vendor: crate::VENDOR,
            help: format!(
                "Pipedrive simulator at {url}: curl -H 'x-api-token: {token}' '{url}/api/v2/organizations?limit=5'"
            ),
            server: self.server,
            options,
            env: vec![(TOKEN_ENV.to_string(), token)],
        }
    }
}

/// A 40-hex-character demo token derived from `seed` (a demo credential, not a secret).
pub fn demo_token(seed: u64) -> String {
    let x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{x:016x}{:016x}{:08x}", x.rotate_left(17) ^ seed, seed & 0xffff_ffff)
}

/// Starts a simulated company holding `data` for `zveno demo` and benchmarks.
pub async fn launch(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    let sim = PipedriveSim::start(&data, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    Ok(sim.into_launched())
}

/// How Pipedrive's records look in a generated world (the world generator knows no vendor).
/// Pipedrive users type Latin names more often than Bitrix24 users and fewer tax ids.
pub const PROFILE: SystemProfile = SystemProfile {
    vendor: crate::VENDOR,
    rank: 3,
    crm: true,
    tax_id_share: 0.2,
    latin_name_share: 0.3,
    latin_person_share: 0.2,
    company_ref_prefix: "",
    company_channels: false,
};

/// Pipedrive as a system of a generated world.
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
    let sim = PipedriveSim::start(&data, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    let env = vec![(TOKEN_ENV.to_string(), sim.token())];
    Ok(BenchSim {
        vendor: crate::VENDOR,
        url: sim.url(),
        options: sim.connector_options(),
        env,
        records: Box::new(sim),
    })
}

/// Starts a simulated company holding recorded API v2 list items, for measuring zveno on
/// data recorded elsewhere (see [`PipedriveSim::start_recorded`]).
pub async fn launch_recorded(responses: &Value, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    let sim = PipedriveSim::start_recorded(responses, clock, seed, SimOptions::new(&demo_token(seed))).await?;
    Ok(sim.into_launched())
}

impl SimControls for PipedriveSim {
    fn kit(&self) -> &Kit {
        &self.company.kit
    }

    fn count(&self, kind: Kind) -> usize {
        self.company.db().rows(Entity::of(kind)).filter(|r| !r.deleted).count()
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        self.change(kind, n, |row, now| {
            row.updated = now;
            row.fields.insert("label_ids".into(), json!([now.timestamp() % 7]));
        })
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        let entity = Entity::of(kind);
        let mut db = self.company.db();
        let live = db.pick(entity, 3);
        let id = *live.get(live.len() / 2)?;
        db.get_mut(entity, id)?.corrupt = true;
        Some(id.to_string())
    }

    fn writes(&self) -> u64 {
        self.company.writes()
    }
}
