//! `zveno check`: config problems first (all of them), then the store, then each
//! connector's read-only `check()` and, for every kind a flow creates in it, the setup its
//! creates need (`check_creates`: the field holding their idempotency handle).

use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::{Connector, ConnectorError, SystemClock};

use crate::flows::Flow;
use crate::settings::{ConfigErrors, Settings};
use crate::store::Store;

pub(super) async fn run(load: impl FnOnce() -> anyhow::Result<Settings>, offline: bool) -> anyhow::Result<ExitCode> {
    let settings = match load() {
        Ok(s) => s,
        Err(e) => match e.downcast::<ConfigErrors>() {
            Ok(problems) => {
                out!("config: {} problem(s)", problems.0.len());
                for p in &problems.0 {
                    out!("  ✗ {p}");
                }
                return Ok(ExitCode::from(2));
            }
            Err(other) => return Err(other),
        },
    };
    out!("config: ok ({} connector(s))", settings.connectors.len());
    for spec in settings.connectors.values() {
        for warning in spec.warnings(&settings.env) {
            out!("  ⚠ {warning}");
        }
    }
    if offline {
        return Ok(ExitCode::SUCCESS);
    }
    let mut healthy = true;
    match Store::connect(&settings.store_url).await {
        Ok(_) => out!("store: ok ({})", zveno_connector::redact_text(&settings.store_url)),
        Err(e) => {
            healthy = false;
            out!("store: ✗ {e}");
        }
    }
    let clock = Arc::new(SystemClock::new());
    let accounts = zveno_connector::Accounts::default();
    for spec in settings.connectors.values() {
        let result = match spec.build(&settings.env, clock.clone(), &accounts) {
            Ok(connector) => check(connector.as_ref(), &settings.flows).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => out!("connector {} ({}): ok", spec.name, spec.vendor.vendor),
            Err(e) => {
                healthy = false;
                out!("connector {} ({}): ✗ {}", spec.name, spec.vendor.vendor, super::hint::connector(&spec.name, &e));
            }
        }
    }
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The connector's own check, then the create setup of every kind a flow creates in it:
/// a create without its idempotency handle could not be looked up after a crash.
async fn check(connector: &dyn Connector, flows: &[Flow]) -> Result<(), ConnectorError> {
    connector.check().await?;
    let mut kinds: Vec<_> = flows.iter().filter(|f| f.create && f.to == connector.name()).map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        connector.check_creates(kind).await?;
    }
    Ok(())
}
