//! Records by id: v2 lists filtered by `ids=` (at most 100 ids a call, one list price for
//! the lot, vendor note §7), following `next_cursor` when a page holds fewer than asked,
//! mapped exactly as a pull maps them. Missing or invisible ids are silently left out by
//! Pipedrive; they come back in [`Fetched::missing`].

use zveno_connector::connector::distinct;
use zveno_connector::{ConnectorError, Fetched};

use super::PipedriveConnector;
use crate::client::{ListQuery, IDS_LIMIT};
use crate::dto::entity::Entity;

impl PipedriveConnector {
    pub(super) async fn fetch_ids(&self, entity: Entity, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let mut fetched = Fetched::default();
        // Pipedrive ids are numbers; anything else names no record and is not sent.
        let (ids, malformed): (Vec<String>, Vec<String>) =
            distinct(ids).into_iter().partition(|id| id.parse::<u64>().is_ok());
        fetched.missing = malformed;
        if ids.is_empty() {
            return Ok(fetched);
        }
        let users = self.users.get(&self.client, self.clock.as_ref()).await?;
        for chunk in ids.chunks(IDS_LIMIT) {
            let mut batch = Fetched::default();
            let mut query = ListQuery { ids: chunk.to_vec(), ..ListQuery::default() };
            loop {
                let (records, next) = self.client.list(entity, &query).await?;
                for raw in records {
                    match self.mapper.read(entity, raw, &users) {
                        // A record listed as deleted is gone, as far as a fetch goes.
                        Ok(record) if record.deleted => {}
                        Ok(record) => batch.records.push(record),
                        Err(e) => batch.errors.push(e),
                    }
                }
                match next {
                    Some(next) if query.cursor.as_ref() != Some(&next) => query.cursor = Some(next),
                    _ => break,
                }
            }
            batch.settle_missing(chunk);
            fetched.extend(batch);
        }
        Ok(fetched)
    }
}
