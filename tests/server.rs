//! The HTTP service through its router, without a socket (`tower::ServiceExt::oneshot`):
//! the JSON API against the store it reads (paging, search in both scripts, the card,
//! filters and their errors), auth (tokens, roles, the sign-in cookie), `/readyz`,
//! `/metrics` parsed as Prometheus text, the OpenAPI document and the web view's pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/backends.rs"]
mod backends;
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/vendor_adapter.rs"]
mod vendor_adapter;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use tower::ServiceExt as _;
use zveno::engine::RunSummary;
use zveno::metrics::Metrics;
use zveno::resolve::{to_latin, Resolver, Survivorship, Systems};
use zveno::server::{router, Auth, ServerState, StateParts};
use zveno::store::{ConnectorStatus, RunOutcome, RunStatus, StateChange, Store};
use zveno::view::connectors::Configured;
use zveno_connector::http::HttpStats;
use zveno_connector::{Clock, Cursor, Kind, Page, Secret, SyncMode, SystemClock};
use zveno_sim::world::{World, WorldSpec};

const READ: &str = "read-token-for-tests";
const ADMIN: &str = "admin-token-for-tests";

async fn seed(store: &Store, clients: usize) {
    let world = World::generate(&WorldSpec::new(
        11,
        clients,
        &[zveno_hubspot::simulator::SYSTEM, zveno_bitrix24::simulator::SYSTEM, zveno_jira::simulator::SYSTEM],
    ));
    for (connector, kind, records) in vendor_adapter::records(&world) {
        let page = Page { records, errors: Vec::new(), cursor: Cursor(serde_json::json!({"n": 1})), more: false };
        store.commit_page(&connector, kind, SyncMode::Full, &page).await.unwrap();
    }
    resolver(store).run().await.unwrap();
}

fn resolver(store: &Store) -> Resolver {
    let systems = Systems::new(vendor_adapter::CONNECTORS.iter().map(|(c, _)| (*c, *c)));
    Resolver::new(store.clone(), Survivorship::default(), systems)
}

fn configured() -> Vec<Configured> {
    vendor_adapter::CONNECTORS
        .iter()
        .map(|(name, _)| Configured {
            name: (*name).to_string(),
            vendor: (*name).to_string(),
            kinds: if *name == "jira" { vec![Kind::Task] } else { Kind::ALL.to_vec() },
        })
        .collect()
}

fn state(store: &Store, auth: Auth, metrics: Arc<Metrics>) -> ServerState {
    ServerState::new(StateParts {
        store: store.clone(),
        resolver: Some(resolver(store)),
        connectors: configured(),
        zone: chrono_tz::Europe::Moscow,
        auth,
        metrics,
        clock: Arc::new(SystemClock::new()),
        secure_cookies: false,
        public_url: None,
        webhooks: None,
        flows: Vec::new(),
    })
}

fn open_app(store: &Store) -> Router {
    router(state(store, Auth::default(), Arc::new(Metrics::new())))
}

fn tokens() -> Auth {
    Auth::new(Some(Secret::new(READ)), Some(Secret::new(ADMIN)))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(app: &Router, uri: &str) -> Answer {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, token: Option<&str>, body: &serde_json::Value) -> Request<Body> {
    let mut r = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).unwrap()
}

/// Records a finished run of `connector`/`kind` that ended at `at`.
async fn finished_run(
    store: &Store,
    connector: &str,
    kind: Kind,
    at: chrono::DateTime<Utc>,
    status: RunStatus,
    message: Option<&str>,
) -> i64 {
    let run = store.start_run(connector, kind, SyncMode::Full, at).await.unwrap();
    let outcome = RunOutcome {
        status,
        finished_at: at,
        pages: 1,
        records: 40,
        record_errors: 0,
        tombstoned: 0,
        requests: 3,
        throttled: 1,
        retried: 0,
        failed_requests: 0,
        slowed: 0,
        census_requests: 0,
        held: 0,
        message: message.map(str::to_string),
    };
    store.finish_run(run, &outcome).await.unwrap();
    run
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn clients_page_through_every_client_exactly_once_on_both_backends() {
    backends::on_both(|store, _| async move {
        seed(&store, 120).await;
        let app = open_app(&store);
        let all = store.client_entities(&[], None).await.unwrap();
        let mut seen = Vec::new();
        let mut uri = "/api/v1/clients?limit=7".to_string();
        let mut pages = 0;
        loop {
            let a = get(&app, &uri).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let page = a.json();
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 7);
            seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/api/v1/clients?limit=7&cursor={}", encode(c)),
                None => break,
            }
        }
        let expected: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
        assert_eq!(seen, expected, "every client once, in name order");
        assert_eq!(pages, expected.len().div_ceil(7));
    })
    .await;
}

