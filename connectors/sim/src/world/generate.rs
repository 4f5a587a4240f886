//! [`World::generate`]: true clients, their decoys, and how each system records them.
//!
//! One `ChaCha8Rng` seeded from `spec.seed` is drawn from in a fixed order (clients in
//! index order, systems in spec order), so a spec always gives the same world on every
//! platform. Sets used for uniqueness are only ever queried, never iterated, so they cannot
//! leak hash order into the output. Work and memory are linear in the world: per client a
//! handful of records, no pairwise comparisons (decoys pick their original by index).
//!
//! Who the clients are (names, domains, tax ids, decoys) is drawn in `identity.rs`; how
//! each system records them, here.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use zveno_connector::{Domain, Priority, TaskStatus, TaxId};

use super::names::{self, domain_label, feminine_surname, translit};
use super::variants::{typed_email, Country, PhoneNum, Profile};
use super::{GroundTruth, SimCompany, SimContact, SimTask, SimUser, System, SystemData, TrueClient, World, WorldSpec};

/// The domain of the team's own users (owners, assignees), reserved so no client gets it.
pub(super) const TEAM_DOMAIN: &str = "zveno-demo.ru";

const DAY_MS: i64 = 86_400_000;

impl World {
    /// Generates the world `spec` describes. Deterministic: the same spec gives an equal
    /// world. Cost is linear in `spec.clients` (50,000 clients, ~560,000 records, take about
    /// 1.5 s in a release build).
    pub fn generate(spec: &WorldSpec) -> World {
        Generator::new(spec).run()
    }
}

/// A person: a contact at a client, or a member of the team.
#[derive(Debug, Clone)]
struct Person {
    first: String,
    last: String,
    email: String,
    phone: PhoneNum,
    russian: bool,
}

/// One system being filled.
#[derive(Debug)]
struct SystemBuilder {
    system: System,
    data: SystemData,
}

impl SystemBuilder {
    fn is_crm(&self) -> bool {
        self.system.profile().crm
    }
}

/// The generator's state while it draws one world.
pub(super) struct Generator<'a> {
    pub(super) spec: &'a WorldSpec,
    pub(super) rng: ChaCha8Rng,
    now_ms: i64,
    pub(super) used_roots: HashSet<String>,
    pub(super) used_domains: HashSet<String>,
    pub(super) used_tax: HashSet<String>,
    pub(super) profiles: Vec<Profile>,
    originals: Vec<usize>,
    pub(super) clients: Vec<TrueClient>,
    systems: Vec<SystemBuilder>,
    truth: GroundTruth,
}

impl<'a> Generator<'a> {
    fn new(spec: &'a WorldSpec) -> Self {
        let mut systems: Vec<SystemBuilder> = Vec::new();
        for &system in &spec.systems {
            if systems.iter().all(|b| b.system != system) {
                systems.push(SystemBuilder { system, data: SystemData::default() });
            }
        }
        Self {
            spec,
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            now_ms: spec.now.timestamp_millis(),
            used_roots: HashSet::new(),
            used_domains: HashSet::from([TEAM_DOMAIN.to_string()]),
            used_tax: HashSet::new(),
            profiles: Vec::with_capacity(spec.clients),
            originals: Vec::new(),
            clients: Vec::with_capacity(spec.clients),
            systems,
            truth: GroundTruth::default(),
        }
    }

    fn run(mut self) -> World {
        self.team();
        let decoy_rate = if self.spec.decoy_rate.is_finite() { self.spec.decoy_rate.clamp(0.0, 1.0) } else { 0.0 };
        for id in 0..self.spec.clients {
            let decoy_of = if !self.originals.is_empty() && self.rng.gen_bool(decoy_rate) {
                Some(self.originals[self.rng.gen_range(0..self.originals.len())])
            } else {
                None
            };
            let profile = match decoy_of {
                Some(original) => self.decoy_profile(original),
                None => {
                    self.originals.push(id);
                    self.new_profile()
                }
            };
            self.clients.push(TrueClient {
                id,
                name: profile.canonical_name(),
                domain: profile.domain.as_deref().and_then(|d| Domain::parse(d).ok()).map(String::from),
                tax_id: profile
                    .tax_id
                    .as_deref()
                    .and_then(|t| TaxId::parse(t, None).ok())
                    .map(|t| t.as_str().to_string()),
                decoy_of,
            });
            self.spread(id, &profile);
            self.profiles.push(profile);
        }
        World {
            spec: self.spec.clone(),
            clients: self.clients,
            systems: self.systems.into_iter().map(|b| (b.system, b.data)).collect::<BTreeMap<_, _>>(),
            truth: self.truth,
        }
    }

