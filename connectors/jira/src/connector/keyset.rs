//! Where a keyed incremental run resumes.
//!
//! An incremental run reads `ORDER BY updated`, a result that changes while it pages: an
//! issue edited mid-run leaves its place and reappears at the end. A positional page token
//! would then skip the issue that slid into the gap, and Jira does not say whether its
//! `nextPageToken` is positional. So incremental runs send no token: every page is a fresh
//! query resuming from a keyset on what JQL can filter — the minute of `updated` (JQL has
//! minute precision) and the issue id — the way HubSpot's connector pages a flood of equal
//! timestamps by `hs_object_id`:
//!
//! - normally the next query starts at the minute of the page's last issue (`updated >=
//!   minute`), re-reading that minute's issues, which `(id, updated)` de-duplication drops;
//! - when that minute holds half the page or more (a bulk edit stamps thousands of issues
//!   within one minute), restarting there would barely move, so the run pages *inside* the
//!   minute by id (`updated >= minute AND updated < minute + 1 AND id > last ORDER BY id`)
//!   until Jira says it is the last page, then carries on from the next minute.
//!
//! Every page moves the keyset strictly forward, so a run never loops, whatever edits
//! happen meanwhile; an issue edited mid-run moves forward with its new `updated` and is
//! read again later in the run (or by the next run, within the overlap).

use chrono::DateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::mapping::time;

/// One minute in epoch ms.
pub const MINUTE_MS: i64 = 60_000;

/// The resume point of a keyed incremental run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyset {
    /// The next query reads issues updated from this minute on (epoch ms, whole minute).
    pub minute_ms: i64,
    /// Paging inside that one crowded minute by issue id: the last id read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<u64>,
}

/// The keyset after a page that served `hits` (issue id, `updated` in epoch ms if
/// readable), in the order served, and said whether it was the `last`, in a run whose
/// upper bound is `upper_ms`. `Ok(None)`: the run is complete. An error means the page
/// cannot move the run forward (a full page without readable times or ids), which must
/// fail the run rather than loop.
pub fn advance(
    current: Option<Keyset>,
    hits: &[(Option<u64>, Option<i64>)],
    last: bool,
    upper_ms: i64,
) -> Result<Option<Keyset>, String> {
    match current {
        Some(Keyset { minute_ms, after_id: Some(after) }) => {
            if last {
                // The crowded minute is done; the run carries on after it, unless that is
                // past the run's upper bound.
                let next = minute_ms + MINUTE_MS;
                return Ok((next < upper_ms).then_some(Keyset { minute_ms: next, after_id: None }));
            }
            let max = hits.iter().filter_map(|(id, _)| *id).max().filter(|m| *m > after);
            let max = max.ok_or("a page inside a crowded minute has no issue id past the last one")?;
            Ok(Some(Keyset { minute_ms, after_id: Some(max) }))
        }
        _ if last => Ok(None),
        _ => {
            let minute = |ms: i64| ms.div_euclid(MINUTE_MS) * MINUTE_MS;
            let times: Vec<i64> = hits.iter().filter_map(|(_, t)| t.map(minute)).collect();
            let (Some(first), Some(end)) = (times.first().copied(), times.last().copied()) else {
                return Err("a full page carries no readable `updated`".into());
            };
            // Never step back (a lower bound widened around a clock change may serve earlier
            // minutes), and a page that did not get past the minute it started at pages that
            // minute by id: either way the keyset moves forward.
            let from = current.map(|k| k.minute_ms);
            let end = from.map_or(end, |m| end.max(m));
            let at_end = times.iter().filter(|t| **t == end).count();
            let crowded = first == end || at_end * 2 >= hits.len() || from == Some(end);
            Ok(Some(Keyset { minute_ms: end, after_id: crowded.then_some(0) }))
        }
    }
}

/// The query of the page at `k`: `bounded` is the run's scope with its upper bound,
/// `(<jql>) AND updated <= "…"`; dates are written in the account's `zone`.
pub fn jql(bounded: &str, k: &Keyset, zone: Option<Tz>) -> String {
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let from = time::jql_lower_bound(at(k.minute_ms), zone);
    match k.after_id {
        None => format!("{bounded} AND updated >= {from} ORDER BY updated ASC, key ASC"),
        Some(after) => {
            // The minute after, as an upper bound: never read earlier than meant.
            let to = time::jql_upper_bound(at(k.minute_ms), zone);
            format!("{bounded} AND updated >= {from} AND updated < {to} AND id > {after} ORDER BY id ASC")
        }
    }
}

