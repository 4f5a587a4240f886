//! The simulated endpoints: object lists and reads, search, batch writes, owners, property
//! definitions, and the v4 association calls zveno uses. Paths, parameters and JSON shapes follow the vendor
//! note, so HubSpot's own client libraries can page through the simulator.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use super::portal::{Bucket, Portal};
use super::render;
use super::search;
use super::writes;
use crate::dto::object::Object;

type Shared = State<Arc<Portal>>;

/// The routes, over `portal`.
pub fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/crm/v3/objects/{object}", get(list))
        .route("/crm/v3/objects/{object}/search", post(run_search))
        .route("/crm/v3/objects/{object}/batch/{action}", post(writes::batch))
        .route("/crm/v3/objects/{object}/{id}", get(read_one))
        .route("/crm/v3/owners", get(owners))
        .route("/crm/v3/properties/{object}/{name}", get(super::properties::read))
        .route("/crm/v4/associations/{from}/{to}/labels", get(labels))
        .route("/crm/v4/associations/{from}/{to}/batch/{action}", post(writes::associations))
        .with_state(portal)
}

/// Query parameters, repeated keys kept (`properties=a&properties=b` and `properties=a,b`
/// are both accepted, as the SDKs send either).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every comma-separated value of every occurrence of `key`.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string))
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Resolves a path's object type, or answers HubSpot's 400 for an unknown one.
pub fn object_or_400(p: &Portal, raw: &str, endpoint: &str, bucket: Bucket) -> Result<Object, Box<Response>> {
    Object::parse(raw).ok_or_else(|| {
        Box::new(p.error(
            endpoint,
            bucket,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!("Unable to infer object type from: {raw}"),
        ))
    })
}

