//! Why two records are, or are not, one client — what `zveno why A B` prints, as a call
//! the HTTP API can make too.
//!
//! Each rule is tried on the two records as resolution tries it: tax id, domain, free-mail
//! address and phone (the keys that join on their own), then the name (its score, and
//! whether it may join: across systems, or confirmed), with the domains their contacts
//! write from as evidence (`staff.rs`). When the records are in different clients, the
//! vetoes are weighed between the two clients as wholes, as clustering weighs them (a
//! cluster is vetoed by what any of its records knows), and a match that joined nothing
//! is accounted for: a veto, an operator's decision, one CRM with nothing to confirm the
//! name, or other clients sharing the name or key.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use zveno_connector::Kind;

use crate::store::{LinkRow, RecordKey, Store, StoreError};

use super::batch::source_name;
use super::blocking::MAX_KEY_RECORDS;
use super::clients::name_match;
use super::keys::ClientKeys;
use super::load::Loaded;
use super::model::{ClientFields, ContactFields, Source};
use super::rules::Rule;
use super::score::MERGE_THRESHOLD;
use super::staff::Staff;
use super::vetoes::{veto, Identity, Veto};

/// Why an explanation could not be given.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// A record the store does not hold (or holds deleted).
    #[error("no live record {0} in the store (`zveno client <id>` lists record names)")]
    NoRecord(String),
    /// Records of two kinds are never one entity.
    #[error("{0} and {1} are of different kinds: only clients with clients, contacts with contacts")]
    Kinds(String, String),
    /// Tasks are attached, not resolved.
    #[error("{0} is a task: tasks are attached to clients, not matched (see `zveno tasks`)")]
    Task(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// One record's side of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// `connector:kind:external_id`.
    pub record: String,
    /// The name on the record.
    pub name: String,
    /// Its client (or contact) now, if resolved.
    pub entity: Option<String>,
    /// That entity's golden name.
    pub entity_name: Option<String>,
    /// How it joined its entity.
    pub linked_by: Option<LinkedBy>,
}

/// A stored link's reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkedBy {
    /// `tax_id`, `domain`, `name`, `manual`, `single`, …
    pub rule: String,
    /// Its score.
    pub score: f64,
    /// The shared value.
    pub evidence: String,
    /// The record it matched.
    pub via: Option<String>,
}

/// How the two records compare on one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// They share a value (names: agree fully).
    Same,
    /// Both have values and share none (names: contradict).
    Different,
    /// One side has nothing to compare (names: agree partly).
    Unknown,
}

/// One rule tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `tax_id`, `domain`, `email`, `phone`, `name`, or `staff` (evidence only).
    pub rule: &'static str,
    /// How they compare.
    pub outcome: Outcome,
    /// The first record's values.
    pub a: Vec<String>,
    /// The second record's values.
    pub b: Vec<String>,
    /// Names: the score in `[0, 1]`.
    pub score: Option<f64>,
    /// What keeps their clients apart on this rule, when it matched and they are apart.
    pub veto: Option<String>,
}

/// Why two records are or are not one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The first record.
    pub a: Side,
    /// The second record.
    pub b: Side,
    /// Whether they are one entity now.
    pub together: bool,
    /// Operators' decisions about either record.
    pub decisions: Vec<String>,
    /// Each rule tried, in the order resolution applies them.
    pub checks: Vec<Check>,
    /// The answer, in a sentence.
    pub verdict: String,
}

/// Explains records `a` and `b` (clients or contacts).
pub async fn why(store: &Store, a: &RecordKey, b: &RecordKey) -> Result<Explanation, ExplainError> {
    for r in [a, b] {
        if r.kind == Kind::Task {
            return Err(ExplainError::Task(source_name(r)));
        }
    }
    if a.kind != b.kind {
        return Err(ExplainError::Kinds(source_name(a), source_name(b)));
    }
    let links: HashMap<RecordKey, LinkRow> =
        store.links_of(&[a.clone(), b.clone()]).await?.into_iter().map(|l| (l.key.clone(), l)).collect();
    let entity = |r: &RecordKey| links.get(r).map(|l| l.entity_id.clone());
    let together = entity(a).is_some() && entity(a) == entity(b);
    let ids: Vec<String> = [entity(a), entity(b)].into_iter().flatten().collect();
    let names = store.entity_names(&ids).await?;
    let decisions = decisions(store, a, b).await?;
    let side = |r: &RecordKey, name: String| Side {
        record: source_name(r),
        name,
        entity: entity(r),
        entity_name: entity(r).and_then(|e| names.get(&e).cloned()),
        linked_by: links.get(r).map(|l| LinkedBy {
            rule: l.rule.clone(),
            score: l.score,
            evidence: l.evidence.clone(),
            via: l.via.clone(),
        }),
    };
    let mut e = if a.kind == Kind::Client {
        clients(store, a, b, together, &ids).await?
    } else {
        contacts(store, a, b).await?
    };
    e.a = side(a, std::mem::take(&mut e.a.name));
    e.b = side(b, std::mem::take(&mut e.b.name));
    e.together = together;
    e.verdict = verdict(&e, &decisions, store, a, b).await?;
    e.decisions = decisions;
    Ok(e)
}

