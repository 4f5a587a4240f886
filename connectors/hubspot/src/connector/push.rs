//! Writes through HubSpot's batch endpoints, with one outcome per op.
//!
//! Every create carries its op id, the idempotency handle, in the custom property the
//! config names (`idempotency_property`, `zveno_id` by default). Companies are created
//! through `batch/upsert` keyed on it (`idProperty`; the property must require unique
//! values): a resend after a lost answer finds the record the first send made and updates
//! it instead of making a second one, so upserts are resent like updates. Tasks (HubSpot
//! offers unique values on contacts, companies, deals, tickets and custom objects, not on
//! activities) go through `batch/create` with the property set, and a lost answer is
//! settled by looking the handle up ([`super::handles`]).
//!
//! Creates and updates go 100 to a call; each input carries the op id as
//! `objectWriteTraceId`, which HubSpot echoes on results and names in the `context` of
//! errors, so a **207** partial success is matched back op by op (updates also match by
//! record id) — never by position: HubSpot does not keep the input order, and a create
//! whose result names no trace id gets no outcome rather than another input's record.
//!
//! HubSpot refuses a whole batch for one invalid input (**400** `VALIDATION_ERROR`, or
//! **409** for a conflicting unique value), writing nothing and often naming no input. Such
//! a batch is split in halves and each half sent again, down to the single bad input, so
//! one bad record does not block the other 99. Only after a 400 or 409: after a 5xx or a
//! timeout some inputs may have been written, and nothing is resent. Tasks are created with their company and contact associations inline, with
//! type ids read from the v4 labels endpoint (per portal data, cached); `batch/update` takes
//! no associations, so after an update they are added through the v4 association batch.
//!
//! Nothing is lost silently: an op HubSpot does not report on fails with a message saying
//! so; a whole call that fails after earlier calls of the same push succeeded fails its ops
//! (and the ops not yet sent) instead of hiding the earlier outcomes behind one error. Only
//! when nothing has been written yet is the call's error returned as is, so the engine sees
//! its kind (auth, rate limit) and retries the whole push later.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use zveno_connector::{ConnectorError, ErrorKind, WriteAction, WriteError, WriteErrorKind, WriteOp, WriteOutcome};

use super::HubSpotConnector;
use crate::client::{BatchAction, BATCH_LIMIT};
use crate::dto::object::Object;
use crate::dto::{BatchResponse, StandardError};
use crate::mapping::WriteInput;

/// One op ready to send.
struct Prepared {
    op_id: String,
    id: Option<String>,
    input: WriteInput,
}

type Outcomes = BTreeMap<String, Result<String, WriteError>>;

/// An error HubSpot reported for an input: a missing object is `NotFound`, anything else
/// (validation, unknown property or option) a refusal of the input.
fn refused(error: &StandardError, context: &str) -> WriteError {
    let kind = match error.category.as_deref() {
        Some("OBJECT_NOT_FOUND") => WriteErrorKind::NotFound,
        _ => WriteErrorKind::Invalid,
    };
    WriteError::new(kind, format!("{context}{}", error.describe()))
}

