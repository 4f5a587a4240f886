//! Records by id: `batch/read` in calls of 100 ids, then the associations the batch read
//! does not return, mapped exactly as a pull maps them.

use zveno_connector::connector::distinct;
use zveno_connector::{ConnectorError, Fetched, Page};

use super::pull::parse_all;
use super::HubSpotConnector;
use crate::client::BATCH_LIMIT;
use crate::dto::object::Object;

impl HubSpotConnector {
    pub(super) async fn fetch_ids(&self, object: Object, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let mut fetched = Fetched::default();
        // HubSpot ids are numbers; anything else cannot name a record, so it is not sent.
        let (ids, malformed): (Vec<String>, Vec<String>) =
            distinct(ids).into_iter().partition(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        fetched.missing = malformed;
        for chunk in ids.chunks(BATCH_LIMIT) {
            let answer = self.client.batch_read(object, &self.properties(object), chunk, None).await?;
            for error in answer.errors.iter().filter(|e| e.category.as_deref() != Some("OBJECT_NOT_FOUND")) {
                tracing::warn!(connector = %self.name, %object, error = %error.describe(), "batch read error");
            }
            let mut parsed = parse_all(answer.results);
            self.attach_associations(object, &mut parsed).await?;
            let owners = self.owners().await?;
            let mut page = Page::default();
            self.records(object, parsed, &owners, &mut page);
            let mut batch = Fetched { records: page.records, errors: page.errors, missing: Vec::new() };
            batch.settle_missing(chunk);
            fetched.extend(batch);
        }
        Ok(fetched)
    }
}
