//! Exponential back-off with jitter.

use std::time::Duration;

use rand::Rng as _;

/// Back-off for transient failures: `base × 2^(attempt-1)`, capped, with "equal jitter"
/// (half fixed, half random) so that concurrent workers spread out but never retry at once.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The first wait.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), cap: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let full = exp.min(self.cap);
        let half = full / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let full = p.base.saturating_mul(1 << (attempt - 1).min(16)).min(p.cap);
            let wait = p.backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?}");
        }
    }
}
