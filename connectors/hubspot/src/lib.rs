//! `zveno-hubspot`: the HubSpot CRM connector, and a simulator of HubSpot's API.
//!
//! HubSpot companies become zveno clients, contacts become contacts, tasks become tasks;
//! owners turn `hubspot_owner_id` into the e-mail that matches a person across systems.
//! Read the crate README for the operator's view (token scopes, rate limits, field map,
//! quirks) and the benchmark figures.
//!
//! Layout, by role (the vendor crate template, see the README):
//!
//! - [`config`]: the vendor options and their validation; [`factory`]: building an instance;
//! - [`client`]: HubSpot's endpoints as typed calls on the shared HTTP client;
//!   [`client::limits`]: default rate limits, reading 429s by `policyName`, the daily quota;
//! - [`dto`]: JSON shapes and [`dto::object`], the object types with their vendor names;
//!   [`mapping`]: records ↔ the common model (pure);
//! - [`connector`]: the `Connector` (pull windows and cursors, batch pushes);
//! - [`webhook`]: v3-signed webhook deliveries into change hints (pure);
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

pub use config::HubSpotConfig;
pub use connector::HubSpotConnector;
pub use factory::HubSpotFactory;
#[cfg(feature = "simulator")]
pub use simulator::{launch, HubSpotSim, SimOptions};

/// The `vendor = "..."` name.
pub const VENDOR: &str = "hubspot";
