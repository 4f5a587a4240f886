//! Settings: layering order, every problem reported with its path, examples valid.

use std::path::{Path, PathBuf};

use super::*;

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("zveno.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn problems(result: Result<Settings, ConfigErrors>) -> Vec<String> {
    match result {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_embedded_default_is_valid_and_syncs_nothing() {
    let settings = load(None, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.store_url, "sqlite://data/zveno.db");
    assert!(settings.connectors.is_empty());
}

#[test]
fn a_file_overrides_the_default_and_the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(dir.path(), "[store]\nurl = \"sqlite://from-file.db\"\n");
    let from_file = load(Some(&file), &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_file.store_url, "sqlite://from-file.db");
    let env = Env::from_pairs([("ZVENO__STORE__URL", "postgres://zveno@db/zveno")]);
    let from_env = load(Some(&file), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_env.store_url, "postgres://zveno@db/zveno");
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "[store]\nurl = \"mysql://nope\"\nsize = 3\n\n[schedul]\ninterval_secs = 1\n\n\
         [connectors.a]\nvendor = \"testvendor\"\nbase_url = \"not a url\"\ntoken_env = \"A_TOKEN\"\n\
         entities = [\"client\", \"deal\"]\nrate_limits.default = { requests = 0, per_secs = 10 }\n\
         http = { max_attempts = 0 }\n\n\
         [connectors.b]\nvendor = \"salesforce\"\n",
    );
    let found = problems(load(Some(&file), &Env::default()));
    for expected in [
        "store.size: unknown key",
        "schedul: unknown key",
        "store.url: \"mysql://nope\" is not a sqlite: or postgres:// URL",
        "connectors.a.base_url: \"not a url\" is not a URL",
        "connectors.a.entities[1]: unknown kind \"deal\"",
        "connectors.a.rate_limits.default: requests and per_secs must be at least 1",
        "connectors.a.http.max_attempts: must be at least 1",
        "connectors.a.token_env: A_TOKEN is not set",
        "connectors.b.vendor: unknown vendor \"salesforce\"",
    ] {
        assert!(found.iter().any(|p| p.starts_with(expected)), "missing {expected:?} in {found:#?}");
    }
}

#[test]
fn secrets_resolve_from_files_and_their_contents_never_appear_in_problems() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let secret = dir.path().join("token");
    std::fs::write(&secret, "super-secret-value\n").unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        &format!(
            "[connectors.a]\nvendor = \"testvendor\"\nbase_url = \"http://127.0.0.1:1\"\ntoken_file = \"{}\"\n\
             tokenn = \"super-secret-value\"\n",
            secret.display()
        ),
    );
    let found = problems(load(Some(&file), &Env::default()));
    assert_eq!(found, vec!["connectors.a.tokenn: unknown key".to_string()]);
    std::fs::write(
        &file,
        format!(
            "[connectors.a]\nvendor = \"testvendor\"\nbase_url = \"http://127.0.0.1:1\"\ntoken_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let settings = load(Some(&file), &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!format!("{settings:?}").contains("super-secret-value"), "settings must not hold the secret");
}

#[test]
fn every_shipped_example_config_is_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
    let entries = std::fs::read_dir(&examples).unwrap_or_else(|e| panic!("{}: {e}", examples.display()));
    let mut checked = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        // Examples name their secrets by *_env; give every such variable a value.
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let vars: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once("_env").and_then(|(_, rest)| rest.split('"').nth(1)))
            .map(|var| {
                // A webhook URL credential is a URL whose path holds the secret.
                let value = if var.contains("URL") {
                    "https://acme.portal.example/rest/1/abcdef0123456789/".to_string()
                } else {
                    format!("example-secret-{var}")
                };
                (var.to_string(), value)
            })
            .collect();
        if let Err(e) = load(Some(&path), &Env::from_pairs(vars)) {
            panic!("{} is invalid:\n{e}", path.display());
        }
        checked += 1;
    }
    assert!(checked > 0, "no example configs found in {}", examples.display());
}

#[test]
fn the_fingerprint_changes_with_the_settings_and_with_the_secrets_they_reference() {
    let dir = tempfile::tempdir().unwrap();
    let text = |interval: u64| {
        format!(
            "[connectors.a]\nvendor = \"testvendor\"\nbase_url = \"http://127.0.0.1:1\"\n\
             token_env = \"A_TOKEN\"\nschedule = {{ interval_secs = {interval}, full_every_secs = 3600 }}\n"
        )
    };
    let fingerprint = |interval: u64, token: &str| {
        let file = write(dir.path(), &text(interval));
        let env = Env::from_pairs([("A_TOKEN", token)]);
        let settings = load(Some(&file), &env).unwrap();
        settings.connectors["a"].fingerprint(&env)
    };
    let base = fingerprint(60, "token-1");
    assert_eq!(base, fingerprint(60, "token-1"), "stable");
    assert_ne!(base, fingerprint(61, "token-1"), "a setting changed");
    assert_ne!(base, fingerprint(60, "token-2"), "the referenced secret changed");
    assert!(!base.contains("token"), "{base}");
}

#[test]
fn a_mistyped_store_url_is_reported_without_its_password() {
    for url in ["postgress://zveno:hunter2@db/zveno", "mysql://db/zveno?user=z&password=hunter2"] {
        let env = Env::from_pairs([("ZVENO__STORE__URL", url)]);
        let found = problems(load(None, &env)).join("\n");
        assert!(found.contains("store.url:") && found.contains("***"), "{found}");
        assert!(!found.contains("hunter2"), "{found}");
        let store_only = load_store_url(None, &env).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(store_only.contains("store.url:") && !store_only.contains("hunter2"), "{store_only}");
    }
}

#[test]
fn settings_debug_output_shows_no_environment_value() {
    let env = Env::from_pairs([("A_TOKEN", "tok-123456"), ("HOME", "/root")]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "[connectors.a]\nvendor = \"testvendor\"\nbase_url = \"http://127.0.0.1:1\"\ntoken_env = \"A_TOKEN\"\n",
    );
    let settings = load(Some(&file), &env).unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{settings:?}");
    assert!(!shown.contains("tok-123456") && !shown.contains("/root"), "{shown}");
    assert!(shown.contains("Env(2 variables, values redacted)"), "{shown}");
    let spec =
        settings.connectors.get("a").map(|spec| spec.context(&env, Arc::new(zveno_connector::SystemClock::new())));
    assert!(!format!("{spec:?}").contains("tok-123456"), "the build context hides it too");
}

#[test]
fn plain_http_base_urls_are_refused_unless_they_are_loopback() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = Env::from_pairs([("A_TOKEN", "tok-123456")]);
    for (base_url, refused) in [
        ("http://crm.example.com", true),
        ("http://10.0.0.5:8080", true),
        ("http://127.0.0.1:8701", false),
        ("http://localhost:8701", false),
        ("http://[::1]:8701", false),
        ("https://crm.example.com", false),
    ] {
        let file = write(
            dir.path(),
            &format!("[connectors.a]\nvendor = \"testvendor\"\nbase_url = \"{base_url}\"\ntoken_env = \"A_TOKEN\"\n"),
        );
        let found = problems(load(Some(&file), &env));
        let says_https = found.iter().any(|p| p.starts_with("connectors.a.base_url:") && p.contains("must be https"));
        assert_eq!(says_https, refused, "{base_url}: {found:?}");
    }
}
