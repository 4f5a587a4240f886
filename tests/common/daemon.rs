//! The daemon as an operator configures it: a `zveno.toml` naming connectors (simulators
//! here) and a SQLite store, loaded and validated by `settings::load`, built by `App::build`.

use std::path::PathBuf;
use std::sync::Arc;

use zveno::app::App;
use zveno::settings;
use zveno_connector::{Clock, Env};

/// A `[connectors.<name>]` table: vendor, base URL and the simulator's own options.
pub fn connector(vendor: &str, base_url: &str, options: serde_json::Value) -> toml::Value {
    let mut table: toml::Table = toml::Value::try_from(options).unwrap().try_into().unwrap();
    table.insert("vendor".into(), vendor.into());
    table.insert("base_url".into(), base_url.into());
    toml::Value::Table(table)
}

/// Writes a config with `connectors` and a store (`store_url`, else a SQLite file in `dir`;
/// several instances share one store) and builds the daemon from it with the environment
/// `vars` (the secrets the options reference).
pub async fn build(
    dir: &tempfile::TempDir,
    store_url: Option<&str>,
    connectors: toml::Table,
    vars: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
) -> App {
    let path = write_config(dir, store_url, connectors, "");
    let settings = settings::load(Some(&path), &Env::from_pairs(vars)).unwrap();
    App::build(&settings, clock).await.unwrap()
}

/// Writes `zveno.toml` in `dir`: the store (`store_url`, else a SQLite file in `dir`),
/// `connectors`, then `more` (TOML text: `[[flows]]`, ...); its path.
pub fn write_config(dir: &tempfile::TempDir, store_url: Option<&str>, connectors: toml::Table, more: &str) -> PathBuf {
    let store_url =
        store_url.map_or_else(|| format!("sqlite://{}", dir.path().join("zveno.db").display()), str::to_string);
    let tables = toml::Table::from_iter([("connectors".to_string(), toml::Value::Table(connectors))]);
    let config = format!(
        "[store]\nurl = {}\n\n{}\n{more}",
        toml::Value::from(store_url.as_str()),
        toml::to_string(&tables).unwrap()
    );
    let path = dir.path().join("zveno.toml");
    std::fs::write(&path, config).unwrap();
    path
}
