//! `GET|POST /rest/api/3/search/jql`, and the 410 of the removed `/rest/api/3/search`.
//!
//! Pages are keyset-based: `nextPageToken` encodes the sort values of the last issue
//! served, so issues edited while a client pages through do not shift later pages. Tokens
//! are bound to their JQL and expire after 7 days. There is no `total`; the last page has
//! `isLast: true` and no token. `maxResults` is a ceiling: 5,000 when only ids/keys are
//! requested, 100 with fields.

use std::hash::{Hash as _, Hasher as _};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::jql::{self, Expr, Field, Subject};
use super::render::{issue_json, FieldSelection};
use super::site::Doc;
use super::{reply, Shared, SITE};
use crate::dto::SearchRequest;

/// Page ceiling when only ids or keys are requested.
pub const MAX_IDS_PAGE: usize = 5000;
/// Page ceiling when fields are requested.
pub const MAX_FIELDS_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 50;
const TOKEN_DAYS: i64 = 7;

/// `POST /rest/api/3/search/jql`.
pub async fn post(State(shared): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<SearchRequest>(&body) {
        Ok(request) => respond(&shared, &request),
        Err(e) => reply::error(StatusCode::BAD_REQUEST, &format!("Invalid request payload: {e}")),
    }
}

/// `GET /rest/api/3/search/jql?jql=...&fields=a,b&nextPageToken=...&maxResults=...`.
/// List parameters come comma-separated, repeated (`fields=a&fields=b`, as Python's
/// `requests` sends a list), or both.
pub async fn get(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    respond(&shared, &query_request(query.as_deref().unwrap_or("")))
}

fn query_request(query: &str) -> SearchRequest {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let one = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let list = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    };
    SearchRequest {
        jql: one("jql").unwrap_or_default(),
        max_results: one("maxResults").and_then(|m| m.parse().ok()),
        fields: list("fields"),
        next_page_token: one("nextPageToken"),
        reconcile_issues: list("reconcileIssues").iter().filter_map(|i| i.parse().ok()).collect(),
    }
}

