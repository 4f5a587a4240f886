//! `zveno link`, `zveno unlink` (an operator's decisions, which every later run respects;
//! see [`crate::admin`], which the API shares), `zveno census approve` (a held mass
//! deletion is real) and `zveno resolve` (resolve identities now).

use std::process::ExitCode;

use super::output;
use crate::admin::{self, Decision};
use crate::resolve::Resolver;
use crate::settings::ResolutionSettings;
use crate::store::Store;

pub(super) async fn link(settings: &ResolutionSettings, a: &str, b: &str, json: bool) -> anyhow::Result<ExitCode> {
    let resolver = resolver(settings).await?;
    let outcome = admin::link(&resolver, a, b).await?;
    if json {
        output::json(&outcome)?;
    } else {
        let before = if outcome.before[0] == outcome.before[1] {
            format!("they already were: {}", shown(&outcome.before[0]))
        } else {
            format!("they were {} and {}", shown(&outcome.before[0]), shown(&outcome.before[1]))
        };
        out!(
            "linked {} and {}: one {} now, {} ({before}). Every later run keeps them together; \
             `zveno unlink` undoes it.",
            outcome.records[0],
            outcome.records[1],
            kind(&outcome),
            shown(&outcome.after[0]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn unlink(settings: &ResolutionSettings, source: &str, json: bool) -> anyhow::Result<ExitCode> {
    let resolver = resolver(settings).await?;
    let outcome = admin::unlink(&resolver, source).await?;
    if json {
        output::json(&outcome)?;
    } else {
        out!(
            "unlinked {}: a {} of its own now, {} (it was in {}). No automatic rule will join it to anything \
             again; `zveno link` can.",
            outcome.records[0],
            kind(&outcome),
            shown(&outcome.after[0]),
            shown(&outcome.before[0]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn approve_census(
    settings: &ResolutionSettings,
    connector: &str,
    kind: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let resolver = resolver(settings).await?;
    let approval = admin::approve_census(&resolver, connector, kind).await?;
    if json {
        output::json(&approval)?;
    } else {
        out!(
            "census of {}/{} approved: {} record(s) tombstoned (held ones stored again since were kept)",
            approval.connector,
            approval.kind,
            approval.tombstoned
        );
        output::resolution(&approval.report)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn resolve(settings: &ResolutionSettings, full: bool, json: bool) -> anyhow::Result<ExitCode> {
    let resolver = resolver(settings).await?;
    let report = if full { resolver.run_full().await? } else { resolver.run().await? };
    if json {
        output::json(&report)?;
    } else {
        output::resolution(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn resolver(settings: &ResolutionSettings) -> anyhow::Result<Resolver> {
    let store = Store::connect(&settings.store_url).await?;
    store.migrate().await?;
    Ok(Resolver::new(store, settings.reconcile.clone(), settings.systems.clone()))
}

/// `client` or `contact`, from the first record's name (`connector:kind:id`).
fn kind(outcome: &Decision) -> &str {
    outcome.records.first().and_then(|r| r.split(':').nth(1)).unwrap_or("record")
}

fn shown(entity: &Option<String>) -> &str {
    entity.as_deref().unwrap_or("not yet resolved")
}
