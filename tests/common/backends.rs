//! Running a store test on both backends: SQLite (a temp file) and PostgreSQL (a fresh
//! schema, see `postgres.rs`).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use zveno::store::Store;

use super::postgres::PgSchema;

/// Runs `test` on a migrated SQLite store, then on a migrated PostgreSQL store. The
/// closure gets the store and the URL it was opened with.
pub async fn on_both<F, Fut>(test: F)
where
    F: Fn(Store, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    // A nested path: connecting creates the parent directory.
    let url = format!("sqlite://{}/nested/dir/zveno.db", dir.path().display());
    let store = open(&url).await;
    test(store.clone(), url).await;
    store.close().await;

    let pg = PgSchema::create().await;
    let store = open(pg.url()).await;
    let result = AssertUnwindSafe(test(store.clone(), pg.url().to_string())).catch_unwind().await;
    store.close().await;
    pg.drop_schema().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A connected, migrated store.
pub async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate {url}: {e}"));
    store
}
