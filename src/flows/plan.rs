//! The plan: a pure function from what the store knows to what a flow would write.
//!
//! Inputs ([`PlanInput`]): the flow; its groups — one per golden client (records linked
//! to the entity) or per source task (the task and the copy zveno made of it) — with each
//! side's canonical field values; the last agreed value of each target field (as a hash);
//! the write ledger (the hash of what each written record held after zveno's write, as the
//! vendor read it back); and, where known, each connector's users by e-mail.
//!
//! Output ([`Plan`]): ops per target record, field by field, before → after; conflicts a
//! person must settle; people that could not be mapped, per record; and fields found in
//! agreement whose base must move. Planning the same input twice gives the same plan,
//! and op ids derive from the flow, the record and the action, so an op planned again
//! after a crash is recognised in the outbox instead of sent twice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zveno_connector::Kind;

use super::spec::{Direction, Flow, OnConflict, OnDelete};
use super::values::{hash, is_person, Values};
use crate::store::{RecordKey, Written};

/// One record on either side of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The record.
    pub key: RecordKey,
    /// Remote modification time (epoch ms), for `most_recent`.
    pub updated_at: Option<i64>,
    /// Deleted or archived in the vendor.
    pub deleted: bool,
    /// Nothing left to archive: a task already done or cancelled (archiving a task closes
    /// it; a vendor without task archives keeps the closed copy live), or a record the flow
    /// archived before (reopened since by a person, whose decision that is).
    pub closed: bool,
    /// Canonical values of the flow's fields.
    pub values: Values,
}

/// Records that are one client (or one task and its copy) across the flow's connectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The golden client's id, or the source task's `connector/kind/id`.
    pub id: String,
    /// What a person calls it (name or title), for the printed plan.
    pub label: String,
    /// Records in the flow's `from` connectors.
    pub sources: Vec<Side>,
    /// Records in the flow's `to` connector (a tombstone too: a copy a person deleted is
    /// not created again).
    pub targets: Vec<Side>,
    /// A create for this group was already sent (the outbox holds it): never plan another.
    pub created: bool,
    /// Tasks: the id, in the target, of the client the task concerns (so the copy is
    /// attached to the same client), when that client exists there.
    pub target_client: Option<String>,
    /// Tasks: the copy already holds `target_client` among its clients. A copy made before
    /// its client's copy existed is attached later, by an update.
    pub attached: bool,
}

/// Everything the plan depends on; nothing else is read.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The groups.
    pub groups: Vec<Group>,
    /// Last agreed value hash per (target record, field).
    pub agreed: BTreeMap<(RecordKey, String), String>,
    /// zveno's last write per (record, field): what the record held after it, and the
    /// value sent.
    pub ledger: BTreeMap<(RecordKey, String), Written>,
    /// Each connector's users' e-mails, where known; a connector missing here is checked
    /// only for an e-mail-shaped value.
    pub users: BTreeMap<String, BTreeSet<String>>,
}

/// What an op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create a record.
    Create,
    /// Update fields of a record.
    Update,
    /// Archive (close) a record.
    Archive,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// What the record holds now (`null` for a create).
    pub before: Value,
    /// What it will hold.
    pub after: Value,
}

/// One write to one record (kept as JSON in the outbox, read again to settle it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedOp {
    /// Stable id: the same op planned again has the same id.
    pub op_id: String,
    /// The group.
    pub group: String,
    /// Create, update or archive.
    pub action: Action,
    /// The connector written to.
    pub connector: String,
    /// The kind.
    pub kind: Kind,
    /// The record written (`None` for a create).
    pub external_id: Option<String>,
    /// The record whose values it carries (the source for a create or a source-wins
    /// update; the target for a two-way write-back).
    pub from: RecordKey,
    /// Field by field.
    pub changes: Vec<FieldChange>,
    /// Tasks: the client to attach the copy to, in the written connector (on create, or
    /// when the client's copy appeared after the task's).
    pub client: Option<String>,
}

/// A field changed on both sides since they last agreed, left for a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// The group.
    pub group: String,
    /// The field.
    pub field: String,
    /// The source record whose value is shown.
    pub source: RecordKey,
    /// Its value.
    pub source_value: Value,
    /// The target record.
    pub target: RecordKey,
    /// Its value.
    pub target_value: Value,
    /// The last agreed value's hash (`None`: they never agreed).
    pub base: Option<String>,
}

/// A person (owner, assignee) that has no user in the connector written to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmapped {
    /// The record that would have been written (`None` for a create).
    pub record: Option<RecordKey>,
    /// The group.
    pub group: String,
    /// `owner` or `assignee`.
    pub field: String,
    /// The value.
    pub value: String,
    /// Where it has no user.
    pub connector: String,
}

