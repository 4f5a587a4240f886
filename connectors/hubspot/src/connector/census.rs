//! The id census, for hard deletions: a GDPR (privacy) deletion purges a record for good,
//! so it never shows in the archived list the sweeps read ([`super::sweep`]); only a list
//! of every live id reveals it (vendor note §6). The census pages the live list asking for
//! `hs_object_id` alone and no associations, 100 ids a request (HubSpot's largest list
//! page): ceil(N / 100) requests, plus a `batch/read` of 100 for the records it missed, which
//! the engine makes before tombstoning anything. It runs on the full-scan schedule
//! ([`CENSUS_EVERY`]); a full scan alone needs two misses to tombstone.

use std::time::Duration;

use zveno_connector::{CensusPage, ConnectorError, Cursor};

use super::HubSpotConnector;
use crate::client::{ListQuery, LIST_LIMIT};
use crate::dto::object::Object;

/// The default time between two censuses of one kind: a day, the default full-scan interval.
pub const CENSUS_EVERY: Duration = Duration::from_secs(86_400);

impl HubSpotConnector {
    /// One page of the census of `object`; the cursor is HubSpot's `after`.
    pub(super) async fn census_page(&self, object: Object, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let after: Option<String> = cursor.decode()?;
        let query = ListQuery {
            properties: vec!["hs_object_id".into()],
            associations: Vec::new(),
            archived: false,
            after: after.clone(),
            limit: LIST_LIMIT,
        };
        let response = self.client.list(object, &query).await?;
        let next = response.next_after();
        if next.is_some() && next == after {
            return Err(ConnectorError::invalid_data(format!(
                "HubSpot returned the same {object} census cursor twice"
            )));
        }
        let mut ids = Vec::with_capacity(response.results.len());
        for record in &response.results {
            match record.get("id").and_then(serde_json::Value::as_str).filter(|id| !id.is_empty()) {
                Some(id) => ids.push(id.to_string()),
                // A census with a hole is no census: an unreadable id fails it.
                None => {
                    return Err(ConnectorError::invalid_data(format!("census of {object}: a record without an id")))
                }
            }
        }
        Ok(CensusPage { ids, more: next.is_some(), cursor: Cursor::encode(&next)? })
    }
}