/// The removed `GET|POST /rest/api/3/search` (CHANGE-2046).
pub async fn removed() -> Response {
    reply::json(
        StatusCode::GONE,
        json!({"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct PageToken {
    /// Fingerprint of the JQL the token belongs to.
    q: u64,
    /// Sort values of the last issue served: updated ms, created ms, key, id.
    after: (i64, i64, String, u64),
    /// When the first page was served (epoch ms).
    at: i64,
    /// With positional tokens: how many issues the earlier pages served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
}

fn fingerprint(jql: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    jql.hash(&mut h);
    h.finish()
}

fn respond(shared: &Shared, request: &SearchRequest) -> Response {
    match search(shared, request) {
        Ok(body) => reply::json(StatusCode::OK, body),
        Err(message) => reply::error(StatusCode::BAD_REQUEST, &message),
    }
}

fn search(shared: &Shared, request: &SearchRequest) -> Result<Value, String> {
    let now = shared.now();
    let mut guard = shared.lock();
    let site = &mut *guard;
    site.queries.push(request.jql.clone());
    let zone = site.zone();
    let query = jql::parse(&request.jql, zone)?;
    let known: Vec<String> = site.projects.iter().map(|p| p.key.to_ascii_uppercase()).collect();
    check_projects(&query.filter, &known)?;
    let selection = FieldSelection::parse(&request.fields);
    let ceiling = if selection.ids_only() { MAX_IDS_PAGE } else { shared.fields_page };
    let page_size = request.max_results.map_or(DEFAULT_PAGE, |m| m as usize).clamp(1, ceiling);
    let fp = fingerprint(&request.jql);
    let (started, after, offset) = match request.next_page_token.as_deref().filter(|t| !t.is_empty()) {
        None => (now.timestamp_millis(), None, 0),
        Some(raw) => {
            let token = decode_token(raw)
                .filter(|t| t.q == fp && now.timestamp_millis() - t.at < TOKEN_DAYS * 86_400_000)
                .ok_or("The provided next page token is invalid or expired.")?;
            match token.offset {
                Some(offset) => (token.at, None, offset),
                None => (token.at, Some(token.after), 0),
            }
        }
    };
    let reconcile: Vec<u64> = request.reconcile_issues.iter().copied().take(50).collect();

    for issue in site.issues.values_mut() {
        issue.index_due(now);
    }
    let last = after.as_ref().map(|(u, c, key, id)| Subject {
        id: *id,
        key,
        project: key.split('-').next().unwrap_or(""),
        labels: &[],
        updated: ms(*u),
        created: ms(*c),
    });
    let uses_labels = query.filter.uses(Field::Labels);
    // Borrow, filter and sort; only the page served is cloned and rendered.
    let mut hits: Vec<Hit<'_>> = Vec::new();
    for issue in site.issues.values() {
        let doc = if reconcile.contains(&issue.id) { Some(&issue.live) } else { issue.indexed() };
        let Some(doc) = doc else { continue };
        let labels = if uses_labels { doc.labels() } else { Vec::new() };
        let hit = Hit { id: issue.id, key: &issue.key, project: &issue.project, doc };
        let subject = Subject { labels: &labels, ..hit.subject() };
        let after_last = last.as_ref().is_none_or(|l| jql::compare(&query.order, &subject, l).is_gt());
        if after_last && query.filter.matches(&subject) {
            hits.push(hit);
        }
    }
    hits.sort_by(|a, b| jql::compare(&query.order, &a.subject(), &b.subject()));
    hits.drain(..offset.min(hits.len()));
    let is_last = hits.len() <= page_size;
    hits.truncate(page_size);
    let issues: Vec<Value> = hits.iter().map(|h| issue_json(h.id, h.key, h.doc, &selection, zone, SITE)).collect();
    let mut body = json!({"issues": issues, "isLast": is_last});
    if let (false, Some(h)) = (is_last, hits.last()) {
        let token = PageToken {
            q: fp,
            after: (h.doc.updated.timestamp_millis(), h.doc.created.timestamp_millis(), h.key.to_string(), h.id),
            at: started,
            offset: shared.positional_tokens.then_some(offset + hits.len()),
        };
        body["nextPageToken"] = json!(encode_token(&token));
    }
    Ok(body)
}

/// An issue matching a search, with the version the search reads.
struct Hit<'a> {
    id: u64,
    key: &'a str,
    project: &'a str,
    doc: &'a Doc,
}

impl<'a> Hit<'a> {
    fn subject(&self) -> Subject<'a> {
        Subject {
            id: self.id,
            key: self.key,
            project: self.project,
            labels: &[],
            updated: self.doc.updated,
            created: self.doc.created,
        }
    }
}

fn ms(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(value).unwrap_or_default()
}

fn encode_token(token: &PageToken) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

fn decode_token(raw: &str) -> Option<PageToken> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `project = X` for a project that does not exist is an error in Jira, not an empty result.
fn check_projects(expr: &Expr, known: &[String]) -> Result<(), String> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => check_projects(a, known).and(check_projects(b, known)),
        Expr::Not(e) => check_projects(e, known),
        Expr::Text(Field::Project, _, values) => {
            match values.iter().find(|v| !known.contains(&v.to_ascii_uppercase())) {
                Some(v) => Err(format!("The value '{v}' does not exist for the field 'project'.")),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        let t = PageToken { q: 7, after: (1, 2, "OPS-1".into(), 10000), at: 3, offset: None };
        let back = decode_token(&encode_token(&t));
        assert_eq!(back.map(|b| (b.q, b.after, b.at)), Some((7, (1, 2, "OPS-1".to_string(), 10000), 3)));
        assert!(decode_token("CAEaAggD").is_none());
    }

    #[test]
    fn query_lists_may_be_repeated_or_comma_separated() {
        let r =
            query_request("jql=project%3DOPS&fields=summary&fields=status,labels&maxResults=20&reconcileIssues=1,2");
        assert_eq!(r.jql, "project=OPS");
        assert_eq!(r.fields, ["summary", "status", "labels"]);
        assert_eq!((r.max_results, r.reconcile_issues), (Some(20), vec![1, 2]));
        assert_eq!(query_request("").fields, Vec::<String>::new());
    }

    #[test]
    fn unknown_projects_are_errors() {
        let known = vec!["OPS".to_string()];
        let q = jql::parse("project in (OPS, NOPE)", None).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_projects(&q.filter, &known).is_err());
        let q = jql::parse("project = ops", None).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_projects(&q.filter, &known).is_ok());
    }
}
