//! Idempotency handles: Pipedrive has no idempotency key and no unique fields, so every
//! organization zveno creates carries its op id in an organization custom field of type
//! Text that the operator made (`idempotency_field`, a 40-character key). A create whose
//! answer was lost is looked up there ([`zveno_connector::Connector::find_created`]):
//!
//! - `GET /api/v2/organizations/search?term=<handle>&fields=custom_fields&exact_match=true`
//!   (custom fields can be filtered on only through search), then the hits are read back
//!   by id, because a search hit does not say which custom field matched;
//! - search goes through an index that lags behind writes, so an organization sent less
//!   than `overlap_secs` ago that the search does not show yet is not reported absent but
//!   unknown (a transient error): it waits for a later look-up.
//!
//! Activities take no handle (zveno has no field of theirs it can search), so an activity
//! create whose answer was lost is never resent: it waits for a person.

use serde_json::{json, Value};
use zveno_connector::ConnectorError;

use super::PipedriveConnector;
use crate::client::ListQuery;
use crate::dto::entity::Entity;

/// Field types search matches a whole value in: Text and Large text.
const SEARCHABLE: [&str; 2] = ["varchar", "text"];

impl PipedriveConnector {
    /// Sets the handle field of an organization create's body to `handle`.
    pub(super) fn stamp(&self, entity: Entity, body: &mut Value, handle: &str) {
        let (Entity::Organizations, Some(key), Value::Object(body)) = (entity, &self.handle_field, body) else {
            return;
        };
        if let Value::Object(fields) = body.entry("custom_fields").or_insert_with(|| json!({})) {
            fields.insert(key.clone(), json!(handle));
        }
    }

    /// The record whose handle field holds `handle`, allowing for the search index lag.
    pub(super) async fn find_by_handle(
        &self,
        entity: Entity,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        let key = match (entity, &self.handle_field) {
            (Entity::Organizations, Some(key)) => key,
            (Entity::Organizations, None) => {
                return Err(ConnectorError::unsupported(format!(
                    "connectors.{}.idempotency_field is not set: organizations created here carry no handle",
                    self.name
                )))
            }
            _ => {
                return Err(ConnectorError::unsupported(format!(
                    "Pipedrive {} carry no idempotency handle",
                    entity.path()
                )))
            }
        };
        let hits = self.client.search_exact(entity, "custom_fields", handle, 10).await?;
        if !hits.is_empty() {
            let query = ListQuery { ids: hits.iter().map(u64::to_string).collect(), ..ListQuery::default() };
            let (records, _) = self.client.list(entity, &query).await?;
            let holder = records
                .iter()
                .filter(|r| r.get("custom_fields").and_then(|f| f.get(key)).and_then(Value::as_str) == Some(handle))
                .filter_map(|r| r.get("id").and_then(Value::as_u64))
                .min();
            if let Some(id) = holder {
                return Ok(Some(id.to_string()));
            }
        }
        let lag = chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::MAX);
        if self.clock.now() - sent < lag {
            return Err(ConnectorError::transient(format!(
                "no {} with {handle} in custom field {key} yet; Pipedrive's search index may lag behind the create",
                entity.singular()
            )));
        }
        Ok(None)
    }

    /// Verifies the handle field is configured and is a Text field of organizations.
    pub(super) async fn check_handle_field(&self, entity: Entity) -> Result<(), ConnectorError> {
        if entity != Entity::Organizations {
            return Ok(());
        }
        let how = format!(
            "create an organization custom field of type Text in Pipedrive (Settings → Data fields → Organization → \
             Add custom field) and set connectors.{}.idempotency_field to its API key (40 hex characters); every \
             organization zveno creates carries its idempotency handle there",
            self.name
        );
        let Some(key) = &self.handle_field else {
            return Err(ConnectorError::config(format!(
                "connectors.{}.idempotency_field is not set, so an organization whose create answer was lost \
                 cannot be found: {how}",
                self.name
            )));
        };
        let fields = self.client.fields(entity).await?;
        let problem = match fields.iter().find(|f| f.field_code == *key) {
            None => format!("Pipedrive has no organization field {key}"),
            Some(f) if !SEARCHABLE.contains(&f.field_type.as_str()) => format!(
                "the Pipedrive organization field {key} ({:?}) is of type {}, not Text",
                f.field_name, f.field_type
            ),
            Some(_) => return Ok(()),
        };
        Err(ConnectorError::config(format!("{problem}: {how}")))
    }
}
