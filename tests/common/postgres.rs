//! A fresh PostgreSQL schema per test.
//!
//! The server comes from `ZVENO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/zveno_test`, trust auth). The database is created
//! on first use by connecting to the server's `postgres` database. Each test gets its own
//! schema, selected for every pooled connection through the `options=-csearch_path=...`
//! URL parameter, so the store's tables and sqlx's `_sqlx_migrations` land there and
//! tests running in parallel never see each other. Postgres being unreachable is a test
//! failure with a message saying what to do, never a skip.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::OnceCell;
use url::Url;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/zveno_test";

static DATABASE_READY: OnceCell<()> = OnceCell::const_new();
static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// The server and database tests use.
pub fn base_url() -> String {
    std::env::var("ZVENO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A schema that lives for one test.
#[derive(Debug)]
pub struct PgSchema {
    schema: String,
    url: String,
}

impl PgSchema {
    /// Creates the database if needed and a fresh, empty schema in it.
    pub async fn create() -> PgSchema {
        sqlx::any::install_default_drivers();
        let base = base_url();
        DATABASE_READY.get_or_init(|| ensure_database(base.clone())).await;
        let schema = format!("zveno_t_{}_{}", std::process::id(), SCHEMAS.fetch_add(1, Ordering::Relaxed));
        let mut conn = connect(&base).await;
        conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap_or_else(|e| panic!("creating schema {schema} in {base}: {e}"));
        let _ = conn.close().await;
        let mut url = Url::parse(&base).unwrap_or_else(|e| panic!("bad ZVENO_TEST_POSTGRES_URL {base:?}: {e}"));
        url.query_pairs_mut().append_pair("options", &format!("-csearch_path={schema}"));
        PgSchema { schema, url: url.to_string() }
    }

    /// The URL whose connections use this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        let base = base_url();
        let mut conn = connect(&base).await;
        conn.execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema).as_str())
            .await
            .unwrap_or_else(|e| panic!("dropping schema {} in {base}: {e}", self.schema));
        let _ = conn.close().await;
    }
}

async fn connect(url: &str) -> AnyConnection {
    AnyConnection::connect(url).await.unwrap_or_else(|e| unusable(url, &e))
}

fn unusable(url: &str, e: &sqlx::Error) -> ! {
    panic!(
        "PostgreSQL is required for the store tests and {url} is not usable: {e}\n\
         Start PostgreSQL locally (trust auth for 127.0.0.1) or point \
         ZVENO_TEST_POSTGRES_URL at a server where the user may create databases."
    )
}

/// Creates the test database when it does not exist yet. Another test process may be
/// creating it at the same moment; losing that race is fine.
async fn ensure_database(base: String) {
    match AnyConnection::connect(&base).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return;
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => unusable(&base, &e),
    }
    let url = Url::parse(&base).unwrap_or_else(|e| panic!("bad ZVENO_TEST_POSTGRES_URL {base:?}: {e}"));
    let database = url.path().trim_start_matches('/').to_string();
    let mut admin_url = url.clone();
    admin_url.set_path("/postgres");
    let mut admin = connect(admin_url.as_str()).await;
    let create = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
    match admin.execute(create.as_str()).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) => {}
        Err(e) => panic!("creating test database {database:?} via {admin_url}: {e}"),
    }
    let _ = admin.close().await;
}
