//! Flows in the daemon: after each sync (and the identity resolution that follows it),
//! every flow that reads or writes the synced connector is applied when it says
//! `apply = true`, and otherwise only planned and logged (the plan is what `zveno plan`
//! shows). One flow at a time: syncs of several connectors finish concurrently. A flow
//! another instance is applying (its lease, see [`super::lease`]) is skipped: that
//! instance sends its ops, and the next sync here plans again from what the store holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use zveno_connector::Connector;

use super::apply::{apply_as, ApplyError};
use super::spec::Flow;
use super::{load, plan};
use crate::store::Store;

/// The configured flows and the connectors they write through.
#[derive(Debug)]
pub struct FlowRunner {
    flows: Vec<Flow>,
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    lock: tokio::sync::Mutex<()>,
}

impl FlowRunner {
    /// A runner for `flows` over `connectors` (by name).
    pub fn new(flows: Vec<Flow>, connectors: BTreeMap<String, Arc<dyn Connector>>) -> Self {
        Self { flows, connectors, lock: tokio::sync::Mutex::new(()) }
    }

    /// Whether any flow is configured.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Applies (or plans) the flows touching `connector`, as instance `instance`. Failures
    /// are logged; the next sync tries again from what the store holds.
    pub async fn after_sync(&self, store: &Store, connector: &str, instance: &str) {
        let _one_at_a_time = self.lock.lock().await;
        for flow in self.flows.iter().filter(|f| f.reads(connector) || f.to == connector) {
            if flow.apply {
                match apply_as(store, flow, &self.connectors, instance, false).await {
                    Ok(r) => tracing::info!(
                        flow = %flow.name,
                        created = r.created,
                        updated = r.updated,
                        archived = r.archived,
                        failed = r.failed.len(),
                        conflicts = r.conflicts_open,
                        unmapped = r.unmapped,
                        "flow applied"
                    ),
                    Err(e @ ApplyError::Held { .. }) => tracing::info!(flow = %flow.name, "{e}; skipped here"),
                    Err(e) => {
                        tracing::warn!(flow = %flow.name, error = %e, "flow not applied; will retry after the next sync")
                    }
                }
                continue;
            }
            match load::input(store, flow).await {
                Ok((input, _)) => {
                    let p = plan(flow, &input);
                    if !p.ops.is_empty() || !p.conflicts.is_empty() {
                        tracing::info!(
                            flow = %flow.name,
                            ops = p.ops.len(),
                            conflicts = p.conflicts.len(),
                            unmapped = p.unmapped.len(),
                            "flow planned, not applied (apply = false; see `zveno plan`)"
                        );
                    }
                }
                Err(e) => tracing::warn!(flow = %flow.name, error = %e, "flow not planned"),
            }
        }
    }
}