#[tokio::test]
async fn search_finds_a_client_by_its_cyrillic_and_its_latin_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 150).await;
    let app = open_app(&store);
    let all = store.client_entities(&[], None).await.unwrap();
    let cyrillic =
        all.iter().find(|e| e.name.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap()))).unwrap();
    // The distinctive word of the name: its longest.
    let word: String =
        cyrillic.name.split(|c: char| !c.is_alphanumeric()).max_by_key(|w| w.chars().count()).unwrap().to_string();
    for query in [word.clone(), to_latin(&word)] {
        let a = get(&app, &format!("/api/v1/clients?search={}", encode(&query))).await;
        let ids: Vec<String> =
            a.json()["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
        assert!(ids.contains(&cyrillic.id), "{query:?} should find {} ({}), got {ids:?}", cyrillic.name, cyrillic.id);
    }
}

#[tokio::test]
async fn the_card_lists_sources_contacts_and_open_tasks_and_unknown_ids_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 100).await;
    let app = open_app(&store);
    let all = store.client_entities(&[], None).await.unwrap();
    let busiest = all.iter().max_by_key(|e| e.sources).unwrap();
    let a = get(&app, &format!("/api/v1/clients/{}", busiest.id)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let card = a.json();
    assert_eq!(card["id"], busiest.id.as_str());
    assert_eq!(card["sources"].as_array().unwrap().len() as i64, busiest.sources);
    for key in ["fields", "contacts", "open_tasks", "closed_tasks", "domains", "tax_id"] {
        assert!(card.get(key).is_some(), "card lacks {key}: {card}");
    }
    let missing = get(&app, "/api/v1/clients/cl-nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn task_filters_work_and_bad_parameters_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 80).await;
    let app = open_app(&store);
    let overdue = get(&app, "/api/v1/tasks?overdue=true&limit=500").await.json();
    let items = overdue["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the world has overdue tasks");
    assert!(items.iter().all(|t| t["overdue"] == true && (t["status"] == "todo" || t["status"] == "in_progress")));
    // The SQL filter and the flag each item carries apply the same rule.
    let mut flagged = 0;
    let mut uri = "/api/v1/tasks?limit=500".to_string();
    loop {
        let page = get(&app, &uri).await.json();
        flagged += page["items"].as_array().unwrap().iter().filter(|t| t["overdue"] == true).count();
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/tasks?limit=500&cursor={}", encode(c)),
            None => break,
        }
    }
    assert_eq!(flagged, items.len());
    let done = get(&app, "/api/v1/tasks?status=done&limit=5").await.json();
    assert!(done["items"].as_array().unwrap().iter().all(|t| t["status"] == "done"));

    for (uri, names) in [
        ("/api/v1/tasks?status=finished", "status"),
        ("/api/v1/tasks?colour=red", "colour"),
        ("/api/v1/tasks?limit=0", "limit"),
        ("/api/v1/clients?cursor=garbage", "cursor"),
        ("/api/v1/tasks?overdue=maybe", "overdue"),
    ] {
        let a = get(&app, uri).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.body);
        let message = a.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(names), "{uri}: {message}");
    }
}

