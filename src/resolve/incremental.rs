//! An incremental round: the changed records, the clusters they touch, and what follows
//! those clusters, re-resolved and written in one transaction.
//!
//! 1. **Clients**: the closure of the changed client records — and of the client records
//!    changed contacts are (or were) filed under, whose staff they are (`staff.rs`) — is
//!    re-clustered (`scope.rs`); its entities are rewritten, keeping their ids.
//! 2. **Contacts**: changed contacts' closure is re-clustered; contacts that merely follow a
//!    re-resolved client record (found through their `r:` keys) are re-attached.
//! 3. **Tasks**: changed tasks, and tasks naming a re-resolved client record or one of its
//!    keys (a domain or a name a hint used), are re-attached. References to clients outside
//!    the scope are looked up in the store with their current entities.
//!
//! Everything a round reads is bounded by the change and its neighbourhood, never by the
//! size of the store.

use std::collections::{BTreeSet, HashMap, HashSet};

use zveno_connector::Kind;

use crate::store::{RecordKey, RecordVersion, ResolutionWrite, Store, StoreError};

use super::batch::{cluster_client_sources, cluster_contact_sources, id_prefix, rows};
use super::blocking::MAX_KEY_RECORDS;
use super::full::attach_all;
use super::ids::assign_checked;
use super::keys::{contact_keys, record_ref, ClientKeys};
use super::load::Loaded;
use super::model::{ClientFields, ContactFields, Fields, TaskFields};
use super::scope::closure;
use super::staff::{employers, Staff};
use super::tasks::{attach_contact, task_keys, ClientIndex};
use super::{Mode, ResolveError, ResolveReport, Resolver};

/// Followers of one round are bounded by what points at its clusters; this only guards
/// the SQL.
const FOLLOWERS_LIMIT: usize = 1_000_000;

/// What the client step leaves for contacts and tasks.
struct Clients {
    /// Scope records' entities, and outside records looked up since.
    index: ClientIndex,
    /// The client scope.
    scope: HashSet<RecordKey>,
    /// Keys of the scope: what followers are found by.
    follower_keys: Vec<String>,
}

/// Re-resolves around `versions` (dirty-queue entries, cleared on success) and `extra`
/// records (an operator's decision).
pub(super) async fn resolve(
    r: &Resolver,
    versions: &[RecordVersion],
    extra: &[RecordKey],
) -> Result<ResolveReport, ResolveError> {
    let mut report = ResolveReport::new(Mode::Incremental);
    let seeds: BTreeSet<RecordKey> = versions.iter().map(|v| v.key.clone()).chain(extra.iter().cloned()).collect();
    let of = |kind: Kind| -> Vec<RecordKey> { seeds.iter().filter(|k| k.kind == kind).cloned().collect() };
    let mut w = ResolutionWrite { processed: versions.to_vec(), ..ResolutionWrite::default() };
    // A changed contact changes what its clients' staff say about them.
    let mut client_seeds = of(Kind::Client);
    client_seeds.extend(employers(r.store(), &of(Kind::Contact)).await?);
    client_seeds.sort();
    client_seeds.dedup();
    let mut clients = clients(r, &client_seeds, &mut w, &mut report).await?;
    contacts(r, &of(Kind::Contact), &mut clients, &mut w, &mut report).await?;
    tasks(r, &of(Kind::Task), &mut clients, &mut w, &mut report).await?;
    r.store().write_resolution(&w).await?;
    report.changed = versions.len() as u64;
    Ok(report)
}

/// The seeds' rows, and their keys as computed now (empty for records that are gone).
async fn seeds_with_keys<T: Fields>(
    store: &Store,
    seeds: &[RecordKey],
    keys_of: impl Fn(&super::model::Source<T>) -> Vec<String>,
) -> Result<HashMap<RecordKey, Vec<String>>, StoreError> {
    let loaded = Loaded::<T>::from_rows(store.resolution_rows(seeds).await?);
    let mut fresh: HashMap<RecordKey, Vec<String>> = seeds.iter().map(|k| (k.clone(), Vec::new())).collect();
    for s in &loaded.live {
        fresh.insert(s.key.clone(), keys_of(s));
    }
    Ok(fresh)
}

