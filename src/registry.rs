//! The one place that names vendor crates.
//!
//! Adding a vendor means adding its factory here (and its crate to Cargo.toml); the
//! engine, scheduler, store and CLI only ever see `Arc<dyn Connector>`.

use std::sync::Arc;

use zveno_connector::factory::VendorEntry;
use zveno_connector::Clock;
use zveno_sim::kit::LaunchedSim;
use zveno_sim::world::{System, SystemData};

/// Every vendor zveno can sync with.
pub fn vendors() -> Vec<VendorEntry> {
    vec![
        VendorEntry::of::<zveno_hubspot::HubSpotFactory>(),
        VendorEntry::of::<zveno_bitrix24::Bitrix24Factory>(),
        VendorEntry::of::<zveno_jira::JiraFactory>(),
        VendorEntry::of::<zveno_pipedrive::PipedriveFactory>(),
        // zveno's own minimal vendor: its simulator drives the engine's tests and the demo.
        VendorEntry::of::<zveno_sim::testvendor::TestVendorFactory>(),
    ]
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

/// The world systems `zveno demo` simulates, in the order their connectors sync.
pub fn simulated_systems() -> Vec<System> {
    vec![System::HubSpot, System::Bitrix24, System::Pipedrive, System::Jira]
}

/// The vendor name (`vendor = "..."`) of a simulated system.
pub fn system_vendor(system: System) -> &'static str {
    match system {
        System::HubSpot => "hubspot",
        System::Jira => "jira",
        System::Bitrix24 => "bitrix24",
        System::Pipedrive => "pipedrive",
        System::TestVendor => "testvendor",
    }
}

/// Starts the simulator of `system` holding `data`.
pub async fn launch_simulator(
    system: System,
    data: SystemData,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<LaunchedSim> {
    match system {
        System::HubSpot => zveno_hubspot::launch(data, clock, seed).await,
        System::Bitrix24 => zveno_bitrix24::simulator::launch(data, clock, seed).await,
        System::Jira => zveno_jira::launch(data, clock, seed).await,
        System::Pipedrive => zveno_pipedrive::launch(data, clock, seed).await,
        System::TestVendor => zveno_sim::testvendor::launch(&data, clock, seed).await.map(|(launched, _)| launched),
    }
}
