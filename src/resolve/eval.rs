//! Scoring resolution against a labelled world: how a store's clients and task attachments
//! compare with the truth an independent generator wrote down.
//!
//! The truth names records the way the labelled worlds of `../shared/eval` do —
//! `"vendor:id"` (`crm:5200000003`, `tracker:10002`) — so it can come from
//! any generator: [`Truth::from_json`] reads a `truth.json`, and tests build one from
//! zveno's own world. Connector instances map to vendors through [`Systems`].
//!
//! The figures are the ones the external checks compute:
//!
//! - **pairwise precision / recall** over client records: a pair is predicted together when
//!   both records are in one client, truly together when they share a true company;
//! - **wrong merges**: predicted pairs that are not true pairs, and the clients holding
//!   records of more than one company (a single-vendor world has few true pairs, so a
//!   handful of wrong merges moves precision a lot: the counts say what the ratio hides);
//! - **decoys merged**: labelled look-alike pairs whose records share a client;
//! - **task attachment**: right when the task's client is the one holding the most of its
//!   true company's records (a company split evenly has none), or when it is unattached
//!   and concerns nobody;
//! - **completeness**: every labelled record in exactly one client, every task listed once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use zveno_connector::Kind;

use super::systems::Systems;
use crate::store::{LinkRow, Store, StoreError, TaskFilter, TaskLinkRow};

/// How many examples of each kind of mistake a score keeps, for a person to look at.
const EXAMPLES: usize = 20;

/// A truth file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("truth {place}: {message}")]
pub struct TruthError {
    place: String,
    message: String,
}

/// What a labelled world says is true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Truth {
    /// `"vendor:id"` of every client record → its true company.
    pub records: BTreeMap<String, String>,
    /// `"vendor:id"` of every task → its true company, or `None` when it concerns nobody.
    pub tasks: BTreeMap<String, Option<String>>,
    /// Pairs of different true companies built to look alike.
    #[serde(default)]
    pub decoy_pairs: Vec<(String, String)>,
}

impl Truth {
    /// Reads a `truth.json` (other top-level keys are ignored); `place` names it in errors.
    pub fn from_json(text: &str, place: &str) -> Result<Self, TruthError> {
        serde_json::from_str(text).map_err(|e| TruthError { place: place.to_string(), message: e.to_string() })
    }
}

/// The figures of one scoring.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Labelled client records.
    pub records: usize,
    /// Of those, linked to exactly one client.
    pub records_linked_once: usize,
    /// Clients holding labelled records.
    pub clients: usize,
    /// Record pairs sharing a true company.
    pub true_pairs: u64,
    /// Record pairs sharing a client.
    pub predicted_pairs: u64,
    /// Predicted pairs that are true.
    pub correct_pairs: u64,
    /// `correct / predicted` (1 when nothing was predicted).
    pub precision: f64,
    /// `correct / true` (1 when nothing is true).
    pub recall: f64,
    /// Clients holding records of more than one true company.
    pub mixed_clients: usize,
    /// Labelled decoy pairs.
    pub decoy_pairs: usize,
    /// Decoy pairs found in one client.
    pub decoys_merged: Vec<(String, String)>,
    /// Labelled tasks.
    pub tasks: usize,
    /// Of those, listed exactly once.
    pub tasks_listed_once: usize,
    /// Tasks attached right (or rightly unattached).
    pub tasks_right: usize,
    /// Examples of clients holding several companies: their records, `vendor:id (company)`.
    pub mixed_examples: Vec<Vec<String>>,
    /// Examples of companies split over several clients: their records by client.
    pub split_examples: Vec<Vec<Vec<String>>>,
}

impl Scores {
    /// Predicted pairs that are not true pairs.
    pub fn wrong_pairs(&self) -> u64 {
        self.predicted_pairs - self.correct_pairs
    }

    /// The share of tasks attached right.
    pub fn task_accuracy(&self) -> f64 {
        if self.tasks == 0 {
            1.0
        } else {
            self.tasks_right as f64 / self.tasks as f64
        }
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "records {} (linked once {}), clients {}, precision {:.4}, recall {:.4} ({} of {} true pairs), \
             wrong pairs {}, mixed clients {}, decoys merged {}/{}, tasks right {}/{} ({:.4}), listed once {}",
            self.records,
            self.records_linked_once,
            self.clients,
            self.precision,
            self.recall,
            self.correct_pairs,
            self.true_pairs,
            self.wrong_pairs(),
            self.mixed_clients,
            self.decoys_merged.len(),
            self.decoy_pairs,
            self.tasks_right,
            self.tasks,
            self.task_accuracy(),
            self.tasks_listed_once,
        )
    }
}

