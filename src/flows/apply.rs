//! Applying a flow: plan, persist each op in the outbox, push, settle each answer.
//!
//! Order matters for crashes. The agreed bases the plan found and the conflicts it queued
//! are stored first (they write nothing to vendors). Each op is then written to the outbox
//! (`sending`) before `push`; the vendor's answer is recorded with all it settles — the
//! ledger (what the record holds now, read back by id, so the echo of a vendor that
//! reformats a value is still recognised), the agreed base, the pair of a create — in one
//! transaction. A crash in between leaves the op `sending`: an update is sent again with
//! the same values (harmless), while a create blocks its group from being created again
//! until it is settled by its idempotency handle ([`super::recover`],
//! [`ApplyReport::unsettled`]); it is never resent blindly.
//!
//! An apply runs under the flow's lease ([`super::lease`]): one instance at a time plans
//! and sends a flow's ops, and each op enters the outbox fenced by that lease.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use zveno_connector::{Connector, ErrorKind, WriteAction, WriteOp};

use super::data::{labels_in, record_data};
use super::lease::FlowLease;
use super::load;
use super::plan::{plan, Action, PlannedOp};
use super::recover::recover;
use super::spec::Flow;
use super::values::{self, Values};
use crate::store::{NewConflict, OutboxRow, RecordKey, Store, StoreError, WriteSettled, Written};

/// What one apply did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    /// The flow.
    pub flow: String,
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Records archived.
    pub archived: u64,
    /// Ops the vendor refused (or that could not be sent), with why.
    pub failed: Vec<(String, String)>,
    /// Ops planned again that the outbox had already done.
    pub already_done: u64,
    /// Creates sent before a crash whose answer was never recorded, and that their
    /// idempotency handle could not settle yet.
    pub unsettled: u64,
    /// Creates sent before a crash, found at the vendor by their handle and settled.
    pub recovered: u64,
    /// Conflicts open for this flow after this apply.
    pub conflicts_open: u64,
    /// People not mapped (fields left out of writes).
    pub unmapped: u64,
    /// `push` calls made (each one or more vendor batches).
    pub push_calls: u64,
}

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another instance is applying the flow now (see [`apply_as`]).
    #[error(
        "flow {flow} is being applied by instance {holder} (its lease runs until {until} unless renewed); \
         nothing sent"
    )]
    Held {
        /// The flow.
        flow: String,
        /// The instance holding the flow's lease.
        holder: String,
        /// When its lease expires unless renewed.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// This apply lost the flow's lease mid-way (it stalled past the lease's time to live
    /// and another instance took the flow over): it stopped sending.
    #[error("flow {flow}: the lease was taken over by another instance mid-apply; this apply stopped sending")]
    LeaseLost {
        /// The flow.
        flow: String,
    },
    /// The flow names a connector that was not built.
    #[error("flow {flow}: no connector {connector:?}")]
    Missing {
        /// The flow.
        flow: String,
        /// The connector.
        connector: String,
    },
}

/// Plans `flow` and applies it through `connectors` (by name), waiting first for another
/// instance's apply of it to end.
pub async fn apply(
    store: &Store,
    flow: &Flow,
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
) -> Result<ApplyReport, ApplyError> {
    apply_as(store, flow, connectors, &crate::engine::instance_id(), true).await
}

/// [`apply`] as instance `holder`: while another instance applies the flow, waits for it to
/// end when `wait`, and is otherwise refused with [`ApplyError::Held`].
pub async fn apply_as(
    store: &Store,
    flow: &Flow,
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
    holder: &str,
    wait: bool,
) -> Result<ApplyReport, ApplyError> {
    let lease = if wait {
        FlowLease::wait(store, &flow.name, holder).await?
    } else {
        FlowLease::try_take(store, &flow.name, holder).await?.map_err(|held| ApplyError::Held {
            flow: flow.name.clone(),
            holder: held.holder,
            until: held.expires_at,
        })?
    };
    let report = apply_leased(store, flow, connectors, &lease).await;
    lease.release().await;
    report
}

