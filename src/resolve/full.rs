//! A full pass: every record of the store re-resolved.
//!
//! Contacts are read first (what they say about their clients is evidence, `staff.rs`),
//! then clients are clustered (all of them in memory: clustering needs every record that
//! might share a key), then contacts (clustered, then attached through the client index), then tasks,
//! streamed page by page — the largest kind never has to fit in memory. Results replace
//! the stored ones in place, in transactions of [`WRITE_CHUNK`] rows, so a sync running
//! alongside never waits long for the store; the dirty queue is cleared last, so a pass
//! cut short by a crash is simply run again.

use std::collections::{HashMap, HashSet};

use zveno_connector::Kind;

use crate::store::{RecordKey, RecordVersion, ResolutionWrite, Store, StoreError, TaskLinkRow};

use super::batch::{cluster_client_sources, cluster_contact_sources, id_prefix, rows};
use super::ids::assign_checked;
use super::load::Loaded;
use super::model::{ClientFields, ContactFields, Fields, TaskFields};
use super::staff::Staff;
use super::tasks::{attach_contact, attach_task, task_keys, AttachRule, ClientIndex};
use super::{Mode, ResolveError, ResolveReport, Resolver};

/// Rows read per page.
const PAGE: u32 = 5_000;
/// Clusters (or tasks) written per transaction.
const WRITE_CHUNK: usize = 2_000;

pub(super) async fn resolve(r: &Resolver) -> Result<ResolveReport, ResolveError> {
    let mut report = ResolveReport::new(Mode::Full);
    // Contacts first: what they say about their clients is evidence for clustering them.
    let contacts_loaded = load_all::<ContactFields>(r.store()).await?;
    let staff = Staff::from_contacts(&contacts_loaded.live);
    let index = clients(r, &staff, &mut report).await?;
    drop(staff);
    contacts(r, contacts_loaded, &index, &mut report).await?;
    tasks(r, &index, &mut report).await?;
    Ok(report)
}

