//! `zveno-bitrix24`: the Bitrix24 connector (companies, contacts, requisites, tasks) and,
//! behind the `simulator` feature, a simulated portal that speaks the same REST.
//!
//! How it reads, in one paragraph: every request is a `batch` of up to 50 list calls, each a
//! 50-row keyset page (`>ID`, `start=-1`, no totals) chained to the previous one through a
//! `$result[...]` reference, so a full scan of N companies costs about N / 2,500 requests
//! (plus the same again for their requisites), and incremental pulls read closed
//! `DATE_MODIFY` / `CHANGED_DATE` windows in the portal's time zone the same way. The shared
//! HTTP client keeps the portal's leaky bucket from ever overflowing; per-method pause buckets
//! honour Bitrix24's execution-time budget (`OPERATION_TIME_LIMIT`).
//!
//! Modules, by role (the vendor crate template, see the README): [`config`] (options and
//! validation), [`webhook`] (outgoing-webhook events into change hints),
//! [`client`] (batch calls, throttling signals, the portal's clock, and
//! [`client::credential`], the inbound-webhook URL that is the credential), `dto` (response shapes),
//! [`mapping`] (records → the common model, pure), `connector` (the [`Connector`] impl:
//! pulls, requisites, users, writes), [`factory`], and `simulator`.
//!
//! [`Connector`]: zveno_connector::Connector

pub mod client;
pub mod config;
mod connector;
mod dto;
pub mod factory;
pub mod mapping;
pub mod webhook;

#[cfg(feature = "simulator")]
pub mod simulator;

pub use config::Bitrix24Config;
pub use connector::Bitrix24Connector;
pub use factory::Bitrix24Factory;

/// The `vendor = "..."` value of Bitrix24 connectors.
pub const VENDOR: &str = "bitrix24";
