//! The vendor's clock, as the `Date` header of its answers tells it.
//!
//! Incremental windows end "now" and their end becomes the next window's start. Taken from
//! the daemon's clock, a daemon running ahead of the vendor by more than the overlap would
//! skip every change the vendor stamps in between: the window ends in the vendor's future,
//! and the next one starts after records stamped later. So window bounds and watermarks are
//! taken from the vendor's clock: the daemon's clock moved by the offset the vendor's last
//! answer showed. `Date` has a precision of one second, so offsets within
//! [`PRECISION`] count as none (two clocks that agree never shift a window), and a larger
//! one is applied as measured, which errs early — the safe side for an upper bound.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use http::HeaderMap;

/// Offsets this small are within `Date`'s precision: the clocks agree.
pub const PRECISION: TimeDelta = TimeDelta::seconds(2);

/// An offset worth a warning: the daemon's clock is badly set.
const WARN_AT: TimeDelta = TimeDelta::seconds(60);

/// What the vendor's answers said about its clock.
#[derive(Debug, Default)]
pub struct VendorClock {
    offset: Mutex<Option<TimeDelta>>,
}

impl VendorClock {
    /// Reads the `Date` header of an answer received at `now` (the daemon's clock).
    pub fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        let Some(date) = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
        else {
            return;
        };
        let offset = date.with_timezone(&Utc) - now;
        let offset = if offset.abs() <= PRECISION { TimeDelta::zero() } else { offset };
        let mut known = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        let was = known.replace(offset);
        if offset.abs() >= WARN_AT && was.is_none_or(|w| (w - offset).abs() >= WARN_AT) {
            tracing::warn!(
                offset_secs = offset.num_seconds(),
                "the vendor's clock differs from this machine's; windows and watermarks follow the vendor's (check NTP)"
            );
        }
    }

    /// The offset from the daemon's clock to the vendor's (`None` before any answer).
    pub fn offset(&self) -> Option<TimeDelta> {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn dated(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.insert(http::header::DATE, v);
        }
        headers
    }

    #[test]
    fn agreeing_clocks_have_no_offset_and_skewed_ones_the_measured_one() {
        let clock = VendorClock::default();
        assert_eq!(clock.offset(), None);
        clock.observe(&dated("Mon, 07 Dec 2026 06:35:00 GMT"), at("2026-12-07T06:35:00.900Z"));
        assert_eq!(clock.offset(), Some(TimeDelta::zero()), "within a second: the same clock");
        // The daemon runs 20 minutes ahead.
        clock.observe(&dated("Mon, 07 Dec 2026 06:35:00 GMT"), at("2026-12-07T06:55:00.400Z"));
        assert_eq!(clock.offset(), Some(TimeDelta::milliseconds(-1_200_400)));
    }

    #[test]
    fn answers_without_a_readable_date_change_nothing() {
        let clock = VendorClock::default();
        clock.observe(&HeaderMap::new(), at("2026-12-07T06:35:00Z"));
        clock.observe(&dated("yesterday"), at("2026-12-07T06:35:00Z"));
        assert_eq!(clock.offset(), None);
    }
}
