//! Tests of the world generator: determinism, validity of every generated value, a complete
//! ground truth, decoys that really differ, and variations that really occur.

use std::collections::{BTreeMap, BTreeSet};

use zveno_connector::model::TaxScheme;
use zveno_connector::{Domain, Email, Phone, TaskStatus, TaxId};

use super::*;

/// Profiles of the kinds of system a world mixes (the vendors' own live in their crates):
/// a CRM whose users often type Latin names, one that types Russian and shows company ids
/// with a prefix, a tracker, and a third CRM.
const LATIN_CRM: System = System::new(&SystemProfile {
    vendor: "latin_crm",
    rank: 0,
    crm: true,
    tax_id_share: 0.35,
    latin_name_share: 0.45,
    latin_person_share: 0.2,
    company_ref_prefix: "",
});
const RUSSIAN_CRM: System = System::new(&SystemProfile {
    vendor: "russian_crm",
    rank: 1,
    crm: true,
    tax_id_share: 0.85,
    latin_name_share: 0.05,
    latin_person_share: 0.0,
    company_ref_prefix: "CO_",
});
const TRACKER: System = System::new(&SystemProfile {
    vendor: "tracker",
    rank: 2,
    crm: false,
    tax_id_share: 0.2,
    latin_name_share: 0.2,
    latin_person_share: 0.0,
    company_ref_prefix: "",
});
const THIRD_CRM: System = System::new(&SystemProfile {
    vendor: "third_crm",
    rank: 3,
    crm: true,
    tax_id_share: 0.2,
    latin_name_share: 0.3,
    latin_person_share: 0.2,
    company_ref_prefix: "",
});
const TEST_VENDOR: System = crate::testvendor::SYSTEM;
const ALL: [System; 5] = [LATIN_CRM, RUSSIAN_CRM, TRACKER, THIRD_CRM, TEST_VENDOR];

fn world(seed: u64, clients: usize) -> World {
    let mut spec = WorldSpec::new(seed, clients, &ALL);
    spec.decoy_rate = 0.15;
    World::generate(&spec)
}

fn is_cyrillic(s: &str) -> bool {
    s.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
}

fn companies(w: &World) -> impl Iterator<Item = (System, &SimCompany)> {
    w.systems.iter().flat_map(|(s, d)| d.companies.iter().map(move |c| (*s, c)))
}

#[test]
fn the_same_seed_gives_the_same_world_and_another_seed_another() {
    let a = world(7, 300);
    assert_eq!(a, world(7, 300));
    assert_ne!(a, world(8, 300));
    assert_eq!(a.clients.len(), 300);
}

#[test]
fn every_record_is_in_the_truth_and_ids_are_sequential() {
    let w = world(1, 400);
    let mut seen = GroundTruth::default();
    for (system, data) in &w.systems {
        for (i, c) in data.companies.iter().enumerate() {
            assert_eq!(c.id, i as u64 + 1, "{system:?} company ids");
            let client = w.truth.companies.get(&(*system, c.id)).copied();
            assert!(client.is_some(), "{system:?} company {} not in truth", c.id);
            seen.companies.insert((*system, c.id), client.unwrap_or_default());
        }
        for (i, c) in data.contacts.iter().enumerate() {
            assert_eq!(c.id, i as u64 + 1, "{system:?} contact ids");
            let client = w.truth.contacts.get(&(*system, c.id)).copied();
            let company = c.company_id.map(|id| w.truth.companies.get(&(*system, id)));
            assert_eq!(company, Some(client.as_ref()), "contact {} company", c.id);
            seen.contacts.insert((*system, c.id), client.unwrap_or_default());
        }
        for (i, t) in data.tasks.iter().enumerate() {
            assert_eq!(t.id, i as u64 + 1, "{system:?} task ids");
            let client = w.truth.tasks.get(&(*system, t.id)).cloned();
            assert!(client.is_some(), "{system:?} task {} not in truth", t.id);
            if let Some(company) = t.company_id {
                assert_eq!(client.flatten(), w.truth.companies.get(&(*system, company)).copied());
            }
            seen.tasks.insert((*system, t.id), client.flatten());
        }
        for u in &data.users {
            assert!(u.email.ends_with("@zveno-demo.ru"), "{}", u.email);
        }
    }
    assert_eq!(seen, w.truth, "the truth holds exactly the generated records");
    let tracker = w.system(TRACKER);
    assert!(tracker.companies.is_empty() && tracker.contacts.is_empty());
    assert!(!tracker.tasks.is_empty());
    // Every client is somewhere.
    let mut placed: BTreeSet<usize> = w.truth.companies.values().copied().collect();
    placed.extend(w.truth.tasks.values().flatten().copied());
    let placed_or_taskless = w.clients.len() - placed.len();
    assert!(placed_or_taskless * 20 < w.clients.len(), "{placed_or_taskless} clients never appear");
}

