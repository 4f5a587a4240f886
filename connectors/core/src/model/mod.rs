//! The common model every vendor record is normalised into.
//!
//! A vendor record becomes a [`SourceRecord`]: an envelope with the identity of the record
//! in its system (connector instance, kind, external id), its remote timestamps, a tombstone
//! flag, a deep link, a hash of the raw payload, the raw payload itself (custom fields live
//! there), and the normalised [`RecordData`]. Values the engine matches on are parsed
//! newtypes, so the rest of the code never re-validates them.

mod domain;
mod email;
mod phone;
mod phone_rules;
mod record;
mod tax_id;

pub use domain::Domain;
pub use email::Email;
pub use phone::Phone;
pub use record::{Client, ClientRef, Contact, Kind, Priority, RawText, RecordData, SourceRecord, Task, TaskStatus};
pub use tax_id::{TaxId, TaxScheme};

/// Why a raw value could not be parsed into a model newtype.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?}: {reason}")]
pub struct ParseError {
    what: &'static str,
    value: String,
    reason: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        // Cap the echoed value: a payload field can be arbitrarily long.
        let value: String = value.chars().take(80).collect();
        Self { what, value, reason: reason.into() }
    }
}
