//! HubSpot records ↔ the common model. Pure: no I/O, no clock, table-tested.
//!
//! Every HubSpot property value is a string (or `null`), so every field is parsed here:
//! epoch-ms or ISO dates, `;`-joined multi-values, phones in whatever format a user typed,
//! e-mails that are not e-mails, HTML task bodies. The rule is the house rule: **a bad field
//! is dropped with a warning on the record; the record is never dropped** (only a record
//! whose envelope cannot be read at all becomes a `RecordError`, see [`crate::dto`]).

mod owners;
mod read;
mod tables;
pub mod values;
mod write;

use std::collections::BTreeMap;

use phonenumber::country::Id as Region;
use zveno_connector::{Priority, TaskStatus};

pub use owners::Owners;
pub use read::canonical_raw;
pub use tables::{priority_table, status_table, PriorityTable, StatusTable};
pub use write::WriteInput;

/// What the mapping needs from the connector's config.
#[derive(Debug, Clone)]
pub struct Mapper {
    connector: String,
    tax_id_properties: Vec<String>,
    region: Option<Region>,
    portal_id: Option<u64>,
    statuses: StatusTable,
    priorities: PriorityTable,
}

/// The mapping settings, from config.
#[derive(Debug, Clone, Default)]
pub struct MapperSettings {
    /// The connector instance name records are stamped with.
    pub connector: String,
    /// The company properties holding the tax id (e.g. `inn`), first trusted first.
    pub tax_id_properties: Vec<String>,
    /// Region for phone numbers written without a country code.
    pub region: Option<Region>,
    /// The portal (hub) id, for deep links.
    pub portal_id: Option<u64>,
    /// Status overrides (`hs_task_status` value → common status).
    pub status_map: BTreeMap<String, TaskStatus>,
    /// Priority overrides (`hs_task_priority` value → common priority).
    pub priority_map: BTreeMap<String, Priority>,
}

impl Mapper {
    /// A mapper for one connector instance.
    pub fn new(settings: MapperSettings) -> Self {
        Self {
            statuses: status_table(&settings.status_map),
            priorities: priority_table(&settings.priority_map),
            connector: settings.connector,
            tax_id_properties: settings.tax_id_properties,
            region: settings.region,
            portal_id: settings.portal_id,
        }
    }

    /// The custom tax-id properties (pulls ask for them by name).
    pub fn tax_id_properties(&self) -> &[String] {
        &self.tax_id_properties
    }
}