async fn decisions(store: &Store, a: &RecordKey, b: &RecordKey) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for d in store.overrides(a.kind).await? {
        let about = |r: &RecordKey| &d.record == r || d.linked_with.as_ref() == Some(r);
        if !about(a) && !about(b) {
            continue;
        }
        out.push(match &d.linked_with {
            Some(other) => format!("{} linked with {} by an operator", source_name(&d.record), source_name(other)),
            None => format!("{} unlinked by an operator: no automatic rule joins it", source_name(&d.record)),
        });
    }
    Ok(out)
}

/// What is known about a set of client records: their keys (with staff) and the identity
/// of each entity among them.
pub(super) struct ClientEvidence {
    /// Keys by record.
    pub keys: HashMap<RecordKey, ClientKeys>,
    /// The records, sorted (the order clustering sees them in).
    pub records: Vec<Source<ClientFields>>,
}

impl ClientEvidence {
    /// Reads `records` and the contacts filed under them.
    pub async fn load(store: &Store, records: &[RecordKey]) -> Result<Self, StoreError> {
        let loaded = Loaded::<ClientFields>::from_rows(store.resolution_rows(records).await?);
        let staff = Staff::load(store, records).await?;
        Ok(Self::new(loaded.live, &staff))
    }

    /// Evidence about `records` given what their contacts say.
    pub fn new(records: Vec<Source<ClientFields>>, staff: &Staff) -> Self {
        let keys = records.iter().map(|s| (s.key.clone(), staff.keys(s))).collect();
        Self { keys, records }
    }

    /// The identity of the cluster of `members` (what vetoes weigh).
    pub fn identity<'a>(&self, members: impl IntoIterator<Item = &'a RecordKey>) -> Identity {
        let mut identity = Identity::default();
        for k in members {
            if let Some(keys) = self.keys.get(k) {
                identity.absorb(Identity::of(keys));
            }
        }
        identity
    }
}

async fn clients(
    store: &Store,
    a: &RecordKey,
    b: &RecordKey,
    together: bool,
    entities: &[String],
) -> Result<Explanation, ExplainError> {
    let members = store.entity_links(entities).await?;
    let mut wanted: BTreeSet<RecordKey> = members.iter().map(|l| l.key.clone()).collect();
    wanted.extend([a.clone(), b.clone()]);
    let wanted: Vec<RecordKey> = wanted.into_iter().collect();
    let evidence = ClientEvidence::load(store, &wanted).await?;
    let (ka, kb) = match (evidence.keys.get(a), evidence.keys.get(b)) {
        (Some(ka), Some(kb)) => (ka, kb),
        (None, _) => return Err(ExplainError::NoRecord(source_name(a))),
        (_, None) => return Err(ExplainError::NoRecord(source_name(b))),
    };
    let cluster = |r: &RecordKey| -> Vec<RecordKey> {
        match members.iter().find(|l| &l.key == r) {
            Some(l) => members.iter().filter(|m| m.entity_id == l.entity_id).map(|m| m.key.clone()).collect(),
            None => vec![r.clone()],
        }
    };
    let (ida, idb) = (evidence.identity(&cluster(a)), evidence.identity(&cluster(b)));
    let vetoed = |rule: Rule| if together { None } else { veto(&ida, &idb, rule).map(describe) };
    let mut checks = Vec::new();
    let values = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    for (rule, xs, ys) in [
        (Rule::TaxId, values(&ka.tax), values(&kb.tax)),
        (Rule::Domain, ka.domains.clone(), kb.domains.clone()),
        (Rule::Email, ka.free_emails.clone(), kb.free_emails.clone()),
        (Rule::Phone, ka.phones.clone(), kb.phones.clone()),
    ] {
        let outcome = compare(&xs, &ys);
        let veto = if outcome == Outcome::Same { vetoed(rule) } else { None };
        checks.push(Check { rule: rule.as_str(), outcome, a: xs, b: ys, score: None, veto });
    }
    let keys = [ka.clone(), kb.clone()];
    let origins = [a.connector.as_str(), b.connector.as_str()];
    let m = name_match(&keys, &origins, &[0], &[1]);
    let outcome = if m.score >= MERGE_THRESHOLD && !m.contradicted {
        Outcome::Same
    } else if m.score == 0.0 {
        Outcome::Different
    } else {
        Outcome::Unknown
    };
    let veto = if outcome == Outcome::Same { vetoed(Rule::Name) } else { None };
    let shown = |k: &ClientKeys| vec![k.name.block().unwrap_or_default()];
    checks.push(Check { rule: "name", outcome, a: shown(ka), b: shown(kb), score: Some(m.score), veto });
    let sites = |k: &ClientKeys| -> Vec<String> {
        let mut v = k.domains.clone();
        v.extend(k.staff.iter().filter(|d| !k.domains.contains(d)).cloned());
        v
    };
    let staff =
        if ka.staff.is_empty() && kb.staff.is_empty() { Outcome::Unknown } else { compare(&sites(ka), &sites(kb)) };
    checks.push(Check {
        rule: "staff",
        outcome: staff,
        a: ka.staff.clone(),
        b: kb.staff.clone(),
        score: None,
        veto: None,
    });
    let mut e = blank(checks);
    e.a.name = record_name(&evidence.records, a);
    e.b.name = record_name(&evidence.records, b);
    Ok(e)
}