fn pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// Scores client `links` and `tasks` (as the store lists them) against `truth`.
pub fn score(truth: &Truth, links: &[LinkRow], tasks: &[TaskLinkRow], systems: &Systems) -> Scores {
    let label = |connector: &str, id: &str| format!("{}:{id}", systems.vendor_of(connector));
    // Each labelled record's client (the last of several links: those are counted apart).
    let mut client_of: HashMap<&str, &str> = HashMap::new();
    let mut link_counts: HashMap<String, usize> = HashMap::new();
    for l in links.iter().filter(|l| l.key.kind == Kind::Client) {
        let name = label(&l.key.connector, &l.key.external_id);
        if let Some((record, _)) = truth.records.get_key_value(&name) {
            client_of.insert(record.as_str(), l.entity_id.as_str());
        }
        *link_counts.entry(name).or_default() += 1;
    }

    // Records by (client, company), by client and by company.
    let mut cells: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    let mut per_company: BTreeMap<&str, usize> = BTreeMap::new();
    for (record, company) in &truth.records {
        *per_company.entry(company.as_str()).or_default() += 1;
        if let Some(client) = client_of.get(record.as_str()) {
            cells.entry((client, company.as_str())).or_default().push(record.as_str());
        }
    }
    let mut companies_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut clients_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut client_sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for ((client, company), records) in &cells {
        companies_of.entry(client).or_default().push(company);
        clients_of.entry(company).or_default().push(client);
        *client_sizes.entry(client).or_default() += records.len();
    }
    let correct: u64 = cells.values().map(|r| pairs(r.len())).sum();
    let predicted: u64 = client_sizes.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = per_company.values().map(|&n| pairs(n)).sum();

    let mut s = Scores {
        records: truth.records.len(),
        records_linked_once: truth.records.keys().filter(|r| link_counts.get(*r) == Some(&1)).count(),
        clients: client_sizes.len(),
        true_pairs,
        predicted_pairs: predicted,
        correct_pairs: correct,
        precision: if predicted == 0 { 1.0 } else { correct as f64 / predicted as f64 },
        recall: if true_pairs == 0 { 1.0 } else { correct as f64 / true_pairs as f64 },
        decoy_pairs: truth.decoy_pairs.len(),
        ..Scores::default()
    };
    let records_in = |client: &str, company: &str| cells.get(&(client, company)).cloned().unwrap_or_default();
    for (client, companies) in companies_of.iter().filter(|(_, c)| c.len() > 1) {
        s.mixed_clients += 1;
        if s.mixed_examples.len() < EXAMPLES {
            let example = companies
                .iter()
                .flat_map(|company| records_in(client, company).into_iter().map(move |r| format!("{r} ({company})")))
                .collect();
            s.mixed_examples.push(example);
        }
    }
    for (company, clients) in clients_of.iter().filter(|(_, c)| c.len() > 1) {
        if s.split_examples.len() < EXAMPLES {
            let parts = clients
                .iter()
                .map(|client| records_in(client, company).into_iter().map(str::to_string).collect())
                .collect();
            s.split_examples.push(parts);
        }
    }
    for (a, b) in &truth.decoy_pairs {
        let together = companies_of.values().any(|c| c.contains(&a.as_str()) && c.contains(&b.as_str()));
        if together {
            s.decoys_merged.push((a.clone(), b.clone()));
        }
    }

    // Who stands for each company: the client holding most of its records. A company split
    // evenly has no such client, and its tasks count as wrong wherever they are (the
    // external checks break the tie some way of their own; this never flatters).
    let mut holder: HashMap<&str, (usize, Option<&str>)> = HashMap::new();
    for ((client, company), records) in &cells {
        let best = holder.entry(company).or_insert((0, None));
        if records.len() > best.0 {
            *best = (records.len(), Some(*client));
        } else if records.len() == best.0 {
            best.1 = None;
        }
    }
    let mut listed: HashMap<String, Vec<Option<&str>>> = HashMap::new();
    for t in tasks {
        listed.entry(label(&t.connector, &t.external_id)).or_default().push(t.client_id.as_deref());
    }
    s.tasks = truth.tasks.len();
    for (task, company) in &truth.tasks {
        let Some(seen) = listed.get(task) else { continue };
        if seen.len() != 1 {
            continue;
        }
        s.tasks_listed_once += 1;
        let right = match (seen[0], company.as_deref().and_then(|c| holder.get(c))) {
            (None, None) => true,
            (Some(client), Some((_, best))) => *best == Some(client),
            _ => false,
        };
        s.tasks_right += usize::from(right);
    }
    s
}

