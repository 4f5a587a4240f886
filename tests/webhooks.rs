//! `POST /webhooks/{connector}` through the service's router, with the real vendor
//! connectors built from a config file against their simulators, on virtual time: each
//! vendor's deliveries verify with the right secret and are refused (401, nothing fetched,
//! counted) with a wrong one; a stale HubSpot timestamp and a replayed event id are
//! refused or dropped; a verified event re-reads its record, so the change shows in
//! `/api/v1/clients/{id}` without waiting for the schedule; deletes tombstone at once and
//! merges re-point the merged record at its survivor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use zveno::app::App;
use zveno::engine::Shutdown;
use zveno::metrics::Metrics;
use zveno::server::{router, Auth, ServerState, StateParts};
use zveno::settings;
use zveno::store::RecordKey;
use zveno::webhooks::Webhooks;
use zveno_connector::webhook::hmac_sha256;
use zveno_connector::{Client, Clock, Env, Kind, ManualClock, Phone, RecordData, WriteAction, WriteOp};
use zveno_hubspot::HubSpotSim;
use zveno_jira::JiraSim;
use zveno_pipedrive::PipedriveSim;
use zveno_sim::conformance::SimControls as _;
use zveno_sim::kit::LaunchedSim;
use zveno_sim::world::{World, WorldSpec};

const HUBSPOT_TOKEN: &str = "pat-na1-webhooks-test";
const PUBLIC_URL: &str = "https://zveno.example.com/hub";
const HUBSPOT_SECRET: &str = "hubspot-app-client-secret";
const JIRA_SECRET: &str = "jira-admin-webhook-secret";
const BITRIX_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";
const PIPEDRIVE_TOKEN: &str = "pipedrive-webhooks-test";
const PIPEDRIVE_BASIC: &str = "zveno:pipedrive-hook-password";

/// A `[connectors.<name>]` table: vendor, base URL, the simulator's own options and the
/// webhook secret's variable (none for `plain`).
fn connector(vendor: &str, base_url: &str, options: Value, secret_env: Option<&str>) -> toml::Value {
    let mut table: toml::Table = toml::Value::try_from(options).unwrap().try_into().unwrap();
    table.insert("vendor".into(), vendor.into());
    table.insert("base_url".into(), base_url.into());
    if let Some(env) = secret_env {
        table.insert("webhook_secret_env".into(), env.into());
    }
    toml::Value::Table(table)
}

