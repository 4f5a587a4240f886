//! Turning stored rows into typed sources, sorted by record key.
//!
//! Sorting matters: clustering applies links in record order, so the same records always
//! give the same clusters and explanations, whichever way they were read. A row whose data
//! cannot be read is left out with a warning and still counts as processed — resolving it
//! again would fail the same way, and the rest of the store is worth resolving.

use std::collections::HashMap;

use crate::store::{RecordKey, RecordVersion, ResolutionRow};

use super::model::{Fields, Source};

/// Rows split by what resolution does with them.
#[derive(Debug)]
pub struct Loaded<T> {
    /// Live records, sorted by key.
    pub live: Vec<Source<T>>,
    /// Records deleted in the vendor (or unreadable): their links and keys go.
    pub gone: Vec<RecordKey>,
    /// Dirty versions among the rows, to clear once results are stored.
    pub processed: Vec<RecordVersion>,
    /// Rows left out because their data could not be read.
    pub unreadable: u64,
    /// The entity each live record was last resolved into.
    pub entities: HashMap<RecordKey, String>,
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Self { live: Vec::new(), gone: Vec::new(), processed: Vec::new(), unreadable: 0, entities: HashMap::new() }
    }
}

/// What a row holds for resolution.
pub enum Read<T> {
    /// A live record's fields.
    Live(T),
    /// Deleted in the vendor, or a tombstone without data.
    Gone,
    /// Data that does not parse (warned about here).
    Unreadable,
}

/// Reads `row`'s data as `T`.
pub fn read<T: Fields>(row: &ResolutionRow) -> Read<T> {
    match row.data.as_deref().filter(|_| !row.deleted) {
        None => Read::Gone,
        Some(text) => match serde_json::from_str::<T>(text) {
            Ok(fields) => Read::Live(fields),
            Err(e) => {
                let record = &row.version.key;
                tracing::warn!(record = %record, error = %e, "record data unreadable; left out of resolution");
                Read::Unreadable
            }
        },
    }
}

impl<T: Fields> Loaded<T> {
    /// Sorts `rows` of kind `T` into live, gone and processed.
    pub fn from_rows(rows: Vec<ResolutionRow>) -> Self {
        let mut out = Self::default();
        for row in rows {
            if row.version.key.kind != T::KIND {
                continue;
            }
            if row.dirty {
                out.processed.push(row.version.clone());
            }
            let outcome = read::<T>(&row);
            let key = row.version.key;
            match outcome {
                Read::Live(fields) => {
                    if let Some(entity) = row.entity {
                        out.entities.insert(key.clone(), entity);
                    }
                    out.live.push(Source { key, updated_at: row.updated_at, url: row.url, fields });
                }
                Read::Gone => out.gone.push(key),
                Read::Unreadable => {
                    out.unreadable += 1;
                    out.gone.push(key);
                }
            }
        }
        out.live.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Appends the next page. Pages read in key order (connector by connector, ids
    /// ascending) keep `live` sorted without re-sorting.
    pub fn extend(&mut self, more: Loaded<T>) {
        self.live.extend(more.live);
        self.gone.extend(more.gone);
        self.processed.extend(more.processed);
        self.unreadable += more.unreadable;
        self.entities.extend(more.entities);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::model::ClientFields;
    use zveno_connector::Kind;

    fn row(id: &str, data: Option<&str>, deleted: bool, dirty: bool) -> ResolutionRow {
        ResolutionRow {
            updated_at: Some(1),
            deleted,
            url: None,
            data: data.map(str::to_string),
            version: RecordVersion {
                key: RecordKey { connector: "crm".into(), kind: Kind::Client, external_id: id.into() },
                revision: 3,
            },
            dirty,
            entity: None,
        }
    }

    #[test]
    fn rows_sort_into_live_gone_and_processed() {
        let loaded = Loaded::<ClientFields>::from_rows(vec![
            row("2", Some(r#"{"kind":"client","name":"B"}"#), false, true),
            row("1", Some(r#"{"kind":"client","name":"A"}"#), false, false),
            row("3", Some(r#"{"kind":"client","name":"C"}"#), true, true),
            row("4", Some("{not json"), false, true),
        ]);
        let live: Vec<&str> = loaded.live.iter().map(|s| s.fields.name.as_str()).collect();
        assert_eq!(live, ["A", "B"]);
        assert_eq!(loaded.gone.len(), 2);
        assert_eq!(loaded.processed.len(), 3);
        assert_eq!(loaded.unreadable, 1);
    }
}
