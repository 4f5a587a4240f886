//! Storing mapped records as a sync would: each connector's kinds committed as one full
//! scan, in pages of 500.

use zveno::store::Store;
use zveno_connector::{Cursor, Kind, Page, SourceRecord, SyncMode};

/// Commits `batches` (`(connector, kind, records)`) to `store` as full scans.
pub async fn full_scans(store: &Store, batches: Vec<(String, Kind, Vec<SourceRecord>)>) {
    for (connector, kind, records) in batches {
        let pages: Vec<&[SourceRecord]> = records.chunks(500).collect();
        for (i, chunk) in pages.iter().enumerate() {
            let page = Page {
                records: chunk.to_vec(),
                errors: Vec::new(),
                cursor: Cursor(serde_json::json!({ "page": i + 1 })),
                more: i + 1 < pages.len(),
            };
            store.commit_page(&connector, kind, SyncMode::Full, &page).await.unwrap();
        }
    }
}
