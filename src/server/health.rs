//! `/healthz` (the process answers), `/readyz` (it can serve: the store answers; each
//! connector's state listed, a parked one without turning the service unready) and
//! `/metrics` (Prometheus text; state gauges refreshed from the store on each scrape).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::error::ApiError;
use super::ServerState;
use crate::view::connectors::{self, ConnectorStatus};

/// How long `/readyz` waits for the store before calling it unreachable.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`.
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    store: String,
    connectors: Vec<ConnectorStatus>,
}

/// `GET /readyz`: 200 when the store answers, else 503; the body says why.
pub(super) async fn readyz(State(state): State<ServerState>) -> Response {
    let store = match tokio::time::timeout(STORE_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("the store did not answer within {} s", STORE_TIMEOUT.as_secs())),
    };
    let connectors = match &store {
        Ok(()) => connectors::statuses(state.store(), &state.0.connectors, state.0.clock.now()).await,
        Err(_) => Ok(Vec::new()),
    };
    let (ready, store, connectors) = match (store, connectors) {
        (Ok(()), Ok(c)) => (true, "ok".to_string(), c),
        (Err(e), _) => (false, e, Vec::new()),
        (Ok(()), Err(e)) => (false, e.to_string(), Vec::new()),
    };
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready, store, connectors })).into_response()
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): State<ServerState>) -> Result<Response, ApiError> {
    let time = state.view_time();
    let store = state.store();
    let (clients, _) = store.entity_counts(zveno_connector::Kind::Client).await?;
    let (open, overdue) = store.task_totals(time.overdue_at()).await?;
    let statuses = connectors::statuses(store, &state.0.connectors, time.now).await?;
    state.0.metrics.set_state(clients, open, overdue, &statuses);
    let text = state.0.metrics.encode().map_err(|e| ApiError::Internal(format!("metrics: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}
