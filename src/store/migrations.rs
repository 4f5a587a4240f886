//! The embedded schema migrations, one folder per backend (`migrations/sqlite/`,
//! `migrations/postgres/`), append-only.
//!
//! The files are compiled in with `include_str!` and handed to sqlx's [`Migrator`]
//! through a [`MigrationSource`], which is exactly what `sqlx::migrate!` expands to: the
//! workspace builds sqlx without its `macros` feature (runtime-checked queries only), and
//! that feature is what provides `migrate!`. Checksums are sqlx's own (SHA-384 of the
//! file), so switching to `migrate!` later is invisible to existing databases. A unit
//! test keeps the lists below and the folders in step.
//!
//! Concurrency: on PostgreSQL the migrator takes sqlx's advisory lock, so several
//! instances starting at once apply each migration exactly once. SQLite has no advisory
//! locks; [`super::Store::migrate`] runs the migrator inside a `BEGIN IMMEDIATE`
//! transaction instead, which serialises processes on the database file.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

use super::Backend;

/// One migration file.
#[derive(Debug)]
struct Embedded {
    version: i64,
    /// As sqlx derives it from the file name: underscores become spaces.
    description: &'static str,
    sql: &'static str,
}

const SQLITE: &[Embedded] = &[
    Embedded {
        version: 1,
        description: "source records cursors runs",
        sql: include_str!("migrations/sqlite/0001_source_records_cursors_runs.sql"),
    },
    Embedded {
        version: 2,
        description: "entities links overrides",
        sql: include_str!("migrations/sqlite/0002_entities_links_overrides.sql"),
    },
    Embedded {
        version: 3,
        description: "connector state",
        sql: include_str!("migrations/sqlite/0003_connector_state.sql"),
    },
    Embedded {
        version: 4,
        description: "entities search index",
        sql: include_str!("migrations/sqlite/0004_entities_search_index.sql"),
    },
    Embedded {
        version: 5,
        description: "reresolve with new matching keys",
        sql: include_str!("migrations/sqlite/0005_reresolve_with_new_matching_keys.sql"),
    },
    Embedded { version: 6, description: "leases", sql: include_str!("migrations/sqlite/0006_leases.sql") },
    Embedded {
        version: 7,
        description: "source fingerprint",
        sql: include_str!("migrations/sqlite/0007_source_fingerprint.sql"),
    },
    Embedded { version: 8, description: "census", sql: include_str!("migrations/sqlite/0008_census.sql") },
    Embedded {
        version: 10,
        description: "webhook events",
        sql: include_str!("migrations/sqlite/0010_webhook_events.sql"),
    },
    Embedded {
        version: 12,
        description: "outbox ledger",
        sql: include_str!("migrations/sqlite/0012_outbox_ledger.sql"),
    },
    Embedded {
        version: 13,
        description: "agreed conflicts",
        sql: include_str!("migrations/sqlite/0013_agreed_conflicts.sql"),
    },
    Embedded { version: 14, description: "spend ledger", sql: include_str!("migrations/sqlite/0014_spend_ledger.sql") },
    Embedded { version: 15, description: "ledger sent", sql: include_str!("migrations/sqlite/0015_ledger_sent.sql") },
    Embedded { version: 16, description: "dirty queue", sql: include_str!("migrations/sqlite/0016_dirty_queue.sql") },
];

const POSTGRES: &[Embedded] = &[
    Embedded {
        version: 1,
        description: "source records cursors runs",
        sql: include_str!("migrations/postgres/0001_source_records_cursors_runs.sql"),
    },
    Embedded {
        version: 2,
        description: "entities links overrides",
        sql: include_str!("migrations/postgres/0002_entities_links_overrides.sql"),
    },
    Embedded {
        version: 3,
        description: "connector state",
        sql: include_str!("migrations/postgres/0003_connector_state.sql"),
    },
    Embedded {
        version: 4,
        description: "entities search index",
        sql: include_str!("migrations/postgres/0004_entities_search_index.sql"),
    },
    Embedded {
        version: 5,
        description: "reresolve with new matching keys",
        sql: include_str!("migrations/postgres/0005_reresolve_with_new_matching_keys.sql"),
    },
    Embedded { version: 6, description: "leases", sql: include_str!("migrations/postgres/0006_leases.sql") },
    Embedded {
        version: 7,
        description: "source fingerprint",
        sql: include_str!("migrations/postgres/0007_source_fingerprint.sql"),
    },
    Embedded { version: 8, description: "census", sql: include_str!("migrations/postgres/0008_census.sql") },
    Embedded {
        version: 10,
        description: "webhook events",
        sql: include_str!("migrations/postgres/0010_webhook_events.sql"),
    },
    Embedded {
        version: 12,
        description: "outbox ledger",
        sql: include_str!("migrations/postgres/0012_outbox_ledger.sql"),
    },
    Embedded {
        version: 13,
        description: "agreed conflicts",
        sql: include_str!("migrations/postgres/0013_agreed_conflicts.sql"),
    },
    Embedded {
        version: 14,
        description: "spend ledger",
        sql: include_str!("migrations/postgres/0014_spend_ledger.sql"),
    },
    Embedded { version: 15, description: "ledger sent", sql: include_str!("migrations/postgres/0015_ledger_sent.sql") },
    Embedded { version: 16, description: "dirty queue", sql: include_str!("migrations/postgres/0016_dirty_queue.sql") },
];

#[derive(Debug)]
struct Source(&'static [Embedded]);

impl MigrationSource<'static> for Source {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|m| {
                    Migration::new(
                        m.version,
                        Cow::Borrowed(m.description),
                        MigrationType::Simple,
                        Cow::Borrowed(m.sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The newest migration version this binary carries for `backend`.
pub(super) fn latest(backend: Backend) -> i64 {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    list.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The migrator for `backend`.
pub(super) async fn migrator(backend: Backend) -> Result<Migrator, MigrateError> {
    Migrator::new(Source(match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(version, description, contents)` of every `.sql` file in a folder, as sqlx's
    /// folder source would read them.
    fn folder(backend: &str) -> Vec<(i64, String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations").join(backend);
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".sql") else {
                continue;
            };
            let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
            let contents = std::fs::read_to_string(entry.path()).unwrap_or_default();
            found.push((version.parse().unwrap_or(-1), description.replace('_', " "), contents));
        }
        found.sort();
        found
    }

    fn listed(list: &[Embedded]) -> Vec<(i64, String, String)> {
        list.iter().map(|m| (m.version, m.description.to_string(), m.sql.to_string())).collect()
    }

    #[test]
    fn embedded_lists_match_the_migration_folders() {
        assert_eq!(listed(SQLITE), folder("sqlite"));
        assert_eq!(listed(POSTGRES), folder("postgres"));
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let versions = |list: &[Embedded]| list.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
