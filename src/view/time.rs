//! Time as the unified view shows it: in `[view] timezone` (default: the machine's zone),
//! every time labelled with its zone, and "overdue" decided there.
//!
//! A due *date* (no time of day) reaches the store as the end of that day: 23:59:59 in the
//! account's zone when the connector knows it, else 23:59:59 UTC. The first is overdue a
//! second later, which is right. The second would be three hours late in Moscow and
//! seven hours early in Los Angeles, so a `23:59:59Z` due time counts as a date and is
//! overdue once that day has ended in the view's zone. The store applies the same rule in
//! SQL ([`crate::store::OverdueAt`]); both take the zone's offset at "now".

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::store::{OverdueAt, DAY_END_MS, DAY_MS};

/// "Now" and the zone the view is shown in.
#[derive(Debug, Clone, Copy)]
pub struct ViewTime {
    /// The zone.
    pub zone: Tz,
    /// Now.
    pub now: DateTime<Utc>,
}

impl ViewTime {
    /// The view at `now` in `zone`.
    pub fn new(zone: Tz, now: DateTime<Utc>) -> Self {
        Self { zone, now }
    }

    /// The zone's offset from UTC at `now`, in ms (east positive).
    fn offset_ms(&self) -> i64 {
        i64::from(self.zone.offset_from_utc_datetime(&self.now.naive_utc()).fix().local_minus_utc()) * 1000
    }

    /// The store's form of the overdue rule.
    pub fn overdue_at(&self) -> OverdueAt {
        let now = self.now.timestamp_millis();
        // A date-only due D 23:59:59Z is overdue from D+1 00:00 in the zone, which is
        // due + 1 s − offset: so once due ≤ now − 1 s + offset.
        OverdueAt { now, date_only_cutoff: now - 1000 + self.offset_ms() }
    }

    /// Whether `due` counts as a date rather than a time of day: 23:59:59 in UTC (a
    /// connector that did not know the account's zone) or in the view's zone.
    pub fn is_date_only(&self, due: DateTime<Utc>) -> bool {
        is_utc_day_end(due) || is_day_end(due.with_timezone(&self.zone).time())
    }

    /// Whether an open task due at `due` is overdue now.
    pub fn is_past_due(&self, due: DateTime<Utc>) -> bool {
        let at = self.overdue_at();
        let ms = due.timestamp_millis();
        if is_utc_day_end(due) {
            ms <= at.date_only_cutoff
        } else {
            ms < at.now
        }
    }

    /// `due` for people: `2026-03-01` for a date, else `2026-03-01 18:00 MSK`.
    pub fn due(&self, due: Option<DateTime<Utc>>) -> String {
        match due {
            None => "-".to_string(),
            Some(d) if is_utc_day_end(d) => d.date_naive().format("%Y-%m-%d").to_string(),
            Some(d) if self.is_date_only(d) => d.with_timezone(&self.zone).format("%Y-%m-%d").to_string(),
            Some(d) => self.time(Some(d)),
        }
    }

    /// An instant for people, in the view's zone with its abbreviation: `2026-03-01 18:00 MSK`.
    pub fn time(&self, at: Option<DateTime<Utc>>) -> String {
        at.map_or_else(|| "-".to_string(), |t| t.with_timezone(&self.zone).format("%Y-%m-%d %H:%M %Z").to_string())
    }

    /// The calendar date of `at` in the view's zone.
    pub fn date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }
}

fn is_utc_day_end(at: DateTime<Utc>) -> bool {
    at.timestamp_millis().rem_euclid(DAY_MS) == DAY_END_MS
}

fn is_day_end(t: chrono::NaiveTime) -> bool {
    t.hour() == 23 && t.minute() == 59 && t.second() == 59
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_utc_due_date_is_overdue_once_the_day_ends_in_the_view_zone() {
        let due = at("2026-03-01T23:59:59Z");
        let moscow = chrono_tz::Europe::Moscow;
        // 23:30 in Moscow on the 1st: the day is not over there.
        assert!(!ViewTime::new(moscow, at("2026-03-01T20:30:00Z")).is_past_due(due));
        // 00:00:30 in Moscow on the 2nd (21:00:30 UTC on the 1st): over, though 23:59:59Z is not.
        assert!(ViewTime::new(moscow, at("2026-03-01T21:00:30Z")).is_past_due(due));
        // Los Angeles: the 1st ends at 08:00 UTC on the 2nd.
        let la = chrono_tz::America::Los_Angeles;
        assert!(!ViewTime::new(la, at("2026-03-02T07:59:00Z")).is_past_due(due));
        assert!(ViewTime::new(la, at("2026-03-02T08:00:30Z")).is_past_due(due));
    }

    #[test]
    fn a_due_time_of_day_is_overdue_after_it_whatever_the_zone() {
        let due = at("2026-03-01T15:00:00Z");
        let view = ViewTime::new(chrono_tz::Asia::Tokyo, at("2026-03-01T14:59:00Z"));
        assert!(!view.is_past_due(due));
        assert!(ViewTime::new(chrono_tz::Asia::Tokyo, at("2026-03-01T15:00:01Z")).is_past_due(due));
        assert!(!view.is_date_only(due));
    }

    #[test]
    fn the_store_rule_matches_the_view_rule() {
        let moscow = ViewTime::new(chrono_tz::Europe::Moscow, at("2026-03-01T21:00:30Z"));
        let o = moscow.overdue_at();
        let due = at("2026-03-01T23:59:59Z").timestamp_millis();
        assert!(due > o.now && due <= o.date_only_cutoff, "{o:?}");
    }

    #[test]
    fn times_are_labelled_with_their_zone_and_dates_shown_as_dates() {
        let view = ViewTime::new(chrono_tz::Europe::Moscow, at("2026-03-01T00:00:00Z"));
        assert_eq!(view.time(Some(at("2026-03-01T15:00:00Z"))), "2026-03-01 18:00 MSK");
        assert_eq!(view.due(Some(at("2026-03-05T23:59:59Z"))), "2026-03-05");
        assert_eq!(view.due(Some(at("2026-03-05T20:59:59Z"))), "2026-03-05", "end of day in Moscow");
        assert_eq!(view.due(None), "-");
    }
}
