//! Store ingest benchmark: how many records per second [`Store::commit_page`] writes.
//!
//! `zveno bench store` calls [`ingest`]. Each call writes synthetic clients for a fresh
//! connector name as one full scan (what a first sync does), so runs never see each
//! other's rows and the census of the last page is included. Only the commits are
//! timed: building the synthetic records is not the store's cost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use zveno_connector::{Client, Cursor, Email, Kind, Page, RecordData, SourceRecord, SyncMode};

use super::{PageOutcome, Store, StoreError};

/// What [`ingest`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// The connector name the records were written under.
    pub connector: String,
    /// Records committed.
    pub records: usize,
    /// Pages committed.
    pub pages: usize,
    /// Time spent in `commit_page`.
    pub elapsed: Duration,
    /// `records / elapsed`.
    pub records_per_sec: f64,
    /// The summed page outcomes (all inserts, for a fresh connector).
    pub outcome: PageOutcome,
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// Commits `records` synthetic client records in pages of `page_size` (at least 1) under
/// a fresh connector name, and reports the rate.
pub async fn ingest(store: &Store, records: usize, page_size: usize) -> Result<IngestReport, StoreError> {
    let page_size = page_size.max(1);
    let connector = format!(
        "bench-{}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let base = Utc::now();
    let mut elapsed = Duration::ZERO;
    let mut outcome = PageOutcome::default();
    let mut pages = 0;
    let mut start = 0;
    while start < records {
        let end = (start + page_size).min(records);
        let page = Page {
            records: (start..end).map(|i| client(&connector, i, base)).collect(),
            errors: Vec::new(),
            cursor: Cursor(serde_json::json!({ "offset": end })),
            more: end < records,
        };
        let began = Instant::now();
        outcome += store.commit_page(&connector, Kind::Client, SyncMode::Full, &page).await?;
        elapsed += began.elapsed();
        pages += 1;
        start = end;
    }
    let secs = elapsed.as_secs_f64();
    Ok(IngestReport {
        connector,
        records,
        pages,
        elapsed,
        records_per_sec: if secs > 0.0 { records as f64 / secs } else { 0.0 },
        outcome,
    })
}

/// A plausible client record: a name, an e-mail, a raw payload of a realistic size.
fn client(connector: &str, i: usize, base: DateTime<Utc>) -> SourceRecord {
    let name = format!("Client {i} LLC");
    let email = format!("info@client{i}.example.com");
    let raw = serde_json::json!({
        "id": i.to_string(),
        "properties": {
            "name": name,
            "domain": format!("client{i}.example.com"),
            "email": email,
            "phone": format!("+1 555 {:04} {:04}", i / 10_000 % 10_000, i % 10_000),
            "industry": "COMPUTER_SOFTWARE",
            "city": "Springfield",
            "notes": "x".repeat(200),
        },
    });
    let data = Client { name, emails: Email::parse(&email).into_iter().collect(), ..Client::default() };
    let updated = base + chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0));
    SourceRecord::new(connector, i.to_string(), RecordData::Client(data), raw)
        .with_times(Some(base), Some(updated))
        .with_url(format!("https://example.com/clients/{i}"))
}
