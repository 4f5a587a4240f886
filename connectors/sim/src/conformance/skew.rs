//! The daemon's clock set wrong against the vendor's: incremental windows and watermarks
//! must follow the vendor's clock (the `Date` of its answers, which every simulator sends
//! from its own clock), or a daemon running ahead ends a window in the vendor's future and
//! the next window starts after changes the vendor stamps in between.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use zveno_connector::{Clock, Connector, Cursor, Kind, ManualClock, SkewedClock, SourceRecord, SyncMode};

use super::checks::{must, start};
use super::SimulatedVendor;
use crate::drain::{drain, pull_page};

/// How far the daemon's clock is set off the vendor's, both ways: more than any
/// connector's overlap.
const SKEW: TimeDelta = TimeDelta::minutes(10);

/// Records each touch changes.
const TOUCHED: usize = 2;

/// With the daemon's clock 10 minutes ahead of the vendor's, then 10 minutes behind:
/// records changed during a full scan, during an incremental run and between runs are all
/// read, in their changed version, by the scan or the incremental runs that follow (the first one
/// starting where the engine starts it after a full scan: [`Connector::incremental_cursor`]
/// at the scan's start on the daemon's clock).
pub async fn skewed_daemon_clock_misses_no_change<V: SimulatedVendor>() {
    for skew in [SKEW, -SKEW] {
        let (v, clock) = start::<V>().await;
        let vendor_clock: Arc<dyn Clock> = clock.clone();
        let daemon = Arc::new(SkewedClock::new(vendor_clock, skew));
        let connector = v.connector_on_clock(daemon.clone());
        if !connector.capabilities().incremental {
            eprintln!("skewed_daemon_clock_misses_no_change: {} has no incremental pulls; skipped", connector.vendor());
            return;
        }
        for kind in v.kinds() {
            let mut run =
                Runs { v: &v, connector: &*connector, clock: &clock, kind, touched: Vec::new(), read: Vec::new() };
            let since = daemon.now();
            run.pulling(SyncMode::Full, Cursor::default(), true).await;
            let mut cursor = connector.incremental_cursor(kind, since).unwrap_or_default();
            for _ in 0..2 {
                clock.advance(Duration::from_secs(600));
                run.touch().await;
                clock.advance(Duration::from_secs(1));
                cursor = run.pulling(SyncMode::Incremental, cursor, true).await;
            }
            // The run that reads the last run's changes, changing nothing itself.
            clock.advance(Duration::from_secs(600));
            run.pulling(SyncMode::Incremental, cursor, false).await;
            let read = &run.read;
            let missed: Vec<&(String, DateTime<Utc>)> = run
                .touched
                .iter()
                .filter(|(id, at)| {
                    // Second-precision vendors stamp the changed version up to a second early.
                    !read
                        .iter()
                        .any(|r| &r.external_id == id && r.updated_at.is_some_and(|u| u >= *at - TimeDelta::seconds(1)))
                })
                .collect();
            assert!(
                missed.is_empty(),
                "{kind}, the daemon's clock {} min off the vendor's: the incremental runs missed these changes \
                 (id, changed at on the vendor's clock): {missed:?}",
                skew.num_minutes()
            );
        }
    }
}

/// The runs of one kind, and what they read and changed.
struct Runs<'a, V> {
    v: &'a V,
    connector: &'a dyn Connector,
    clock: &'a ManualClock,
    kind: Kind,
    /// `(id, vendor time)` of every change made.
    touched: Vec<(String, DateTime<Utc>)>,
    /// Every record read, full scan first.
    read: Vec<SourceRecord>,
}

impl<V: SimulatedVendor> Runs<'_, V> {
    async fn touch(&mut self) {
        let at = self.clock.now();
        let ids = self.v.touch(self.kind, TOUCHED).await;
        assert!(!ids.is_empty(), "{}: the harness touched no records", self.kind);
        self.touched.extend(ids.into_iter().map(|id| (id, at)));
    }

    /// One run of `mode` from `cursor`, with a change made after its first page when
    /// `changing`; returns where the next run starts.
    async fn pulling(&mut self, mode: SyncMode, cursor: Cursor, changing: bool) -> Cursor {
        let what = format!("{} {} pull", self.kind, mode.as_str());
        let (first, _) = must(pull_page(self.connector, self.clock, self.kind, mode, &cursor, 0).await, &what);
        self.read.extend(first.records);
        if changing {
            self.clock.advance(Duration::from_secs(1));
            self.touch().await;
        }
        if !first.more {
            return first.cursor;
        }
        let max_pages = self.v.count(self.kind) + 10;
        let rest = must(drain(self.connector, self.clock, self.kind, mode, first.cursor, max_pages, 0).await, &what);
        self.read.extend(rest.records);
        rest.cursor
    }
}