#[test]
fn tax_ids_are_valid_and_decoys_differ_from_their_originals() {
    let w = world(2, 600);
    let mut inns = 0;
    for (system, c) in companies(&w) {
        if let Some(raw) = &c.tax_id {
            let parsed = TaxId::parse(raw, None);
            assert!(parsed.is_ok(), "{system:?} company {}: {raw:?}", c.id);
            if parsed.is_ok_and(|t| t.scheme() == TaxScheme::RuInn) {
                inns += 1;
            }
        }
    }
    assert!(inns > 100, "only {inns} INNs");
    let decoys: Vec<&TrueClient> = w.clients.iter().filter(|c| c.decoy_of.is_some()).collect();
    assert!(decoys.len() > 40, "{} decoys", decoys.len());
    for d in decoys {
        let original = &w.clients[d.decoy_of.unwrap_or_default()];
        assert!(original.decoy_of.is_none(), "decoys imitate true originals");
        assert!(d.tax_id.is_some(), "decoy {} has a tax id", d.name);
        assert_ne!(d.tax_id, original.tax_id, "{} vs {}", d.name, original.name);
        assert!(d.domain.is_some());
        assert_ne!(d.domain, original.domain, "{} vs {}", d.name, original.name);
        assert_ne!(d.name, original.name);
    }
    let unique: BTreeSet<&String> = w.clients.iter().filter_map(|c| c.domain.as_ref()).collect();
    let with_domain = w.clients.iter().filter(|c| c.domain.is_some()).count();
    assert_eq!(unique.len(), with_domain, "domains are unique per client");
}

#[test]
fn raw_values_parse_into_the_clients_true_values() {
    let w = world(3, 2000);
    let ru = Phone::region("RU").ok();
    let mut shapes = BTreeSet::new();
    for (system, c) in companies(&w) {
        let client = &w.clients[w.truth.companies[&(system, c.id)]];
        if let Some(site) = &c.website {
            let domain = Domain::parse(site).map(String::from).ok();
            assert_eq!(domain, client.domain, "{system:?} {}: {site:?}", c.id);
        }
        for p in &c.phones {
            assert!(Phone::parse(p, ru).is_ok(), "{system:?} {}: {p:?}", c.id);
            shapes.insert(p.replace(|ch: char| ch.is_ascii_digit(), "d"));
        }
        for e in &c.emails {
            assert!(Email::parse(e).is_ok(), "{e:?}");
        }
    }
    for data in w.systems.values() {
        for c in &data.contacts {
            for p in &c.phones {
                assert!(Phone::parse(p, ru).is_ok(), "contact {}: {p:?}", c.id);
            }
            for e in &c.emails {
                assert!(Email::parse(e).is_ok(), "{e:?}");
            }
        }
    }
    assert!(shapes.len() >= 12, "phone formats: {shapes:?}");
    // `8 (495) 123-45-67`, `+7 495 123 45 67`, `+7(495)1234567`, `84951234567`,
    // `+1 (415) 555-2671`.
    for needle in ["d (ddd) ddd-dd-dd", "+d ddd ddd dd dd", "+d(ddd)ddddddd", "ddddddddddd", "+d (ddd) ddd-dddd"] {
        assert!(shapes.contains(needle), "no {needle:?} among {shapes:?}");
    }
}

