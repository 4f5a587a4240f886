//! The REST methods the simulated portal answers, and `batch`.
//!
//! Each method returns an [`Answer`]: a result with the list extras (`total`, `next`), or a
//! method error with its HTTP status. `batch` runs up to 50 commands in the order sent,
//! resolving `$result[...]` references against the answers so far, and reports each
//! command's outcome under `result`, `result_error`, `result_total`, `result_next` and
//! `result_time` — with PHP's `[]` for an empty part. It always answers 200.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Map, Value};

use super::entities::{portal_time, Row, MULTI_TYPES};
use super::listing::{list, Filter, Order, Start};
use super::operating::{Operating, Spent};
use super::params::{elements, scalar_text, substitute, Params};
use super::store::Store;

/// The most commands a batch runs.
pub const BATCH_LIMIT: usize = 50;

/// What a method call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Success.
    Ok {
        /// `result`.
        result: Value,
        /// `total` (list methods).
        total: Option<usize>,
        /// `next` (list methods with another page).
        next: Option<usize>,
    },
    /// A method or system error.
    Err {
        /// HTTP status of a direct call.
        status: u16,
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
}

impl Answer {
    fn ok(result: Value) -> Self {
        Self::Ok { result, total: None, next: None }
    }

    /// An error answer.
    pub fn err(status: u16, error: &str, description: &str) -> Self {
        Self::Err { status, error: error.to_string(), description: description.to_string() }
    }

    /// The body of an error (`{"error", "error_description"}`).
    pub fn error_body(error: &str, description: &str) -> Value {
        json!({"error": error, "error_description": description})
    }
}

/// Where and when a call runs.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The clock's wall time.
    pub now: DateTime<Utc>,
    /// The portal's UTC offset.
    pub offset: FixedOffset,
}

impl Context {
    /// The clock as Unix seconds with fractions, as `time.start` is written.
    pub fn unix(&self) -> f64 {
        self.now.timestamp_millis() as f64 / 1000.0
    }

    /// A `time` object for a call that started now, with its method's accounting when the
    /// call counts against one.
    pub fn time(&self, spent: Option<Spent>) -> Value {
        let start = self.unix();
        let duration = spent.map_or(0.001, |s| s.duration);
        let finish = self.now + chrono::TimeDelta::milliseconds((duration * 1000.0) as i64);
        let mut time = json!({
            "start": start, "finish": start + duration, "duration": duration, "processing": duration,
            "date_start": portal_time(self.now, self.offset), "date_finish": portal_time(finish, self.offset),
        });
        if let (Some(spent), Some(map)) = (spent, time.as_object_mut()) {
            map.insert("operating_reset_at".into(), json!(spent.reset_at.floor() as i64));
            map.insert("operating".into(), json!(spent.operating));
        }
        time
    }
}

/// Writes a method call made (for the conformance suite's "check never writes").
pub fn is_write(method: &str) -> bool {
    matches!(method, "crm.company.add" | "crm.company.update" | "tasks.task.add" | "tasks.task.update")
}

const CRM_SORTABLE: [&str; 8] =
    ["ID", "TITLE", "DATE_CREATE", "DATE_MODIFY", "ENTITY_ID", "ASSIGNED_BY_ID", "LAST_NAME", "COMPANY_ID"];
const TASK_SORTABLE: [&str; 8] =
    ["ID", "TITLE", "CREATED_DATE", "CHANGED_DATE", "CLOSED_DATE", "DEADLINE", "REAL_STATUS", "PRIORITY"];

fn select(params: &Params) -> Vec<String> {
    params
        .get("select")
        .map(|s| elements(s).into_iter().filter_map(scalar_text).map(|f| f.to_ascii_uppercase()).collect())
        .unwrap_or_default()
}

fn list_answer<T: Row>(
    table: &std::collections::BTreeMap<u64, T>,
    params: &Params,
    filter_key: &str,
    order: &Order,
    ctx: Context,
    wrap: impl Fn(Vec<Value>) -> Value,
) -> Answer {
    let filter = Filter::parse(params.get(filter_key));
    let start = Start::parse(params.text("start").as_deref());
    let page = list(table, &filter, order, start, ctx.offset);
    let fields = select(params);
    let rows = page.rows.iter().map(|r| r.render(&fields, ctx.offset)).collect();
    Answer::Ok { result: wrap(rows), total: Some(page.total), next: page.next }
}

