//! One page of a pull: a chained batch of list calls (up to 2,500 rows), the requisites of
//! the companies in it, the users they name, mapped into records.
//!
//! An incremental company window has a second phase: the requisites modified in the window
//! (by their own `DATE_MODIFY`), whose companies are read again by ID — editing a
//! requisite's INN leaves the company's `DATE_MODIFY` as it was, and would go unseen.

use std::collections::{BTreeSet, HashMap};

use chrono::{DurationRound as _, TimeDelta};
use serde_json::Value;
use zveno_connector::{ConnectorError, Cursor, Kind, Page, RecordError, SourceRecord, SyncMode};

use super::cursor::{grown, CursorState, FIRST_CHAIN};
use super::list::{by_ids, chain, ListSpec, Window};
use super::{requisites, Bitrix24Connector};
use crate::dto::id_of;
use crate::mapping::{self, MapContext};

impl Bitrix24Connector {
    pub(super) async fn pull_page(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        let mut state = CursorState::read(cursor, mode)?;
        // Loads users (owners' e-mails) and, with them, the portal's UTC offset, which the
        // window below is written in.
        self.people().await?;
        let spec = self.list_spec(kind);
        let requisite_phase = kind == Kind::Client && mode == SyncMode::Incremental && state.requisites;
        let scanned = if requisite_phase { ListSpec::company_requisites() } else { spec.clone() };
        let most = self.settings.calls_per_batch;
        let (window, length) = match mode {
            SyncMode::Full => (None, most),
            SyncMode::Incremental => {
                // The portal's clock, not the daemon's: a window ending in the portal's
                // future would skip what it stamps before that instant.
                let now = self.client.http().vendor_now();
                let until = *state.until.get_or_insert(now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now));
                let overlap = TimeDelta::from_std(self.settings.overlap).unwrap_or_default();
                let window = Window {
                    from: state.since.map(|s| self.client.portal_time(s - overlap)),
                    to: self.client.portal_time(until),
                };
                (Some(window), state.chain.unwrap_or(FIRST_CHAIN).min(most))
            }
        };
        let page = chain(&self.client, &scanned, state.after_id, window.as_ref(), length).await?;
        let (records, errors) = if requisite_phase {
            let companies: BTreeSet<u64> = page.rows.iter().filter_map(|r| id_of(r.get("ENTITY_ID"))).collect();
            let rows = by_ids(&self.client, &spec, &companies.into_iter().collect::<Vec<_>>()).await?;
            self.map_rows(kind, &spec, rows).await?
        } else {
            self.map_rows(kind, &spec, page.rows).await?
        };
        let mut more = !page.complete;
        if more {
            state.after_id = page.last_id.unwrap_or(state.after_id);
            if mode == SyncMode::Incremental {
                let next = if page.saturated { grown(length, most) } else { length };
                state.chain = Some(next);
            }
        } else if kind == Kind::Client && mode == SyncMode::Incremental && !state.requisites && state.since.is_some() {
            // A window with a lower bound read only changed companies: now the companies
            // whose requisites changed in it. (Without one, it read every company.)
            state = CursorState { requisites: true, after_id: 0, chain: None, ..state };
            more = true;
        } else {
            // A finished full scan starts over next time; a finished window hands its end
            // to the next window as the watermark.
            let since = state.until.filter(|_| mode == SyncMode::Incremental);
            state = CursorState { mode: Some(mode), since, ..CursorState::default() };
        }
        Ok(Page { records, errors, cursor: state.encode()?, more })
    }

    /// The list (and get) method of `kind`, with the fields the mapping reads.
    pub(super) fn list_spec(&self, kind: Kind) -> ListSpec {
        match kind {
            Kind::Client => ListSpec::companies(&self.settings.tax_id_fields),
            Kind::Contact => ListSpec::contacts(),
            Kind::Task => ListSpec::tasks(),
        }
    }

    pub(super) async fn map_rows(
        &self,
        kind: Kind,
        spec: &ListSpec,
        rows: Vec<Value>,
    ) -> Result<(Vec<SourceRecord>, Vec<RecordError>), ConnectorError> {
        let person_keys: &[&str] = match kind {
            Kind::Task => &["responsibleId", "createdBy"],
            _ => &["ASSIGNED_BY_ID"],
        };
        let user_ids: BTreeSet<u64> =
            rows.iter().flat_map(|r| person_keys.iter().filter_map(|k| id_of(r.get(*k)))).collect();
        let people = self.people_covering(user_ids).await?;
        let requisites: Option<HashMap<u64, Vec<Value>>> = match kind {
            Kind::Client => {
                let ids: Vec<u64> = rows.iter().filter_map(|r| spec.row_id(r)).collect();
                Some(requisites::for_companies(&self.client, &ids).await?)
            }
            _ => None,
        };
        let settings = &self.settings;
        let ctx = MapContext {
            connector: &self.name,
            portal: self.client.webhook().portal(),
            webhook_user: self.client.webhook().user_id(),
            region: settings.region,
            country: &settings.country,
            tax_id_fields: &settings.tax_id_fields,
            statuses: &settings.statuses,
            people: &people,
        };
        let mut records = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        for row in rows {
            let row_id = spec.row_id(&row);
            let mapped = match kind {
                Kind::Client => {
                    let found = requisites
                        .as_ref()
                        .map(|by_company| row_id.and_then(|id| by_company.get(&id)).map_or(&[][..], Vec::as_slice));
                    mapping::company(row, found, &ctx)
                }
                Kind::Contact => mapping::contact(row, &ctx),
                Kind::Task => mapping::task(row, &ctx),
            };
            match mapped {
                Ok(record) => records.push(record),
                Err(mut error) => {
                    error.external_id = error.external_id.or_else(|| row_id.map(|id| id.to_string()));
                    errors.push(error);
                }
            }
        }
        Ok((records, errors))
    }
}
