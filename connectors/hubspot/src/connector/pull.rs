//! One page of a pull: a list page (full scans, archived sweeps) or a search window step.

use serde_json::Value;
use zveno_connector::{ConnectorError, Cursor, Page, RecordError, SyncMode};

use super::cursor::{CursorState, Hit, Run, Window};
use super::sweep::SweepMark;
use super::HubSpotConnector;
use crate::client::{ListQuery, LIST_LIMIT};
use crate::dto::object::Object;
use crate::dto::{ObjectDto, UnreadableRecord};
use crate::mapping::values::parse_time;
use crate::mapping::{canonical_raw, Owners};

pub(super) type Parsed = (Value, Result<ObjectDto, UnreadableRecord>);

impl HubSpotConnector {
    pub(super) async fn pull_page(
        &self,
        object: Object,
        mode: SyncMode,
        cursor: &Cursor,
    ) -> Result<Page, ConnectorError> {
        let mut state: CursorState = cursor.decode()?;
        let now_ms = self.clock.now().timestamp_millis();
        // A cursor left by the other mode (an interrupted run) is not resumed: the
        // watermark it carries is all that matters across modes.
        let run = match (mode, state.run.take()) {
            (SyncMode::Full, Some(run @ Run::List { .. })) => run,
            (SyncMode::Full, _) => Run::List { archived: false, after: None, started_ms: now_ms },
            (SyncMode::Incremental, Some(run @ (Run::Search(_) | Run::Sweep { .. }))) => run,
            (SyncMode::Incremental, _) => {
                let overlap = i64::try_from(self.overlap.as_millis()).unwrap_or(i64::MAX);
                let lo = state.watermark_ms.map_or(0, |w| w.saturating_sub(overlap)).clamp(0, now_ms.max(0));
                Run::Search(Window::new(lo, now_ms))
            }
        };
        let mut page = Page::default();
        state.run = match run {
            Run::List { archived, after, started_ms } => {
                let next = self.list_step(object, archived, after, None, &mut page).await?;
                match (next, archived) {
                    (Some(after), _) => Some(Run::List { archived, after: Some(after), started_ms }),
                    (None, false) => Some(Run::List { archived: true, after: None, started_ms }),
                    (None, true) => {
                        state.watermark_ms = state.watermark_ms.max(Some(started_ms));
                        None
                    }
                }
            }
            Run::Search(window) => {
                let (lo, hi) = (window.lo, window.hi);
                match self.search_step(object, window, &mut page).await? {
                    Some(next) => Some(Run::Search(next)),
                    None => {
                        state.watermark_ms = state.watermark_ms.max(Some(hi));
                        self.sweep_after_window(state.swept.as_ref(), lo, now_ms)
                    }
                }
            }
            Run::Sweep { after, since_ms, started_ms, pages } => {
                match self.list_step(object, true, after, Some(since_ms), &mut page).await? {
                    Some(after) => Some(Run::Sweep { after: Some(after), since_ms, started_ms, pages: pages + 1 }),
                    None => {
                        state.swept = Some(SweepMark { at_ms: started_ms.unwrap_or(now_ms), pages: pages + 1 });
                        None
                    }
                }
            }
        };
        page.more = state.run.is_some();
        page.cursor = Cursor::encode(&state)?;
        Ok(page)
    }

    /// The archived-list sweep that follows a window starting at `lo`, when one is due
    /// after the `last` sweep (see [`super::sweep`]).
    fn sweep_after_window(&self, last: Option<&SweepMark>, lo: i64, now_ms: i64) -> Option<Run> {
        if !self.sweep.due(last, now_ms, self.kinds.len(), self.client.daily_limit()) {
            return None;
        }
        let overlap = i64::try_from(self.overlap.as_millis()).unwrap_or(i64::MAX);
        let since_ms = last.map_or(lo, |l| l.at_ms.saturating_sub(overlap).min(lo));
        Some(Run::Sweep { after: None, since_ms, started_ms: Some(now_ms), pages: 0 })
    }

    /// One list page into `page`; returns the next `after`. Archived pages become
    /// tombstones (only those archived at or after `since_ms`, when given).
    async fn list_step(
        &self,
        object: Object,
        archived: bool,
        after: Option<String>,
        since_ms: Option<i64>,
        page: &mut Page,
    ) -> Result<Option<String>, ConnectorError> {
        let query = ListQuery {
            properties: if archived { vec!["hs_object_id".into()] } else { self.properties(object) },
            associations: if archived { Vec::new() } else { object.associations().to_vec() },
            archived,
            after: after.clone(),
            limit: LIST_LIMIT,
        };
        let response = self.client.list(object, &query).await?;
        let next = response.next_after();
        if next.is_some() && next == after {
            return Err(ConnectorError::invalid_data(format!("HubSpot returned the same {object} page cursor twice")));
        }
        let parsed = parse_all(response.results);
        if archived {
            self.tombstones(object, parsed, since_ms, page);
        } else {
            let owners = self.owners.get(&self.client, self.clock.as_ref()).await?;
            self.records(object, parsed, &owners, page);
        }
        Ok(next)
    }

