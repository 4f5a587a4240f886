//! The portal's property definitions and `GET /crm/v3/properties/{objectType}/{propertyName}`.
//!
//! A company property that does not exist is refused by writes (tasks ignore unknown
//! properties, as the tasks guide says). A property that requires unique values
//! (`hasUniqueValue`) is enforced: a write giving a second live record a value another
//! already holds is refused with **409** `CONFLICT`, the whole batch unwritten, and only such
//! a property can key `batch/upsert` or an `idProperty` read. The operator's custom
//! properties (the tax id, zveno's idempotency handle) are defined when the portal starts,
//! and tests add, change or delete them as an operator would in Settings → Properties.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::portal::{Bucket, Portal, SimOptions};
use super::routes::object_or_400;
use super::store::Db;
use crate::dto::object::Object;

/// Company properties the simulated portal defines (besides the custom ones).
const COMPANY_PROPERTIES: [&str; 10] = [
    "name",
    "domain",
    "website",
    "phone",
    "hubspot_owner_id",
    "description",
    "industry",
    "city",
    "country",
    "numberofemployees",
];

/// One property definition: what the simulator enforces of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Defined by the operator rather than HubSpot.
    pub custom: bool,
    /// "Require unique values for this property".
    pub unique: bool,
}

/// The portal's property definitions, by object type and internal name.
#[derive(Debug, Clone, Default)]
pub struct Schema(BTreeMap<(Object, String), Property>);

impl Schema {
    /// HubSpot's own company and task properties, the tax-id property, and the handle
    /// property `options` name (unique on companies; tasks cannot require unique values).
    pub fn for_portal(options: &SimOptions) -> Self {
        let mut schema = Self::default();
        let own = Property { custom: false, unique: false };
        for name in COMPANY_PROPERTIES {
            schema.0.insert((Object::Companies, name.to_string()), own);
        }
        for object in [Object::Tasks, Object::Contacts] {
            for name in object.properties() {
                schema.0.insert((object, name.to_string()), own);
            }
        }
        schema.define(Object::Companies, &options.tax_id_property, false);
        if let Some(name) = &options.handle_property {
            schema.define(Object::Companies, name, true);
            schema.define(Object::Tasks, name, false);
        }
        schema
    }

    /// Defines (or redefines) a custom property.
    pub fn define(&mut self, object: Object, name: &str, unique: bool) {
        self.0.insert((object, name.to_string()), Property { custom: true, unique });
    }

    /// Deletes a property.
    pub fn remove(&mut self, object: Object, name: &str) {
        self.0.remove(&(object, name.to_string()));
    }

    /// The definition of `name` on `object`.
    pub fn get(&self, object: Object, name: &str) -> Option<Property> {
        self.0.get(&(object, name.to_string())).copied()
    }
}

impl Db {
    /// The live record of `object` (other than `except`) whose `name` holds `value`.
    pub fn holder(&self, object: Object, name: &str, value: &str, except: Option<u64>) -> Option<u64> {
        self.objects
            .get(&object)?
            .values()
            .find(|o| o.archived_ms.is_none() && Some(o.id) != except && o.props.get(name).is_some_and(|v| v == value))
            .map(|o| o.id)
    }

    /// The first unique property among `props` whose value another live record of
    /// `object` holds: HubSpot's message for it.
    pub fn unique_conflict(
        &self,
        object: Object,
        props: &BTreeMap<String, String>,
        except: Option<u64>,
    ) -> Option<String> {
        props.iter().filter(|(_, v)| !v.is_empty()).find_map(|(name, value)| {
            let unique = self.schema.get(object, name).is_some_and(|p| p.unique);
            let holder = self.holder(object, name, value, except).filter(|_| unique)?;
            Some(format!(
                "A {} with the unique value \"{value}\" for property \"{name}\" already exists. Existing ID: {holder}",
                super::render::singular(object)
            ))
        })
    }
}

/// `GET /crm/v3/properties/{objectType}/{propertyName}`.
pub async fn read(
    State(p): State<Arc<Portal>>,
    Path((object, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let endpoint = format!("property {object}");
    if let Err(r) = p.admit(&headers, Bucket::Default, &endpoint) {
        return *r;
    }
    let object = match object_or_400(&p, &object, &endpoint, Bucket::Default) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let found = p.db().schema.get(object, &name);
    match found {
        Some(property) => p.reply(&endpoint, Bucket::Default, StatusCode::OK, Some(render(object, &name, property))),
        None => p.error(
            &endpoint,
            Bucket::Default,
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            &format!("Unable to find property {name} for object type {}", object.name()),
        ),
    }
}

/// A property as HubSpot's properties API renders it.
fn render(object: Object, name: &str, property: Property) -> Value {
    let group = match object {
        Object::Companies => "companyinformation",
        Object::Contacts => "contactinformation",
        Object::Tasks => "task",
    };
    json!({
        "name": name,
        "label": name,
        "type": "string",
        "fieldType": "text",
        "groupName": group,
        "description": "",
        "options": [],
        "displayOrder": -1,
        "calculated": false,
        "externalOptions": false,
        "hasUniqueValue": property.unique,
        "hidden": false,
        "hubspotDefined": !property.custom,
        "modificationMetadata": {"archivable": property.custom, "readOnlyDefinition": !property.custom, "readOnlyValue": false},
        "formField": property.custom,
        "archived": false,
        "createdAt": "2026-01-12T09:30:00.000Z",
        "updatedAt": "2026-01-12T09:30:00.000Z",
    })
}
