//! What the write-back convergence tests share, whichever simulators they run on: the size
//! of a run, a task as a person types it, and the end state every run must reach.

use std::collections::BTreeSet;

use serde_json::Value;
use zveno::flows::apply::ApplyReport;
use zveno::flows::Flow;
use zveno::store::{RecordKey, Store};
use zveno_connector::{Task, TaskStatus};

/// Cycles of random edits in a convergence test (`ZVENO_CONVERGENCE_CYCLES`, else `default`).
pub fn convergence_cycles(default: usize) -> usize {
    std::env::var("ZVENO_CONVERGENCE_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Whether an apply wrote nothing (and failed nothing).
pub fn nothing_written(report: &ApplyReport) -> bool {
    report.created == 0 && report.updated == 0 && report.archived == 0 && report.failed.is_empty()
}

/// A task as a person creates or edits it: `title` (empty: unchanged) and `status`.
pub fn task(title: String, status: TaskStatus) -> Task {
    Task::new(title, status)
}

/// The end of a convergence run, for every flow: nothing left to plan; every field that
/// differs between a live source and its live copy has a conflict queued for a person, or
/// is `explained` (flow, copy, field: a difference the flow keeps on purpose, such as a
/// person's edit of a one-way flow's copy); each copy made once. Returns the copies per
/// flow (external ids), for the caller to compare with what the vendor holds.
pub async fn assert_converged(
    store: &Store,
    flows: &[Flow],
    explained: impl Fn(&Flow, &RecordKey, &str) -> bool,
) -> Vec<BTreeSet<String>> {
    let open = store.conflicts(false).await.unwrap();
    let mut copies_per_flow = Vec::new();
    for flow in flows {
        let (input, state) = zveno::flows::load::input(store, flow).await.unwrap();
        let plan = zveno::flows::plan(flow, &input);
        assert!(plan.ops.is_empty(), "{}: {:?}", flow.name, plan.ops);
        for group in input.groups.iter().filter(|g| g.sources.iter().any(|s| !s.deleted)) {
            let sources: Vec<_> = group.sources.iter().filter(|s| !s.deleted).collect();
            for target in group.targets.iter().filter(|t| !t.deleted) {
                for field in &flow.fields {
                    let empty = |v: Option<&Value>| v.is_none_or(Value::is_null);
                    let t = target.values.get(field);
                    let held: Vec<Option<&Value>> =
                        sources.iter().map(|s| s.values.get(field)).filter(|v| !empty(*v)).collect();
                    if empty(t) || held.is_empty() || held.contains(&t) {
                        continue;
                    }
                    let queued =
                        open.iter().any(|c| c.flow == flow.name && c.target == target.key && &c.field == field);
                    assert!(
                        queued || explained(flow, &target.key, field),
                        "{}: {} {field} differs ({held:?} ≠ {t:?}) with no conflict queued",
                        flow.name,
                        target.key
                    );
                }
            }
        }
        let copies: Vec<&RecordKey> = state.pairs.values().collect();
        let distinct: BTreeSet<String> = copies.iter().map(|k| k.external_id.clone()).collect();
        assert_eq!(copies.len(), distinct.len(), "{}: one copy per group", flow.name);
        copies_per_flow.push(distinct);
    }
    copies_per_flow
}
