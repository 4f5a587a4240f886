//! The daily token ledger (vendor note §8.1).
//!
//! Pipedrive charges every request tokens from a per-company daily budget shared by every
//! user and app of the company, and **no header reports what is left**. So zveno keeps its
//! own ledger: each call adds its cost from the published table ([`cost`]), and before a
//! call is sent the ledger refuses it when zveno's spending would eat into the reserve left
//! for the people and other integrations of the company. The refusal is a `RateLimited`
//! error naming what was spent and when the budget resets, raised *before* the request —
//! so a pull stops at a page boundary (the cursor of the last stored page stays) and the
//! scheduler defers the connector until the reset.
//!
//! The reset time is configurable: Pipedrive resets at midnight "in the server's time
//! zone" and does not name the zone.
//!
//! Where the daemon provides a [`SpendLedger`] (its store, see
//! [`zveno_connector::spend`]), the spending is tallied there per company and day: the first
//! call of a day reads what every instance spent ([`TokenLedger::refresh`]), and every
//! charge adds to the shared total and takes it back ([`TokenLedger::record`]), so a restart
//! or a second instance does not start from zero. Without one (or while the store is
//! unreachable) the ledger counts in memory; the reserve absorbs what that misses.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use zveno_connector::{ConnectorError, SpendLedger};

/// Token costs per request (`x-token-cost` in the specs, §8.1).
pub mod cost {
    /// A v2 list page, whatever its size.
    pub const LIST: u64 = 10;
    /// A v2 read of one record.
    pub const GET: u64 = 1;
    /// A v2 create.
    pub const CREATE: u64 = 5;
    /// A v2 update (`PATCH`).
    pub const UPDATE: u64 = 5;
    /// A v2 delete.
    pub const DELETE: u64 = 3;
    /// `GET /v1/users`.
    pub const USERS: u64 = 20;
    /// `GET /v1/recents`.
    pub const RECENTS: u64 = 20;
    /// A v2 search (`/api/v2/{entity}/search`).
    pub const SEARCH: u64 = 20;
    /// A v2 field schema (`/api/v2/{entity}Fields`).
    pub const FIELDS: u64 = 10;
}

/// zveno's spending against the company's daily token budget.
#[derive(Debug)]
pub struct TokenLedger {
    budget: u64,
    reserve: u64,
    reset: NaiveTime,
    state: Mutex<Day>,
    /// The shared tally and this company's account key in it.
    shared: Option<(Arc<dyn SpendLedger>, String)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Day {
    /// The reset instant that opened the current day.
    opened: Option<DateTime<Utc>>,
    spent: u64,
    /// Set when Pipedrive itself answered that the budget is spent.
    exhausted: bool,
    /// Whether the shared tally of this day has been read.
    synced: bool,
}

impl TokenLedger {
    /// A ledger for a company budget of `budget` tokens a day, keeping `reserve_percent` of
    /// it for others, with days starting at `reset` (UTC).
    pub fn new(budget: u64, reserve_percent: u8, reset: NaiveTime) -> Self {
        let reserve = budget.saturating_mul(u64::from(reserve_percent.min(100))) / 100;
        Self { budget, reserve, reset, state: Mutex::new(Day::default()), shared: None }
    }

    /// This ledger, tallied in `shared` under `account` (the company's account key).
    #[must_use]
    pub fn with_shared(mut self, shared: Option<Arc<dyn SpendLedger>>, account: &str) -> Self {
        self.shared = shared.map(|ledger| (ledger, account.to_string()));
        self
    }

    /// Reads what every instance spent today from the shared tally, once a day (each
    /// [`Self::record`] brings the total back after that).
    pub async fn refresh(&self, now: DateTime<Utc>) {
        if !self.day(now).synced {
            self.tally(0, now).await;
        }
    }

    /// Charges `tokens` to today, in memory and in the shared tally, whose total (every
    /// instance's spending) becomes the day's figure.
    pub async fn record(&self, tokens: u64, now: DateTime<Utc>) {
        self.spend(tokens, now);
        self.tally(tokens, now).await;
    }

