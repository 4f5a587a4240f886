//! The id census: Pipedrive lists no deleted organizations, persons or activities (vendor
//! note §6), so deletions between full scans are found by listing every live id — the v2
//! list sorted by `id`, 500 a page — and letting the engine confirm each stored record it
//! did not list with a lookup by id before tombstoning it.
//!
//! v2 has no field selector (`custom_fields` narrows the custom fields but cannot drop the
//! record's own), so a census page is an ordinary list page, and it costs what any list
//! page costs: 10 tokens, whatever its size. A census of N records therefore spends
//! ceil(N / 500) × 10 tokens of the company's daily budget, shared with its people and its
//! other apps; that is why it runs on its own long interval ([`DEFAULT_CENSUS_EVERY`]),
//! not with every incremental cycle, and why the token ledger's reserve stops it like any
//! other call. `delete` webhooks report deletions at once in between.

use std::time::Duration;

use serde_json::Value;
use zveno_connector::{CensusPage, ConnectorError, Cursor};

use super::PipedriveConnector;
use crate::client::{ListQuery, SortBy};
use crate::dto::entity::Entity;

/// The default time between two censuses of one kind: four a day. For a company of
/// 20,000 organizations, 40,000 persons and 60,000 activities that is 240 list calls,
/// 2,400 tokens a census and 9,600 a day — 3% of the budget of five Growth seats.
pub const DEFAULT_CENSUS_EVERY: Duration = Duration::from_secs(6 * 3600);

impl PipedriveConnector {
    /// One page of the census of `entity`; the cursor is Pipedrive's `next_cursor`.
    pub(super) async fn census_page(&self, entity: Entity, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let after: Option<String> = cursor.decode()?;
        let query = ListQuery { sort_by: SortBy::Id, cursor: after.clone(), ..ListQuery::default() };
        let (records, next) = self.client.list(entity, &query).await?;
        if next.is_some() && next == after {
            return Err(ConnectorError::invalid_data(format!(
                "Pipedrive returned the same {} census cursor twice",
                entity.path()
            )));
        }
        let mut ids = Vec::with_capacity(records.len());
        for record in &records {
            // A record the list still shows as deleted is not live.
            if record.get("is_deleted").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            match record.get("id").and_then(Value::as_u64) {
                Some(id) => ids.push(id.to_string()),
                // A census with a hole is no census: an unreadable id fails it.
                None => {
                    return Err(ConnectorError::invalid_data(format!(
                        "census of {}: a record without a numeric id",
                        entity.path()
                    )))
                }
            }
        }
        if next.is_none() {
            tracing::info!(
                connector = %self.name, entity = entity.path(), tokens_spent_today = self.tokens_spent(),
                budget = self.client.ledger().budget(), "Pipedrive census listed"
            );
        }
        Ok(CensusPage { ids, more: next.is_some(), cursor: Cursor::encode(&next)? })
    }
}
