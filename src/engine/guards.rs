//! The pagination guard: a vendor that hands back a cursor it already gave, or never
//! stops, ends the run with a clear error instead of looping. It lives in the engine, not
//! in the connectors, so every vendor gets it without a line of its own.

use std::collections::HashSet;

use zveno_connector::Cursor;

/// Why pagination was stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaginationError {
    /// The connector returned a cursor it had already returned in this run: the same
    /// request would bring the same pages again, forever.
    #[error("the vendor returned a cursor it already gave in this run ({cursor}); pagination would loop")]
    RepeatedCursor {
        /// The cursor, as JSON.
        cursor: String,
    },
    /// More pages than `[engine] max_pages_per_run` in one run.
    #[error(
        "more than {cap} pages in one run; stopped at the last committed page (raise [engine] \
         max_pages_per_run if the vendor really holds that much)"
    )]
    PageCap {
        /// The cap.
        cap: u64,
    },
}

/// Remembers every cursor of a run and counts its pages.
#[derive(Debug)]
pub(super) struct Pagination {
    seen: HashSet<String>,
    pages: u64,
    cap: u64,
}

impl Pagination {
    /// A guard for a run starting from `start`, allowing `cap` pages.
    pub(super) fn new(start: &Cursor, cap: u64) -> Self {
        Self { seen: HashSet::from([start.0.to_string()]), pages: 0, cap }
    }

    /// Checks the cursor a page hands on (when more pages follow), before it is committed.
    pub(super) fn next(&mut self, cursor: &Cursor) -> Result<(), PaginationError> {
        self.pages += 1;
        if self.pages > self.cap {
            return Err(PaginationError::PageCap { cap: self.cap });
        }
        let text = cursor.0.to_string();
        if !self.seen.insert(text.clone()) {
            return Err(PaginationError::RepeatedCursor { cursor: text });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cursor_given_twice_stops_the_run() {
        let mut guard = Pagination::new(&Cursor::default(), 100);
        assert_eq!(guard.next(&Cursor(json!({ "token": "a" }))), Ok(()));
        assert_eq!(guard.next(&Cursor(json!({ "token": "b" }))), Ok(()));
        let err = guard.next(&Cursor(json!({ "token": "a" })));
        assert_eq!(err, Err(PaginationError::RepeatedCursor { cursor: r#"{"token":"a"}"#.to_string() }));
        let mut from_start = Pagination::new(&Cursor::default(), 100);
        assert!(from_start.next(&Cursor::default()).is_err(), "the start handed back is a loop too");
    }

    #[test]
    fn the_page_cap_ends_a_run_that_never_stops() {
        let mut guard = Pagination::new(&Cursor::default(), 2);
        assert!(guard.next(&Cursor(json!(1))).is_ok());
        assert!(guard.next(&Cursor(json!(2))).is_ok());
        assert_eq!(guard.next(&Cursor(json!(3))), Err(PaginationError::PageCap { cap: 2 }));
    }
}
