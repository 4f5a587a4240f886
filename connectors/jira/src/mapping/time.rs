//! Jira's time formats, and the JQL date bounds built from them.
//!
//! Three Jira quirks meet here:
//!
//! - timestamps carry offsets without a colon (`2022-10-06T07:32:47.000+0000`, or the
//!   reader's own offset such as `+0300`), which strict RFC 3339 parsers reject;
//! - JQL date literals (`"2026/01/02 10:15"`) have **no zone** and are read in the time zone
//!   of the user running the search, to the minute. A UTC string sent for a Moscow user is
//!   three hours off and silently skips issues (airbytehq/airbyte#48492). So every bound is
//!   formatted in the account's zone, read from `/rest/api/3/myself` at the start of each run,
//!   or as unquoted epoch milliseconds when the zone is unknown;
//! - due dates are plain dates, which the common model turns into the end of that day in
//!   the account's zone.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses a Jira timestamp (`%Y-%m-%dT%H:%M:%S%.3f%z`), also accepting RFC 3339.
pub fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(raw.trim()))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(any(test, feature = "simulator"))]
/// Formats an instant the way Jira writes timestamps, in `zone`'s offset.
pub fn format_timestamp(at: DateTime<Utc>, zone: Option<Tz>) -> String {
    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f%z";
    match zone {
        Some(tz) => at.with_timezone(&tz).format(FORMAT).to_string(),
        None => at.format(FORMAT).to_string(),
    }
}

/// Parses a Jira due date (`YYYY-MM-DD`).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// The last second of `date` in `zone` (UTC without one): a task due "on the 30th" is
/// overdue only once the 30th is over where the team works.
pub fn end_of_day(date: NaiveDate, zone: Option<Tz>) -> DateTime<Utc> {
    let naive = date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
    match zone {
        Some(tz) => latest_instant(tz, naive),
        None => Utc.from_utc_datetime(&naive),
    }
}

/// The calendar date of `at` in `zone` (UTC without one), for writing `duedate`.
pub fn local_date(at: DateTime<Utc>, zone: Option<Tz>) -> NaiveDate {
    match zone {
        Some(tz) => at.with_timezone(&tz).date_naive(),
        None => at.date_naive(),
    }
}

/// `at` with seconds and sub-seconds dropped.
pub fn floor_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp().div_euclid(60) * 60;
    DateTime::from_timestamp(secs, 0).unwrap_or(at)
}

/// The JQL literal for a **lower** bound (`updated >= …`): the latest account-zone minute
/// that Jira reads as an instant at or before `at`, so the bound can only widen the window.
///
/// Flooring to the minute is not always enough: in the repeated hour when clocks go back,
/// a local time names two instants, and Jira may read the later one. We step back until
/// every reading is at or before `at`.
pub fn jql_lower_bound(at: DateTime<Utc>, zone: Option<Tz>) -> String {
    let Some(tz) = zone else {
        return floor_minute(at).timestamp_millis().to_string();
    };
    let mut naive = floor_naive_minute(at.with_timezone(&tz).naive_local());
    // Zone transitions move clocks by at most a few hours; 96 quarter-hours is ample.
    for _ in 0..96 {
        if latest_reading(tz, naive).is_some_and(|t| t <= at) {
            break;
        }
        naive -= Duration::minutes(15);
    }
    quoted(naive)
}

/// The JQL literal for an **upper** bound (`updated <= …`): the account-zone minute after
/// `at`, so issues updated in the current minute are not deferred to the next run. An upper
/// bound read differently than meant (a repeated hour) only defers issues to the next run
/// (their `updated` is above the watermark), so it needs no stepping.
pub fn jql_upper_bound(at: DateTime<Utc>, zone: Option<Tz>) -> String {
    let next = floor_minute(at) + Duration::minutes(1);
    match zone {
        Some(tz) => quoted(floor_naive_minute(next.with_timezone(&tz).naive_local())),
        None => next.timestamp_millis().to_string(),
    }
}

fn quoted(naive: NaiveDateTime) -> String {
    format!("\"{}\"", naive.format("%Y/%m/%d %H:%M"))
}

