//! A Jira Cloud simulator speaking REST v3 closely enough for Atlassian's SDKs.
//!
//! Endpoints (under `/rest/api/3`): `search/jql` (GET and POST, JQL subset, keyset
//! `nextPageToken`/`isLast`, `maxResults` ceilings of 5,000 ids or 100 issues with fields,
//! `reconcileIssues`), the removed `search` (410), `myself` (with a configurable `timeZone`),
//! `user/search`, `issue` (create), `issue/bulk`, `issue/bulkfetch`, `issue/{id}` (GET, PUT), and
//! `issue/{id}/transitions` (GET, POST); and the small REST v2 subset older clients need
//! ([`v2`]: `serverInfo`, `field`, `myself`, `search/jql`, `issue/{id}`). Basic auth
//! (`email:api_token`) guards everything but `serverInfo`; a wrong token gets 401. Rate
//! limits and 429s follow [`limits`], search lags behind writes by a configurable virtual
//! delay ([`site`]), and the zveno-sim kit adds faults.
//!
//! The site is seeded from a world's [`SystemData`]: tasks become issues spread over the
//! projects, statuses become workflow statuses (cancelled ones are "Won't Do", a
//! done-category status), client hints become a custom field value (text, select option,
//! or multi-select) or a `client:` label, and users become accounts, some with hidden
//! e-mails. Or it serves recorded search results as they were recorded ([`launch_recorded`]).

mod bulkfetch;
pub mod harness;
mod jql;
mod limits;
mod recorded;
mod render;
mod reply;
mod search;
mod site;
mod v2;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use http::StatusCode;
use serde_json::{json, Value};
use zveno_connector::Clock;
use zveno_sim::kit::{BenchSim, SimulatorEntry};
use zveno_sim::kit::{Endpoint, Kit, LaunchedSim, SimServer};
use zveno_sim::world::{System, SystemData, SystemProfile};

pub use search::{MAX_FIELDS_PAGE, MAX_IDS_PAGE};

use self::limits::{budget_headers, Limits};
use self::render::{issue_json, user_json, FieldSelection};
use self::site::Site;

/// The site URL in `self` links (Jira links to its canonical site, whatever the caller
/// used to reach it).
pub const SITE: &str = "https://zveno-sim.atlassian.net";

/// The environment variable `launch` puts the API token in.
pub const TOKEN_ENV: &str = "ZVENO_JIRA_TOKEN";

/// How to set up a simulated site.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The token user's e-mail.
    pub email: String,
    /// The API token the site accepts.
    pub token: String,
    /// The token user's zone (`/myself` `timeZone`), e.g. `Europe/Moscow`.
    pub time_zone: String,
    /// Project keys issues are spread over.
    pub projects: Vec<String>,
    /// How long a write takes to become searchable (virtual time).
    pub lag: Duration,
    /// Share of accounts whose profile hides their e-mail.
    pub hidden_email_share: f64,
    /// The custom field naming clients.
    pub client_field: String,
    /// The label prefix naming clients.
    pub client_label_prefix: String,
    /// Burst limit for GET/POST, requests per second.
    pub reads_per_sec: usize,
    /// Burst limit for PUT/DELETE, requests per second.
    pub writes_per_sec: usize,
    /// Most issues a search page holds when fields are requested (Jira Cloud: 100).
    pub fields_page: usize,
    /// Page tokens name a position in the result (the `n`-th issue) instead of the last
    /// issue served: a result that changes while it is paged then shifts under the token,
    /// as an offset-based implementation would let it. Jira does not say which it uses.
    pub positional_tokens: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            email: "sync-bot@zveno-sim.example".into(),
            token: "ATATT3xFfGF0zvenoSimToken0001".into(),
            time_zone: "Europe/Moscow".into(),
            projects: vec!["OPS".into(), "SUP".into()],
            lag: Duration::from_secs(2),
            hidden_email_share: 0.3,
            client_field: "customfield_10050".into(),
            client_label_prefix: "client:".into(),
            reads_per_sec: 100,
            writes_per_sec: 50,
            fields_page: MAX_FIELDS_PAGE,
            positional_tokens: false,
        }
    }
}

/// State shared by the handlers.
#[derive(Debug)]
pub(crate) struct SimState {
    kit: Kit,
    email: String,
    token: String,
    site: Mutex<Site>,
    limits: Limits,
    fields_page: usize,
    positional_tokens: bool,
}

type Shared = Arc<SimState>;

impl SimState {
    /// The clock's now at Jira's precision (milliseconds): page tokens carry millisecond
    /// timestamps, so finer stored times would never compare equal to them.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let now = self.kit.clock().now();
        chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    fn lock(&self) -> MutexGuard<'_, Site> {
        self.site.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn authorized(&self, headers: &http::HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded);
        text.split_once(':').is_some_and(|(user, token)| user.eq_ignore_ascii_case(&self.email) && token == self.token)
    }
}

