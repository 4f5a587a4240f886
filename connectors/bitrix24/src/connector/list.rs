//! Keyset scans packed into `batch`: up to 50 list calls in one request, 2,500 rows.
//!
//! Each list call orders by ID, filters `>ID`, and sends `start=-1` so Bitrix24 skips the
//! expensive `total` count (the official recipe for large sets,
//! <https://apidocs.bitrix24.com/settings/performance/huge-data.html>). Inside one batch the
//! calls are **chained**: call *k* filters `>ID` on `$result[c{k-1}][49][ID]`, the ID of the
//! 50th row of the call before it, which the portal substitutes before running call *k*.
//!
//! Why chains rather than ID ranges (`ID > a AND ID <= a + 50`)? Ranges only fill pages where
//! IDs are dense; deletes and, above all, modified-since windows make them sparse, and a
//! sparse range costs a whole call for a few rows. A chain always returns full pages.
//!
//! The price: once a call returns fewer than 50 rows the scan is over, and the reference in
//! the next call points at a row that does not exist. Bitrix24 then substitutes whatever part
//! of the path it could resolve (its PHP walks `$result[c3][49][ID]` until a key is missing),
//! so the calls after the first short page run with a meaningless filter. The connector
//! therefore trusts call *k* only if every call before it came back full, checks that its
//! IDs continue the scan, and discards the rest. Incremental windows start with a chain of 2
//! and grow it ×4 while pages stay full, so a window with three changes wastes one call, not
//! forty-nine.

use serde_json::Value;
use zveno_connector::ConnectorError;

use crate::client::{key, row_reference, BitrixClient, Command, MAX_COMMANDS, PAGE_ROWS};
use crate::dto::id_of;

/// How a list method takes its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `crm.*.list`: `order[ID]=ASC`, `filter[...]`, `select[]`.
    Crm,
    /// `tasks.task.list`: like CRM, lower-case `asc`, rows under `result.tasks`, camelCase.
    Tasks,
    /// `user.get`: `sort=ID&order=ASC`, `FILTER[...]`, no select.
    Users,
}

/// One list method as a keyset scan.
#[derive(Debug, Clone)]
pub struct ListSpec {
    /// The method.
    pub method: &'static str,
    style: Style,
    /// Fields to select (always named: defaults change, and multi-fields need naming).
    select: Vec<String>,
    /// The field incremental windows filter on.
    modified: Option<&'static str>,
    /// Command key prefix (`c` → `c0`, `c1`, ...).
    prefix: &'static str,
    /// Filters every call carries (`filter[ENTITY_TYPE_ID]=4`).
    fixed: &'static [(&'static str, &'static str)],
    /// The method that reads one record by id, when there is one.
    get: Option<&'static str>,
}

impl ListSpec {
    /// `crm.company.list` with the fields clients need (plus `tax_fields`, user fields).
    pub fn companies(tax_fields: &[String]) -> Self {
        let mut select: Vec<String> = [
            "ID",
            "TITLE",
            "COMPANY_TYPE",
            "ASSIGNED_BY_ID",
            "DATE_CREATE",
            "DATE_MODIFY",
            "PHONE",
            "EMAIL",
            "WEB",
            "ORIGINATOR_ID",
            "ORIGIN_ID",
        ]
        .map(String::from)
        .to_vec();
        select.extend(tax_fields.iter().cloned());
        Self {
            method: "crm.company.list",
            style: Style::Crm,
            select,
            modified: Some("DATE_MODIFY"),
            prefix: "c",
            fixed: &[],
            get: Some("crm.company.get"),
        }
    }

    /// `crm.requisite.list` of companies, by the requisites' own `DATE_MODIFY`: an edited
    /// requisite does not touch its company's `DATE_MODIFY`, so incremental windows list the
    /// requisites changed in the window to find the companies whose tax id may have changed.
    pub fn company_requisites() -> Self {
        Self {
            method: "crm.requisite.list",
            style: Style::Crm,
            select: ["ID", "ENTITY_ID"].map(String::from).to_vec(),
            modified: Some("DATE_MODIFY"),
            prefix: "q",
            fixed: &[("filter[ENTITY_TYPE_ID]", "4")],
            get: None,
        }
    }

