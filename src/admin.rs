//! An operator's decisions — `link` (two records are one client or contact), `unlink` (a
//! record stands alone) and `approve_census` (a held mass deletion is real) — shared by
//! `zveno link`/`unlink`/`census approve` and `POST /api/v1/admin/...`, so both check and
//! report the same way.
//!
//! Records are named `connector:kind:external_id` (`crm:client:512`,
//! `b24:contact:77`) or, for clients, `connector:external_id` (`crm:512`) — the
//! form a client's card lists its sources in.

use serde::Serialize;
use utoipa::ToSchema;
use zveno_connector::Kind;

use crate::resolve::{source_name, ResolveError, ResolveReport, Resolver};
use crate::store::{RecordKey, Store, StoreError};

/// Why a decision was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request names records wrongly.
    #[error("{0}")]
    BadRequest(String),
    /// A record named is not in the store.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Re-resolving failed (the decision is stored; the next run applies it).
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

/// What a decision did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    /// `link` or `unlink`.
    pub action: &'static str,
    /// The records, as `connector:kind:external_id`.
    pub records: Vec<String>,
    /// The entities the records belonged to before…
    pub before: Vec<Option<String>>,
    /// …and after.
    pub after: Vec<Option<String>>,
    /// The re-resolution the decision caused.
    #[schema(value_type = Object)]
    pub report: ResolveReport,
}

/// Parses `connector:kind:external_id` or `connector:external_id` (a client).
pub fn parse_source(text: &str) -> Result<RecordKey, String> {
    let bad = |why: &str| format!("{text:?} {why} (expected connector:kind:external_id or connector:external_id)");
    let (connector, rest) = text.trim().split_once(':').ok_or_else(|| bad("names no record"))?;
    let (kind, external_id) = match rest.split_once(':') {
        Some((kind, id)) if kind.parse::<Kind>().is_ok() => (kind.parse::<Kind>().map_err(|e| bad(&e))?, id),
        _ => (Kind::Client, rest),
    };
    if connector.is_empty() || external_id.is_empty() {
        return Err(bad("has an empty part"));
    }
    if kind == Kind::Task {
        return Err(bad("is a task; only clients and contacts are linked"));
    }
    Ok(RecordKey { connector: connector.to_string(), kind, external_id: external_id.to_string() })
}

/// Declares records `a` and `b` one client (or contact), and re-resolves them.
pub async fn link(resolver: &Resolver, a: &str, b: &str) -> Result<Decision, AdminError> {
    let a = parse_source(a).map_err(AdminError::BadRequest)?;
    let b = parse_source(b).map_err(AdminError::BadRequest)?;
    if a.kind != b.kind {
        return Err(AdminError::BadRequest(format!(
            "{a} is a {} and {b} a {}: only records of one kind can be linked",
            a.kind, b.kind
        )));
    }
    let records = [a, b];
    decide("link", resolver, &records, |store| {
        let (a, b) = (records[0].clone(), records[1].clone());
        async move { store.add_link(&a, &b).await }
    })
    .await
}

/// What releasing a held census did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CensusApproval {
    /// The connector.
    pub connector: String,
    /// The kind.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// Records tombstoned (held records a later pull stored again are kept).
    pub tombstoned: u64,
    /// The re-resolution the tombstones caused.
    #[schema(value_type = Object)]
    pub report: ResolveReport,
}

/// Releases the held census of `connector`/`kind` (see `store::census`): its records are
/// tombstoned and the unified view re-resolved.
pub async fn approve_census(resolver: &Resolver, connector: &str, kind: &str) -> Result<CensusApproval, AdminError> {
    let kind: Kind = kind.parse().map_err(AdminError::BadRequest)?;
    let Some(tombstoned) = resolver.store().approve_census(connector, kind).await? else {
        return Err(AdminError::NotFound(format!(
            "no census of {connector}/{kind} is held (`zveno connectors` lists the held ones)"
        )));
    };
    let report = resolver.run().await?;
    Ok(CensusApproval { connector: connector.to_string(), kind, tombstoned, report })
}

/// Takes record `source` out of its client (or contact), and re-resolves it.
pub async fn unlink(resolver: &Resolver, source: &str) -> Result<Decision, AdminError> {
    let records = [parse_source(source).map_err(AdminError::BadRequest)?];
    decide("unlink", resolver, &records, |store| {
        let r = records[0].clone();
        async move { store.add_unlink(&r).await }
    })
    .await
}

async fn decide<F, Fut>(
    action: &'static str,
    resolver: &Resolver,
    records: &[RecordKey],
    record: F,
) -> Result<Decision, AdminError>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let store = resolver.store();
    require_live(store, records).await?;
    let before = entities(store, records).await?;
    record(store.clone()).await?;
    let report = resolver.reresolve(records).await?;
    let after = entities(store, records).await?;
    Ok(Decision { action, records: records.iter().map(source_name).collect(), before, after, report })
}

/// Refuses records the store does not hold (a typo would otherwise be a silent no-op).
async fn require_live(store: &Store, records: &[RecordKey]) -> Result<(), AdminError> {
    let rows = store.resolution_rows(records).await?;
    for r in records {
        match rows.iter().find(|row| &row.version.key == r) {
            Some(row) if !row.deleted => {}
            Some(_) => return Err(AdminError::BadRequest(format!("{} is deleted in its system", source_name(r)))),
            None => {
                return Err(AdminError::NotFound(format!(
                    "no record {} in the store (a client's card lists its records' names)",
                    source_name(r)
                )))
            }
        }
    }
    Ok(())
}

async fn entities(store: &Store, records: &[RecordKey]) -> Result<Vec<Option<String>>, StoreError> {
    let links = store.links_of(records).await?;
    Ok(records.iter().map(|r| links.iter().find(|l| &l.key == r).map(|l| l.entity_id.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_a_connector_an_optional_kind_and_an_id() {
        let key = |c: &str, k, id: &str| RecordKey { connector: c.into(), kind: k, external_id: id.into() };
        assert_eq!(parse_source("crm:client:512"), Ok(key("crm", Kind::Client, "512")));
        assert_eq!(parse_source("crm:512"), Ok(key("crm", Kind::Client, "512")));
        assert_eq!(parse_source("b24:contact:77"), Ok(key("b24", Kind::Contact, "77")));
        assert_eq!(parse_source("tracker:OPS:12"), Ok(key("tracker", Kind::Client, "OPS:12")), "ids may hold colons");
        for bad in ["crm", ":5", "crm:", "tracker:task:10001"] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}
