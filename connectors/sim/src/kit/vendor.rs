//! What a vendor crate's simulator gives the daemon's registry: the vendor's profile in a
//! generated world and how to start its simulator on a world's data. `zveno demo`, `zveno
//! bench sync` and the end-to-end tests start simulators only through these entries, so
//! they name no vendor.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use zveno_connector::Clock;

use super::LaunchedSim;
use crate::world::{System, SystemData};

/// A started simulator, on its way.
pub type Launching = Pin<Box<dyn Future<Output = std::io::Result<LaunchedSim>> + Send>>;

/// Starts a vendor's simulator holding `data`, on `clock`, seeded with `seed`.
pub type LaunchFn = fn(SystemData, Arc<dyn Clock>, u64) -> Launching;

/// A vendor's simulator, as the registry lists it.
#[derive(Debug, Clone, Copy)]
pub struct SimulatorEntry {
    /// The vendor as a system of a generated world (its profile).
    pub system: System,
    /// Starts its simulator.
    pub launch: LaunchFn,
}
