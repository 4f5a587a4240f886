//! The daemon pointed at running vendor simulators, as an operator's config would point it
//! at the vendors: one connector per simulator (named after its vendor), the options the
//! simulator gives, credentials through the environment, on a virtual clock (vendor rate
//! limits cost no wall time).

use std::sync::Arc;

use zveno::app::App;
use zveno::engine::Shutdown;
use zveno::resolve::ResolveReport;
use zveno::store::RunStatus;
use zveno_connector::{Clock, Env};
use zveno_sim::kit::LaunchedSim;

/// The daemon and the simulators it syncs with.
pub struct Simulated {
    pub app: App,
    _sims: Vec<LaunchedSim>,
    _config: tempfile::TempDir,
}

impl Simulated {
    /// Builds the daemon for `sims`, writing to `store_url`.
    pub async fn start(sims: Vec<LaunchedSim>, store_url: &str, clock: Arc<dyn Clock>) -> Self {
        let mut connectors = toml::Table::new();
        let mut env = Vec::new();
        for sim in &sims {
            let mut table = toml::Table::new();
            table.insert("vendor".into(), sim.vendor.into());
            table.insert("base_url".into(), sim.server.url().into());
            for (key, value) in sim.options.as_object().into_iter().flatten() {
                table.insert(key.clone(), toml::Value::try_from(value).unwrap());
            }
            connectors.insert(sim.vendor.to_string(), toml::Value::Table(table));
            env.extend(sim.env.clone());
        }
        let config = tempfile::tempdir().unwrap();
        let path = config.path().join("zveno.toml");
        let root = toml::Table::from_iter([("connectors".to_string(), toml::Value::Table(connectors))]);
        let text = format!("[store]\nurl = \"{store_url}\"\n\n{}", toml::to_string(&root).unwrap());
        std::fs::write(&path, text).unwrap();
        let settings = zveno::settings::load(Some(&path), &Env::from_pairs(env)).unwrap();
        let app = App::build(&settings, clock).await.unwrap();
        Self { app, _sims: sims, _config: config }
    }

    /// A full sync of every connector, then resolution.
    pub async fn sync(&self) -> ResolveReport {
        let shutdown = Shutdown::new();
        for job in &self.app.jobs {
            for run in self.app.engine.sync_job(job, true, &shutdown).await {
                let run = run.unwrap();
                assert_eq!(run.status, RunStatus::Ok, "{run:?}");
            }
        }
        self.app.engine.resolve().await.unwrap().unwrap()
    }
}