/// Plans `flow` and applies it under `lease`, the flow's lease.
async fn apply_leased(
    store: &Store,
    flow: &Flow,
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
    lease: &FlowLease,
) -> Result<ApplyReport, ApplyError> {
    let recovered = recover(store, flow, connectors).await?;
    let (input, _) = load::input(store, flow).await?;
    let planned = plan(flow, &input);
    let mut report = ApplyReport {
        flow: flow.name.clone(),
        unmapped: planned.unmapped.len() as u64,
        recovered: recovered.found,
        ..Default::default()
    };
    report.unsettled = store.outbox_unsettled(&flow.name).await?.iter().filter(|r| r.action == "create").count() as u64;
    let agreed: Vec<(RecordKey, String, String)> =
        planned.agreements.iter().map(|a| (a.target.clone(), a.field.clone(), a.hash.clone())).collect();
    store.agree(&flow.name, &agreed).await?;
    let conflicts: Vec<NewConflict> = planned
        .conflicts
        .iter()
        .map(|c| NewConflict {
            group: c.group.clone(),
            field: c.field.clone(),
            source: (c.source.clone(), c.source_value.clone()),
            target: (c.target.clone(), c.target_value.clone()),
            base: c.base.clone(),
        })
        .collect();
    report.conflicts_open = store.queue_conflicts(&flow.name, &conflicts).await?;
    let current: BTreeMap<&RecordKey, &Values> =
        input.groups.iter().flat_map(|g| g.sources.iter().chain(&g.targets)).map(|s| (&s.key, &s.values)).collect();
    let mut by_connector: BTreeMap<&str, Vec<&PlannedOp>> = BTreeMap::new();
    for op in &planned.ops {
        by_connector.entry(op.connector.as_str()).or_default().push(op);
    }
    for (name, ops) in by_connector {
        let connector = connectors
            .get(name)
            .ok_or_else(|| ApplyError::Missing { flow: flow.name.clone(), connector: name.to_string() })?;
        let mut sending: Vec<(WriteOp, &PlannedOp)> = Vec::new();
        for op in ops {
            let key = op.external_id.as_ref().map(|id| RecordKey {
                connector: op.connector.clone(),
                kind: op.kind,
                external_id: id.clone(),
            });
            let written = match &key {
                Some(k) if op.changes.iter().any(|c| c.field == "labels") => {
                    labels_in(&store.outbox_written(&flow.name, k, "labels").await?)
                }
                _ => BTreeSet::new(),
            };
            let action = match op.action {
                Action::Create => record_data(op.kind, &op.changes, None, op.client.as_deref(), &written)
                    .map(|data| WriteAction::Create { data }),
                Action::Update => {
                    let held = key.as_ref().and_then(|k| current.get(k).copied());
                    record_data(op.kind, &op.changes, held, op.client.as_deref(), &written).map(|data| {
                        WriteAction::Update { external_id: op.external_id.clone().unwrap_or_default(), data }
                    })
                }
                Action::Archive => Ok(WriteAction::Archive { external_id: op.external_id.clone().unwrap_or_default() }),
            };
            let action = match action {
                Ok(action) => action,
                Err(e) => {
                    report.failed.push((op.op_id.clone(), e));
                    continue;
                }
            };
            let row = OutboxRow {
                op_id: op.op_id.clone(),
                flow: flow.name.clone(),
                group: op.group.clone(),
                connector: op.connector.clone(),
                kind: op.kind,
                action: action_name(op.action).to_string(),
                external_id: op.external_id.clone().filter(|_| op.action != Action::Create),
                op: serde_json::to_value(op).unwrap_or_default(),
                state: "sending".into(),
                attempts: 0,
                error: None,
                updated_ms: 0,
            };
            if !store.outbox_begin(&row, lease.lease()).await? {
                report.already_done += 1;
                continue;
            }
            sending.push((WriteOp { op_id: op.op_id.clone(), action }, op));
        }
        if sending.is_empty() {
            continue;
        }
        // The fence refused any op of a holder that lost the lease; a renewal right before
        // sending narrows the window a holder stalled after its last op entered the outbox
        // to the request itself.
        if lease.lost() || !store.renew_lease(lease.lease()).await? {
            return Err(ApplyError::LeaseLost { flow: flow.name.clone() });
        }
        let write_ops: Vec<WriteOp> = sending.iter().map(|(w, _)| w.clone()).collect();
        report.push_calls += 1;
        let outcomes = match connector.push(flow.kind, &write_ops).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // Refused before anything was written: the ops failed. Otherwise some may
                // have been written: they stay `sending` (updates are sent again with the
                // same values; a create waits to be settled, never resent blindly).
                let nothing_written = matches!(e.kind(), ErrorKind::Auth | ErrorKind::Config | ErrorKind::Unsupported);
                for (w, _) in &sending {
                    if nothing_written {
                        store.outbox_failed(&w.op_id, &e.to_string()).await?;
                    }
                    report.failed.push((w.op_id.clone(), e.to_string()));
                }
                continue;
            }
        };
        let answers: BTreeMap<&str, Result<String, String>> =
            outcomes.iter().map(|o| (o.op_id.as_str(), o.result.clone().map_err(|e| e.to_string()))).collect();
        let written: Vec<String> = answers.values().filter_map(|r| r.as_ref().ok().cloned()).collect();
        let read_back = read_back(connector.as_ref(), flow, &written).await;
        for (w, op) in &sending {
            match answers.get(w.op_id.as_str()) {
                Some(Ok(id)) => {
                    let record = RecordKey { connector: op.connector.clone(), kind: op.kind, external_id: id.clone() };
                    let settled = settle(flow, op, record, read_back.get(id));
                    store.outbox_done(&flow.name, &op.op_id, &settled).await?;
                    match op.action {
                        Action::Create => report.created += 1,
                        Action::Update => report.updated += 1,
                        Action::Archive => report.archived += 1,
                    }
                }
                Some(Err(e)) => {
                    store.outbox_failed(&op.op_id, e).await?;
                    report.failed.push((op.op_id.clone(), e.clone()));
                }
                None => report.failed.push((op.op_id.clone(), "the connector gave no answer for this op".into())),
            }
        }
    }
    Ok(report)
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Archive => "archive",
    }
}

