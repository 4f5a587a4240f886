//! Jira issues ↔ the common model: [`read`] maps an issue to a task (pure, tested table by
//! table); [`adf`] converts descriptions between Atlassian Document Format and text both
//! ways; [`time`] reads and writes Jira's timestamps and zone-less JQL bounds. The write side
//! (fields of a create or edit, transitions) needs the site's users and workflows, so it lives
//! with the calls in `connector::push`.

pub mod adf;
mod read;
pub mod time;

pub use read::*;
