//! The source check at the start of every run: a connector pointed at another portal,
//! site or account says so and starts fresh instead of mixing two sources' records.
//!
//! The store does the work ([`crate::store::Store::adopt_source`]: the old source's records
//! set aside, cursors dropped); here the engine asks the connector for its source, logs a
//! switch and words the note the run carries into `zveno runs`. The first full scan after a
//! switch is forced ([`Engine::source_pending`]), because the store's history of completed
//! full scans belongs to the old source.

use std::sync::Arc;

use zveno_connector::Connector;

use super::{Engine, EngineError};
use crate::store::SourceCheck;

impl Engine {
    /// Adopts the connector's current source; returns the note for the run when the source
    /// changed.
    pub(super) async fn adopt_source(&self, connector: &Arc<dyn Connector>) -> Result<Option<String>, EngineError> {
        let Some(source) = connector.source() else { return Ok(None) };
        let name = connector.name();
        match self.store.adopt_source(name, &source, self.clock.now()).await? {
            SourceCheck::Same => Ok(None),
            SourceCheck::First => {
                tracing::info!(connector = name, %source, "source recorded");
                Ok(None)
            }
            SourceCheck::Switched { from, set_aside } => {
                let note = format!(
                    "the connector now reads {source} instead of {from}: {set_aside} records of {from} were set \
                     aside and the connector starts afresh"
                );
                tracing::warn!(connector = name, %source, previous = %from, set_aside, "source changed; {note}");
                Ok(Some(note))
            }
        }
    }

    /// Whether the connector reads another source than the store holds records of, or
    /// adopted its source after `last_full` (a full scan of the old source does not count).
    pub(super) async fn source_pending(
        &self,
        connector: &Arc<dyn Connector>,
        last_full: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, EngineError> {
        let Some(source) = connector.source() else { return Ok(false) };
        Ok(match self.store.connector_source(connector.name()).await? {
            None => false,
            Some((stored, since)) => stored != source || last_full.is_some_and(|at| at < since),
        })
    }
}