    /// Adds `tokens` to the shared tally and takes its total. Never holds the lock across
    /// the store call; an unreachable store leaves the in-memory count as it is.
    async fn tally(&self, tokens: u64, now: DateTime<Utc>) {
        let Some((shared, account)) = &self.shared else { return };
        let start = self.day_start(now);
        match shared.add(account, start, tokens).await {
            Ok(total) => {
                let mut day = self.day(now);
                if day.opened == Some(start) {
                    day.spent = day.spent.max(total);
                    day.synced = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, "Pipedrive token ledger: counting in memory"),
        }
    }

    /// The company's daily budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The last reset at or before `now`.
    pub fn day_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive().and_time(self.reset).and_utc();
        if today <= now {
            today
        } else {
            today.checked_sub_days(Days::new(1)).unwrap_or(today)
        }
    }

    /// The next reset after `now`.
    pub fn next_reset(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let start = self.day_start(now);
        start.checked_add_days(Days::new(1)).unwrap_or(start)
    }

    fn day(&self, now: DateTime<Utc>) -> std::sync::MutexGuard<'_, Day> {
        let mut day = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let start = self.day_start(now);
        if day.opened != Some(start) {
            *day = Day { opened: Some(start), ..Day::default() };
        }
        day
    }

    /// Tokens zveno spent since the last reset.
    pub fn spent(&self, now: DateTime<Utc>) -> u64 {
        self.day(now).spent
    }

    /// Adds what a call cost.
    pub fn spend(&self, tokens: u64, now: DateTime<Utc>) {
        let mut day = self.day(now);
        day.spent = day.spent.saturating_add(tokens);
    }

    /// Records that Pipedrive answered "budget spent": nothing more is sent until the reset.
    pub fn mark_exhausted(&self, now: DateTime<Utc>) {
        self.day(now).exhausted = true;
    }

    /// How long until the reset.
    pub fn until_reset(&self, now: DateTime<Utc>) -> Duration {
        (self.next_reset(now) - now).to_std().unwrap_or(Duration::ZERO)
    }

