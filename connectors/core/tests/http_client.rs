//! The shared HTTP client's failure behaviour, against wiremock: throttling honours
//! `Retry-After`, 5xx and timeouts are retried then reported as transient, 401 is not
//! retried, secrets never reach error messages. Waits run on a `ManualClock`, so the
//! tests assert on virtual time instead of sleeping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};
use zveno_connector::http::{BearerToken, Call, HttpClient, HttpOptions, HttpSemantics, RateLimit, VendorHttp};
use zveno_connector::{ErrorKind, ManualClock, Redactor, Secret};

const TOKEN: &str = "pat-na1-very-secret-token";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH))
}

fn client(clock: Arc<ManualClock>, options: HttpOptions) -> HttpClient {
    let vendor = VendorHttp {
        rate_limits: BTreeMap::from([("default".to_string(), RateLimit::new(100, 10))]),
        classifier: Arc::new(HttpSemantics),
        auth: Arc::new(BearerToken(Secret::new(TOKEN))),
        redactor: Redactor::new([Secret::new(TOKEN)]),
    };
    HttpClient::new("test", vendor, &BTreeMap::new(), options, clock).unwrap_or_else(|e| panic!("client: {e}"))
}

fn url(server: &MockServer, p: &str) -> url::Url {
    url::Url::parse(&format!("{}{p}", server.uri())).unwrap_or_else(|e| panic!("url: {e}"))
}

/// Answers with the given responses in order, then repeats the last one.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut list = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
    let body: serde_json::Value = response.and_then(|r| r.json()).unwrap_or_else(|e| panic!("expected success: {e}"));
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
    let err = http.send(Call::get(url(&server, "/items"))).await.err().unwrap_or_else(|| panic!("expected an error"));
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
    let err = http.send(Call::get(url(&server, "/items"))).await.err().unwrap_or_else(|| panic!("expected an error"));
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
    let http = client(clock(), HttpOptions { timeout_secs: 1, max_attempts: 2, ..HttpOptions::default() });
    let err = http.send(Call::get(url(&server, "/slow"))).await.err().unwrap_or_else(|| panic!("expected an error"));
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
    let http = client(clock(), HttpOptions { timeout_secs: 1, ..HttpOptions::default() });
    let call = Call::post_json(url(&server, "/items"), &serde_json::json!({"name": "Acme"}));
    let err = http.send(call).await.err().unwrap_or_else(|| panic!("expected an error"));
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
    let err = http.send(Call::get(url(&server, "/items"))).await.err().unwrap_or_else(|| panic!("expected an error"));
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
    let err = http.send(Call::get(target)).await.err().unwrap_or_else(|| panic!("expected an error"));
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN), "secret leaked: {text}");
    assert!(text.contains("***"), "{text}");
}

#[tokio::test]
async fn malformed_json_is_invalid_data_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": ["))
        .mount(&server)
        .await;
    let http = client(clock(), HttpOptions::default());
    let response = http.send(Call::get(url(&server, "/items"))).await.unwrap_or_else(|e| panic!("send: {e}"));
    let err = response.json::<serde_json::Value>().err().unwrap_or_else(|| panic!("expected a parse error"));
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.message().contains("GET") && err.message().contains("/items"), "{err}");
}
