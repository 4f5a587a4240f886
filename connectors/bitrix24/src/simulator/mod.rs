//! A simulated Bitrix24 portal, faithful enough for the official SDKs to talk to.
//!
//! It answers the inbound-webhook URL form `/rest/{user}/{code}/{method}` (with or without
//! `.json`, GET or POST, JSON or form-encoded parameters, PHP-style nested keys) for
//! `crm.company.list/add/update`, `crm.contact.list`, `crm.requisite.list`,
//! `tasks.task.list/add/update`, `user.get` and `batch` (50 commands, `halt`, `$result[...]`
//! references resolved the PHP way). Answers use the `result/total/next/time` envelope with
//! fixed 50-row pages and `start=-1`; datetimes and `DATE_MODIFY` filters are in the portal's
//! zone (`+03:00` by default).
//!
//! Limits and failures are Bitrix24's own: a leaky bucket of 50 draining 2 a second on the
//! injected clock answers `503 {"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many
//! requests"}`; a method over its execution-time budget answers `OPERATION_TIME_LIMIT` (429
//! when called directly, per command inside `batch`); a wrong webhook code gets `401
//! NO_AUTH_FOUND`. On top, the kit injects 5xx answers, latency, cut bodies and dropped
//! connections.

mod entities;
mod harness;
mod listing;
mod methods;
mod operating;
mod params;
mod recorded;
mod store;
mod wire;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use zveno_sim::conformance::SimControls;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use chrono::{DurationRound as _, FixedOffset, Offset as _, TimeDelta};
use serde_json::{json, Value};
use zveno_connector::Kind;
use zveno_sim::kit::{Batch, Endpoint, Kit, LeakyBucket, SimServer, Throttled};
use zveno_sim::kit::{BenchSim, LaunchedSim, SimulatorEntry};
use zveno_sim::world::{System, SystemData, SystemProfile};

pub use harness::{launch, launch_recorded, launch_with_handle, Bitrix24Harness, HARNESS_CALLS_PER_BATCH, WEBHOOK_ENV};
pub use store::INN_USER_FIELD;

use entities::Row as _;
use methods::{Answer, Context};
use operating::Operating;
use store::Store;

/// How the simulated portal is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// The user the webhook belongs to.
    pub user_id: u64,
    /// The webhook code.
    pub code: String,
    /// The portal's UTC offset.
    pub offset: FixedOffset,
    /// The leaky bucket's threshold (50; Enterprise 250).
    pub bucket_capacity: u32,
    /// The leaky bucket's drain per second (2; Enterprise 5).
    pub bucket_drain: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            user_id: 1,
            code: "zvenosimwebhook1".to_string(),
            offset: FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| chrono::Utc.fix()),
            bucket_capacity: 50,
            bucket_drain: 2.0,
        }
    }
}

/// A simulated portal: the handle tests use to inspect and change it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bitrix24Sim {
    inner: Arc<SimState>,
}

#[derive(Debug)]
struct SimState {
    options: SimOptions,
    kit: Kit,
    bucket: LeakyBucket,
    store: Mutex<Store>,
    operating: Mutex<Operating>,
    throttle_next: AtomicBool,
    html_next: AtomicBool,
    gateway_after_write: AtomicBool,
    writes: AtomicU64,
    refused: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
}

const LIMIT_BODY: &str = r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;

impl Bitrix24Sim {
    /// A portal holding `data`, on `kit`'s clock and faults.
    pub fn new(data: &SystemData, kit: Kit, options: SimOptions) -> Self {
        Self::holding(Store::seed(data), kit, options)
    }

    /// A portal holding recorded list rows (`{"companies": [...], "requisites": [...],
    /// "contacts": [...], "tasks": [...]}`), served as they were recorded.
    pub fn recorded(
        responses: &Value,
        kit: Kit,
        options: SimOptions,
    ) -> Result<Self, zveno_sim::kit::recorded::RecordedError> {
        Ok(Self::holding(Store::from_recorded(responses, options.offset)?, kit, options))
    }