/// Scores what `store` holds now.
pub async fn score_store(store: &Store, truth: &Truth, systems: &Systems) -> Result<Scores, StoreError> {
    let links = store.all_links(Kind::Client).await?;
    let tasks = store.tasks(&TaskFilter::default()).await?;
    Ok(score(truth, &links, &tasks, systems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecordKey;
    use zveno_connector::TaskStatus;

    fn link(connector: &str, id: &str, entity: &str) -> LinkRow {
        LinkRow {
            key: RecordKey { connector: connector.into(), kind: Kind::Client, external_id: id.into() },
            entity_id: entity.into(),
            rule: "single".into(),
            score: 1.0,
            evidence: String::new(),
            via: None,
            url: None,
            client_id: None,
        }
    }

    fn task(id: &str, client: Option<&str>) -> TaskLinkRow {
        TaskLinkRow {
            connector: "trk".into(),
            external_id: id.into(),
            client_id: client.map(str::to_string),
            rule: "association".into(),
            detail: String::new(),
            title: String::new(),
            status: TaskStatus::Todo,
            priority: None,
            assignee: None,
            due: None,
            url: None,
            updated_at: None,
        }
    }

    const TRUTH: &str = r#"{
        "seed": 1,
        "records": {"crm:1": "A", "crm:2": "A", "crm:3": "A", "crm:4": "B", "crm:5": "C"},
        "tasks": {"tracker:7": "A", "tracker:8": "B", "tracker:9": null, "tracker:10": "C"},
        "decoy_pairs": [["A", "B"], ["A", "C"]]
    }"#;

    fn truth() -> Truth {
        Truth::from_json(TRUTH, "inline").unwrap_or_else(|e| panic!("{e}"))
    }

    fn systems() -> Systems {
        Systems::new([("hs", "crm"), ("trk", "tracker")])
    }

    #[test]
    fn pairs_decoys_and_tasks_are_counted_as_the_external_checks_do() {
        // A's records over two clients, one of them holding B too; C alone.
        let links = [
            link("hs", "1", "x"),
            link("hs", "2", "x"),
            link("hs", "3", "y"),
            link("hs", "4", "y"),
            link("hs", "5", "z"),
        ];
        let tasks = [task("7", Some("x")), task("8", Some("x")), task("9", None), task("10", None)];
        let s = score(&truth(), &links, &tasks, &systems());
        assert_eq!((s.true_pairs, s.predicted_pairs, s.correct_pairs), (3, 2, 1));
        assert_eq!((s.precision, s.recall), (0.5, 1.0 / 3.0));
        assert_eq!((s.wrong_pairs(), s.mixed_clients, s.clients), (1, 1, 3));
        assert_eq!(s.decoys_merged, [("A".to_string(), "B".to_string())]);
        assert_eq!(s.records_linked_once, 5);
        assert_eq!(s.split_examples, [vec![vec!["crm:1".to_string(), "crm:2".to_string()], vec!["crm:3".to_string()]]]);
        // tracker:7 on A's holder and tracker:9 rightly unattached are right; tracker:8 on
        // A's client and tracker:10 unattached although C has a client are wrong.
        assert_eq!((s.tasks, s.tasks_listed_once, s.tasks_right), (4, 4, 2));
        assert!(s.to_string().contains("precision 0.5000"), "{s}");
    }

    #[test]
    fn unlinked_records_and_tasks_listed_twice_or_never_count_against_completeness() {
        let links = [link("hs", "1", "x"), link("hs", "1", "w")];
        let s = score(&truth(), &links, &[task("7", Some("x")), task("7", Some("x"))], &systems());
        assert_eq!(s.records_linked_once, 0, "crm:1 has two links, the others none");
        assert_eq!((s.tasks_listed_once, s.tasks_right), (0, 0));
    }

    #[test]
    fn a_task_of_a_company_split_evenly_is_right_nowhere() {
        let links = [link("hs", "1", "x"), link("hs", "2", "y"), link("hs", "3", "z"), link("hs", "4", "y")];
        let s = score(&truth(), &links, &[task("7", Some("x")), task("8", Some("y"))], &systems());
        assert_eq!(s.tasks_right, 1, "A is split 1/1/1; B is on y");
    }

    #[test]
    fn a_malformed_truth_file_is_named_in_the_error() {
        let e = Truth::from_json("{\"records\": 5}", "world-1/truth.json").err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.starts_with("truth world-1/truth.json: invalid type")), "{e:?}");
    }
}