#[test]
fn names_websites_emails_and_tax_ids_vary_across_systems() {
    let w = world(4, 800);
    let mut by_client: BTreeMap<usize, Vec<&SimCompany>> = BTreeMap::new();
    for (system, c) in companies(&w) {
        by_client.entry(w.truth.companies[&(system, c.id)]).or_default().push(c);
    }
    let russian: Vec<usize> =
        w.clients.iter().filter(|c| c.name.contains('«') && by_client.contains_key(&c.id)).map(|c| c.id).collect();
    let quoted = russian.iter().filter(|id| by_client[id].iter().any(|c| c.name.contains('«'))).count();
    assert!(quoted * 10 > russian.len() * 4, "«» in {quoted} of {}", russian.len());
    let latin = russian.iter().filter(|id| by_client[id].iter().any(|c| !is_cyrillic(&c.name))).count();
    assert!(latin * 10 > russian.len(), "Latin spellings: {latin}");
    let all: Vec<&SimCompany> = companies(&w).map(|(_, c)| c).collect();
    let count = |f: &dyn Fn(&SimCompany) -> bool| all.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c.name.contains(", ООО")) > 0);
    assert!(count(&|c| c.name.contains("  ")) > 0, "extra spaces");
    assert!(count(&|c| c.name.contains("\" LLC")) > 0, "\"Romashka\" LLC");
    assert!(count(&|c| c.name.starts_with("ИП ")) > 0);
    assert!(count(&|c| c.name.ends_with(" GmbH") || c.name.ends_with(" Ltd")) > 0);
    let site = |c: &SimCompany, p: &str| c.website.as_deref().is_some_and(|s| s.contains(p));
    assert!(count(&|c| site(c, "www.")) > 0 && count(&|c| site(c, "https://")) > 0);
    assert!(count(&|c| site(c, ".рф")) > 0 && count(&|c| site(c, ".co.uk")) > 0);
    assert!(count(&|c| c.website.is_none()) > 0, "some records lack a website");
    assert!(count(&|c| c.phones.is_empty()) > 0, "some records lack phones");
    assert!(count(&|c| c.emails.iter().any(|e| e.chars().any(char::is_uppercase))) > 0);
    assert!(count(&|c| c.tax_id.as_deref().is_some_and(|t| t.starts_with("GB"))) > 0);
    let tax_share = |s: System| {
        let d = w.system(s);
        d.companies.iter().filter(|c| c.tax_id.is_some()).count() as f64 / d.companies.len().max(1) as f64
    };
    assert!(tax_share(RUSSIAN_CRM) > tax_share(LATIN_CRM) + 0.2);

    // The same person in two CRMs, spelled differently.
    let mut emails: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for data in w.systems.values() {
        for c in &data.contacts {
            for e in &c.emails {
                emails.entry(e.trim().to_lowercase()).or_default().insert(e.clone());
            }
        }
    }
    assert!(emails.values().any(|spellings| spellings.len() > 1));
}

#[test]
fn tasks_cover_statuses_due_dates_and_tracker_client_hints() {
    let w = world(5, 400);
    let now = w.spec.now;
    let tasks: Vec<&SimTask> = w.systems.values().flat_map(|d| d.tasks.iter()).collect();
    for status in [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done, TaskStatus::Cancelled] {
        assert!(tasks.iter().any(|t| t.status == status), "{status:?}");
    }
    assert!(tasks.iter().any(|t| t.status.is_open() && t.due.is_some_and(|d| d < now)));
    assert!(tasks.iter().any(|t| t.due.is_some_and(|d| d > now)));
    assert!(tasks.iter().any(|t| t.due.is_none()));
    assert!(tasks.iter().any(|t| t.assignee_id.is_some()));
    for t in &tasks {
        assert!(t.created_at <= t.updated_at && t.updated_at <= now);
        assert!(t.created_at >= now - chrono::Duration::days(731));
    }

    let (mut by_id, mut by_domain, mut by_name, mut none) = (0, 0, 0, 0);
    for t in &w.system(TRACKER).tasks {
        let truth = w.truth.tasks[&(TRACKER, t.id)];
        let Some(hint) = &t.client_hint else {
            assert_eq!(truth, None, "issue {} without hint concerns nobody", t.id);
            none += 1;
            continue;
        };
        let client = truth.map(|i| &w.clients[i]);
        if let Some((vendor, id)) =
            hint.split_once(':').filter(|(_, id)| id.trim_start_matches("CO_").chars().all(|c| c.is_ascii_digit()))
        {
            let Some(system) = ALL.into_iter().find(|s| s.vendor() == vendor) else {
                panic!("{hint} names no system of the world");
            };
            let id: u64 = id.trim_start_matches("CO_").parse().unwrap_or_default();
            assert_eq!(w.truth.companies.get(&(system, id)).copied(), truth, "{hint}");
            by_id += 1;
        } else if let Ok(d) = Domain::parse(hint).map(String::from) {
            if client.and_then(|c| c.domain.as_ref()) == Some(&d) {
                by_domain += 1;
            } else {
                by_name += 1;
            }
        } else {
            by_name += 1;
        }
    }
    assert!(by_id > 10 && by_domain > 10 && by_name > 10 && none > 5);
}

#[test]
fn a_system_subset_holds_only_those_systems() {
    let w = World::generate(&WorldSpec::new(9, 50, &[TEST_VENDOR]));
    assert_eq!(w.systems.keys().copied().collect::<Vec<_>>(), [TEST_VENDOR]);
    assert_eq!(w.system(TEST_VENDOR).companies.len(), 50);
    assert_eq!(w.system(LATIN_CRM), SystemData::default());
    let empty = World::generate(&WorldSpec::new(9, 0, &[]));
    assert!(empty.clients.is_empty() && empty.systems.is_empty());
}
