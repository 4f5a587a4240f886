//! The shared HTTP client's failure behaviour, against wiremock: throttling honours
//! `Retry-After` (and absurd waits become a clear `RateLimited`), back-off grows with the
//! attempt, 5xx, timeouts and malformed bodies are retried then reported as transient, a
//! request that may have been processed is never resent unless idempotent, oversized bodies
//! are refused, 401 is not retried, secrets never reach error messages. Waits run on a
//! `ManualClock`, so the tests assert on virtual time instead of sleeping.

// `.clippy.toml` allows unwrap in `#[test]` functions; the helpers below need it too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};
use zveno_connector::http::{
    BearerToken, Call, HttpClient, HttpOptions, HttpSemantics, RateLimit, ResponseClassifier, RetryPolicy, VendorHttp,
    Verdict, MAX_DEFER,
};
use zveno_connector::{Clock, ErrorKind, ManualClock, Redactor, Secret};

const TOKEN: &str = "pat-na1-very-secret-token";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH))
}

fn client(clock: Arc<ManualClock>, options: HttpOptions) -> HttpClient {
    client_with(clock, options, Arc::new(HttpSemantics))
}

fn client_with(clock: Arc<ManualClock>, options: HttpOptions, classifier: Arc<dyn ResponseClassifier>) -> HttpClient {
    let vendor = VendorHttp {
        rate_limits: BTreeMap::from([("default".to_string(), RateLimit::new(100, 10))]),
        classifier,
        auth: Arc::new(BearerToken(Secret::new(TOKEN))),
        redactor: Redactor::new([Secret::new(TOKEN)]),
    };
    HttpClient::new("test", vendor, &BTreeMap::new(), options, clock).unwrap()
}

fn url(server: &MockServer, p: &str) -> url::Url {
    url::Url::parse(&format!("{}{p}", server.uri())).unwrap()
}

/// Answers with the given responses in order, then repeats the last one.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut list = self.0.lock().unwrap();
        if list.len() > 1 {
            list.remove(0)
        } else {
            list[0].clone()
        }
    }
}

fn sequence(responses: Vec<ResponseTemplate>) -> Sequence {
    Sequence(std::sync::Mutex::new(responses))
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_request_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(sequence(vec![
            ResponseTemplate::new(429).insert_header("retry-after", "7").set_body_string("{\"message\":\"slow down\"}"),
            ResponseTemplate::new(200).set_body_string("{\"ok\":true}"),
        ]))
        .mount(&server)
        .await;
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    let response = http.send(Call::get(url(&server, "/items"))).await;
    let body: serde_json::Value = response.and_then(|r| r.json()).unwrap();
    assert_eq!(body["ok"], true);
    assert!(clock.slept() >= Duration::from_secs(7), "waited only {:?}", clock.slept());
    let stats = http.stats();
    assert_eq!((stats.requests, stats.throttled, stats.failed), (2, 1, 0));
}

#[tokio::test]
async fn a_wait_longer_than_max_wait_is_returned_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "86400"))
        .mount(&server)
        .await;
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(Duration::from_secs(86400)) });
    assert!(clock.slept() < Duration::from_secs(60), "must not sleep through a daily quota");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&server)
        .await;
    let clock = clock();
    let http = client(clock.clone(), HttpOptions { max_attempts: 4, ..HttpOptions::default() });
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("4 attempts"), "{err}");
    let stats = http.stats();
    assert_eq!((stats.requests, stats.retried, stats.failed), (4, 3, 1));
    assert!(clock.slept() > Duration::ZERO, "retries back off");
}

#[tokio::test]
async fn a_server_error_followed_by_success_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(sequence(vec![ResponseTemplate::new(500), ResponseTemplate::new(200).set_body_string("[]")]))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    assert!(http.send(Call::get(url(&server, "/items"))).await.is_ok());
    assert_eq!(http.stats().retried, 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions { timeout_secs: Some(1), max_attempts: 2, ..HttpOptions::default() });
    let err = http.send(Call::get(url(&server, "/slow"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(http.stats().requests, 2);
}

#[tokio::test]
async fn a_timed_out_create_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions { timeout_secs: Some(1), ..HttpOptions::default() });
    let call = Call::post_json(url(&server, "/items"), &serde_json::json!({"name": "Acme"}));
    let err = http.send(call).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(http.stats().requests, 1, "a create must not be sent twice");
}

#[tokio::test]
async fn unauthorized_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("{\"message\":\"bad token\"}"))
        .mount(&server)
        .await;
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(http.stats().requests, 1);
    assert_eq!(clock.slept(), Duration::ZERO);
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let server = MockServer::start().await;
    // A vendor that echoes the credential back in an error body (some do).
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!("invalid token {TOKEN}")))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    let target = url(&server, &format!("/rest/1/{TOKEN}/crm.company.list"));
    let err = http.send(Call::get(target)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN), "secret leaked: {text}");
    assert!(text.contains("***"), "{text}");
}

