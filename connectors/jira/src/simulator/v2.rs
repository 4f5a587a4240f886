//! The small REST v2 subset that Jira's older clients need, beside the v3 API zveno uses.
//!
//! Many official and community clients — the Python `jira` package (pycontribs) first of
//! all — speak `/rest/api/2`. Their first call is `GET /rest/api/2/serverInfo`: its
//! `deploymentType: "Cloud"` is what makes such a client page through `search/jql` with
//! `nextPageToken` (the offset `search` is gone on Cloud, in v2 as in v3), and a 404 there
//! stops the client before it reads anything. Naming fields (`fields=summary,Client`)
//! makes it read `GET /rest/api/2/field` to translate names into ids.
//!
//! Served here, under `/rest/api/2`: `serverInfo` (answered without credentials too, as
//! Jira does), `field` (`serverInfo` and `field` also under `/rest/api/3`: they have one
//! shape in both), `myself`,
//! `search/jql` (GET and POST), the removed `search` (410) and `issue/{idOrKey}` (GET).
//! Nothing else: writes, transitions and user search stay v3-only.
//!
//! v2 differs from v3 in how rich text travels: v3 sends Atlassian Document Format trees,
//! v2 plain (wiki-markup) strings. So the v2 routes run the v3 handlers and rewrite their
//! JSON answer: every ADF document becomes its text, and `self` links point at
//! `/rest/api/2/`. Error bodies have neither and pass through unchanged.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};

use super::{reply, Shared, SITE};
use crate::mapping::adf;
use crate::mapping::time::format_timestamp;

/// Largest v3 answer the rewrite reads (a search page of 100 issues with every field is a
/// few hundred KiB).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The v2 routes, and v3's `serverInfo` and `field`.
pub fn routes() -> Router<Shared> {
    let rewritten = Router::new()
        .route("/rest/api/2/myself", get(super::myself))
        .route("/rest/api/2/search/jql", get(super::search::get).post(super::search::post))
        .route("/rest/api/2/search", get(super::search::removed).post(super::search::removed))
        .route("/rest/api/2/issue/{id}", get(super::get_issue))
        .layer(axum::middleware::map_response(to_v2_response));
    Router::new()
        .route("/rest/api/2/serverInfo", get(server_info))
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/2/field", get(fields))
        .route("/rest/api/3/field", get(fields))
        .merge(rewritten)
}

/// Paths Jira answers without credentials.
pub fn is_anonymous(path: &str) -> bool {
    matches!(path, "/rest/api/2/serverInfo" | "/rest/api/3/serverInfo")
}

/// `GET /rest/api/2/serverInfo`, shaped like Jira Cloud's (`version` 1001.0.0-SNAPSHOT,
/// `deploymentType` Cloud), with the server time in the site's zone.
async fn server_info(State(state): State<Shared>) -> Response {
    let now = state.now();
    let zone = state.lock().zone();
    reply::json(
        StatusCode::OK,
        json!({
            "baseUrl": SITE,
            "displayUrl": SITE,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100_282,
            "buildDate": "2026-06-01T00:00:00.000+0000",
            "serverTime": format_timestamp(now, zone),
            "serverTimeZone": zone.map_or_else(|| "Etc/UTC".to_string(), |z| z.name().to_string()),
            "scmInfo": "a6e1f5c0d2b94e8f7c3a1b5d9e0f2a4c6b8d0e1f",
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
        }),
    )
}

