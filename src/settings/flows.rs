//! `[[flows]]`: write-back flows, validated into [`Flow`]s.
//!
//! ```toml
//! [[flows]]
//! name = "clients-to-portal"
//! kind = "client"                 # client | task
//! from = ["hubspot"]              # connector names whose records are the source
//! to = "bitrix24"                 # the connector written to
//! create = true                   # default false
//! fields = ["name", "tax_id", "domains", "phones", "emails", "owner"]
//! direction = "one-way"           # default; or "two-way"
//! on_conflict = "source"          # source | target | most_recent | manual (default)
//! apply = false                   # default: `zveno run` only plans
//! on_delete = "ignore"            # default; or "archive"
//! ```
//!
//! `fields` left out means every field of the kind the target (and, two-way, each source)
//! can hold, except task `labels`, written only when named (people add labels on the
//! target too; a flow adds its own and removes only labels it wrote). A field a connector cannot hold (Pipedrive organizations keep no phones) is a
//! problem with its path, not a flow that silently never converges.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use zveno_connector::factory::VendorEntry;
use zveno_connector::{one_or_many, ConfigProblem, Kind};

use super::raw::parse_with_paths;
use crate::flows::{Direction, Flow, OnConflict, OnDelete};

/// One `[[flows]]` table as written.
#[derive(Debug, Clone, Deserialize)]
struct RawFlow {
    name: String,
    kind: String,
    #[serde(deserialize_with = "one_or_many")]
    from: Vec<String>,
    to: String,
    #[serde(default)]
    create: bool,
    fields: Option<Vec<String>>,
    direction: Option<String>,
    on_conflict: Option<String>,
    #[serde(default)]
    apply: bool,
    on_delete: Option<String>,
}

/// Validates every `[[flows]]` table against the configured connectors (`connectors`:
/// name → its vendor's entry, `None` for an unknown vendor, which is reported elsewhere).
pub(super) fn validate(
    raw: &[serde_json::Value],
    connectors: &BTreeMap<String, Option<VendorEntry>>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<Flow> {
    let mut flows = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, value) in raw.iter().enumerate() {
        let path = format!("flows[{i}]");
        let Some(flow) = parse_with_paths::<RawFlow>(value, &path, problems) else { continue };
        if let Some(first) = names.get(&flow.name) {
            problems.push(ConfigProblem::new(
                format!("{path}.name"),
                format!("{:?} is already the name of flows[{first}]", flow.name),
            ));
        } else {
            names.insert(flow.name.clone(), i);
        }
        if let Some(flow) = validate_one(&path, flow, connectors, problems) {
            flows.push(flow);
        }
    }
    flows
}

