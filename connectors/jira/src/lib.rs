//! `zveno-jira`: Jira Cloud issues as zveno tasks, and a simulator of the Jira REST API.
//!
//! Jira has no companies or contacts, so this connector reads and writes **tasks** only,
//! and names the client an issue concerns through configuration (a custom field and/or a
//! label prefix) as a raw hint the engine resolves. What makes Jira hard to sync, and
//! where this crate deals with it:
//!
//! - JQL dates are zone-less and minute-precise, read in the token user's time zone:
//!   [`mapping::time`] writes every bound in the zone `/myself` reports, and [`connector`] overlaps
//!   windows and de-duplicates by `(id, updated)`;
//! - the old `/rest/api/3/search` is gone (410); `/search/jql` pages by `nextPageToken`
//!   with no total, returns ids only unless fields are named, and lags behind writes;
//! - there is no "deleted since": an id-only search (`connector::census`, 5,000 ids a page) lists
//!   what exists, and a completed full run is a census too;
//! - descriptions are Atlassian Document Format ([`mapping::adf`]), timestamps use `+0000` offsets,
//!   e-mails may be hidden, status names are per workflow ([`mapping`]);
//! - status changes go through workflow transitions ([`connector::push`]);
//! - admin webhooks are signed with `X-Hub-Signature` ([`webhook`]).
//!
//! Module map (the vendor crate template, see the README): [`config`] (options, validation),
//! [`factory`] ([`JiraFactory`]), [`client`] (typed REST calls, 429 reading), [`dto`] (wire
//! shapes), [`mapping`] (read, ADF, time), [`connector`] (pull, push, cursor, fetch, census),
//! [`webhook`], and behind the `simulator` feature, `simulator`.

pub mod client;
pub mod config;
pub mod connector;
pub mod dto;
pub mod factory;
pub mod mapping;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod webhook;

pub use config::JiraConfig;
pub use connector::JiraConnector;
pub use factory::JiraFactory;
#[cfg(feature = "simulator")]
pub use simulator::{launch, JiraSim, SimOptions};

/// The `vendor = "..."` value of Jira connectors.
pub const VENDOR: &str = "jira";
