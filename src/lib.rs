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
//! - [`cli`]: the commands.

pub mod app;
pub mod cli;
pub mod engine;
pub mod registry;
pub mod resolve;
pub mod settings;
pub mod store;
pub mod telemetry;
