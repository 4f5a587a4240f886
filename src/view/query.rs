//! Listings and the client card, as the CLI, the API and the web view all ask for them.
//!
//! Lists are keyset-paginated (`next_cursor` is an opaque token for "after this row"), so
//! page 500 of 100,000 clients costs what page 1 does. Query fields are named like the
//! CLI's flags (`search`, `owner`, `overdue`, `assignee`, `client`, `status`, plus `limit`
//! and `cursor`), and unknown ones are refused with their name.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zveno_connector::{Kind, TaskStatus};

use super::{golden, ClientView, FieldView, TaskView, ViewTime};
use crate::resolve::{to_latin, Field};
use crate::store::{ClientFilter, RunRow, Store, StoreError, TaskFilter, TaskKey};

/// Most items one page holds; also the default.
pub const MAX_LIMIT: u32 = 500;
/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;

/// A page of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListPage<T> {
    /// The items, in listing order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A request the view cannot answer as asked (an unreadable cursor, a bad status).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is malformed.
    #[error("{param}: {message}")]
    Invalid {
        /// The parameter's name.
        param: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(param: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::Invalid { param, message: message.into() }
}

/// `?search=&owner=&limit=&cursor=` of `/api/v1/clients` (and `zveno clients`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Text in the name (Cyrillic or Latin), a domain, e-mail, phone or tax id.
    pub search: Option<String>,
    /// Only clients this person owns.
    pub owner: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `?overdue=&assignee=&client=&status=&unattached=&limit=&cursor=` of `/api/v1/tasks`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Only open tasks past due (in the view's zone).
    #[serde(default)]
    pub overdue: bool,
    /// Only tasks assigned to this person.
    pub assignee: Option<String>,
    /// Only tasks of this client id.
    pub client: Option<String>,
    /// Only this status: todo, in_progress, done or cancelled.
    pub status: Option<String>,
    /// Only tasks no client was found for.
    #[serde(default)]
    pub unattached: bool,
    /// Only tasks nobody is assigned to.
    #[serde(default)]
    pub unassigned: bool,
    /// Items per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `?connector=&limit=&cursor=` of `/api/v1/runs`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Only this connector.
    pub connector: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The page size asked for, checked; `None` when `all` (the CLI lists everything).
fn page_size(limit: Option<u32>, all: bool) -> Result<Option<u32>, QueryError> {
    match limit {
        Some(0) => Err(invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_LIMIT => Err(invalid("limit", format!("must be at most {MAX_LIMIT}"))),
        Some(n) => Ok(Some(n)),
        None if all => Ok(None),
        None => Ok(Some(DEFAULT_LIMIT)),
    }
}

fn encode_cursor<T: Serialize>(key: &T) -> Option<String> {
    serde_json::to_vec(key).ok().map(|bytes| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn decode_cursor<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, QueryError> {
    let Some(text) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| invalid("cursor", "not a cursor this listing gave (start again without it)"))
}

/// Asks for one row more than the page holds, to know whether another page follows.
fn probe(limit: Option<u32>) -> Option<u32> {
    limit.map(|n| n + 1)
}

/// Cuts the probe row off and makes the cursor from the last row kept.
fn finish<R, T, K: Serialize>(
    mut rows: Vec<R>,
    limit: Option<u32>,
    key: impl Fn(&R) -> K,
    item: impl FnMut(&R) -> T,
) -> ListPage<T> {
    let more = limit.is_some_and(|n| rows.len() > n as usize);
    if let Some(n) = limit {
        rows.truncate(n as usize);
    }
    let next_cursor = if more { rows.last().and_then(|r| encode_cursor(&key(r))) } else { None };
    ListPage { items: rows.iter().map(item).collect(), next_cursor }
}

/// The search as typed and in Latin, so `ромашка` finds `Romashka LLC` and back.
pub fn search_patterns(search: Option<&str>) -> Vec<String> {
    let mut patterns = Vec::new();
    if let Some(q) = search.map(str::trim).filter(|q| !q.is_empty()) {
        patterns.push(q.to_lowercase());
        patterns.push(to_latin(q));
        patterns.dedup();
    }
    patterns
}

/// Clients matching `q`; every one when `all` and no `limit` is given.
pub async fn clients(store: &Store, q: &ClientQuery, all: bool) -> Result<ListPage<ClientView>, QueryError> {
    let limit = page_size(q.limit, all)?;
    let filter = ClientFilter {
        search: search_patterns(q.search.as_deref()),
        owner: q.owner.clone().filter(|o| !o.trim().is_empty()),
        after: decode_cursor(q.cursor.as_deref())?,
        limit: probe(limit),
    };
    let entities = store.client_page(&filter).await?;
    let shown = limit.map_or(entities.len(), |n| entities.len().min(n as usize));
    let ids: Vec<String> = entities.iter().take(shown).map(|e| e.id.clone()).collect();
    let links = store.entity_links(&ids).await?;
    let refs: Vec<_> = links.iter().collect();
    Ok(finish(entities, limit, |e| (e.name.clone(), e.id.clone()), |e| ClientView::new(e, &refs)))
}

/// Tasks matching `q` as of `time`.
pub async fn tasks(store: &Store, q: &TaskQuery, time: &ViewTime, all: bool) -> Result<ListPage<TaskView>, QueryError> {
    let limit = page_size(q.limit, all)?;
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<TaskStatus>)
        .transpose()
        .map_err(|e| invalid("status", e))?;
    let filter = TaskFilter {
        overdue_at: q.overdue.then(|| time.overdue_at()),
        assignee: q.assignee.clone().filter(|a| !a.is_empty()),
        client_id: q.client.clone().filter(|c| !c.is_empty()),
        status,
        unattached: q.unattached,
        unassigned: q.unassigned,
        after: decode_cursor(q.cursor.as_deref())?,
        limit: probe(limit),
    };
    let rows = store.tasks(&filter).await?;
    Ok(finish(
        rows,
        limit,
        |t| TaskKey {
            due: t.due.unwrap_or(i64::MAX),
            connector: t.connector.clone(),
            external_id: t.external_id.clone(),
        },
        |t| TaskView::new(t, time),
    ))
}

/// Runs, newest first.
pub async fn runs(store: &Store, q: &RunQuery) -> Result<ListPage<RunRow>, QueryError> {
    let limit = page_size(q.limit, false)?.unwrap_or(DEFAULT_LIMIT);
    let before: Option<i64> = decode_cursor(q.cursor.as_deref())?;
    let rows = store.runs_page(limit + 1, q.connector.as_deref(), before).await?;
    Ok(finish(rows, Some(limit), |r| r.id, Clone::clone))
}

/// A source record on the card: where it lives and why it belongs here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardSource {
    /// Connector.
    pub connector: String,
    /// `client` or `contact`.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// The vendor's id.
    pub external_id: String,
    /// Deep link.
    pub url: Option<String>,
    /// The rule that put it here (`tax_id`, `domain`, `name`, `manual`, `single`, …).
    pub rule: String,
    /// The rule's score.
    pub score: f64,
    /// The shared value.
    pub evidence: String,
    /// The record it was matched with.
    pub via: Option<String>,
}

/// A client's card (`zveno client ID --json`, `GET /api/v1/clients/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Card {
    /// The client as listings show it.
    #[serde(flatten)]
    pub client: ClientView,
    /// Golden fields with where each came from.
    pub fields: BTreeMap<String, FieldView>,
    /// Every source record, with why it belongs.
    #[serde(rename = "sources")]
    pub records: Vec<CardSource>,
    /// Its contacts.
    pub contacts: Vec<ClientView>,
    /// Open tasks across trackers, soonest due first.
    pub open_tasks: Vec<TaskView>,
    /// How many of its tasks are closed.
    pub closed_tasks: usize,
}

/// The card of client `id`, or `None` when there is no such client.
pub async fn card(store: &Store, id: &str, time: &ViewTime) -> Result<Option<Card>, QueryError> {
    let Some(entity) = store.entity(id).await?.filter(|e| e.kind == Kind::Client) else { return Ok(None) };
    let links = store.entity_links(std::slice::from_ref(&entity.id)).await?;
    let g = golden(&entity);
    let fields = Field::ALL
        .iter()
        .map(|f| {
            let value = g.values.get(f.as_str()).cloned().unwrap_or_default();
            let from = g.provenance.get(f.as_str()).cloned().unwrap_or_default();
            (f.as_str().to_string(), FieldView { value, from })
        })
        .collect();
    let contact_entities = store.contacts_of(&entity.id).await?;
    let contact_links = store.entity_links(&contact_entities.iter().map(|c| c.id.clone()).collect::<Vec<_>>()).await?;
    let contact_refs: Vec<_> = contact_links.iter().collect();
    let tasks = store.tasks(&TaskFilter { client_id: Some(entity.id.clone()), ..TaskFilter::default() }).await?;
    Ok(Some(Card {
        client: ClientView::new(&entity, &links.iter().collect::<Vec<_>>()),
        fields,
        records: links
            .iter()
            .map(|l| CardSource {
                connector: l.key.connector.clone(),
                kind: l.key.kind,
                external_id: l.key.external_id.clone(),
                url: l.url.clone(),
                rule: l.rule.clone(),
                score: l.score,
                evidence: l.evidence.clone(),
                via: l.via.clone(),
            })
            .collect(),
        contacts: contact_entities.iter().map(|c| ClientView::new(c, &contact_refs)).collect(),
        open_tasks: tasks.iter().filter(|t| t.status.is_open()).map(|t| TaskView::new(t, time)).collect(),
        closed_tasks: tasks.iter().filter(|t| !t.status.is_open()).count(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused_by_name() {
        let key = ("ООО «Ромашка»".to_string(), "cl-1".to_string());
        let text = encode_cursor(&key);
        assert_eq!(decode_cursor::<(String, String)>(text.as_deref()).ok().flatten(), Some(key));
        let err = decode_cursor::<(String, String)>(Some("%%%")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("cursor: "), "{err}");
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(page_size(None, false).ok().flatten(), Some(DEFAULT_LIMIT));
        assert_eq!(page_size(None, true).ok().flatten(), None);
        assert!(page_size(Some(0), false).is_err());
        assert!(page_size(Some(MAX_LIMIT + 1), false).is_err());
    }

    #[test]
    fn a_page_keeps_limit_items_and_points_after_the_last() {
        let page = finish(vec![1, 2, 3], Some(2), |n| *n, |n| n * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert_eq!(decode_cursor::<i32>(page.next_cursor.as_deref()).ok().flatten(), Some(2));
        assert_eq!(finish(vec![1, 2], Some(2), |n| *n, |n| *n).next_cursor, None);
    }
}
