//! Opening the store for commands that only read it (`clients`, `client`, `tasks`,
//! `runs`): they never create one. A forgotten `--config` would otherwise leave an empty
//! `data/zveno.db` behind and print an empty list as if that were the answer.

use std::path::Path;

use crate::store::Store;

/// Config files worth suggesting when the store is missing, in order.
const LIKELY_CONFIGS: [&str; 3] = ["zveno.toml", "zveno-demo/zveno.toml", "/etc/zveno/zveno.toml"];

/// Opens (and migrates) the store at `url` if it exists; a SQLite file that does not is
/// an error with a hint, and nothing is created.
pub(super) async fn open_existing(url: &str) -> anyhow::Result<Store> {
    if let Some(file) = Store::sqlite_file(url) {
        if !file.exists() {
            let hint = LIKELY_CONFIGS
                .iter()
                .find(|c| Path::new(c).is_file())
                .map_or_else(|| "PATH (or ZVENO_CONFIG)".to_string(), |c| (*c).to_string());
            anyhow::bail!("no store at {} — did you mean --config {hint}?", file.display());
        }
    }
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}
