//! `zveno run`: the daemon — every connector on its schedule, and the HTTP service
//! (`[server] listen`) beside it, with systemd readiness and watchdog notifications.
//! `zveno demo` starts the same service over its simulated world.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use zveno_connector::{Clock, SystemClock};

use crate::app::App;
use crate::engine::{run_daemon, Shutdown};
use crate::metrics::Metrics;
use crate::server::{self, notify, Auth, ServerState, StateParts};
use crate::settings::Settings;
use crate::view::connectors::Configured;
use crate::webhooks::Webhooks;

/// The service's state over `app`'s store and connectors, counting into `metrics`.
/// Starts the webhook re-pull worker, so it needs a runtime.
pub(super) fn state(app: &App, settings: &Settings, metrics: Arc<Metrics>, clock: Arc<dyn Clock>) -> ServerState {
    let server = &settings.server;
    let connectors = app.jobs.iter().map(|j| j.connector.clone()).collect();
    let webhooks = Webhooks::start(connectors, app.engine.clone(), metrics.clone());
    ServerState::new(StateParts {
        store: app.engine.store().clone(),
        resolver: app.engine.resolver().cloned(),
        connectors: app
            .jobs
            .iter()
            .map(|j| Configured {
                name: j.connector.name().to_string(),
                vendor: j.connector.vendor().to_string(),
                kinds: j.kinds.clone(),
            })
            .collect(),
        zone: settings.view.timezone,
        auth: Auth::new(server.read_token.clone(), server.admin_token.clone()),
        metrics,
        clock,
        secure_cookies: server.public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
        public_url: server.public_url.clone(),
        webhooks: Some(webhooks),
        flows: settings.flows.clone(),
    })
}

/// Builds the app with metrics and starts the HTTP service on `listen`.
pub(super) async fn start(
    settings: &Settings,
    listen: SocketAddr,
    clock: Arc<dyn Clock>,
    shutdown: &Shutdown,
) -> anyhow::Result<(App, server::Running)> {
    let metrics = Arc::new(Metrics::new());
    let mut app = App::build(settings, clock.clone()).await?;
    app.engine = app.engine.clone().with_metrics(metrics.clone());
    let state = state(&app, settings, metrics, clock);
    let running = server::serve(listen, state, shutdown.clone()).await?;
    Ok((app, running))
}

pub(super) async fn daemon(settings: &Settings) -> anyhow::Result<ExitCode> {
    if settings.connectors.is_empty() {
        anyhow::bail!("no connectors configured: add [connectors.<name>] to the config (see config/examples/)");
    }
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals();
    let (app, running) = start(settings, settings.server.listen, Arc::new(SystemClock::new()), &shutdown).await?;
    tracing::info!(connectors = app.jobs.len(), addr = %running.addr, "daemon started");
    notify::ready(&format!("syncing {} connector(s); serving http://{}", app.jobs.len(), running.addr));
    let watchdog = notify::spawn_watchdog(shutdown.clone());
    run_daemon(app.engine.clone(), app.jobs.clone(), shutdown.clone()).await;
    notify::stopping();
    shutdown.request();
    if let Some(w) = watchdog {
        let _ = w.await;
    }
    match running.task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "the HTTP server task failed"),
    }
    tracing::info!("daemon stopped");
    Ok(ExitCode::SUCCESS)
}
