//! When the archived lists are swept, and what that may cost.
//!
//! Search never returns archived records (HubSpot's "delete"), so after an incremental
//! window the connector lists `archived=true` and tombstones what was archived since the
//! last sweep. The archived list cannot be filtered by `archivedAt`: a sweep pages all of
//! it, ceil(archived / 100) requests, and HubSpot keeps archived records for 90 days. On a
//! portal with many of them, sweeping every five minutes would spend a large share of the
//! daily quota that every app of the portal shares. So sweeps run on their own interval
//! (`archived_sweep_secs`, every cycle by default) and are **bounded**: a day of sweeps of
//! all the connector's kinds spends at most `archived_sweep_percent` (2% by default) of the
//! portal's daily quota (from `X-HubSpot-RateLimit-Daily`, else the smallest plan's
//! 250,000). The interval stretches as the last sweep's cost grows:
//!
//! gap = max(archived_sweep_secs, 86,400 s × pages of the last sweep × kinds / (quota × percent / 100))
//!
//! With the defaults on a Free/Starter portal (5,000 sweep requests a day over three kinds),
//! sweeps run every five-minute cycle while each kind's archived list is at most 5 pages
//! (500 records), every 26 minutes at 30 pages (3,000 records), every 4.3 hours at 300.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The daily quota assumed until the portal reports its own (Free and Starter plans).
pub const ASSUMED_DAILY_LIMIT: u64 = 250_000;

/// When a completed sweep began and how many requests it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMark {
    /// Epoch ms.
    pub at_ms: i64,
    /// Pages (requests) it took.
    pub pages: u64,
}

/// The operator's sweep settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// The least time between two sweeps of one kind.
    pub every: Duration,
    /// The most of the daily quota a day of sweeps may spend, in percent.
    pub daily_percent: u8,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self { every: Duration::from_secs(300), daily_percent: 2 }
    }
}

impl SweepPolicy {
    /// The least time between two sweeps of one of `kinds` kinds, each costing `pages`
    /// requests, under a daily quota of `daily_limit` (see the module docs).
    pub fn gap(&self, pages: u64, kinds: usize, daily_limit: Option<u64>) -> Duration {
        let quota = daily_limit.filter(|l| *l > 0).unwrap_or(ASSUMED_DAILY_LIMIT);
        let per_day = (quota.saturating_mul(u64::from(self.daily_percent)) / 100).max(1);
        let spent = pages.max(1).saturating_mul(kinds.max(1) as u64);
        let bound = Duration::from_secs(86_400u64.saturating_mul(spent).div_ceil(per_day));
        self.every.max(bound)
    }

    /// Whether a sweep is due at `now_ms` after the `last` one (always, when none ran).
    pub fn due(&self, last: Option<&SweepMark>, now_ms: i64, kinds: usize, daily_limit: Option<u64>) -> bool {
        let Some(last) = last else { return true };
        let gap = i64::try_from(self.gap(last.pages, kinds, daily_limit).as_millis()).unwrap_or(i64::MAX);
        now_ms.saturating_sub(last.at_ms) >= gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn a_small_archive_is_swept_every_cycle() {
        let p = SweepPolicy::default();
        assert_eq!(p.gap(1, 3, Some(250_000)), Duration::from_secs(300));
        assert_eq!(p.gap(5, 3, Some(250_000)), Duration::from_secs(300));
        assert!(p.due(None, 0, 3, None), "never swept: due");
        let last = SweepMark { at_ms: 0, pages: 2 };
        assert!(!p.due(Some(&last), 4 * MIN, 3, None));
        assert!(p.due(Some(&last), 5 * MIN, 3, None));
    }

    #[test]
    fn a_large_archive_stretches_the_interval_within_the_share_of_the_quota() {
        let p = SweepPolicy::default();
        // 300 pages × 3 kinds against 5,000 requests a day: every 4.32 hours.
        assert_eq!(p.gap(300, 3, Some(250_000)), Duration::from_secs(15_552));
        assert_eq!(p.gap(30, 3, Some(250_000)), Duration::from_secs(1_556));
        // A larger quota (Enterprise) allows more frequent sweeps of the same archive.
        assert_eq!(p.gap(300, 3, Some(1_000_000)), Duration::from_secs(3_888));
        // Unknown quota: the smallest plan's is assumed.
        assert_eq!(p.gap(300, 3, None), p.gap(300, 3, Some(ASSUMED_DAILY_LIMIT)));
        for pages in [1u64, 7, 30, 300, 3_000] {
            let gap = p.gap(pages, 3, Some(250_000)).as_secs_f64();
            let per_day = 86_400.0 / gap * (pages * 3) as f64;
            assert!(per_day <= 5_000.0 + 1e-6, "{pages} pages: {per_day} requests a day");
        }
    }

    #[test]
    fn a_longer_operator_interval_wins() {
        let p = SweepPolicy { every: Duration::from_secs(3_600), daily_percent: 2 };
        assert_eq!(p.gap(1, 1, None), Duration::from_secs(3_600));
    }
}
