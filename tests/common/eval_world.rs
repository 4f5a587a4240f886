//! A labelled evaluation world (`../shared/eval/world-*`: each vendor's list responses and a
//! `truth.json`) served by the vendors' own simulators, seeded from those responses as they
//! were recorded, for the daemon to pull through its connectors like any portal.
//!
//! Connector instances are named after their vendors, so the truth's `vendor:id` names
//! are the stored records' `connector:external_id`.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use zveno::resolve::eval::Truth;
use zveno_connector::Clock;
use zveno_sim::kit::LaunchedSim;

/// The vendors a labelled world may hold, in the order their connectors sync.
pub const VENDORS: [&str; 4] = ["hubspot", "bitrix24", "pipedrive", "jira"];

/// The labelled world the issue names, wherever this checkout sits: `ZVENO_EVAL_WORLD`,
/// else `shared/eval/world-1001` next to the checkout or a level or two further up
/// (worktrees), else where the project machine keeps it (`/work/shared`, for a fresh
/// clone elsewhere, as CI makes).
pub fn locate() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ZVENO_EVAL_WORLD") {
        return Some(PathBuf::from(dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = manifest.ancestors().skip(1).take(3).map(|up| up.join("shared/eval/world-1001"));
    near.chain([PathBuf::from("/work/shared/eval/world-1001")]).find(|p| p.is_dir())
}

/// A world's recorded responses and truth.
#[derive(Clone)]
pub struct EvalWorld {
    pub truth: Truth,
    /// Each vendor's recorded list responses.
    pub responses: BTreeMap<&'static str, Value>,
    /// The Pipedrive organization field holding the INN (a 40-character key).
    pub pipedrive_inn_field: Option<String>,
    /// The Jira custom field naming clients.
    pub jira_client_field: String,
}

fn read_gz(path: &Path) -> Value {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads the world in `dir`: every vendor file present, and the truth.
pub fn load(dir: &Path) -> EvalWorld {
    let truth_path = dir.join("truth.json");
    let text = std::fs::read_to_string(&truth_path).unwrap_or_else(|e| panic!("{}: {e}", truth_path.display()));
    let truth = Truth::from_json(&text, &truth_path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let raw: Value = serde_json::from_str(&text).unwrap_or_default();
    let field = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
    let responses = VENDORS
        .into_iter()
        .map(|vendor| (vendor, dir.join(format!("{vendor}.json.gz"))))
        .filter(|(_, path)| path.exists())
        .map(|(vendor, path)| (vendor, read_gz(&path)))
        .collect();
    EvalWorld {
        truth,
        responses,
        pipedrive_inn_field: field("pipedrive_inn_field"),
        jira_client_field: field("jira_client_field").unwrap_or_else(|| "customfield_10050".into()),
    }
}

/// The part of `world` held by `vendors`: their responses, and the truth about them (decoy
/// pairs only when both companies still have records) — a single-vendor world, say.
pub fn only(world: &EvalWorld, vendors: &[&str]) -> EvalWorld {
    let kept = |name: &str| name.split_once(':').is_some_and(|(vendor, _)| vendors.contains(&vendor));
    let records: BTreeMap<String, String> =
        world.truth.records.iter().filter(|(k, _)| kept(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let companies: HashSet<&String> = records.values().collect();
    let truth = Truth {
        tasks: world.truth.tasks.iter().filter(|(k, _)| kept(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        decoy_pairs: world
            .truth
            .decoy_pairs
            .iter()
            .filter(|(a, b)| companies.contains(a) && companies.contains(b))
            .cloned()
            .collect(),
        records,
    };
    let responses = world.responses.iter().filter(|(v, _)| vendors.contains(v)).map(|(v, r)| (*v, r.clone())).collect();
    EvalWorld { truth, responses, ..world.clone() }
}

/// `world` with information taken away, to see how matching degrades on sparser CRMs: each
/// company record loses its tax id, its website and e-mails, or both, one record in `one_in`
/// for each (chosen by a hash of its `vendor:id`, so every run removes the same). The edits
/// are made to the recorded responses, as a sparser portal would list them.
pub fn sparser(world: &EvalWorld, one_in: u64) -> EvalWorld {
    let hash = |text: &str, salt: u64| {
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64 ^ salt, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    let drops = |vendor: &str, id: &Value| {
        let key = format!("{vendor}:{}", id.as_str().map_or_else(|| id.to_string(), str::to_string));
        (hash(&key, 1) % one_in == 0, hash(&key, 2) % one_in == 0)
    };
    let mut out = world.clone();
    let inn_field = world.pipedrive_inn_field.clone().unwrap_or_default();
    let mut no_tax_id: HashSet<String> = HashSet::new();
    for (vendor, responses) in &mut out.responses {
        let (list, id_key) = match *vendor {
            "hubspot" => ("companies", "id"),
            "bitrix24" => ("companies", "ID"),
            "pipedrive" => ("organizations", "id"),
            _ => continue,
        };
        for row in responses.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let (tax, web) = drops(vendor, &row[id_key]);
            match *vendor {
                "hubspot" => {
                    let p = &mut row["properties"];
                    if tax {
                        p["inn"] = Value::Null;
                    }
                    if web {
                        (p["domain"], p["website"]) = (Value::Null, Value::Null);
                    }
                }
                "bitrix24" => {
                    if tax {
                        row["UF_CRM_INN"] = json!("");
                        no_tax_id.insert(row["ID"].as_str().unwrap_or_default().to_string());
                    }
                    if web {
                        (row["WEB"], row["EMAIL"]) = (json!([]), json!([]));
                    }
                }
                _ => {
                    if tax {
                        row["custom_fields"].as_object_mut().map(|c| c.remove(&inn_field));
                    }
                    if web {
                        row["website"] = Value::Null;
                    }
                }
            }
        }
        if *vendor == "bitrix24" {
            if let Some(requisites) = responses.get_mut("requisites").and_then(Value::as_array_mut) {
                requisites.retain(|r| !no_tax_id.contains(r["ENTITY_ID"].as_str().unwrap_or_default()));
            }
        }
    }
    out
}

/// Starts the simulators of `world`'s vendors, seeded from its responses, each with the
/// connector options the world's portals need (where each keeps its tax id, the client
/// field of the Jira site).
pub async fn launch(world: &EvalWorld, clock: Arc<dyn Clock>) -> Vec<LaunchedSim> {
    let mut sims = Vec::new();
    for (vendor, responses) in &world.responses {
        let (sim, extra) = match *vendor {
            "hubspot" => {
                let sim = zveno_hubspot::simulator::launch_recorded(responses, clock.clone(), 1).await;
                (sim, json!({"tax_id_property": "inn"}))
            }
            "bitrix24" => {
                let sim = zveno_bitrix24::simulator::launch_recorded(responses, clock.clone(), 1).await;
                // The portal keeps INNs in requisites and in this user field: both are read.
                (sim.map(|(launched, _)| launched), json!({"tax_id_field": "UF_CRM_INN"}))
            }
            "pipedrive" => {
                let sim = zveno_pipedrive::simulator::launch_recorded(responses, clock.clone(), 1).await;
                (sim, json!({"tax_id_field": world.pipedrive_inn_field}))
            }
            _ => {
                let sim = zveno_jira::simulator::launch_recorded(responses, clock.clone(), 1).await;
                (sim, json!({"client_field": world.jira_client_field, "client_label_prefix": "client:"}))
            }
        };
        let mut sim = sim.unwrap_or_else(|e| panic!("{vendor}: {e}"));
        for (key, value) in extra.as_object().into_iter().flatten().filter(|(_, v)| !v.is_null()) {
            sim.options[key] = value.clone();
        }
        sims.push(sim);
    }
    sims
}
