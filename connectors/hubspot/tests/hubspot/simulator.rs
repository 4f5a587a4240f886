//! The simulator as a plain HTTP client sees it: HubSpot's paths, bodies, headers, paging,
//! the search cap, rate limits and auth, independent of zveno's connector.

use std::time::Duration;

use crate::common::{clock, data, sim};
use serde_json::{json, Value};
use zveno_connector::Kind;
use zveno_hubspot::simulator::{HubSpotSim, RESULT_CAP};
use zveno_sim::conformance::SimControls as _;

struct Http {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Http {
    fn new(sim: &HubSpotSim) -> Self {
        Self { client: reqwest::Client::new(), base: sim.url(), token: sim.token() }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("request to the simulator failed: {e}"),
        };
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_wrong_token_gets_hubspots_401() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let mut http = Http::new(&sim);
    http.token = "pat-na1-wrong".into();
    let (status, _, body) = http.get("/crm/v3/objects/companies").await;
    assert_eq!(status, 401);
    assert_eq!(body["category"], "INVALID_AUTHENTICATION");
    assert!(body["correlationId"].is_string());
}

#[tokio::test]
async fn lists_page_with_opaque_cursors_the_way_sdks_follow_them() {
    let clock = clock();
    let sim = sim(&data(25), &clock, |_| {}).await;
    let http = Http::new(&sim);
    let mut path = "/crm/v3/objects/companies?properties=name,inn&properties=industry&archived=false".to_string();
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let (status, headers, body) = http.get(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&headers, "x-hubspot-ratelimit-max"), Some("100"));
        pages += 1;
        for record in body["results"].as_array().cloned().unwrap_or_default() {
            assert!(record["properties"]["industry"].is_null(), "an unset property asked for by name is null");
            assert!(record["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
            assert_eq!(record["archived"], false);
            ids.push(record["id"].as_str().unwrap_or_default().to_string());
        }
        match body["paging"]["next"]["after"].as_str() {
            Some(after) => path = format!("/crm/v3/objects/companies?properties=name&after={after}"),
            None => break,
        }
    }
    assert_eq!(pages, 3, "HubSpot's default page is 10");
    assert_eq!(ids.len(), 25);
    let (status, _, body) = http.get("/crm/v3/objects/companies?after=not-a-cursor").await;
    assert_eq!((status, body["category"].as_str()), (400, Some("VALIDATION_ERROR")));
    let (status, _, body) = http.get("/crm/v3/objects/contacts/1?associations=companies").await;
    assert_eq!(status, 200);
    assert_eq!(body["associations"]["companies"]["results"][0]["id"], "1");
    let (status, _, body) = http.get("/crm/v3/objects/contacts/999").await;
    assert_eq!((status, body["category"].as_str()), (404, Some("OBJECT_NOT_FOUND")));
}

#[tokio::test]
async fn paging_a_search_past_ten_thousand_results_is_a_400() {
    let clock = clock();
    let sim = sim(&data(10_050), &clock, |_| {}).await;
    let http = Http::new(&sim);
    let query = |after: &str| {
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}],
               "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
               "properties": ["name"], "limit": 200, "after": after})
    };
    let mut after = "0".to_string();
    let mut seen = 0;
    let last = loop {
        let (status, headers, body) = http.post("/crm/v3/objects/companies/search", query(&after)).await;
        if status != 200 {
            break (status, body);
        }
        assert_eq!(body["total"], 10_050);
        assert_eq!(header(&headers, "x-hubspot-ratelimit-max"), None, "search answers carry no rate-limit headers");
        seen += body["results"].as_array().map_or(0, Vec::len);
        after = body["paging"]["next"]["after"].as_str().unwrap_or_default().to_string();
        clock.advance(Duration::from_secs(1)); // stay under 5 searches a second
    };
    assert_eq!(seen, RESULT_CAP, "a naive pager gets 10,000 records...");
    assert_eq!(last.0, 400, "...and then an error, not a short page");
    assert_eq!(last.1["category"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn search_filters_sort_and_hide_what_the_index_has_not_caught_up_with() {
    let clock = clock();
    let sim = sim(&data(20), &clock, |o| o.index_lag = Duration::from_secs(5)).await;
    let http = Http::new(&sim);
    let touched = sim.touch(zveno_connector::Kind::Contact, 2);
    let body = json!({"filterGroups": [{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": clock_ms(&clock, -60).to_string()}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 200});
    let (_, _, fresh) = http.post("/crm/v3/objects/contacts/search", body.clone()).await;
    assert_eq!(fresh["total"], 0, "changed a moment ago: not indexed yet");
    clock.advance(Duration::from_secs(6));
    let (_, _, later) = http.post("/crm/v3/objects/contacts/search", body).await;
    let ids: Vec<&str> =
        later["results"].as_array().map(|r| r.iter().filter_map(|o| o["id"].as_str()).collect()).unwrap_or_default();
    assert_eq!(ids.len(), 2);
    assert!(touched.iter().all(|t| ids.contains(&t.as_str())));
    assert!(later["results"][0].get("associations").is_none(), "search returns no associations");
}

fn clock_ms(clock: &std::sync::Arc<zveno_connector::ManualClock>, offset_secs: i64) -> i64 {
    use zveno_connector::Clock;
    clock.now().timestamp_millis() + offset_secs * 1000
}

#[tokio::test]
async fn more_than_a_hundred_requests_in_ten_seconds_get_the_ten_secondly_429() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    let http = Http::new(&sim);
    for _ in 0..100 {
        let (status, _, _) = http.get("/crm/v3/objects/companies?limit=1").await;
        assert_eq!(status, 200);
    }
    let (status, headers, body) = http.get("/crm/v3/objects/companies?limit=1").await;
    assert_eq!(status, 429);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["message"], "You have reached your ten_secondly_rolling limit.");
    assert_eq!(header(&headers, "x-hubspot-ratelimit-remaining"), Some("0"));
    assert_eq!(header(&headers, "x-hubspot-ratelimit-interval-milliseconds"), Some("10000"));
    assert_eq!(header(&headers, "x-hubspot-ratelimit-daily"), Some("250000"));
    assert_eq!(header(&headers, "x-hubspot-ratelimit-daily-remaining"), Some("249900"));
    clock.advance(Duration::from_secs(10));
    assert_eq!(http.get("/crm/v3/objects/companies?limit=1").await.0, 200, "the window rolled over");
    assert_eq!(sim.kit().log().endpoint("list companies").throttled, 1);
}

#[tokio::test]
async fn a_sixth_search_in_one_second_gets_the_secondly_429() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    let http = Http::new(&sim);
    for _ in 0..5 {
        assert_eq!(http.post("/crm/v3/objects/tasks/search", json!({})).await.0, 200);
    }
    let (status, headers, body) = http.post("/crm/v3/objects/tasks/search", json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(body["message"], "You have reached your secondly limit.");
    assert_eq!(header(&headers, "x-hubspot-ratelimit-remaining"), None);
    clock.advance(Duration::from_secs(1));
    assert_eq!(http.post("/crm/v3/objects/tasks/search", json!({})).await.0, 200);
}

#[tokio::test]
async fn a_batch_with_an_invalid_input_is_refused_whole_and_results_come_in_any_order() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    let http = Http::new(&sim);
    let before = sim.count(Kind::Client);
    let (status, _, body) = http
        .post(
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": [
                {"properties": {"name": "Good"}, "associations": [], "objectWriteTraceId": "ok-1"},
                {"properties": {"name": "Bad", "no_such_property": "x"}, "associations": [], "objectWriteTraceId": "bad-1"}]}),
        )
        .await;
    assert_eq!((status, body["category"].as_str()), (400, Some("VALIDATION_ERROR")), "{body}");
    assert_eq!(sim.count(Kind::Client), before, "nothing of a refused batch is written");
    let (status, _, body) = http
        .post(
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": [
                {"properties": {"name": "First"}, "associations": [], "objectWriteTraceId": "t-1"},
                {"properties": {"name": "Second"}, "associations": [], "objectWriteTraceId": "t-2"}]}),
        )
        .await;
    assert_eq!(status, 201);
    let order: Vec<(&str, &str)> = body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["objectWriteTraceId"].as_str().unwrap_or(""), r["properties"]["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(order, [("t-2", "Second"), ("t-1", "First")], "not in input order; each result traced");
    // An input naming a missing record fails alone: a 207 naming it.
    let (status, _, body) = http
        .post(
            "/crm/v3/objects/companies/batch/update",
            json!({"inputs": [
                {"id": "1", "properties": {"name": "Renamed"}, "objectWriteTraceId": "u-1"},
                {"id": "999999", "properties": {"name": "Nobody"}, "objectWriteTraceId": "u-2"}]}),
        )
        .await;
    assert_eq!((status, body["numErrors"].as_u64()), (207, Some(1)), "{body}");
    assert_eq!(body["errors"][0]["context"]["objectWriteTraceId"][0], "u-2");
    assert_eq!(body["results"][0]["objectWriteTraceId"], "u-1");
    let too_many: Vec<Value> = (0..101).map(|i| json!({"properties": {"name": format!("n{i}")}})).collect();
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/create", json!({ "inputs": too_many })).await;
    assert_eq!((status, body["category"].as_str()), (400, Some("VALIDATION_ERROR")));
    let (status, _, body) = http
        .post("/crm/v3/objects/tasks/batch/create", json!({"inputs": [{"properties": {"hs_task_subject": "no due"}}]}))
        .await;
    assert_eq!(
        (status, body["category"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "hs_timestamp is required: {body}"
    );
    assert_eq!(sim.count(Kind::Client), before + 2);
}

#[tokio::test]
async fn owners_page_and_list_archived_ones_separately() {
    let clock = clock();
    let sim = sim(&data(3), &clock, |_| {}).await;
    sim.archive_owner(3);
    let http = Http::new(&sim);
    let (_, _, active) = http.get("/crm/v3/owners?limit=1").await;
    assert_eq!(active["results"][0]["type"], "PERSON");
    assert_eq!(active["paging"]["next"]["after"], "1");
    let (_, _, archived) = http.get("/crm/v3/owners?archived=true").await;
    assert_eq!(archived["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(archived["results"][0]["id"], "3");
}

#[tokio::test]
async fn launch_describes_a_portal_the_factory_accepts() {
    use zveno_connector::factory::VendorEntry;
    use zveno_connector::{BuildContext, Clock, Cursor, Env, Kind, SyncMode};
    use zveno_hubspot::HubSpotFactory;

    let clock = clock();
    let dyn_clock: std::sync::Arc<dyn Clock> = clock.clone();
    let launched = match zveno_hubspot::launch(data(12), dyn_clock.clone(), 3).await {
        Ok(l) => l,
        Err(e) => panic!("launch failed: {e}"),
    };
    assert_eq!(launched.vendor, "hubspot");
    let mut ctx = BuildContext::new("demo", dyn_clock);
    ctx.base_url = url::Url::parse(&launched.server.url()).ok();
    ctx.env = Env::from_pairs(launched.env.clone());
    let entry = VendorEntry::of::<HubSpotFactory>();
    assert!((entry.validate)(&launched.options, &ctx).is_empty());
    let Ok(connector) = (entry.build)(&launched.options, ctx) else { panic!("builds") };
    assert!(connector.check().await.is_ok());
    let page = connector.pull(Kind::Client, SyncMode::Full, &Cursor::default()).await;
    assert_eq!(page.map(|p| p.records.len()).ok(), Some(12));
    assert!(launched.help.contains("Authorization: Bearer"));
}

#[tokio::test]
async fn unique_properties_are_defined_enforced_and_key_upserts_and_reads() {
    let clock = clock();
    let sim = sim(&data(2), &clock, |_| {}).await;
    let http = Http::new(&sim);
    let (status, _, zveno_id) = http.get("/crm/v3/properties/companies/zveno_id").await;
    assert_eq!((status, &zveno_id["hasUniqueValue"], &zveno_id["type"]), (200, &json!(true), &json!("string")));
    let (status, _, missing) = http.get("/crm/v3/properties/companies/nope").await;
    assert_eq!((status, &missing["category"]), (404, &json!("OBJECT_NOT_FOUND")));

    let create = |name: &str, handle: &str| json!({"inputs": [{"properties": {"name": name, "zveno_id": handle}}]});
    let (status, _, _) = http.post("/crm/v3/objects/companies/batch/create", create("First", "h-1")).await;
    assert_eq!(status, 201);
    // A second record with a value another holds: the whole batch refused, nothing written.
    let two =
        json!({"inputs": [{"properties": {"name": "Fine"}}, {"properties": {"name": "Second", "zveno_id": "h-1"}}]});
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/create", two).await;
    assert_eq!((status, &body["category"]), (409, &json!("CONFLICT")), "{body}");
    assert_eq!(sim.count(Kind::Client), 3);

    // Upsert on the value: the holder is updated, a new value creates; results say which.
    let upsert = json!({"inputs": [
        {"idProperty": "zveno_id", "id": "h-1", "properties": {"name": "First, renamed"}, "objectWriteTraceId": "a"},
        {"idProperty": "zveno_id", "id": "h-2", "properties": {"name": "Made by upsert"}, "objectWriteTraceId": "b"}]});
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/upsert", upsert.clone()).await;
    assert_eq!(status, 200, "{body}");
    let new: Vec<(Value, Value)> = body["results"]
        .as_array()
        .map(|r| r.iter().map(|r| (r["objectWriteTraceId"].clone(), r["new"].clone())).collect())
        .unwrap_or_default();
    assert!(new.contains(&(json!("a"), json!(false))) && new.contains(&(json!("b"), json!(true))), "{new:?}");
    let (status, _, _) = http.post("/crm/v3/objects/companies/batch/upsert", upsert).await;
    assert_eq!((status, sim.count(Kind::Client)), (200, 4), "sent again, nothing is duplicated");

    // Read by the unique property, at once (no index lag); unknown values are a 207.
    let read = json!({"properties": ["name"], "idProperty": "zveno_id", "inputs": [{"id": "h-2"}, {"id": "h-9"}]});
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/read", read).await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["results"][0]["properties"]["name"], "Made by upsert");
    assert_eq!(body["errors"][0]["context"]["ids"], json!(["h-9"]));

    // One value twice in a batch: which input wins is undefined, so HubSpot refuses it.
    let twice = json!({"inputs": [
        {"idProperty": "zveno_id", "id": "h-5", "properties": {"name": "A"}},
        {"idProperty": "zveno_id", "id": "h-5", "properties": {"name": "B"}}]});
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/upsert", twice).await;
    assert_eq!(status, 400, "{body}");

    // A property that does not require unique values keys neither.
    sim.define_property(Kind::Client, "zveno_id", false);
    let upsert = json!({"inputs": [{"idProperty": "zveno_id", "id": "h-3", "properties": {"name": "X"}}]});
    let (status, _, body) = http.post("/crm/v3/objects/companies/batch/upsert", upsert).await;
    assert_eq!((status, &body["category"]), (400, &json!("VALIDATION_ERROR")), "{body}");
    let read = json!({"idProperty": "zveno_id", "inputs": [{"id": "h-2"}]});
    let (status, _, _) = http.post("/crm/v3/objects/companies/batch/read", read).await;
    assert_eq!(status, 400);
    assert_eq!(sim.count(Kind::Client), 4);
}