fn encode_after(id: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_after(after: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(after.trim()).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

async fn list(State(p): Shared, Path(object): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = Params::parse(q.as_deref());
    let archived = q.flag("archived");
    let endpoint = format!("list {object}{}", if archived { " archived" } else { "" });
    if let Err(r) = p.admit(&headers, Bucket::Default, &endpoint) {
        return *r;
    }
    let object = match object_or_400(&p, &object, &endpoint, Bucket::Default) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let bad =
        |message: String| p.error(&endpoint, Bucket::Default, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &message);
    // HubSpot's default page is 10; 100 is the ceiling integrators report (larger asks are
    // served 100).
    let limit = match q.get("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if n >= 1 => n.min(100),
        Some(_) => return bad("limit must be a positive integer".into()),
    };
    let after = match q.get("after") {
        None | Some("") => None,
        Some(a) => match decode_after(a) {
            Some(id) => Some(id),
            None => return bad(format!("Invalid after cursor: {a}")),
        },
    };
    let properties = q.list("properties");
    let associations: Vec<Object> = q.list("associations").iter().filter_map(|a| Object::parse(a)).collect();
    let (page, next) = {
        let db = p.db();
        let mut rows =
            db.of(object).filter(|o| o.archived_ms.is_some() == archived).filter(|o| after.is_none_or(|a| o.id >= a));
        let page: Vec<Value> =
            rows.by_ref().take(limit).map(|o| render::object(&db, object, o, &properties, &associations)).collect();
        (page, rows.next().map(|o| o.id))
    };
    let mut body = json!({ "results": page });
    if let Some(next) = next {
        let after = encode_after(next);
        body["paging"] = json!({"next": {"after": after, "link": format!("?after={after}")}});
    }
    p.reply(&endpoint, Bucket::Default, StatusCode::OK, Some(body))
}

async fn read_one(
    State(p): Shared,
    Path((object, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let endpoint = format!("read {object}");
    if let Err(r) = p.admit(&headers, Bucket::Default, &endpoint) {
        return *r;
    }
    let object = match object_or_400(&p, &object, &endpoint, Bucket::Default) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let q = Params::parse(q.as_deref());
    let associations: Vec<Object> = q.list("associations").iter().filter_map(|a| Object::parse(a)).collect();
    let db = p.db();
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| db.objects.get(&object)?.get(&id))
        .filter(|o| o.archived_ms.is_some() == q.flag("archived"));
    let body = found.map(|o| render::object(&db, object, o, &q.list("properties"), &associations));
    drop(db);
    match body {
        Some(body) => p.reply(&endpoint, Bucket::Default, StatusCode::OK, Some(body)),
        None => p.error(
            &endpoint,
            Bucket::Default,
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
        ),
    }
}

async fn run_search(State(p): Shared, Path(object): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let endpoint = format!("search {object}");
    if let Err(r) = p.admit(&headers, Bucket::Search, &endpoint) {
        return *r;
    }
    let object = match object_or_400(&p, &object, &endpoint, Bucket::Search) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let lag = p.options().index_lag;
    let now = p.clock().elapsed();
    let answer = search::run(&p.db(), object, &body, |o| o.changed_at.is_none_or(|at| at + lag <= now));
    match answer {
        Ok(answer) => p.reply(&endpoint, Bucket::Search, StatusCode::OK, Some(answer)),
        Err(search::Invalid(message)) => {
            p.error(&endpoint, Bucket::Search, StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &message)
        }
    }
}

async fn owners(State(p): Shared, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let endpoint = "owners";
    if let Err(r) = p.admit(&headers, Bucket::Default, endpoint) {
        return *r;
    }
    let q = Params::parse(q.as_deref());
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).clamp(1, 500);
    let offset = q.get("after").and_then(|a| a.parse::<usize>().ok()).unwrap_or(0);
    let archived = q.flag("archived");
    let email = q.get("email").map(str::to_lowercase);
    let db = p.db();
    let matching: Vec<Value> = db
        .owners
        .iter()
        .filter(|o| o.archived == archived)
        .filter(|o| email.as_deref().is_none_or(|e| o.email.to_lowercase() == e))
        .map(|o| {
            json!({"id": o.id.to_string(), "userId": o.user_id, "userIdIncludingInactive": o.user_id,
                   "email": o.email, "firstName": o.first_name, "lastName": o.last_name, "type": "PERSON",
                   "archived": o.archived, "teams": [],
                   "createdAt": "2019-10-30T03:30:17.883Z", "updatedAt": "2019-12-07T16:50:06.678Z"})
        })
        .collect();
    drop(db);
    let page: Vec<Value> = matching.iter().skip(offset).take(limit).cloned().collect();
    let mut body = json!({ "results": page });
    if offset + limit < matching.len() {
        let next = (offset + limit).to_string();
        body["paging"] = json!({"next": {"after": next, "link": format!("?after={next}")}});
    }
    p.reply(endpoint, Bucket::Default, StatusCode::OK, Some(body))
}

async fn labels(State(p): Shared, Path((from, to)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let endpoint = "association labels";
    if let Err(r) = p.admit(&headers, Bucket::Default, endpoint) {
        return *r;
    }
    let (from, to) = match (
        object_or_400(&p, &from, endpoint, Bucket::Default),
        object_or_400(&p, &to, endpoint, Bucket::Default),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let results: Vec<Value> = render::association_type(from, to)
        .map(|id| json!({"category": "HUBSPOT_DEFINED", "typeId": id, "label": null}))
        .into_iter()
        .collect();
    p.reply(endpoint, Bucket::Default, StatusCode::OK, Some(json!({ "results": results })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cursors_are_opaque_and_round_trip() {
        let after = encode_after(525);
        assert!(!after.contains("525"));
        assert_eq!(decode_after(&after), Some(525));
        assert_eq!(decode_after("%%%"), None);
    }

    #[test]
    fn params_accept_repeated_and_comma_lists() {
        let q = Params::parse(Some("properties=a,b&properties=c&archived=TRUE&limit=5"));
        assert_eq!(q.list("properties"), ["a", "b", "c"]);
        assert!(q.flag("archived"));
        assert_eq!(q.get("limit"), Some("5"));
        assert!(Params::parse(None).list("x").is_empty());
    }
}