impl HubSpotConnector {
    pub(super) async fn push_ops(&self, object: Object, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let owners = self.owners().await?;
        let now = self.clock.now();
        let mut outcomes = Outcomes::new();
        let (mut creates, mut updates, mut archives) = (Vec::new(), Vec::new(), Vec::new());
        for op in ops {
            let (id, data, create) = match &op.action {
                WriteAction::Create { data } => (None, data, true),
                WriteAction::Update { external_id, data } => (Some(external_id.clone()), data, false),
                WriteAction::Archive { external_id } => {
                    archives.push((op.op_id.clone(), external_id.clone()));
                    continue;
                }
            };
            match self.mapper.write(object, data, &owners, create, now) {
                Ok(input) => {
                    for warning in &input.warnings {
                        tracing::warn!(op = %op.op_id, %warning, "HubSpot write");
                    }
                    let prepared = Prepared { op_id: op.op_id.clone(), id, input };
                    if create {
                        creates.push(prepared);
                    } else {
                        updates.push(prepared);
                    }
                }
                Err(e) => {
                    outcomes.insert(op.op_id.clone(), Err(WriteError::invalid(e)));
                }
            }
        }
        let mut wrote = false;
        let mut failure: Option<ConnectorError> = None;
        for chunk in creates.chunks(BATCH_LIMIT) {
            let result = if object == Object::Companies {
                self.upsert_chunk(object, chunk, &mut outcomes).await
            } else {
                self.create_chunk(object, chunk, &mut outcomes).await
            };
            let ops = chunk.iter().map(|p| &p.op_id);
            settle(result, ops, true, &mut wrote, &mut failure, &mut outcomes)?;
        }
        for chunk in updates.chunks(BATCH_LIMIT) {
            let result = self.update_chunk(object, chunk, &mut outcomes).await;
            let ops = chunk.iter().map(|p| &p.op_id);
            settle(result, ops, false, &mut wrote, &mut failure, &mut outcomes)?;
        }
        for chunk in archives.chunks(BATCH_LIMIT) {
            let result = self.archive_chunk(object, chunk, &mut outcomes).await;
            settle(result, chunk.iter().map(|(op, _)| op), false, &mut wrote, &mut failure, &mut outcomes)?;
        }
        Ok(ops
            .iter()
            .map(|op| WriteOutcome {
                op_id: op.op_id.clone(),
                result: outcomes.remove(&op.op_id).unwrap_or_else(|| {
                    Err(WriteError::unknown("HubSpot did not report on this write; check the record before retrying"))
                }),
            })
            .collect())
    }