async fn clients(
    r: &Resolver,
    seeds: &[RecordKey],
    w: &mut ResolutionWrite,
    report: &mut ResolveReport,
) -> Result<Clients, ResolveError> {
    let store = r.store();
    let seed_staff = Staff::load(store, seeds).await?;
    let fresh = seeds_with_keys::<ClientFields>(store, seeds, |s| seed_staff.keys(s).index_keys()).await?;
    let decisions = store.overrides(Kind::Client).await?;
    let scope = closure(store, Kind::Client, seeds, &fresh, &decisions).await?;
    let loaded = Loaded::<ClientFields>::from_rows(store.resolution_rows(&scope.records).await?);
    let staff = Staff::load(store, &scope.records).await?;
    let (keys, clustering) = cluster_client_sources(&loaded.live, &staff, &decisions, &scope.overfull);
    let old_ids: HashSet<String> = scope.old_entity.values().cloned().collect();
    let refs: Vec<&RecordKey> = loaded.live.iter().map(|s| &s.key).collect();
    let ids = assign_checked(
        store,
        id_prefix(Kind::Client),
        &clustering.sets,
        &refs,
        &|k| scope.old_entity.get(k).cloned(),
        &old_ids,
    )
    .await?;
    let (entities, links) =
        rows(Kind::Client, &loaded.live, &clustering, (&clustering.sets, &ids), &|_| None, r.context());

    let mut index = ClientIndex::default();
    for (set, id) in clustering.sets.iter().zip(&ids) {
        for &m in set {
            let s = &loaded.live[m];
            index.insert(&s.key.connector, &s.key.external_id, &keys[m].index_keys(), &keys[m].name, id);
        }
    }
    let kept: HashSet<&String> = ids.iter().collect();
    w.delete_entities.extend(old_ids.iter().filter(|id| !kept.contains(id)).cloned());
    w.delete_links.extend(loaded.gone.iter().cloned());
    w.entities.extend(entities);
    w.links.extend(links);
    w.keys.extend(fresh);
    report.clients += loaded.live.len() as u64;
    report.entities += ids.len() as u64;
    report.unreadable += loaded.unreadable;
    report.overfull_keys += scope.overfull.len() as u64;

    let mut follower_keys: Vec<String> = scope.keys.into_iter().chain(scope.hint_keys).collect();
    follower_keys.extend(keys.iter().flat_map(ClientKeys::index_keys).filter(|k| k.starts_with("s:")));
    follower_keys.sort();
    follower_keys.dedup();
    follower_keys.extend(scope.records.iter().map(|k| record_ref(&k.connector, &k.external_id)));
    Ok(Clients { index, scope: scope.records.into_iter().collect(), follower_keys })
}

async fn contacts(
    r: &Resolver,
    seeds: &[RecordKey],
    clients: &mut Clients,
    w: &mut ResolutionWrite,
    report: &mut ResolveReport,
) -> Result<(), ResolveError> {
    let store = r.store();
    let refs: Vec<String> = clients.follower_keys.iter().filter(|k| k.starts_with("r:")).cloned().collect();
    let followers = store.key_members(Kind::Contact, &refs, FOLLOWERS_LIMIT).await?.members;
    let fresh = seeds_with_keys::<ContactFields>(store, seeds, |s| contact_keys(&s.key.connector, &s.fields)).await?;
    let decisions = store.overrides(Kind::Contact).await?;
    let scope = closure(store, Kind::Contact, seeds, &fresh, &decisions).await?;
    let in_scope: HashSet<&RecordKey> = scope.records.iter().collect();
    let mut wanted: Vec<RecordKey> = scope.records.clone();
    wanted.extend(followers.into_iter().map(|(_, k)| k).filter(|k| !in_scope.contains(k)));
    wanted.sort();
    wanted.dedup();
    let all = Loaded::<ContactFields>::from_rows(store.resolution_rows(&wanted).await?);
    let client_records = all
        .live
        .iter()
        .flat_map(|s| s.fields.client_ids.iter().map(|id| client_record(&s.key.connector, id)))
        .collect::<Vec<_>>();
    look_up_outside(store, clients, &client_records, &[]).await?;

    let (clustered, followers): (Vec<_>, Vec<_>) = all.live.into_iter().partition(|s| in_scope.contains(&s.key));
    let (_, clustering) = cluster_contact_sources(&clustered, &decisions, &scope.overfull);
    let old_ids: HashSet<String> = scope.old_entity.values().cloned().collect();
    let keys: Vec<&RecordKey> = clustered.iter().map(|s| &s.key).collect();
    let ids = assign_checked(
        store,
        id_prefix(Kind::Contact),
        &clustering.sets,
        &keys,
        &|k| scope.old_entity.get(k).cloned(),
        &old_ids,
    )
    .await?;
    let client_of = |i: usize| {
        let s = &clustered[i];
        attach_contact(&s.key.connector, &s.fields.client_ids, &clients.index).client
    };
    let (entities, links) =
        rows(Kind::Contact, &clustered, &clustering, (&clustering.sets, &ids), &client_of, r.context());
    let kept: HashSet<&String> = ids.iter().collect();
    w.delete_entities.extend(old_ids.iter().filter(|id| !kept.contains(id)).cloned());
    w.delete_links.extend(all.gone.iter().filter(|k| in_scope.contains(k)).cloned());
    w.entities.extend(entities);
    w.links.extend(links);
    w.keys.extend(fresh);
    for s in &followers {
        let client = attach_contact(&s.key.connector, &s.fields.client_ids, &clients.index).client;
        w.contact_clients.push((s.key.clone(), client));
    }
    report.contacts += (clustered.len() + followers.len()) as u64;
    report.entities += ids.len() as u64;
    report.unreadable += all.unreadable;
    Ok(())
}

