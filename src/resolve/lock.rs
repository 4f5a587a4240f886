//! The store-wide resolution lock: identity resolution rewrites clusters from what it
//! reads, so two resolutions interleaving (two daemons, or a daemon and `zveno link` in a
//! shell) could each write clusters built from the other's half-written state. Every
//! resolution therefore runs under one lock in the store (a lease row, see
//! `Store::acquire_lock`), after the process's own mutex: its reads and its writes happen
//! while no other resolution anywhere runs. A holder that dies loses the lock at expiry.

use std::time::Duration;

use crate::store::{Heartbeat, Lease, Store, StoreError};

/// How long the lock lasts without a heartbeat (renewed every third of it).
const LOCK_TTL: Duration = Duration::from_secs(60);
/// How often a waiting resolution looks again.
const POLL: Duration = Duration::from_millis(250);

/// The lock, held until dropped after [`StoreLock::release`].
#[derive(Debug)]
pub(super) struct StoreLock {
    store: Store,
    lease: Lease,
    _heartbeat: Heartbeat,
}

impl StoreLock {
    /// Waits for the lock (as long as another holder keeps it alive) and takes it.
    pub(super) async fn acquire(store: &Store, holder: &str) -> Result<StoreLock, StoreError> {
        let mut announced = false;
        loop {
            match store.acquire_lock(holder, LOCK_TTL).await? {
                Ok(lease) => {
                    let heartbeat = Heartbeat::start(store.clone(), lease.clone());
                    return Ok(StoreLock { store: store.clone(), lease, _heartbeat: heartbeat });
                }
                Err(held) => {
                    if !announced {
                        tracing::info!(holder = %held.holder, "waiting for another instance's identity resolution");
                        announced = true;
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Gives the lock up at once (it would otherwise expire by itself).
    pub(super) async fn release(self) {
        if let Err(e) = self.store.release_lease(&self.lease).await {
            tracing::warn!(error = %e, "cannot release the resolution lock; it expires by itself");
        }
    }
}