    /// One search request of a window into `page`; returns the window's next state.
    async fn search_step(
        &self,
        object: Object,
        window: Window,
        page: &mut Page,
    ) -> Result<Option<Window>, ConnectorError> {
        let body = window.request(object, &self.properties(object));
        let response = self.client.search(object, &body).await?;
        let has_more = response.has_more();
        let parsed = parse_all(response.results);
        let hits: Vec<Hit> = parsed.iter().map(|(raw, dto)| hit(object, raw, dto)).collect();
        let (keep, next) = window.advance(response.total, has_more, &hits)?;
        let mut kept: Vec<Parsed> = parsed.into_iter().zip(keep).filter_map(|(p, k)| k.then_some(p)).collect();
        // Search answers carry no associations: read them for the records kept.
        self.attach_associations(object, &mut kept).await?;
        let owners = self.owners.get(&self.client, self.clock.as_ref()).await?;
        self.records(object, kept, &owners, page);
        Ok(next)
    }

    /// Reads the associations of `parsed` through the v4 batch read, for answers that do
    /// not carry them inline (search, `batch/read`).
    pub(super) async fn attach_associations(
        &self,
        object: Object,
        parsed: &mut [Parsed],
    ) -> Result<(), ConnectorError> {
        let ids: Vec<String> = parsed.iter().filter_map(|(_, dto)| dto.as_ref().ok().map(|d| d.id.clone())).collect();
        for to in object.associations() {
            if ids.is_empty() {
                break;
            }
            let mut found = self.client.associations(object, *to, &ids).await?;
            for (_, dto) in parsed.iter_mut() {
                if let Ok(dto) = dto {
                    let linked = found.remove(&dto.id).unwrap_or_default();
                    dto.associations.insert(to.name().to_string(), linked);
                }
            }
        }
        Ok(())
    }

    pub(super) fn records(&self, object: Object, parsed: Vec<Parsed>, owners: &Owners, page: &mut Page) {
        for (raw, dto) in parsed {
            match dto {
                Ok(dto) => {
                    let raw = canonical_raw(raw, &dto);
                    page.records.push(self.mapper.read(object, &dto, raw, owners));
                }
                Err(e) => page.errors.push(record_error(object, e)),
            }
        }
    }

    fn tombstones(&self, object: Object, parsed: Vec<Parsed>, since_ms: Option<i64>, page: &mut Page) {
        for (_, dto) in parsed {
            match dto {
                Ok(dto) => {
                    let record = self.mapper.tombstone(object, &dto);
                    let recent = match (since_ms, record.updated_at) {
                        (Some(since), Some(at)) => at.timestamp_millis() >= since,
                        _ => true,
                    };
                    if recent {
                        page.records.push(record);
                    }
                }
                Err(e) => page.errors.push(record_error(object, e)),
            }
        }
    }
}

/// Each raw result with its parsed form (or why it is unreadable).
pub(super) fn parse_all(results: Vec<Value>) -> Vec<Parsed> {
    results
        .into_iter()
        .map(|raw| {
            let dto = ObjectDto::parse(&raw);
            (raw, dto)
        })
        .collect()
}

fn record_error(object: Object, e: UnreadableRecord) -> RecordError {
    RecordError { external_id: e.id, message: format!("HubSpot {object} record: {}", e.message) }
}

/// The id and modification time the windowing needs, read as far as the record allows.
fn hit(object: Object, raw: &Value, dto: &Result<ObjectDto, UnreadableRecord>) -> Hit {
    let ms = |text: Option<&str>| text.and_then(|t| parse_time(t).ok()).map(|t| t.timestamp_millis());
    match dto {
        Ok(d) => {
            let modified = d.text(object.modified_property()).ok().flatten();
            let ts = ms(modified).or_else(|| ms(d.updated_at.as_deref()));
            (d.id.clone(), ts)
        }
        Err(e) => {
            let id = e.id.clone().unwrap_or_default();
            let ts = ms(raw.get("updatedAt").and_then(Value::as_str));
            (id, ts)
        }
    }
}