/// `crm.company.get` / `crm.contact.get`: one record by `id`, every field (multi-fields and
/// user fields included), or HTTP 400 `{"error": "", "error_description": "Not found"}`.
fn crm_get<T: Row>(table: &std::collections::BTreeMap<u64, T>, params: &Params, ctx: Context) -> Answer {
    let id = params.text("id").or_else(|| params.text("ID")).and_then(|v| v.parse::<u64>().ok());
    match id.and_then(|id| table.get(&id)) {
        Some(row) => Answer::ok(row.render(&every_field(), ctx.offset)),
        None if id.is_none() => Answer::err(400, "", "ID is not defined or invalid."),
        None => Answer::err(400, "", "Not found"),
    }
}

/// What a `get` returns: standard fields, user fields and the multi-fields (a list call
/// returns multi-fields only when they are selected by name).
fn every_field() -> Vec<String> {
    ["*", "UF_*"].into_iter().chain(MULTI_TYPES).map(str::to_string).collect()
}

/// Runs one method (not `batch`).
pub fn call(store: &mut Store, method: &str, params: &Params, ctx: Context) -> Answer {
    let crm_order = || Order::parse(params.get("order"), &CRM_SORTABLE).unwrap_or_default();
    let fields = || params.get("fields").and_then(Value::as_object).cloned();
    match method {
        "crm.company.list" => list_answer(&store.companies, params, "filter", &crm_order(), ctx, Value::Array),
        "crm.contact.list" => list_answer(&store.contacts, params, "filter", &crm_order(), ctx, Value::Array),
        "crm.requisite.list" => list_answer(&store.requisites, params, "filter", &crm_order(), ctx, Value::Array),
        "tasks.task.list" => match Order::parse(params.get("order"), &TASK_SORTABLE) {
            Ok(order) => list_answer(&store.tasks, params, "filter", &order, ctx, |rows| json!({"tasks": rows})),
            Err(_) => Answer::err(400, "0", "Invalid sorting key (internal error)"),
        },
        "user.get" => {
            let ascending = !params.text("order").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
            let field = params.text("sort").unwrap_or_else(|| "ID".into()).to_ascii_uppercase();
            list_answer(&store.users, params, "filter", &Order::by(&field, ascending), ctx, Value::Array)
        }
        "crm.company.get" => crm_get(&store.companies, params, ctx),
        "crm.contact.get" => crm_get(&store.contacts, params, ctx),
        "tasks.task.get" => match params.text("taskId").map(|v| v.parse::<u64>()) {
            None => Answer::err(
                400,
                "100",
                "CTaskItem All parameters in the constructor must have real class type (internal error)",
            ),
            Some(Err(_)) => Answer::err(400, "0", "wrong task id"),
            // An unknown task and one the user may not see answer alike: an empty result.
            Some(Ok(id)) => match store.tasks.get(&id) {
                Some(task) => Answer::ok(json!({"task": task.render(&select(params), ctx.offset)})),
                None => Answer::ok(json!([])),
            },
        },
        "crm.company.add" => match fields() {
            Some(fields) => Answer::ok(json!(store.add_company(&fields, ctx.now))),
            None => Answer::err(400, "", "Parameter 'fields' must be array."),
        },
        "crm.company.update" => {
            let id = params.text("id").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            match fields() {
                None => Answer::err(400, "", "Parameter 'fields' must be array."),
                Some(fields) if store.update_company(id, &fields, ctx.now) => Answer::ok(json!(true)),
                Some(_) => Answer::err(400, "", "Company is not found"),
            }
        }
        "tasks.task.add" => {
            let Some(fields) = fields() else {
                return Answer::err(400, "100", "Could not find value for parameter {fields} (internal error)");
            };
            let mut task = store.blank_task(ctx.now);
            if fields.get("TITLE").and_then(scalar_text).is_none_or(|t| t.trim().is_empty()) {
                return Answer::err(400, "ERROR_CORE", "The task title is not specified<br>");
            }
            if !fields.contains_key("RESPONSIBLE_ID") {
                return Answer::err(
                    400,
                    "ERROR_CORE",
                    "The user specified in the \"Responsible\" field was not found<br>",
                );
            }
            match store.apply_task(&mut task, &fields, ctx.now, ctx.offset) {
                Ok(()) => {
                    let rendered = task.render(&[], ctx.offset);
                    store.tasks.insert(task.id, task);
                    Answer::ok(json!({"task": rendered}))
                }
                Err(e) => Answer::err(400, "ERROR_CORE", &e),
            }
        }
        "tasks.task.update" => {
            let Some(id) = params.text("taskId").and_then(|v| v.parse::<u64>().ok()) else {
                return Answer::err(400, "0", "wrong task id");
            };
            let fields = fields().filter(|f| !f.is_empty());
            let Some(fields) = fields else {
                return Answer::err(400, "100", "Could not find value for parameter {fields} (internal error)");
            };
            let Some(mut task) = store.tasks.get(&id).cloned() else {
                return Answer::err(400, "0", "Action on the task is not allowed (internal error)");
            };
            match store.apply_task(&mut task, &fields, ctx.now, ctx.offset) {
                Ok(()) => {
                    let rendered = task.render(&[], ctx.offset);
                    store.tasks.insert(id, task);
                    Answer::ok(json!({"task": rendered}))
                }
                Err(e) => Answer::err(400, "ERROR_CORE", &e),
            }
        }
        _ => Answer::err(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    }
}

/// A `batch` request: whether to halt on the first error, and the commands in the order
/// sent (key, `method?query`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchRequest {
    /// `halt`.
    pub halt: bool,
    /// The commands.
    pub commands: Vec<(String, String)>,
}