async fn contacts(store: &Store, a: &RecordKey, b: &RecordKey) -> Result<Explanation, ExplainError> {
    let loaded = Loaded::<ContactFields>::from_rows(store.resolution_rows(&[a.clone(), b.clone()]).await?);
    let find = |r: &RecordKey| loaded.live.iter().find(|s| &s.key == r).ok_or(ExplainError::NoRecord(source_name(r)));
    let (ca, cb) = (find(a)?, find(b)?);
    let lower = |v: &[String]| v.iter().map(|e| e.to_lowercase()).collect::<Vec<_>>();
    let names = [ca.fields.name.clone(), cb.fields.name.clone()];
    let checks = vec![
        Check {
            rule: "email",
            outcome: compare(&lower(&ca.fields.emails), &lower(&cb.fields.emails)),
            a: ca.fields.emails.clone(),
            b: cb.fields.emails.clone(),
            score: None,
            veto: None,
        },
        Check {
            rule: "phone",
            outcome: compare(&ca.fields.phones, &cb.fields.phones),
            a: ca.fields.phones.clone(),
            b: cb.fields.phones.clone(),
            score: None,
            veto: None,
        },
        Check {
            rule: "name",
            outcome: if super::contacts::same_person(&names[0], &names[1]) {
                Outcome::Same
            } else {
                Outcome::Different
            },
            a: vec![names[0].clone()],
            b: vec![names[1].clone()],
            score: None,
            veto: None,
        },
    ];
    let mut e = blank(checks);
    e.a.name = names[0].clone();
    e.b.name = names[1].clone();
    Ok(e)
}

fn blank(checks: Vec<Check>) -> Explanation {
    let side = || Side { record: String::new(), name: String::new(), entity: None, entity_name: None, linked_by: None };
    Explanation { a: side(), b: side(), together: false, decisions: Vec::new(), checks, verdict: String::new() }
}

fn record_name(records: &[Source<ClientFields>], r: &RecordKey) -> String {
    records.iter().find(|s| &s.key == r).map(|s| s.fields.name.clone()).unwrap_or_default()
}

fn compare(a: &[String], b: &[String]) -> Outcome {
    if a.is_empty() || b.is_empty() {
        Outcome::Unknown
    } else if a.iter().any(|x| b.contains(x)) {
        Outcome::Same
    } else {
        Outcome::Different
    }
}

fn describe(v: Veto) -> String {
    match v {
        Veto::TaxId => "their clients hold different tax ids".into(),
        Veto::Domain => "their clients hold different corporate domains, and nothing else vouches for the match".into(),
        Veto::Contradicted => {
            "what their clients know contradicts it: different phones, personal e-mails, or domains their \
             websites and staff use"
                .into()
        }
    }
}

