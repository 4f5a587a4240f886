//! Write-back state: the outbox, the copies flows made (pairs), the write ledger, the
//! agreed-values base and the conflicts queue (migrations 0012, 0013).
//!
//! The outbox row of an op is written before the op is sent and settled with the vendor's
//! answer after, together with what that answer means for the next plan (the ledger, the
//! agreed base, the pair of a create) in one transaction: a crash leaves either a row in
//! `sending` — looked up by its idempotency handle on restart, never resent blindly — or
//! every consequence of the answer at once.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use zveno_connector::Kind;

use super::leases::{renew_in, Lease, FLOW_LEASE};
use super::records::RecordKey;
use super::sql::{parse_kind, placeholders};
use super::{Store, StoreError};

/// What the planner reads from the store besides records and links.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowState {
    /// The target copy of each group the flow created.
    pub pairs: BTreeMap<String, RecordKey>,
    /// Groups with a create in the outbox that is not failed.
    pub creating: BTreeSet<String>,
    /// Records this flow archived (a done archive op): a person may have reopened one since,
    /// and that is theirs to decide.
    pub archived: BTreeSet<RecordKey>,
    /// Last agreed hash per (target record, field).
    pub agreed: BTreeMap<(RecordKey, String), String>,
    /// zveno's last write per (record, field), for the flow's connectors.
    pub ledger: BTreeMap<(RecordKey, String), Written>,
}

/// zveno's last write of one field of one record: the write ledger's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Hash of what the record held right after the write, as the vendor read it back.
    pub hash: String,
    /// Hash of the value sent (the agreed base the write set); `None` for rows written
    /// before migration 0014.
    pub sent: Option<String>,
}

/// An op as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    /// The op's stable id.
    pub op_id: String,
    /// The flow.
    pub flow: String,
    /// The group.
    pub group: String,
    /// The connector written.
    pub connector: String,
    /// The kind.
    pub kind: Kind,
    /// `create`, `update` or `archive`.
    pub action: String,
    /// The record written (for a create, once the vendor named it).
    pub external_id: Option<String>,
    /// The planned op, as JSON.
    pub op: serde_json::Value,
    /// `sending`, `done` or `failed`.
    pub state: String,
    /// Times it was sent.
    pub attempts: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was last sent or settled (store clock, epoch ms); ignored when written.
    pub updated_ms: i64,
}

/// What a vendor's success means for the next plan, written with the outbox row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteSettled {
    /// The record written (a create's new id).
    pub record: Option<RecordKey>,
    /// Ledger rows of the written record, per field.
    pub ledger: Vec<(String, Written)>,
    /// Agreed hashes, per (target record, field).
    pub agreed: Vec<(RecordKey, String, String)>,
    /// For a create: the group whose copy `record` is.
    pub pair: Option<String>,
}

/// A queued conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictRow {
    /// Its id (`zveno conflicts resolve ID`).
    pub id: i64,
    /// The flow.
    pub flow: String,
    /// The group.
    pub group: String,
    /// The field.
    pub field: String,
    /// The source record.
    pub source: RecordKey,
    /// Its value.
    pub source_value: serde_json::Value,
    /// The target record.
    pub target: RecordKey,
    /// Its value.
    pub target_value: serde_json::Value,
    /// `open` or `resolved`.
    pub state: String,
    /// `source` or `target`, once resolved.
    pub taken: Option<String>,
}

/// A conflict to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    /// The group.
    pub group: String,
    /// The field.
    pub field: String,
    /// Source record and value.
    pub source: (RecordKey, serde_json::Value),
    /// Target record and value.
    pub target: (RecordKey, serde_json::Value),
    /// The agreed hash when it was found.
    pub base: Option<String>,
}

fn key_of(row: &AnyRow, connector: &str, kind: &str, id: &str) -> Result<RecordKey, String> {
    let kind: String = row.try_get(kind).map_err(|e| e.to_string())?;
    Ok(RecordKey {
        connector: row.try_get(connector).map_err(|e| e.to_string())?,
        kind: parse_kind(&kind)?,
        external_id: row.try_get(id).map_err(|e| e.to_string())?,
    })
}