/// A field both sides now hold alike, whose agreed base moves to this value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// The target record.
    pub target: RecordKey,
    /// The field.
    pub field: String,
    /// The value's hash.
    pub hash: String,
}

/// A flow's plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The flow.
    pub flow: String,
    /// Writes, grouped per record.
    pub ops: Vec<PlannedOp>,
    /// Conflicts for a person (`on_conflict = "manual"`).
    pub conflicts: Vec<Conflict>,
    /// People not mapped, per record (the field is left out of the write).
    pub unmapped: Vec<Unmapped>,
    /// Agreed bases to move (not writes).
    pub agreements: Vec<Agreement>,
}

/// Plans `flow` over `input`. Pure: no I/O, no clock.
pub fn plan(flow: &Flow, input: &PlanInput) -> Plan {
    let mut out = Plan { flow: flow.name.clone(), ..Plan::default() };
    for group in &input.groups {
        plan_group(flow, input, group, &mut out);
    }
    out
}

/// The source side's value of each field: the most recently modified live source record
/// that has one (and which record that is).
fn source_values<'a>(flow: &Flow, live: &[&'a Side]) -> BTreeMap<String, (&'a Side, Value)> {
    let mut by_recency: Vec<&Side> = live.to_vec();
    by_recency.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.key.cmp(&b.key)));
    flow.fields
        .iter()
        .filter_map(|f| {
            by_recency
                .iter()
                .find_map(|s| s.values.get(f).filter(|v| !v.is_null()).map(|v| (*s, v.clone())))
                .map(|found| (f.clone(), found))
        })
        .collect()
}

