//! Borderline decisions for a person to confirm — what `zveno review` lists, as a call the
//! HTTP API can make too.
//!
//! Resolution refuses to guess: a name two clients share, one CRM holding two records of
//! one name, initials that fit a full name. Those are exactly the pairs a person settles in
//! a second with `zveno link` or `zveno unlink`, so they are listed, best candidates first:
//!
//! - **names agree, kept apart**: two clients whose names match fully or partly, with
//!   nothing that tells them apart for certain (no different tax ids or corporate domains).
//!   They were kept apart because the name fits more clients, or both records are in one
//!   system with nothing else to confirm it, or their phones or staff domains differ, or
//!   the names agree only partly. `zveno link A B` joins them.
//! - **joined on the name alone**: a record whose only tie to its client is the name, with
//!   nothing else (a domain its staff share, a phone) confirming it. `zveno unlink A`
//!   takes it out.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use zveno_connector::Kind;

use crate::store::{RecordKey, Store, StoreError};

use super::batch::source_name;
use super::blocking::MAX_KEY_RECORDS;
use super::clients::name_match;
use super::explain::ClientEvidence;
use super::full::load_all;
use super::keys::ClientKeys;
use super::model::{ClientFields, ContactFields};
use super::rules::Rule;
use super::score::{HINT_THRESHOLD, MERGE_THRESHOLD};
use super::staff::Staff;
use super::vetoes::{confirms, veto, Identity, Veto};

/// What kind of borderline case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// Two clients whose names agree, kept apart.
    NamesAgreeApart,
    /// A record joined to its client by its name alone.
    JoinedOnName,
}

/// One side of a borderline pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewSide {
    /// The client.
    pub client: String,
    /// Its golden name.
    pub client_name: String,
    /// A record of it, as `zveno link` takes it.
    pub record: String,
    /// That record's name.
    pub record_name: String,
}

/// A pair for a person to decide about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    /// Which kind of case.
    pub kind: ReviewKind,
    /// The name score in `[0, 1]`.
    pub score: f64,
    /// The name block they share (`n:romashka`).
    pub name: String,
    /// One side.
    pub a: ReviewSide,
    /// The other.
    pub b: ReviewSide,
    /// Why resolution did not decide otherwise.
    pub why: String,
    /// The command that settles it the other way.
    pub settle: String,
}

/// Lists up to `limit` borderline pairs among the store's clients, most likely first.
pub async fn review(store: &Store, limit: usize) -> Result<Vec<ReviewItem>, StoreError> {
    let contacts = load_all::<ContactFields>(store).await?;
    let staff = Staff::from_contacts(&contacts.live);
    drop(contacts);
    let clients = load_all::<ClientFields>(store).await?;
    let evidence = ClientEvidence::new(clients.live, &staff);
    let links = store.all_links(Kind::Client).await?;
    let entity_of: HashMap<&RecordKey, &str> = links.iter().map(|l| (&l.key, l.entity_id.as_str())).collect();
    let mut members: HashMap<&str, Vec<&RecordKey>> = HashMap::new();
    for l in &links {
        members.entry(l.entity_id.as_str()).or_default().push(&l.key);
    }
    let ids: Vec<String> = members.keys().map(|s| s.to_string()).collect();
    let names = store.entity_names(&ids).await?;
    let identities: HashMap<&str, Identity> =
        members.iter().map(|(e, records)| (*e, evidence.identity(records.iter().copied()))).collect();
    let cx = Cx { evidence: &evidence, entity_of: &entity_of, names: &names };

    let mut items = apart(&cx, &identities);
    for l in links.iter().filter(|l| l.rule == Rule::Name.as_str()) {
        if let Some(item) = joined_on_name(&cx, &l.key, l.via.as_deref(), &members, &l.entity_id) {
            items.push(item);
        }
    }
    items.sort_by(|x, y| x.kind.cmp(&y.kind).then(y.score.total_cmp(&x.score)).then(x.a.record.cmp(&y.a.record)));
    items.truncate(limit);
    Ok(items)
}

struct Cx<'a> {
    evidence: &'a ClientEvidence,
    entity_of: &'a HashMap<&'a RecordKey, &'a str>,
    names: &'a HashMap<String, String>,
}

impl Cx<'_> {
    fn keys(&self, r: &RecordKey) -> Option<&ClientKeys> {
        self.evidence.keys.get(r)
    }

    fn side(&self, r: &RecordKey) -> ReviewSide {
        let client = self.entity_of.get(r).map(|e| e.to_string()).unwrap_or_default();
        let record_name =
            self.evidence.records.iter().find(|s| &s.key == r).map(|s| s.fields.name.clone()).unwrap_or_default();
        ReviewSide {
            client_name: self.names.get(&client).cloned().unwrap_or_default(),
            client,
            record: source_name(r),
            record_name,
        }
    }
}

