//! Writes, one request per op (API v2 has no batch writes, §7), each with its own outcome.
//!
//! An op Pipedrive refuses (400, 404) fails alone. A failure that is not about the op — the
//! token rejected, the budget spent, the network down — stops the push: when nothing has
//! been written yet its error is returned as is, so the engine sees its kind and retries the
//! whole push later; after a write it fails the remaining ops with a message instead of
//! hiding the outcomes already known. A create that failed in transit may have been applied
//! (creates are not idempotent and Pipedrive has no idempotency key), so its op fails with
//! a message saying so rather than inviting a blind retry: an organization create carries
//! its op id in the configured custom field (`idempotency_field`), where write-back looks
//! it up before sending it again ([`super::handles`]).

use serde_json::Value;
use zveno_connector::{ConnectorError, ErrorKind, WriteAction, WriteError, WriteOp, WriteOutcome};

use super::PipedriveConnector;
use crate::dto::entity::Entity;

impl PipedriveConnector {
    pub(super) async fn push_ops(&self, entity: Entity, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let users = self.users().await?;
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut stopped: Option<String> = None;
        for op in ops {
            let outcome = |result: Result<String, WriteError>| WriteOutcome { op_id: op.op_id.clone(), result };
            if let Some(why) = &stopped {
                outcomes.push(outcome(Err(WriteError::not_sent(format!("an earlier write failed: {why}")))));
                continue;
            }
            let (id, data) = match &op.action {
                WriteAction::Create { data } => (None, data),
                WriteAction::Update { external_id, data } => (Some(external_id.as_str()), data),
                WriteAction::Archive { external_id } => {
                    outcomes.push(outcome(Err(WriteError::unsupported(format!(
                        "zveno does not delete Pipedrive {} ({external_id})",
                        entity.path()
                    )))));
                    continue;
                }
            };
            let body = match self.mapper.write(entity, data, &users, id.is_none()) {
                Ok(mut body) => {
                    if id.is_none() {
                        self.stamp(entity, &mut body.body, &op.op_id);
                    }
                    body
                }
                Err(why) => {
                    outcomes.push(outcome(Err(WriteError::invalid(why))));
                    continue;
                }
            };
            for warning in &body.warnings {
                tracing::warn!(op = %op.op_id, %warning, "Pipedrive write");
            }
            let sent = match id {
                None => self.client.create(entity, &body.body).await,
                Some(id) => self.client.update(entity, id, &body.body).await,
            };
            match sent {
                Ok(data) => match data.get("id").and_then(Value::as_u64) {
                    Some(new_id) => outcomes.push(outcome(Ok(new_id.to_string()))),
                    None => outcomes.push(outcome(id.map(str::to_string).ok_or_else(|| {
                        WriteError::unknown(
                            "Pipedrive accepted the create but named no id; look the record up before retrying",
                        )
                    }))),
                },
                Err(e) if matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::NotFound) => {
                    outcomes.push(outcome(Err(WriteError::from_request(&e))));
                }
                Err(e) => {
                    let maybe_applied = id.is_none() && e.kind() == ErrorKind::Transient;
                    let wrote = outcomes.iter().any(|o: &WriteOutcome| o.result.is_ok());
                    if !wrote && !maybe_applied {
                        return Err(e);
                    }
                    let error = if maybe_applied {
                        WriteError::unknown(format!("{e} (it may have been applied; check before retrying)"))
                    } else {
                        WriteError::not_sent(format!("{e}"))
                    };
                    outcomes.push(outcome(Err(error)));
                    stopped = Some(e.to_string());
                }
            }
        }
        Ok(outcomes)
    }
}
