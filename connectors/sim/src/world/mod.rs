//! A seeded synthetic world with ground truth.
//!
//! [`World::generate`] creates true clients (Russian and English names, legal forms, INNs,
//! domains), then spreads them over vendor systems with the variations real CRMs have:
//! `ООО «Ромашка»` in one system and `Romashka LLC` in another, phones in many formats,
//! websites with and without `www`/`https`, e-mail case. It adds **decoys** (different
//! companies with near-identical names but different tax ids and domains), contacts, and
//! tasks with statuses and past/future due dates. The [`GroundTruth`] says which vendor
//! records are the same client, so tests can measure matching precision and recall.
//!
//! Vendor simulators are seeded from a [`SystemData`]: plain records with sequential ids
//! per system, which each simulator turns into its vendor's own JSON shape.

mod generate;
mod identity;
mod names;
#[cfg(test)]
mod tests;
mod variants;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zveno_connector::{Priority, TaskStatus};

/// How one vendor's records look in a generated world. Each vendor crate's simulator
/// provides its own (the daemon's registry lists them); the generator knows no vendor.
#[derive(Debug)]
pub struct SystemProfile {
    /// The vendor name (`vendor = "..."`).
    pub vendor: &'static str,
    /// Where the system sorts among a world's systems (ties by vendor name). Fixed per
    /// vendor, so a seed gives the same world, in the same order, whatever else is listed.
    pub rank: u8,
    /// Whether it holds companies and contacts; a tracker holds only tasks, whose client
    /// is a free-text hint (a CRM id, a website or a name).
    pub crm: bool,
    /// Share of companies whose tax id is filled in.
    pub tax_id_share: f64,
    /// Share of Russian company names typed in Latin letters.
    pub latin_name_share: f64,
    /// Share of Russian people's names typed in Latin letters (0: never).
    pub latin_person_share: f64,
    /// How people type this system's company ids in a tracker's client field, before the
    /// number: `<vendor>:<prefix><id>`.
    pub company_ref_prefix: &'static str,
}

/// A vendor system in the world: a handle on its [`SystemProfile`], compared by vendor.
#[derive(Clone, Copy)]
pub struct System(&'static SystemProfile);

impl System {
    /// The system a profile describes.
    pub const fn new(profile: &'static SystemProfile) -> Self {
        Self(profile)
    }

    /// Its profile.
    pub fn profile(self) -> &'static SystemProfile {
        self.0
    }

    /// The vendor name.
    pub fn vendor(self) -> &'static str {
        self.0.vendor
    }

    fn key(self) -> (u8, &'static str) {
        (self.0.rank, self.0.vendor)
    }
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.vendor)
    }
}

impl PartialEq for System {
    fn eq(&self, other: &Self) -> bool {
        self.0.vendor == other.0.vendor
    }
}

impl Eq for System {}

impl std::hash::Hash for System {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.vendor.hash(state);
    }
}

impl PartialOrd for System {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for System {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Serialize for System {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.vendor)
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorldSpec {
    /// RNG seed: the same spec always gives the same world.
    pub seed: u64,
    /// Number of true clients (decoys included).
    pub clients: usize,
    /// Systems to spread clients over.
    pub systems: Vec<System>,
    /// Fraction of clients that are decoys of another client.
    pub decoy_rate: f64,
    /// Average contacts per client in each CRM it appears in.
    pub contacts_per_client: f64,
    /// Average tasks per client in each system it appears in (CRM tasks and Jira issues).
    pub tasks_per_client: f64,
    /// The instant "now" for due dates and timestamps.
    pub now: DateTime<Utc>,
}

impl WorldSpec {
    /// A spec with sensible defaults for `clients` clients over `systems`.
    pub fn new(seed: u64, clients: usize, systems: &[System]) -> Self {
        Self {
            seed,
            clients,
            systems: systems.to_vec(),
            decoy_rate: 0.05,
            contacts_per_client: 1.5,
            tasks_per_client: 2.0,
            now: DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
        }
    }
}

/// A user (owner / assignee) of one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimUser {
    /// The system's user id.
    pub id: u64,
    /// E-mail (the same person has the same e-mail in every system).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

/// A company as one system stores it. Values are raw, in the formats users type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCompany {
    /// The system's id (sequential from 1 per system).
    pub id: u64,
    /// Name as typed (`ООО «Ромашка»`, `Romashka LLC`, `romashka`).
    pub name: String,
    /// Website as typed (`https://www.romashka.ru/`, `romashka.ru`).
    pub website: Option<String>,
    /// Phones as typed (`8 (495) 123-45-67`, `+7 495 1234567`).
    pub phones: Vec<String>,
    /// E-mails as typed (case varies).
    pub emails: Vec<String>,
    /// INN (or other tax id) when this system records it.
    pub tax_id: Option<String>,
    /// Owner user id.
    pub owner_id: Option<u64>,
    /// Created time.
    pub created_at: DateTime<Utc>,
    /// Last modified time.
    pub updated_at: DateTime<Utc>,
}

/// A contact as one system stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimContact {
    /// The system's id.
    pub id: u64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mails as typed.
    pub emails: Vec<String>,
    /// Phones as typed.
    pub phones: Vec<String>,
    /// The company (same system) it belongs to.
    pub company_id: Option<u64>,
    /// Owner user id.
    pub owner_id: Option<u64>,
    /// Created time.
    pub created_at: DateTime<Utc>,
    /// Last modified time.
    pub updated_at: DateTime<Utc>,
}