    /// The same scan selecting only IDs (`select: ["ID"]`): what a census needs, at a
    /// fraction of the portal's work per row.
    pub fn ids_only(mut self) -> Self {
        self.select = vec!["ID".to_string()];
        self
    }

    /// `crm.contact.list`.
    pub fn contacts() -> Self {
        Self {
            method: "crm.contact.list",
            style: Style::Crm,
            select: [
                "ID",
                "NAME",
                "SECOND_NAME",
                "LAST_NAME",
                "POST",
                "COMPANY_ID",
                "ASSIGNED_BY_ID",
                "DATE_CREATE",
                "DATE_MODIFY",
                "PHONE",
                "EMAIL",
            ]
            .map(String::from)
            .to_vec(),
            modified: Some("DATE_MODIFY"),
            prefix: "p",
            fixed: &[],
            get: Some("crm.contact.get"),
        }
    }

    /// `tasks.task.list`.
    pub fn tasks() -> Self {
        Self {
            method: "tasks.task.list",
            style: Style::Tasks,
            select: [
                "ID",
                "TITLE",
                "DESCRIPTION",
                "STATUS",
                "PRIORITY",
                "RESPONSIBLE_ID",
                "CREATED_BY",
                "DEADLINE",
                "CREATED_DATE",
                "CHANGED_DATE",
                "CLOSED_DATE",
                "UF_CRM_TASK",
                "TAGS",
                "GROUP_ID",
            ]
            .map(String::from)
            .to_vec(),
            modified: Some("CHANGED_DATE"),
            prefix: "t",
            fixed: &[],
            get: Some("tasks.task.get"),
        }
    }

    /// `user.get`.
    pub fn users() -> Self {
        Self {
            method: "user.get",
            style: Style::Users,
            select: Vec::new(),
            modified: None,
            prefix: "u",
            fixed: &[],
            get: None,
        }
    }

    fn rows_under(&self) -> Option<&'static str> {
        (self.style == Style::Tasks).then_some("tasks")
    }

    fn id_key(&self) -> &'static str {
        if self.style == Style::Tasks {
            "id"
        } else {
            "ID"
        }
    }

    fn filter(&self, condition: &str) -> String {
        match self.style {
            Style::Users => format!("FILTER[{condition}]"),
            _ => format!("filter[{condition}]"),
        }
    }

    /// The list call at position `k` of a chain starting after `after_id`.
    fn command(&self, k: usize, after_id: u64, window: Option<&Window>) -> Command {
        let lower = if k == 0 {
            after_id.to_string()
        } else {
            let previous = key(self.prefix, k - 1);
            row_reference(&previous, self.rows_under(), PAGE_ROWS - 1, self.id_key())
        };
        let mut cmd = Command::new(self.prefix, k, self.method);
        cmd = match self.style {
            Style::Crm => cmd.param("order[ID]", "ASC"),
            Style::Tasks => cmd.param("order[ID]", "asc"),
            Style::Users => cmd.param("sort", "ID").param("order", "ASC"),
        };
        cmd = cmd.param(&self.filter(">ID"), lower);
        for (name, value) in self.fixed {
            cmd = cmd.param(name, value);
        }
        if let (Some(window), Some(field)) = (window, self.modified) {
            if let Some(from) = &window.from {
                cmd = cmd.param(&self.filter(&format!(">={field}")), from);
            }
            cmd = cmd.param(&self.filter(&format!("<={field}")), &window.to);
        }
        if !self.select.is_empty() {
            cmd = cmd.list("select", &self.select);
        }
        cmd.param("start", "-1")
    }

    /// The rows of one call's result, taken out of it: a page's rows move into the records
    /// mapped from them rather than being copied.
    fn rows(&self, result: Value) -> Option<Vec<Value>> {
        let list = match (self.rows_under(), result) {
            (Some(under), Value::Object(mut object)) => object.remove(under)?,
            (Some(_), _) => return None,
            (None, list) => list,
        };
        match list {
            Value::Array(rows) => Some(rows),
            _ => None,
        }
    }

    /// The method that reads one record by id (`crm.company.get`, `tasks.task.get`).
    pub fn get_method(&self) -> Option<&'static str> {
        self.get
    }

    /// The call reading record `id`, at position `k` of a batch. A CRM `get` returns every
    /// field (multi-fields and user fields included); a task `get` takes the list's select.
    pub fn get_command(&self, k: usize, id: u64) -> Option<Command> {
        let cmd = Command::new("g", k, self.get?);
        Some(match self.style {
            Style::Tasks => cmd.param("taskId", id.to_string()).list("select", &self.select),
            _ => cmd.param("id", id.to_string()),
        })
    }

    /// The record in a `get` call's result: tasks come wrapped (`{"task": {...}}`, or `[]`
    /// when the task does not exist or is hidden from the webhook's user), CRM rows bare.
    pub fn got_row<'a>(&self, result: &'a Value) -> Option<&'a Value> {
        let row = if self.style == Style::Tasks { result.get("task")? } else { result };
        row.is_object().then_some(row)
    }

    /// The ID of a row, when readable.
    pub fn row_id(&self, row: &Value) -> Option<u64> {
        id_of(row.get(self.id_key()))
    }
}