/// What the keyset needs of a served issue: its id and `updated` (epoch ms), if readable.
pub fn hit(issue: &serde_json::Value) -> (Option<u64>, Option<i64>) {
    let id = issue.get("id").and_then(serde_json::Value::as_str).and_then(|id| id.parse().ok());
    let updated = issue
        .pointer("/fields/updated")
        .and_then(serde_json::Value::as_str)
        .and_then(time::parse_timestamp)
        .map(|t| t.timestamp_millis());
    (id, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 1_765_000_000_000 / MINUTE_MS * MINUTE_MS;

    fn hits(spec: &[(u64, i64)]) -> Vec<(Option<u64>, Option<i64>)> {
        spec.iter().map(|(id, t)| (Some(*id), Some(*t))).collect()
    }

    #[test]
    fn a_spread_page_resumes_at_the_minute_of_its_last_issue() {
        let page = hits(&[(1, M + 5), (2, M + MINUTE_MS + 7), (3, M + 2 * MINUTE_MS + 1), (4, M + 3 * MINUTE_MS)]);
        assert_eq!(
            advance(None, &page, false, i64::MAX),
            Ok(Some(Keyset { minute_ms: M + 3 * MINUTE_MS, after_id: None }))
        );
        assert_eq!(advance(None, &page, true, i64::MAX), Ok(None));
    }

    #[test]
    fn a_page_within_one_minute_pages_that_minute_by_id() {
        let page = hits(&[(9, M + 10), (3, M + 10), (7, M + 59_999)]);
        let next = advance(Some(Keyset { minute_ms: M, after_id: None }), &page, false, i64::MAX);
        assert_eq!(next, Ok(Some(Keyset { minute_ms: M, after_id: Some(0) })));
        // Half the page in its last minute is crowded too.
        let half = hits(&[(1, M), (2, M + MINUTE_MS), (3, M + MINUTE_MS + 1), (4, M + MINUTE_MS + 2)]);
        assert_eq!(
            advance(None, &half, false, i64::MAX),
            Ok(Some(Keyset { minute_ms: M + MINUTE_MS, after_id: Some(0) }))
        );
    }

    #[test]
    fn inside_a_crowded_minute_the_id_moves_forward_then_the_next_minute_follows() {
        let k = Some(Keyset { minute_ms: M, after_id: Some(0) });
        let page = hits(&[(10, M), (11, M), (15, M)]);
        assert_eq!(advance(k, &page, false, i64::MAX), Ok(Some(Keyset { minute_ms: M, after_id: Some(15) })));
        let k = Some(Keyset { minute_ms: M, after_id: Some(15) });
        let next = Some(Keyset { minute_ms: M + MINUTE_MS, after_id: None });
        assert_eq!(advance(k, &hits(&[(16, M)]), true, i64::MAX), Ok(next));
        assert_eq!(advance(k, &hits(&[(16, M)]), true, M + MINUTE_MS), Ok(None), "the upper bound ends the run");
        assert!(advance(k, &hits(&[(3, M), (15, M)]), false, i64::MAX).is_err(), "no progress is an error, not a loop");
    }

    #[test]
    fn a_page_that_does_not_leave_its_minute_or_serves_earlier_ones_still_moves_forward() {
        let k = Some(Keyset { minute_ms: M + MINUTE_MS, after_id: None });
        // Mostly earlier minutes (a widened bound), ending in the current one.
        let page = hits(&[(1, M), (2, M + 1), (3, M + 2), (4, M + MINUTE_MS)]);
        assert_eq!(
            advance(k, &page, false, i64::MAX),
            Ok(Some(Keyset { minute_ms: M + MINUTE_MS, after_id: Some(0) }))
        );
        // Only earlier minutes: the keyset stays at its minute, now paged by id.
        let page = hits(&[(1, M), (2, M + 1)]);
        assert_eq!(
            advance(k, &page, false, i64::MAX),
            Ok(Some(Keyset { minute_ms: M + MINUTE_MS, after_id: Some(0) }))
        );
    }

    #[test]
    fn a_full_page_without_times_is_an_error() {
        assert!(advance(None, &[(Some(1), None), (None, None)], false, i64::MAX).is_err());
    }

    #[test]
    fn the_queries_resume_by_minute_then_by_id() {
        let bounded = "(project = OPS) AND updated <= \"2025/12/06 05:47\"";
        let k = Keyset { minute_ms: M, after_id: None };
        let q = jql(bounded, &k, Some(chrono_tz::UTC));
        assert!(q.starts_with(bounded) && q.ends_with("ORDER BY updated ASC, key ASC"), "{q}");
        assert!(q.contains("AND updated >= \""), "{q}");
        let q = jql(bounded, &Keyset { minute_ms: M, after_id: Some(10_044) }, None);
        assert!(
            q.contains(&format!("updated >= {M} AND updated < {} AND id > 10044 ORDER BY id ASC", M + MINUTE_MS)),
            "{q}"
        );
    }

    #[test]
    fn the_keyset_round_trips_through_json() {
        let k = Keyset { minute_ms: M, after_id: Some(12) };
        let json = serde_json::to_value(k).unwrap_or_default();
        assert_eq!(serde_json::from_value::<Keyset>(json).ok(), Some(k));
    }
}
