//! A labelled evaluation world (`../shared/eval/world-*`: vendor API list responses and a
//! `truth.json`) turned into the [`SourceRecord`]s zveno stores, through the vendors' own
//! mapping code — `zveno_hubspot::mapping`, `zveno_bitrix24::mapping`,
//! `zveno_pipedrive::mapping`, `zveno_jira::mapping` — exactly as their connectors call it on
//! a pulled page.
//!
//! Connector instances are named after their vendors, so the truth's `vendor:id` names
//! are the stored records' `connector:external_id`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use zveno::resolve::eval::Truth;
use zveno_connector::{BuildContext, Env, Kind, ManualClock, Phone, RecordData, SourceRecord};

/// `(connector, kind, records)`, in the order a sync would store them.
pub type Batches = Vec<(String, Kind, Vec<SourceRecord>)>;

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

/// A world's records and truth.
pub struct EvalWorld {
    pub truth: Truth,
    pub batches: Batches,
    /// Records a mapper refused, `vendor: message`.
    pub errors: Vec<String>,
}

fn read_gz(dir: &Path, vendor: &str) -> Value {
    let path = dir.join(format!("{vendor}.json.gz"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The part of `world` held by `vendors`: their records, and the truth about them (decoy
/// pairs only when both companies still have records) — a single-vendor world, say.
pub fn only(world: &EvalWorld, vendors: &[&str]) -> (Truth, Batches) {
    let kept = |name: &str| vendors.iter().any(|v| name.split_once(':').is_some_and(|(vendor, _)| vendor == *v));
    let records: std::collections::BTreeMap<String, String> =
        world.truth.records.iter().filter(|(k, _)| kept(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let companies: std::collections::HashSet<&String> = records.values().collect();
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
    let batches = world.batches.iter().filter(|(c, _, _)| vendors.contains(&c.as_str())).cloned().collect();
    (truth, batches)
}

/// `batches` with information taken away, to see how matching degrades on sparser CRMs:
/// each client record loses its tax id, its websites and e-mails, or both, one record in
/// `one_in` for each (chosen by a hash of its id, so every run removes the same).
pub fn sparser(batches: &Batches, one_in: u64) -> Batches {
    let hash = |text: &str, salt: u64| {
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64 ^ salt, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    let mut out = batches.clone();
    for (connector, kind, records) in &mut out {
        if *kind != Kind::Client {
            continue;
        }
        for r in records {
            let id = format!("{connector}:{}", r.external_id);
            if let Some(RecordData::Client(c)) = &mut r.data {
                if hash(&id, 1) % one_in == 0 {
                    c.tax_id = None;
                }
                if hash(&id, 2) % one_in == 0 {
                    c.domains.clear();
                    c.emails.clear();
                }
            }
        }
    }
    out
}

/// Loads the world in `dir`, mapping every vendor file present.
pub fn load(dir: &Path) -> EvalWorld {
    let truth_path = dir.join("truth.json");
    let text = std::fs::read_to_string(&truth_path).unwrap_or_else(|e| panic!("{}: {e}", truth_path.display()));
    let truth = Truth::from_json(&text, &truth_path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let raw: Value = serde_json::from_str(&text).unwrap_or_default();
    let mut world = EvalWorld { truth, batches: Vec::new(), errors: Vec::new() };
    for vendor in ["hubspot", "bitrix24", "pipedrive", "jira"] {
        if !dir.join(format!("{vendor}.json.gz")).exists() {
            continue;
        }
        let data = read_gz(dir, vendor);
        match vendor {
            "hubspot" => hubspot(&data, &mut world),
            "bitrix24" => bitrix24(&data, &mut world),
            "pipedrive" => {
                let inn_field = raw.get("pipedrive_inn_field").and_then(Value::as_str).unwrap_or_default();
                pipedrive(&data, inn_field, &mut world)
            }
            _ => {
                let field = raw.get("jira_client_field").and_then(Value::as_str).unwrap_or("customfield_10050");
                jira(&data, field, &mut world)
            }
        }
    }
    world
}

fn hubspot(data: &Value, world: &mut EvalWorld) {
    use zveno_hubspot::dto::object::Object;
    use zveno_hubspot::dto::ObjectDto;
    use zveno_hubspot::mapping::{canonical_raw, Mapper, MapperSettings, Owners};
    let mapper = Mapper::new(MapperSettings {
        connector: "hubspot".into(),
        // The portal's custom tax-id property, and the region a Russian portal sets.
        tax_id_properties: vec!["inn".into()],
        region: Phone::region("RU").ok(),
        portal_id: Some(1001),
        ..MapperSettings::default()
    });
    let owners = Owners::default();
    for (key, object) in [("companies", Object::Companies), ("contacts", Object::Contacts), ("tasks", Object::Tasks)] {
        let mut records = Vec::new();
        for raw in list(data, key) {
            match ObjectDto::parse(raw) {
                Ok(dto) => {
                    let raw = canonical_raw(raw.clone(), &dto);
                    records.push(mapper.read(object, &dto, raw, &owners));
                }
                Err(e) => world.errors.push(format!("hubspot {key}: {e:?}")),
            }
        }
        world.batches.push(("hubspot".into(), object.kind(), records));
    }
}

fn bitrix24(data: &Value, world: &mut EvalWorld) {
    use zveno_bitrix24::config::StatusTable;
    use zveno_bitrix24::mapping::{company, contact, task, MapContext, People};
    let portal = url::Url::parse("https://eval.bitrix24.ru/").unwrap_or_else(|e| panic!("{e}"));
    let (statuses, people) = (StatusTable::default(), People::new());
    let ctx = MapContext {
        connector: "bitrix24",
        portal: &portal,
        webhook_user: 1,
        region: Phone::region("RU").unwrap_or_else(|e| panic!("{e}")),
        country: "RU",
        // The portal keeps INNs in requisites and in this user field: both are read.
        tax_id_fields: &["UF_CRM_INN".to_string()],
        statuses: &statuses,
        people: &people,
    };
    let mut requisites: HashMap<String, Vec<Value>> = HashMap::new();
    // Requisites of companies only (`ENTITY_TYPE_ID` 4), as the connector asks for them:
    // a contact's requisite (3) can carry the same `ENTITY_ID` as an unrelated company.
    let of_company = |r: &&Value| r.get("ENTITY_TYPE_ID").and_then(Value::as_str) == Some("4");
    for r in list(data, "requisites").iter().filter(of_company) {
        let company = r.get("ENTITY_ID").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        requisites.entry(company.unwrap_or_default()).or_default().push(r.clone());
    }
    let mut companies = Vec::new();
    for row in list(data, "companies") {
        let id = row.get("ID").and_then(Value::as_str).unwrap_or_default();
        let reqs = requisites.get(id).map(Vec::as_slice).unwrap_or_default();
        match company(row, Some(reqs), &ctx) {
            Ok(record) => companies.push(record),
            Err(e) => world.errors.push(format!("bitrix24 company: {e:?}")),
        }
    }
    world.batches.push(("bitrix24".into(), Kind::Client, companies));
    let contacts = list(data, "contacts").iter().filter_map(|r| keep(contact(r, &ctx), world)).collect();
    world.batches.push(("bitrix24".into(), Kind::Contact, contacts));
    let tasks = list(data, "tasks").iter().filter_map(|r| keep(task(r, &ctx), world)).collect();
    world.batches.push(("bitrix24".into(), Kind::Task, tasks));
}

fn keep(mapped: Result<SourceRecord, zveno_connector::RecordError>, world: &mut EvalWorld) -> Option<SourceRecord> {
    mapped.map_err(|e| world.errors.push(format!("bitrix24: {e:?}"))).ok()
}

fn jira(data: &Value, client_field: &str, world: &mut EvalWorld) {
    use zveno_jira::config::Settings;
    use zveno_jira::mapping::Mapper;
    use zveno_jira::JiraConfig;
    let config = JiraConfig {
        email: Some("eval@zveno.example".into()),
        token_env: Some("EVAL_JIRA_TOKEN".into()),
        jql: Some("project = OPS".into()),
        client_field: Some(client_field.into()),
        client_label_prefix: Some("client:".into()),
        site_url: Some("https://eval.atlassian.net".into()),
        ..JiraConfig::default()
    };
    let mut ctx = BuildContext::new("jira", Arc::new(ManualClock::new(Utc::now())));
    ctx.env = Env::from_pairs([("EVAL_JIRA_TOKEN", "token")]);
    let settings = Settings::resolve(&config, &ctx).unwrap_or_else(|p| panic!("jira settings: {p:?}"));
    let mapper = Mapper::new("jira", &settings);
    let mut tasks = Vec::new();
    for issue in list(data, "issues") {
        match mapper.map(issue, None) {
            Ok(r) => tasks.push(r),
            Err(e) => world.errors.push(format!("jira: {e:?}")),
        }
    }
    world.batches.push(("jira".into(), Kind::Task, tasks));
}

fn pipedrive(data: &Value, inn_field: &str, world: &mut EvalWorld) {
    use zveno_pipedrive::dto::entity::Entity;
    use zveno_pipedrive::mapping::{Mapper, MapperSettings, Users};
    let mapper = Mapper::new(MapperSettings {
        connector: "pipedrive".into(),
        // The company's INN custom field (a 40-character key), and the region a Russian
        // company's phones are typed in.
        tax_id_field: Some(inn_field.to_string()).filter(|f| !f.is_empty()),
        region: Phone::region("RU").ok(),
        company_domain: Some("eval".into()),
        ..MapperSettings::default()
    });
    let users = Users::default();
    for (key, entity) in
        [("organizations", Entity::Organizations), ("persons", Entity::Persons), ("activities", Entity::Activities)]
    {
        let mut records = Vec::new();
        for raw in list(data, key) {
            match mapper.read(entity, raw.clone(), &users) {
                Ok(record) => records.push(record),
                Err(e) => world.errors.push(format!("pipedrive {key}: {e:?}")),
            }
        }
        world.batches.push(("pipedrive".into(), entity.kind(), records));
    }
}
