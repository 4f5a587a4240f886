//! Fuzzing with a fixed budget: inputs nobody wrote on purpose must give an answer or a
//! clear error, never a panic.
//!
//! - The config loader, fed mutations of every shipped config (the embedded default and
//!   each example): this also drives every vendor's option validation, since loading a
//!   config validates each connector's options with its vendor's own rules.
//! - The credential redactor, fed random text around URLs, `name=value` pairs and JSON
//!   fields: no panic, and a planted password never survives.
//! - Every vendor's JSON mapping ([`mappings`]): a page answer, parsed as the connector
//!   parses it, each record mapped into a `SourceRecord` (or refused as a `RecordError`).
//! - Every vendor's webhook verification and parsing ([`webhooks`]).
//!
//! Vendor inputs start from real-shaped answers ([`seeds`]) and are mutated with their
//! structure in mind ([`mutate`]: wrong types, missing and extra fields, huge numbers,
//! deep nesting, dates out of range) and then, now and then, byte by byte (invalid UTF-8,
//! broken `\u` escapes), so most cases get past the JSON parser to the code behind it.
//! The cases are drawn from a seeded generator (no `proptest`: a failure names a case
//! number that reproduces, and the tree mutations need the vendor's own field names, which
//! a generic strategy would not know). Budget: `ZVENO_FUZZ_CASES` per target (default
//! 3,000, the CI size); `ZVENO_FUZZ_SEED` moves every seed for longer explorations; each
//! target prints its case count and time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mappings;
mod mutate;
mod seeds;
mod webhooks;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zveno::settings;
use zveno_connector::{redact_text, Env};

fn budget() -> usize {
    std::env::var("ZVENO_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000)
}

/// A target's seed: its own, moved by `ZVENO_FUZZ_SEED` (default 0, the CI run) so a long
/// run can explore other cases; a failure names the seed it used.
fn seeded(base: u64) -> u64 {
    let offset: u64 = std::env::var("ZVENO_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    base.wrapping_add(offset.wrapping_mul(1_000))
}

/// Characters that matter to TOML and to URLs, mixed with ordinary ones.
const ALPHABET: &[u8] = b"[]{}=\"',.:/@?&#\\\n \t_-0123456789abcxyzAZ\xd0\xb0";

/// Bytes shown as text (lossily) when a case fails.
pub struct Shown(pub Vec<u8>);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// Runs `budget()` cases of target `name`: each input comes from `make`, and `run` says
/// whether it was accepted (mapped into at least one record or hint) or refused with an
/// error. A panic fails the test naming the case and its input. Asserts that at least
/// `min_accepted_share` of the cases got past the parsers, so a mutator that only ever
/// breaks the JSON cannot pass for a fuzzer of the mapping behind it.
pub fn fuzz<I: fmt::Debug>(
    name: &str,
    seed: u64,
    min_accepted_share: f64,
    mut make: impl FnMut(&mut StdRng) -> I,
    run: impl Fn(&I) -> bool,
) {
    let started = Instant::now();
    let seed = seeded(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut accepted, cases) = (0usize, budget());
    for case in 0..cases {
        let input = make(&mut rng);
        match catch_unwind(AssertUnwindSafe(|| run(&input))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => {
                let shown: String = format!("{input:?}").chars().take(4_000).collect();
                panic!("{name}: case {case} (seed {seed}) panicked on {shown}");
            }
        }
    }
    eprintln!(
        "fuzz {name}: {cases} cases ({accepted} accepted, {} refused) in {:.2} s",
        cases - accepted,
        started.elapsed().as_secs_f64()
    );
    #[allow(clippy::cast_precision_loss)]
    let share = accepted as f64 / cases.max(1) as f64;
    assert!(
        cases < 100 || share >= min_accepted_share,
        "{name}: only {accepted} of {cases} cases were accepted; the mutations no longer reach the mapping"
    );
}

fn shipped_configs() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut configs = vec![std::fs::read(root.join("zveno.toml")).unwrap()];
    let mut examples: Vec<PathBuf> =
        std::fs::read_dir(root.join("examples")).unwrap().map(|e| e.unwrap().path()).collect();
    examples.sort();
    configs.extend(
        examples.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")).map(|p| std::fs::read(p).unwrap()),
    );
    configs
}

#[test]
fn the_config_loader_never_panics_on_mutated_configs() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seeded(13));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zveno.toml");
    let configs = shipped_configs();
    // Every variable the configs reference, so validation goes past "not set" (a Bitrix24
    // webhook URL is a URL whose path holds the secret).
    let vars: Vec<(String, String)> = configs
        .iter()
        .flat_map(|c| String::from_utf8_lossy(c).lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| l.split_once("_env").and_then(|(_, rest)| rest.split('"').nth(1)).map(str::to_string))
        .map(|var| {
            let value = if var.contains("URL") {
                "https://acme.bitrix24.ru/rest/1/fuzz-secret-1234/".to_string()
            } else {
                "fuzz-secret-1234".to_string()
            };
            (var, value)
        })
        .collect();
    let env = Env::from_pairs(vars);
    let (mut loaded, mut refused) = (0, 0);
    for case in 0..budget() {
        let mut text = configs[case % configs.len()].clone();
        for _ in 0..rng.gen_range(1..6) {
            mutate::bytes(&mut rng, &mut text, ALPHABET);
        }
        std::fs::write(&file, &text).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| settings::load(Some(&file), &env)));
        match outcome {
            Ok(Ok(_)) => loaded += 1,
            Ok(Err(errors)) => {
                refused += 1;
                let shown = errors.to_string();
                assert!(!shown.contains("fuzz-secret-1234"), "case {case}: a secret in the problems:\n{shown}");
            }
            Err(_) => panic!("case {case}: the loader panicked on:\n{}", String::from_utf8_lossy(&text)),
        }
    }
    assert!(refused > 0 && loaded > 0, "the mutations should both keep and break configs");
    eprintln!(
        "fuzz config loader: {} cases ({loaded} loaded, {refused} refused) in {:.1} s",
        budget(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_redactor_never_panics_and_never_lets_a_planted_password_through() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seeded(17));
    let pieces = [
        "postgres://",
        "https://",
        "user",
        ":",
        "@",
        "/",
        "?",
        "&",
        "=",
        "\"",
        "{",
        "}",
        " ",
        "password",
        "token",
        "x",
        "é",
        "\\",
        "db.example",
        "nextPageToken",
    ];
    for case in 0..budget() {
        let mut text = String::new();
        for _ in 0..rng.gen_range(0..30) {
            text.push_str(pieces[rng.gen_range(0..pieces.len())]);
        }
        let secret = format!("S3cr3t{case}");
        let planted = match case % 3 {
            0 => format!("{text} postgres://zveno:{secret}@db/zveno {text}"),
            1 => format!("{text} https://h/p?a=1&password={secret}&b=2"),
            _ => format!("{text} {{\"client_secret\": \"{secret}\"}}"),
        };
        let shown = catch_unwind(|| redact_text(&planted))
            .unwrap_or_else(|_| panic!("case {case}: the redactor panicked on {planted:?}"));
        assert!(!shown.contains(&secret), "case {case}: {planted:?} became {shown:?}");
        let _ = catch_unwind(|| redact_text(&text)).unwrap_or_else(|_| panic!("case {case}: panicked on {text:?}"));
    }
    eprintln!("fuzz redactor: {} cases in {:.1} s", budget(), started.elapsed().as_secs_f64());
}