fn floor_naive_minute(naive: NaiveDateTime) -> NaiveDateTime {
    naive.date().and_hms_opt(chrono::Timelike::hour(&naive), chrono::Timelike::minute(&naive), 0).unwrap_or(naive)
}

/// The latest instant a local time can mean (`None` inside a spring-forward gap).
fn latest_reading(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.max(b).with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The instant a local time means, taking the later reading when ambiguous and the first
/// valid minute after a spring-forward gap.
fn latest_instant(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = naive;
    for _ in 0..240 {
        if let Some(t) = latest_reading(tz, probe) {
            return t;
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&naive)
}

#[cfg(any(test, feature = "simulator"))]
/// Reads a local JQL date literal (`yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, or a bare
/// date) in `zone` as Jira does: the earliest instant it can mean. Used by the simulator.
pub fn read_jql_local(text: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let naive = ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
        ["%Y/%m/%d", "%Y-%m-%d"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    Some(match zone {
        Some(tz) => match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
            LocalResult::None => latest_instant(tz, naive),
        },
        None => Utc.from_utc_datetime(&naive),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap_or_default()
    }

    #[test]
    fn jira_timestamps_with_colonless_offsets_parse() {
        assert_eq!(parse_timestamp("2022-10-06T07:32:47.000+0000"), Some(utc("2022-10-06T07:32:47Z")));
        assert_eq!(
            parse_timestamp("2022-10-06T10:32:47.123+0300").map(|t| t.timestamp_millis()),
            Some(utc("2022-10-06T07:32:47.123Z").timestamp_millis())
        );
        assert_eq!(parse_timestamp("2022-10-06 07:32"), None);
    }

    #[test]
    fn bounds_are_written_in_the_account_zone_not_utc() {
        let at = utc("2026-01-02T10:15:42.500Z");
        let moscow = Some(chrono_tz::Europe::Moscow);
        let la = Some(chrono_tz::America::Los_Angeles);
        assert_eq!(jql_lower_bound(at, moscow), "\"2026/01/02 13:15\"");
        assert_eq!(jql_lower_bound(at, la), "\"2026/01/02 02:15\"");
        assert_eq!(jql_upper_bound(at, la), "\"2026/01/02 02:16\"");
        assert_eq!(jql_lower_bound(at, None), "1767348900000");
    }

    #[test]
    fn a_lower_bound_in_the_repeated_hour_steps_back_until_unambiguous() {
        // 2026-11-01 01:30 happens twice in Los Angeles: 08:30Z (PDT) and 09:30Z (PST).
        // Written as "01:30", Jira could read the later one and skip an hour of updates.
        let la = Some(chrono_tz::America::Los_Angeles);
        let first = utc("2026-11-01T08:30:00Z");
        assert_eq!(jql_lower_bound(first, la), "\"2026/11/01 00:45\"");
        // The second 01:30 is safe to write as is: both readings are at or before it.
        let second = utc("2026-11-01T09:30:00Z");
        assert_eq!(jql_lower_bound(second, la), "\"2026/11/01 01:30\"");
    }

    #[test]
    fn due_dates_end_at_midnight_in_the_account_zone() {
        let date = parse_date("2026-09-30").unwrap_or_default();
        assert_eq!(end_of_day(date, Some(chrono_tz::Europe::Moscow)), utc("2026-09-30T20:59:59Z"));
        assert_eq!(end_of_day(date, None), utc("2026-09-30T23:59:59Z"));
        assert_eq!(
            local_date(utc("2026-09-30T22:00:00Z"), Some(chrono_tz::Europe::Moscow)),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default()
        );
    }

    #[test]
    fn jql_literals_are_read_in_the_zone() {
        let moscow = Some(chrono_tz::Europe::Moscow);
        assert_eq!(read_jql_local("2026/01/02 13:15", moscow), Some(utc("2026-01-02T10:15:00Z")));
        assert_eq!(read_jql_local("2026-01-02 13:15", moscow), Some(utc("2026-01-02T10:15:00Z")));
        assert_eq!(read_jql_local("2026/01/02", None), Some(utc("2026-01-02T00:00:00Z")));
        assert_eq!(read_jql_local("yesterday", None), None);
    }
}