    /// Whether a call costing `tokens` may be sent now; if not, the `RateLimited` error that
    /// stops the run until the reset, with a status a person can act on.
    pub fn allow(&self, tokens: u64, now: DateTime<Utc>) -> Result<(), ConnectorError> {
        let day = *self.day(now);
        let usable = self.budget.saturating_sub(self.reserve);
        let reset = self.next_reset(now);
        let wait = Some(self.until_reset(now));
        if day.exhausted {
            return Err(ConnectorError::rate_limited(
                wait,
                format!(
                    "Pipedrive's daily token budget is spent (it answered 429 with the burst window open); \
                     zveno spent {} tokens today; resuming after the reset at {reset} (UTC)",
                    day.spent
                ),
            ));
        }
        if day.spent.saturating_add(tokens) > usable {
            return Err(ConnectorError::rate_limited(
                wait,
                format!(
                    "Pipedrive token reserve reached: zveno spent {} of the {} tokens a day it may use \
                     (budget {}, reserve {} for others); stopped at a page boundary, resuming after the \
                     reset at {reset} (UTC)",
                    day.spent, usable, self.budget, self.reserve
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zveno_connector::ErrorKind;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn spending_stops_at_the_reserve_with_a_status_naming_the_reset() {
        let ledger = TokenLedger::new(1_000, 10, NaiveTime::from_hms_opt(0, 0, 0).unwrap());
        let now = at("2026-12-07T10:00:00Z");
        for _ in 0..90 {
            ledger.allow(cost::LIST, now).unwrap();
            ledger.spend(cost::LIST, now);
        }
        assert_eq!(ledger.spent(now), 900);
        let err = ledger.allow(cost::LIST, now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(Duration::from_secs(14 * 3600)) });
        assert!(err.message().contains("reserve") && err.message().contains("2026-12-08 00:00:00 UTC"), "{err}");
        // A cheaper call still fits under the reserve: no, 900 + 1 > 900.
        assert!(ledger.allow(cost::GET, now).is_err());
        // The next day starts from zero.
        assert!(ledger.allow(cost::LIST, at("2026-12-08T00:00:01Z")).is_ok());
        assert_eq!(ledger.spent(at("2026-12-08T00:00:01Z")), 0);
    }

    #[test]
    fn the_reset_time_is_configurable() {
        let ledger = TokenLedger::new(100, 0, NaiveTime::from_hms_opt(22, 0, 0).unwrap());
        assert_eq!(ledger.day_start(at("2026-12-07T21:59:59Z")), at("2026-12-06T22:00:00Z"));
        assert_eq!(ledger.day_start(at("2026-12-07T22:00:00Z")), at("2026-12-07T22:00:00Z"));
        assert_eq!(ledger.next_reset(at("2026-12-07T23:00:00Z")), at("2026-12-08T22:00:00Z"));
    }

    /// A shared tally in memory, as the store keeps it (one total per account and day).
    #[derive(Debug, Default)]
    struct Tally(Mutex<std::collections::HashMap<(String, DateTime<Utc>), u64>>);

    #[async_trait::async_trait]
    impl SpendLedger for Tally {
        async fn add(
            &self,
            account: &str,
            day: DateTime<Utc>,
            amount: u64,
        ) -> Result<u64, zveno_connector::SpendLedgerError> {
            let mut totals = self.0.lock().unwrap();
            let total = totals.entry((account.to_string(), day)).or_default();
            *total += amount;
            Ok(*total)
        }
    }

    #[tokio::test]
    async fn a_restart_or_a_second_instance_starts_from_what_every_instance_spent_today() {
        let tally: Arc<dyn SpendLedger> = Arc::new(Tally::default());
        let ledger = || TokenLedger::new(1_000, 10, NaiveTime::MIN).with_shared(Some(tally.clone()), "pipedrive acme");
        let now = at("2026-12-07T10:00:00Z");
        let first = ledger();
        for _ in 0..60 {
            first.refresh(now).await;
            first.allow(cost::LIST, now).unwrap();
            first.record(cost::LIST, now).await;
        }
        assert_eq!(first.spent(now), 600);
        // Another process (or this one restarted) on the same store: not from zero.
        let second = ledger();
        second.refresh(now).await;
        assert_eq!(second.spent(now), 600);
        for _ in 0..30 {
            second.allow(cost::LIST, now).unwrap();
            second.record(cost::LIST, now).await;
        }
        assert!(second.allow(cost::LIST, now).is_err(), "900 of 1,000 spent with a 10% reserve");
        // The first instance learns the second's spending with its next charge.
        first.record(cost::GET, now).await;
        assert_eq!(first.spent(now), 901);
        assert!(first.allow(cost::GET, now).is_err());
        // Another company, and the next day, start from zero.
        let other = TokenLedger::new(1_000, 10, NaiveTime::MIN).with_shared(Some(tally.clone()), "pipedrive globex");
        other.refresh(now).await;
        assert_eq!(other.spent(now), 0);
        let tomorrow = at("2026-12-08T00:00:01Z");
        second.refresh(tomorrow).await;
        assert_eq!(second.spent(tomorrow), 0);
    }

    #[derive(Debug)]
    struct Unreachable;

    #[async_trait::async_trait]
    impl SpendLedger for Unreachable {
        async fn add(&self, _: &str, _: DateTime<Utc>, _: u64) -> Result<u64, zveno_connector::SpendLedgerError> {
            Err(zveno_connector::SpendLedgerError("connection refused".into()))
        }
    }

    #[tokio::test]
    async fn an_unreachable_tally_leaves_the_count_in_memory() {
        let ledger =
            TokenLedger::new(100, 0, NaiveTime::MIN).with_shared(Some(Arc::new(Unreachable)), "pipedrive acme");
        let now = at("2026-12-07T10:00:00Z");
        ledger.refresh(now).await;
        ledger.record(cost::LIST, now).await;
        assert_eq!(ledger.spent(now), 10);
    }

    #[test]
    fn a_429_for_the_budget_stops_everything_until_the_reset() {
        let ledger = TokenLedger::new(100_000, 0, NaiveTime::MIN);
        let now = at("2026-12-07T23:00:00Z");
        ledger.mark_exhausted(now);
        let err = ledger.allow(cost::GET, now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited { retry_after: Some(Duration::from_secs(3600)) });
        assert!(ledger.allow(cost::GET, at("2026-12-08T00:00:00Z")).is_ok());
    }
}