    fn holding(store: Store, kit: Kit, options: SimOptions) -> Self {
        let bucket = LeakyBucket::new(options.bucket_capacity, options.bucket_drain, kit.clock().clone());
        Self {
            inner: Arc::new(SimState {
                options,
                kit,
                bucket,
                store: Mutex::new(store),
                operating: Mutex::new(Operating::default()),
                throttle_next: AtomicBool::new(false),
                html_next: AtomicBool::new(false),
                gateway_after_write: AtomicBool::new(false),
                refused: AtomicU64::new(0),
                writes: AtomicU64::new(0),
                calls: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The routes, without a socket.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/rest/{user}/{code}/{method}", any(handle))
            .route("/rest/{user}/{code}/{method}/", any(handle))
            .with_state(self.clone())
    }

    /// Serves the portal on `127.0.0.1:0`.
    pub async fn serve(&self) -> std::io::Result<SimServer> {
        SimServer::start(self.router(), self.inner.kit.clone()).await
    }

    /// The inbound webhook URL of the portal served at `server_url`.
    pub fn webhook_url(&self, server_url: &str) -> String {
        let o = &self.inner.options;
        format!("{}/rest/{}/{}/", server_url.trim_end_matches('/'), o.user_id, o.code)
    }

    /// The setup.
    pub fn options(&self) -> &SimOptions {
        &self.inner.options
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ids of the records of `kind`, ascending.
    pub fn ids(&self, kind: Kind) -> Vec<u64> {
        let store = self.store();
        match kind {
            Kind::Client => store.companies.keys().copied().collect(),
            Kind::Contact => store.contacts.keys().copied().collect(),
            Kind::Task => store.tasks.keys().copied().collect(),
        }
    }

    /// Sets the modification time of record `id` of `kind` to `at`: a change that commits
    /// late, stamped before a window that has already been read (the reason for overlaps).
    pub fn stamp(&self, kind: Kind, id: u64, at: chrono::DateTime<chrono::Utc>) -> bool {
        let mut store = self.store();
        let slot = match kind {
            Kind::Client => store.companies.get_mut(&id).map(|c| &mut c.modified),
            Kind::Contact => store.contacts.get_mut(&id).map(|c| &mut c.modified),
            Kind::Task => store.tasks.get_mut(&id).map(|t| &mut t.changed),
        };
        match slot {
            Some(slot) => {
                *slot = at;
                true
            }
            None => false,
        }
    }

    /// Deletes a record; `false` if there was none.
    pub fn delete(&self, kind: Kind, id: u64) -> bool {
        let mut store = self.store();
        match kind {
            Kind::Client => store.companies.remove(&id).is_some(),
            Kind::Contact => store.contacts.remove(&id).is_some(),
            Kind::Task => store.tasks.remove(&id).is_some(),
        }
    }

    /// Gives company `company` another requisite holding `tax_id`; returns its id.
    pub fn add_requisite(&self, company: u64, tax_id: &str) -> u64 {
        let now = self.inner.kit.clock().now();
        self.store().add_requisite(company, "Реквизит", tax_id, now)
    }

    /// Sets user field `field` of company `company` (`UF_CRM_INN`) without touching its
    /// `DATE_MODIFY`; `false` if there is no such company.
    pub fn set_company_field(&self, company: u64, field: &str, value: &str) -> bool {
        let mut store = self.store();
        let Some(c) = store.companies.get_mut(&company) else { return false };
        c.user_fields.insert(field.to_string(), value.to_string());
        true
    }

    /// Removes every requisite of company `company`; returns how many there were.
    pub fn clear_requisites(&self, company: u64) -> usize {
        let mut store = self.store();
        let before = store.requisites.len();
        store.requisites.retain(|_, r| r.entity_id != company);
        before - store.requisites.len()
    }

    /// A company as `crm.company.list` returns it with every field and multi-field.
    pub fn company(&self, id: u64) -> Option<Value> {
        let select: Vec<String> = ["*", "UF_*", "PHONE", "EMAIL", "WEB"].map(String::from).to_vec();
        self.store().companies.get(&id).map(|c| c.render(&select, self.inner.options.offset))
    }

    /// A task as `tasks.task.list` returns it with its CRM links.
    pub fn task(&self, id: u64) -> Option<Value> {
        let select: Vec<String> = ["TITLE", "STATUS", "RESPONSIBLE_ID", "DEADLINE", "UF_CRM_TASK", "TAGS", "XML_ID"]
            .map(String::from)
            .to_vec();
        self.store().tasks.get(&id).map(|t| t.render(&select, self.inner.options.offset))
    }

    /// Makes the next request answer the vendor's 503 `QUERY_LIMIT_EXCEEDED`.
    pub fn throttle_next(&self) {
        self.inner.throttle_next.store(true, Ordering::SeqCst);
    }

    /// Makes the next request answer a 503 with an HTML page, as blocked portals sometimes do.
    pub fn html_next(&self) {
        self.inner.html_next.store(true, Ordering::SeqCst);
    }

    /// Makes the next batch that writes run as usual, then reach the client as a gateway's
    /// HTML 502: the write happened, and the client cannot know it.
    pub fn gateway_error_after_next_write(&self) {
        self.inner.gateway_after_write.store(true, Ordering::SeqCst);
    }

    /// Commands refused with `OPERATION_TIME_LIMIT` so far.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Calls of `method` run so far, directly or inside batches (the sub-call count a batch
    /// floor is measured in).
    pub fn calls(&self, method: &str) -> u64 {
        self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner).get(method).copied().unwrap_or(0)
    }

    /// Replaces a task's `UF_CRM_TASK` links (as another user editing it in the portal would).
    pub fn set_task_links(&self, id: u64, links: &[&str]) -> bool {
        match self.store().tasks.get_mut(&id) {
            Some(task) => {
                task.crm = links.iter().map(|l| l.to_string()).collect();
                true
            }
            None => false,
        }
    }

    /// Sets the execution-time budget per method (default 480 s per 10 minutes).
    pub fn set_operating_limit(&self, secs: f64) {
        self.inner.operating.lock().unwrap_or_else(PoisonError::into_inner).set_limit(secs);
    }

    /// Sets how many seconds each call of `method` takes from its budget (default 0.02).
    pub fn set_operating_cost(&self, method: &str, secs: f64) {
        self.inner.operating.lock().unwrap_or_else(PoisonError::into_inner).set_cost(method, secs);
    }

    fn context(&self) -> Context {
        Context { now: self.inner.kit.clock().now(), offset: self.inner.options.offset }
    }

    /// Runs one method with its accounting and the write counter.
    fn run(
        &self,
        store: &mut Store,
        operating: &mut Operating,
        method: &str,
        params: &params::Params,
    ) -> (Answer, Value) {
        if methods::is_write(method) {
            self.inner.writes.fetch_add(1, Ordering::Relaxed);
        }
        *self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner).entry(method.to_string()).or_default() += 1;
        let (answer, time) = methods::accounted(store, operating, method, params, self.context());
        if matches!(&answer, Answer::Err { error, .. } if error == "OPERATION_TIME_LIMIT") {
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
        }
        (answer, time)
    }
}

fn json_response(status: StatusCode, body: &Value, endpoint: &str) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response.extensions_mut().insert(Endpoint(endpoint.to_string()));
    response
}

fn throttled(mut response: Response) -> Response {
    response.extensions_mut().insert(Throttled);
    response
}

async fn handle(
    State(sim): State<Bitrix24Sim>,
    Path((user, code, method)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.trim_end_matches(".json").to_ascii_lowercase();
    let options = &sim.inner.options;
    if user.parse::<u64>().ok() != Some(options.user_id) || code != options.code {
        let body = Answer::error_body("NO_AUTH_FOUND", "Wrong authorization data");
        return json_response(StatusCode::UNAUTHORIZED, &body, &method);
    }
    if sim.inner.html_next.swap(false, Ordering::SeqCst) {
        let page = "<html><head><title>503 Service Temporarily Unavailable</title></head>\
                    <body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>";
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        response.extensions_mut().insert(Endpoint(method));
        return throttled(response);
    }
    if sim.inner.throttle_next.swap(false, Ordering::SeqCst) || sim.inner.bucket.try_acquire().is_err() {
        let body: Value = serde_json::from_str(LIMIT_BODY).unwrap_or_default();
        return throttled(json_response(StatusCode::SERVICE_UNAVAILABLE, &body, &method));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let kind = wire::BodyKind::of(content_type, &body);
    let ctx = sim.context();
    let mut store = sim.store();
    let mut operating = sim.inner.operating.lock().unwrap_or_else(PoisonError::into_inner);
    if method == "batch" {
        let request = match wire::batch_request(uri.query(), kind, &body) {
            Ok(request) => request,
            Err(e) => return json_response(StatusCode::BAD_REQUEST, &Answer::error_body("", &e), &method),
        };
        let writes = sim.writes();
        let result = methods::batch(&request, |m, p| sim.run(&mut store, &mut operating, m, p));
        if sim.writes() > writes && sim.inner.gateway_after_write.swap(false, Ordering::SeqCst) {
            let page = "<html><head><title>502 Bad Gateway</title></head>\
                        <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
            let mut response = (StatusCode::BAD_GATEWAY, page).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response.extensions_mut().insert(Endpoint(method));
            return response;
        }
        let mut response = json_response(StatusCode::OK, &json!({"result": result, "time": ctx.time(None)}), &method);
        if sim.writes() > writes {
            response.extensions_mut().insert(Batch(request.commands.len() as u64));
        }
        return response;
    }
    let params = match wire::params(uri.query(), kind, &body) {
        Ok(params) => params,
        Err(e) => return json_response(StatusCode::BAD_REQUEST, &Answer::error_body("", &e), &method),
    };
    match sim.run(&mut store, &mut operating, &method, &params) {
        (Answer::Ok { result, total, next }, time) => {
            let mut body = json!({"result": result, "time": time});
            if let Some(map) = body.as_object_mut() {
                if let Some(total) = total {
                    map.insert("total".into(), json!(total));
                }
                if let Some(next) = next {
                    map.insert("next".into(), json!(next));
                }
            }
            json_response(StatusCode::OK, &body, &method)
        }
        (Answer::Err { status, error, description }, _) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(status, &Answer::error_body(&error, &description), &method)
        }
    }
}

/// How Bitrix24's records look in a generated world (the world generator knows no vendor).
/// Bitrix24 users type Russian forms and «», and mostly fill in requisites (the tax id); the CRM shows company ids as `CO_<id>`.
pub const PROFILE: SystemProfile = SystemProfile {
    vendor: crate::VENDOR,
    rank: 1,
    crm: true,
    tax_id_share: 0.85,
    latin_name_share: 0.05,
    latin_person_share: 0.0,
    company_ref_prefix: "CO_",
    company_channels: true,
};

/// Bitrix24 as a system of a generated world.
pub const SYSTEM: System = System::new(&PROFILE);

/// The simulator, as the daemon's registry lists it.
pub fn entry() -> SimulatorEntry {
    SimulatorEntry {
        system: SYSTEM,
        launch: |data, clock, seed| Box::pin(launch(data, clock, seed)),
        bench: Some(|data, clock, seed| Box::pin(launch_bench(data, clock, seed))),
    }
}

/// [`launch`] with a hold on the portal's records, for `zveno bench cost`.
async fn launch_bench(
    data: SystemData,
    clock: Arc<dyn zveno_connector::Clock>,
    seed: u64,
) -> std::io::Result<BenchSim> {
    let (launched, sim) = launch_with_handle(&data, clock, seed).await?;
    let (url, options, env) = (launched.server.url(), launched.options.clone(), launched.env.clone());
    Ok(BenchSim { vendor: crate::VENDOR, url, options, env, records: Box::new(Held { _launched: launched, sim }) })
}

/// The running portal (dropping it stops the server) and the handle that changes it.
struct Held {
    _launched: LaunchedSim,
    sim: Bitrix24Sim,
}

impl SimControls for Held {
    fn kit(&self) -> &Kit {
        self.sim.kit()
    }

    fn count(&self, kind: Kind) -> usize {
        self.sim.count(kind)
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        self.sim.touch(kind, n)
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        self.sim.corrupt(kind)
    }

    fn writes(&self) -> u64 {
        self.sim.writes()
    }
}

impl SimControls for Bitrix24Sim {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }

    fn count(&self, kind: Kind) -> usize {
        self.ids(kind).len()
    }

    fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        let ids = self.ids(kind);
        let n = n.min(ids.len());
        let picked: Vec<u64> = (0..n).map(|i| ids[i * ids.len() / n.max(1)]).collect();
        let now = self.inner.kit.clock().now();
        let now = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
        let mut store = self.store();
        for id in &picked {
            match kind {
                Kind::Client => {
                    if let Some(c) = store.companies.get_mut(id) {
                        c.modified = now;
                    }
                }
                Kind::Contact => {
                    if let Some(c) = store.contacts.get_mut(id) {
                        c.modified = now;
                    }
                }
                Kind::Task => {
                    if let Some(t) = store.tasks.get_mut(id) {
                        t.changed = now;
                    }
                }
            }
        }
        picked.iter().map(u64::to_string).collect()
    }

    fn corrupt(&self, kind: Kind) -> Option<String> {
        let ids = self.ids(kind);
        let id = *ids.get(ids.len() / 2)?;
        let mut store = self.store();
        match kind {
            Kind::Client => store.companies.get_mut(&id)?.corrupt = true,
            Kind::Contact => store.contacts.get_mut(&id)?.corrupt = true,
            Kind::Task => store.tasks.get_mut(&id)?.corrupt = true,
        }
        Some(id.to_string())
    }

    fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }
}