fn plan_group(flow: &Flow, input: &PlanInput, group: &Group, out: &mut Plan) {
    let live: Vec<&Side> = group.sources.iter().filter(|s| !s.deleted).collect();
    let targets: Vec<&Side> = group.targets.iter().filter(|t| !t.deleted).collect();
    if live.is_empty() {
        if flow.on_delete == OnDelete::Archive && !group.sources.is_empty() {
            for target in targets.iter().filter(|t| !t.closed) {
                let from = group.sources[0].key.clone();
                out.ops.push(op(flow, group, Action::Archive, &target.key, from, Vec::new(), None));
            }
        }
        return;
    }
    let source = source_values(flow, &live);
    if group.targets.is_empty() {
        if flow.create && !group.created {
            plan_create(flow, input, group, &source, out);
        }
        return;
    }
    // Writes collected per record, so each record gets one op.
    let mut writes: BTreeMap<RecordKey, (RecordKey, Vec<FieldChange>)> = BTreeMap::new();
    for target in &targets {
        for field in &flow.fields {
            let t = target.values.get(field).cloned().unwrap_or(Value::Null);
            let (provider, s) = match source.get(field) {
                Some((side, v)) => (Some(*side), v.clone()),
                None => (None, Value::Null),
            };
            let (hs, ht) = (hash(&s), hash(&t));
            let base = input.agreed.get(&(target.key.clone(), field.clone()));
            if hs == ht {
                if base != Some(&hs) {
                    out.agreements.push(Agreement { target: target.key.clone(), field: field.clone(), hash: hs });
                }
                continue;
            }
            // zveno's own write read back — only while the base is still what that write
            // sent: a person later setting a value zveno once wrote is an edit.
            let echo = |key: &RecordKey, h: &str| {
                input
                    .ledger
                    .get(&(key.clone(), field.clone()))
                    .is_some_and(|w| w.hash == h && w.sent.as_ref().is_none_or(|sent| base == Some(sent)))
            };
            let s_changed = provider.is_some_and(|p| base != Some(&hs) && !echo(&p.key, &hs));
            let t_changed = base != Some(&ht) && !echo(&target.key, &ht);
            let winner = match (s_changed, t_changed) {
                (false, false) => None,
                (true, false) => Some(Winner::Source),
                (false, true) => Some(Winner::Target),
                (true, true) if t.is_null() => Some(Winner::Source),
                (true, true) if s.is_null() => Some(Winner::Target),
                (true, true) => match flow.on_conflict {
                    OnConflict::Source => Some(Winner::Source),
                    OnConflict::Target => Some(Winner::Target),
                    OnConflict::MostRecent => {
                        let source_time = provider.and_then(|p| p.updated_at);
                        Some(if target.updated_at > source_time { Winner::Target } else { Winner::Source })
                    }
                    OnConflict::Manual => {
                        if let Some(p) = provider {
                            out.conflicts.push(Conflict {
                                group: group.id.clone(),
                                field: field.clone(),
                                source: p.key.clone(),
                                source_value: s.clone(),
                                target: target.key.clone(),
                                target_value: t.clone(),
                                base: base.cloned(),
                            });
                        }
                        None
                    }
                },
            };
            match winner {
                Some(Winner::Source) if !s.is_null() => {
                    let from = provider.map_or_else(|| target.key.clone(), |p| p.key.clone());
                    if let Some(change) = mapped(input, group, field, &target.key, t.clone(), s.clone(), out) {
                        writes.entry(target.key.clone()).or_insert_with(|| (from, Vec::new())).1.push(change);
                    }
                }
                // Edits made in the target go back only in two-way flows, to every linked
                // source record that differs.
                Some(Winner::Target) if !t.is_null() && flow.direction == Direction::TwoWay => {
                    for side in &live {
                        let before = side.values.get(field).cloned().unwrap_or(Value::Null);
                        if hash(&before) == ht {
                            continue;
                        }
                        if let Some(change) = mapped(input, group, field, &side.key, before, t.clone(), out) {
                            writes
                                .entry(side.key.clone())
                                .or_insert_with(|| (target.key.clone(), Vec::new()))
                                .1
                                .push(change);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let attach = group.target_client.as_ref().filter(|_| !group.attached);
    if attach.is_some() {
        for target in &targets {
            writes.entry(target.key.clone()).or_insert_with(|| (target.key.clone(), Vec::new()));
        }
    }
    for (record, (from, changes)) in writes {
        let client = attach.filter(|_| record.connector == flow.to).cloned();
        out.ops.push(op(flow, group, Action::Update, &record, from, changes, client));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Winner {
    Source,
    Target,
}

fn plan_create(
    flow: &Flow,
    input: &PlanInput,
    group: &Group,
    source: &BTreeMap<String, (&Side, Value)>,
    out: &mut Plan,
) {
    let Some((first, _)) = source.values().next() else { return };
    let from = first.key.clone();
    let target = RecordKey { connector: flow.to.clone(), kind: flow.kind, external_id: String::new() };
    let mut changes = Vec::new();
    for (field, (_, value)) in source {
        let change = if is_person(field) {
            person_change(input, group, field, None, &target.connector, Value::Null, value.clone(), out)
        } else {
            Some(FieldChange { field: field.clone(), before: Value::Null, after: value.clone() })
        };
        changes.extend(change);
    }
    let mut planned = op(flow, group, Action::Create, &target, from, changes, group.target_client.clone());
    planned.external_id = None;
    out.ops.push(planned);
}

/// The change writing `after` over `before` in `record`, unless `after` is a person with
/// no user there (reported, never guessed).
fn mapped(
    input: &PlanInput,
    group: &Group,
    field: &str,
    record: &RecordKey,
    before: Value,
    after: Value,
    out: &mut Plan,
) -> Option<FieldChange> {
    if is_person(field) {
        return person_change(input, group, field, Some(record), &record.connector, before, after, out);
    }
    Some(FieldChange { field: field.to_string(), before, after })
}

#[allow(clippy::too_many_arguments)]
fn person_change(
    input: &PlanInput,
    group: &Group,
    field: &str,
    record: Option<&RecordKey>,
    connector: &str,
    before: Value,
    after: Value,
    out: &mut Plan,
) -> Option<FieldChange> {
    let email = after.as_str().unwrap_or_default();
    let known = email.contains('@') && input.users.get(connector).is_none_or(|users| users.contains(email));
    if known {
        return Some(FieldChange { field: field.to_string(), before, after });
    }
    out.unmapped.push(Unmapped {
        record: record.cloned(),
        group: group.id.clone(),
        field: field.to_string(),
        value: email.to_string(),
        connector: connector.to_string(),
    });
    None
}

fn op(
    flow: &Flow,
    group: &Group,
    action: Action,
    record: &RecordKey,
    from: RecordKey,
    changes: Vec<FieldChange>,
    client: Option<String>,
) -> PlannedOp {
    let action_name =
        serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    // Creates are keyed by the group (one copy per group, ever); updates by what they
    // write (the client they attach to included) and by the version of the record the value
    // comes from, so the same update planned again (after a crash, or by a second instance)
    // is the same op, while the same change made again by a person later (a status set
    // back and forth) is a new op and is sent, not taken for one already done.
    let seen = group.sources.iter().chain(&group.targets).find(|s| s.key == from).and_then(|s| s.updated_at);
    let mut identity = match action {
        Action::Create => format!("{}|create|{}|{}", flow.name, group.id, record.connector),
        _ => format!(
            "{}|{action_name}|{record}|{}|seen {seen:?}",
            flow.name,
            hash(&serde_json::to_value(&changes).unwrap_or_default())
        ),
    };
    if let Some(client) = client.as_ref().filter(|_| action == Action::Update) {
        identity.push_str(&format!("|client {client}"));
    }
    PlannedOp {
        op_id: hash(&Value::String(identity)),
        group: group.id.clone(),
        action,
        connector: record.connector.clone(),
        kind: flow.kind,
        external_id: Some(record.external_id.clone()),
        from,
        changes,
        client,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