/// Every row of `T`'s kind, connector by connector.
pub(super) async fn load_all<T: Fields>(store: &Store) -> Result<Loaded<T>, StoreError> {
    let mut loaded = Loaded::default();
    for connector in store.connectors_with(T::KIND).await? {
        let mut after = String::new();
        loop {
            let page = store.resolution_page(&connector, T::KIND, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.version.key.external_id.clone();
            let full = page.len() == PAGE as usize;
            loaded.extend(Loaded::from_rows(page));
            if !full {
                break;
            }
        }
    }
    Ok(loaded)
}

/// The entity each record had, and the set of those ids.
async fn old_links(store: &Store, kind: Kind) -> Result<(HashMap<RecordKey, String>, HashSet<String>), StoreError> {
    let old: HashMap<RecordKey, String> = store.link_entities(kind).await?.into_iter().collect();
    let ids = old.values().cloned().collect();
    Ok((old, ids))
}

async fn clients(r: &Resolver, staff: &Staff, report: &mut ResolveReport) -> Result<ClientIndex, ResolveError> {
    let store = r.store();
    let loaded = load_all::<ClientFields>(store).await?;
    let decisions = store.overrides(Kind::Client).await?;
    let (keys, clustering) = cluster_client_sources(&loaded.live, staff, &decisions, &HashSet::new());
    let (old, old_ids) = old_links(store, Kind::Client).await?;
    let refs: Vec<&RecordKey> = loaded.live.iter().map(|s| &s.key).collect();
    let ids =
        assign_checked(store, id_prefix(Kind::Client), &clustering.sets, &refs, &|k| old.get(k).cloned(), &old_ids)
            .await?;

    let mut index = ClientIndex::default();
    let mut index_keys = Vec::with_capacity(loaded.live.len());
    for (set, id) in clustering.sets.iter().zip(&ids) {
        for &m in set {
            let s = &loaded.live[m];
            let k = keys[m].index_keys();
            index.insert(&s.key.connector, &s.key.external_id, &k, &keys[m].name, id);
            index_keys.push((s.key.clone(), k));
        }
    }
    let kept: HashSet<&String> = ids.iter().collect();
    let mut first = ResolutionWrite {
        delete_entities: old_ids.iter().filter(|id| !kept.contains(id)).cloned().collect(),
        delete_links: loaded.gone.clone(),
        keys: loaded.gone.iter().map(|k| (k.clone(), Vec::new())).collect(),
        ..ResolutionWrite::default()
    };
    for (sets, chunk_ids) in clustering.sets.chunks(WRITE_CHUNK).zip(ids.chunks(WRITE_CHUNK)) {
        let (entities, links) =
            rows(Kind::Client, &loaded.live, &clustering, (sets, chunk_ids), &|_| None, r.context());
        let mut w = std::mem::take(&mut first);
        w.entities = entities;
        w.links = links;
        store.write_resolution(&w).await?;
    }
    report.clients += loaded.live.len() as u64;
    report.entities += ids.len() as u64;
    report.unreadable += loaded.unreadable;
    report.changed += loaded.processed.len() as u64;
    finish(store, first, index_keys, loaded.processed).await?;
    Ok(index)
}

async fn contacts(
    r: &Resolver,
    loaded: Loaded<ContactFields>,
    index: &ClientIndex,
    report: &mut ResolveReport,
) -> Result<(), ResolveError> {
    let store = r.store();
    let decisions = store.overrides(Kind::Contact).await?;
    let (keys, clustering) = cluster_contact_sources(&loaded.live, &decisions, &HashSet::new());
    let (old, old_ids) = old_links(store, Kind::Contact).await?;
    let refs: Vec<&RecordKey> = loaded.live.iter().map(|s| &s.key).collect();
    let ids =
        assign_checked(store, id_prefix(Kind::Contact), &clustering.sets, &refs, &|k| old.get(k).cloned(), &old_ids)
            .await?;
    let client_of = |i: usize| {
        let s = &loaded.live[i];
        attach_contact(&s.key.connector, &s.fields.client_ids, index).client
    };
    let kept: HashSet<&String> = ids.iter().collect();
    let mut first = ResolutionWrite {
        delete_entities: old_ids.iter().filter(|id| !kept.contains(id)).cloned().collect(),
        delete_links: loaded.gone.clone(),
        keys: loaded.gone.iter().map(|k| (k.clone(), Vec::new())).collect(),
        ..ResolutionWrite::default()
    };
    for (sets, chunk_ids) in clustering.sets.chunks(WRITE_CHUNK).zip(ids.chunks(WRITE_CHUNK)) {
        let (entities, links) =
            rows(Kind::Contact, &loaded.live, &clustering, (sets, chunk_ids), &client_of, r.context());
        let mut w = std::mem::take(&mut first);
        w.entities = entities;
        w.links = links;
        store.write_resolution(&w).await?;
    }
    let index_keys = loaded.live.iter().zip(keys).map(|(s, k)| (s.key.clone(), k)).collect();
    report.contacts += loaded.live.len() as u64;
    report.entities += ids.len() as u64;
    report.unreadable += loaded.unreadable;
    report.changed += loaded.processed.len() as u64;
    finish(store, first, index_keys, loaded.processed).await?;
    Ok(())
}

async fn tasks(r: &Resolver, index: &ClientIndex, report: &mut ResolveReport) -> Result<(), ResolveError> {
    let store = r.store();
    for connector in store.connectors_with(Kind::Task).await? {
        let mut after = String::new();
        loop {
            let page = store.resolution_page(&connector, Kind::Task, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.version.key.external_id.clone();
            let full = page.len() == PAGE as usize;
            let loaded = Loaded::<TaskFields>::from_rows(page);
            let (tasks, keys) = attach_all(r, &loaded, index);
            report.tasks += tasks.len() as u64;
            report.unattached += tasks.iter().filter(|t| t.client_id.is_none()).count() as u64;
            report.unreadable += loaded.unreadable;
            report.changed += loaded.processed.len() as u64;
            let mut keys = keys;
            keys.extend(loaded.gone.iter().map(|k| (k.clone(), Vec::new())));
            store
                .write_resolution(&ResolutionWrite {
                    delete_tasks: loaded.gone,
                    tasks,
                    keys,
                    processed: loaded.processed,
                    ..ResolutionWrite::default()
                })
                .await?;
            if !full {
                break;
            }
        }
    }
    Ok(())
}

/// Attaches every live task of `loaded`; returns their rows and index keys.
pub(super) fn attach_all(
    r: &Resolver,
    loaded: &Loaded<TaskFields>,
    index: &ClientIndex,
) -> (Vec<TaskLinkRow>, Vec<(RecordKey, Vec<String>)>) {
    let mut rows = Vec::with_capacity(loaded.live.len());
    let mut keys = Vec::with_capacity(loaded.live.len());
    for s in &loaded.live {
        let a = attach_task(&s.key.connector, &s.fields, index, &r.systems);
        rows.push(TaskLinkRow {
            connector: s.key.connector.clone(),
            external_id: s.key.external_id.clone(),
            rule: a.rule.as_str().to_string(),
            client_id: a.client.filter(|_| a.rule != AttachRule::Unattached),
            detail: a.detail,
            title: s.fields.title.clone(),
            status: s.fields.status,
            priority: s.fields.priority,
            assignee: s.fields.assignee.as_deref().map(str::to_lowercase),
            due: s.fields.due.map(|d| d.timestamp_millis()),
            url: s.url.clone(),
            updated_at: s.updated_at,
        });
        keys.push((s.key.clone(), task_keys(&s.key.connector, &s.fields, &r.systems)));
    }
    (rows, keys)
}

/// The closing writes of a kind: leftover deletions, the index keys, then the dirty queue,
/// each in chunks.
async fn finish(
    store: &Store,
    leftover: ResolutionWrite,
    keys: Vec<(RecordKey, Vec<String>)>,
    processed: Vec<RecordVersion>,
) -> Result<(), StoreError> {
    if !leftover.delete_entities.is_empty() || !leftover.delete_links.is_empty() || !leftover.keys.is_empty() {
        store.write_resolution(&leftover).await?;
    }
    for chunk in keys.chunks(WRITE_CHUNK) {
        store.write_resolution(&ResolutionWrite { keys: chunk.to_vec(), ..ResolutionWrite::default() }).await?;
    }
    for chunk in processed.chunks(WRITE_CHUNK) {
        store.write_resolution(&ResolutionWrite { processed: chunk.to_vec(), ..ResolutionWrite::default() }).await?;
    }
    Ok(())
}
