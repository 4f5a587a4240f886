//! One apply of a flow at a time across every instance sharing the store.
//!
//! A daemon applying a flow after a sync and a `zveno apply` in a shell (or two daemons)
//! would otherwise plan the same ops from the same store and both send them: the outbox
//! only refuses an op already `done`, not one another instance is sending. An apply
//! therefore runs under the flow's lease (a lease row, see `Store::acquire_flow_lease`),
//! kept alive by a heartbeat however long the vendors take, and every op enters the outbox
//! fenced by it: a holder that stalled past the lease's time to live, and lost it, has its
//! next op refused and stops. A holder that died loses the lease at expiry, or at once when
//! it was a process of this host that no longer exists.

use std::time::Duration;

use crate::store::{Heartbeat, Lease, LeaseHolder, Store, StoreError};

/// How long the lease lasts without a heartbeat (renewed every third of it): how soon
/// another instance applies the flow after a holder died elsewhere.
pub const FLOW_LEASE_TTL: Duration = Duration::from_secs(60);
/// How often a waiting apply looks again.
const POLL: Duration = Duration::from_millis(250);

/// The lease of one flow, held until [`FlowLease::release`] (or expiry).
#[derive(Debug)]
pub struct FlowLease {
    store: Store,
    lease: Lease,
    heartbeat: Heartbeat,
}

impl FlowLease {
    /// Takes flow `flow`'s lease for `holder` when it is free (or its holder died on this
    /// host); `Err` names the instance applying it now.
    pub async fn try_take(store: &Store, flow: &str, holder: &str) -> Result<Result<Self, LeaseHolder>, StoreError> {
        let taken = match store.acquire_flow_lease(flow, holder, FLOW_LEASE_TTL).await? {
            Err(held) if crate::engine::died_here(&held.holder) => {
                tracing::info!(flow, dead = %held.holder, "taking over the flow lease of a dead instance");
                store.take_over_flow_lease(flow, holder, FLOW_LEASE_TTL, &held.holder).await?
            }
            other => other,
        };
        Ok(taken.map(|lease| FlowLease {
            store: store.clone(),
            heartbeat: Heartbeat::start(store.clone(), lease.clone()),
            lease,
        }))
    }

    /// Waits for flow `flow`'s lease (as long as another holder keeps it alive) and takes it.
    pub async fn wait(store: &Store, flow: &str, holder: &str) -> Result<Self, StoreError> {
        let mut announced = false;
        loop {
            match Self::try_take(store, flow, holder).await? {
                Ok(lease) => return Ok(lease),
                Err(held) => {
                    if !announced {
                        tracing::info!(flow, holder = %held.holder, "waiting for another instance's apply of this flow");
                        announced = true;
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// The lease every outbox op presents.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Whether a renewal found the lease taken over: the apply must stop sending.
    pub fn lost(&self) -> bool {
        self.heartbeat.lost()
    }

    /// Gives the lease up at once (it would otherwise expire by itself).
    pub async fn release(self) {
        if let Err(e) = self.store.release_lease(&self.lease).await {
            tracing::warn!(flow = %self.lease.kind, error = %e, "cannot release the flow lease; it expires by itself");
        }
    }
}
