//! The Bitrix24 cursor: the last ID of a keyset scan, and the modified-since window.
//!
//! Full scans page `>ID` from 0 and end with the starting cursor (the next full scan starts
//! over). Incremental pulls read a closed window `since - overlap <= modified <= until`, where
//! `until` is fixed when the window opens, paging it by `>ID` too; when the window is done the
//! cursor keeps `until` as the next window's `since`. A record modified during a scan moves
//! past `until` and is read by the next window, so nothing falls between windows. A company
//! window then pages the requisites modified in the same window (`requisites`), whose edits
//! do not move the company's own `DATE_MODIFY`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zveno_connector::{ConnectorError, Cursor, SyncMode};

/// Commands in the first batch of an incremental window: most windows hold a handful of
/// changes, and every chained command after the last short page is wasted execution time.
pub const FIRST_CHAIN: usize = 2;
/// How much the chain grows while pages keep coming back full.
const CHAIN_GROWTH: usize = 4;

/// The connector-owned state inside a [`Cursor`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CursorState {
    /// Which kind of pull wrote it; a cursor of the other mode is not resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SyncMode>,
    /// The last ID read in the current scan or window.
    #[serde(default)]
    pub after_id: u64,
    /// Incremental: the watermark the window starts from (before the overlap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Incremental: the end of the open window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Incremental: commands to chain in the next batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<usize>,
    /// Incremental companies: the window's companies are read, and `after_id` pages the
    /// requisites changed in it (see `ListSpec::company_requisites`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requisites: bool,
}

impl CursorState {
    /// Reads `cursor` for a pull in `mode`: a cursor written by the other mode starts over.
    pub fn read(cursor: &Cursor, mode: SyncMode) -> Result<Self, ConnectorError> {
        let state: Self = cursor.decode()?;
        Ok(match state.mode {
            Some(m) if m == mode => state,
            _ => Self { mode: Some(mode), ..Self::default() },
        })
    }

    /// The state that starts incremental pulls at `since`.
    pub fn incremental_from(since: DateTime<Utc>) -> Self {
        Self { mode: Some(SyncMode::Incremental), since: Some(since), ..Self::default() }
    }

    /// The cursor after a page: `Cursor::default()` when a full scan is complete.
    pub fn encode(&self) -> Result<Cursor, ConnectorError> {
        if self.mode == Some(SyncMode::Full) && self.after_id == 0 {
            return Ok(Cursor::default());
        }
        Cursor::encode(self)
    }
}

/// The chain length after a batch of `used` commands that all came back full.
pub fn grown(used: usize, max: usize) -> usize {
    used.saturating_mul(CHAIN_GROWTH).clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_other_modes_start_over() {
        let state = CursorState {
            mode: Some(SyncMode::Incremental),
            after_id: 120,
            since: DateTime::from_timestamp(1_790_000_000, 0),
            until: DateTime::from_timestamp(1_790_000_600, 0),
            chain: Some(8),
            requisites: true,
        };
        let cursor = state.encode().unwrap_or_default();
        assert_eq!(CursorState::read(&cursor, SyncMode::Incremental).ok(), Some(state));
        let full = CursorState::read(&cursor, SyncMode::Full).unwrap_or_default();
        assert_eq!((full.mode, full.after_id), (Some(SyncMode::Full), 0));
        let start = CursorState::read(&Cursor::default(), SyncMode::Full).unwrap_or_default();
        assert_eq!(start.encode().ok(), Some(Cursor::default()));
    }

    #[test]
    fn an_unreadable_cursor_is_an_error_not_a_silent_restart() {
        let cursor = Cursor(serde_json::json!({"after_id": "many"}));
        assert!(CursorState::read(&cursor, SyncMode::Full).is_err());
    }

    #[test]
    fn chains_grow_to_the_batch_limit() {
        assert_eq!(grown(FIRST_CHAIN, 50), 8);
        assert_eq!(grown(8, 50), 32);
        assert_eq!(grown(32, 50), 50);
    }
}
