//! The [`Connector`] trait and the values that cross it.
//!
//! Pulls are page-at-a-time so the engine can commit each page together with the cursor
//! that follows it in one transaction: a crash between pages loses nothing and re-reads
//! at most one page. The cursor is opaque JSON owned by the connector (HubSpot keeps a
//! search window and an id; Jira an epoch-ms watermark and a `nextPageToken`; Bitrix24 the
//! last ID and a modified-since instant), so no vendor detail leaks into the engine.

use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::model::{Kind, RecordData, SourceRecord};
use crate::webhook::{ChangeHint, WebhookRequest};

/// Full scans list everything (and, when they complete, prove what is gone); incremental
/// pulls read only what changed since the cursor's watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// List every record of the kind.
    Full,
    /// List records changed since the cursor.
    Incremental,
}

impl SyncMode {
    /// The stable name used in the store and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }
}

/// Opaque, connector-owned position in a stream of records. `Cursor::default()` (JSON
/// `null`) means "from the beginning".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub serde_json::Value);

impl Cursor {
    /// Whether this is the starting cursor.
    pub fn is_start(&self) -> bool {
        self.0.is_null()
    }

    /// Reads the cursor as the connector's own state type; the starting cursor gives
    /// `T::default()`. A cursor the connector cannot read is a config-level problem (it
    /// was written by another connector version), reported as invalid data.
    pub fn decode<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ConnectorError> {
        if self.is_start() {
            return Ok(T::default());
        }
        serde_json::from_value(self.0.clone())
            .map_err(|e| ConnectorError::invalid_data(format!("unreadable cursor {}: {e}", self.0)))
    }

    /// Wraps the connector's own state.
    pub fn encode<T: Serialize>(state: &T) -> Result<Self, ConnectorError> {
        serde_json::to_value(state)
            .map(Self)
            .map_err(|e| ConnectorError::invalid_data(format!("cursor does not serialise: {e}")))
    }
}

/// A record the connector received but could not normalise: the page still commits, and
/// this error is reported with the record's id so a person can find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordError {
    /// The record's id, when it could be read at all.
    pub external_id: Option<String>,
    /// What was wrong.
    pub message: String,
}

/// One page of a pull.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Normalised records (tombstones included).
    pub records: Vec<SourceRecord>,
    /// Records that could not be normalised.
    pub errors: Vec<RecordError>,
    /// The cursor to persist with this page. After the last page it is the state the next
    /// run starts from (for incremental pulls, the advanced watermark).
    pub cursor: Cursor,
    /// Whether another page follows in this run.
    pub more: bool,
}

/// What [`Connector::fetch`] read: the records found, mapped exactly as `pull` maps them,
/// the ones that could not be normalised, and the ids the vendor does not return.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Records found (never tombstones: a deleted or archived record is missing).
    pub records: Vec<SourceRecord>,
    /// Records found that could not be normalised.
    pub errors: Vec<RecordError>,
    /// Requested ids the vendor did not return: deleted, archived, never existed, or out of
    /// the credentials' sight. Callers that tombstone on this (the census) should know the
    /// last case looks the same.
    pub missing: Vec<String>,
}

impl Fetched {
    /// Appends one vendor batch's answer.
    pub fn extend(&mut self, other: Fetched) {
        self.records.extend(other.records);
        self.errors.extend(other.errors);
        self.missing.extend(other.missing);
    }

    /// Lists as missing every id of `requested` that came back neither as a record nor as
    /// a record error (and is not listed yet). Vendors differ in how, or whether, they
    /// name the ids they do not know; what did come back is the one reliable answer.
    pub fn settle_missing(&mut self, requested: &[String]) {
        let answered: std::collections::BTreeSet<&str> = self
            .records
            .iter()
            .map(|r| r.external_id.as_str())
            .chain(self.errors.iter().filter_map(|e| e.external_id.as_deref()))
            .chain(self.missing.iter().map(String::as_str))
            .collect();
        let unanswered: Vec<String> =
            distinct(requested).into_iter().filter(|id| !answered.contains(id.as_str())).collect();
        self.missing.extend(unanswered);
    }
}