/// A running simulated Jira site and the handles tests drive it with.
#[derive(Debug)]
pub struct JiraSim {
    server: SimServer,
    state: Shared,
    options: SimOptions,
}

impl JiraSim {
    /// Seeds a site from `data` and serves it on `127.0.0.1:0`.
    pub async fn start(
        data: SystemData,
        clock: Arc<dyn Clock>,
        seed: u64,
        options: SimOptions,
    ) -> std::io::Result<Self> {
        let site = site::seed(&data, &options, seed, SITE);
        Self::serve(site, clock, seed, options).await
    }

    /// Serves recorded search results (`{"issues": [...]}`) as they were recorded, on
    /// `127.0.0.1:0`; the projects are the issue keys' prefixes.
    pub async fn start_recorded(
        responses: &Value,
        clock: Arc<dyn Clock>,
        seed: u64,
        mut options: SimOptions,
    ) -> std::io::Result<Self> {
        let site = recorded::site(responses, &options)?;
        options.projects = site.projects.iter().map(|p| p.key.clone()).collect();
        Self::serve(site, clock, seed, options).await
    }

    async fn serve(site: Site, clock: Arc<dyn Clock>, seed: u64, options: SimOptions) -> std::io::Result<Self> {
        let kit = Kit::new(clock.clone(), seed);
        let state = Arc::new(SimState {
            site: Mutex::new(site),
            limits: Limits::new(options.reads_per_sec, options.writes_per_sec, clock),
            email: options.email.clone(),
            token: options.token.clone(),
            fields_page: options.fields_page.clamp(1, MAX_FIELDS_PAGE),
            positional_tokens: options.positional_tokens,
            kit: kit.clone(),
        });
        let server = SimServer::start(router(state.clone()), kit).await?;
        Ok(Self { server, state, options })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Faults and the request log.
    pub fn kit(&self) -> &Kit {
        self.server.kit()
    }

    /// The options it was started with.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Connector options (minus `vendor` and `base_url`) that point a Jira connector here,
    /// with the token by reference to [`TOKEN_ENV`].
    pub fn connector_options(&self) -> Value {
        let projects = self.options.projects.join(", ");
        json!({
            "email": self.options.email,
            "token_env": TOKEN_ENV,
            "jql": format!("project in ({projects})"),
            "client_field": self.options.client_field,
            "client_label_prefix": self.options.client_label_prefix,
            "create_project": self.options.projects.first(),
        })
    }

    /// Changes the token user's time zone (users can, between runs).
    pub fn set_time_zone(&self, zone: &str) {
        let mut site = self.state.lock();
        site.time_zone = zone.to_string();
        site.myself.time_zone = zone.to_string();
    }

    /// Takes `field` off the edit screen: edits setting it are refused from now on.
    pub fn hide_from_edit_screen(&self, field: &str) {
        self.state.lock().off_edit_screen.insert(field.to_string());
    }

    /// Changes how long writes take to become searchable.
    pub fn set_lag(&self, lag: Duration) {
        self.state.lock().lag = lag;
    }

    /// Makes the next request a 429 asking to wait `wait`; returns the `Retry-After` told.
    pub fn throttle_next(&self, wait: Duration) -> Duration {
        self.state.limits.force(wait)
    }

    /// Edits the summary of `ids` (issue ids), stamping them with the clock's now.
    pub fn touch_ids(&self, ids: &[u64]) {
        let now = self.state.now();
        let mut site = self.state.lock();
        let lag = site.lag;
        for id in ids {
            if let Some(issue) = site.issues.get_mut(id) {
                let mut doc = issue.live.clone();
                let summary = doc.fields.get("summary").and_then(Value::as_str).unwrap_or("").to_string();
                doc.fields
                    .insert("summary".into(), json!(format!("{} (edited)", summary.trim_end_matches(" (edited)"))));
                doc.updated = now;
                issue.write(doc, now, lag);
            }
        }
    }

    /// Edits the `n` least recently updated issues; returns their ids.
    pub fn touch(&self, n: usize) -> Vec<String> {
        let ids: Vec<u64> = {
            let site = self.state.lock();
            let mut all: Vec<(chrono::DateTime<chrono::Utc>, u64)> =
                site.issues.values().map(|i| (i.live.updated, i.id)).collect();
            all.sort();
            all.into_iter().take(n).map(|(_, id)| id).collect()
        };
        self.touch_ids(&ids);
        ids.iter().map(u64::to_string).collect()
    }

    /// Makes one issue unmappable (its summary becomes a number) and touches it, visible to
    /// search at once; returns its id.
    pub fn corrupt(&self) -> String {
        let now = self.state.now();
        let mut site = self.state.lock();
        let Some(issue) = site.issues.values_mut().next() else { return String::new() };
        let mut doc = issue.live.clone();
        doc.fields.insert("summary".into(), json!(42));
        doc.updated = now;
        issue.write(doc, now, Duration::ZERO);
        issue.id.to_string()
    }

    /// Deletes an issue (no trace is left, as in Jira).
    pub fn delete(&self, id: u64) -> bool {
        self.state.lock().issues.remove(&id).is_some()
    }

    /// Puts `ids` under a security level the token user is not in (an admin's permission
    /// change): from then on the token cannot tell them from deleted issues. Returns how
    /// many were visible.
    pub fn restrict(&self, ids: &[u64]) -> usize {
        let mut site = self.state.lock();
        let mut moved = 0;
        for id in ids {
            if let Some(issue) = site.issues.remove(id) {
                site.restricted.insert(*id, issue);
                moved += 1;
            }
        }
        moved
    }

    /// Issues the token can see.
    pub fn count(&self) -> usize {
        self.state.lock().issues.len()
    }

    /// Ids of all issues, ascending.
    pub fn ids(&self) -> Vec<u64> {
        self.state.lock().issues.keys().copied().collect()
    }

    /// Write requests received.
    pub fn writes(&self) -> u64 {
        self.state.lock().writes
    }

    /// The JQL of every search received, in order.
    pub fn queries(&self) -> Vec<String> {
        self.state.lock().queries.clone()
    }

    /// An issue's live state with all fields, as `GET issue` returns it.
    pub fn issue(&self, id_or_key: &str) -> Option<Value> {
        let mut site = self.state.lock();
        let zone = site.zone();
        let issue = site.find(id_or_key)?;
        Some(issue_json(issue.id, &issue.key, &issue.live, &FieldSelection::All(Vec::new()), zone, SITE))
    }
}

/// Starts a simulator for `zveno demo` and benchmarks: the options point a connector at
/// it, `env` holds the token.
pub async fn launch(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    launched(JiraSim::start(data, clock, seed, SimOptions::default()).await?)
}

/// Starts a simulator serving recorded search results (see [`JiraSim::start_recorded`]), for
/// measuring zveno on data recorded elsewhere.
pub async fn launch_recorded(responses: &Value, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<LaunchedSim> {
    launched(JiraSim::start_recorded(responses, clock, seed, SimOptions::default()).await?)
}

fn launched(sim: JiraSim) -> std::io::Result<LaunchedSim> {
    let options = sim.connector_options();
    let help = format!(
        "Jira simulator at {url}: curl -u '{email}:{token}' {url}/rest/api/3/myself",
        url = sim.url(),
        email = sim.options.email,
        token = sim.options.token
    );
    let env = vec![(TOKEN_ENV.to_string(), sim.options.token.clone())];
    Ok(LaunchedSim { vendor: "jira", server: sim.server, options, env, help })
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/rest/api/3/search/jql", get(search::get).post(search::post))
        .route("/rest/api/3/search", get(search::removed).post(search::removed))
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/user/search", get(user_search))
        .route("/rest/api/3/issue", post(writes::create_one))
        .route("/rest/api/3/issue/bulk", post(writes::create_bulk))
        .route("/rest/api/3/issue/bulkfetch", post(bulkfetch::post))
        .route("/rest/api/3/issue/{id}", get(get_issue).put(writes::update))
        .route("/rest/api/3/issue/{id}/transitions", get(writes::list_transitions).post(writes::transition))
        .route("/rest/api/3/issue/{id}/editmeta", get(writes::edit_meta))
        .merge(v2::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Names the endpoint, checks Basic auth (an anonymous request is let through where Jira
/// allows one; wrong credentials never are), then the burst limits.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let endpoint = endpoint_name(request.method(), request.uri().path());
    let anonymous =
        v2::is_anonymous(request.uri().path()) && !request.headers().contains_key(http::header::AUTHORIZATION);
    let mut response = if !anonymous && !state.authorized(request.headers()) {
        // Jira Cloud answers a bad API token with 401 and an ErrorCollection (wording
        // unverified).
        reply::error(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        )
    } else {
        match state.limits.admit(request.method()) {
            Err(throttled) => *throttled,
            Ok((limit, remaining)) => {
                let mut response = next.run(request).await;
                budget_headers(&mut response, limit, remaining);
                response
            }
        }
    };
    response.extensions_mut().insert(Endpoint(endpoint));
    response
}

fn endpoint_name(method: &http::Method, path: &str) -> String {
    let (version, rest) = match path.strip_prefix("/rest/api/2/") {
        Some(rest) => ("v2 ", rest),
        None => ("", path.trim_start_matches("/rest/api/3/")),
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let name = match (method.as_str(), parts.as_slice()) {
        (_, ["serverInfo"]) => "serverInfo",
        (_, ["field"]) => "field",
        (_, ["search", "jql"]) => "search/jql",
        (_, ["search"]) => "search (removed)",
        (_, ["myself"]) => "myself",
        (_, ["user", "search"]) => "user/search",
        ("POST", ["issue"]) => "create issue",
        ("POST", ["issue", "bulk"]) => "bulk create",
        ("POST", ["issue", "bulkfetch"]) => "bulk fetch",
        ("GET", ["issue", _]) => "get issue",
        ("PUT", ["issue", _]) => "edit issue",
        ("GET", ["issue", _, "transitions"]) => "get transitions",
        ("GET", ["issue", _, "editmeta"]) => "editmeta",
        ("POST", ["issue", _, "transitions"]) => "transition issue",
        _ => return format!("{method} {path}"),
    };
    format!("{version}{name}")
}

async fn myself(State(state): State<Shared>) -> Response {
    let site = state.lock();
    reply::json(StatusCode::OK, user_json(&site.myself, SITE))
}

/// `GET /rest/api/3/user/search?query=`: matches display names and e-mails by prefix; a
/// hidden e-mail still matches but is not shown.
async fn user_search(State(state): State<Shared>, Query(params): Query<HashMap<String, String>>) -> Response {
    let query = params.get("query").map(|q| q.to_lowercase()).unwrap_or_default();
    let site = state.lock();
    let users: Vec<Value> = site
        .users
        .iter()
        .filter(|u| {
            !query.is_empty()
                && (u.email.to_lowercase().starts_with(&query) || u.display_name.to_lowercase().starts_with(&query))
        })
        .take(50)
        .map(|u| user_json(u, SITE))
        .collect();
    reply::json(StatusCode::OK, Value::Array(users))
}

async fn get_issue(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut site = state.lock();
    let zone = site.zone();
    let Some(issue) = site.find(&id) else { return reply::not_found() };
    let selection = match params.get("fields") {
        Some(f) => FieldSelection::parse(std::slice::from_ref(f)),
        None => FieldSelection::All(Vec::new()),
    };
    reply::json(StatusCode::OK, issue_json(issue.id, &issue.key, &issue.live, &selection, zone, SITE))
}

/// How Jira's records look in a generated world (the world generator knows no vendor).
/// Jira holds issues only: their client is a free-text hint.
pub const PROFILE: SystemProfile = SystemProfile {
    vendor: crate::VENDOR,
    rank: 2,
    crm: false,
    tax_id_share: 0.2,
    latin_name_share: 0.2,
    latin_person_share: 0.0,
    company_ref_prefix: "",
    company_channels: true,
};

/// Jira as a system of a generated world.
pub const SYSTEM: System = System::new(&PROFILE);

/// The simulator, as the daemon's registry lists it.
pub fn entry() -> SimulatorEntry {
    SimulatorEntry {
        system: SYSTEM,
        launch: |data, clock, seed| Box::pin(launch(data, clock, seed)),
        bench: Some(|data, clock, seed| Box::pin(launch_bench(data, clock, seed))),
    }
}

/// [`launch`] with a hold on the issues, for `zveno bench cost`.
async fn launch_bench(data: SystemData, clock: Arc<dyn Clock>, seed: u64) -> std::io::Result<BenchSim> {
    let sim = JiraSim::start(data, clock, seed, SimOptions::default()).await?;
    let env = vec![(TOKEN_ENV.to_string(), sim.options.token.clone())];
    Ok(BenchSim {
        vendor: crate::VENDOR,
        url: sim.url(),
        options: sim.connector_options(),
        env,
        records: Box::new(sim),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_named_for_the_request_log() {
        assert_eq!(endpoint_name(&http::Method::POST, "/rest/api/3/search/jql"), "search/jql");
        assert_eq!(endpoint_name(&http::Method::PUT, "/rest/api/3/issue/10001"), "edit issue");
        assert_eq!(endpoint_name(&http::Method::POST, "/rest/api/3/issue/OPS-1/transitions"), "transition issue");
        assert_eq!(endpoint_name(&http::Method::GET, "/other"), "GET /other");
        assert_eq!(endpoint_name(&http::Method::GET, "/rest/api/2/serverInfo"), "v2 serverInfo");
        assert_eq!(endpoint_name(&http::Method::GET, "/rest/api/2/issue/OPS-1"), "v2 get issue");
    }
}
