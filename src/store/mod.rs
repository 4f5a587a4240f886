//! The store: source records, cursors, run history, connector standing (active, deferred,
//! parked, and why) and the unified view identity resolution builds (entities, links,
//! operators' overrides, task attachments, the key index), in SQLite (the default, one
//! file) or PostgreSQL (several daemon instances sharing work).
//!
//! There is one code path for both backends: `sqlx::any` with runtime-checked, portable
//! SQL (`$1` placeholders, `ON CONFLICT ... DO UPDATE`, `RETURNING`), timestamps as
//! epoch-ms integers, JSON as text and booleans as 0/1 integers. Only connection set-up,
//! the migration folder and how a write transaction begins differ per backend, and they
//! are all in this file.
//!
//! The central operation is [`Store::commit_page`]: a pulled page and the cursor that
//! follows it are written in one transaction, so a crash between pages loses nothing and
//! re-reads at most one page. Upserts are idempotent and never move a record back to an
//! older remote version; full scans keep a census so that records missing from two
//! consecutive *complete* scans become tombstones (see `page.rs`).
//!
//! SQLite set-up: the parent directory of the file is created, the file is created if
//! missing, the journal is WAL (readers never block the writer) with
//! `synchronous = NORMAL` (durable across process crashes; a power cut may lose the last
//! commits, which are then re-pulled because their cursor is lost with them; `FULL` would
//! add an fsync to every page commit for nothing zveno cannot fetch again), and a busy
//! timeout lets concurrent writers wait instead of failing. Statement journals (every
//! multi-row upsert opens one) and sorts live in memory (`temp_store = MEMORY`) rather
//! than in temporary files. The page cache stays at SQLite's default (2 MiB per
//! connection, at most four readers and the writer): every MiB of it is resident in the process,
//! the first thing a small instance runs out of, while the page reads it would save were
//! about 4% of a full sync's CPU (`.ci/profile`). The WAL is checkpointed every 10,000
//! pages rather than 1,000 (see [`SQLITE_WAL_AUTOCHECKPOINT`]). Write transactions start with
//! `BEGIN IMMEDIATE`, taking the write lock up front: a deferred transaction that
//! reads first and writes later can fail with `SQLITE_BUSY` without ever waiting. They
//! all run on one connection of their own (see [`Store::begin_write`]).
//!
//! SQLite itself is built (`.cargo/config.toml`) without its memory statistics and with
//! a page cache per connection: both are process-wide locks taken on every allocation and
//! page fetch, which zveno never reads and never shares: about 3% of a full sync's CPU in
//! `.ci/profile`, and a full resolution of 50,611 records took 2.0 s of CPU against 2.15 s.

/// The `dirty` column of a `source_records` query: 1 while the row is in the dirty queue,
/// which is a table of its own (`dirty_records`, migration 0016), else 0. A macro so the
/// column lists that need it stay `const` text (`concat!`).
macro_rules! dirty_column {
    () => {
        "CASE WHEN EXISTS (SELECT 1 FROM dirty_records q WHERE q.kind = source_records.kind \
         AND q.connector = source_records.connector AND q.external_id = source_records.external_id) \
         THEN 1 ELSE 0 END AS dirty"
    };
}

mod census;
mod connector_state;
mod cursors;
mod entities;
mod error;
mod flows;
mod leases;
mod links;
mod migrations;
mod overrides;
mod page;
mod privacy;
mod records;
mod resolution;
mod resolve_keys;
mod run_health;
mod runs;
mod sources;
mod spend;
mod sql;
mod verdict;
mod views;
mod webhook_events;

pub mod bench;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::{Any, AnyConnection, Connection, Executor, Transaction};
use zveno_connector::{Clock, SystemClock};

