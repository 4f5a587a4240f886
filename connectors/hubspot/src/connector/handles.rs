//! Idempotency handles: the custom property every create carries its op id in, looked up
//! after a crash ([`zveno_connector::Connector::find_created`]) and checked by `zveno check`.
//!
//! - **Companies**: the property requires unique values, creates go through `batch/upsert`
//!   on it, and a look-up is a `batch/read` with `idProperty`, which reads HubSpot's
//!   database rather than the search index: a company not returned was never made, however
//!   recently it was sent.
//! - **Tasks**: HubSpot has no unique-value task properties, so the property is plain text
//!   set by `batch/create`, and a look-up is a search on it (`EQ`). Search lags behind
//!   writes, so a task sent less than `overlap_secs` ago that the search does not show yet
//!   is not reported absent but unknown (a transient error): it waits for a later look-up.

use serde_json::{json, Value};
use zveno_connector::ConnectorError;

use super::HubSpotConnector;
use crate::dto::object::Object;

/// The handle property's name when the config names none.
pub const DEFAULT_PROPERTY: &str = "zveno_id";

impl HubSpotConnector {
    /// The company whose handle property holds `handle`, by `batch/read` with `idProperty`.
    pub(super) async fn find_company(&self, handle: &str) -> Result<Option<String>, ConnectorError> {
        let read = self
            .client
            .batch_read(
                Object::Companies,
                &["hs_object_id".to_string()],
                &[handle.to_string()],
                Some(&self.handle_property),
            )
            .await?;
        if let Some(error) = read.errors.iter().find(|e| e.category.as_deref() != Some("OBJECT_NOT_FOUND")) {
            return Err(ConnectorError::invalid_data(format!(
                "HubSpot could not read companies by {} = {handle}: {}",
                self.handle_property,
                error.describe()
            )));
        }
        Ok(read.results.iter().filter_map(record_id).min_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX)))
    }

    /// The task whose handle property holds `handle`, by search, allowing for its lag.
    pub(super) async fn find_task(
        &self,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        let body = json!({
            "filterGroups": [{"filters": [{"propertyName": self.handle_property, "operator": "EQ", "value": handle}]}],
            "properties": ["hs_object_id"],
            "limit": 2,
        });
        let found = self.client.search(Object::Tasks, &body).await?;
        if let Some(id) =
            found.results.iter().filter_map(record_id).min_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX))
        {
            return Ok(Some(id));
        }
        let lag = chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::MAX);
        if self.clock.now() - sent < lag {
            return Err(ConnectorError::transient(format!(
                "no task with {} = {handle} yet; HubSpot's search index may lag behind the create",
                self.handle_property
            )));
        }
        Ok(None)
    }

    /// Verifies the handle property of `object` exists, is live, and (on companies, which
    /// are upserted on it) requires unique values; says how to create it when not.
    pub(super) async fn check_handle_property(&self, object: Object) -> Result<(), ConnectorError> {
        let name = &self.handle_property;
        let singular = match object {
            Object::Companies => "company",
            Object::Contacts => "contact",
            Object::Tasks => "task",
        };
        let unique = object == Object::Companies;
        let create = format!(
            "create it in HubSpot (Settings → Properties → {singular} properties → Create property: internal name \
             {name}, field type single-line text{}), or set connectors.{}.idempotency_property to one that is; \
             every create zveno makes carries its idempotency handle in it",
            if unique { ", rules: \"Require unique values for this property\"" } else { "" },
            self.name
        );
        let problem = match self.client.property(object, name).await? {
            None => format!("HubSpot has no {singular} property {name}"),
            Some(p) if p.archived => format!("the HubSpot {singular} property {name} is archived"),
            Some(p) if unique && !p.has_unique_value => format!(
                "the HubSpot {singular} property {name} does not require unique values (hasUniqueValue is false), \
                 so batch/upsert cannot key creates on it"
            ),
            Some(_) => return Ok(()),
        };
        Err(ConnectorError::config(format!("{problem}: {create}")))
    }
}

/// A record's id in a batch-read or search result.
fn record_id(record: &Value) -> Option<String> {
    match record.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