    async fn create_chunk(
        &self,
        object: Object,
        chunk: &[Prepared],
        outcomes: &mut Outcomes,
    ) -> Result<(), ConnectorError> {
        let mut inputs = Vec::with_capacity(chunk.len());
        for p in chunk {
            let mut associations = Vec::new();
            for (to, ids) in [(Object::Companies, &p.input.companies), (Object::Contacts, &p.input.contacts)] {
                if ids.is_empty() {
                    continue;
                }
                let type_id = self.association_type(object, to).await?;
                associations.extend(ids.iter().map(|id| {
                    json!({"to": {"id": id},
                           "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]})
                }));
            }
            let mut properties = p.input.properties.clone();
            properties.insert(self.handle_property.clone(), p.op_id.clone());
            inputs.push(json!({
                "properties": properties,
                "associations": associations,
                "objectWriteTraceId": p.op_id,
            }));
        }
        let keys: Vec<(&str, Option<&str>)> = chunk.iter().map(|p| (p.op_id.as_str(), None)).collect();
        self.batch_split(object, BatchAction::Create, &inputs, &keys, outcomes).await
    }

    /// Creates keyed on the handle property: `batch/upsert` with the op id as the value
    /// (`id`) of `idProperty`, which HubSpot sets on the record it creates. Upsert inputs
    /// take no associations; company writes carry none (`mapping::write`).
    async fn upsert_chunk(
        &self,
        object: Object,
        chunk: &[Prepared],
        outcomes: &mut Outcomes,
    ) -> Result<(), ConnectorError> {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|p| {
                json!({
                    "idProperty": self.handle_property,
                    "id": p.op_id,
                    "properties": p.input.properties,
                    "objectWriteTraceId": p.op_id,
                })
            })
            .collect();
        let keys: Vec<(&str, Option<&str>)> = chunk.iter().map(|p| (p.op_id.as_str(), None)).collect();
        self.batch_split(object, BatchAction::Upsert, &inputs, &keys, outcomes).await
    }

    /// Sends `inputs` (matched to `keys`: op id, record id) as one batch; a batch HubSpot
    /// refuses whole as invalid is split in halves and each sent again, down to the bad
    /// input, which fails alone. Any other failure is never resent: before anything of
    /// this batch was written it is returned as is; after, it fails the inputs not yet
    /// settled (a create maybe applied, the rest not sent).
    async fn batch_split(
        &self,
        object: Object,
        action: BatchAction,
        inputs: &[Value],
        keys: &[(&str, Option<&str>)],
        outcomes: &mut Outcomes,
    ) -> Result<(), ConnectorError> {
        let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
        pending.push(0..inputs.len());
        let mut wrote = false;
        while let Some(range) = pending.pop() {
            let error = match self.client.batch(object, action, inputs[range.clone()].to_vec()).await {
                Ok(response) => {
                    record_batch(&response, keys[range].iter().copied(), outcomes);
                    wrote = true;
                    continue;
                }
                Err(e) => e,
            };
            if refused_whole(&error) && range.len() > 1 {
                let middle = range.start + range.len() / 2;
                pending.push(middle..range.end);
                pending.push(range.start..middle);
                continue;
            }
            if refused_whole(&error) {
                outcomes.insert(keys[range.start].0.to_string(), Err(WriteError::invalid(error.message())));
                continue;
            }
            if !wrote {
                return Err(error);
            }
            for (op, _) in &keys[range] {
                let creates = matches!(action, BatchAction::Create | BatchAction::Upsert);
                let failed = if creates && error.kind() == ErrorKind::Transient {
                    WriteError::unknown(format!("HubSpot batch failed (it may have been applied): {error}"))
                } else {
                    WriteError::from_request(&error)
                };
                outcomes.insert((*op).to_string(), Err(failed));
            }
            for (op, _) in pending.drain(..).flat_map(|r| &keys[r]) {
                outcomes
                    .insert((*op).to_string(), Err(WriteError::not_sent(format!("an earlier batch failed: {error}"))));
            }
        }
        Ok(())
    }

    async fn update_chunk(
        &self,
        object: Object,
        chunk: &[Prepared],
        outcomes: &mut Outcomes,
    ) -> Result<(), ConnectorError> {
        let mut inputs: Vec<Value> = Vec::new();
        let mut sent: Vec<(&str, Option<&str>)> = Vec::new();
        for p in chunk {
            let id = p.id.as_deref().unwrap_or_default();
            if p.input.properties.is_empty() {
                // Nothing to set (HubSpot rejects an empty update); associations may follow.
                outcomes.insert(p.op_id.clone(), Ok(id.to_string()));
                continue;
            }
            inputs.push(json!({"id": id, "properties": p.input.properties, "objectWriteTraceId": p.op_id}));
            sent.push((p.op_id.as_str(), Some(id)));
        }
        if !inputs.is_empty() {
            self.batch_split(object, BatchAction::Update, &inputs, &sent, outcomes).await?;
        }
        for to in [Object::Companies, Object::Contacts] {
            let mut pairs: Vec<(String, String)> = Vec::new();
            let mut owners_of: BTreeMap<String, String> = BTreeMap::new();
            for p in chunk.iter().filter(|p| matches!(outcomes.get(&p.op_id), Some(Ok(_)))) {
                let Some(id) = p.id.clone() else { continue };
                let targets = if to == Object::Companies { &p.input.companies } else { &p.input.contacts };
                for target in targets {
                    pairs.push((id.clone(), target.clone()));
                    owners_of.insert(id.clone(), p.op_id.clone());
                }
            }
            if pairs.is_empty() {
                continue;
            }
            let type_id = self.association_type(object, to).await?;
            let failures = self.client.associate(object, to, type_id, &pairs).await?;
            for error in &failures {
                let named: BTreeSet<&String> =
                    ["fromObjectId", "id", "ids"].iter().flat_map(|k| error.context_values(k)).collect();
                let blamed: Vec<&String> = if named.is_empty() {
                    owners_of.values().collect()
                } else {
                    owners_of.iter().filter(|(id, _)| named.contains(id)).map(|(_, op)| op).collect()
                };
                for op in blamed {
                    let context = format!("properties updated, but associating {to} failed: ");
                    outcomes.insert(op.clone(), Err(refused(error, &context)));
                }
            }
        }
        Ok(())
    }

    async fn archive_chunk(
        &self,
        object: Object,
        chunk: &[(String, String)],
        outcomes: &mut Outcomes,
    ) -> Result<(), ConnectorError> {
        let inputs: Vec<Value> = chunk.iter().map(|(_, id)| json!({ "id": id })).collect();
        let response = self.client.batch(object, BatchAction::Archive, inputs).await?;
        record_batch(&response, chunk.iter().map(|(op, id)| (op.as_str(), Some(id.as_str()))), outcomes);
        // batch/archive answers 204 with no body: every input was archived.
        for (op, id) in chunk {
            outcomes.entry(op.clone()).or_insert_with(|| Ok(id.clone()));
        }
        Ok(())
    }
}

/// Whether HubSpot refused a batch as a whole for what its inputs hold: a 400 or a 409.
/// Nothing of it was written, so its halves may be sent again.
fn refused_whole(error: &ConnectorError) -> bool {
    error.kind() == ErrorKind::InvalidData
        && ["HTTP 400", "HTTP 409"].iter().any(|status| error.message().contains(&format!(": {status} ")))
}

/// Matches a batch answer to its inputs (`(op id, record id)`): results by trace id, then
/// by record id; errors by the trace ids and ids in their context. Never by position.
fn record_batch<'a>(
    response: &BatchResponse,
    inputs: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    outcomes: &mut Outcomes,
) {
    let inputs: Vec<(&str, Option<&str>)> = inputs.collect();
    for error in &response.errors {
        let traced = error.context_values("objectWriteTraceId");
        let ids: Vec<&String> = ["id", "ids"].iter().flat_map(|k| error.context_values(k)).collect();
        for (op, id) in &inputs {
            let named = traced.iter().any(|t| t == op) || id.is_some_and(|id| ids.iter().any(|i| *i == id));
            if named {
                outcomes.insert((*op).to_string(), Err(refused(error, "")));
            }
        }
    }
    for result in &response.results {
        let op = inputs
            .iter()
            .find(|(op, id)| result.object_write_trace_id.as_deref() == Some(*op) || *id == Some(result.id.as_str()));
        if let Some((op, _)) = op {
            outcomes.entry((*op).to_string()).or_insert_with(|| Ok(result.id.clone()));
        }
    }
}

