//! Pointing zveno at running simulators: the config `zveno demo` and `zveno bench sync`
//! write next to their store, and the simulators file `zveno demo` writes for scripts and
//! vendor SDKs once its first sync has committed (the file's presence is the signal that
//! the store is filled, so a script needs no log scraping).

use std::path::{Path, PathBuf};

use serde_json::json;
use zveno_sim::kit::LaunchedSim;

/// The file `zveno demo` lists its simulators in, in its data directory.
pub(super) const SIMULATORS_FILE: &str = "simulators.json";

/// Where a connector finds a simulator: its vendor, URL, options (secrets by reference,
/// `*_env`) and the values those references name.
#[derive(Debug, Clone, Copy)]
pub(super) struct SimAddress<'a> {
    pub vendor: &'a str,
    pub url: &'a str,
    pub options: &'a serde_json::Value,
    pub env: &'a [(String, String)],
}

/// Writes `zveno.toml` pointing at the simulators, with their demo credentials in files
/// next to it, so the user's own `zveno --config …` commands work while the demo runs.
pub(super) fn write_config(dir: &Path, sims: &[LaunchedSim]) -> anyhow::Result<PathBuf> {
    let urls: Vec<String> = sims.iter().map(|s| s.server.url()).collect();
    let addresses: Vec<SimAddress<'_>> = sims
        .iter()
        .zip(&urls)
        .map(|(s, url)| SimAddress { vendor: s.vendor, url, options: &s.options, env: &s.env })
        .collect();
    write_config_for(dir, &addresses, None)
}

/// [`write_config`] for simulators described by address, on the store at `store_url`
/// (default: `zveno.db` in `dir`).
pub(super) fn write_config_for(
    dir: &Path,
    sims: &[SimAddress<'_>],
    store_url: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let mut connectors = toml::Table::new();
    for sim in sims {
        let mut table = toml::Table::new();
        table.insert("vendor".into(), sim.vendor.into());
        table.insert("base_url".into(), sim.url.into());
        let serde_json::Value::Object(options) = sim.options else {
            anyhow::bail!("simulator {} gave non-table options", sim.vendor);
        };
        for (key, value) in options {
            // `*_env` references become `*_file` ones: the file holds the demo credential.
            if let (Some(stem), Some(var)) = (key.strip_suffix("_env"), value.as_str()) {
                let secret = secret(sim.env, var);
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
    let url = store_url.map_or_else(|| format!("sqlite://{}", dir.join("zveno.db").display()), str::to_string);
    store.insert("url".into(), url.into());
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

/// Writes [`SIMULATORS_FILE`] into `dir`: for each simulator its connector name, vendor,
/// URL, connector options and the demo credentials it accepts (`token_env` becomes
/// `credentials.token`), with the config path, so a script can point a vendor SDK at each
/// simulator and compare what it reads with what zveno stored. Written to a temporary
/// name and renamed, so a reader never sees half a file.
pub(super) fn write_simulators(dir: &Path, config: &Path, sims: &[LaunchedSim]) -> anyhow::Result<PathBuf> {
    let entries: Vec<serde_json::Value> = sims
        .iter()
        .map(|sim| {
            let serde_json::Value::Object(options) = &sim.options else {
                anyhow::bail!("simulator {} gave non-table options", sim.vendor);
            };
            let mut credentials = serde_json::Map::new();
            let mut plain = serde_json::Map::new();
            for (key, value) in options {
                match (key.strip_suffix("_env"), value.as_str()) {
                    (Some(stem), Some(var)) => {
                        credentials.insert(stem.to_string(), secret(&sim.env, var).into());
                    }
                    _ => {
                        plain.insert(key.clone(), value.clone());
                    }
                }
            }
            Ok(json!({"connector": sim.vendor, "vendor": sim.vendor, "url": sim.server.url(),
                      "options": plain, "credentials": credentials}))
        })
        .collect::<anyhow::Result<_>>()?;
    let body = json!({"config": config.display().to_string(), "simulators": entries});
    let path = dir.join(SIMULATORS_FILE);
    let partial = dir.join(format!("{SIMULATORS_FILE}.partial"));
    std::fs::write(&partial, serde_json::to_vec_pretty(&body)?)?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// The demo credential a simulator accepts for the environment variable `var`.
fn secret(env: &[(String, String)], var: &str) -> String {
    env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()).unwrap_or_default()
}