/// A task (Jira: an issue) as one system stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimTask {
    /// The system's id.
    pub id: u64,
    /// Title / summary.
    pub title: String,
    /// Plain-text description.
    pub description: Option<String>,
    /// Common status; each simulator renders it in its vendor's vocabulary.
    pub status: TaskStatus,
    /// Priority.
    pub priority: Priority,
    /// Due time (past or future), if any.
    pub due: Option<DateTime<Utc>>,
    /// Assignee user id.
    pub assignee_id: Option<u64>,
    /// Reporter / creator user id.
    pub reporter_id: Option<u64>,
    /// The company (same system) it is linked to, for CRMs with associations.
    pub company_id: Option<u64>,
    /// The contact (same system) it is linked to.
    pub contact_id: Option<u64>,
    /// For Jira: the raw value naming the client (a domain, a name or a CRM id).
    pub client_hint: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Created time.
    pub created_at: DateTime<Utc>,
    /// Last modified time.
    pub updated_at: DateTime<Utc>,
}

/// Everything one system holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemData {
    /// Users.
    pub users: Vec<SimUser>,
    /// Companies (empty for Jira).
    pub companies: Vec<SimCompany>,
    /// Contacts (empty for Jira).
    pub contacts: Vec<SimContact>,
    /// Tasks / issues.
    pub tasks: Vec<SimTask>,
}

/// A true client of the world (what identity resolution should recover).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueClient {
    /// Index in [`World::clients`].
    pub id: usize,
    /// Canonical name.
    pub name: String,
    /// Registrable domain, as [`zveno_connector::Domain`] normalises it (lower-case ASCII;
    /// `.рф` sites in punycode), so it compares equal to a parsed website.
    pub domain: Option<String>,
    /// Tax id, as [`zveno_connector::TaxId`] normalises it (INN digits, `GB123456789`).
    pub tax_id: Option<String>,
    /// If this client is a decoy, the client it imitates.
    pub decoy_of: Option<usize>,
}

/// Which vendor records belong to which true client.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroundTruth {
    /// (system, company id) → true client id.
    pub companies: BTreeMap<(System, u64), usize>,
    /// (system, contact id) → true client id of its company.
    pub contacts: BTreeMap<(System, u64), usize>,
    /// (system, task id) → true client id it concerns (None: concerns no client).
    pub tasks: BTreeMap<(System, u64), Option<usize>>,
}

/// The generated world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct World {
    /// The spec it was generated from.
    pub spec: WorldSpec,
    /// True clients.
    pub clients: Vec<TrueClient>,
    /// What each system holds.
    pub systems: BTreeMap<System, SystemData>,
    /// Which records are the same client.
    pub truth: GroundTruth,
}

impl World {
    /// The data of one system (empty if the world does not include it).
    pub fn system(&self, system: System) -> SystemData {
        self.systems.get(&system).cloned().unwrap_or_default()
    }
}