/// A closed modified-since window, in the portal's wall time with offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Lower bound (inclusive); `None` for "from the beginning".
    pub from: Option<String>,
    /// Upper bound (inclusive).
    pub to: String,
}

/// What one chained batch yielded.
#[derive(Debug, Default)]
pub struct Chain {
    /// Rows of the trusted calls, in ID order.
    pub rows: Vec<Value>,
    /// The highest ID read, where the next scan continues.
    pub last_id: Option<u64>,
    /// Whether the scan ended (a call came back short).
    pub complete: bool,
    /// Whether every call of the batch came back full (the chain may grow).
    pub saturated: bool,
}

/// Runs `length` chained list calls of `spec` after `after_id` in one batch (fewer while the
/// portal is slow, see [`BitrixClient::batch_limit`]).
///
/// An error in the first call fails the scan (its kind tells the scheduler what to do); an
/// error in a later call ends the chain there, so the rows before it still count and the next
/// page starts with the failed call.
pub async fn chain(
    client: &BitrixClient,
    spec: &ListSpec,
    after_id: u64,
    window: Option<&Window>,
    length: usize,
) -> Result<Chain, ConnectorError> {
    // Fewer calls only while the portal's `time` blocks show one of its limits coming near.
    let length = client.batch_limit(spec.method, length.clamp(1, MAX_COMMANDS));
    let commands: Vec<Command> = (0..length).map(|k| spec.command(k, after_id, window)).collect();
    let mut reply = client.batch(&commands, true).await?;
    let mut out = Chain::default();
    let mut last = after_id;
    for (k, cmd) in commands.iter().enumerate() {
        let failure = match (reply.result_error.get(&cmd.key), reply.result.remove(&cmd.key)) {
            (Some(error), _) => Some(client.command_error(spec.method, error)),
            (None, Some(result)) => match spec.rows(result) {
                Some(rows) if continues(spec, &rows, last) => {
                    last = rows.iter().filter_map(|r| spec.row_id(r)).fold(last, u64::max);
                    let complete = rows.len() < PAGE_ROWS;
                    out.rows.extend(rows);
                    if complete {
                        out.complete = true;
                        break;
                    }
                    None
                }
                Some(_) => Some(ConnectorError::invalid_data(format!(
                    "{}: call {} returned IDs that do not follow {last}",
                    spec.method, cmd.key
                ))),
                None => Some(ConnectorError::invalid_data(format!(
                    "{}: call {} returned no list of rows",
                    spec.method, cmd.key
                ))),
            },
            (None, None) => Some(ConnectorError::invalid_data(format!(
                "{}: call {} is missing from the batch answer",
                spec.method, cmd.key
            ))),
        };
        if let Some(error) = failure {
            if k == 0 {
                return Err(error);
            }
            tracing::warn!(%error, call = %cmd.key, "chain cut short; the next page retries from here");
            break;
        }
        out.saturated = k + 1 == length;
    }
    out.last_id = (last > after_id).then_some(last);
    Ok(out)
}