/// `ids` without repeats, in first-seen order: a fetch asks the vendor once per id.
pub fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// How a connector finds out about deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteDetection {
    /// The vendor lists deleted/archived records (HubSpot `archived=true`).
    Listed,
    /// Only a completed full scan (census) reveals deletes.
    Census,
    /// Deletes are not detectable.
    None,
}

/// How a connector's id census runs for a kind (see [`Connector::census`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusPlan {
    /// The vendor's default time between censuses when the operator sets no
    /// `census_every_secs`: zero runs one with every incremental cycle (Jira and Bitrix24,
    /// whose id-only listings are cheap); a vendor whose census costs a full listing or a
    /// metered quota names a longer interval.
    pub every: std::time::Duration,
}

/// One page of an id census: the ids of live records, nothing else.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CensusPage {
    /// Ids of records that exist, as `pull` names them (`external_id`).
    pub ids: Vec<String>,
    /// Where the next page starts; ignored when `more` is false.
    pub cursor: Cursor,
    /// Whether another page follows.
    pub more: bool,
}

/// What a connector can do, so the engine plans without trial and error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Kinds `pull` accepts.
    pub read: Vec<Kind>,
    /// Kinds `push` accepts.
    pub write: Vec<Kind>,
    /// Whether incremental pulls are cheaper than full ones.
    pub incremental: bool,
    /// How deletes are seen.
    pub deletes: DeleteDetection,
    /// Largest number of records one `pull` page returns.
    pub page_size: usize,
    /// Records one request of a full scan returns at best: the floor of a full scan of N
    /// records is ceil(N / this). It differs from `page_size` where full scans list with a
    /// smaller page than searches, or chain several pages into one request.
    pub floor_page_size: usize,
    /// Largest number of ops one `push` call sends in one vendor batch.
    pub write_batch: usize,
    /// Whether `webhook` understands this vendor's deliveries.
    pub webhooks: bool,
}

impl Capabilities {
    /// The fewest requests a full scan of `records` records can take: `ceil(records /
    /// floor_page_size)`, at least one (an empty scan still asks). What `zveno bench sync`
    /// measures a connector against.
    pub fn full_scan_floor(&self, records: u64) -> u64 {
        records.div_ceil(self.floor_page_size.max(1) as u64).max(1)
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum WriteAction {
    /// Create a record.
    Create {
        /// The content.
        data: RecordData,
    },
    /// Update an existing record.
    Update {
        /// The vendor id.
        external_id: String,
        /// The content; fields left empty are not touched.
        data: RecordData,
    },
    /// Archive or delete a record.
    Archive {
        /// The vendor id.
        external_id: String,
    },
}

/// One write, identified by an id the caller chooses (the outbox id), so outcomes can be
/// matched to ops whatever order the vendor answers in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteOp {
    /// Caller-chosen id, echoed in the outcome.
    pub op_id: String,
    /// What to do.
    pub action: WriteAction,
}

/// The result of one [`WriteOp`]. Partial failure of a batch is normal (HubSpot 207,
/// Bitrix24 `result_error`); each op gets its own outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteOutcome {
    /// The op's id.
    pub op_id: String,
    /// The record's vendor id on success, or why it failed.
    pub result: Result<String, WriteError>,
}

impl WriteOutcome {
    /// The op was applied; `external_id` is the record's vendor id.
    pub fn written(op_id: impl Into<String>, external_id: impl Into<String>) -> Self {
        Self { op_id: op_id.into(), result: Ok(external_id.into()) }
    }

    /// The op failed.
    pub fn failed(op_id: impl Into<String>, error: WriteError) -> Self {
        Self { op_id: op_id.into(), result: Err(error) }
    }
}

/// Why one write op failed: what the caller may do next depends on the kind, never on the
/// vendor's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct WriteError {
    /// What kind of failure.
    pub kind: WriteErrorKind,
    /// The vendor's (or the connector's) explanation.
    pub message: String,
}