impl Store {
    /// The write-back state of `flow`, whose records live in `connectors`.
    pub async fn flow_state(&self, flow: &str, connectors: &[String]) -> Result<FlowState, StoreError> {
        const OP: &str = "flow_state";
        let mut state = FlowState::default();
        let rows = sqlx::query("SELECT grp, connector, kind, external_id FROM flow_pairs WHERE flow = $1")
            .bind(flow)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, flow))?;
        for row in &rows {
            let grp: String = row.try_get("grp").map_err(StoreError::query(OP, flow))?;
            let key = key_of(row, "connector", "kind", "external_id").map_err(|e| StoreError::corrupt(OP, flow, e))?;
            state.pairs.insert(grp, key);
        }
        let rows =
            sqlx::query("SELECT grp FROM flow_outbox WHERE flow = $1 AND action = 'create' AND state <> 'failed'")
                .bind(flow)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query(OP, flow))?;
        for row in &rows {
            state.creating.insert(row.try_get("grp").map_err(StoreError::query(OP, flow))?);
        }
        let rows = sqlx::query(
            "SELECT connector, kind, external_id FROM flow_outbox \
             WHERE flow = $1 AND action = 'archive' AND state = 'done' AND external_id IS NOT NULL",
        )
        .bind(flow)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, flow))?;
        for row in &rows {
            let key = key_of(row, "connector", "kind", "external_id").map_err(|e| StoreError::corrupt(OP, flow, e))?;
            state.archived.insert(key);
        }
        state.agreed = self
            .field_hashes("flow_agreed", "flow", flow)
            .await?
            .into_iter()
            .map(|(key, (hash, _))| (key, hash))
            .collect();
        for connector in connectors {
            let rows = self.field_hashes("write_ledger", "connector", connector).await?;
            state.ledger.extend(rows.into_iter().map(|(key, (hash, sent))| (key, Written { hash, sent })));
        }
        Ok(state)
    }

    /// The copies every flow made of `kind` in `connector`: group → external id. A task
    /// flow attaches its copies to the client copy a client flow made, even before a sync
    /// has read that copy back and resolution linked it to its client.
    pub async fn flow_copies(&self, connector: &str, kind: Kind) -> Result<BTreeMap<String, String>, StoreError> {
        const OP: &str = "flow_copies";
        let rows = sqlx::query("SELECT grp, external_id FROM flow_pairs WHERE connector = $1 AND kind = $2")
            .bind(connector)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, connector))?;
        rows.iter()
            .map(|row| Ok((row.try_get("grp")?, row.try_get("external_id")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::query(OP, connector))
    }

    /// The (record, field) → (hash, sent) rows of `table` (`flow_agreed`, `write_ledger`)
    /// whose `column` is `value` (`sent` only in the ledger).
    async fn field_hashes(
        &self,
        table: &'static str,
        column: &str,
        value: &str,
    ) -> Result<BTreeMap<(RecordKey, String), (String, Option<String>)>, StoreError> {
        let sent = if table == "write_ledger" { "sent" } else { "CAST(NULL AS TEXT) AS sent" };
        let sql = format!("SELECT connector, kind, external_id, field, hash, {sent} FROM {table} WHERE {column} = $1");
        let rows =
            sqlx::query(&sql).bind(value).fetch_all(&self.pool).await.map_err(StoreError::query(table, value))?;
        rows.iter()
            .map(|row| {
                let key = key_of(row, "connector", "kind", "external_id")?;
                let field: String = row.try_get("field").map_err(|e| e.to_string())?;
                let hash: String = row.try_get("hash").map_err(|e| e.to_string())?;
                let sent: Option<String> = row.try_get("sent").map_err(|e| e.to_string())?;
                Ok(((key, field), (hash, sent)))
            })
            .collect::<Result<_, String>>()
            .map_err(|e| StoreError::corrupt(table, value, e))
    }

    /// Persists `row` in state `sending` before it is sent (counting the attempt), fenced by
    /// `lease`, the flow's apply lease: the lease is renewed in the same transaction, and an
    /// op of a holder that lost it (it stalled past its time to live and another instance
    /// took the flow over) is refused with [`StoreError::Fenced`], so it is never sent. An op
    /// already `done` is not sent again: returns `false`.
    pub async fn outbox_begin(&self, row: &OutboxRow, lease: &Lease) -> Result<bool, StoreError> {
        const OP: &str = "outbox_begin";
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, &row.op_id))?;
        if lease.connector != FLOW_LEASE || lease.kind != row.flow {
            return Err(StoreError::invalid(OP, &row.op_id, format!("not under flow {:?}'s lease", row.flow)));
        }
        if !renew_in(&mut tx, lease, now).await.map_err(StoreError::query(OP, &row.op_id))? {
            return Err(StoreError::Fenced {
                op: OP,
                target: row.op_id.clone(),
                reason: format!(
                    "flow {:?}'s lease (token {}) was taken over by another instance; this apply stops",
                    row.flow, lease.token
                ),
            });
        }
        let done = sqlx::query(
            "INSERT INTO flow_outbox (op_id, flow, grp, connector, kind, action, external_id, op, state, attempts, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sending', 1, $9, $9) \
             ON CONFLICT (op_id) DO UPDATE SET state = 'sending', attempts = flow_outbox.attempts + 1, \
             error = NULL, updated_at = excluded.updated_at WHERE flow_outbox.state <> 'done' \
             RETURNING op_id",
        )
        .bind(&row.op_id)
        .bind(&row.flow)
        .bind(&row.group)
        .bind(&row.connector)
        .bind(row.kind.as_str())
        .bind(&row.action)
        .bind(&row.external_id)
        .bind(row.op.to_string())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(OP, &row.op_id))?;
        tx.commit().await.map_err(StoreError::query(OP, &row.op_id))?;
        Ok(done.is_some())
    }

    /// Ops of `flow` persisted but never answered: a crash came between sending and
    /// recording the answer.
    pub async fn outbox_unsettled(&self, flow: &str) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_where(flow, "state = 'sending'").await
    }

    /// Every op of `flow`, oldest first.
    pub async fn outbox(&self, flow: &str) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_where(flow, "1 = 1").await
    }

    async fn outbox_where(&self, flow: &str, condition: &str) -> Result<Vec<OutboxRow>, StoreError> {
        const OP: &str = "outbox";
        let sql = format!(
            "SELECT op_id, flow, grp, connector, kind, action, external_id, op, state, attempts, error, \
             updated_at FROM flow_outbox WHERE flow = $1 AND {condition} ORDER BY created_at, op_id"
        );
        let rows = sqlx::query(&sql).bind(flow).fetch_all(&self.pool).await.map_err(StoreError::query(OP, flow))?;
        rows.iter()
            .map(|row| {
                let decode = || -> Result<OutboxRow, String> {
                    let kind: String = row.try_get("kind").map_err(|e| e.to_string())?;
                    let op: String = row.try_get("op").map_err(|e| e.to_string())?;
                    Ok(OutboxRow {
                        op_id: row.try_get("op_id").map_err(|e| e.to_string())?,
                        flow: row.try_get("flow").map_err(|e| e.to_string())?,
                        group: row.try_get("grp").map_err(|e| e.to_string())?,
                        connector: row.try_get("connector").map_err(|e| e.to_string())?,
                        kind: parse_kind(&kind)?,
                        action: row.try_get("action").map_err(|e| e.to_string())?,
                        external_id: row.try_get("external_id").map_err(|e| e.to_string())?,
                        op: serde_json::from_str(&op).map_err(|e| e.to_string())?,
                        state: row.try_get("state").map_err(|e| e.to_string())?,
                        attempts: row.try_get("attempts").map_err(|e| e.to_string())?,
                        error: row.try_get("error").map_err(|e| e.to_string())?,
                        updated_ms: row.try_get("updated_at").map_err(|e| e.to_string())?,
                    })
                };
                decode().map_err(|e| StoreError::corrupt(OP, flow, e))
            })
            .collect()
    }

    /// Every value of `field` that done ops of `flow` wrote to `record`, oldest first (read
    /// from the ops the outbox keeps): what of a set-valued field (task labels) is zveno's
    /// to take off again, as opposed to what people added.
    pub async fn outbox_written(
        &self,
        flow: &str,
        record: &RecordKey,
        field: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        const OP: &str = "outbox_written";
        let rows = sqlx::query(
            "SELECT op FROM flow_outbox WHERE flow = $1 AND connector = $2 AND kind = $3 AND external_id = $4 \
             AND state = 'done' ORDER BY created_at, op_id",
        )
        .bind(flow)
        .bind(&record.connector)
        .bind(record.kind.as_str())
        .bind(&record.external_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, record))?;
        let mut written = Vec::new();
        for row in &rows {
            let op: String = row.try_get("op").map_err(StoreError::query(OP, record))?;
            let op: serde_json::Value = serde_json::from_str(&op).map_err(|e| StoreError::corrupt(OP, record, e))?;
            let changes = op.get("changes").and_then(serde_json::Value::as_array).into_iter().flatten();
            written.extend(
                changes
                    .filter(|c| c.get("field").and_then(|f| f.as_str()) == Some(field))
                    .filter_map(|c| c.get("after").cloned()),
            );
        }
        Ok(written)
    }

    /// Records the vendor's success for `op_id` with everything it settles, at once.
    pub async fn outbox_done(&self, flow: &str, op_id: &str, settled: &WriteSettled) -> Result<(), StoreError> {
        const OP: &str = "outbox_done";
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, op_id))?;
        sqlx::query(
            "UPDATE flow_outbox SET state = 'done', error = NULL, external_id = COALESCE($2, external_id), \
             updated_at = $3 WHERE op_id = $1",
        )
        .bind(op_id)
        .bind(settled.record.as_ref().map(|k| k.external_id.clone()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(OP, op_id))?;
        if let Some(record) = &settled.record {
            for (field, written) in &settled.ledger {
                sqlx::query(
                    "INSERT INTO write_ledger (connector, kind, external_id, field, hash, written_at, sent) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (connector, kind, external_id, field) \
                     DO UPDATE SET hash = excluded.hash, written_at = excluded.written_at, sent = excluded.sent",
                )
                .bind(&record.connector)
                .bind(record.kind.as_str())
                .bind(&record.external_id)
                .bind(field)
                .bind(&written.hash)
                .bind(now)
                .bind(&written.sent)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP, op_id))?;
            }
            if let Some(group) = &settled.pair {
                sqlx::query(
                    "INSERT INTO flow_pairs (flow, grp, connector, kind, external_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (flow, grp) DO NOTHING",
                )
                .bind(flow)
                .bind(group)
                .bind(&record.connector)
                .bind(record.kind.as_str())
                .bind(&record.external_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP, op_id))?;
            }
        }
        agree_in(&mut tx, flow, &settled.agreed, now).await.map_err(StoreError::query(OP, op_id))?;
        tx.commit().await.map_err(StoreError::query(OP, op_id))
    }

    /// Records the vendor's refusal of `op_id`: the op is not retried until planned anew.
    pub async fn outbox_failed(&self, op_id: &str, error: &str) -> Result<(), StoreError> {
        const OP: &str = "outbox_failed";
        sqlx::query("UPDATE flow_outbox SET state = 'failed', error = $2, updated_at = $3 WHERE op_id = $1")
            .bind(op_id)
            .bind(error)
            .bind(self.now_ms())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(OP, op_id))?;
        Ok(())
    }

    /// Moves agreed bases: (target record, field, hash).
    pub async fn agree(&self, flow: &str, agreed: &[(RecordKey, String, String)]) -> Result<(), StoreError> {
        const OP: &str = "agree";
        if agreed.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, flow))?;
        agree_in(&mut tx, flow, agreed, self.now_ms()).await.map_err(StoreError::query(OP, flow))?;
        tx.commit().await.map_err(StoreError::query(OP, flow))
    }

    /// Queues `conflicts` of `flow`; one already open for the same record and field is
    /// refreshed with the values found now, and an open one not found again is closed
    /// (`taken = 'settled'`). Returns the open conflicts' count.
    pub async fn queue_conflicts(&self, flow: &str, conflicts: &[NewConflict]) -> Result<u64, StoreError> {
        const OP: &str = "queue_conflicts";
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, flow))?;
        let mut found = Vec::with_capacity(conflicts.len());
        for c in conflicts {
            let (source, source_value) = &c.source;
            let (target, target_value) = &c.target;
            let id = sqlx::query(
                "INSERT INTO flow_conflicts (flow, grp, field, source_connector, source_id, source_value, \
                 target_connector, kind, target_id, target_value, base, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $12) \
                 ON CONFLICT (flow, target_connector, kind, target_id, field) WHERE state = 'open' \
                 DO UPDATE SET source_connector = excluded.source_connector, source_id = excluded.source_id, \
                 source_value = excluded.source_value, target_value = excluded.target_value, \
                 base = excluded.base, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(flow)
            .bind(&c.group)
            .bind(&c.field)
            .bind(&source.connector)
            .bind(&source.external_id)
            .bind(source_value.to_string())
            .bind(&target.connector)
            .bind(target.kind.as_str())
            .bind(&target.external_id)
            .bind(target_value.to_string())
            .bind(&c.base)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get::<i64, _>("id"))
            .map_err(StoreError::query(OP, flow))?;
            found.push(id);
        }
        // An open conflict the plan no longer finds (the sides agree again, or one changed
        // back) is settled by itself.
        let sql = format!(
            "UPDATE flow_conflicts SET state = 'resolved', taken = 'settled', updated_at = $2 \
             WHERE flow = $1 AND state = 'open'{}",
            if found.is_empty() { String::new() } else { format!(" AND id NOT IN ({})", placeholders(3, found.len())) }
        );
        let mut query = sqlx::query(&sql).bind(flow).bind(now);
        for id in &found {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await.map_err(StoreError::query(OP, flow))?;
        tx.commit().await.map_err(StoreError::query(OP, flow))?;
        let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM flow_conflicts WHERE flow = $1 AND state = 'open'")
            .bind(flow)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(StoreError::query(OP, flow))?;
        Ok(u64::try_from(open).unwrap_or_default())
    }

    /// Conflicts, open ones only unless `all`.
    pub async fn conflicts(&self, all: bool) -> Result<Vec<ConflictRow>, StoreError> {
        const OP: &str = "conflicts";
        let sql = format!(
            "SELECT id, flow, grp, field, source_connector, source_id, source_value, target_connector, kind, \
             target_id, target_value, state, taken FROM flow_conflicts {} ORDER BY id",
            if all { "" } else { "WHERE state = 'open'" }
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(StoreError::query(OP, "flow_conflicts"))?;
        rows.iter().map(|row| decode_conflict(row).map_err(|e| StoreError::corrupt(OP, "flow_conflicts", e))).collect()
    }

    /// Settles open conflict `id` for `take` (`source` or `target`): the agreed base moves to
    /// the losing side's value, so the next plan sees only the winner's side as changed and
    /// writes it. Returns the conflict, or `None` when no open conflict has that id.
    pub async fn resolve_conflict(&self, id: i64, take: &str) -> Result<Option<ConflictRow>, StoreError> {
        const OP: &str = "resolve_conflict";
        let sql = "SELECT id, flow, grp, field, source_connector, source_id, source_value, target_connector, kind, \
                   target_id, target_value, state, taken FROM flow_conflicts WHERE id = $1 AND state = 'open'";
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await.map_err(StoreError::query(OP, id))?;
        let Some(row) = row else { return Ok(None) };
        let conflict = decode_conflict(&row).map_err(|e| StoreError::corrupt(OP, id, e))?;
        let loser = if take == "source" { &conflict.target_value } else { &conflict.source_value };
        let base = crate::flows::values::hash(loser);
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(StoreError::query(OP, id))?;
        agree_in(&mut tx, &conflict.flow, &[(conflict.target.clone(), conflict.field.clone(), base)], now)
            .await
            .map_err(StoreError::query(OP, id))?;
        sqlx::query("UPDATE flow_conflicts SET state = 'resolved', taken = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(take)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP, id))?;
        tx.commit().await.map_err(StoreError::query(OP, id))?;
        Ok(Some(ConflictRow { state: "resolved".into(), taken: Some(take.to_string()), ..conflict }))
    }
}

async fn agree_in(
    tx: &mut sqlx::AnyConnection,
    flow: &str,
    agreed: &[(RecordKey, String, String)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for (target, field, hash) in agreed {
        sqlx::query(
            "INSERT INTO flow_agreed (flow, connector, kind, external_id, field, hash, agreed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (flow, connector, kind, external_id, field) \
             DO UPDATE SET hash = excluded.hash, agreed_at = excluded.agreed_at",
        )
        .bind(flow)
        .bind(&target.connector)
        .bind(target.kind.as_str())
        .bind(&target.external_id)
        .bind(field)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn decode_conflict(row: &AnyRow) -> Result<ConflictRow, String> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(|e| e.to_string());
    let json = |col: &str| text(col).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()));
    let kind = parse_kind(&text("kind")?)?;
    Ok(ConflictRow {
        id: row.try_get("id").map_err(|e| e.to_string())?,
        flow: text("flow")?,
        group: text("grp")?,
        field: text("field")?,
        source: RecordKey { connector: text("source_connector")?, kind, external_id: text("source_id")? },
        source_value: json("source_value")?,
        target: RecordKey { connector: text("target_connector")?, kind, external_id: text("target_id")? },
        target_value: json("target_value")?,
        state: text("state")?,
        taken: row.try_get("taken").map_err(|e| e.to_string())?,
    })
}
