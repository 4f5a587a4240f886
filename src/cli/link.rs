//! `zveno link`, `zveno unlink` (an operator's decisions, which every later run respects)
//! and `zveno resolve` (resolve identities now).
//!
//! Records are named `connector:kind:external_id` (`hubspot:client:512`,
//! `bitrix24:contact:77`) or, for clients, `connector:external_id` (`hubspot:512`) — the
//! form `zveno client <id>` prints in its source list.

use std::process::ExitCode;

use serde::Serialize;
use zveno_connector::Kind;

use super::output;
use crate::resolve::{source_name, ResolveReport, Resolver};
use crate::settings::ResolutionSettings;
use crate::store::{RecordKey, Store};

/// Parses `connector:kind:external_id` or `connector:external_id` (a client).
pub(super) fn parse_source(text: &str) -> Result<RecordKey, String> {
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

/// What a decision did, for `--json`.
#[derive(Debug, Serialize)]
struct Outcome {
    action: &'static str,
    records: Vec<String>,
    /// Entities the records belonged to before, and after.
    before: Vec<Option<String>>,
    after: Vec<Option<String>>,
    report: ResolveReport,
}

pub(super) async fn link(settings: &ResolutionSettings, a: &str, b: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (a, b) = (parse_source(a).map_err(anyhow::Error::msg)?, parse_source(b).map_err(anyhow::Error::msg)?);
    if a.kind != b.kind {
        anyhow::bail!("{} is a {} and {} a {}: only records of one kind can be linked", a, a.kind, b, b.kind);
    }
    let resolver = resolver(settings).await?;
    let records = [a, b];
    require_live(resolver.store(), &records).await?;
    let before = entities(resolver.store(), &records).await?;
    resolver.store().add_link(&records[0], &records[1]).await?;
    let report = resolver.reresolve(&records).await?;
    let after = entities(resolver.store(), &records).await?;
    let outcome = Outcome { action: "link", records: records.iter().map(source_name).collect(), before, after, report };
    if json {
        output::json(&outcome)?;
    } else {
        let before = if outcome.before[0] == outcome.before[1] {
            format!("they already were: {}", shown(&outcome.before[0]))
        } else {
            format!("they were {} and {}", shown(&outcome.before[0]), shown(&outcome.before[1]))
        };
        println!(
            "linked {} and {}: one {} now, {} ({before}). Every later run keeps them together; \
             `zveno unlink` undoes it.",
            outcome.records[0],
            outcome.records[1],
            records[0].kind,
            shown(&outcome.after[0]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn unlink(settings: &ResolutionSettings, source: &str, json: bool) -> anyhow::Result<ExitCode> {
    let record = parse_source(source).map_err(anyhow::Error::msg)?;
    let resolver = resolver(settings).await?;
    let records = [record];
    require_live(resolver.store(), &records).await?;
    let before = entities(resolver.store(), &records).await?;
    resolver.store().add_unlink(&records[0]).await?;
    let report = resolver.reresolve(&records).await?;
    let after = entities(resolver.store(), &records).await?;
    let outcome =
        Outcome { action: "unlink", records: records.iter().map(source_name).collect(), before, after, report };
    if json {
        output::json(&outcome)?;
    } else {
        println!(
            "unlinked {}: a {} of its own now, {} (it was in {}). No automatic rule will join it to anything \
             again; `zveno link` can.",
            outcome.records[0],
            records[0].kind,
            shown(&outcome.after[0]),
            shown(&outcome.before[0]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn resolve(settings: &ResolutionSettings, full: bool, json: bool) -> anyhow::Result<ExitCode> {
    let resolver = resolver(settings).await?;
    let report = if full { resolver.run_full().await? } else { resolver.run().await? };
    if json {
        output::json(&report)?;
    } else {
        output::resolution(&report);
    }
    Ok(ExitCode::SUCCESS)
}

async fn resolver(settings: &ResolutionSettings) -> anyhow::Result<Resolver> {
    let store = Store::connect(&settings.store_url).await?;
    store.migrate().await?;
    Ok(Resolver::new(store, settings.reconcile.clone(), settings.systems.clone()))
}

/// Refuses records the store does not hold (a typo would otherwise be a silent no-op).
async fn require_live(store: &Store, records: &[RecordKey]) -> anyhow::Result<()> {
    let rows = store.resolution_rows(records).await?;
    for r in records {
        match rows.iter().find(|row| &row.version.key == r) {
            Some(row) if !row.deleted => {}
            Some(_) => anyhow::bail!("{} is deleted in its system", source_name(r)),
            None => anyhow::bail!("no record {} in the store (see `zveno client <id>` for names)", source_name(r)),
        }
    }
    Ok(())
}

async fn entities(store: &Store, records: &[RecordKey]) -> anyhow::Result<Vec<Option<String>>> {
    let links = store.links_of(records).await?;
    Ok(records.iter().map(|r| links.iter().find(|l| &l.key == r).map(|l| l.entity_id.clone())).collect())
}

fn shown(entity: &Option<String>) -> &str {
    entity.as_deref().unwrap_or("not yet resolved")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_a_connector_an_optional_kind_and_an_id() {
        let key = |c: &str, k, id: &str| RecordKey { connector: c.into(), kind: k, external_id: id.into() };
        assert_eq!(parse_source("hubspot:client:512"), Ok(key("hubspot", Kind::Client, "512")));
        assert_eq!(parse_source("hubspot:512"), Ok(key("hubspot", Kind::Client, "512")));
        assert_eq!(parse_source("b24:contact:77"), Ok(key("b24", Kind::Contact, "77")));
        assert_eq!(parse_source("jira:OPS:12"), Ok(key("jira", Kind::Client, "OPS:12")), "ids may hold colons");
        for bad in ["hubspot", ":5", "hubspot:", "jira:task:10001"] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}
