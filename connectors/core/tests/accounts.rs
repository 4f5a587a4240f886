//! Connectors on one vendor account spend one rate budget: two HTTP clients built for the
//! same account from one `Accounts` registry stay together within the account's limit,
//! where two clients of two accounts each get the whole limit. Virtual time.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use zveno_connector::http::{Call, HttpClient, HttpSemantics, NoAuth, RateLimit, VendorHttp};
use zveno_connector::{account_key, Accounts, BuildContext, Clock, ManualClock, Redactor, Secret};

/// The vendor's limit: 10 requests a second.
fn vendor() -> VendorHttp {
    VendorHttp {
        rate_limits: BTreeMap::from([("default".to_string(), RateLimit::new(10, 1))]),
        classifier: Arc::new(HttpSemantics),
        auth: Arc::new(NoAuth),
        redactor: Redactor::new(Vec::<Secret>::new()),
    }
}

fn client(name: &str, clock: &Arc<ManualClock>, accounts: &Accounts, token: &str) -> HttpClient {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut ctx = BuildContext::new(name, dyn_clock);
    ctx.accounts = accounts.clone();
    let account = account_key("vendor", "api.vendor.example:443", Some(&Secret::new(token)));
    HttpClient::for_account(&ctx, vendor(), &account).unwrap()
}

fn busiest_second(times: &[Duration]) -> usize {
    times
        .iter()
        .map(|t| times.iter().filter(|u| **u >= *t && **u < *t + Duration::from_secs(1)).count())
        .max()
        .unwrap_or(0)
}

/// Sends 30 requests through each of `a` and `b`, interleaved; the virtual instants they went.
async fn spend(server: &MockServer, clock: &ManualClock, a: &HttpClient, b: &HttpClient) -> Vec<Duration> {
    let url = url::Url::parse(&format!("{}/items", server.uri())).unwrap();
    let mut times = Vec::new();
    for _ in 0..30 {
        for http in [a, b] {
            http.send(Call::get(url.clone())).await.unwrap();
            times.push(clock.elapsed());
        }
    }
    times
}

#[tokio::test]
async fn two_connectors_on_one_account_together_stay_within_its_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_string("{}")).mount(&server).await;

    let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
    let accounts = Accounts::default();
    let (crm, tasks) = (client("crm", &clock, &accounts, "tok"), client("crm-tasks", &clock, &accounts, "tok"));
    let shared = spend(&server, &clock, &crm, &tasks).await;
    assert!(busiest_second(&shared) <= 10, "one account, one budget: {} in a second", busiest_second(&shared));
    assert_eq!(accounts.len(), 1);

    // Another account (another token on the same host) has a budget of its own: the two
    // together go twice as fast, which one account's limit would have refused.
    let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH));
    let accounts = Accounts::default();
    let (one, other) = (client("a", &clock, &accounts, "tok-1"), client("b", &clock, &accounts, "tok-2"));
    let apart = spend(&server, &clock, &one, &other).await;
    assert!(busiest_second(&apart) > 10, "two accounts: {} in a second", busiest_second(&apart));
    assert_eq!(accounts.len(), 2);
}
