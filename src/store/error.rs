//! The store's one error type.
//!
//! Every message names the operation and what it was working on (`commit_page
//! hubspot/client: ...`), so a log line alone says where to look. The underlying
//! `sqlx` error is kept for [`StoreError::kind`] but its text is already part of the
//! message, so it is deliberately not exposed as `source()` (chained printers such as
//! `anyhow`'s `{:#}` would otherwise print it twice).

use std::fmt;
use std::path::PathBuf;

use sqlx::migrate::MigrateError;

use super::Backend;

/// What went wrong, normalised across SQLite and PostgreSQL, so callers branch on the
/// kind rather than on database error strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The store URL or the store's configuration is wrong.
    Config,
    /// The database could not be reached or was busy; a later attempt may succeed.
    Unavailable,
    /// The caller passed something the store refuses (a record of another connector, a
    /// value violating a constraint).
    Invalid,
    /// Something stored cannot be read back (unknown kind, unparsable JSON).
    Corrupt,
    /// The row the operation needs does not exist.
    NotFound,
    /// The write was refused because its writer no longer holds the lease, or the cursor
    /// moved since its page was pulled: nothing was written, and the writer must stop.
    Fenced,
    /// The store's schema is newer than this binary knows.
    SchemaTooNew,
    /// Any other database failure (including failed migrations).
    Database,
}

impl StoreErrorKind {
    /// Whether retrying the same call later may succeed without a human.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable)
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Config => "config",
            Self::Unavailable => "unavailable",
            Self::Invalid => "invalid",
            Self::Corrupt => "corrupt",
            Self::NotFound => "not found",
            Self::Fenced => "fenced",
            Self::SchemaTooNew => "schema too new",
            Self::Database => "database",
        })
    }
}

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported backend or cannot be parsed.
    #[error("store URL {url:?} is not usable: {reason}")]
    BadUrl {
        /// The URL, password removed.
        url: String,
        /// Why.
        reason: String,
    },
    /// The directory for a SQLite file could not be created.
    #[error("cannot create directory {path} for the SQLite store: {cause}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// Opening the connection pool failed.
    #[error("cannot open the store at {url}: {cause}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// The database error.
        cause: sqlx::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("migrating the {backend} store failed: {cause}")]
    Migrate {
        /// Which backend.
        backend: Backend,
        /// The migrator's error.
        cause: MigrateError,
    },
    /// A statement failed.
    #[error("{op} {target}: {cause}")]
    Query {
        /// The store operation (`commit_page`, `record`, ...).
        op: &'static str,
        /// What it worked on (`hubspot/client`, `hubspot/client/42`, `run 7`).
        target: String,
        /// The database error.
        cause: sqlx::Error,
    },
    /// The caller passed something the store refuses.
    #[error("{op} {target}: {reason}")]
    Invalid {
        /// The store operation.
        op: &'static str,
        /// What it worked on.
        target: String,
        /// Why it was refused.
        reason: String,
    },
    /// A stored value cannot be read back.
    #[error("{op} {target}: stored data is unreadable: {reason}")]
    Corrupt {
        /// The store operation.
        op: &'static str,
        /// What it worked on.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A page commit refused by its fence (see `leases.rs`).
    #[error("{op} {target}: refused, nothing written: {reason}")]
    Fenced {
        /// The store operation.
        op: &'static str,
        /// What it worked on.
        target: String,
        /// Which check failed.
        reason: String,
    },
    /// The database was migrated by a newer zveno.
    #[error(
        "the store's schema is at version {found}, newer than this zveno knows (up to {known}): \
         a newer zveno migrated it. Run that version here too (see \"Several instances\" in the README)"
    )]
    SchemaTooNew {
        /// The newest migration applied to the database.
        found: i64,
        /// The newest migration this binary carries.
        known: i64,
    },
    /// The row the operation needs does not exist.
    #[error("{op} {target}: not found")]
    NotFound {
        /// The store operation.
        op: &'static str,
        /// What was looked for.
        target: String,
    },
}

impl StoreError {
    /// The normalised kind.
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::BadUrl { .. } => StoreErrorKind::Config,
            Self::CreateDir { .. } => StoreErrorKind::Config,
            Self::Connect { cause, .. } => match classify(cause) {
                StoreErrorKind::Database => StoreErrorKind::Unavailable,
                other => other,
            },
            Self::Migrate { cause, .. } => match cause {
                MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => classify(e),
                _ => StoreErrorKind::Database,
            },
            Self::Query { cause, .. } => classify(cause),
            Self::Invalid { .. } => StoreErrorKind::Invalid,
            Self::Corrupt { .. } => StoreErrorKind::Corrupt,
            Self::NotFound { .. } => StoreErrorKind::NotFound,
            Self::Fenced { .. } => StoreErrorKind::Fenced,
            Self::SchemaTooNew { .. } => StoreErrorKind::SchemaTooNew,
        }
    }

    /// Wraps a failed statement of `op` on `target`.
    pub(crate) fn query(op: &'static str, target: impl fmt::Display) -> impl FnOnce(sqlx::Error) -> Self {
        let target = target.to_string();
        move |cause| Self::Query { op, target, cause }
    }

    pub(crate) fn corrupt(op: &'static str, target: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Self::Corrupt { op, target: target.to_string(), reason: reason.to_string() }
    }

    pub(crate) fn invalid(op: &'static str, target: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Self::Invalid { op, target: target.to_string(), reason: reason.to_string() }
    }
}

/// Maps a sqlx error onto a kind. Busy/locked SQLite databases and PostgreSQL
/// serialisation failures, deadlocks and shutdowns are worth retrying; constraint
/// violations mean the input was wrong.
fn classify(error: &sqlx::Error) -> StoreErrorKind {
    match error {
        sqlx::Error::Configuration(_) => StoreErrorKind::Config,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreErrorKind::Unavailable,
        sqlx::Error::RowNotFound => StoreErrorKind::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreErrorKind::Corrupt,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            // SQLite primary codes 5 (BUSY) and 6 (LOCKED) come back as extended codes
            // whose low byte is the primary code.
            let sqlite_busy = code.parse::<i32>().map(|c| matches!(c & 0xff, 5 | 6)).unwrap_or(false);
            if sqlite_busy || matches!(code, "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300") {
                StoreErrorKind::Unavailable
            } else if !matches!(db.kind(), sqlx::error::ErrorKind::Other) {
                StoreErrorKind::Invalid
            } else {
                StoreErrorKind::Database
            }
        }
        _ => StoreErrorKind::Database,
    }
}