/// The kinds of [`WriteError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteErrorKind {
    /// The op's content was refused (a missing or invalid field, a value or link the vendor
    /// does not accept): sending it again unchanged fails again.
    Invalid,
    /// The record to change does not exist, or the token cannot see it.
    NotFound,
    /// The vendor cannot do this (an action or kind it does not write).
    Unsupported,
    /// Not sent: an earlier write of the same call failed in a way that stopped the rest.
    /// Safe to send again.
    NotSent,
    /// It may or may not have been applied (the request may have reached the vendor and no
    /// answer says what happened): look the record up before sending it again.
    Unknown,
}

impl WriteError {
    /// An error of `kind`.
    pub fn new(kind: WriteErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// [`WriteErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(WriteErrorKind::Invalid, message)
    }

    /// [`WriteErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(WriteErrorKind::NotFound, message)
    }

    /// [`WriteErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(WriteErrorKind::Unsupported, message)
    }

    /// [`WriteErrorKind::NotSent`].
    pub fn not_sent(message: impl Into<String>) -> Self {
        Self::new(WriteErrorKind::NotSent, message)
    }

    /// [`WriteErrorKind::Unknown`].
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(WriteErrorKind::Unknown, message)
    }

    /// The same error, its message prefixed with where it happened.
    #[must_use]
    pub fn context(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    /// The kind a failed request gives the ops it carried: the vendor refused them
    /// (invalid data), did not find the record, or — for any other failure once the
    /// request may have been sent — nobody knows.
    pub fn from_request(error: &crate::ConnectorError) -> Self {
        let kind = match error.kind() {
            crate::ErrorKind::InvalidData => WriteErrorKind::Invalid,
            crate::ErrorKind::NotFound => WriteErrorKind::NotFound,
            crate::ErrorKind::Unsupported => WriteErrorKind::Unsupported,
            _ => WriteErrorKind::Unknown,
        };
        Self::new(kind, error.to_string())
    }
}

/// A configured vendor instance. Object-safe; the engine holds `Arc<dyn Connector>`.
///
/// Connectors do no sleeping, retrying or rate limiting of their own: the shared
/// [`crate::http::HttpClient`] does, so every vendor behaves the same under throttling.
#[async_trait]
pub trait Connector: Send + Sync + Debug {
    /// The instance name from config (`[connectors.<name>]`).
    fn name(&self) -> &str;

    /// The vendor (`hubspot`, `jira`, `bitrix24`, `pipedrive`, ...).
    fn vendor(&self) -> &str;

    /// What this connector can do.
    fn capabilities(&self) -> Capabilities;

    /// The source this connector reads: the portal, site or account its base URL and
    /// credentials reach (a Bitrix24 portal's host, a Jira site, the API host and port),
    /// never a secret. The store keeps it with the connector's cursors and records; when it
    /// changes (`[connectors.crm]` pointed at another portal) the records of the old source
    /// are set aside and the connector starts fresh instead of mixing two sources under one
    /// name. `None` (the default): the connector cannot tell, and nothing is checked.
    fn source(&self) -> Option<String> {
        None
    }

    /// Read-only credentials and reachability check. Must never write to the vendor.
    async fn check(&self) -> Result<(), ConnectorError>;

    /// Pulls one page of `kind` from `cursor`.
    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError>;