/// Pairs of clients in one name block whose names agree and that nothing certain separates.
fn apart(cx: &Cx<'_>, identities: &HashMap<&str, Identity>) -> Vec<ReviewItem> {
    let mut blocks: BTreeMap<String, BTreeMap<&str, Vec<&RecordKey>>> = BTreeMap::new();
    for (record, keys) in &cx.evidence.keys {
        if let (Some(block), Some(entity)) = (keys.name.block(), cx.entity_of.get(record)) {
            blocks.entry(block).or_default().entry(entity).or_default().push(record);
        }
    }
    let mut items = Vec::new();
    for (block, by_entity) in blocks {
        let records: usize = by_entity.values().map(Vec::len).sum();
        if by_entity.len() < 2 || records > MAX_KEY_RECORDS {
            continue;
        }
        let mut entities: Vec<(&str, Vec<&RecordKey>)> = by_entity.into_iter().collect();
        for (_, records) in &mut entities {
            records.sort();
        }
        for (i, (e1, r1)) in entities.iter().enumerate() {
            for (e2, r2) in &entities[i + 1..] {
                let keys: Vec<ClientKeys> = r1.iter().chain(r2.iter()).filter_map(|r| cx.keys(r).cloned()).collect();
                if keys.len() != r1.len() + r2.len() {
                    continue;
                }
                let origins: Vec<&str> = r1.iter().chain(r2.iter()).map(|r| r.connector.as_str()).collect();
                let split = r1.len();
                let m = name_match(
                    &keys,
                    &origins,
                    &(0..split).collect::<Vec<_>>(),
                    &(split..keys.len()).collect::<Vec<_>>(),
                );
                if m.score < HINT_THRESHOLD || m.contradicted {
                    continue;
                }
                let (Some(i1), Some(i2)) = (identities.get(e1), identities.get(e2)) else { continue };
                let why = match veto(i1, i2, Rule::Name) {
                    Some(Veto::TaxId | Veto::Domain) => continue,
                    Some(Veto::Contradicted) => {
                        "their phones, personal e-mails or the domains their staff write from differ".to_string()
                    }
                    None if m.score < MERGE_THRESHOLD => {
                        format!("their names agree only partly (score {:.2}: initials or a missing part)", m.score)
                    }
                    None if !m.across_systems && !confirms(i1, i2) => {
                        "both are in one system, where a name alone does not join two records".to_string()
                    }
                    None => "the name also fits another client, so it decides nothing on its own".to_string(),
                };
                let (Some(a), Some(b)) = (r1.get(m.records.0), m.records.1.checked_sub(split).and_then(|j| r2.get(j)))
                else {
                    continue;
                };
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                items.push(ReviewItem {
                    kind: ReviewKind::NamesAgreeApart,
                    score: m.score,
                    name: block.clone(),
                    settle: format!("zveno link {} {}", source_name(a), source_name(b)),
                    a: cx.side(a),
                    b: cx.side(b),
                    why,
                });
            }
        }
    }
    items
}

/// A record linked by its name whose other values confirm nothing about its client.
fn joined_on_name(
    cx: &Cx<'_>,
    record: &RecordKey,
    via: Option<&str>,
    members: &HashMap<&str, Vec<&RecordKey>>,
    entity: &str,
) -> Option<ReviewItem> {
    let keys = cx.keys(record)?;
    let others: Vec<&RecordKey> = members.get(entity)?.iter().copied().filter(|r| *r != record).collect();
    let rest = cx.evidence.identity(others.iter().copied());
    let own = Identity::of(keys);
    if confirms(&own, &rest)
        || keys.phones.iter().any(|p| others.iter().any(|o| cx.keys(o).is_some_and(|k| k.phones.contains(p))))
    {
        return None;
    }
    let partner =
        others.iter().copied().find(|o| via.is_some_and(|v| source_name(o) == v)).or(others.first().copied())?;
    Some(ReviewItem {
        kind: ReviewKind::JoinedOnName,
        score: 1.0,
        name: keys.name.block().unwrap_or_default(),
        a: cx.side(record),
        b: cx.side(partner),
        why: "joined its client on the name alone; no tax id, domain, phone or staff domain confirms it".into(),
        settle: format!("zveno unlink {}", source_name(record)),
    })
}
