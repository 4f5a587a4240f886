//! The registry is the only vendor interface: no vendor's name appears in the daemon
//! (`src/`), the connector core or the simulator kit outside `src/registry.rs`, and what
//! used to be vendor code there (id forms, world profiles, config validation) now comes
//! from each vendor through its registry line.
//!
//! What "appears" means: code, string literals and data files (TOML, SQL) count; comments
//! (`//`, `/* */`, SQL `--`) do not. Prose that explains a design choice by the vendor that
//! forced it (a 503 that means throttling, a leaky bucket) is documentation, not vendor
//! behaviour; applied migrations cannot be edited anyway.

use std::path::{Path, PathBuf};

use zveno::registry;

/// The vendor names to look for: every listed vendor's name and its stem without a version
/// number (`bitrix24` → `bitrix`), except zveno's own test vendor.
fn vendor_names() -> Vec<String> {
    let mut names = Vec::new();
    for vendor in registry::all().into_iter().filter(|v| v.demo) {
        let name = vendor.entry.vendor.to_ascii_lowercase();
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit()).to_string();
        names.push(name);
        if !names.contains(&stem) {
            names.push(stem);
        }
    }
    names
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Rust source with comments blanked out (strings, chars and raw strings kept), line by line.
fn rust_code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !prev_is_ident(&chars, i) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let end: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let rest: String = chars[j + 1..].iter().collect();
            let len = rest.find(&end).map_or(rest.len(), |e| e + end.len());
            out.extend(&chars[i..=j]);
            out.push_str(&rest[..len]);
            i = j + 1 + rest[..len].chars().count();
        } else if c == '"' {
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(chars[i]);
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(ch);
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x', '\n', '\''), not a lifetime.
            let start = if next == Some('\\') { i + 3 } else { i + 2 };
            let end = (start..chars.len()).find(|&j| chars[j] == '\'').unwrap_or(chars.len() - 1);
            out.extend(&chars[i..=end]);
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// SQL with `--` comments blanked out.
fn sql_code(text: &str) -> String {
    text.lines().map(|l| l.split("--").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_comment_stripper_keeps_code_and_strings_and_drops_comments() {
    let text = "let a = \"https://x.example\"; // hubspot\n/* jira\n */ let b = ['x', '\\\\', '\\'']; fn f<'a>() {}\n/// bitrix\nr#\"pipedrive\"#";
    let code = rust_code(text);
    assert!(code.contains("\"https://x.example\""), "{code}");
    assert!(!code.contains("hubspot") && !code.contains("jira") && !code.contains("bitrix"), "{code}");
    assert!(code.contains("r#\"pipedrive\"#") && code.contains("'x'") && code.contains("<'a>"), "{code}");
    assert_eq!(code.lines().count(), text.lines().count());
    assert_eq!(sql_code("CREATE TABLE t (a TEXT); -- hubspot ids\n"), "CREATE TABLE t (a TEXT); ");
}

#[test]
fn no_vendor_is_named_outside_the_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = vendor_names();
    assert!(names.len() >= 4, "the registry lists the vendors: {names:?}");
    let mut paths = Vec::new();
    for dir in ["src", "connectors/core", "connectors/sim"] {
        files(&root.join(dir), &mut paths);
    }
    assert!(paths.len() > 50, "found the sources: {}", paths.len());
    let registry = root.join("src/registry.rs");
    let mut found = Vec::new();
    for path in paths.iter().filter(|p| **p != registry) {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let code = match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => rust_code(&text),
            Some("sql") => sql_code(&text),
            Some("md") => continue,
            _ => text,
        };
        for (n, line) in code.lines().enumerate() {
            let lower = line.to_lowercase();
            if let Some(name) = names.iter().find(|name| lower.contains(name.as_str())) {
                let shown = path.strip_prefix(root).unwrap_or(path).display();
                found.push(format!("{shown}:{}: {name}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "vendor names outside src/registry.rs:\n{}", found.join("\n"));
}

#[test]
fn vendor_option_keys_keep_their_case() {
    // Status names are map keys ("Won't Do"); the config layer must not lower-case them.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zveno.toml");
    std::fs::write(
        &file,
        "[connectors.t]\nvendor = \"jira\"\nbase_url = \"https://acme.atlassian.net\"\nemail = \"a@acme.com\"\n\
         token_env = \"T\"\njql = \"project = OPS\"\nstatus_map = { \"Won't Do\" = \"cancelled\" }\n",
    )
    .unwrap();
    let settings = zveno::settings::load(Some(&file), &zveno_connector::Env::from_pairs([("T", "x")])).unwrap();
    let options = &settings.connectors["t"].options;
    assert_eq!(options["status_map"]["Won't Do"], "cancelled", "{options}");
}

#[test]
fn each_vendor_reads_the_record_ids_people_type() {
    let read = |vendor: &str, typed: &str| registry::vendor(vendor).and_then(|v| (v.record_id)(typed));
    assert_eq!(read("bitrix24", "CO_45").as_deref(), Some("45"));
    assert_eq!(read("bitrix24", "C_12").as_deref(), Some("12"));
    assert_eq!(read("bitrix24", "L_3"), None, "a lead is no record zveno syncs");
    assert_eq!(read("hubspot", "5200000003").as_deref(), Some("5200000003"));
    assert_eq!(read("jira", "ops-12").as_deref(), Some("OPS-12"));
    assert_eq!(read("pipedrive", "9").as_deref(), Some("9"));
    assert_eq!(read("testvendor", "anything").as_deref(), Some("anything"));
}

#[test]
fn one_check_path_reports_each_problem_once() {
    // `zveno check` and the build share the vendor's `resolve`: a missing token is one problem.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zveno.toml");
    std::fs::write(&file, "[connectors.crm]\nvendor = \"hubspot\"\ntoken_env = \"NOT_SET\"\n").unwrap();
    let Err(errors) = zveno::settings::load(Some(&file), &zveno_connector::Env::default()) else {
        panic!("a missing token is a problem");
    };
    let text = errors.to_string();
    assert_eq!(text.matches("NOT_SET is not set").count(), 1, "{text}");
}
