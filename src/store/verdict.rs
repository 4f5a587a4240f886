//! What to do with one incoming record given what is stored: a pure function, so the
//! ordering rules live in one place and are tested table by table.
//!
//! The rules, in prose:
//!
//! - A record never moves back to an older remote version. Timestamps compare at
//!   millisecond precision; a missing timestamp never beats a stored one, but a present
//!   one beats a missing one.
//! - Equal timestamps with an equal payload hash are `Unchanged` (nothing is written, so
//!   re-reading an overlap window costs no writes). Equal timestamps with a different
//!   hash are an update: vendors with minute-precision timestamps change records within
//!   the same minute.
//! - A tombstone deletes a live record unless the stored version is strictly newer.
//! - A vendor-reported deletion is undone only by a strictly newer live version: at equal
//!   times the deletion wins. A deletion the store inferred from a census (missing from
//!   two full scans) is undone by any live sighting that is not older, because it was
//!   never the vendor's word.

use std::cmp::Ordering;

/// What is stored for a record, as far as the verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub updated_at: Option<i64>,
    pub payload_hash: String,
    pub deleted: bool,
    /// The deletion was inferred by a census (or the record was set aside when its
    /// connector moved to another source), not reported by the vendor.
    pub census_deleted: bool,
}

/// The incoming record, as far as the verdict needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'a> {
    pub updated_at: Option<i64>,
    pub payload_hash: &'a str,
    pub deleted: bool,
}

/// The outcome for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not stored yet: insert.
    Insert,
    /// Stored and superseded: write.
    Update,
    /// Same version as stored: no write.
    Unchanged,
    /// Older than stored: no write.
    Stale,
}

/// How the incoming timestamp relates to the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    Newer,
    Same,
    Older,
    /// The incoming record has no timestamp but the stored one has.
    Unknown,
}

fn age(incoming: Option<i64>, stored: Option<i64>) -> Age {
    match (incoming, stored) {
        (Some(a), Some(b)) => match a.cmp(&b) {
            Ordering::Greater => Age::Newer,
            Ordering::Equal => Age::Same,
            Ordering::Less => Age::Older,
        },
        (Some(_), None) => Age::Newer,
        (None, None) => Age::Same,
        (None, Some(_)) => Age::Unknown,
    }
}

/// Decides what to do with `incoming` given `stored`.
pub(crate) fn judge(stored: Option<&Stored>, incoming: Incoming<'_>) -> Verdict {
    let Some(stored) = stored else {
        return Verdict::Insert;
    };
    let age = age(incoming.updated_at, stored.updated_at);
    let same_payload = incoming.payload_hash == stored.payload_hash;
    match (incoming.deleted, stored.deleted) {
        // A tombstone for a live record: applies unless the stored version is newer.
        (true, false) => match age {
            Age::Older => Verdict::Stale,
            _ => Verdict::Update,
        },
        // A tombstone for a deleted record: only a newer deletion time is news.
        (true, true) => match age {
            Age::Newer => Verdict::Update,
            Age::Older => Verdict::Stale,
            Age::Same | Age::Unknown => Verdict::Unchanged,
        },
        // A live record for a deleted one: revival.
        (false, true) => match age {
            Age::Newer => Verdict::Update,
            Age::Same if stored.census_deleted => Verdict::Update,
            _ => Verdict::Stale,
        },
        // A live record for a live one.
        (false, false) => match age {
            Age::Newer => Verdict::Update,
            Age::Same if same_payload => Verdict::Unchanged,
            Age::Same => Verdict::Update,
            Age::Unknown if same_payload => Verdict::Unchanged,
            Age::Unknown | Age::Older => Verdict::Stale,
        },
    }
}

/// The remote timestamp to store after a write: the later of the two, a missing one
/// counting as earliest.
pub(crate) fn later(incoming: Option<i64>, stored: Option<i64>) -> Option<i64> {
    match (incoming, stored) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(updated_at: Option<i64>, hash: &str, deleted: bool, census: bool) -> Stored {
        Stored { updated_at, payload_hash: hash.to_string(), deleted, census_deleted: census }
    }

    fn incoming(updated_at: Option<i64>, hash: &str, deleted: bool) -> Incoming<'_> {
        Incoming { updated_at, payload_hash: hash, deleted }
    }

    use Verdict::*;

    #[test]
    fn unknown_records_are_inserted_whatever_they_carry() {
        assert_eq!(judge(None, incoming(None, "h", false)), Insert);
        assert_eq!(judge(None, incoming(None, "h", true)), Insert);
    }

    #[test]
    fn live_over_live_keeps_the_newest_version() {
        let s = stored(Some(10), "a", false, false);
        for (updated_at, hash, want) in [
            (Some(11), "a", Update),
            (Some(11), "b", Update),
            (Some(10), "a", Unchanged),
            (Some(10), "b", Update),
            (Some(9), "a", Stale),
            (Some(9), "b", Stale),
            (None, "a", Unchanged),
            (None, "b", Stale),
        ] {
            assert_eq!(judge(Some(&s), incoming(updated_at, hash, false)), want, "{updated_at:?} {hash}");
        }
    }

    #[test]
    fn records_without_timestamps_compare_by_payload() {
        let s = stored(None, "a", false, false);
        assert_eq!(judge(Some(&s), incoming(None, "a", false)), Unchanged);
        assert_eq!(judge(Some(&s), incoming(None, "b", false)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(1), "a", false)), Update);
    }

    #[test]
    fn tombstones_delete_unless_the_stored_version_is_newer() {
        let s = stored(Some(10), "a", false, false);
        assert_eq!(judge(Some(&s), incoming(Some(11), "t", true)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(10), "t", true)), Update);
        assert_eq!(judge(Some(&s), incoming(None, "t", true)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(9), "t", true)), Stale);
    }

    #[test]
    fn repeated_tombstones_are_news_only_when_newer() {
        let s = stored(Some(10), "a", true, false);
        assert_eq!(judge(Some(&s), incoming(Some(10), "t", true)), Unchanged);
        assert_eq!(judge(Some(&s), incoming(None, "t", true)), Unchanged);
        assert_eq!(judge(Some(&s), incoming(Some(12), "t", true)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(9), "t", true)), Stale);
    }

    #[test]
    fn vendor_deletions_are_revived_only_by_newer_versions() {
        let s = stored(Some(10), "a", true, false);
        assert_eq!(judge(Some(&s), incoming(Some(11), "a", false)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(10), "a", false)), Stale);
        assert_eq!(judge(Some(&s), incoming(None, "a", false)), Stale);
        let untimed = stored(None, "a", true, false);
        assert_eq!(judge(Some(&untimed), incoming(None, "a", false)), Stale);
    }

    #[test]
    fn census_deletions_are_revived_by_any_sighting_not_older() {
        let s = stored(Some(10), "a", true, true);
        assert_eq!(judge(Some(&s), incoming(Some(10), "a", false)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(11), "b", false)), Update);
        assert_eq!(judge(Some(&s), incoming(Some(9), "a", false)), Stale);
    }

    #[test]
    fn the_stored_timestamp_is_the_later_one() {
        assert_eq!(later(Some(1), Some(2)), Some(2));
        assert_eq!(later(Some(3), Some(2)), Some(3));
        assert_eq!(later(None, Some(2)), Some(2));
        assert_eq!(later(Some(1), None), Some(1));
        assert_eq!(later(None, None), None);
    }
}