    /// Reads records of `kind` by their vendor ids, in the vendor's own batches (HubSpot
    /// `batch/read`, Jira `issue/bulkfetch`, Bitrix24 `get` calls chained in `batch`).
    /// Found records come back mapped exactly as [`Connector::pull`] maps them; ids the
    /// vendor does not return are listed in [`Fetched::missing`], not reported as errors.
    ///
    /// The deletion census confirms that a record gone from a scan is really gone, webhook
    /// deliveries re-read the records they name, and write-back reads back what it wrote:
    /// all three need records by id, and a full scan would cost thousands of requests.
    /// Every vendor implements it (the conformance suite checks it); the default exists
    /// only so that test doubles need not.
    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let _ = ids;
        Err(ConnectorError::unsupported(format!("{} cannot read {kind} records by id", self.vendor())))
    }

    /// Writes `ops` of `kind`, one outcome per op.
    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let _ = ops;
        Err(ConnectorError::unsupported(format!("{} cannot write {kind} records", self.vendor())))
    }

    /// The record that a create stamped with idempotency handle `handle` made, if the
    /// vendor holds one. Every create a connector sends carries its op's `op_id` as that
    /// handle, in a field the vendor keeps and can filter on (each crate's README names
    /// it), so write-back can settle a create whose answer was lost in a crash by looking
    /// it up instead of sending it blindly again.
    ///
    /// `Ok(None)` means the vendor is certain no such record exists, and the create may be
    /// sent again. A look-up that goes through a search index that lags behind writes must
    /// not say so for a create `sent` less than that lag ago: it answers a transient error
    /// until then. The default: [`crate::ErrorKind::Unsupported`], and such creates are
    /// never resent.
    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        let _ = (handle, sent);
        Err(ConnectorError::unsupported(format!("{} cannot look {kind} creates up by handle", self.vendor())))
    }

    /// Verifies, read-only, what creating `kind` records needs set up at the vendor besides
    /// credentials: the field that holds each create's idempotency handle (see
    /// [`Connector::find_created`]), where the operator must create it. `zveno check` calls
    /// it for every flow that creates records in this connector, so a missing field is
    /// reported before the first create fails on it. An unmet setup is a
    /// [`crate::ErrorKind::Config`] error saying how to fix it. The default: nothing to set
    /// up.
    async fn check_creates(&self, kind: Kind) -> Result<(), ConnectorError> {
        let _ = kind;
        Ok(())
    }

    /// Verifies a webhook delivery (signature, token or credentials, freshness) and parses
    /// it into hints: records to re-pull, delete or re-point. A delivery that fails
    /// verification is an [`crate::ErrorKind::Auth`] error and yields nothing; one that
    /// verifies but cannot be read is [`crate::ErrorKind::InvalidData`]. See
    /// [`crate::webhook`] for the shared checks.
    async fn webhook(&self, request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
        let _ = request;
        Err(ConnectorError::unsupported(format!("{} webhooks are not supported", self.vendor())))
    }

    /// How this connector runs an id census of `kind`, or `None` (the default) when it has
    /// none and only completed full scans reveal deletions.
    fn census_plan(&self, kind: Kind) -> Option<CensusPlan> {
        let _ = kind;
        None
    }

    /// One page of the id census of `kind` from `cursor` (the starting cursor for the first
    /// page): every live record's id, as cheaply as the vendor allows (ids only, the
    /// largest pages). Only a census that ran to its last page is used; the engine then
    /// confirms each stored record it did not list with [`Connector::fetch`] before
    /// tombstoning it.
    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        let _ = cursor;
        Err(ConnectorError::unsupported(format!("{} has no id census of {kind} records", self.vendor())))
    }

    /// The incremental cursor that reads changes made after `since`. The engine asks for it
    /// when the first full scan of `kind` completes, so the first incremental run reads
    /// only what changed since that scan began instead of everything again. `None` (the
    /// default) means the connector cannot start mid-stream; the first incremental run then
    /// starts from the beginning.
    fn incremental_cursor(&self, kind: Kind, since: chrono::DateTime<chrono::Utc>) -> Option<Cursor> {
        let _ = (kind, since);
        None
    }

    /// The HTTP request counters of this instance, for run history.
    fn http_stats(&self) -> crate::http::HttpStats {
        crate::http::HttpStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_scan_floor_is_records_over_the_floor_page_size_and_at_least_one() {
        let caps = Capabilities {
            read: Kind::ALL.to_vec(),
            write: Vec::new(),
            incremental: true,
            deletes: DeleteDetection::Census,
            page_size: 200,
            floor_page_size: 100,
            write_batch: 100,
            webhooks: false,
        };
        assert_eq!(caps.full_scan_floor(2_000), 20);
        assert_eq!(caps.full_scan_floor(2_001), 21);
        assert_eq!(caps.full_scan_floor(0), 1, "an empty scan still asks once");
        let unset = Capabilities { floor_page_size: 0, ..caps };
        assert_eq!(unset.full_scan_floor(7), 7, "an undeclared floor counts one record a request");
    }
}
