//! One page of a pull.

use zveno_connector::{ConnectorError, Cursor, Page, SyncMode};

use super::cursor::{to_second, CursorState, Run};
use super::PipedriveConnector;
use crate::dto::entity::Entity;

impl PipedriveConnector {
    pub(super) async fn pull_page(
        &self,
        entity: Entity,
        mode: SyncMode,
        cursor: &Cursor,
    ) -> Result<Page, ConnectorError> {
        let mut state: CursorState = cursor.decode()?;
        let now = to_second(self.clock.now());
        // A run left by the other mode (an interrupted run) is not resumed: only the
        // watermark carries across modes.
        let run = match (mode, state.run.take()) {
            (SyncMode::Full, Some(run @ Run::Scan { .. })) => run,
            (SyncMode::Full, _) => Run::Scan { next: None, started: now },
            (SyncMode::Incremental, Some(run @ Run::Changes { .. })) => run,
            (SyncMode::Incremental, _) => Run::Changes {
                since: state.watermark.map(|w| w - self.overlap).map(|since| since.min(now)),
                until: now,
                next: None,
            },
        };
        let users = self.users.get(&self.client, self.clock.as_ref()).await?;
        let (records, next) = self.client.list(entity, &run.query()).await?;
        if next.is_some() && next.as_deref() == run.next() {
            return Err(ConnectorError::invalid_data(format!(
                "Pipedrive returned the same {} cursor twice",
                entity.path()
            )));
        }
        let mut page = Page::default();
        for raw in records {
            match self.mapper.read(entity, raw, &users) {
                Ok(record) => page.records.push(record),
                Err(e) => page.errors.push(e),
            }
        }
        let (run, watermark) = run.advance(next);
        state.run = run;
        if let Some(mark) = watermark {
            state.watermark = state.watermark.max(Some(mark));
            tracing::info!(
                connector = %self.name, entity = entity.path(), tokens_spent_today = self.tokens_spent(),
                budget = self.client.ledger().budget(), "Pipedrive run complete"
            );
        }
        page.more = state.run.is_some();
        page.cursor = Cursor::encode(&state)?;
        Ok(page)
    }
}