pub use census::{hold_threshold, CensusHold, Settled};
pub use connector_state::{ConnectorState, ConnectorStatus, StateChange};
pub use cursors::ScanState;
pub use entities::{EntityRow, LinkRow, ResolutionWrite, TaskLinkRow};
pub use error::{StoreError, StoreErrorKind};
pub use flows::{ConflictRow, FlowState, NewConflict, OutboxRow, WriteSettled, Written};
pub use leases::{Fence, Heartbeat, Lease, LeaseHolder, LeaseRow};
pub use overrides::Override;
pub use page::PageOutcome;
pub use records::{DeletedBy, RecordKey, RecordVersion, StoredRecord};
pub use resolution::ResolutionRow;
pub use resolve_keys::KeyMembers;
pub use run_health::{KindHealth, RECENT_RUNS};
pub use runs::{RunOutcome, RunRow, RunStatus};
pub use sources::SourceCheck;
pub use views::{ClientFilter, OverdueAt, TaskFilter, TaskKey, DAY_END_MS, DAY_MS};

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reading connections to a SQLite file (the writer has one more of its own).
const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// WAL pages written before a commit copies them back into the database file: 10,000
/// pages of 4 KiB, ten times SQLite's default. A bulk sync rewrites the same b-tree pages
/// in commit after commit; each checkpoint copies a page once however often it changed
/// since the last, so fewer checkpoints copy fewer pages (they took 4% of a full sync's CPU
/// at the default, `.ci/profile`). The cost is disk, not memory: the WAL file grows to
/// about 40 MiB before it is reused.
const SQLITE_WAL_AUTOCHECKPOINT: u32 = 10_000;
/// Connections to PostgreSQL per daemon instance.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
/// How long to wait for a pooled connection before reporting the store unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the first PostgreSQL connection may take before `connect` gives up.
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, a file (or memory, for tests).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The stable name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A handle to the store. Cloning is cheap: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run: on a SQLite file, a pool of its own holding one
    /// connection (see [`Store::begin_write`]); otherwise `pool` itself.
    writer: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Opens a pool on `url`: `sqlite://data/zveno.db`, `sqlite:///abs/path.db`,
    /// `sqlite::memory:` or `postgres://user@host/db`. Does not migrate: call
    /// [`Store::migrate`] (the daemon does at start-up, `zveno migrate` on demand).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(url)?;
        let shown = target.shown.clone();
        let connect_err = |cause| StoreError::Connect { url: shown.clone(), cause };
        let (pool, writer) = match &target.kind {
            TargetKind::Sqlite { file } => {
                if let Some(dir) = file.as_deref().and_then(Path::parent) {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|cause| StoreError::CreateDir { path: dir.to_path_buf(), cause })?;
                    }
                }
                let options = || {
                    AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT).after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(sqlite_session_pragmas().as_str()).await?;
                            Ok(())
                        })
                    })
                };
                if file.is_none() {
                    // Every connection to `:memory:` is its own database: keep exactly
                    // one, forever, and write on it too.
                    let pool = options().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
                    let pool = pool.connect(&target.connect_url).await.map_err(connect_err)?;
                    (pool.clone(), pool)
                } else {
                    let pool = options().max_connections(SQLITE_MAX_CONNECTIONS);
                    let pool = pool.connect(&target.connect_url).await.map_err(connect_err)?;
                    enable_wal(&pool).await.map_err(connect_err)?;
                    let writer = options().max_connections(1).idle_timeout(None).max_lifetime(None);
                    let writer = writer.connect(&target.connect_url).await.map_err(connect_err)?;
                    (pool, writer)
                }
            }
            TargetKind::Postgres => {
                // One direct connection first: the pool retries a refused connection
                // until its acquire timeout and then reports only "pool timed out"; the
                // operator needs the real cause (refused, unknown host, bad password)
                // within seconds.
                match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, AnyConnection::connect(&target.connect_url)).await {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                    }
                    Ok(Err(e)) => return Err(connect_err(e)),
                    Err(_) => {
                        return Err(connect_err(sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no answer within {} s", FIRST_CONNECT_TIMEOUT.as_secs()),
                        ))))
                    }
                }
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(&target.connect_url)
                    .await
                    .map_err(connect_err)?;
                (pool.clone(), pool)
            }
        };
        Ok(Store { pool, writer, backend: target.backend(), clock: Arc::new(SystemClock::new()) })
    }

    /// The database file a `sqlite:` URL names (`None` for PostgreSQL, in-memory
    /// databases and unparsable URLs), so read-only commands can refuse to create one.
    pub fn sqlite_file(url: &str) -> Option<PathBuf> {
        match Target::parse(url).ok()?.kind {
            TargetKind::Sqlite { file } => file,
            TargetKind::Postgres => None,
        }
    }

    /// The same store reading time (`first_seen_at`, `synced_at`, cursor times) from
    /// `clock`, so tests can pin it.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations that are not applied yet. Safe when several
    /// instances start at once (see the `migrations` module).
    ///
    /// A database some newer zveno migrated (several instances, upgraded one at a time) is
    /// refused with [`StoreError::SchemaTooNew`]: this binary would misread its tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let backend = self.backend;
        let known = migrations::latest(backend);
        let err = |cause: sqlx::migrate::MigrateError| match cause {
            sqlx::migrate::MigrateError::VersionMissing(found) if found > known => {
                StoreError::SchemaTooNew { found, known }
            }
            cause => StoreError::Migrate { backend, cause },
        };
        let migrator = migrations::migrator(backend).await.map_err(err)?;
        match backend {
            Backend::Postgres => migrator.run(&self.pool).await.map_err(err),
            Backend::Sqlite => {
                let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| err(e.into()))?;
                migrator.run(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(|e| err(e.into()))
            }
        }
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Begins a write transaction (see the module docs for why SQLite's is immediate).
    ///
    /// On a SQLite file, writes run on one connection kept for them. SQLite writes one
    /// transaction at a time anyway, and a connection's page cache survives its own
    /// commits but is dropped whole when another connection has written: with writes
    /// spread over the pool's connections, each began cold. One writer also prepares each
    /// statement once rather than once per connection. A full resolution of a 50,611-record
    /// store took 2.15 s of CPU this way against 2.46 s on the pool (one run each).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

/// Set on every SQLite connection (see the module docs for the choices).
fn sqlite_session_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT};",
        SQLITE_BUSY_TIMEOUT.as_millis()
    )
}

