//! Bitrix24's per-method execution-time budget ("operating"), on the injected clock.
//!
//! From <https://apidocs.bitrix24.com/limits.html>: each method's execution time is summed in
//! ten one-minute baskets; a basket's countdown starts at the first call in its minute and
//! lasts ten minutes (`operating_reset_at`); the portal checks the sum *before* each call, so
//! the call that crosses the limit completes and the next one is refused with
//! `OPERATION_TIME_LIMIT`. Calls here "take" a configurable number of seconds without
//! sleeping: the budget is exercised by making calls expensive, not slow.

use std::collections::{HashMap, VecDeque};

/// A basket lives this long after its first call.
const BASKET_LIFE_SECS: f64 = 600.0;

/// The budget of every method of one webhook.
#[derive(Debug)]
pub struct Operating {
    limit_secs: f64,
    default_cost: f64,
    costs: HashMap<String, f64>,
    baskets: HashMap<String, VecDeque<Basket>>,
}

#[derive(Debug, Clone, Copy)]
struct Basket {
    minute: i64,
    started: f64,
    total: f64,
}

/// The accounting of one completed call, for its `time` object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spent {
    /// The call's duration.
    pub duration: f64,
    /// The method's running total after it.
    pub operating: f64,
    /// When the oldest basket drops out (Unix seconds).
    pub reset_at: f64,
}

impl Default for Operating {
    fn default() -> Self {
        Self { limit_secs: 480.0, default_cost: 0.02, costs: HashMap::new(), baskets: HashMap::new() }
    }
}

impl Operating {
    /// Sets the budget (the cloud's is 480 s per 10 minutes).
    pub fn set_limit(&mut self, secs: f64) {
        self.limit_secs = secs;
    }

    /// Sets how long each call of `method` takes.
    pub fn set_cost(&mut self, method: &str, secs: f64) {
        self.costs.insert(method.to_string(), secs);
    }

    fn live(&mut self, method: &str, now: f64) -> &mut VecDeque<Basket> {
        let baskets = self.baskets.entry(method.to_string()).or_default();
        while baskets.front().is_some_and(|b| b.started + BASKET_LIFE_SECS <= now) {
            baskets.pop_front();
        }
        baskets
    }

    /// Whether `method` may run at `now` (Unix seconds).
    pub fn allows(&mut self, method: &str, now: f64) -> bool {
        let limit = self.limit_secs;
        self.live(method, now).iter().map(|b| b.total).sum::<f64>() <= limit
    }

    /// Records one call of `method` at `now`.
    pub fn spend(&mut self, method: &str, now: f64) -> Spent {
        let duration = self.costs.get(method).copied().unwrap_or(self.default_cost);
        let minute = (now / 60.0).floor() as i64;
        let baskets = self.live(method, now);
        match baskets.back_mut() {
            Some(b) if b.minute == minute => b.total += duration,
            _ => baskets.push_back(Basket { minute, started: now, total: duration }),
        }
        Spent {
            duration,
            operating: baskets.iter().map(|b| b.total).sum(),
            reset_at: baskets.front().map_or(now, |b| b.started) + BASKET_LIFE_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_crossing_the_limit_runs_and_the_next_waits_for_the_oldest_basket() {
        let mut op = Operating::default();
        op.set_limit(100.0);
        op.set_cost("crm.company.list", 30.0);
        let t0 = 1_790_000_000.0;
        for i in 0..4 {
            assert!(op.allows("crm.company.list", t0 + f64::from(i)));
            op.spend("crm.company.list", t0 + f64::from(i));
        }
        assert!(!op.allows("crm.company.list", t0 + 10.0), "120 s > 100 s");
        assert!(op.allows("tasks.task.list", t0 + 10.0), "other methods keep working");
        let spent = op.spend("tasks.task.list", t0 + 10.0);
        assert_eq!(spent.reset_at, t0 + 10.0 + 600.0);
        assert!(op.allows("crm.company.list", t0 + 600.0), "the basket dropped out");
    }
}