/// Records the virtual time at which each request arrives, answering `status` every time.
struct Stamps {
    clock: Arc<ManualClock>,
    at: Arc<std::sync::Mutex<Vec<Duration>>>,
    status: u16,
}

impl Respond for Stamps {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(self.clock.elapsed());
        ResponseTemplate::new(self.status).set_body_string("{\"message\":\"unavailable\"}")
    }
}

#[tokio::test]
async fn backoff_grows_with_the_attempt_under_full_jitter() {
    const SEQUENCES: usize = 20;
    let server = MockServer::start().await;
    let clock = clock();
    let at = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(Stamps { clock: clock.clone(), at: at.clone(), status: 503 })
        .mount(&server)
        .await;
    let options = HttpOptions { max_attempts: 7, ..HttpOptions::default() };
    let policy = options.retry_policy();
    // gaps[k] holds the wait before attempt k + 2, over every sequence.
    let mut gaps: Vec<Vec<Duration>> = vec![Vec::new(); 6];
    for _ in 0..SEQUENCES {
        at.lock().unwrap().clear();
        // A fresh client per sequence, so no rate-limit wait mixes into the gaps.
        let http = client(clock.clone(), options);
        let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        let times = at.lock().unwrap().clone();
        assert_eq!(times.len(), 7, "one request per attempt");
        for (k, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            assert!(gap <= policy.ceiling(k as u32 + 1), "attempt {}: waited {gap:?}", k + 2);
            gaps[k].push(gap);
        }
    }
    let mean = |k: usize| gaps[k].iter().sum::<Duration>() / SEQUENCES as u32;
    // Ceilings 0.5 s, 1 s, 2 s, 4 s, 8 s, 16 s: the late waits are an order of magnitude longer
    // than the early ones (a constant back-off keeps them equal).
    let early = (mean(0) + mean(1)) / 2;
    let late = (mean(4) + mean(5)) / 2;
    assert!(late > early * 4, "early waits average {early:?}, late ones {late:?}");
    assert!(late > Duration::from_secs(2), "late waits average {late:?}");
}

#[test]
fn the_backoff_ceiling_is_capped() {
    let policy = RetryPolicy { base: Duration::from_millis(500), cap: Duration::from_secs(30) };
    assert_eq!(policy.ceiling(30), Duration::from_secs(30));
    assert!((0..100).all(|_| policy.backoff(30) <= Duration::from_secs(30)));
}

#[tokio::test]
async fn retry_after_1e20_is_a_clear_rate_limited_error_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1e20"))
        .mount(&server)
        .await;
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(MAX_DEFER) }, "{err}");
    assert!(err.message().contains("max_wait_secs = 300"), "{err}");
    assert!(err.message().contains("more than a lifetime"), "{err}");
    assert_eq!(clock.slept(), Duration::ZERO);
    assert_eq!(http.stats().requests, 1);
}

#[tokio::test]
async fn a_reset_in_year_9999_is_clamped_to_a_day() {
    let server = MockServer::start().await;
    for (route, reset) in [("/iso", "9999-12-31T23:59Z"), ("/epoch", "253402300799")] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(429).insert_header("x-ratelimit-reset", reset))
            .mount(&server)
            .await;
    }
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    for route in ["/iso", "/epoch"] {
        let err = http.send(Call::get(url(&server, route))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(MAX_DEFER) }, "{route}: {err}");
    }
    assert_eq!(clock.slept(), Duration::ZERO);
}

#[tokio::test]
async fn an_oversized_body_is_a_clear_error() {
    let server = MockServer::start().await;
    let big = format!("{{\"results\": [\"{}\"]}}", "x".repeat(10_000));
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_string(big)).mount(&server).await;
    let http = client(clock(), HttpOptions { max_body_bytes: 4096, ..HttpOptions::default() });
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.message().contains("connectors.test.http.max_body_bytes = 4096"), "{err}");
    assert_eq!(http.stats().requests, 1, "a size error is not retried");
}

