//! The key index (`resolve_keys`): which records hold which matching keys.
//!
//! An incremental run starts from the changed records and asks two questions of it —
//! "which keys did these records have?" (their old keys, whose former partners may have to
//! split off) and "which records hold these keys?" (the clusters a change touches, and the
//! contacts and tasks that point at them) — so its cost follows the change, not the store.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use zveno_connector::Kind;

use super::entities::{delete_records, rows_per_statement};
use super::records::RecordKey;
use super::sql::{self, LOOKUPS_PER_STATEMENT};
use super::{Store, StoreError};

/// Records holding some keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyMembers {
    /// `(key, record)` for every key held by at most the limit's records.
    pub members: Vec<(String, RecordKey)>,
    /// Keys held by more records than the limit (not listed in `members`).
    pub overfull: Vec<String>,
}

impl Store {
    /// The stored keys of `records`.
    pub async fn stored_keys(&self, records: &[RecordKey]) -> Result<Vec<(RecordKey, String)>, StoreError> {
        const OP: &str = "stored_keys";
        let mut groups: BTreeMap<(&str, Kind), Vec<&str>> = BTreeMap::new();
        for k in records {
            groups.entry((k.connector.as_str(), k.kind)).or_default().push(k.external_id.as_str());
        }
        let mut out = Vec::new();
        for ((connector, kind), ids) in groups {
            let target = format!("{connector}/{kind}");
            for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT external_id, key FROM resolve_keys \
                     WHERE connector = $1 AND kind = $2 AND external_id IN ({})",
                    sql::placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(connector).bind(kind.as_str());
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, &target))? {
                    let id: String = row.try_get("external_id").map_err(|e| StoreError::corrupt(OP, &target, e))?;
                    let key: String = row.try_get("key").map_err(|e| StoreError::corrupt(OP, &target, e))?;
                    out.push((RecordKey { connector: connector.to_string(), kind, external_id: id }, key));
                }
            }
        }
        Ok(out)
    }

    /// The records of `kind` holding each of `keys`; a key held by more than `limit`
    /// records is reported as overfull instead of listed.
    pub async fn key_members(&self, kind: Kind, keys: &[String], limit: usize) -> Result<KeyMembers, StoreError> {
        const OP: &str = "key_members";
        let mut found: BTreeMap<String, Vec<RecordKey>> = BTreeMap::new();
        for chunk in keys.chunks(LOOKUPS_PER_STATEMENT) {
            // One probe of the key index per key, each capped, so a huge key costs `limit`
            // rows, not all of them.
            let sql = (0..chunk.len())
                .map(|i| {
                    format!(
                        "SELECT key, connector, external_id FROM (SELECT key, connector, external_id \
                         FROM resolve_keys WHERE key = ${} AND kind = $1 LIMIT {}) AS q{i}",
                        i + 2,
                        limit + 1
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let mut query = sqlx::query(&sql).bind(kind.as_str());
            for key in chunk {
                query = query.bind(key);
            }
            for row in query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, kind))? {
                let get = |c: &str| row.try_get::<String, _>(c).map_err(|e| StoreError::corrupt(OP, kind, e));
                let record = RecordKey { connector: get("connector")?, kind, external_id: get("external_id")? };
                found.entry(get("key")?).or_default().push(record);
            }
        }
        let mut out = KeyMembers::default();
        for (key, records) in found {
            if records.len() > limit {
                out.overfull.push(key);
            } else {
                out.members.extend(records.into_iter().map(|r| (key.clone(), r)));
            }
        }
        Ok(out)
    }
}

/// Replaces each record's keys (inside a resolution write).
pub(super) async fn replace_keys(
    conn: &mut AnyConnection,
    keys: &[(RecordKey, Vec<String>)],
) -> Result<(), StoreError> {
    const OP: &str = "replace_keys";
    let records: Vec<RecordKey> = keys.iter().map(|(k, _)| k.clone()).collect();
    delete_records(conn, "resolve_keys", true, &records).await?;
    let rows: Vec<(&RecordKey, &String)> =
        keys.iter().flat_map(|(k, list)| list.iter().map(move |key| (k, key))).collect();
    for chunk in rows.chunks(rows_per_statement(4)) {
        let sql = sql::statement(conn, "insert_keys", chunk.len(), || {
            format!(
                "INSERT INTO resolve_keys (connector, kind, external_id, key) VALUES {} \
                 ON CONFLICT (connector, kind, external_id, key) DO NOTHING",
                sql::row_placeholders(chunk.len(), 4)
            )
        });
        let mut query = sqlx::query(&sql);
        for (record, key) in chunk {
            query = query.bind(&record.connector).bind(record.kind.as_str()).bind(&record.external_id).bind(*key);
        }
        query.execute(&mut *conn).await.map_err(StoreError::query(OP, "resolve_keys"))?;
    }
    Ok(())
}