/// What the written records hold now, read back by id; empty when the read fails (the
/// ledger then keeps what was sent).
pub(super) async fn read_back(connector: &dyn Connector, flow: &Flow, ids: &[String]) -> BTreeMap<String, Values> {
    if ids.is_empty() {
        return BTreeMap::new();
    }
    match connector.fetch(flow.kind, ids).await {
        Ok(fetched) => fetched
            .records
            .into_iter()
            .map(|r| {
                let data = r.data.as_ref().and_then(|d| serde_json::to_value(d).ok()).unwrap_or_default();
                (r.external_id, values::read(flow.kind, &data, &flow.fields))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(flow = %flow.name, connector = connector.name(), error = %e, "written records not read back");
            BTreeMap::new()
        }
    }
}

/// Everything a successful op settles: the ledger of the written record, the agreed base
/// (per target record), and the pair of a create.
pub(super) fn settle(flow: &Flow, op: &PlannedOp, record: RecordKey, now: Option<&Values>) -> WriteSettled {
    let ledger = op
        .changes
        .iter()
        .map(|c| {
            let held = now.and_then(|v| v.get(&c.field)).unwrap_or(&c.after);
            (c.field.clone(), Written { hash: values::hash(held), sent: Some(values::hash(&c.after)) })
        })
        .collect();
    // The base lives on the target record: the one written, or, for a two-way write-back
    // to a source, the target whose value it carries.
    let target = if op.connector == flow.to { record.clone() } else { op.from.clone() };
    let agreed = op.changes.iter().map(|c| (target.clone(), c.field.clone(), values::hash(&c.after))).collect();
    WriteSettled { record: Some(record), ledger, agreed, pair: (op.action == Action::Create).then(|| op.group.clone()) }
}
