//! Settling the creates a crash left unanswered, before a flow is planned again.
//!
//! A create is in the outbox (`sending`) before it is sent; a crash before its answer was
//! recorded leaves it there, and its group is never planned for another create while it
//! is (see [`super::apply`]). Each connector stamps a create with its op id as the
//! idempotency handle, so the next apply asks the vendor for that handle
//! ([`Connector::find_created`]): found, the create is settled as the vendor's answer
//! would have settled it (the pair, the ledger read back, the agreed base); certainly
//! absent, it was never written and is marked failed, so the plan makes the same op (same
//! id) again and it is sent; unknown (a lagging search index, a connector without
//! look-ups, an error), it keeps waiting. Nothing is resent blindly.
//!
//! An update or archive left unanswered is released instead (marked failed, saying so):
//! setting fields to values, or archiving, may be done twice, and the plan decides afresh —
//! the same op (same id) if it is still needed, a newer one if the values moved on — so an
//! op a later edit superseded does not stay `sending` for ever.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::{Connector, ErrorKind};

use super::apply::{read_back, settle, ApplyError};
use super::plan::PlannedOp;
use super::spec::Flow;
use crate::store::{OutboxRow, RecordKey, Store};

/// What settling unanswered creates did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Found at the vendor by their handle and settled.
    pub found: u64,
    /// Certainly never written: planned and sent again.
    pub absent: u64,
    /// Still unknown: left waiting.
    pub waiting: u64,
    /// Updates and archives released to the plan.
    pub released: u64,
}

/// Why an unanswered update or archive was released.
const RELEASED: &str = "interrupted before its answer was recorded; released: the plan writes it again if still needed";

/// Looks every unanswered create of `flow` up by its handle and settles what it can.
pub async fn recover(
    store: &Store,
    flow: &Flow,
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
) -> Result<Recovered, ApplyError> {
    let mut out = Recovered::default();
    for row in store.outbox_unsettled(&flow.name).await? {
        if row.action != "create" {
            store.outbox_failed(&row.op_id, RELEASED).await?;
            out.released += 1;
            continue;
        }
        let Some(connector) = connectors.get(&row.connector) else {
            out.waiting += 1;
            continue;
        };
        let sent = chrono::DateTime::from_timestamp_millis(row.updated_ms).unwrap_or_default();
        match connector.find_created(row.kind, &row.op_id, sent).await {
            Ok(Some(id)) => {
                settle_found(store, flow, connector.as_ref(), &row, id).await?;
                out.found += 1;
            }
            Ok(None) => {
                let why = "not found at the vendor by its idempotency handle: never written, planned again";
                store.outbox_failed(&row.op_id, why).await?;
                out.absent += 1;
            }
            Err(e) => {
                if e.kind() != ErrorKind::Unsupported {
                    tracing::warn!(flow = %flow.name, op = %row.op_id, error = %e, "an unanswered create was not looked up");
                }
                out.waiting += 1;
            }
        }
    }
    Ok(out)
}

/// Settles `row` as made record `id`: as its answer would have, from the op it kept.
async fn settle_found(
    store: &Store,
    flow: &Flow,
    connector: &dyn Connector,
    row: &OutboxRow,
    id: String,
) -> Result<(), ApplyError> {
    let record = RecordKey { connector: row.connector.clone(), kind: row.kind, external_id: id };
    let settled = match serde_json::from_value::<PlannedOp>(row.op.clone()) {
        Ok(op) => {
            let now = read_back(connector, flow, std::slice::from_ref(&record.external_id)).await;
            settle(flow, &op, record.clone(), now.get(&record.external_id))
        }
        // An op kept by an older zveno: the pair alone still stops a second create.
        Err(_) => {
            crate::store::WriteSettled { record: Some(record), pair: Some(row.group.clone()), ..Default::default() }
        }
    };
    store.outbox_done(&flow.name, &row.op_id, &settled).await?;
    Ok(())
}
