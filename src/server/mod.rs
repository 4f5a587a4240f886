//! The HTTP service `zveno run` and `zveno demo` start: health and metrics for operators,
//! the JSON API for tools, and the web view for account managers — all reading the store
//! through [`crate::view`], the same queries the CLI uses.
//!
//! Built the axum way: [`router`] is a plain function of [`ServerState`], so tests call it
//! with `tower::ServiceExt::oneshot` and no socket; [`serve`] binds it. Errors are one
//! [`ApiError`] mapped to statuses in one table. Auth is in [`auth`]: bearer tokens for
//! programs, a sign-in cookie for people, and an open server only on loopback.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /healthz`, `/readyz`, `/metrics` | anyone | liveness, readiness (503 when the store is unreachable), Prometheus text |
//! | `GET /api/v1/{clients,clients/{id},tasks,runs,connectors}` | read token | the unified view as JSON |
//! | `POST /api/v1/admin/{link,unlink}` | admin token | an operator's identity decisions |
//! | `POST /api/v1/admin/census/approve` | admin token | release a held census (a mass deletion that is real) |
//! | `GET /api/v1/admin/flows/plan`, `/api/v1/admin/conflicts`, `POST /api/v1/admin/conflicts/resolve` | admin token | write-back: each flow's plan, the conflict queue, settling a conflict |
//! | `GET /api/v1/openapi.json` | anyone | the API's OpenAPI document |
//! | `GET /`, `/clients`, `/clients/{id}`, `/overdue`, `/health` | signed in | the web view (Russian and English) |
//! | `GET /review`, `POST /admin/{link,unlink}` | signed-in admin | the review queue and the card's link/unlink forms |
//! | `GET /flows`, `POST /admin/conflicts/resolve` | signed-in admin | write-back plans and the conflict queue |
//! | `POST /webhooks/{connector}` | vendors | deliveries, verified by the vendor's signature or token ([`crate::webhooks`]) |

mod api;
pub mod auth;
mod error;
mod health;
pub mod notify;
mod openapi;
mod web;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use zveno_connector::Clock;

pub use auth::{Auth, Role};
pub use error::ApiError;

use crate::engine::Shutdown;
use crate::flows::Flow;
use crate::metrics::Metrics;
use crate::resolve::Resolver;
use crate::store::Store;
use crate::view::connectors::Configured;
use crate::view::ViewTime;
use crate::webhooks::Webhooks;

/// What every handler reads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    resolver: Option<Resolver>,
    connectors: Vec<Configured>,
    zone: Tz,
    auth: Auth,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    secure_cookies: bool,
    public_url: Option<url::Url>,
    webhooks: Option<Webhooks>,
    flows: Vec<Flow>,
}

/// How to build a [`ServerState`].
#[derive(Debug)]
pub struct StateParts {
    /// The store the views read.
    pub store: Store,
    /// Identity resolution, for link/unlink (absent: those answer 503).
    pub resolver: Option<Resolver>,
    /// The configured connectors, for health views.
    pub connectors: Vec<Configured>,
    /// `[view] timezone`.
    pub zone: Tz,
    /// Tokens.
    pub auth: Auth,
    /// Metrics shared with the engine.
    pub metrics: Arc<Metrics>,
    /// The clock ("now" for overdue and lag).
    pub clock: Arc<dyn Clock>,
    /// Mark cookies `Secure` (the service is reached over https).
    pub secure_cookies: bool,
    /// `[server] public_url`: what vendors call (HubSpot signs it).
    pub public_url: Option<url::Url>,
    /// Where webhook deliveries go (absent: `/webhooks/…` answers 404).
    pub webhooks: Option<Webhooks>,
    /// The write-back flows (`[[flows]]`), whose plans and conflicts admins see.
    pub flows: Vec<Flow>,
}

impl ServerState {
    /// The state from its parts.
    pub fn new(parts: StateParts) -> Self {
        let StateParts {
            store,
            resolver,
            connectors,
            zone,
            auth,
            metrics,
            clock,
            secure_cookies,
            public_url,
            webhooks,
            flows,
        } = parts;
        Self(Arc::new(Inner {
            store,
            resolver,
            connectors,
            zone,
            auth,
            metrics,
            clock,
            secure_cookies,
            public_url,
            webhooks,
            flows,
        }))
    }

    fn store(&self) -> &Store {
        &self.0.store
    }

    fn auth(&self) -> &Auth {
        &self.0.auth
    }

    fn view_time(&self) -> ViewTime {
        ViewTime::new(self.0.zone, self.0.clock.now())
    }
}

/// Every route, on `state`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/clients", get(api::clients))
        .route("/api/v1/clients/{id}", get(api::client))
        .route("/api/v1/tasks", get(api::tasks))
        .route("/api/v1/runs", get(api::runs))
        .route("/api/v1/connectors", get(api::connectors))
        .route("/api/v1/admin/link", post(api::link))
        .route("/api/v1/admin/unlink", post(api::unlink))
        .route("/api/v1/admin/census/approve", post(api::approve_census))
        .route("/api/v1/admin/flows/plan", get(api::flow_plans))
        .route("/api/v1/admin/conflicts", get(api::conflicts))
        .route("/api/v1/admin/conflicts/resolve", post(api::conflicts_resolve))
        .route("/webhooks/{connector}", post(webhooks::receive))
        .merge(web::routes())
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), measure))
        .with_state(state)
}

/// Times every request into `zveno_http_request_duration_seconds{route,status}`; the
/// route is the matched pattern (`/api/v1/clients/{id}`), never the raw path, so ids do
/// not explode the label set.
async fn measure(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state.0.metrics.http_served(&route, response.status().as_u16(), started.elapsed());
    response
}

/// A bound, running server.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (the real port when `listen` asked for port 0).
    pub addr: SocketAddr,
    /// Ends when the server has stopped.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `listen` and serves `state` until `shutdown`.
pub async fn serve(listen: SocketAddr, state: ServerState, shutdown: Shutdown) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen} (server.listen): {e}")))?;
    let addr = listener.local_addr()?;
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await
    });
    tracing::info!(%addr, "serving HTTP");
    Ok(Running { addr, task })
}