#[tokio::test]
async fn tokens_are_required_and_a_read_token_cannot_act() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 60).await;
    let app = router(state(&store, tokens(), Arc::new(Metrics::new())));

    let anonymous = get(&app, "/api/v1/clients").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    assert_eq!(call(&app, with_token("/api/v1/clients", "wrong")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, with_token("/api/v1/clients", READ)).await.status, StatusCode::OK);
    assert_eq!(call(&app, with_token("/api/v1/clients", ADMIN)).await.status, StatusCode::OK);

    // Two records the resolver kept apart; the read token may not join them, the admin may.
    let links = store.all_links(Kind::Client).await.unwrap();
    let a = links.iter().find(|l| l.key.connector == "hubspot").unwrap();
    let b = links.iter().find(|l| l.key.connector == "bitrix24" && l.entity_id != a.entity_id).unwrap();
    let body = serde_json::json!({"a": format!("hubspot:{}", a.key.external_id), "b": format!("bitrix24:{}", b.key.external_id)});
    let refused = call(&app, post_json("/api/v1/admin/link", Some(READ), &body)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(call(&app, post_json("/api/v1/admin/link", None, &body)).await.status, StatusCode::UNAUTHORIZED);
    let done = call(&app, post_json("/api/v1/admin/link", Some(ADMIN), &body)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let after = done.json()["after"].clone();
    assert_eq!(after[0], after[1], "one client now: {after}");
    let joined = store.links_of(&[a.key.clone(), b.key.clone()]).await.unwrap();
    assert_eq!(joined[0].entity_id, joined[1].entity_id);

    let unknown =
        call(&app, post_json("/api/v1/admin/unlink", Some(ADMIN), &serde_json::json!({"source": "hubspot:999999"})))
            .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let malformed =
        call(&app, post_json("/api/v1/admin/unlink", Some(ADMIN), &serde_json::json!({"record": "x"}))).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{}", malformed.body);
}

#[tokio::test]
async fn the_web_view_signs_people_in_with_a_strict_http_only_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 30).await;
    let app = router(state(&store, tokens(), Arc::new(Metrics::new())));
    let page = get(&app, "/clients?search=a").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers.get(header::LOCATION).unwrap(), "/signin?next=%2Fclients%3Fsearch%3Da");

    let form = |token: &str| {
        Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}&next=%2Fclients", encode(token))))
            .unwrap()
    };
    let refused = call(&app, form("guess")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.headers.get(header::SET_COOKIE).is_none());
    let signed = call(&app, form(READ)).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let cookie = signed.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(READ), "the cookie is not the token: {cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let with_cookie =
        |uri: &str| Request::get(uri).header(header::COOKIE, session.clone()).body(Body::empty()).unwrap();
    let clients = call(&app, with_cookie("/clients")).await;
    assert_eq!(clients.status, StatusCode::OK);
    assert!(clients.body.contains("id=\"clients\""));
    // The cookie reads, but it is the read token's: admin actions stay closed.
    let act = Request::post("/api/v1/admin/unlink")
        .header(header::COOKIE, session.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"source":"hubspot:1"}"#))
        .unwrap();
    assert_eq!(call(&app, act).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signed_in_admins_settle_the_review_queue_and_link_or_unlink_from_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 60).await;
    let app = router(state(&store, tokens(), Arc::new(Metrics::new())));
    let sign_in = |token: &str| {
        Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}&next=%2Fclients", encode(token))))
            .unwrap()
    };
    let session = |answer: &Answer| {
        answer.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string()
    };
    let admin = session(&call(&app, sign_in(ADMIN)).await);
    let reader = session(&call(&app, sign_in(READ)).await);
    let page = |uri: &str, cookie: &str| Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).unwrap();

    assert_eq!(call(&app, page("/review", &reader)).await.status, StatusCode::FORBIDDEN);
    let queue = call(&app, page("/review", &admin)).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(queue.body.contains("href=\"/review\""), "admins see the Review tab");

    let links = store.all_links(Kind::Client).await.unwrap();
    let a = links.iter().find(|l| l.key.connector == "hubspot").unwrap();
    let b = links.iter().find(|l| l.key.connector == "bitrix24" && l.entity_id != a.entity_id).unwrap();
    let card = format!("/clients/{}", a.entity_id);
    let as_admin = call(&app, page(&card, &admin)).await;
    assert!(as_admin.body.contains("action=\"/admin/link\"") && as_admin.body.contains("action=\"/admin/unlink\""));
    let as_reader = call(&app, page(&card, &reader)).await;
    assert!(
        !as_reader.body.contains("/admin/") && !as_reader.body.contains("href=\"/review\""),
        "readers get no forms"
    );

    let link = |cookie: &str, origin: &str| {
        let form = format!(
            "a={}&b={}&next={}",
            encode(&format!("hubspot:{}", a.key.external_id)),
            encode(&format!("bitrix24:{}", b.key.external_id)),
            encode(&card)
        );
        Request::post("/admin/link")
            .header(header::COOKIE, cookie)
            .header(header::HOST, "127.0.0.1:9470")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    assert_eq!(call(&app, link(&reader, "http://127.0.0.1:9470")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, link(&admin, "https://evil.example")).await.status, StatusCode::FORBIDDEN);
    let apart = store.links_of(&[a.key.clone(), b.key.clone()]).await.unwrap();
    assert_ne!(apart[0].entity_id, apart[1].entity_id, "refused posts change nothing");
    let done = call(&app, link(&admin, "http://127.0.0.1:9470")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.headers.get(header::LOCATION).unwrap().to_str().unwrap(), card);
    let joined = store.links_of(&[a.key.clone(), b.key.clone()]).await.unwrap();
    assert_eq!(joined[0].entity_id, joined[1].entity_id);

    let unknown = Request::post("/admin/unlink")
        .header(header::COOKIE, admin.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("source=hubspot%3A999999&next=%2Freview"))
        .unwrap();
    let unknown = call(&app, unknown).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("hubspot:client:999999"), "the page says what failed: {}", unknown.body);
}