/// The sentence: what decided it.
async fn verdict(
    e: &Explanation,
    decisions: &[String],
    store: &Store,
    a: &RecordKey,
    b: &RecordKey,
) -> Result<String, StoreError> {
    let check = |rule: &str| e.checks.iter().find(|c| c.rule == rule);
    if e.together {
        let entity = e.a.entity.as_deref().unwrap_or_default();
        let how = |s: &Side| match &s.linked_by {
            Some(l) if l.rule == Rule::Manual.as_str() => {
                format!(
                    "{} linked by an operator{}",
                    s.record,
                    l.via.as_deref().map(|v| format!(" with {v}")).unwrap_or_default()
                )
            }
            Some(l) if l.via.is_some() => format!(
                "{} joined by {} {}{}",
                s.record,
                l.rule,
                l.evidence,
                l.via.as_deref().map(|v| format!(" (with {v})")).unwrap_or_default()
            ),
            _ => format!("{} is where the others joined", s.record),
        };
        return Ok(format!("one {} ({entity}): {}; {}", a.kind, how(&e.a), how(&e.b)));
    }
    if let Some(d) = decisions.iter().find(|d| d.contains("unlinked")) {
        return Ok(format!("apart: {d}"));
    }
    let shared_key = e.checks.iter().find(|c| c.outcome == Outcome::Same && c.rule != "name" && c.rule != "staff");
    if let Some(c) = shared_key {
        let shared: Vec<&String> = c.a.iter().filter(|x| c.b.contains(x)).collect();
        let value = shared.first().map(|s| s.as_str()).unwrap_or_default();
        if let Some(veto) = &c.veto {
            return Ok(format!("apart: they share {} {value}, but {veto}", c.rule));
        }
        if a.kind == Kind::Client {
            let key = format!("{}:{value}", key_prefix(c.rule));
            let holders = store.key_members(a.kind, std::slice::from_ref(&key), MAX_KEY_RECORDS).await?;
            if !holders.overfull.is_empty() {
                return Ok(format!(
                    "apart: they share {} {value}, but more than {MAX_KEY_RECORDS} records hold it, which makes it no \
                     evidence",
                    c.rule
                ));
            }
            return Ok(format!(
                "apart: they share {} {value}, but {} records hold it and some of their clients conflict, so it \
                 joins none of them",
                c.rule,
                holders.members.len()
            ));
        }
        if c.rule == "phone" && check("name").is_some_and(|n| n.outcome != Outcome::Same) {
            return Ok(format!("apart: they share phone {value}, but their names differ (an office line)"));
        }
        return Ok(format!("apart: they share {} {value}; they will be joined by the next run", c.rule));
    }
    if a.kind == Kind::Contact {
        return Ok("apart: people are one when they share an e-mail, or a phone and their name; these do not".into());
    }
    let Some(name) = check("name") else { return Ok("apart: nothing identifies them as one".into()) };
    Ok(match (name.outcome, &name.veto) {
        (Outcome::Same, Some(veto)) => format!("apart: their names agree, but {veto}"),
        (Outcome::Same, None) if a.connector == b.connector && check("staff").is_none_or(|s| s.outcome != Outcome::Same) => {
            format!(
                "apart: their names agree, but both records are in {}, and inside one system a name alone does not \
                 join two records (nothing else confirms it)",
                a.connector
            )
        }
        (Outcome::Same, None) => {
            let others = namesakes(store, e, a, b).await?;
            if others.is_empty() {
                "apart: their names agree and nothing contradicts it; they will be joined by the next run".into()
            } else {
                format!(
                    "apart: their names agree, but the name also fits {} — a name several clients share decides \
                     nothing on its own (`zveno link` if they are one)",
                    others.join(", ")
                )
            }
        }
        (Outcome::Unknown, _) if name.score.is_some_and(|s| s > 0.0) => format!(
            "apart: their names agree only partly (score {:.2}: initials or a missing part), short of {MERGE_THRESHOLD}",
            name.score.unwrap_or_default()
        ),
        (Outcome::Different, _) if name.score == Some(0.0) && name.a == name.b => {
            "apart: their names contradict (another legal form, or another person's name)".into()
        }
        _ => "apart: they share no tax id, domain, e-mail or phone, and their names differ".into(),
    })
}

fn key_prefix(rule: &str) -> &'static str {
    match rule {
        "tax_id" => "t",
        "domain" => "d",
        "email" => "e",
        _ => "ph",
    }
}

/// Other clients whose records hold the name block of `a` and `b`.
async fn namesakes(store: &Store, e: &Explanation, a: &RecordKey, b: &RecordKey) -> Result<Vec<String>, StoreError> {
    let Some(block) = e.checks.iter().find(|c| c.rule == "name").and_then(|c| c.a.first()).filter(|k| !k.is_empty())
    else {
        return Ok(Vec::new());
    };
    let holders = store.key_members(Kind::Client, std::slice::from_ref(block), MAX_KEY_RECORDS).await?;
    let records: Vec<RecordKey> = holders.members.into_iter().map(|(_, k)| k).filter(|k| k != a && k != b).collect();
    let mut others: Vec<String> = store
        .links_of(&records)
        .await?
        .into_iter()
        .map(|l| l.entity_id)
        .filter(|id| Some(id) != e.a.entity.as_ref() && Some(id) != e.b.entity.as_ref())
        .collect();
    others.sort();
    others.dedup();
    Ok(others)
}
