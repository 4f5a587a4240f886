//! Organization field definitions and `GET /api/v2/organizationFields` (vendor note §3.7):
//! Pipedrive's own fields plus the custom ones the operator made (the tax id, zveno's
//! idempotency handle), keyed by 40-character hashes. Tests add and delete custom fields as
//! an operator would in Settings → Data fields.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::company::{Charge, Company, SimOptions};
use crate::client::cost;

/// One field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `field_code`: the key records carry it under.
    pub code: String,
    /// `field_name`.
    pub name: String,
    /// `field_type` (`varchar` is Text).
    pub field_type: String,
    /// Made by a person.
    pub custom: bool,
}

/// Pipedrive's own organization fields (a subset) and the custom fields `options` name.
pub fn for_company(options: &SimOptions) -> Vec<Field> {
    let own = [("name", "Name", "varchar"), ("owner_id", "Owner", "user"), ("address", "Address", "address")];
    let mut fields: Vec<Field> = own
        .iter()
        .map(|(code, name, field_type)| Field {
            code: code.to_string(),
            name: name.to_string(),
            field_type: field_type.to_string(),
            custom: false,
        })
        .collect();
    let custom = [Some((&options.tax_id_field, "INN")), options.idempotency_field.as_ref().map(|k| (k, "zveno id"))];
    for (code, name) in custom.into_iter().flatten() {
        fields.push(Field { code: code.clone(), name: name.into(), field_type: "varchar".into(), custom: true });
    }
    fields
}

/// `GET /api/v2/organizationFields`: every field on one page (a company has far fewer than
/// the 500 a page holds).
pub async fn organization_fields(State(c): State<Arc<Company>>, headers: HeaderMap, RawQuery(_): RawQuery) -> Response {
    let endpoint = "organizationFields";
    if let Err(r) = c.admit(&headers, None, Charge { endpoint, tokens: cost::FIELDS }) {
        return *r;
    }
    let data: Vec<Value> = c
        .db()
        .org_fields
        .iter()
        .map(|f| {
            json!({"field_name": f.name, "field_code": f.code, "field_type": f.field_type, "options": null,
                   "subfields": null, "is_custom_field": f.custom, "is_optional_response_field": false})
        })
        .collect();
    c.reply(endpoint, StatusCode::OK, json!({"success": true, "data": data, "additional_data": {"next_cursor": null}}))
}
