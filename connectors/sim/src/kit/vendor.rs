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
    /// Starts its simulator with a hold on its records, for `zveno bench cost` (none: the
    /// vendor is not benchmarked).
    pub bench: Option<BenchLaunchFn>,
}

/// A simulator that a benchmark drives from outside the process it measures: where it
/// listens, the options and credentials that point a connector at it, and its records.
pub struct BenchSim {
    /// The vendor name (`vendor = "..."`).
    pub vendor: &'static str,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Vendor options, secrets by reference (`*_env`), without `vendor` and `base_url`.
    pub options: serde_json::Value,
    /// The environment variables those references name, with the values it accepts.
    pub env: Vec<(String, String)>,
    /// Its records, changed between a full and an incremental sync as users would and
    /// counted; owns the simulator, so dropping the `BenchSim` stops it.
    pub records: Box<dyn crate::conformance::SimControls>,
}

impl std::fmt::Debug for BenchSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchSim").field("vendor", &self.vendor).field("url", &self.url).finish_non_exhaustive()
    }
}

/// A started benchmark simulator, on its way.
pub type BenchLaunching = Pin<Box<dyn Future<Output = std::io::Result<BenchSim>> + Send>>;

/// Starts a vendor's simulator holding `data` for a benchmark.
pub type BenchLaunchFn = fn(SystemData, Arc<dyn Clock>, u64) -> BenchLaunching;