/// The three simulators on one virtual clock, the daemon configured against them (synced
/// and resolved once), and its HTTP service.
struct Service {
    clock: Arc<ManualClock>,
    hubspot: HubSpotSim,
    _bitrix: LaunchedSim,
    _jira: JiraSim,
    _pipedrive: PipedriveSim,
    app: App,
    metrics: Arc<Metrics>,
    router: Router,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(seed: u64) -> Service {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let mut spec = WorldSpec::new(
            seed,
            40,
            &[
                zveno_hubspot::simulator::SYSTEM,
                zveno_bitrix24::simulator::SYSTEM,
                zveno_jira::simulator::SYSTEM,
                zveno_pipedrive::simulator::SYSTEM,
            ],
        );
        spec.now = clock.now() - chrono::Duration::days(1);
        let world = World::generate(&spec);
        let hubspot = HubSpotSim::start(
            &world.system(zveno_hubspot::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
            zveno_hubspot::SimOptions::new(HUBSPOT_TOKEN),
        )
        .await
        .unwrap();
        let bitrix =
            zveno_bitrix24::simulator::launch(world.system(zveno_bitrix24::simulator::SYSTEM), dyn_clock.clone(), seed)
                .await
                .unwrap();
        let jira = JiraSim::start(
            world.system(zveno_jira::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
            zveno_jira::SimOptions::default(),
        )
        .await
        .unwrap();
        let pipedrive = PipedriveSim::start(
            &world.system(zveno_pipedrive::simulator::SYSTEM),
            dyn_clock.clone(),
            seed,
            zveno_pipedrive::SimOptions::new(PIPEDRIVE_TOKEN),
        )
        .await
        .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut connectors = toml::Table::new();
        connectors
            .insert("hs".into(), connector("hubspot", &hubspot.url(), hubspot.connector_options(), Some("HS_HOOK")));
        connectors.insert(
            "b24".into(),
            connector("bitrix24", &bitrix.server.url(), bitrix.options.clone(), Some("B24_HOOK")),
        );
        connectors.insert("jira".into(), connector("jira", &jira.url(), jira.connector_options(), Some("JIRA_HOOK")));
        connectors.insert(
            "pd".into(),
            connector("pipedrive", &pipedrive.url(), pipedrive.connector_options(), Some("PD_HOOK")),
        );
        let tables = toml::Table::from_iter([("connectors".to_string(), toml::Value::Table(connectors))]);
        let config = format!(
            "[store]\nurl = \"sqlite://{}\"\n\n[server]\npublic_url = \"{PUBLIC_URL}\"\n\n{}",
            dir.path().join("zveno.db").display(),
            toml::to_string(&tables).unwrap()
        );
        let path = dir.path().join("zveno.toml");
        std::fs::write(&path, config).unwrap();
        let mut vars = bitrix.env.clone();
        vars.extend([
            (zveno_hubspot::simulator::TOKEN_ENV.to_string(), HUBSPOT_TOKEN.to_string()),
            (zveno_jira::simulator::TOKEN_ENV.to_string(), zveno_jira::SimOptions::default().token),
            ("HS_HOOK".to_string(), HUBSPOT_SECRET.to_string()),
            ("JIRA_HOOK".to_string(), JIRA_SECRET.to_string()),
            ("B24_HOOK".to_string(), BITRIX_TOKEN.to_string()),
            (zveno_pipedrive::simulator::TOKEN_ENV.to_string(), PIPEDRIVE_TOKEN.to_string()),
            ("PD_HOOK".to_string(), PIPEDRIVE_BASIC.to_string()),
        ]);
        let settings = settings::load(Some(&path), &Env::from_pairs(vars)).unwrap();
        let metrics = Arc::new(Metrics::new());
        let mut app = App::build(&settings, dyn_clock.clone()).await.unwrap();
        app.engine = app.engine.clone().with_metrics(metrics.clone());
        let shutdown = Shutdown::new();
        for job in &app.jobs {
            for result in app.engine.sync_job(job, true, &shutdown).await {
                result.unwrap();
            }
        }
        app.engine.resolve().await.unwrap();

        let connectors = app.jobs.iter().map(|j| j.connector.clone()).collect();
        let webhooks = Webhooks::start(connectors, app.engine.clone(), metrics.clone());
        let state = ServerState::new(StateParts {
            store: app.engine.store().clone(),
            resolver: app.engine.resolver().cloned(),
            connectors: Vec::new(),
            zone: chrono_tz::UTC,
            auth: Auth::default(),
            metrics: metrics.clone(),
            clock: dyn_clock,
            secure_cookies: true,
            public_url: settings.server.public_url.clone(),
            webhooks: Some(webhooks),
            flows: settings.flows.clone(),
        });
        Service {
            clock,
            hubspot,
            _bitrix: bitrix,
            _jira: jira,
            _pipedrive: pipedrive,
            app,
            metrics,
            router: router(state),
            _dir: dir,
        }
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// `GET /api/v1/clients/{entity}`, as text.
    async fn card(&self, entity: &str) -> String {
        let (status, body) =
            self.call(Request::get(format!("/api/v1/clients/{entity}")).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.to_string()
    }

    /// A HubSpot delivery of `events`, signed (v3) with `secret` at `sent`.
    fn hubspot(&self, events: &Value, secret: &str, sent: chrono::DateTime<chrono::Utc>) -> Request<Body> {
        let path = "/webhooks/hs";
        let body = events.to_string();
        let ts = sent.timestamp_millis().to_string();
        let url = format!("{PUBLIC_URL}{path}");
        let mac = hmac_sha256(secret.as_bytes(), &[b"POST", url.as_bytes(), body.as_bytes(), ts.as_bytes()]);
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-HubSpot-Signature-v3", base64::engine::general_purpose::STANDARD.encode(mac))
            .header("X-HubSpot-Request-Timestamp", ts)
            .body(Body::from(body))
            .unwrap()
    }

    async fn record(&self, connector: &str, kind: Kind, id: &str) -> zveno::store::StoredRecord {
        self.app.engine.store().record(connector, kind, id).await.unwrap().expect("stored")
    }

    /// The client entity record `id` of `connector` belongs to.
    async fn entity_of(&self, connector: &str, id: &str) -> Option<String> {
        let key = RecordKey { connector: connector.into(), kind: Kind::Client, external_id: id.into() };
        self.app.engine.store().links_of(&[key]).await.unwrap().first().map(|l| l.entity_id.clone())
    }

    /// `zveno_webhooks_total{connector,outcome}` as the service exports it.
    fn counted(&self, connector: &str, outcome: &str) -> f64 {
        let text = self.metrics.encode().unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "zveno_webhooks_total")
            .filter(|s| s.labels.get("connector") == Some(connector) && s.labels.get("outcome") == Some(outcome))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    /// Requests the HubSpot simulator has served so far.
    fn hubspot_requests(&self) -> u64 {
        self.hubspot.kit().log().total().requests
    }
}

/// Polls `check` (re-pulls run on the service's worker) until it holds, for at most 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 30 s");
}

/// A HubSpot event `kind` about `object`, as it occurs now on `clock`.
fn hubspot_event(clock: &ManualClock, id: u64, kind: &str, object: &str) -> Value {
    json!({"eventId": id, "subscriptionId": 12345, "portalId": 62515, "occurredAt": clock.now().timestamp_millis(),
           "subscriptionType": kind, "attemptNumber": 0, "objectId": object.parse::<u64>().unwrap(),
           "changeSource": "CRM", "appId": 54321})
}

/// Two stored records of `connector`'s clients.
async fn two_clients(s: &Service, connector: &str) -> (String, String) {
    let stored = s.app.engine.store().list_records(connector, Kind::Client, None, 2).await.unwrap();
    (stored[0].record.external_id.clone(), stored[1].record.external_id.clone())
}

/// Two live HubSpot companies of the world.
async fn two_companies(s: &Service) -> (String, String) {
    let ids: Vec<String> = s
        .app
        .engine
        .store()
        .list_records("hs", Kind::Client, None, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| s.hubspot.record(Kind::Client, &r.record.external_id).is_some_and(|c| c["archived"] == false))
        .map(|r| r.record.external_id)
        .collect();
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_deliveries_need_a_fresh_v3_signature_over_the_public_url() {
    let s = Service::start(31).await;
    let (company, _) = two_companies(&s).await;
    let now = s.clock.now();
    let before = s.hubspot_requests();

    let events = json!([hubspot_event(&s.clock, 1, "company.propertyChange", &company)]);
    let (status, body) = s.call(s.hubspot(&events, "not-the-app-secret", now)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let stale = now - chrono::Duration::minutes(6);
    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, stale)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("stale"), "{body}");
    assert_eq!(s.counted("hs", "unauthorized"), 2.0);
    assert_eq!(s.hubspot_requests(), before, "a refused delivery fetches nothing");

    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, now - chrono::Duration::minutes(4))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["hints"].as_u64(), body["queued"].as_u64()), (Some(1), Some(1)), "{body}");
    assert_eq!(s.counted("hs", "accepted"), 1.0);
    eventually("the re-pull", || async { s.hubspot_requests() > before }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_id_is_dropped() {
    let s = Service::start(32).await;
    let (company, _) = two_companies(&s).await;
    let events = json!([hubspot_event(&s.clock, 77, "company.propertyChange", &company)]);
    let (status, first) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!((status, first["replayed"].as_u64()), (StatusCode::OK, Some(0)), "{first}");
    // HubSpot retries with a new timestamp and signature, and the same eventId.
    s.clock.advance(Duration::from_secs(60));
    let (status, again) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!(status, StatusCode::OK, "a replay is answered 200 so the vendor stops retrying");
    assert_eq!((again["replayed"].as_u64(), again["queued"].as_u64()), (Some(1), Some(0)), "{again}");
    assert_eq!((s.counted("hs", "accepted"), s.counted("hs", "replayed")), (1.0, 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_event_re_pulls_its_record_into_the_client_card() {
    let s = Service::start(33).await;
    let (company, _) = two_companies(&s).await;
    let entity = s.entity_of("hs", &company).await.expect("resolved");
    let phone = Phone::parse("+7 495 111-22-33", None).unwrap();
    assert!(!s.card(&entity).await.contains(phone.as_str()));

    // Someone adds the phone in HubSpot; HubSpot tells zveno.
    let hs = &s.app.jobs.iter().find(|j| j.connector.name() == "hs").unwrap().connector;
    let data = RecordData::Client(Client { phones: vec![phone.clone()], ..Client::default() });
    let op = WriteOp { op_id: "1".into(), action: WriteAction::Update { external_id: company.clone(), data } };
    hs.push(Kind::Client, &[op]).await.unwrap();
    s.clock.advance(Duration::from_secs(1));
    let events = json!([hubspot_event(&s.clock, 5, "company.propertyChange", &company)]);
    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    eventually("the new phone in the card", || async { s.card(&entity).await.contains(phone.as_str()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_tombstones_at_once_and_a_merge_re_points_without_a_tombstone() {
    let s = Service::start(34).await;
    let archived = s.hubspot.archive(Kind::Client, 1).pop().unwrap();
    let (merged, survivor) = two_companies(&s).await;
    assert!(archived != merged && archived != survivor);
    assert!(!s.record("hs", Kind::Client, &archived).await.record.deleted);

    let mut merge = hubspot_event(&s.clock, 11, "company.merge", &survivor);
    merge["primaryObjectId"] = json!(survivor.parse::<u64>().unwrap());
    merge["mergedObjectIds"] = json!([merged.parse::<u64>().unwrap()]);
    let events = json!([hubspot_event(&s.clock, 10, "company.deletion", &archived), merge]);
    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["deleted"].as_u64(), body["merged"].as_u64()), (Some(1), Some(1)), "{body}");
    assert!(s.record("hs", Kind::Client, &archived).await.record.deleted, "tombstoned before the answer");
    assert!(!s.record("hs", Kind::Client, &merged).await.record.deleted, "a merged client is never tombstoned");

    eventually("the merged record with its survivor", || async {
        let (a, b) = (s.entity_of("hs", &merged).await, s.entity_of("hs", &survivor).await);
        a.is_some() && a == b
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_and_bitrix24_deliveries_need_their_secrets() {
    let s = Service::start(35).await;
    let jira = |secret: &str| {
        let body = json!({"timestamp": 1_727_866_060_000_i64, "webhookEvent": "jira:issue_updated",
                          "issue": {"id": "10002", "key": "OPS-3"}})
        .to_string();
        let signature = format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()])));
        Request::post("/webhooks/jira")
            .header("X-Hub-Signature", signature)
            .header("X-Atlassian-Webhook-Identifier", "delivery-1")
            .body(Body::from(body))
            .unwrap()
    };
    assert_eq!(s.call(jira("wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = s.call(jira(JIRA_SECRET)).await;
    assert_eq!((status, body["queued"].as_u64()), (StatusCode::OK, Some(1)), "{body}");

    let bitrix = |token: &str| {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("event", "ONCRMCOMPANYUPDATE"),
                ("data[FIELDS][ID]", "1"),
                ("ts", "1743165490"),
                ("auth[domain]", "portal.bitrix24.ru"),
                ("auth[application_token]", token),
            ])
            .finish();
        Request::post("/webhooks/b24")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    assert_eq!(s.call(bitrix("0000")).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = s.call(bitrix(BITRIX_TOKEN)).await;
    assert_eq!((status, body["queued"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!((s.counted("jira", "unauthorized"), s.counted("b24", "unauthorized")), (1.0, 1.0));
    assert_eq!((s.counted("jira", "accepted"), s.counted("b24", "accepted")), (1.0, 1.0));

    let unknown = Request::post("/webhooks/nobody").body(Body::from("{}")).unwrap();
    assert_eq!(s.call(unknown).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipedrive_deliveries_need_the_basic_credentials_and_merges_re_point() {
    let s = Service::start(36).await;
    let (merged, survivor) = two_clients(&s, "pd").await;
    let delivery = |credentials: &str, meta: Value| {
        let body = json!({"meta": meta, "data": null, "previous": {"id": merged.parse::<u64>().unwrap()}});
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        Request::post("/webhooks/pd")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let merge = json!({"action": "delete", "entity": "organization", "entity_id": merged, "id": "pd-ev-1",
                       "merged_to_id": survivor, "timestamp": s.clock.now(), "version": "2.0"});
    let (status, _) = s.call(delivery("zveno:guess", merge.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_ne!(s.entity_of("pd", &merged).await, s.entity_of("pd", &survivor).await, "nothing changed");

    let (status, body) = s.call(delivery(PIPEDRIVE_BASIC, merge.clone())).await;
    assert_eq!(
        (status, body["merged"].as_u64(), body["deleted"].as_u64()),
        (StatusCode::OK, Some(1), Some(0)),
        "{body}"
    );
    assert!(!s.record("pd", Kind::Client, &merged).await.record.deleted, "a merged organization is not tombstoned");
    eventually("the merged organization with its survivor", || async {
        let (a, b) = (s.entity_of("pd", &merged).await, s.entity_of("pd", &survivor).await);
        a.is_some() && a == b
    })
    .await;
    let (_, again) = s.call(delivery(PIPEDRIVE_BASIC, merge)).await;
    assert_eq!(again["replayed"].as_u64(), Some(1), "meta.id is the replay key: {again}");
    assert_eq!(
        (s.counted("pd", "unauthorized"), s.counted("pd", "accepted"), s.counted("pd", "replayed")),
        (1.0, 1.0, 1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hubspot_privacy_deletion_erases_the_persons_data_at_once() {
    let s = Service::start(35).await;
    // A HubSpot contact with an e-mail, shown on its client's card.
    let store = s.app.engine.store();
    let mut found = None;
    for stored in store.list_records("hs", Kind::Contact, None, 500).await.unwrap() {
        let Some(RecordData::Contact(contact)) = &stored.record.data else { continue };
        let Some(email) = contact.emails.first() else { continue };
        let key =
            RecordKey { connector: "hs".into(), kind: Kind::Contact, external_id: stored.record.external_id.clone() };
        let link = store.links_of(&[key]).await.unwrap();
        if let Some(client) = link.first().and_then(|l| l.client_id.clone()) {
            found = Some((stored.record.external_id.clone(), email.as_str().to_string(), client));
            break;
        }
    }
    let (contact, email, client) = found.expect("a HubSpot contact with an e-mail and a client");
    assert!(s.card(&client).await.contains(&email), "the card shows the e-mail before");

    let events = json!([hubspot_event(&s.clock, 90, "contact.privacyDeletion", &contact)]);
    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["deleted"].as_u64(), body["erased"].as_u64()), (Some(1), Some(1)), "{body}");

    // Erased before the answer: no data, no raw payload, nothing to wait 30 days for.
    let erased = s.record("hs", Kind::Contact, &contact).await;
    assert!(erased.record.deleted);
    assert_eq!(erased.record.data, None);
    assert_eq!(erased.record.raw, json!({}));
    assert!(!serde_json::to_string(&erased.record).unwrap().contains(&email));
    eventually("the e-mail gone from the client card", || async { !s.card(&client).await.contains(&email) }).await;

    // A plain deletion still keeps the tombstone's data until the retention period ends.
    let other = store
        .list_records("hs", Kind::Contact, None, 500)
        .await
        .unwrap()
        .into_iter()
        .find(|r| !r.record.deleted && r.record.external_id != contact)
        .unwrap()
        .record
        .external_id;
    let events = json!([hubspot_event(&s.clock, 91, "contact.deletion", &other)]);
    let (status, body) = s.call(s.hubspot(&events, HUBSPOT_SECRET, s.clock.now())).await;
    assert_eq!((status, body["erased"].as_u64()), (StatusCode::OK, Some(0)), "{body}");
    let deleted = s.record("hs", Kind::Contact, &other).await;
    assert!(deleted.record.deleted && deleted.record.data.is_some());
}