/// Switches a SQLite file to WAL. The mode is stored in the file, so this is done once
/// per open rather than per connection; the switch needs a moment of exclusive access,
/// which the busy timeout does not cover, so it is retried briefly when another process
/// is opening the same file.
async fn enable_wal(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL").fetch_one(pool).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 50 && is_sqlite_busy(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

/// A parsed store URL.
#[derive(Debug)]
struct Target {
    kind: TargetKind,
    /// What sqlx is given.
    connect_url: String,
    /// What error messages show (no password).
    shown: String,
}

#[derive(Debug)]
enum TargetKind {
    /// `file` is `None` for in-memory databases.
    Sqlite {
        file: Option<PathBuf>,
    },
    Postgres,
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        let shown = zveno_connector::redact_text(url);
        let bad = |reason: &str| StoreError::BadUrl { url: shown.clone(), reason: reason.to_string() };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (database, params) = match rest.split_once('?') {
                Some((d, p)) => (d, Some(p)),
                None => (rest, None),
            };
            let memory = database == ":memory:" || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
            if database.is_empty() && !memory {
                return Err(bad("names no database file (expected sqlite://path/to/file.db or sqlite::memory:)"));
            }
            let has_mode = params.is_some_and(|p| p.split('&').any(|kv| kv.starts_with("mode=")));
            let params = match (params, has_mode || memory) {
                (Some(p), true) => p.to_string(),
                (Some(p), false) => format!("{p}&mode=rwc"),
                (None, true) => String::new(),
                (None, false) => "mode=rwc".to_string(),
            };
            // `sqlite:path` rather than `sqlite://path`: without `//` the URL parser never
            // reads the first path segment as a host.
            let connect_url =
                if params.is_empty() { format!("sqlite:{database}") } else { format!("sqlite:{database}?{params}") };
            Ok(Target {
                kind: TargetKind::Sqlite { file: (!memory).then(|| PathBuf::from(database)) },
                connect_url,
                shown,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target { kind: TargetKind::Postgres, connect_url: url.to_string(), shown })
        } else {
            Err(bad("unknown scheme (expected sqlite: or postgres:)"))
        }
    }

    fn backend(&self) -> Backend {
        match self.kind {
            TargetKind::Sqlite { .. } => Backend::Sqlite,
            TargetKind::Postgres => Backend::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Option<(Option<PathBuf>, String)> {
        match Target::parse(url).ok()? {
            Target { kind: TargetKind::Sqlite { file }, connect_url, .. } => Some((file, connect_url)),
            _ => None,
        }
    }

    #[test]
    fn sqlite_urls_name_a_file_created_if_missing() {
        assert_eq!(
            parse("sqlite://data/zveno.db"),
            Some((Some(PathBuf::from("data/zveno.db")), "sqlite:data/zveno.db?mode=rwc".to_string()))
        );
        assert_eq!(
            parse("sqlite:///var/lib/zveno/z.db"),
            Some((Some(PathBuf::from("/var/lib/zveno/z.db")), "sqlite:/var/lib/zveno/z.db?mode=rwc".to_string()))
        );
        assert_eq!(
            parse("sqlite:z.db?mode=ro"),
            Some((Some(PathBuf::from("z.db")), "sqlite:z.db?mode=ro".to_string()))
        );
    }

    #[test]
    fn sqlite_memory_urls_have_no_file() {
        assert_eq!(parse("sqlite::memory:"), Some((None, "sqlite::memory:".to_string())));
    }

    #[test]
    fn bad_urls_are_refused_without_showing_passwords() {
        let err = Target::parse("mysql://root:hunter2@localhost/db").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown scheme"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(Target::parse("sqlite://").is_err());
        let err = Target::parse("postgresql://u@h/db?password=hunter2&x=1").map(|t| t.shown).unwrap_or_default();
        assert_eq!(err, "postgresql://u@h/db?password=***&x=1");
    }
}
