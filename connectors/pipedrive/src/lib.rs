//! `zveno-pipedrive`: the Pipedrive CRM connector, and a simulator of Pipedrive's API.
//!
//! Pipedrive organizations become zveno clients, persons become contacts, activities become
//! tasks; users (`/v1/users`) turn `owner_id` into the e-mail that matches a person across
//! systems. Reads go through API v2 only: the v1 list endpoints are out of support since
//! 2026-08-01 (vendor note §1). Read the crate README for the operator's view (token, plan
//! limits, the custom INN field, the field map) and the benchmark figures.
//!
//! Layout, by role:
//!
//! - [`config`]: the vendor options and their validation; [`factory`]: building an instance;
//! - [`client`]: Pipedrive's endpoints as typed calls, auth, and the daily token ledger;
//! - [`dto`]: JSON shapes; [`mapping`]: records ↔ the common model (pure);
//! - [`connector`]: the `Connector` (pull cursors, pushes);
//! - [`webhook`]: v2 webhook deliveries (HTTP Basic credentials) into change hints (pure);
//! - `simulator` (feature `simulator`): the same API, served from a `zveno-sim` world.

pub mod client;
pub mod config;
pub mod connector;
pub mod dto;
pub mod factory;
pub mod mapping;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod webhook;

pub use config::PipedriveConfig;
pub use connector::PipedriveConnector;
pub use factory::PipedriveFactory;
#[cfg(feature = "simulator")]
pub use simulator::{launch, PipedriveSim, SimOptions};

/// The `vendor = "..."` name.
pub const VENDOR: &str = "pipedrive";