async fn tasks(
    r: &Resolver,
    seeds: &[RecordKey],
    clients: &mut Clients,
    w: &mut ResolutionWrite,
    report: &mut ResolveReport,
) -> Result<(), ResolveError> {
    let store = r.store();
    let followers = store.key_members(Kind::Task, &clients.follower_keys, FOLLOWERS_LIMIT).await?.members;
    let mut wanted: Vec<RecordKey> = seeds.to_vec();
    wanted.extend(followers.into_iter().map(|(_, k)| k));
    wanted.sort();
    wanted.dedup();
    let loaded = Loaded::<TaskFields>::from_rows(store.resolution_rows(&wanted).await?);

    // Make the index answer every reference these tasks make.
    let (mut records, mut keys) = (Vec::new(), Vec::new());
    for s in &loaded.live {
        for key in task_keys(&s.key.connector, &s.fields, &r.systems) {
            match key.strip_prefix("r:").and_then(|rest| rest.split_once(':')) {
                Some((connector, id)) => records.push(client_record(connector, id)),
                None => keys.push(key),
            }
        }
    }
    keys.sort();
    keys.dedup();
    look_up_outside(store, clients, &records, &keys).await?;

    let (tasks, task_index_keys) = attach_all(r, &loaded, &clients.index);
    let seed_set: HashSet<&RecordKey> = seeds.iter().collect();
    report.tasks += tasks.len() as u64;
    report.unattached += tasks.iter().filter(|t| t.client_id.is_none()).count() as u64;
    report.unreadable += loaded.unreadable;
    w.tasks.extend(tasks);
    w.delete_tasks.extend(loaded.gone.iter().cloned());
    w.keys.extend(task_index_keys.into_iter().filter(|(k, _)| seed_set.contains(k)));
    w.keys.extend(loaded.gone.into_iter().filter(|k| seed_set.contains(k)).map(|k| (k, Vec::new())));
    Ok(())
}

/// Adds to the index the client records outside the scope that `records` names directly,
/// or that hold one of `keys` (with their names, for name hints), at their stored entity.
async fn look_up_outside(
    store: &Store,
    clients: &mut Clients,
    records: &[RecordKey],
    keys: &[String],
) -> Result<(), StoreError> {
    let mut outside: BTreeSet<RecordKey> = records.iter().filter(|k| !clients.scope.contains(*k)).cloned().collect();
    if !keys.is_empty() {
        let holders = store.key_members(Kind::Client, keys, MAX_KEY_RECORDS).await?;
        outside.extend(holders.members.into_iter().map(|(_, k)| k).filter(|k| !clients.scope.contains(k)));
    }
    let outside: Vec<RecordKey> = outside.into_iter().collect();
    if outside.is_empty() {
        return Ok(());
    }
    let entities: HashMap<RecordKey, String> =
        store.links_of(&outside).await?.into_iter().map(|l| (l.key, l.entity_id)).collect();
    let loaded = Loaded::<ClientFields>::from_rows(store.resolution_rows(&outside).await?);
    let staff = Staff::load(store, &outside).await?;
    for s in &loaded.live {
        if let Some(entity) = entities.get(&s.key) {
            let k = staff.keys(s);
            clients.index.insert(&s.key.connector, &s.key.external_id, &k.index_keys(), &k.name, entity);
        }
    }
    Ok(())
}

fn client_record(connector: &str, external_id: &str) -> RecordKey {
    RecordKey { connector: connector.to_string(), kind: Kind::Client, external_id: external_id.to_string() }
}