#[tokio::test]
async fn the_web_view_speaks_russian_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 40).await;
    let app = open_app(&store);
    let id = store.client_entities(&[], None).await.unwrap()[0].id.clone();
    let english = get(&app, &format!("/clients/{id}")).await;
    assert!(english.body.contains("In every system") && english.body.contains("lang=\"en\""));
    let russian = call(
        &app,
        Request::get(format!("/clients/{id}"))
            .header(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(russian.body.contains("Во всех системах") && russian.body.contains("lang=\"ru\""));
    let switch = get(&app, &format!("/lang/ru?next=%2Fclients%2F{id}")).await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert!(switch.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().starts_with("zveno_lang=ru"));
    assert_eq!(
        get(&app, "/lang/en?next=https://evil.example/").await.headers.get(header::LOCATION).unwrap(),
        "/clients"
    );
    for page in ["/clients", "/overdue", "/health", "/static/app.css"] {
        assert_eq!(get(&app, page).await.status, StatusCode::OK, "{page}");
    }
    assert_eq!(get(&app, "/clients/cl-nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn readyz_lists_connectors_stays_ready_over_failing_and_parked_ones_and_turns_503_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    finished_run(
        &store,
        "jira",
        Kind::Task,
        Utc::now(),
        RunStatus::Failed,
        Some("jira/task: authentication failed (401)"),
    )
    .await;
    let app = open_app(&store);
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let body = ready.json();
    let jira = body["connectors"].as_array().unwrap().iter().find(|c| c["name"] == "jira").unwrap().clone();
    assert_eq!(jira["state"], "failing");
    assert!(jira["reason"].as_str().unwrap().contains("401"));
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);

    // A connector the scheduler parked is listed as parked, with its reason, and the service
    // stays ready: one expired token must not take the view of every other system down.
    let parked = StateChange {
        status: ConnectorStatus::Parked,
        reason: Some("auth: 401 from HubSpot — fix the token, then `zveno connector resume hubspot`".into()),
        next_run_at: None,
        failures: 1,
        config_fingerprint: None,
    };
    store.set_connector_state("hubspot", &parked).await.unwrap();
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let hubspot =
        ready.json()["connectors"].as_array().unwrap().iter().find(|c| c["name"] == "hubspot").unwrap().clone();
    assert_eq!(hubspot["state"], "parked");
    assert!(hubspot["reason"].as_str().unwrap().contains("401 from HubSpot"));
    let metrics = get(&app, "/metrics").await.body;
    assert!(metrics.contains("zveno_connector_parked{connector=\"hubspot\"} 1"), "{metrics}");
    let page = get(&app, "/health").await.body;
    assert!(page.contains("Parked") && page.contains("401 from HubSpot"));

    store.close().await;
    let unready = get(&app, "/readyz").await;
    assert_eq!(unready.status, StatusCode::SERVICE_UNAVAILABLE, "{}", unready.body);
    assert_eq!(unready.json()["ready"], false);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK, "alive, though not ready");
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_carry_every_series() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    seed(&store, 40).await;
    let run = finished_run(&store, "hubspot", Kind::Client, Utc::now(), RunStatus::Ok, None).await;
    let metrics = Arc::new(Metrics::new());
    let summary = RunSummary {
        run_id: run,
        connector: "hubspot".into(),
        kind: Kind::Client,
        mode: SyncMode::Full,
        status: RunStatus::Ok,
        pages: 1,
        records: 40,
        record_errors: 0,
        tombstoned: 0,
        held: 0,
        census_requests: 0,
        requests: 3,
        throttled: 1,
        slowed: 0,
        elapsed_ms: 10,
        error: None,
        note: None,
    };
    metrics.run_finished(&summary, &HttpStats { requests: 3, throttled: 1, retried: 0, failed: 0, slowed: 0 });
    metrics.resolved(std::time::Duration::from_millis(12));
    let app = router(state(&store, Auth::default(), metrics));
    assert_eq!(get(&app, "/api/v1/clients?limit=1").await.status, StatusCode::OK);
    let a = get(&app, "/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    let lines = a.body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let names: BTreeSet<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for series in [
        "zveno_sync_runs_total",
        "zveno_records_pulled_total",
        "zveno_vendor_requests_total",
        "zveno_vendor_throttled_total",
        "zveno_last_success_timestamp_seconds",
        "zveno_sync_lag_seconds",
        "zveno_connector_parked",
        "zveno_resolve_duration_seconds_count",
        "zveno_clients",
        "zveno_tasks",
        "zveno_http_request_duration_seconds_count",
    ] {
        assert!(names.contains(series), "missing {series} in {names:?}");
    }
    let value = |metric: &str, label: (&str, &str)| {
        scrape.samples.iter().find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1)).map(|s| {
            match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            }
        })
    };
    let (clients, _) = store.entity_counts(Kind::Client).await.unwrap();
    let sample = scrape.samples.iter().find(|s| s.metric == "zveno_clients").unwrap();
    assert!(matches!(sample.value, prometheus_parse::Value::Gauge(v) if v == clients as f64));
    assert_eq!(value("zveno_vendor_throttled_total", ("connector", "hubspot")), Some(1.0));
    assert_eq!(value("zveno_records_pulled_total", ("connector", "hubspot")), Some(40.0));
    assert_eq!(value("zveno_connector_parked", ("connector", "jira")), Some(0.0));
    let route = scrape.samples.iter().any(|s| {
        s.metric == "zveno_http_request_duration_seconds_count" && s.labels.get("route") == Some("/api/v1/clients")
    });
    assert!(route, "the request above is timed under its route");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    let doc = get(&open_app(&store), "/api/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/clients",
        "/api/v1/clients/{id}",
        "/api/v1/tasks",
        "/api/v1/runs",
        "/api/v1/connectors",
        "/api/v1/admin/link",
        "/api/v1/admin/unlink",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/tasks"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["overdue", "assignee", "client", "status", "unattached", "unassigned", "limit", "cursor"]);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_clock_decides_lag() {
    // A kind whose last success was an hour ago lags by an hour in /api/v1/connectors.
    let dir = tempfile::tempdir().unwrap();
    let store = backends::open(&format!("sqlite://{}", dir.path().join("z.db").display())).await;
    let hour_ago = SystemClock::new().now() - chrono::Duration::hours(1);
    finished_run(&store, "hubspot", Kind::Client, hour_ago, RunStatus::Ok, None).await;
    let a = get(&open_app(&store), "/api/v1/connectors").await.json();
    let hubspot = a["items"].as_array().unwrap().iter().find(|c| c["name"] == "hubspot").unwrap().clone();
    let lag = hubspot["kinds"][0]["lag_seconds"].as_i64().unwrap();
    assert!((3595..3700).contains(&lag), "{lag}");
    assert_eq!(hubspot["state"], "pending", "contacts and tasks have not run yet");
}