    // ----- the team -------------------------------------------------------------------

    /// The team's people, each present in most systems with that system's own user id.
    fn team(&mut self) {
        let size = (self.spec.clients / 25).clamp(4, 300);
        let mut emails = HashSet::new();
        for n in 0..size {
            let russian = self.rng.gen_bool(0.7);
            let (first, last) = self.person_name(russian);
            let mut email =
                format!("{}.{}@{TEAM_DOMAIN}", domain_label(&translit(&first)), domain_label(&translit(&last)));
            if !emails.insert(email.clone()) {
                email = email.replacen('@', &format!("{n}@"), 1);
                emails.insert(email.clone());
            }
            for b in &mut self.systems {
                // Everyone is somewhere; most people are everywhere.
                if n == 0 || self.rng.gen_bool(0.9) {
                    let id = b.data.users.len() as u64 + 1;
                    b.data.users.push(SimUser {
                        id,
                        email: email.clone(),
                        first_name: first.clone(),
                        last_name: last.clone(),
                    });
                }
            }
        }
    }

    pub(super) fn person_name(&mut self, russian: bool) -> (String, String) {
        if russian {
            let female = self.rng.gen_bool(0.5);
            let first = if female {
                pick(&mut self.rng, names::RU_FEMALE_FIRST)
            } else {
                pick(&mut self.rng, names::RU_MALE_FIRST)
            };
            let last = pick(&mut self.rng, names::RU_SURNAMES);
            let last = if female { feminine_surname(last) } else { last.to_string() };
            (first.to_string(), last)
        } else {
            (
                pick(&mut self.rng, names::EN_FIRST_NAMES).to_string(),
                pick(&mut self.rng, names::EN_SURNAMES).to_string(),
            )
        }
    }

    // ----- spreading a client over systems --------------------------------------------

    fn spread(&mut self, client: usize, profile: &Profile) {
        if self.systems.is_empty() {
            return;
        }
        let mut chosen: Vec<usize> = (0..self.systems.len()).filter(|_| self.rng.gen_bool(0.55)).collect();
        if chosen.is_empty() {
            chosen.push(self.rng.gen_range(0..self.systems.len()));
        }
        // CRMs first, so Jira issues can name the client by a CRM record's id.
        chosen.sort_by_key(|&s| !self.systems[s].is_crm());
        let mut pool: Vec<Person> = Vec::new();
        let mut crm_ids: Vec<(System, u64)> = Vec::new();
        for s in chosen {
            if self.systems[s].is_crm() {
                let id = self.crm_records(s, client, profile, &mut pool);
                crm_ids.push((self.systems[s].system, id));
            } else {
                self.issues(s, client, profile, &crm_ids);
            }
        }
    }

    /// The client's company, contacts and tasks in CRM `s`; returns the company's id.
    fn crm_records(&mut self, s: usize, client: usize, profile: &Profile, pool: &mut Vec<Person>) -> u64 {
        let system = self.systems[s].system;
        let created = self.now_ms - self.rng.gen_range(0..730 * DAY_MS);
        let tax_share = system.profile().tax_id_share;
        let company = SimCompany {
            id: self.systems[s].data.companies.len() as u64 + 1,
            name: profile.typed_name(system, &mut self.rng),
            website: if self.rng.gen_bool(0.85) { profile.typed_website(&mut self.rng) } else { None },
            phones: self.typed_phones(&profile.phones, 0.8),
            emails: self.typed_emails(&profile.emails, 0.7),
            tax_id: match &profile.tax_id {
                Some(t) if self.rng.gen_bool(tax_share) => Some(t.clone()),
                _ => None,
            },
            owner_id: self.user(s, 0.9),
            created_at: self.time(created),
            updated_at: self.later_time(created),
        };
        let company_id = company.id;
        self.truth.companies.insert((system, company_id), client);
        self.systems[s].data.companies.push(company);

        let mut contact_ids = Vec::new();
        let mut used_here: Vec<usize> = Vec::new();
        for _ in 0..poisson(self.spec.contacts_per_client, &mut self.rng) {
            let reusable: Vec<usize> = (0..pool.len()).filter(|i| !used_here.contains(i)).collect();
            let person = if !reusable.is_empty() && self.rng.gen_bool(0.5) {
                reusable[self.rng.gen_range(0..reusable.len())]
            } else {
                let p = self.client_person(profile);
                pool.push(p);
                pool.len() - 1
            };
            used_here.push(person);
            let id = self.contact(s, company_id, created, &pool[person]);
            self.truth.contacts.insert((system, id), client);
            contact_ids.push(id);
        }

        for _ in 0..poisson(self.spec.tasks_per_client, &mut self.rng) {
            let contact = if !contact_ids.is_empty() && self.rng.gen_bool(0.4) {
                Some(contact_ids[self.rng.gen_range(0..contact_ids.len())])
            } else {
                None
            };
            let title = self.task_title(profile, false);
            let id = self.task(s, created, title, Some(company_id), contact, None);
            self.truth.tasks.insert((system, id), Some(client));
        }
        if self.rng.gen_bool(0.05) {
            // A task about nobody in particular (an internal to-do).
            let title = self.task_title(profile, false);
            let id = self.task(s, created, title, None, None, None);
            self.truth.tasks.insert((system, id), None);
        }
        company_id
    }

