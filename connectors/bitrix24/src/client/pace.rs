//! How many calls a batch may carry now, from what the portal's `time` blocks said.
//!
//! A batch of 50 list calls is one request (2,500 rows), which is what makes Bitrix24 scans
//! cheap — while the portal is fast. Two limits bite when it is slow
//! (<https://apidocs.bitrix24.com/limits.html>, vendor note §8.2):
//! - **request time**: the cloud cuts a request off at 60 s, and the client's own timeout
//!   (90 s by default for batches) ends it too. A batch should take at most half of the
//!   smaller of the two, so one slow answer never becomes a timeout;
//! - **operating time**: each method may run 480 s per 10 minutes. A batch should never carry
//!   more calls than the method has budget left, so the method is paused *between* batches
//!   (see `observe_operating`) instead of being refused half-way through one.
//!
//! The cost of one call of a method is a moving average of the per-command `duration`s (and
//! of the batch's own `duration` divided by its calls, which also counts the batch overhead).
//! While the budget is ample and calls are quick the limit is the full 50; it shrinks only as
//! the numbers approach a limit, and grows back when they recede.

use std::time::Duration;

use crate::client::MAX_COMMANDS;

/// Bitrix24 cloud ends every request after this long.
pub const PORTAL_REQUEST_LIMIT: Duration = Duration::from_secs(60);
/// Share of the request-time limit a batch may be expected to take.
const REQUEST_SHARE: f64 = 0.5;
/// The execution-time budget of a method per ten minutes (the cloud's default).
pub const OPERATING_LIMIT_SECS: f64 = 480.0;
/// Share of the execution-time budget at which a method is paused before Bitrix24 blocks it.
pub const OPERATING_SOFT_LIMIT_SECS: f64 = 0.9 * OPERATING_LIMIT_SECS;
/// Weight of the newest sample in the moving average of a call's cost.
const SMOOTHING: f64 = 0.5;

/// What the portal said about one method.
#[derive(Debug, Clone, Copy, Default)]
pub struct MethodPace {
    /// Seconds one call takes (moving average), once seen.
    cost: Option<f64>,
    /// Execution time used in the last ten minutes, as of the latest answer.
    pub used: f64,
    /// Unix time when the oldest basket of `used` drops out.
    pub reset_at: f64,
    /// The limit last reported in the log, so a change is logged once.
    pub reported: Option<usize>,
}

/// Why a batch is shorter than asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cause {
    /// Calls are slow: the batch would near the request time limit.
    RequestTime {
        /// Seconds per call.
        cost: f64,
        /// The request time the batch must stay well under.
        limit: Duration,
    },
    /// The method nears its execution-time budget.
    Operating {
        /// Seconds used in the last ten minutes.
        used: f64,
    },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RequestTime { cost, limit } => {
                write!(f, "calls take {cost:.1} s each and a request must finish well within {} s", limit.as_secs())
            }
            Self::Operating { used } => write!(
                f,
                "the method has used {used:.0} s of its {OPERATING_LIMIT_SECS:.0} s execution time in 10 minutes"
            ),
        }
    }
}

impl MethodPace {
    /// Adds a sample: one call took `secs`.
    pub fn observe_cost(&mut self, secs: f64) {
        if !secs.is_finite() || secs < 0.0 {
            return;
        }
        self.cost = Some(match self.cost {
            Some(avg) => avg + SMOOTHING * (secs - avg),
            None => secs,
        });
    }

    /// The most calls of this method one batch may carry at `now` (Unix seconds), with the
    /// cause when it is fewer than [`MAX_COMMANDS`].
    pub fn limit(&self, now: f64, timeout: Duration) -> (usize, Option<Cause>) {
        let Some(cost) = self.cost.filter(|c| *c > 0.0) else {
            return (MAX_COMMANDS, None);
        };
        let request = timeout.min(PORTAL_REQUEST_LIMIT);
        let by_time = calls_within(REQUEST_SHARE * request.as_secs_f64(), cost);
        // Once the oldest basket drops out the total is unknown until the next answer.
        let used = if now < self.reset_at { self.used } else { 0.0 };
        let by_budget = calls_within(OPERATING_SOFT_LIMIT_SECS - used, cost);
        let (limit, cause) = if by_budget < by_time {
            (by_budget, Cause::Operating { used })
        } else {
            (by_time, Cause::RequestTime { cost, limit: request })
        };
        let limit = limit.clamp(1, MAX_COMMANDS);
        (limit, (limit < MAX_COMMANDS).then_some(cause))
    }
}

/// How many calls of `cost` seconds fit in `budget` seconds.
fn calls_within(budget: f64, cost: f64) -> usize {
    let calls = (budget / cost).floor();
    if calls.is_finite() && calls > 0.0 {
        (calls as usize).min(MAX_COMMANDS)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(90);

    #[test]
    fn a_fast_portal_keeps_batches_of_fifty() {
        let mut pace = MethodPace::default();
        assert_eq!(pace.limit(0.0, TIMEOUT), (50, None), "nothing known yet");
        pace.observe_cost(0.2);
        assert_eq!(pace.limit(0.0, TIMEOUT), (50, None));
    }

    #[test]
    fn slow_calls_shorten_batches_to_half_the_request_limit_and_recover() {
        let mut pace = MethodPace::default();
        pace.observe_cost(1.2); // 50 calls would take 60 s: the cloud's cut-off
        let (limit, cause) = pace.limit(0.0, TIMEOUT);
        assert_eq!(limit, 25);
        assert!(matches!(cause, Some(Cause::RequestTime { .. })), "{cause:?}");
        // A shorter configured timeout shortens further.
        assert_eq!(pace.limit(0.0, Duration::from_secs(12)).0, 5);
        for _ in 0..10 {
            pace.observe_cost(0.1);
        }
        assert_eq!(pace.limit(0.0, TIMEOUT), (50, None), "fast again");
    }

    #[test]
    fn a_method_near_its_budget_gets_no_more_calls_than_it_has_time_left() {
        let mut pace = MethodPace { used: 420.0, reset_at: 1000.0, ..MethodPace::default() };
        pace.observe_cost(0.5);
        // 12 s left before the soft limit (432 s): 24 calls of 0.5 s.
        let (limit, cause) = pace.limit(500.0, TIMEOUT);
        assert_eq!(limit, 24);
        assert!(matches!(cause, Some(Cause::Operating { .. })), "{cause:?}");
        // After the basket's reset the old total no longer counts.
        assert_eq!(pace.limit(1000.0, TIMEOUT), (50, None));
        // Over the budget: one call (the method is paused before it goes out).
        let spent = MethodPace { used: 470.0, reset_at: 1000.0, ..pace };
        assert_eq!(spent.limit(500.0, TIMEOUT).0, 1);
    }
}
