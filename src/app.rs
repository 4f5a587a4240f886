//! Building a runnable zveno from validated settings.

use std::sync::Arc;

use zveno_connector::{Clock, Kind};

use crate::engine::{Engine, Job};
use crate::flows::FlowRunner;
use crate::resolve::Resolver;
use crate::settings::Settings;
use crate::store::Store;

/// A store and the connectors configured against it.
#[derive(Debug)]
pub struct App {
    /// The engine (and its store).
    pub engine: Engine,
    /// One job per configured connector.
    pub jobs: Vec<Job>,
}

impl App {
    /// Connects the store (migrating it), builds every connector and the resolver.
    pub async fn build(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // The store stamps times (first seen, census, leases) on the engine's clock: the
        // census compares the two, and a store on another clock misses every deletion.
        let store = Store::connect(&settings.store_url).await?.with_clock(clock.clone());
        store.migrate().await?;
        let mut jobs = Vec::new();
        // One registry for the process: connectors on one vendor account share its budget,
        // and budgets known only by counting are tallied in the store for every instance.
        let accounts = zveno_connector::Accounts::default().with_ledger(Arc::new(store.clone()));
        for spec in settings.connectors.values() {
            for warning in spec.warnings(&settings.env) {
                tracing::warn!(connector = %spec.name, "config: {warning}");
            }
            let connector = spec
                .build(&settings.env, clock.clone(), &accounts)
                .map_err(|e| anyhow::anyhow!("connectors.{}: {e}", spec.name))?;
            let readable = connector.capabilities().read;
            let wanted = if spec.kinds.is_empty() { Kind::ALL.to_vec() } else { spec.kinds.clone() };
            let kinds = Kind::ALL.into_iter().filter(|k| wanted.contains(k) && readable.contains(k)).collect();
            jobs.push(Job { connector, kinds, schedule: spec.schedule, fingerprint: spec.fingerprint(&settings.env) });
        }
        let resolver = Resolver::new(store.clone(), settings.reconcile.clone(), settings.systems());
        let mut engine = Engine::new(store, clock).with_options(settings.engine.clone()).with_resolver(resolver);
        if !settings.flows.is_empty() {
            let connectors = jobs.iter().map(|j| (j.connector.name().to_string(), j.connector.clone())).collect();
            engine = engine.with_flows(Arc::new(FlowRunner::new(settings.flows.clone(), connectors)));
        }
        Ok(Self { engine, jobs })
    }

    /// The jobs, or only the one named `connector`.
    pub fn select(&self, connector: Option<&str>) -> anyhow::Result<Vec<Job>> {
        match connector {
            None => Ok(self.jobs.clone()),
            Some(name) => {
                let job = self.jobs.iter().find(|j| j.connector.name() == name).cloned().ok_or_else(|| {
                    let known: Vec<&str> = self.jobs.iter().map(|j| j.connector.name()).collect();
                    anyhow::anyhow!("no connector named {name:?} (configured: {})", known.join(", "))
                })?;
                Ok(vec![job])
            }
        }
    }
}
