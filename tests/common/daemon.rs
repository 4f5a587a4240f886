//! The daemon as an operator configures it: a `zveno.toml` naming connectors (simulators
//! here) and a SQLite store, loaded and validated by `settings::load`, built by `App::build`.

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

/// Writes a config with `connectors` and a store in `dir`, and builds the daemon from it
/// with the environment `vars` (the secrets the options reference).
pub async fn build(
    dir: &tempfile::TempDir,
    connectors: toml::Table,
    vars: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
) -> App {
    let tables = toml::Table::from_iter([("connectors".to_string(), toml::Value::Table(connectors))]);
    let config = format!(
        "[store]\nurl = \"sqlite://{}\"\n\n{}",
        dir.path().join("zveno.db").display(),
        toml::to_string(&tables).unwrap()
    );
    let path = dir.path().join("zveno.toml");
    std::fs::write(&path, config).unwrap();
    let settings = settings::load(Some(&path), &Env::from_pairs(vars)).unwrap();
    App::build(&settings, clock).await.unwrap()
}
