//! The simulator HTTP server and the middleware every simulator shares.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::oneshot;
use zveno_connector::Clock;

use super::faults::{Fault, Faults};
use super::log::RequestLog;

/// Response extension naming the endpoint in the request log (instead of the path).
#[derive(Debug, Clone)]
pub struct Endpoint(pub String);

/// Response extension marking a vendor throttling answer, counted by the request log.
#[derive(Debug, Clone, Copy)]
pub struct Throttled;

/// Response extension of a batch write request: how many records (or commands) it carried,
/// kept by the request log as the endpoint's largest batch.
#[derive(Debug, Clone, Copy)]
pub struct Batch(pub u64);

/// Shared state of one simulator: its request log, faults and clock.
#[derive(Debug, Clone)]
pub struct Kit {
    inner: Arc<KitInner>,
}

#[derive(Debug)]
struct KitInner {
    log: RequestLog,
    faults: Faults,
    clock: Arc<dyn Clock>,
}

impl Kit {
    /// A kit on `clock`, with faults drawn from `seed`.
    pub fn new(clock: Arc<dyn Clock>, seed: u64) -> Self {
        Self { inner: Arc::new(KitInner { log: RequestLog::default(), faults: Faults::new(seed), clock }) }
    }
    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.inner.log
    }
    /// The fault switches.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }
    /// The clock rate limits and timestamps run on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}

/// A running simulator on `127.0.0.1:<port>`. Stops when dropped.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    kit: Kit,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SimServer {
    /// Serves `router` behind the kit middleware on `127.0.0.1:0`.
    pub async fn start(router: Router, kit: Kit) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", router, kit).await
    }

    /// Serves on a given address (the demo uses fixed ports when asked to).
    pub async fn start_on(bind: &str, router: Router, kit: Kit) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let app = router.layer(axum::middleware::from_fn_with_state(kit.clone(), kit_middleware));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = served.await {
                tracing::warn!(error = %e, "simulator server stopped");
            }
        });
        Ok(Self { addr, kit, shutdown: Some(tx) })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The kit (log, faults, clock).
    pub fn kit(&self) -> &Kit {
        &self.kit
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn default_endpoint(method: &str, path: &str) -> String {
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) { "{id}" } else { seg })
        .collect();
    format!("{method} {}", path.join("/"))
}

/// Every answer carries HTTP's `Date` from the simulated vendor's own clock (virtual time in
/// tests), as a real vendor's does from its servers' clock: connectors take window bounds
/// from it, so a test can skew the daemon's clock against the vendor's.
async fn kit_middleware(State(kit): State<Kit>, request: Request, next: Next) -> Response {
    let mut response = faults_and_log(&kit, request, next).await;
    let date = kit.clock().now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = http::HeaderValue::from_str(&date) {
        response.headers_mut().insert(http::header::DATE, value);
    }
    response
}

async fn faults_and_log(kit: &Kit, request: Request, next: Next) -> Response {
    let fallback = default_endpoint(request.method().as_str(), request.uri().path());
    let (fault, latency) = kit.faults().draw();
    if !latency.is_zero() {
        // Real time on purpose: latency exists to exercise real client timeouts.
        tokio::time::sleep(latency).await;
    }
    if let Some(Fault::ServerError(code)) = fault {
        kit.log().record(&fallback, false, true);
        let status = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        return (status, axum::Json(serde_json::json!({"message": "simulated server error"}))).into_response();
    }
    if let Some(Fault::Unauthorized) = fault {
        kit.log().record(&fallback, false, false);
        let body = serde_json::json!({"message": "simulated: the credentials were revoked"});
        return (http::StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let response = next.run(request).await;
    let endpoint = response.extensions().get::<Endpoint>().map_or(fallback, |e| e.0.clone());
    let throttled = response.extensions().get::<Throttled>().is_some();
    if let Some(Batch(items)) = response.extensions().get::<Batch>() {
        kit.log().record_batch(&endpoint, *items);
    }
    let success = response.status().is_success();
    let error = response.status().is_server_error() && !throttled;
    match fault {
        Some(Fault::Malformed) if success => {
            kit.log().record(&endpoint, throttled, error);
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            let mut parts = parts;
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
        Some(Fault::Dropped) if success => {
            kit.log().record(&endpoint, throttled, true);
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(http::header::CONTENT_LENGTH);
            let failing = futures::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
            });
            Response::from_parts(parts, Body::from_stream(failing))
        }
        _ => {
            kit.log().record(&endpoint, throttled, error);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_path_segments_collapse() {
        assert_eq!(default_endpoint("GET", "/crm/v3/objects/companies/512"), "GET /crm/v3/objects/companies/{id}");
    }
}

/// A running vendor simulator described for the daemon (`zveno demo`, benchmarks): where it
/// listens, the `[connectors.<name>]` options that point a connector at it, and the
/// environment variables holding the credentials it accepts.
#[derive(Debug)]
pub struct LaunchedSim {
    /// The vendor name (`hubspot`, `jira`, `bitrix24`, ...).
    pub vendor: &'static str,
    /// The server; dropping it stops the simulator.
    pub server: SimServer,
    /// Vendor-specific connector options (secrets by reference, e.g. `token_env`), without
    /// `vendor` and `base_url`, which the daemon sets.
    pub options: serde_json::Value,
    /// Environment variables the options reference, with the values the simulator accepts.
    pub env: Vec<(String, String)>,
    /// One or two lines telling a person how to call the simulator themselves
    /// (URL form, auth header, credentials).
    pub help: String,
}
