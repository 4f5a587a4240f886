//! Exponential back-off with full jitter, and the arithmetic of vendor waits.
//!
//! Back-off: the ceiling doubles with every failed attempt (`base × 2^(attempt-1)`, capped)
//! and the wait is drawn uniformly from zero to that ceiling ("full jitter", as in the AWS
//! architecture blog's comparison): concurrent workers spread out instead of retrying in
//! lock-step, and the expected wait still doubles per attempt.
//!
//! Vendor waits come from headers and bodies nobody checks for sanity (`Retry-After: 1e20`, a
//! reset in year 9999). They are computed saturating, never panicking, and no wait is ever
//! honoured for longer than [`MAX_DEFER`].

use std::time::Duration;

use rand::Rng as _;

/// The longest a vendor's wait is honoured for. A longer one (a bogus `Retry-After: 1e20`, a
/// reset header in year 9999, or a real daily quota) defers the run by this much; by then the
/// vendor says again how long, if it still means it.
pub const MAX_DEFER: Duration = Duration::from_secs(24 * 3600);

/// Back-off for transient failures: full jitter under a ceiling that doubles per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// The highest ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), cap: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The longest wait before attempt `attempt + 1`: `base × 2^(attempt-1)`, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The wait before attempt `attempt + 1`: uniform in `0..=ceiling(attempt)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        rand::thread_rng().gen_range(Duration::ZERO..=ceiling)
    }
}

/// `secs` (as a vendor wrote it, possibly fractional) as a wait: `None` for negative or
/// non-numeric values, saturating at `Duration::MAX` instead of panicking like
/// `Duration::from_secs_f64` does.
pub fn wait_from_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// A wait for people: `7.5 s`, `12 min`, `5 h`, `3 days`, `more than a lifetime`.
pub fn describe_wait(wait: Duration) -> String {
    let secs = wait.as_secs_f64();
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 2.0 * 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 2.0 * 86_400.0 {
        format!("{:.0} h", secs / 3600.0)
    } else if secs < 200.0 * 365.0 * 86_400.0 {
        format!("{:.0} days", secs / 86_400.0)
    } else {
        "more than a lifetime".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(1), Duration::from_millis(500));
        assert_eq!(p.ceiling(2), Duration::from_secs(1));
        assert_eq!(p.ceiling(4), Duration::from_secs(4));
        assert_eq!(p.ceiling(7), Duration::from_secs(30));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(30));
        for attempt in 1..40 {
            assert!(p.backoff(attempt) <= p.ceiling(attempt), "attempt {attempt}");
        }
    }

    #[test]
    fn vendor_seconds_saturate_instead_of_panicking() {
        assert_eq!(wait_from_secs(7.5), Some(Duration::from_millis(7500)));
        assert_eq!(wait_from_secs(1e20), Some(Duration::MAX));
        assert_eq!(wait_from_secs(f64::INFINITY), Some(Duration::MAX));
        assert_eq!(wait_from_secs(-1.0), None);
        assert_eq!(wait_from_secs(f64::NAN), None);
        assert_eq!(describe_wait(Duration::MAX), "more than a lifetime");
        assert_eq!(describe_wait(Duration::from_secs(3 * 86_400)), "3 days");
    }
}
