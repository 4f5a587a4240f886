//! Fault injection: the failures real vendors produce, on demand and reproducibly.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What to inject. Rates are fractions of requests (0.0–1.0), drawn from a seeded RNG so a
/// failing run can be replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Fraction answered with a 5xx before reaching the vendor logic (no side effects).
    pub server_errors: f64,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Fraction of successful answers whose body is cut in half (malformed JSON).
    pub malformed: f64,
    /// Fraction of successful answers whose connection drops mid-body.
    pub dropped: f64,
    /// Fraction answered 401 before reaching the vendor logic, as after a revoked token
    /// (1.0: every request, until set back).
    #[serde(default)]
    pub unauthorized: f64,
}

impl FaultConfig {
    /// No faults.
    pub const NONE: FaultConfig =
        FaultConfig { server_errors: 0.0, latency_ms: 0, malformed: 0.0, dropped: 0.0, unauthorized: 0.0 };

    /// The mix the conformance suite runs under: enough of each to hit every retry path.
    pub const CONFORMANCE: FaultConfig =
        FaultConfig { server_errors: 0.1, latency_ms: 2, malformed: 0.05, dropped: 0.03, ..FaultConfig::NONE };

    /// A bad day measured from outside (issue 9): 8% 5xx, 2% connections dropped mid-answer
    /// and one read in 25 cut short. One sync must still complete under it.
    pub const BAD_DAY: FaultConfig =
        FaultConfig { server_errors: 0.08, latency_ms: 0, malformed: 0.04, dropped: 0.02, ..FaultConfig::NONE };
}

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500/502/503 without running the handler.
    ServerError(u16),
    /// Truncate the body.
    Malformed,
    /// Drop the connection mid-body.
    Dropped,
    /// Answer 401 without running the handler.
    Unauthorized,
}

/// The live fault settings of one simulator.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<(FaultConfig, ChaCha8Rng)>,
}

impl Faults {
    /// No faults, with `seed` for later draws.
    pub fn new(seed: u64) -> Self {
        Self { state: Mutex::new((FaultConfig::NONE, ChaCha8Rng::seed_from_u64(seed))) }
    }

    /// Replaces the settings.
    pub fn set(&self, config: FaultConfig) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 = config;
    }

    /// The current settings.
    pub fn config(&self) -> FaultConfig {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Draws the fault (if any) and the latency for one request.
    pub fn draw(&self) -> (Option<Fault>, Duration) {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (config, rng) = &mut *guard;
        let latency = Duration::from_millis(config.latency_ms);
        let roll: f64 = rng.gen();
        // Cumulative thresholds, in a fixed order, so a seed replays the same faults.
        let mut threshold = 0.0;
        let mut hit = |fraction: f64| {
            threshold += fraction;
            roll < threshold
        };
        let fault = if hit(config.server_errors) {
            Some(Fault::ServerError([500, 502, 503][rng.gen_range(0..3)]))
        } else if hit(config.malformed) {
            Some(Fault::Malformed)
        } else if hit(config.dropped) {
            Some(Fault::Dropped)
        } else if hit(config.unauthorized) {
            Some(Fault::Unauthorized)
        } else {
            None
        };
        (fault, latency)
    }
}
