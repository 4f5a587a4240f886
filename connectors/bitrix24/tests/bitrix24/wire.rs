//! The simulated portal speaks Bitrix24's own protocol, as an SDK would call it: URL forms,
//! GET and POST, JSON and form parameters, envelopes, batch references and error bodies.

use serde_json::{json, Value};

use super::{portal, world};

async fn call(method: reqwest::Method, url: &str, body: Option<(&str, String)>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url);
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn lists_answer_get_and_post_with_or_without_json_suffix() {
    let h = portal(&world(120)).await;
    let base = h.webhook_url();
    let (status, body) = call(
        reqwest::Method::GET,
        &format!("{base}crm.company.list.json?select[]=ID&select[]=TITLE&select[]=PHONE&order[ID]=ASC&start=-1"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let rows = body["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 50, "fixed pages of 50");
    assert_eq!(rows[0]["ID"], "1");
    assert!(rows[0]["PHONE"][0]["VALUE_TYPE"].is_string());
    assert!(rows[0].get("DATE_MODIFY").is_none(), "only what was selected, plus ID");
    assert_eq!(body["total"], 0, "start=-1 skips the count");
    assert!(body.get("next").is_none());
    assert!(body["time"]["operating_reset_at"].is_i64());
    let (_, counted) = call(
        reqwest::Method::POST,
        &format!("{base}crm.company.list"),
        Some((
            "application/json",
            json!({"FILTER": {">ID": 100}, "ORDER": {"ID": "ASC"}, "SELECT": ["*"]}).to_string(),
        )),
    )
    .await;
    assert_eq!(counted["total"], 20);
    assert_eq!(counted["result"][0]["ID"], "101");
    assert!(counted["result"][0].get("PHONE").is_none(), "`*` leaves out multi-fields");
    assert!(counted["result"][0]["DATE_MODIFY"].as_str().is_some_and(|d| d.ends_with("+03:00")));
    let (_, form) = call(
        reqwest::Method::POST,
        &format!("{base}tasks.task.list.json"),
        Some((
            "application/x-www-form-urlencoded",
            "filter%5B%3EID%5D=230&order%5BID%5D=asc&select%5B%5D=ID&select%5B%5D=UF_CRM_TASK".to_string(),
        )),
    )
    .await;
    let tasks = form["result"]["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 10);
    assert_eq!(tasks[0]["id"], "231");
    assert!(tasks[0]["ufCrmTask"].is_array());
}

#[tokio::test]
async fn batches_resolve_references_and_report_per_command_errors() {
    let h = portal(&world(120)).await;
    let body = json!({
        "halt": 0,
        "cmd": {
            "first": "crm.company.list?order[ID]=ASC&filter[>ID]=0&select[]=ID&start=-1",
            "second": "crm.company.list?order[ID]=ASC&filter[>ID]=$result[first][49][ID]&select[]=ID&start=-1",
            "broken": "tasks.task.list?order[NOPE]=asc",
            "nested": "batch?cmd[x]=user.get"
        }
    });
    let (status, answer) =
        call(reqwest::Method::POST, &format!("{}batch", h.webhook_url()), Some(("application/json", body.to_string())))
            .await;
    assert_eq!(status, 200, "a batch always answers 200");
    let result = &answer["result"];
    assert_eq!(result["result"]["second"][0]["ID"], "51");
    assert_eq!(result["result_error"]["broken"]["error"], "0");
    assert_eq!(result["result_error"]["nested"]["error"], "ERROR_BATCH_METHOD_NOT_ALLOWED");
    assert_eq!(result["result_total"]["first"], 0);
    assert!(result["result_time"]["second"]["operating"].is_number());
    assert!(answer["time"].get("operating").is_none(), "the batch itself is not accounted");
}

#[tokio::test]
async fn a_wrong_code_and_an_overflowing_bucket_get_the_documented_bodies() {
    let h = portal(&world(5)).await;
    let wrong = h.webhook_url().replace(&h.sim().options().code, "nope1234");
    let (status, body) = call(reqwest::Method::GET, &format!("{wrong}user.get"), None).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}));
    // The manual clock stands still: 50 requests fill the bucket, the 51st overflows it.
    let url = format!("{}user.get.json", h.webhook_url());
    for _ in 0..50 {
        assert_eq!(call(reqwest::Method::GET, &url, None).await.0, 200);
    }
    let (status, body) = call(reqwest::Method::GET, &url, None).await;
    assert_eq!(status, 503);
    assert_eq!(body, json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}));
    h.clock().advance(std::time::Duration::from_millis(500));
    assert_eq!(call(reqwest::Method::GET, &url, None).await.0, 200, "drained by one");
}

#[tokio::test]
async fn direct_calls_over_the_time_budget_get_429() {
    let h = portal(&world(5)).await;
    h.sim().set_operating_limit(1.0);
    h.sim().set_operating_cost("user.get", 2.0);
    let url = format!("{}user.get", h.webhook_url());
    assert_eq!(call(reqwest::Method::GET, &url, None).await.0, 200);
    let (status, body) = call(reqwest::Method::GET, &url, None).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "OPERATION_TIME_LIMIT");
}
