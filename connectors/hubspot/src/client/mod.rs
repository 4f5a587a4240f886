//! HubSpot's endpoints as typed calls on the shared HTTP client.
//!
//! This module knows paths, query parameters, bodies and which rate-limit bucket each call
//! spends; it knows nothing about cursors or the common model. Waiting, retrying, auth and
//! redaction happen in [`zveno_connector::http::HttpClient`]; the only thing added here is
//! the daily-quota pacing, applied after every answer by blocking the buckets for the gap
//! [`DailyBudget::pace`] asks for (the client still never sleeps itself).

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use serde_json::{json, Value};
use url::Url;
use zveno_connector::http::{Call, HttpClient, HttpStats, Response};
use zveno_connector::ConnectorError;

use crate::dto::{
    AssociationBatchResponse, AssociationLabels, BatchRead, BatchResponse, ListResponse, OwnerDto, PropertyDto,
    SearchResponse, StandardError,
};
pub mod limits;

use crate::dto::object::Object;
use limits::{DailyBudget, DEFAULT_BUCKET, SEARCH_BUCKET};

/// The largest page the list endpoints serve.
pub const LIST_LIMIT: u32 = 100;
/// The largest page the search endpoint serves.
pub const SEARCH_LIMIT: u32 = 200;
/// Inputs per batch call.
pub const BATCH_LIMIT: usize = 100;

/// A list call (`GET /crm/v3/objects/{object}`).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Properties to return by name.
    pub properties: Vec<String>,
    /// Object types whose associated ids to include.
    pub associations: Vec<Object>,
    /// `true` lists only archived records.
    pub archived: bool,
    /// The cursor from the previous page.
    pub after: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// A batch write to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    /// `batch/create`.
    Create,
    /// `batch/update`.
    Update,
    /// `batch/upsert`: inputs keyed on a unique-value property (`idProperty` and its value
    /// as `id`); a record holding that value is updated, else one is created with it.
    Upsert,
    /// `batch/archive`.
    Archive,
}

impl BatchAction {
    fn path(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Archive => "archive",
        }
    }
}

/// Typed HubSpot calls.
#[derive(Debug, Clone)]
pub struct HubSpotClient {
    http: HttpClient,
    base: Url,
    budget: Arc<DailyBudget>,
}

impl HubSpotClient {
    /// A client for the API at `base` (`https://api.hubapi.com` or a simulator).
    pub fn new(http: HttpClient, base: Url, budget: Arc<DailyBudget>) -> Self {
        Self { http, base, budget }
    }

    /// The HTTP client: request counters, and the vendor's clock its answers tell
    /// ([`HttpClient::vendor_now`]), which incremental windows and watermarks follow.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Request counters.
    pub fn stats(&self) -> HttpStats {
        self.http.stats()
    }