/// The rows of `spec` whose IDs are `ids` (those that exist), 50 IDs per `filter[@ID]` call
/// and up to 50 calls per batch.
pub async fn by_ids(client: &BitrixClient, spec: &ListSpec, ids: &[u64]) -> Result<Vec<Value>, ConnectorError> {
    let mut rows = Vec::with_capacity(ids.len());
    let chunks: Vec<&[u64]> = ids.chunks(PAGE_ROWS).collect();
    for batch in chunks.chunks(client.batch_limit(spec.method, MAX_COMMANDS)) {
        let commands: Vec<Command> = batch
            .iter()
            .enumerate()
            .map(|(k, chunk)| {
                let mut cmd =
                    Command::new("i", k, spec.method).list(&spec.filter("@ID"), chunk.iter().map(u64::to_string));
                if !spec.select.is_empty() {
                    cmd = cmd.list("select", &spec.select);
                }
                cmd.param("start", "-1")
            })
            .collect();
        let mut reply = client.batch(&commands, true).await?;
        for cmd in &commands {
            if let Some(error) = reply.result_error.get(&cmd.key) {
                return Err(client.command_error(spec.method, error));
            }
            let found = reply.result.remove(&cmd.key).and_then(|r| spec.rows(r)).ok_or_else(|| {
                ConnectorError::invalid_data(format!("{}: call {} returned no list of rows", spec.method, cmd.key))
            })?;
            rows.extend(found);
        }
    }
    Ok(rows)
}

/// Whether `rows` continue a scan whose last ID was `last`: a portal that ignored the `>ID`
/// filter would otherwise loop on the same rows forever.
fn continues(spec: &ListSpec, rows: &[Value], last: u64) -> bool {
    rows.iter().filter_map(|r| spec.row_id(r)).min().is_none_or(|first| first > last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_call_starts_at_the_cursor_and_later_ones_reference_the_previous_page() {
        let spec = ListSpec::tasks();
        let window = Window { from: Some("2026-01-01T00:00:00+03:00".into()), to: "2026-01-02T00:00:00+03:00".into() };
        let first = spec.command(0, 17, Some(&window)).text();
        assert!(first.starts_with("tasks.task.list?order%5BID%5D=asc&filter%5B%3EID%5D=17&"), "{first}");
        assert!(first.contains("filter%5B%3E%3DCHANGED_DATE%5D=2026-01-01T00%3A00%3A00%2B03%3A00"));
        assert!(first.contains("select%5B%5D=UF_CRM_TASK") && first.ends_with("start=-1"));
        let third = spec.command(2, 17, None).text();
        assert!(third.contains("filter%5B%3EID%5D=%24result%5Bt01%5D%5Btasks%5D%5B49%5D%5Bid%5D"), "{third}");
        let users = ListSpec::users().command(1, 0, None).text();
        assert_eq!(users, "user.get?sort=ID&order=ASC&FILTER%5B%3EID%5D=%24result%5Bu00%5D%5B49%5D%5BID%5D&start=-1");
    }

    #[test]
    fn rows_must_continue_the_scan() {
        let spec = ListSpec::contacts();
        let rows = vec![serde_json::json!({"ID": "51"}), serde_json::json!({"ID": "60"})];
        assert!(continues(&spec, &rows, 50));
        assert!(!continues(&spec, &rows, 51));
        assert!(continues(&spec, &[], 51));
    }
}