/// `GET /rest/api/{2,3}/field`: the system fields the simulated issues carry and the
/// custom field naming clients (called "Client").
async fn fields(State(state): State<Shared>) -> Response {
    let client_field = state.lock().client_field.clone();
    let system = |id: &str, name: &str, schema: Value, clauses: &[&str]| {
        json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true,
               "searchable": true, "clauseNames": clauses, "schema": schema})
    };
    let typed = |kind: &str, id: &str| json!({"type": kind, "system": id});
    let mut list = vec![
        json!({"id": "issuekey", "key": "issuekey", "name": "Key", "custom": false, "orderable": false,
               "navigable": true, "searchable": false, "clauseNames": ["id", "issue", "issuekey", "key"]}),
        system("summary", "Summary", typed("string", "summary"), &["summary"]),
        system("description", "Description", typed("string", "description"), &["description"]),
        system("status", "Status", typed("status", "status"), &["status"]),
        system("priority", "Priority", typed("priority", "priority"), &["priority"]),
        system("assignee", "Assignee", typed("user", "assignee"), &["assignee"]),
        system("reporter", "Reporter", typed("user", "reporter"), &["reporter"]),
        system("duedate", "Due date", typed("date", "duedate"), &["due", "duedate"]),
        system("labels", "Labels", json!({"type": "array", "items": "string", "system": "labels"}), &["labels"]),
        system("resolution", "Resolution", typed("resolution", "resolution"), &["resolution"]),
        system("project", "Project", typed("project", "project"), &["project"]),
        system("issuetype", "Issue Type", typed("issuetype", "issuetype"), &["issuetype", "type"]),
        system("created", "Created", typed("datetime", "created"), &["created", "createdDate"]),
        system("updated", "Updated", typed("datetime", "updated"), &["updated", "updatedDate"]),
        system("resolutiondate", "Resolved", typed("datetime", "resolutiondate"), &["resolutiondate", "resolved"]),
    ];
    let number = client_field.strip_prefix("customfield_").and_then(|n| n.parse::<u64>().ok());
    let clause_names: Vec<String> = number.map(|n| format!("cf[{n}]")).into_iter().chain(["Client".into()]).collect();
    list.push(json!({
        "id": client_field, "key": client_field, "name": "Client", "untranslatedName": "Client", "custom": true,
        "orderable": true, "navigable": true, "searchable": true,
        "clauseNames": clause_names,
        "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                   "customId": number},
    }));
    reply::json(StatusCode::OK, Value::Array(list))
}