    /// The portal's daily quota as its last response reported it (`None` before one did).
    pub fn daily_limit(&self) -> Option<u64> {
        self.budget.limit()
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, ConnectorError> {
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ConnectorError::config(format!("bad HubSpot URL for {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    async fn send(&self, call: Call) -> Result<Response, ConnectorError> {
        let response = self.http.send(call).await?;
        if let Some(gap) = self.budget.pace() {
            for bucket in [DEFAULT_BUCKET, SEARCH_BUCKET] {
                self.http.limiter().block(bucket, gap);
            }
        }
        Ok(response)
    }

    /// One page of a list call.
    pub async fn list(&self, object: Object, q: &ListQuery) -> Result<ListResponse, ConnectorError> {
        let mut query = vec![("limit", q.limit.clamp(1, LIST_LIMIT).to_string()), ("archived", q.archived.to_string())];
        if !q.properties.is_empty() {
            query.push(("properties", q.properties.join(",")));
        }
        if !q.associations.is_empty() {
            let names: Vec<&str> = q.associations.iter().map(|o| o.name()).collect();
            query.push(("associations", names.join(",")));
        }
        if let Some(after) = &q.after {
            query.push(("after", after.clone()));
        }
        let url = self.url(&format!("crm/v3/objects/{object}"), &query)?;
        parse(&self.send(Call::get(url)).await?)
    }

    /// One search call (`POST /crm/v3/objects/{object}/search`). A search reads, so it is
    /// safe to resend after a timeout.
    pub async fn search(&self, object: Object, body: &Value) -> Result<SearchResponse, ConnectorError> {
        let url = self.url(&format!("crm/v3/objects/{object}/search"), &[])?;
        let call = Call::post_json(url, body).bucket(SEARCH_BUCKET).idempotent(true);
        parse(&self.send(call).await?)
    }

    /// One page of owners. Malformed owners are skipped with a log line.
    pub async fn owners(
        &self,
        archived: bool,
        after: Option<&str>,
    ) -> Result<(Vec<OwnerDto>, Option<String>), ConnectorError> {
        let mut query = vec![("limit", LIST_LIMIT.to_string()), ("archived", archived.to_string())];
        if let Some(after) = after {
            query.push(("after", after.to_string()));
        }
        let url = self.url("crm/v3/owners", &query)?;
        let page: ListResponse = parse(&self.send(Call::get(url)).await?)?;
        let next = page.next_after();
        let owners = page
            .results
            .into_iter()
            .filter_map(|raw| match serde_json::from_value::<OwnerDto>(raw) {
                Ok(owner) => Some(owner),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable HubSpot owner");
                    None
                }
            })
            .collect();
        Ok((owners, next))
    }

    /// `POST /crm/v3/objects/{object}/batch/read?archived=false`: up to [`BATCH_LIMIT`]
    /// records by id with `properties`. Unknown and archived ids are not an HTTP error: the
    /// answer is a 207 naming them in an `OBJECT_NOT_FOUND` error. A read, so resending is
    /// safe.
    ///
    /// With `id_property` (a unique-value property) the `ids` are values of that property
    /// instead of record ids: HubSpot reads them from its database, not the search index,
    /// so a record written a moment ago is found.
    pub async fn batch_read(
        &self,
        object: Object,
        properties: &[String],
        ids: &[String],
        id_property: Option<&str>,
    ) -> Result<BatchRead, ConnectorError> {
        let url = self.url(&format!("crm/v3/objects/{object}/batch/read"), &[("archived", "false".to_string())])?;
        let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        let mut body = json!({ "properties": properties, "propertiesWithHistory": [], "inputs": inputs });
        if let Some(name) = id_property {
            body["idProperty"] = json!(name);
        }
        parse(&self.send(Call::post_json(url, &body).idempotent(true)).await?)
    }

    /// Associated ids of `ids` (records of `from`) with records of `to`, through the v4
    /// batch read, in calls of [`BATCH_LIMIT`] inputs. Records without associations are
    /// simply absent from the answer.
    pub async fn associations(
        &self,
        from: Object,
        to: Object,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, ConnectorError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let url = self.url(&format!("crm/v4/associations/{from}/{to}/batch/read"), &[])?;
        for chunk in ids.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            let call = Call::post_json(url.clone(), &json!({ "inputs": inputs })).idempotent(true);
            let answer: AssociationBatchResponse = parse(&self.send(call).await?)?;
            for result in answer.results {
                if result.paging.as_ref().and_then(|p| p.next.as_ref()).is_some() {
                    tracing::warn!(record = %result.from.id, %from, %to, "more associations than one answer holds; only the first page is kept");
                }
                let list = out.entry(result.from.id).or_default();
                list.extend(result.to.iter().filter_map(|t| t.id()));
                list.sort();
                list.dedup();
            }
        }
        Ok(out)
    }

    /// The type id of the default (unlabelled, HubSpot-defined) association `from` → `to`,
    /// read from the labels endpoint: type ids are portal data, only 204 is documented.
    pub async fn default_association_type(&self, from: Object, to: Object) -> Result<u32, ConnectorError> {
        let url = self.url(&format!("crm/v4/associations/{from}/{to}/labels"), &[])?;
        let labels: AssociationLabels = parse(&self.send(Call::get(url)).await?)?;
        labels
            .results
            .iter()
            .find(|l| l.category == "HUBSPOT_DEFINED" && l.label.is_none())
            .or_else(|| labels.results.iter().find(|l| l.category == "HUBSPOT_DEFINED"))
            .map(|l| l.type_id)
            .ok_or_else(|| {
                ConnectorError::invalid_data(format!(
                    "HubSpot lists no HUBSPOT_DEFINED association type from {from} to {to}"
                ))
            })
    }

    /// A batch write of at most [`BATCH_LIMIT`] inputs. Creates are not idempotent (a
    /// resend after a timeout could duplicate); updates, upserts (a resend finds the record
    /// the first one made by its unique value) and archives are.
    pub async fn batch(
        &self,
        object: Object,
        action: BatchAction,
        inputs: Vec<Value>,
    ) -> Result<BatchResponse, ConnectorError> {
        let url = self.url(&format!("crm/v3/objects/{object}/batch/{}", action.path()), &[])?;
        let call = Call::post_json(url, &json!({ "inputs": inputs })).idempotent(action != BatchAction::Create);
        let response = self.send(call).await?;
        if response.body.is_empty() {
            // batch/archive answers 204 No Content.
            return Ok(BatchResponse::default());
        }
        parse(&response)
    }

    /// Creates associations `from` → `to` of one type in bulk (v4 `batch/create`); used
    /// after updates, since `batch/update` takes no associations. Returns the failures.
    pub async fn associate(
        &self,
        from: Object,
        to: Object,
        type_id: u32,
        pairs: &[(String, String)],
    ) -> Result<Vec<StandardError>, ConnectorError> {
        let url = self.url(&format!("crm/v4/associations/{from}/{to}/batch/create"), &[])?;
        let mut failures = Vec::new();
        for chunk in pairs.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(f, t)| {
                    json!({"from": {"id": f}, "to": {"id": t},
                           "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]})
                })
                .collect();
            let call = Call::new(Method::POST, url.clone()).json(&json!({ "inputs": inputs })).idempotent(true);
            let response = self.send(call).await?;
            if !response.body.is_empty() {
                let answer: ErrorsOnly = parse(&response)?;
                failures.extend(answer.errors);
            }
        }
        Ok(failures)
    }

    /// The definition of property `name` of `object` (`GET /crm/v3/properties/{object}/{name}`),
    /// `None` when the portal has no such property.
    pub async fn property(&self, object: Object, name: &str) -> Result<Option<PropertyDto>, ConnectorError> {
        let url = self.url(&format!("crm/v3/properties/{object}/{name}"), &[])?;
        match self.send(Call::get(url)).await {
            Ok(response) => parse(&response).map(Some),
            Err(e) if e.kind() == zveno_connector::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A read-only probe of one object type (`limit=1`).
    pub async fn probe(&self, object: Object) -> Result<(), ConnectorError> {
        let q = ListQuery { properties: vec!["hs_object_id".into()], limit: 1, ..ListQuery::default() };
        self.list(object, &q).await.map(|_| ())
    }
}

/// The part of a v4 association batch answer zveno needs: what failed.
#[derive(serde::Deserialize)]
struct ErrorsOnly {
    #[serde(default)]
    errors: Vec<StandardError>,
}

/// Reads a JSON body ([`Response::parse_json`]: cut short is transient, the wrong shape is
/// invalid data; the excerpt quoted is masked with this instance's secrets).
fn parse<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, ConnectorError> {
    response.parse_json()
}
