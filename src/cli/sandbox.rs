//! Pointing zveno at running simulators: the config `zveno demo` and `zveno bench sync`
//! write next to their store.

use std::path::{Path, PathBuf};

use zveno_sim::kit::LaunchedSim;

/// Writes `zveno.toml` pointing at the simulators, with their demo credentials in files
/// next to it, so the user's own `zveno --config …` commands work while the demo runs.
pub(super) fn write_config(dir: &Path, sims: &[LaunchedSim]) -> anyhow::Result<PathBuf> {
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let mut connectors = toml::Table::new();
    for sim in sims {
        let mut table = toml::Table::new();
        table.insert("vendor".into(), sim.vendor.into());
        table.insert("base_url".into(), sim.server.url().into());
        let serde_json::Value::Object(options) = &sim.options else {
            anyhow::bail!("simulator {} gave non-table options", sim.vendor);
        };
        for (key, value) in options {
            // `*_env` references become `*_file` ones: the file holds the demo credential.
            if let (Some(stem), Some(var)) = (key.strip_suffix("_env"), value.as_str()) {
                let secret = sim.env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()).unwrap_or_default();
                let file = secrets.join(format!("{}.{stem}", sim.vendor));
                std::fs::write(&file, secret)?;
                table.insert(format!("{stem}_file"), file.display().to_string().into());
            } else {
                table.insert(key.clone(), toml::Value::try_from(value)?);
            }
        }
        connectors.insert(sim.vendor.to_string(), toml::Value::Table(table));
    }
    let mut root = toml::Table::new();
    let mut store = toml::Table::new();
    store.insert("url".into(), format!("sqlite://{}", dir.join("zveno.db").display()).into());
    root.insert("store".into(), toml::Value::Table(store));
    root.insert("connectors".into(), toml::Value::Table(connectors));
    let path = dir.join("zveno.toml");
    let text = format!(
        "# Written by `zveno demo`: the simulators' addresses change on every start.\n{}",
        toml::to_string_pretty(&root)?
    );
    std::fs::write(&path, text)?;
    Ok(path)
}