/// Rewrites a v3 JSON answer into its v2 form; anything else passes through.
async fn to_v2_response(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return reply::error(StatusCode::INTERNAL_SERVER_ERROR, "answer too large for the v2 rewrite");
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    to_v2(&mut value);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// ADF documents become their text; `self` links name `/rest/api/2/`.
fn to_v2(value: &mut Value) {
    if adf::is_doc(value) {
        *value = Value::String(adf::to_text(value));
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(link) if key == "self" => *link = link.replacen("/rest/api/3/", "/rest/api/2/", 1),
                    _ => to_v2(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_v2),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_has_plain_text_and_v2_links() {
        let mut issue = json!({
            "self": "https://x.atlassian.net/rest/api/3/issue/10001",
            "fields": {
                "description": adf::from_text("first line\nsecond line"),
                "status": {"self": "https://x.atlassian.net/rest/api/3/status/3", "name": "In Progress"},
                "customfield_10051": [adf::from_text("a note")],
                "summary": "self-explanatory /rest/api/3/ text stays",
            },
        });
        to_v2(&mut issue);
        assert_eq!(issue["self"], "https://x.atlassian.net/rest/api/2/issue/10001");
        assert_eq!(issue["fields"]["description"], "first line\nsecond line");
        assert_eq!(issue["fields"]["status"]["self"], "https://x.atlassian.net/rest/api/2/status/3");
        assert_eq!(issue["fields"]["customfield_10051"][0], "a note");
        assert_eq!(issue["fields"]["summary"], "self-explanatory /rest/api/3/ text stays");
    }

    #[test]
    fn only_server_info_is_anonymous() {
        assert!(is_anonymous("/rest/api/2/serverInfo"));
        assert!(!is_anonymous("/rest/api/2/myself"));
        assert!(!is_anonymous("/rest/api/2/field"));
    }

    /// Through HTTP, against a served site.
    #[allow(clippy::unwrap_used)]
    mod served {
        use std::collections::BTreeMap;
        use std::sync::Arc;

        use zveno_connector::http::VendorHttp;
        use zveno_connector::http::{Authenticator, BasicAuth, Call, HttpClient, HttpOptions, HttpSemantics, NoAuth};
        use zveno_connector::{ErrorKind, ManualClock, Redactor, Secret};
        use zveno_sim::world::{World, WorldSpec};

        use super::*;
        use crate::simulator::harness::JiraHarness;
        use crate::simulator::SimOptions;

        /// A site with 60 clients' issues, on a manual clock.
        async fn site() -> (JiraHarness, Arc<ManualClock>) {
            let spec = WorldSpec::new(7, 60, &[crate::simulator::SYSTEM]);
            let clock = Arc::new(ManualClock::new(spec.now));
            let data = World::generate(&spec).system(crate::simulator::SYSTEM);
            (JiraHarness::start(data, clock.clone(), 7, SimOptions::default()).await, clock)
        }

        fn client(clock: &Arc<ManualClock>, auth: Arc<dyn Authenticator>) -> HttpClient {
            let vendor = VendorHttp {
                rate_limits: BTreeMap::new(),
                classifier: Arc::new(HttpSemantics),
                auth,
                redactor: Redactor::new([]),
            };
            HttpClient::new("jira-v2", vendor, &BTreeMap::new(), HttpOptions::default(), clock.clone()).unwrap()
        }

        async fn get(http: &HttpClient, h: &JiraHarness, path: &str) -> Value {
            http.send(Call::get(h.api(path))).await.and_then(|r| r.json()).unwrap()
        }

        #[tokio::test]
        async fn server_info_answers_anonymously_but_never_to_wrong_credentials() {
            let (h, clock) = site().await;
            let info = get(&client(&clock, Arc::new(NoAuth)), &h, "rest/api/2/serverInfo").await;
            assert_eq!(
                (info["deploymentType"].as_str(), info["versionNumbers"][0].as_u64()),
                (Some("Cloud"), Some(1001))
            );
            let wrong = client(
                &clock,
                Arc::new(BasicAuth { user: h.sim.options().email.clone(), password: Secret::new("nope") }),
            );
            let err = wrong.send(Call::get(h.api("rest/api/2/serverInfo"))).await.err();
            assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Auth));
            let myself = client(&clock, Arc::new(NoAuth)).send(Call::get(h.api("rest/api/2/myself"))).await.err();
            assert_eq!(myself.map(|e| e.kind()), Some(ErrorKind::Auth));
        }

        #[tokio::test]
        async fn v2_search_and_issue_are_v3_with_plain_text() {
            let (h, _clock) = site().await;
            let http = h.http().unwrap();
            let query =
                "rest/api/2/search/jql?jql=project%20in%20(OPS%2C%20SUP)&fields=summary&fields=description&maxResults=100";
            let page = get(&http, &h, query).await;
            let issues = page["issues"].as_array().unwrap();
            assert_eq!(issues.len(), h.sim.count().min(100));
            assert!(issues.iter().all(|i| i["fields"]["summary"].is_string()));
            let described: Vec<&Value> = issues.iter().filter(|i| !i["fields"]["description"].is_null()).collect();
            assert!(!described.is_empty() && described.iter().all(|i| i["fields"]["description"].is_string()));
            let key = described[0]["key"].as_str().unwrap();
            let v2 = get(&http, &h, &format!("rest/api/2/issue/{key}")).await;
            let v3 = get(&http, &h, &format!("rest/api/3/issue/{key}")).await;
            assert!(adf::is_doc(&v3["fields"]["description"]));
            assert_eq!(v2["fields"]["description"], json!(adf::to_text(&v3["fields"]["description"])));
            assert_eq!(v2["fields"]["summary"], v3["fields"]["summary"]);
            assert!(v2["self"].as_str().unwrap().contains("/rest/api/2/issue/"));
            let fields = get(&http, &h, "rest/api/2/field").await;
            let client = fields.as_array().unwrap().iter().find(|f| f["name"] == "Client").unwrap();
            assert_eq!(client["id"], json!(h.sim.options().client_field));
            let gone = http.send(Call::get(h.api("rest/api/2/search?jql=project%3DOPS"))).await.err();
            assert!(gone.is_some_and(|e| e.to_string().contains("HTTP 410")));
        }
    }
}
