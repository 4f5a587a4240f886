//! The one place that names vendor crates.
//!
//! Adding a vendor means adding its factory here (and its crate to Cargo.toml); the
//! engine, scheduler, store and CLI only ever see `Arc<dyn Connector>`.

use std::sync::Arc;

use zveno_connector::factory::VendorEntry;
use zveno_connector::{Clock, Kind};
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

/// A running simulator that a benchmark drives from outside the process it measures: where
/// it listens, the `[connectors.<name>]` options and credentials that point a connector at
/// it, and a way to change records in it as users would (`zveno bench cost`).
pub struct BenchSim {
    /// The vendor name (`vendor = "..."`).
    pub vendor: &'static str,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Vendor options, secrets by reference (`*_env`).
    pub options: serde_json::Value,
    /// The environment variables those references name, with the values it accepts.
    pub env: Vec<(String, String)>,
    /// Changes `n` live records of a kind now; returns their ids. Owns the simulator, so
    /// dropping the `BenchSim` stops it.
    touch: Box<dyn Fn(Kind, usize) -> Vec<String> + Send + Sync>,
    /// Records of a kind the simulator holds.
    count: Box<dyn Fn(Kind) -> usize + Send + Sync>,
}

impl std::fmt::Debug for BenchSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchSim").field("vendor", &self.vendor).field("url", &self.url).finish_non_exhaustive()
    }
}

impl BenchSim {
    /// Changes `n` live records of `kind` now (the vendor's modification time moves, and the
    /// payload with it); returns their ids.
    pub fn touch(&self, kind: Kind, n: usize) -> Vec<String> {
        (self.touch)(kind, n)
    }

    /// Records of `kind` the simulator holds.
    pub fn count(&self, kind: Kind) -> usize {
        (self.count)(kind)
    }
}

/// The environment variable a simulator's options name for its token (`token_env`).
fn token_env(options: &serde_json::Value) -> String {
    options.get("token_env").and_then(serde_json::Value::as_str).unwrap_or_default().to_string()
}

/// Starts the simulator of `system` holding `data`, with a handle to change its records.
pub async fn launch_bench_simulator(
    system: System,
    data: SystemData,
    clock: Arc<dyn Clock>,
    seed: u64,
) -> std::io::Result<BenchSim> {
    const TOKEN: &str = "bench-token-not-a-secret";
    let vendor = system_vendor(system);
    Ok(match system {
        System::HubSpot => {
            let sim = zveno_hubspot::HubSpotSim::start(&data, clock, seed, zveno_hubspot::SimOptions::new(TOKEN)).await?;
            let (url, options) = (sim.url(), sim.connector_options());
            let env = vec![(token_env(&options), sim.token())];
            let sim = Arc::new(sim);
            let counted = sim.clone();
            BenchSim {
                vendor,
                url,
                options,
                env,
                touch: Box::new(move |kind, n| sim.touch(kind, n)),
                count: Box::new(move |kind| counted.count(kind)),
            }
        }
        System::Pipedrive => {
            let sim = zveno_pipedrive::PipedriveSim::start(&data, clock, seed, zveno_pipedrive::SimOptions::new(TOKEN))
                .await?;
            let (url, options) = (sim.url(), sim.connector_options());
            let env = vec![(token_env(&options), sim.token())];
            let sim = Arc::new(sim);
            let counted = sim.clone();
            BenchSim {
                vendor,
                url,
                options,
                env,
                touch: Box::new(move |kind, n| sim.touch(kind, n)),
                count: Box::new(move |kind| counted.count(kind)),
            }
        }
        System::Jira => {
            let sim = zveno_jira::JiraSim::start(data, clock, seed, zveno_jira::SimOptions::default()).await?;
            let (url, options) = (sim.url(), sim.connector_options());
            let env = vec![(token_env(&options), sim.options().token.clone())];
            let sim = Arc::new(sim);
            let counted = sim.clone();
            BenchSim {
                vendor,
                url,
                options,
                env,
                touch: Box::new(move |kind, n| if kind == Kind::Task { sim.touch(n) } else { Vec::new() }),
                count: Box::new(move |kind| if kind == Kind::Task { counted.count() } else { 0 }),
            }
        }
        System::TestVendor => return Err(std::io::Error::other("the test vendor has no benchmark simulator")),
        System::Bitrix24 => {
            let (launched, sim) = zveno_bitrix24::simulator::launch_with_handle(&data, clock, seed).await?;
            let (url, options, env) = (launched.server.url(), launched.options.clone(), launched.env.clone());
            let sim = Arc::new((launched, sim));
            let counted = sim.clone();
            BenchSim {
                vendor,
                url,
                options,
                env,
                touch: Box::new(move |kind, n| sim.1.touch(kind, n)),
                count: Box::new(move |kind| counted.1.count(kind)),
            }
        }
    })
}
