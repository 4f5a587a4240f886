//! A full pass: every record of the store re-resolved, block by block.
//!
//! Contacts are scanned first (what they say about their clients is evidence, `staff.rs`),
//! then clients; each scan writes the records' index keys and splits the kind into closed
//! blocks (`plan.rs`). Clients are then resolved a block at a time — read back, clustered,
//! merged, written in one transaction — then contacts (attached through the client index),
//! then tasks, streamed page by page. So the pass holds one block's records, the client
//! index tasks are attached through, and a few dozen bytes per record, never the store.
//! The dirty queue is cleared last, so a pass cut short by a crash is simply run again.

use std::collections::HashSet;

use zveno_connector::Kind;

use crate::store::{RecordKey, ResolutionRow, ResolutionWrite, Store, StoreError, TaskLinkRow};

use super::batch::{cluster_client_sources, cluster_contact_sources, id_prefix, rows};
use super::cluster::Clustering;
use super::golden::Offers;
use super::ids::assign_checked;
use super::keys::contact_keys;
use super::load::{read, Loaded, Read};
use super::model::{ClientFields, ContactFields, Fields, Source, TaskFields};
use super::plan::{Plan, Scan};
use super::staff::Staff;
use super::tasks::{attach_contact, attach_task, task_keys, AttachRule, ClientIndex};
use super::{Mode, ResolveError, ResolveReport, Resolver};

/// Rows read per page.
const PAGE: u32 = 5_000;
/// Dirty versions cleared per transaction.
const WRITE_CHUNK: usize = 2_000;

pub(super) async fn resolve(r: &Resolver) -> Result<ResolveReport, ResolveError> {
    let store = r.store();
    let mut report = ResolveReport::new(Mode::Full);
    // Contacts first: what they say about their clients is evidence for clustering them.
    let mut staff = Staff::default();
    let contacts = scan::<ContactFields>(store, &mut report, |s| {
        staff.add(s);
        contact_keys(&s.key.connector, &s.fields)
    })
    .await?;
    let staff = staff.finish();
    let clients = scan::<ClientFields>(store, &mut report, |s| staff.keys(s).index_keys()).await?;
    let index = resolve_clients(r, &clients, &staff, &mut report).await?;
    drop(staff);
    resolve_contacts(r, &contacts, &index, &mut report).await?;
    tasks(r, &index, &mut report).await?;
    finish(store, &clients).await?;
    finish(store, &contacts).await?;
    Ok(report)
}

/// A kind's rows page by page, connector by connector, each connector's in key order.
struct Pages<'a> {
    store: &'a Store,
    kind: Kind,
    connectors: std::vec::IntoIter<String>,
    /// The connector being read, and the last id read of it.
    current: Option<(String, String)>,
}

impl<'a> Pages<'a> {
    async fn new(store: &'a Store, kind: Kind) -> Result<Self, StoreError> {
        let connectors = store.connectors_with(kind).await?.into_iter();
        Ok(Self { store, kind, connectors, current: None })
    }

    /// The next non-empty page, `None` after the last.
    async fn next(&mut self) -> Result<Option<Vec<ResolutionRow>>, StoreError> {
        loop {
            let Some((connector, after)) =
                self.current.take().or_else(|| Some((self.connectors.next()?, String::new())))
            else {
                return Ok(None);
            };
            let page = self.store.resolution_page(&connector, self.kind, &after, PAGE).await?;
            let Some(last) = page.last() else { continue };
            if page.len() == PAGE as usize {
                self.current = Some((connector, last.version.key.external_id.clone()));
            }
            return Ok(Some(page));
        }
    }
}

/// Every row of `T`'s kind, connector by connector.
pub(super) async fn load_all<T: Fields>(store: &Store) -> Result<Loaded<T>, StoreError> {
    let mut loaded = Loaded::default();
    let mut pages = Pages::new(store, T::KIND).await?;
    while let Some(page) = pages.next().await? {
        loaded.extend(Loaded::from_rows(page));
    }
    Ok(loaded)
}

/// Reads every row of `T`'s kind page by page into a [`Plan`]; `keys_of` gives a live
/// record's index keys. Each page's keys are written as it goes, and the links of records
/// that are gone deleted.
async fn scan<T: Fields>(
    store: &Store,
    report: &mut ResolveReport,
    mut keys_of: impl FnMut(&Source<T>) -> Vec<String>,
) -> Result<Plan, StoreError> {
    let mut scan = Scan::new(T::KIND, &store.overrides(T::KIND).await?);
    let mut pages = Pages::new(store, T::KIND).await?;
    while let Some(page) = pages.next().await? {
        let mut w = ResolutionWrite::default();
        for row in page {
            let keys = match read::<T>(&row) {
                Read::Live(fields) => {
                    let s = Source { key: row.version.key.clone(), updated_at: None, url: None, fields };
                    Some(keys_of(&s))
                }
                Read::Gone => None,
                Read::Unreadable => {
                    report.unreadable += 1;
                    None
                }
            };
            scan.push(&row.version, row.dirty, row.entity.as_deref(), keys.as_deref());
            if keys.is_none() {
                w.delete_links.push(row.version.key.clone());
            }
            w.keys.push((row.version.key, keys.unwrap_or_default()));
        }
        store.write_resolution(&w).await?;
    }
    let plan = scan.plan();
    report.changed += plan.processed_count() as u64;
    Ok(plan)
}

