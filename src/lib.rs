//! zveno, the daemon and CLI, as a library: `main.rs` only calls [`cli::main`], and tests
//! build the same pieces (settings, store, engine) the binary does.
//!
//! - [`settings`]: layered config (embedded default < file < `ZVENO__…` env), validated
//!   with every problem reported at once;
//! - [`registry`]: the one list of vendors;
//! - [`app`]: builds the store and connectors from settings;
//! - [`engine`]: page-at-a-time pulls committed with their cursors, and the daemon schedule;
//! - [`resolve`]: identity resolution — clients and contacts across systems merged into
//!   golden records with provenance, tasks attached to clients;
//! - [`store`]: SQLite or PostgreSQL through one sqlx code path;
//! - [`flows`]: write-back flows — the plan (a pure function), conflicts, apply;
//! - [`view`]: the unified view's shapes and queries, shared by the CLI and the API;
//! - [`admin`]: operators' identity decisions (link, unlink), shared by the CLI and the API;
//! - [`metrics`]: the Prometheus series, handed to the engine and the server;
//! - [`server`]: the HTTP service — API, web view, health and metrics;
//! - [`webhooks`]: vendor webhook deliveries turned into tombstones, merges and re-pulls;
//! - [`cli`]: the commands.

pub mod admin;
pub mod app;
pub mod cli;
pub mod engine;
pub mod flows;
pub mod metrics;
pub mod registry;
pub mod resolve;
pub mod server;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod usage;
pub mod view;
pub mod webhooks;

/// `0.1.0 (3f2a9c1b7e44)`: the version and the commit built from (see `build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ZVENO_COMMIT"), ")");