fn validate_one(
    path: &str,
    raw: RawFlow,
    connectors: &BTreeMap<String, Option<VendorEntry>>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Flow> {
    let before = problems.len();
    let at = |key: &str| format!("{path}.{key}");
    if raw.name.trim().is_empty() {
        problems.push(ConfigProblem::new(at("name"), "must not be empty"));
    }
    let kind = match raw.kind.parse::<Kind>() {
        Ok(kind @ (Kind::Client | Kind::Task)) => Some(kind),
        _ => {
            problems.push(ConfigProblem::new(
                at("kind"),
                format!("{:?} is not a kind flows write (client, task)", raw.kind),
            ));
            None
        }
    };
    let direction = choice(
        &at("direction"),
        raw.direction.as_deref(),
        Direction::OneWay,
        Direction::parse,
        Direction::names,
        problems,
    );
    let on_conflict = choice(
        &at("on_conflict"),
        raw.on_conflict.as_deref(),
        OnConflict::Manual,
        OnConflict::parse,
        OnConflict::names,
        problems,
    );
    let on_delete = choice(
        &at("on_delete"),
        raw.on_delete.as_deref(),
        OnDelete::Ignore,
        OnDelete::parse,
        OnDelete::names,
        problems,
    );
    let configured = || connectors.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut vendor_of = |key: String, name: &str| -> Option<Option<VendorEntry>> {
        let found = connectors.get(name).copied();
        if found.is_none() {
            problems.push(ConfigProblem::new(
                key,
                format!("{name:?} names no configured connector (configured: {})", configured()),
            ));
        }
        found
    };
    let target = vendor_of(at("to"), &raw.to);
    let mut sources = Vec::new();
    for (i, name) in raw.from.iter().enumerate() {
        sources.push((format!("{}[{i}]", at("from")), name.clone(), vendor_of(format!("{}[{i}]", at("from")), name)));
    }
    if raw.from.is_empty() {
        problems.push(ConfigProblem::new(at("from"), "name at least one source connector"));
    }
    let mut seen = BTreeSet::new();
    for (key, name, _) in &sources {
        if *name == raw.to {
            problems.push(ConfigProblem::new(key.clone(), format!("{name:?} is also the flow's target (`to`)")));
        } else if !seen.insert(name.clone()) {
            problems.push(ConfigProblem::new(key.clone(), format!("{name:?} is listed twice")));
        }
    }
    let kind = kind?;
    let model = zveno_connector::writable_model_fields(kind);
    let opt_in = zveno_connector::opt_in_model_fields(kind);
    let target_fields = match target {
        Some(Some(entry)) => {
            let fields = (entry.writable_fields)(kind);
            if fields.is_empty() {
                problems.push(ConfigProblem::new(
                    at("to"),
                    format!("{:?} ({}) does not write {kind} records", raw.to, entry.vendor),
                ));
            }
            Some((entry, fields))
        }
        _ => None,
    };
    // Two-way flows write the target's edits back, so every source must hold the fields too.
    let holders: Vec<(String, &str, &'static [&'static str])> = target_fields
        .iter()
        .map(|(entry, fields)| (raw.to.clone(), entry.vendor, *fields))
        .chain(sources.iter().filter(|_| direction == Direction::TwoWay).filter_map(|(_, name, entry)| {
            entry.flatten().map(|e| (name.clone(), e.vendor, (e.writable_fields)(kind)))
        }))
        .collect();
    let fields = match raw.fields {
        Some(listed) => {
            if listed.is_empty() {
                problems
                    .push(ConfigProblem::new(at("fields"), "name at least one field (or leave `fields` out for all)"));
            }
            let mut seen = BTreeSet::new();
            for (i, field) in listed.iter().enumerate() {
                let key = format!("{}[{i}]", at("fields"));
                if !model.contains(&field.as_str()) && !opt_in.contains(&field.as_str()) {
                    let known: Vec<&str> = model.iter().chain(opt_in).copied().collect();
                    problems.push(ConfigProblem::new(
                        key,
                        format!("unknown {kind} field {field:?} (expected one of {})", known.join(", ")),
                    ));
                    continue;
                }
                if !seen.insert(field.as_str()) {
                    problems.push(ConfigProblem::new(key, format!("{field:?} is listed twice")));
                    continue;
                }
                for (connector, vendor, holds) in &holders {
                    if !holds.is_empty() && !holds.contains(&field.as_str()) {
                        problems.push(ConfigProblem::new(
                            key.clone(),
                            format!(
                                "{connector:?} ({vendor}) cannot hold the {kind} field {field:?} (it holds {})",
                                holds.join(", ")
                            ),
                        ));
                    }
                }
            }
            listed
        }
        None => model
            .iter()
            .filter(|f| holders.iter().all(|(_, _, holds)| holds.contains(f)))
            .map(|f| f.to_string())
            .collect(),
    };
    (problems.len() == before).then_some(Flow {
        name: raw.name,
        kind,
        from: raw.from,
        to: raw.to,
        create: raw.create,
        fields,
        direction,
        on_conflict,
        apply: raw.apply,
        on_delete,
    })
}

/// Reads an enumerated key: absent gives `default`, an unknown name a problem listing the
/// names it may take.
fn choice<T: Copy>(
    path: &str,
    value: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
    problems: &mut Vec<ConfigProblem>,
) -> T {
    match value {
        None => default,
        Some(name) => parse(name).unwrap_or_else(|| {
            problems.push(ConfigProblem::new(path, format!("unknown value {name:?} (expected one of {})", names())));
            default
        }),
    }
}
