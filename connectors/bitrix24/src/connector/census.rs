//! The id census: the keyset scan of [`list`](super::list) selecting only `ID`, 50 chained
//! calls of 50 rows per `batch` — ceil(N / 2,500) requests for N records. The engine diffs
//! it against the store and confirms each record it did not list by id before tombstoning:
//! Bitrix24 lists no deleted records, and its delete events are never retried.

use zveno_connector::{CensusPage, ConnectorError, Cursor, Kind};

use super::list::{chain, ListSpec};
use super::Bitrix24Connector;

impl Bitrix24Connector {
    /// One page (one batch) of the census of `kind`; the cursor is the last ID listed.
    pub(super) async fn census_page(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let after: u64 = cursor.decode()?;
        let spec = match kind {
            Kind::Client => ListSpec::companies(&[]),
            Kind::Contact => ListSpec::contacts(),
            Kind::Task => ListSpec::tasks(),
        }
        .ids_only();
        let page = chain(&self.client, &spec, after, None, self.settings.calls_per_batch).await?;
        let mut ids = Vec::with_capacity(page.rows.len());
        for row in &page.rows {
            match spec.row_id(row) {
                Some(id) => ids.push(id.to_string()),
                // A census with a hole is no census: an unreadable ID fails it.
                None => return Err(ConnectorError::invalid_data(format!("{}: a row without an ID", spec.method))),
            }
        }
        let cursor = Cursor::encode(&page.last_id.unwrap_or(after))?;
        Ok(CensusPage { ids, cursor, more: !page.complete })
    }
}
