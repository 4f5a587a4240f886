//! `zveno-connector`: the contract between zveno's engine and its vendor connectors.
//!
//! It owns these, and nothing vendor-specific:
//!
//! - the **common model** ([`model`]): clients, contacts, tasks and the [`SourceRecord`]
//!   envelope every vendor record is normalised into, with parsed newtypes for the values
//!   identity resolution depends on (e-mail, E.164 phone, registrable domain, tax id);
//! - the **[`Connector`] trait**: page-at-a-time pulls with opaque cursors, batched pushes
//!   with per-op outcomes, webhooks as change hints, and capabilities;
//! - **one error type** ([`ConnectorError`]) whose [`ErrorKind`] the scheduler branches on;
//! - the **shared HTTP client** ([`http::HttpClient`]): rate limiting, retries, timeouts,
//!   metrics and secret redaction live here once, so connectors never sleep or retry;
//! - what every vendor's options and caches share: [`options`] (`status_map` /
//!   `priority_map` tables, `overlap_secs`, renamed keys with deprecation warnings) and the
//!   owner/user [`directory`] cache.
//!
//! Vendor crates depend on this crate only; the daemon sees `Arc<dyn Connector>`.

pub mod accounts;
pub mod clock;
pub mod connector;
pub mod directory;
pub mod error;
pub mod factory;
pub mod http;
pub mod model;
pub mod options;
pub mod redact;
pub mod secret;
pub mod spend;
pub mod webhook;

pub use accounts::{account_key, host_of, Accounts};
pub use clock::{Clock, ManualClock, SkewedClock, SystemClock};
pub use connector::{
    Capabilities, CensusPage, CensusPlan, Connector, Cursor, DeleteDetection, Fetched, Page, RecordError, SyncMode,
    WriteAction, WriteError, WriteErrorKind, WriteOp, WriteOutcome,
};
pub use directory::Directory;
pub use error::{ConnectorError, ErrorKind};
pub use factory::{
    numeric_id, one_or_many, opt_in_model_fields, writable_model_fields, BuildContext, ConfigProblem, ConnectorFactory,
    Env, SecretRef,
};
pub use model::{
    Client, ClientRef, Contact, Domain, Email, Kind, Phone, Priority, RawText, RecordData, SourceRecord, Task,
    TaskStatus, TaxId,
};
pub use options::{Overlap, OverrideTable, Renamed};
pub use redact::redact_text;
pub use secret::{Redactor, Secret};
pub use spend::{SpendLedger, SpendLedgerError};
pub use webhook::{Change, ChangeHint, WebhookRequest};
