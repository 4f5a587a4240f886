//! Erasing a person's data at once, when the vendor says the person asked for it.
//!
//! A tombstone keeps its last data for `[store] tombstone_retention_days` (an operator can
//! still see what a deleted record was); a privacy deletion (HubSpot
//! `contact.privacyDeletion`) may not wait for that. [`Store::erase_records`] marks the
//! records deleted by the vendor and clears everything personal in one transaction: the
//! normalised data (names, e-mails, phones), the raw vendor answer, warnings (which quote
//! values) and the deep link; copies set aside from an earlier source go too. The rows are
//! left dirty, so the next resolution drops them from their golden records, the key index
//! and the search text.

use zveno_connector::Kind;

use super::{Store, StoreError};

impl Store {
    /// Erases the personal data of `connector`'s records `ids` of `kind` (see the module
    /// docs); ids not stored are skipped. Returns how many stored records were erased.
    pub async fn erase_records(&self, connector: &str, kind: Kind, ids: &[String]) -> Result<u64, StoreError> {
        const OP: &str = "erase_records";
        let target = format!("{connector}/{kind}");
        let q = || StoreError::query(OP, &target);
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(q())?;
        let mut erased = 0;
        for id in ids {
            erased += sqlx::query(
                "UPDATE source_records SET deleted = 1, deleted_by = 'vendor', data = NULL, raw = '{}', \
                   warnings = '[]', url = NULL, revision = revision + 1, synced_at = $4 \
                 WHERE connector = $1 AND kind = $2 AND external_id = $3",
            )
            .bind(connector)
            .bind(kind.as_str())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(q())?
            .rows_affected();
            sqlx::query("DELETE FROM set_aside_records WHERE connector = $1 AND kind = $2 AND external_id = $3")
                .bind(connector)
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(q())?;
        }
        tx.commit().await.map_err(q())?;
        Ok(erased)
    }
}