    /// The client's issues in Jira, each naming it by a domain, a name or a CRM id.
    fn issues(&mut self, s: usize, client: usize, profile: &Profile, crm_ids: &[(System, u64)]) {
        let system = self.systems[s].system;
        let since = self.now_ms - 730 * DAY_MS;
        for _ in 0..poisson(self.spec.tasks_per_client, &mut self.rng) {
            let hint = self.client_hint(system, profile, crm_ids);
            let title = self.task_title(profile, true);
            let id = self.task(s, since, title, None, None, Some(hint));
            self.truth.tasks.insert((system, id), Some(client));
        }
        if self.rng.gen_bool(0.15) {
            let title = self.task_title(profile, true);
            let id = self.task(s, since, title, None, None, None);
            self.truth.tasks.insert((system, id), None);
        }
    }

    /// How a person of `tracker` names the client: a CRM record's id, a website or a name.
    fn client_hint(&mut self, tracker: System, profile: &Profile, crm_ids: &[(System, u64)]) -> String {
        let roll = self.rng.gen_range(0..10);
        if roll < 3 && !crm_ids.is_empty() {
            let (system, id) = crm_ids[self.rng.gen_range(0..crm_ids.len())];
            return format!("{}:{}{id}", system.vendor(), system.profile().company_ref_prefix);
        }
        if roll < 7 {
            if let Some(site) = profile.typed_website(&mut self.rng) {
                return site;
            }
        }
        profile.typed_name(tracker, &mut self.rng)
    }

    fn contact(&mut self, s: usize, company_id: u64, after: i64, person: &Person) -> u64 {
        let system = self.systems[s].system;
        let latin_share = system.profile().latin_person_share;
        let latin = person.russian && latin_share > 0.0 && self.rng.gen_bool(latin_share);
        let (first_name, last_name) = if latin {
            (translit(&person.first), translit(&person.last))
        } else {
            (person.first.clone(), person.last.clone())
        };
        let mut emails = Vec::new();
        if self.rng.gen_bool(0.9) {
            emails.push(typed_email(&person.email, &mut self.rng));
        }
        if self.rng.gen_bool(0.1) {
            let free = pick(&mut self.rng, names::FREE_MAIL);
            emails.push(format!("{}{}@{free}", domain_label(&translit(&person.last)), self.rng.gen_range(70..100)));
        }
        let phones = self.typed_phones(std::slice::from_ref(&person.phone), 0.75);
        let created = self.between(after);
        let contact = SimContact {
            id: self.systems[s].data.contacts.len() as u64 + 1,
            first_name,
            last_name,
            emails,
            phones,
            company_id: Some(company_id),
            owner_id: self.user(s, 0.85),
            created_at: self.time(created),
            updated_at: self.later_time(created),
        };
        let id = contact.id;
        self.systems[s].data.contacts.push(contact);
        id
    }