#[tokio::test]
async fn an_oversized_body_without_a_length_is_cut_off_at_the_cap() {
    // A chunked answer announces no size: the client reads up to the cap and stops.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("400\r\n{}\r\n", "[".repeat(1024));
        for _ in 0..64 {
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                return; // the client hung up at the cap
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    let http = client(clock(), HttpOptions { max_body_bytes: 8192, ..HttpOptions::default() });
    let target = url::Url::parse(&format!("http://{addr}/stream")).unwrap();
    let err = http.send(Call::get(target)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.message().contains("max_body_bytes = 8192"), "{err}");
}

#[tokio::test]
async fn a_malformed_body_on_a_read_is_retried_and_the_call_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(sequence(vec![
            ResponseTemplate::new(200).set_body_raw("{\"results\": [", "application/json"),
            ResponseTemplate::new(200).set_body_raw("<html>proxy</html>", "text/html"),
            ResponseTemplate::new(200).set_body_raw("{\"ok\":tru", "application/json"),
            ResponseTemplate::new(200).set_body_raw("{\"ok\":true}", "application/json"),
        ]))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    // `send` checks JSON bodies (the HTML page is not JSON by its type, so it passes through).
    let response = http.send(Call::get(url(&server, "/items"))).await.unwrap();
    assert!(response.body.starts_with(b"<html>"));
    assert_eq!(http.stats().retried, 1, "the cut-short body was retried");
    // `send_json` parses once and retries what is not the vendor's whole answer.
    let body: serde_json::Value = http.send_json(Call::get(url(&server, "/items"))).await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(http.stats().retried, 2);
    assert_eq!(http.stats().failed, 0);
}

#[tokio::test]
async fn a_body_that_is_always_cut_short_fails_as_transient_within_the_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"results\": [", "application/json"))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions { max_attempts: 3, ..HttpOptions::default() });
    let err = http.send(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("cut short") && err.message().contains("3 attempts"), "{err}");
    assert_eq!(http.stats().requests, 3);
}

#[tokio::test]
async fn well_formed_json_of_the_wrong_shape_is_invalid_data_naming_the_endpoint() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        results: Vec<u64>,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": \"none\"}"))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    let err = http.send_json::<Page>(Call::get(url(&server, "/items"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.message().contains("GET") && err.message().contains("/items"), "{err}");
    assert_eq!(http.stats().requests, 1, "the vendor's whole answer is not retried");
}

#[tokio::test]
async fn a_create_whose_answer_is_cut_short_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_raw("{\"id\": 4", "application/json"))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    let call = Call::post_json(url(&server, "/items"), &serde_json::json!({"name": "Acme"}));
    let err = http.send(call).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("not idempotent"), "{err}");
    assert_eq!(http.stats().requests, 1);
}

/// Reads a gateway's HTML error page as "overloaded, may have been processed".
#[derive(Debug)]
struct GatewayPages;

impl ResponseClassifier for GatewayPages {
    fn classify(
        &self,
        status: http::StatusCode,
        _: &http::HeaderMap,
        body: &[u8],
        _: chrono::DateTime<chrono::Utc>,
    ) -> Option<Verdict> {
        (status.is_server_error() && body.starts_with(b"<html>"))
            .then(|| Verdict::Overloaded { retry_after: None, reason: "gateway page".into() })
    }
}

#[tokio::test]
async fn an_overloaded_answer_is_waited_out_for_reads_and_never_resent_for_creates() {
    let server = MockServer::start().await;
    let page = || ResponseTemplate::new(502).set_body_raw("<html>502</html>", "text/html");
    Mock::given(method("GET"))
        .respond_with(sequence(vec![page(), page(), ResponseTemplate::new(200).set_body_string("[]")]))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(page()).mount(&server).await;
    let clock = clock();
    let http = client_with(clock.clone(), HttpOptions::default(), Arc::new(GatewayPages));
    assert!(http.send(Call::get(url(&server, "/items"))).await.is_ok());
    assert_eq!((http.stats().requests, http.stats().throttled), (3, 2));
    let before = http.stats().requests;
    let err = http.send(Call::post_json(url(&server, "/items"), &serde_json::json!({}))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("may have reached the vendor"), "{err}");
    assert_eq!(http.stats().requests - before, 1, "a create is sent once");
}

/// The vendor's clock is the one the `Date` of its last answer shows: before any answer the
/// daemon's own, then the daemon's moved by the offset measured (ahead or behind), so
/// incremental windows and watermarks never follow a daemon clock that is set wrong.
#[tokio::test]
async fn vendor_time_follows_the_date_header_of_the_last_answer() {
    let server = MockServer::start().await;
    for (p, date) in [("/ahead", "Thu, 01 Jan 1970 00:10:00 GMT"), ("/behind", "Wed, 31 Dec 1969 23:50:00 GMT")] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).insert_header("date", date).set_body_string("{}"))
            .mount(&server)
            .await;
    }
    let clock = clock();
    let http = client(clock.clone(), HttpOptions::default());
    assert_eq!(http.vendor_now(), clock.now(), "no answer yet: the daemon's clock");
    let minutes = chrono::TimeDelta::minutes;
    http.send(Call::get(url(&server, "/ahead"))).await.unwrap();
    assert_eq!(http.vendor_now(), clock.now() + minutes(10));
    assert_eq!(http.to_vendor_time(clock.now() - minutes(30)), clock.now() - minutes(20));
    http.send(Call::get(url(&server, "/behind"))).await.unwrap();
    assert_eq!(http.vendor_now(), clock.now() - minutes(10), "the last answer counts");
}
