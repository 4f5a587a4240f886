//! Pipedrive records ↔ the common model. Pure: no I/O, no clock, table-tested.
//!
//! The house rule holds: **a bad field is dropped with a warning on the record; the record
//! is never dropped** — only a record whose shape cannot be read at all (an id missing, a
//! field of the wrong JSON type) becomes a `RecordError`.

mod read;
mod users;
mod write;

use std::collections::BTreeMap;

use phonenumber::country::Id as Region;
use zveno_connector::TaskStatus;

pub use users::Users;
pub use write::WriteBody;

/// The mapping settings, from config.
#[derive(Debug, Clone, Default)]
pub struct MapperSettings {
    /// The connector instance name records are stamped with.
    pub connector: String,
    /// The 40-character key of the organization custom field holding the tax id.
    pub tax_id_field: Option<String>,
    /// Region for phones written without a country code.
    pub region: Option<Region>,
    /// The company subdomain, for deep links.
    pub company_domain: Option<String>,
    /// Status overrides (`open` / `done` → common status).
    pub status_map: BTreeMap<String, TaskStatus>,
}

/// Maps one connector instance's records.
#[derive(Debug, Clone)]
pub struct Mapper {
    settings: MapperSettings,
}

impl Mapper {
    /// A mapper for one connector instance.
    pub fn new(settings: MapperSettings) -> Self {
        Self { settings }
    }

    /// The custom field holding the tax id, if configured.
    pub fn tax_id_field(&self) -> Option<&str> {
        self.settings.tax_id_field.as_deref()
    }

    /// The common status of an activity that is `done` (or not): the table, with the
    /// overrides from config.
    pub fn status(&self, done: bool) -> TaskStatus {
        let key = if done { "done" } else { "open" };
        let default = if done { TaskStatus::Done } else { TaskStatus::Todo };
        self.settings.status_map.get(key).copied().unwrap_or(default)
    }

    /// Whether a common status is written as `done: true`: whatever the table reads as
    /// done-like (`done`, and `cancelled`, which Pipedrive cannot express otherwise).
    pub fn is_done(&self, status: TaskStatus) -> bool {
        if self.status(true) == status {
            return true;
        }
        self.status(false) != status && !status.is_open()
    }
}
