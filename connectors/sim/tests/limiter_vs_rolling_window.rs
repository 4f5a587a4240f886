//! The shared HTTP client's rate limiter against the kit's rolling-window emulator (the
//! shape of HubSpot's 100-per-10-seconds limit): in steady state it must produce zero
//! 429s while staying near the vendor's rate. Both sides run on one `ManualClock`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use zveno_connector::http::{Call, HttpClient, HttpOptions, HttpSemantics, NoAuth, RateLimit, VendorHttp};
use zveno_connector::{Clock, ManualClock, Redactor};
use zveno_sim::kit::{Kit, RollingWindow, SimServer, Throttled};

async fn limited(State(window): State<Arc<RollingWindow>>) -> Response {
    match window.try_acquire() {
        Ok(()) => (StatusCode::OK, "{}").into_response(),
        Err(wait) => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, [("retry-after", wait.as_secs().max(1).to_string())], "{}")
                .into_response();
            r.extensions_mut().insert(Throttled);
            r
        }
    }
}

async fn start(clock: Arc<ManualClock>, limit: usize, window: Duration) -> SimServer {
    let window = Arc::new(RollingWindow::new(limit, window, clock.clone()));
    let router = Router::new().route("/items", get(limited)).with_state(window);
    SimServer::start(router, Kit::new(clock, 1)).await.unwrap_or_else(|e| panic!("server: {e}"))
}

fn client(clock: Arc<ManualClock>, limit: RateLimit) -> HttpClient {
    let vendor = VendorHttp {
        rate_limits: BTreeMap::from([("default".to_string(), limit)]),
        classifier: Arc::new(HttpSemantics),
        auth: Arc::new(NoAuth),
        redactor: Redactor::default(),
    };
    HttpClient::new("steady", vendor, &BTreeMap::new(), HttpOptions::default(), clock)
        .unwrap_or_else(|e| panic!("client: {e}"))
}

#[tokio::test]
async fn sequential_requests_never_hit_the_rolling_window() {
    let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
    let server = start(clock.clone(), 100, Duration::from_secs(10)).await;
    let http = client(clock.clone(), RateLimit::new(100, 10));
    let url = url::Url::parse(&format!("{}/items", server.url())).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..1_000 {
        if let Err(e) = http.send(Call::get(url.clone())).await {
            panic!("request {i} failed: {e}");
        }
    }
    let log = server.kit().log().total();
    assert_eq!(log.requests, 1_000);
    assert_eq!(log.throttled, 0, "the limiter let the vendor throttle us");
    // Near the floor: 1,000 requests at 100 per 10 s cannot take less than ~90 s, and the
    // limiter's 10% safety margin should keep it under ~115 s.
    let elapsed = clock.elapsed();
    assert!(elapsed >= Duration::from_secs(89) && elapsed <= Duration::from_secs(115), "took {elapsed:?}");
}

#[tokio::test]
async fn concurrent_workers_share_one_budget() {
    let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
    let server = start(clock.clone(), 50, Duration::from_secs(1)).await;
    let http = client(clock.clone(), RateLimit::leaky_bucket(40, 5));
    let url = url::Url::parse(&format!("{}/items", server.url())).unwrap_or_else(|e| panic!("{e}"));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, url) = (http.clone(), url.clone());
        workers.spawn(async move {
            for _ in 0..100 {
                http.send(Call::get(url.clone())).await.map(|_| ()).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        if let Ok(Err(e)) | Err(e) = done.map_err(|e| e.to_string()) {
            panic!("worker failed: {e}");
        }
    }
    let log = server.kit().log().total();
    assert_eq!((log.requests, log.throttled), (400, 0));
}
