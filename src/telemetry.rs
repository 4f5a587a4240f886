//! Logging: human-readable by default, JSON lines with `--log-format json`, always on
//! stderr so that stdout carries only command output (`--json` listings pipe cleanly).

use std::io::IsTerminal as _;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `warn` for everything, `level` for zveno's own crates: the daemon, the connector core,
/// the simulator kit and every vendor crate the registry lists, so a vendor added there
/// logs without another edit here.
fn default_filter(level: &str) -> String {
    let crates =
        ["zveno", "zveno_connector", "zveno_sim"].map(String::from).into_iter().chain(crate::registry::log_targets());
    std::iter::once("warn".to_string()).chain(crates.map(|c| format!("{c}={level}"))).collect::<Vec<_>>().join(",")
}

/// Installs the global subscriber. `RUST_LOG` overrides `default_level`.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter(default_level)));
    // Colour only for a person at a terminal: never in files, journald or pipes, and
    // never when NO_COLOR is set (https://no-color.org).
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second init (tests calling twice) is harmless; ignore the error.
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_names_every_registered_vendor_crate() {
        let filter = default_filter("debug");
        assert!(filter.starts_with("warn,zveno=debug,zveno_connector=debug,zveno_sim=debug"), "{filter}");
        for vendor in crate::registry::vendors() {
            assert!(
                filter.contains(&format!("zveno_{}=debug", vendor.vendor)),
                "{} missing from {filter}",
                vendor.vendor
            );
        }
        assert!(EnvFilter::try_new(&filter).is_ok(), "{filter} must parse");
    }
}