/// Decides what a failed call means for the push: before anything was written, the error
/// itself (the engine retries the push); after, a failed outcome for this call's ops and
/// every op not yet sent. A request HubSpot rejected as invalid fails its own ops only. A
/// create that failed in transit (`creates`) may have been applied — creates are not
/// idempotent — so its ops fail with a message saying so instead of inviting a blind retry.
fn settle<'a>(
    result: Result<(), ConnectorError>,
    ops: impl Iterator<Item = &'a String>,
    creates: bool,
    wrote: &mut bool,
    failure: &mut Option<ConnectorError>,
    outcomes: &mut Outcomes,
) -> Result<(), ConnectorError> {
    let ops: Vec<&String> = ops.collect();
    if let Some(earlier) = failure.as_ref() {
        for op in ops {
            outcomes.insert(op.clone(), Err(WriteError::not_sent(format!("an earlier batch failed: {earlier}"))));
        }
        return Ok(());
    }
    match result {
        Ok(()) => {
            *wrote = true;
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            for op in ops {
                outcomes.insert(op.clone(), Err(WriteError::invalid(e.message())));
            }
            Ok(())
        }
        Err(e) => {
            let maybe_applied = creates && e.kind() == ErrorKind::Transient;
            if !*wrote && !maybe_applied {
                return Err(e);
            }
            for op in ops {
                let error = WriteError::unknown(format!("HubSpot batch failed (it may have been applied): {e}"));
                outcomes.insert(op.clone(), Err(error));
            }
            *failure = Some(e);
            Ok(())
        }
    }
}
