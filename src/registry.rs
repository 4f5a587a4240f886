//! The one place that names vendor crates: one list, one line per vendor.
//!
//! Each line pairs a vendor's typed factory (settings, capabilities, id forms: its
//! [`VendorEntry`]) with its simulator (world profile and launcher). Everything else
//! derives from this list: config validation and builds, the log filter, task hints,
//! `zveno demo`, the benches and the sim world. Adding a vendor is its crate, its line here
//! and its dependency in Cargo.toml; the engine, scheduler, store and CLI only ever see
//! `Arc<dyn Connector>`.

use std::sync::Arc;

use zveno_connector::factory::VendorEntry;
use zveno_connector::{Clock, ConnectorFactory};
use zveno_sim::kit::{LaunchedSim, SimulatorEntry};
use zveno_sim::world::{System, SystemData};

/// One vendor: how to build its connectors, and its simulator.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    /// The type-erased factory.
    pub entry: VendorEntry,
    /// Its simulator and world profile.
    pub simulator: SimulatorEntry,
    /// Whether `zveno demo` and the benches start it (zveno's own test vendor: no).
    pub demo: bool,
}

impl Vendor {
    /// A vendor from its factory and its simulator.
    fn of<F: ConnectorFactory>(simulator: SimulatorEntry) -> Self {
        Self { entry: VendorEntry::of::<F>(), simulator, demo: true }
    }

    /// Kept out of `zveno demo` and the benches.
    fn without_demo(self) -> Self {
        Self { demo: false, ..self }
    }
}

/// Every vendor zveno can sync with: THE list.
pub fn all() -> Vec<Vendor> {
    vec![
        Vendor::of::<zveno_hubspot::HubSpotFactory>(zveno_hubspot::simulator::entry()),
        Vendor::of::<zveno_bitrix24::Bitrix24Factory>(zveno_bitrix24::simulator::entry()),
        Vendor::of::<zveno_jira::JiraFactory>(zveno_jira::simulator::entry()),
        Vendor::of::<zveno_pipedrive::PipedriveFactory>(zveno_pipedrive::simulator::entry()),
        // zveno's own minimal vendor: its simulator drives the engine's tests.
        Vendor::of::<zveno_sim::testvendor::TestVendorFactory>(zveno_sim::testvendor::simulator()).without_demo(),
    ]
}

/// Every vendor's factory.
pub fn vendors() -> Vec<VendorEntry> {
    all().into_iter().map(|v| v.entry).collect()
}

/// The log target of each vendor crate: crates are named `zveno-<vendor>`, so their
/// targets are `zveno_<vendor>` (the test vendor's is unused: it logs as `zveno_sim`).
pub fn log_targets() -> Vec<String> {
    vendors().iter().map(|v| format!("zveno_{}", v.vendor)).collect()
}

/// The factory for `vendor`, if zveno knows it.
pub fn vendor(vendor: &str) -> Option<VendorEntry> {
    vendors().into_iter().find(|v| v.vendor == vendor)
}

/// The world systems `zveno demo` simulates, in the order their connectors sync: CRMs
/// first, then trackers (whose client hints name CRM records).
pub fn simulated_systems() -> Vec<System> {
    let mut systems: Vec<System> = all().into_iter().filter(|v| v.demo).map(|v| v.simulator.system).collect();
    systems.sort_by_key(|s| !s.profile().crm);
    systems
}

/// The vendor name (`vendor = "..."`) of a simulated system.
pub fn system_vendor(system: System) -> &'static str {
    system.vendor()
}

/// Starts the simulator of `system` holding `data`.
pub async fn launch_simulator(
    system: System,
    data: SystemData,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<LaunchedSim> {
    let Some(vendor) = all().into_iter().find(|v| v.simulator.system == system) else {
        return Err(std::io::Error::other(format!("no simulator for {}", system.vendor())));
    };
    (vendor.simulator.launch)(data, clock, seed).await
}
