//! Issues by id or key through `POST /rest/api/3/issue/bulkfetch`, 100 a call, mapped as a
//! pull maps them.
//!
//! Which ids count as missing: the OpenAPI description says issues that do not exist or
//! that the token cannot see are simply left out, the vendor note says they are listed in
//! `issueErrors`. Either way they did not come back, so every id or key that matches no
//! returned issue is missing; an `issueErrors` entry is logged for its message.

use std::collections::BTreeSet;

use serde_json::Value;
use zveno_connector::connector::distinct;
use zveno_connector::{ConnectorError, Fetched};

use crate::connector::JiraConnector;
use crate::dto::BulkFetchRequest;

/// Issues one bulk fetch returns when fields are requested.
pub const BULK_FETCH_LIMIT: usize = 100;

impl JiraConnector {
    pub(crate) async fn fetch_issues(&self, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let mut fetched = Fetched::default();
        let ids = distinct(ids);
        if ids.is_empty() {
            return Ok(fetched);
        }
        let zone = self.zone().await?;
        for chunk in ids.chunks(BULK_FETCH_LIMIT) {
            let request = BulkFetchRequest { issue_ids_or_keys: chunk.to_vec(), fields: self.mapper.fields() };
            let response = self.client.bulk_fetch(&request).await?;
            for error in &response.issue_errors {
                tracing::debug!(connector = %self.name, issue = %error.id, message = %error.error_message, "bulk fetch did not return an issue");
            }
            let mut answered = BTreeSet::new();
            for issue in response.issues {
                for name in ["id", "key"] {
                    if let Some(value) = issue.get(name).and_then(Value::as_str) {
                        answered.insert(value.to_ascii_uppercase());
                    }
                }
                match self.mapper.map(issue, zone) {
                    Ok(record) => fetched.records.push(record),
                    Err(error) => fetched.errors.push(error),
                }
            }
            fetched.missing.extend(chunk.iter().filter(|id| !answered.contains(&id.to_ascii_uppercase())).cloned());
        }
        Ok(fetched)
    }
}
