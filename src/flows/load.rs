//! Gathering a flow's [`PlanInput`] from the store: the records of its connectors, the
//! links that make them one client, the copies it created, the agreed base and the ledger.
//!
//! Groups: for clients, one per golden client holding a record of the flow's connectors
//! (its `from` records are the sources, its `to` records the targets); for tasks, one per
//! source task, its target the copy the flow created (`flow_pairs`). A copy created but not
//! yet read back by a pull still counts: the group is marked created, never created twice.
//! A client copy whose every source record is gone (their links went with them) is
//! reported as a group of deleted sources, for `on_delete = "archive"`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zveno_connector::{ClientRef, Kind, RecordData};

use super::plan::{Group, Plan, PlanInput, Side};
use super::spec::Flow;
use super::values;
use crate::store::{FlowState, RecordKey, Store, StoreError, StoredRecord, TaskFilter};

/// Records read per store query.
const PAGE: u32 = 1_000;

/// The plan input of `flow`, and the store state it came from.
pub async fn input(store: &Store, flow: &Flow) -> Result<(PlanInput, FlowState), StoreError> {
    let mut connectors = flow.from.clone();
    connectors.push(flow.to.clone());
    let state = store.flow_state(&flow.name, &connectors).await?;
    let mut records: BTreeMap<RecordKey, StoredRecord> = BTreeMap::new();
    for connector in &connectors {
        let mut after: Option<String> = None;
        loop {
            let page = store.list_records(connector, flow.kind, after.as_deref(), PAGE).await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|r| r.record.external_id.clone());
            records.extend(page.into_iter().map(|r| (r.key(), r)));
            if !full {
                break;
            }
        }
    }
    let mut groups = match flow.kind {
        Kind::Task => task_groups(store, flow, &state, &records).await?,
        _ => client_groups(store, flow, &state, &records).await?,
    };
    for target in groups.iter_mut().flat_map(|g| g.targets.iter_mut()) {
        target.closed |= state.archived.contains(&target.key);
    }
    let input =
        PlanInput { groups, agreed: state.agreed.clone(), ledger: state.ledger.clone(), users: BTreeMap::new() };
    Ok((input, state))
}

fn side(flow: &Flow, record: &StoredRecord) -> Side {
    let data = record.record.data.as_ref().and_then(|d| serde_json::to_value(d).ok()).unwrap_or(Value::Null);
    Side {
        key: record.key(),
        updated_at: record.record.updated_at.map(|t| t.timestamp_millis()),
        deleted: record.record.deleted,
        closed: matches!(&record.record.data, Some(RecordData::Task(t)) if !t.status.is_open()),
        values: values::read(flow.kind, &data, &flow.fields),
    }
}

fn label(side: &Side) -> String {
    ["name", "title"]
        .iter()
        .find_map(|f| side.values.get(*f).and_then(Value::as_str))
        .map_or_else(|| side.key.to_string(), str::to_string)
}

async fn client_groups(
    store: &Store,
    flow: &Flow,
    state: &FlowState,
    records: &BTreeMap<RecordKey, StoredRecord>,
) -> Result<Vec<Group>, StoreError> {
    let links = store.all_links(flow.kind).await?;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for link in links {
        let Some(record) = records.get(&link.key) else { continue };
        let group = groups.entry(link.entity_id.clone()).or_insert_with(|| Group {
            id: link.entity_id.clone(),
            label: String::new(),
            sources: Vec::new(),
            targets: Vec::new(),
            created: false,
            target_client: None,
            attached: false,
        });
        if flow.reads(&link.key.connector) {
            group.sources.push(side(flow, record));
        } else {
            group.targets.push(side(flow, record));
        }
    }
    let copies: BTreeSet<&RecordKey> = state.pairs.values().collect();
    let mut out = Vec::new();
    for (id, mut group) in groups {
        group.created = state.creating.contains(&id) || state.pairs.contains_key(&id);
        // The copy this flow made, even before resolution links it to the same client.
        if let Some(copy) = state.pairs.get(&id).and_then(|p| records.get(p)) {
            if !group.targets.iter().any(|t| t.key == copy.key()) {
                group.targets.push(side(flow, copy));
            }
        }
        if group.sources.is_empty() {
            // Only a copy this flow made is archived for its sources being gone.
            let Some(copy) = group.targets.iter().find(|t| copies.contains(&t.key)) else { continue };
            let gone = Side {
                key: RecordKey { connector: flow.from[0].clone(), kind: flow.kind, external_id: String::new() },
                updated_at: None,
                deleted: true,
                closed: false,
                values: BTreeMap::new(),
            };
            group.label = label(copy);
            group.sources.push(gone);
        } else {
            group.label = group.sources.iter().map(label).next().unwrap_or_default();
        }
        out.push(group);
    }
    Ok(out)
}

async fn task_groups(
    store: &Store,
    flow: &Flow,
    state: &FlowState,
    records: &BTreeMap<RecordKey, StoredRecord>,
) -> Result<Vec<Group>, StoreError> {
    // The client each task concerns, and each client's record in the target.
    let tasks = store.tasks(&TaskFilter::default()).await?;
    let client_of: BTreeMap<(String, String), String> =
        tasks.into_iter().filter_map(|t| t.client_id.map(|c| ((t.connector, t.external_id), c))).collect();
    let mut target_clients: BTreeMap<String, String> = store
        .all_links(Kind::Client)
        .await?
        .into_iter()
        .filter(|l| l.key.connector == flow.to)
        .map(|l| (l.entity_id, l.key.external_id))
        .collect();
    // A client copy made in this same cycle is not linked yet (no sync has read it back):
    // without it, tasks created now would never be attached to their client.
    for (client, copy) in store.flow_copies(&flow.to, Kind::Client).await? {
        target_clients.entry(client).or_insert(copy);
    }
    let mut out = Vec::new();
    for (key, record) in records.iter().filter(|(k, _)| flow.reads(&k.connector)) {
        let id = key.to_string();
        let source = side(flow, record);
        let pair = state.pairs.get(&id);
        let targets: Vec<Side> = pair.and_then(|p| records.get(p)).map(|r| side(flow, r)).into_iter().collect();
        let target_client = client_of
            .get(&(key.connector.clone(), key.external_id.clone()))
            .and_then(|client| target_clients.get(client))
            .cloned();
        let attached = match (pair.and_then(|p| records.get(p)), &target_client) {
            (Some(copy), Some(client)) => holds_client(copy, client),
            _ => false,
        };
        out.push(Group {
            label: label(&source),
            id: id.clone(),
            sources: vec![source],
            targets,
            created: pair.is_some() || state.creating.contains(&id),
            target_client,
            attached,
        });
    }
    Ok(out)
}

/// `flow`'s plan now, from what the store holds (what `zveno plan` and the web view show).
pub async fn plan_now(store: &Store, flow: &Flow) -> Result<Plan, StoreError> {
    let (input, _) = input(store, flow).await?;
    Ok(super::plan(flow, &input))
}

/// Whether a stored task is attached to client `client` of its own connector.
fn holds_client(task: &StoredRecord, client: &str) -> bool {
    matches!(&task.record.data, Some(RecordData::Task(t))
        if t.clients.iter().any(|c| matches!(c, ClientRef::External(id) if id == client)))
}