    fn task(
        &mut self,
        s: usize,
        after: i64,
        title: String,
        company_id: Option<u64>,
        contact_id: Option<u64>,
        client_hint: Option<String>,
    ) -> u64 {
        let status = match self.rng.gen_range(0..20) {
            0..=6 => TaskStatus::Todo,
            7..=11 => TaskStatus::InProgress,
            12..=17 => TaskStatus::Done,
            _ => TaskStatus::Cancelled,
        };
        let priority = match self.rng.gen_range(0..100) {
            0..=24 => Priority::Low,
            25..=69 => Priority::Medium,
            70..=91 => Priority::High,
            _ => Priority::Urgent,
        };
        // Due dates from four months ago (overdue if still open) to three months ahead.
        let due = self
            .rng
            .gen_bool(0.8)
            .then(|| self.now_ms + self.rng.gen_range(-120 * DAY_MS..90 * DAY_MS))
            .map(|ms| self.time(ms / 60_000 * 60_000));
        let labels = (0..self.rng.gen_range(0..3)).map(|_| pick(&mut self.rng, names::LABELS).to_string()).fold(
            Vec::new(),
            |mut acc: Vec<String>, l| {
                if !acc.contains(&l) {
                    acc.push(l);
                }
                acc
            },
        );
        let description = self.rng.gen_bool(0.4).then(|| {
            let n = self.rng.gen_range(1..1000);
            format!("{title}. См. переписку / see thread #{n}.")
        });
        let created = self.between(after);
        let task = SimTask {
            id: self.systems[s].data.tasks.len() as u64 + 1,
            title,
            description,
            status,
            priority,
            due,
            assignee_id: self.user(s, 0.9),
            reporter_id: self.user(s, 0.95),
            company_id,
            contact_id,
            client_hint,
            labels,
            created_at: self.time(created),
            updated_at: self.later_time(created),
        };
        let id = task.id;
        self.systems[s].data.tasks.push(task);
        id
    }

    fn task_title(&mut self, profile: &Profile, issue: bool) -> String {
        let bank = if issue {
            names::ISSUES
        } else if profile.country == Country::Ru {
            names::RU_TASKS
        } else {
            names::EN_TASKS
        };
        let action = pick(&mut self.rng, bank);
        if self.rng.gen_bool(0.5) {
            format!("{action}: {}", profile.root)
        } else {
            action.to_string()
        }
    }

    fn client_person(&mut self, profile: &Profile) -> Person {
        let russian = if profile.country == Country::Ru { self.rng.gen_bool(0.92) } else { self.rng.gen_bool(0.05) };
        let (first, last) = self.person_name(russian);
        let (f, l) = (domain_label(&translit(&first)), domain_label(&translit(&last)));
        let email = match &profile.domain {
            Some(d) if self.rng.gen_bool(0.8) => match self.rng.gen_range(0..3) {
                0 => format!("{f}.{l}@{d}"),
                1 => format!("{}.{l}@{d}", f.chars().next().unwrap_or('x')),
                _ => format!("{l}@{d}"),
            },
            _ => format!("{f}.{l}{}@{}", self.rng.gen_range(1..99), pick(&mut self.rng, names::FREE_MAIL)),
        };
        let phone = PhoneNum::random(profile.country, true, &mut self.rng);
        Person { first, last, email, phone, russian }
    }

    // ----- small draws ----------------------------------------------------------------

    /// Each phone kept with probability `keep`, in a random format.
    fn typed_phones(&mut self, phones: &[PhoneNum], keep: f64) -> Vec<String> {
        let mut out = Vec::with_capacity(phones.len());
        for p in phones {
            if self.rng.gen_bool(keep) {
                out.push(p.typed(&mut self.rng));
            }
        }
        out
    }

    /// Each e-mail kept with probability `keep`, with typing variations.
    fn typed_emails(&mut self, emails: &[String], keep: f64) -> Vec<String> {
        let mut out = Vec::with_capacity(emails.len());
        for e in emails {
            if self.rng.gen_bool(keep) {
                out.push(typed_email(e, &mut self.rng));
            }
        }
        out
    }

    /// A random instant in `[after, now]`.
    fn later_time(&mut self, after: i64) -> DateTime<Utc> {
        let ms = self.between(after);
        self.time(ms)
    }

    /// A random user of system `s`, or `None` with probability `1 - share`.
    fn user(&mut self, s: usize, share: f64) -> Option<u64> {
        let users = self.systems[s].data.users.len() as u64;
        (users > 0 && self.rng.gen_bool(share)).then(|| self.rng.gen_range(1..=users))
    }

    /// A random instant in `[after, now]` (epoch ms).
    fn between(&mut self, after: i64) -> i64 {
        if after >= self.now_ms {
            self.now_ms
        } else {
            self.rng.gen_range(after..=self.now_ms)
        }
    }

    fn time(&self, ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap_or(self.spec.now)
    }
}

pub(super) fn pick<'b>(rng: &mut impl Rng, bank: &[&'b str]) -> &'b str {
    bank[rng.gen_range(0..bank.len())]
}

/// A Poisson draw (Knuth's method; the means here are small).
fn poisson(mean: f64, rng: &mut impl Rng) -> usize {
    if !mean.is_finite() || mean <= 0.0 {
        return 0;
    }
    let limit = (-mean.min(50.0)).exp();
    let mut k = 0;
    let mut p: f64 = rng.gen();
    while p > limit {
        k += 1;
        p *= rng.gen::<f64>();
    }
    k
}