/// Runs a batch. `run` executes one command (method, parameters) with its accounting.
pub fn batch(request: &BatchRequest, mut run: impl FnMut(&str, &Params) -> (Answer, Value)) -> Value {
    let mut answers = Map::new();
    for part in ["result", "next", "total", "time", "error"] {
        answers.insert(part.to_string(), Value::Object(Map::new()));
    }
    for (i, (key, text)) in request.commands.iter().enumerate() {
        let (answer, time) = if i >= BATCH_LIMIT {
            (Answer::err(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"), Value::Null)
        } else {
            let (method, query) = text.split_once('?').unwrap_or((text.as_str(), ""));
            let method = method.trim().trim_end_matches(".json").to_ascii_lowercase();
            let Value::Object(resolved) = substitute(&Value::Object(Params::from_query(query).0), &answers) else {
                continue;
            };
            if method == "batch" {
                (
                    Answer::err(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"),
                    Value::Null,
                )
            } else {
                run(&method, &Params(resolved))
            }
        };
        let mut put = |part: &str, value: Value| {
            if let Some(Value::Object(map)) = answers.get_mut(part) {
                map.insert(key.clone(), value);
            }
        };
        let failed = match answer {
            Answer::Ok { result, total, next } => {
                put("result", result);
                if let Some(total) = total {
                    put("total", json!(total));
                }
                if let Some(next) = next {
                    put("next", json!(next));
                }
                put("time", time);
                false
            }
            Answer::Err { error, description, .. } => {
                put("error", Answer::error_body(&error, &description));
                true
            }
        };
        if failed && request.halt {
            break;
        }
    }
    let part = |name: &str| match answers.get(name) {
        // PHP writes an empty associative array as `[]`.
        Some(Value::Object(map)) if map.is_empty() => json!([]),
        Some(v) => v.clone(),
        None => json!([]),
    };
    json!({
        "result": part("result"),
        "result_error": part("error"),
        "result_total": part("total"),
        "result_next": part("next"),
        "result_time": part("time"),
    })
}

/// Runs one command of a batch (or a direct call) against the budget of its method.
pub fn accounted(
    store: &mut Store,
    operating: &mut Operating,
    method: &str,
    params: &Params,
    ctx: Context,
) -> (Answer, Value) {
    let now = ctx.unix();
    if !operating.allows(method, now) {
        let answer = Answer::err(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.");
        return (answer, Value::Null);
    }
    let answer = call(store, method, params, ctx);
    let spent = operating.spend(method, now);
    (answer, ctx.time(Some(spent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            now: DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            offset: FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| panic!("offset")),
        }
    }

    fn request(commands: &[(&str, &str)], halt: bool) -> BatchRequest {
        BatchRequest { halt, commands: commands.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn commands_run_in_the_order_sent_and_see_earlier_answers() {
        let mut seen = Vec::new();
        let out = batch(
            &request(
                &[("get_user", "user.current"), ("get_department", "department.get?ID=$result[get_user][ID]")],
                false,
            ),
            |method, params| {
                seen.push((method.to_string(), params.text("ID")));
                (Answer::ok(json!({"ID": "1"})), json!({}))
            },
        );
        assert_eq!(seen, [("user.current".into(), None), ("department.get".into(), Some("1".into()))]);
        assert_eq!(out["result_error"], json!([]));
        assert_eq!(out["result"]["get_department"], json!({"ID": "1"}));
    }

    #[test]
    fn errors_land_in_result_error_and_halt_stops_the_chain() {
        let fail = |_: &str, _: &Params| (Answer::err(400, "", "Access denied."), Value::Null);
        let out = batch(&request(&[("a", "crm.company.list"), ("b", "crm.company.list")], true), fail);
        assert_eq!(out["result_error"], json!({"a": {"error": "", "error_description": "Access denied."}}));
        let out = batch(&request(&[("a", "crm.company.list"), ("b", "batch?cmd[x]=y")], false), fail);
        assert_eq!(out["result_error"]["b"]["error"], "ERROR_BATCH_METHOD_NOT_ALLOWED");
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("c{i}"), "user.get".to_string())).collect();
        let ok = |_: &str, _: &Params| (Answer::ok(json!([])), json!({}));
        let out = batch(&BatchRequest { halt: false, commands: many }, ok);
        assert_eq!(out["result_error"]["c50"]["error"], "ERROR_BATCH_LENGTH_EXCEEDED");
    }

    #[test]
    fn list_methods_answer_pages_with_totals_unless_start_is_minus_one() {
        let mut store = Store::default();
        for i in 0..60 {
            store.add_requisite(i + 1, "ООО «Ромашка»", "7707083893", ctx().now);
        }
        let counted = call(&mut store, "crm.requisite.list", &Params::from_query("start=50"), ctx());
        assert!(matches!(counted, Answer::Ok { total: Some(60), next: None, .. }));
        let first = call(&mut store, "crm.requisite.list", &Params::from_query("start=0"), ctx());
        assert!(matches!(first, Answer::Ok { total: Some(60), next: Some(50), .. }));
        let bad_sort = call(&mut store, "tasks.task.list", &Params::from_query("order[NOPE]=asc"), ctx());
        assert!(matches!(bad_sort, Answer::Err { status: 400, .. }));
    }

    #[test]
    fn get_methods_answer_one_record_or_say_it_is_not_there() {
        let mut store = Store::default();
        let fields = json!({"TITLE": "ООО «Ромашка»", "PHONE": [{"VALUE": "+7 495 123-45-67", "VALUE_TYPE": "WORK"}]});
        let id = store.add_company(fields.as_object().unwrap_or(&Map::new()), ctx().now);
        let found = call(&mut store, "crm.company.get", &Params::from_query(&format!("id={id}")), ctx());
        let Answer::Ok { result, .. } = found else { panic!("company {id} not served: {found:?}") };
        assert_eq!(result["ID"], json!(id.to_string()));
        assert_eq!(result["PHONE"][0]["VALUE"], "+7 495 123-45-67", "a get returns multi-fields unasked");
        let unknown = call(&mut store, "crm.company.get", &Params::from_query("id=999999"), ctx());
        assert_eq!(unknown, Answer::err(400, "", "Not found"));
        let contact = call(&mut store, "crm.contact.get", &Params::from_query("id=1"), ctx());
        assert_eq!(contact, Answer::err(400, "", "Not found"));

        let task = store.blank_task(ctx().now);
        let task_id = task.id;
        store.tasks.insert(task_id, task);
        let query = format!("taskId={task_id}&select[]=ID&select[]=TITLE");
        let Answer::Ok { result, .. } = call(&mut store, "tasks.task.get", &Params::from_query(&query), ctx()) else {
            panic!("task {task_id} not served")
        };
        assert_eq!(result["task"]["id"], json!(task_id.to_string()));
        let gone = call(&mut store, "tasks.task.get", &Params::from_query("taskId=424242"), ctx());
        assert_eq!(gone, Answer::ok(json!([])), "an unknown task is an empty result, not an error");
        let bad = call(&mut store, "tasks.task.get", &Params::from_query("taskId=abc"), ctx());
        assert!(matches!(bad, Answer::Err { status: 400, .. }));
    }
}
