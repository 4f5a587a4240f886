//! Measuring resolution against the world's ground truth.
//!
//! Pairwise precision and recall over client records: of the record pairs resolution put in
//! one entity, how many are truly one client (precision); of the pairs that truly are, how
//! many it found (recall). Decoys merged: entities holding records of a decoy and of the
//! client it imitates. Tasks: attached to an entity that is their true client — or
//! unattached when their client is in no CRM, or they concern nobody.

use std::collections::{BTreeMap, HashMap, HashSet};

use zveno::store::{LinkRow, RecordKey, TaskLinkRow};
use zveno_connector::Kind;
use zveno_sim::world::World;

use super::vendor_adapter::{external_id, CONNECTORS};

/// The figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Client records in the world.
    pub client_records: usize,
    /// Client records with exactly one link.
    pub linked_once: usize,
    /// Entities.
    pub entities: usize,
    /// Pairwise precision.
    pub precision: f64,
    /// Pairwise recall.
    pub recall: f64,
    /// `(decoy, original)` true-client pairs found in one entity.
    pub decoys_merged: Vec<(usize, usize)>,
    /// Tasks in the world.
    pub tasks: usize,
    /// Tasks attached to the right client (or rightly unattached).
    pub tasks_right: usize,
    /// Tasks whose client is in some CRM.
    pub tasks_attachable: usize,
    /// Of those, attached to the right client.
    pub tasks_attachable_right: usize,
}

impl Quality {
    /// The share of tasks attached right.
    pub fn task_accuracy(&self) -> f64 {
        self.tasks_right as f64 / self.tasks.max(1) as f64
    }

    /// One line per figure.
    pub fn report(&self) -> String {
        format!(
            "client records {}, entities {}, precision {:.4}, recall {:.4}, decoys merged {}, \
             tasks right {}/{} ({:.4}), attachable tasks right {}/{}",
            self.client_records,
            self.entities,
            self.precision,
            self.recall,
            self.decoys_merged.len(),
            self.tasks_right,
            self.tasks,
            self.task_accuracy(),
            self.tasks_attachable_right,
            self.tasks_attachable,
        )
    }
}

fn pairs(n: usize) -> u64 {
    (n as u64) * (n as u64).saturating_sub(1) / 2
}

fn key(connector: &str, kind: Kind, id: String) -> RecordKey {
    RecordKey { connector: connector.to_string(), kind, external_id: id }
}

/// Measures `links` (client links) and `tasks` against `world`'s truth.
pub fn measure(world: &World, links: &[LinkRow], tasks: &[TaskLinkRow]) -> Quality {
    let connector_of: HashMap<_, _> = CONNECTORS.iter().map(|(c, s)| (*s, *c)).collect();
    let mut truth: HashMap<RecordKey, usize> = HashMap::new();
    for ((system, id), client) in &world.truth.companies {
        if let Some(c) = connector_of.get(system) {
            truth.insert(key(c, Kind::Client, external_id(*system, Kind::Client, *id)), *client);
        }
    }
    let mut entity_of: HashMap<&RecordKey, &str> = HashMap::new();
    let mut link_counts: HashMap<&RecordKey, usize> = HashMap::new();
    for l in links.iter().filter(|l| l.key.kind == Kind::Client) {
        entity_of.insert(&l.key, &l.entity_id);
        *link_counts.entry(&l.key).or_default() += 1;
    }

    let mut cells: HashMap<(&str, usize), usize> = HashMap::new();
    let mut entity_sizes: HashMap<&str, usize> = HashMap::new();
    let mut true_sizes: HashMap<usize, usize> = HashMap::new();
    let mut members: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (record, client) in &truth {
        *true_sizes.entry(*client).or_default() += 1;
        if let Some(entity) = entity_of.get(record) {
            *cells.entry((entity, *client)).or_default() += 1;
            *entity_sizes.entry(entity).or_default() += 1;
            members.entry(entity).or_default().insert(*client);
        }
    }
    let tp: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = entity_sizes.values().map(|&n| pairs(n)).sum();
    let actual: u64 = true_sizes.values().map(|&n| pairs(n)).sum();

    let mut decoys_merged = Vec::new();
    for clients in members.values() {
        for &c in clients {
            if let Some(original) = world.clients[c].decoy_of {
                if clients.contains(&original) {
                    decoys_merged.push((c, original));
                }
            }
        }
    }

    // Who each entity is: the true client most of its records belong to. A task is right
    // when it is attached to an entity that is its client (a client split over two
    // entities is counted against recall, not twice), or unattached when its client is in
    // no CRM or it concerns nobody.
    let mut votes: HashMap<&str, BTreeMap<usize, usize>> = HashMap::new();
    for ((entity, client), n) in &cells {
        *votes.entry(entity).or_default().entry(*client).or_default() += n;
    }
    let who: HashMap<&str, usize> = votes
        .into_iter()
        .filter_map(|(e, v)| v.into_iter().max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c))).map(|(c, _)| (e, c)))
        .collect();
    let in_crm: HashSet<usize> = truth.values().copied().collect();
    let attached: HashMap<RecordKey, Option<&str>> =
        tasks.iter().map(|t| (key(&t.connector, Kind::Task, t.external_id.clone()), t.client_id.as_deref())).collect();
    let (mut tasks_total, mut right, mut attachable, mut attachable_right) = (0, 0, 0, 0);
    for ((system, id), client) in &world.truth.tasks {
        let Some(c) = connector_of.get(system) else { continue };
        tasks_total += 1;
        let expected = client.filter(|c| in_crm.contains(c));
        let got = attached.get(&key(c, Kind::Task, external_id(*system, Kind::Task, *id))).copied().flatten();
        let ok = match (got, expected) {
            (None, None) => true,
            (Some(entity), Some(c)) => who.get(entity) == Some(&c),
            _ => false,
        };
        right += usize::from(ok);
        if expected.is_some() {
            attachable += 1;
            attachable_right += usize::from(ok);
        }
    }

    Quality {
        client_records: truth.len(),
        linked_once: truth.keys().filter(|k| link_counts.get(k) == Some(&1)).count(),
        entities: entity_sizes.len(),
        precision: if predicted == 0 { 1.0 } else { tp as f64 / predicted as f64 },
        recall: if actual == 0 { 1.0 } else { tp as f64 / actual as f64 },
        decoys_merged,
        tasks: tasks_total,
        tasks_right: right,
        tasks_attachable: attachable,
        tasks_attachable_right: attachable_right,
    }
}