/// One block's records, read back, with the ids of their former entities.
async fn block<T: Fields>(store: &Store, plan: &Plan, block: &[u32]) -> Result<Loaded<T>, StoreError> {
    Ok(Loaded::from_rows(store.resolution_rows(&plan.keys(block)).await?))
}

/// Ids for `sets` of `loaded`'s records: their former entities' where they can, checked
/// against the store. Returns the ids and the former entities no cluster kept.
async fn entity_ids<T: Sync>(
    store: &Store,
    kind: Kind,
    loaded: &Loaded<T>,
    sets: &[Vec<usize>],
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let old_ids: HashSet<String> = loaded.entities.values().cloned().collect();
    let refs: Vec<&RecordKey> = loaded.live.iter().map(|s| &s.key).collect();
    let ids =
        assign_checked(store, id_prefix(kind), sets, &refs, &|k| loaded.entities.get(k).cloned(), &old_ids).await?;
    let kept: HashSet<&String> = ids.iter().collect();
    let dropped = old_ids.iter().filter(|id| !kept.contains(id)).cloned().collect();
    Ok((ids, dropped))
}

/// Writes a block's clusters in one transaction: their entities (ids `ids`) and links,
/// and the deletion of the former entities no cluster kept (`dropped`). `client_of` names
/// the client entity a record follows (contacts; `None` for clients).
async fn write_block<T: Fields + Offers>(
    r: &Resolver,
    loaded: &Loaded<T>,
    clustering: &Clustering,
    ids: &[String],
    dropped: Vec<String>,
    client_of: &(dyn Fn(usize) -> Option<String> + Sync),
) -> Result<(), StoreError> {
    let (entities, links) = rows(T::KIND, &loaded.live, clustering, (&clustering.sets, ids), client_of, r.context());
    let write = ResolutionWrite { delete_entities: dropped, entities, links, ..ResolutionWrite::default() };
    r.store().write_resolution(&write).await
}

async fn resolve_clients(
    r: &Resolver,
    plan: &Plan,
    staff: &Staff,
    report: &mut ResolveReport,
) -> Result<ClientIndex, ResolveError> {
    let store = r.store();
    let decisions = store.overrides(Kind::Client).await?;
    let mut index = ClientIndex::default();
    for members in &plan.blocks {
        let loaded = block::<ClientFields>(store, plan, members).await?;
        let (keys, clustering) = cluster_client_sources(&loaded.live, staff, &decisions, &plan.overfull);
        let (ids, dropped) = entity_ids(store, Kind::Client, &loaded, &clustering.sets).await?;
        for (set, id) in clustering.sets.iter().zip(&ids) {
            for &m in set {
                let s = &loaded.live[m];
                index.insert(&s.key.connector, &s.key.external_id, &keys[m].index_keys(), &keys[m].name, id);
            }
        }
        write_block(r, &loaded, &clustering, &ids, dropped, &|_| None).await?;
        report.clients += loaded.live.len() as u64;
        report.entities += ids.len() as u64;
    }
    store.delete_orphan_entities(Kind::Client).await?;
    Ok(index)
}

async fn resolve_contacts(
    r: &Resolver,
    plan: &Plan,
    index: &ClientIndex,
    report: &mut ResolveReport,
) -> Result<(), ResolveError> {
    let store = r.store();
    let decisions = store.overrides(Kind::Contact).await?;
    for members in &plan.blocks {
        let loaded = block::<ContactFields>(store, plan, members).await?;
        let (_, clustering) = cluster_contact_sources(&loaded.live, &decisions, &plan.overfull);
        let (ids, dropped) = entity_ids(store, Kind::Contact, &loaded, &clustering.sets).await?;
        let client_of = |i: usize| {
            let s = &loaded.live[i];
            attach_contact(&s.key.connector, &s.fields.client_ids, index).client
        };
        write_block(r, &loaded, &clustering, &ids, dropped, &client_of).await?;
        report.contacts += loaded.live.len() as u64;
        report.entities += ids.len() as u64;
    }
    store.delete_orphan_entities(Kind::Contact).await?;
    Ok(())
}

async fn tasks(r: &Resolver, index: &ClientIndex, report: &mut ResolveReport) -> Result<(), ResolveError> {
    let store = r.store();
    let mut pages = Pages::new(store, Kind::Task).await?;
    while let Some(page) = pages.next().await? {
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

/// Clears the dirty versions a scan read, once every result of the pass is stored.
async fn finish(store: &Store, plan: &Plan) -> Result<(), StoreError> {
    let mut processed = plan.processed().peekable();
    while processed.peek().is_some() {
        let chunk: Vec<_> = processed.by_ref().take(WRITE_CHUNK).collect();
        store.write_resolution(&ResolutionWrite { processed: chunk, ..ResolutionWrite::default() }).await?;
    }
    Ok(())
}
