//! What `zveno demo` prints once the unified view is built: how many clients there are,
//! how many were matched across systems, overdue tasks per owner, and how to explore.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use chrono_tz::Tz;
use zveno_connector::Kind;

use super::output;
use crate::resolve::ResolveReport;
use crate::store::{Store, TaskFilter};
use crate::view::ViewTime;

/// Owners listed in the overdue table.
const OWNERS_SHOWN: usize = 10;

pub(super) async fn print(store: &Store, config: &Path, report: &ResolveReport, zone: Tz) -> anyhow::Result<()> {
    let (clients, across) = store.entity_counts(Kind::Client).await?;
    let time = ViewTime::new(zone, Utc::now());
    let overdue = store.tasks(&TaskFilter { overdue_at: Some(time.overdue_at()), ..TaskFilter::default() }).await?;
    out!(
        "\nUnified view: {clients} clients, {across} of them found in more than one system; {} tasks, \
         {} attached to no client; {} overdue.",
        report.tasks,
        report.unattached,
        overdue.len()
    );
    let mut per_owner: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &overdue {
        *per_owner.entry(t.assignee.as_deref().unwrap_or("(unassigned)")).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = per_owner.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !ranked.is_empty() {
        out!("\nOverdue tasks per owner:");
        let rows: Vec<Vec<String>> =
            ranked.iter().take(OWNERS_SHOWN).map(|(owner, n)| vec![(*owner).to_string(), n.to_string()]).collect();
        output::table(&["OWNER", "OVERDUE"], &rows)?;
    }
    let example = store
        .client_entities(&[], None)
        .await?
        .into_iter()
        .max_by(|a, b| a.sources.cmp(&b.sources).then(b.id.cmp(&a.id)));
    let config = config.display();
    out!("\nExplore the unified view:");
    out!("  zveno --config {config} clients [--search TEXT] [--owner EMAIL]");
    out!(
        "  zveno --config {config} client {}",
        example.map_or_else(|| "<ID>".to_string(), |e| format!("{}    # {}, from {} records", e.id, e.name, e.sources))
    );
    out!("  zveno --config {config} tasks --overdue [--assignee EMAIL]");
    out!("  zveno --config {config} link <SOURCE-A> <SOURCE-B>   /   unlink <SOURCE>");
    Ok(())
}
