//! Requisites (where Bitrix24 keeps a company's INN), read for a page of companies.
//!
//! One `crm.requisite.list` call per 50 companies, `ENTITY_TYPE_ID = 4` and `@ENTITY_ID` the
//! page's company IDs, ordered by company and requisite ID; 50 such calls ride one batch, so
//! the requisites of a 2,500-company page cost one request. IDs are written literally rather
//! than as `$result[...]` references into the company calls: a reference to a row that does
//! not exist (the last, short page) resolves to garbage, and an `@` list full of garbage is
//! not something to guess about.
//!
//! A call returns at most 50 rows, so 50 companies with one requisite each fill it exactly,
//! and "full" cannot tell whether the last company has more. The rule: companies before the
//! last row's company are complete; the last row's company is settled when one of its rows
//! already holds a tax id (the first one wins anyway); everything after it — and that last
//! company otherwise — is fetched again, one call per company (rare: it takes companies with
//! more than one requisite on average).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use zveno_connector::ConnectorError;

use crate::client::{BitrixClient, Command, MAX_COMMANDS, PAGE_ROWS};
use crate::dto::id_of;

const METHOD: &str = "crm.requisite.list";
/// `ENTITY_TYPE_ID` of companies.
const COMPANY: &str = "4";
const SELECT: [&str; 6] = ["ID", "ENTITY_ID", "PRESET_ID", "NAME", "RQ_INN", "RQ_VAT_ID"];

/// Requisite rows by company ID, for every company in `ids` (companies without requisites
/// get an empty list).
pub async fn for_companies(client: &BitrixClient, ids: &[u64]) -> Result<HashMap<u64, Vec<Value>>, ConnectorError> {
    let mut found: HashMap<u64, Vec<Value>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    let chunks: Vec<&[u64]> = ids.chunks(PAGE_ROWS).collect();
    let mut again = Vec::new();
    for batch in chunks.chunks(client.batch_limit(METHOD, MAX_COMMANDS)) {
        let commands: Vec<Command> = batch
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                base("r", i)
                    .list("filter[@ENTITY_ID]", chunk.iter().map(u64::to_string))
                    .param("order[ENTITY_ID]", "ASC")
                    .param("order[ID]", "ASC")
            })
            .collect();
        let reply = client.batch(&commands, true).await?;
        for (cmd, chunk) in commands.iter().zip(batch) {
            let rows = rows_of(client, &reply, cmd)?;
            let unsettled = unsettled(chunk, &rows);
            for row in rows {
                if let Some(list) = id_of(row.get("ENTITY_ID")).and_then(|id| found.get_mut(&id)) {
                    list.push(row);
                }
            }
            again.extend(unsettled);
        }
    }
    for batch in again.chunks(client.batch_limit(METHOD, MAX_COMMANDS)) {
        let commands: Vec<Command> = batch
            .iter()
            .enumerate()
            .map(|(i, id)| base("x", i).param("filter[ENTITY_ID]", id.to_string()).param("order[ID]", "ASC"))
            .collect();
        let reply = client.batch(&commands, true).await?;
        for (cmd, id) in commands.iter().zip(batch) {
            let rows = rows_of(client, &reply, cmd)?;
            if rows.len() >= PAGE_ROWS {
                tracing::warn!(company = id, "company has 50 or more requisites; reading the first 50");
            }
            found.insert(*id, rows);
        }
    }
    Ok(found)
}

fn base(prefix: &str, index: usize) -> Command {
    Command::new(prefix, index, METHOD)
        .param("filter[ENTITY_TYPE_ID]", COMPANY)
        .list("select", SELECT)
        .param("start", "-1")
}

fn rows_of(
    client: &BitrixClient,
    reply: &crate::dto::BatchResult,
    cmd: &Command,
) -> Result<Vec<Value>, ConnectorError> {
    if let Some(error) = reply.result_error.get(&cmd.key) {
        return Err(client.command_error(METHOD, error));
    }
    reply
        .result
        .get(&cmd.key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ConnectorError::invalid_data(format!("{METHOD}: call {} returned no list of rows", cmd.key)))
}

/// Companies of `chunk` whose requisites a full answer may have cut off.
fn unsettled(chunk: &[u64], rows: &[Value]) -> Vec<u64> {
    if rows.len() < PAGE_ROWS {
        return Vec::new();
    }
    let Some(last) = rows.last().and_then(|r| id_of(r.get("ENTITY_ID"))) else {
        return chunk.to_vec();
    };
    let mut by_company: BTreeMap<u64, bool> = BTreeMap::new();
    for row in rows {
        if let Some(id) = id_of(row.get("ENTITY_ID")) {
            let has_tax_id = ["RQ_INN", "RQ_VAT_ID"]
                .iter()
                .any(|k| row.get(*k).and_then(Value::as_str).is_some_and(|v| !v.trim().is_empty()));
            *by_company.entry(id).or_default() |= has_tax_id;
        }
    }
    let last_settled = by_company.get(&last).copied().unwrap_or(false);
    chunk.iter().copied().filter(|id| *id > last || (*id == last && !last_settled)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(entities: &[(u64, &str)]) -> Vec<Value> {
        entities
            .iter()
            .enumerate()
            .map(
                |(i, (entity, inn))| json!({"ID": (i + 1).to_string(), "ENTITY_ID": entity.to_string(), "RQ_INN": inn}),
            )
            .collect()
    }

    #[test]
    fn a_short_answer_settles_every_company() {
        let chunk: Vec<u64> = (1..=50).collect();
        assert!(unsettled(&chunk, &rows(&[(1, "7707083893"), (9, "")])).is_empty());
    }

    #[test]
    fn one_requisite_each_fills_the_page_but_settles_when_the_last_has_a_tax_id() {
        let chunk: Vec<u64> = (1..=50).collect();
        let full: Vec<(u64, &str)> = chunk.iter().map(|id| (*id, "7707083893")).collect();
        assert!(unsettled(&chunk, &rows(&full)).is_empty());
        let mut no_inn = full.clone();
        no_inn[49].1 = "";
        assert_eq!(unsettled(&chunk, &rows(&no_inn)), [50]);
    }

    #[test]
    fn companies_after_the_cut_are_fetched_again() {
        let chunk: Vec<u64> = (1..=50).collect();
        let crowded: Vec<(u64, &str)> = (0..50).map(|i| (1 + i / 2, "")).collect();
        let again = unsettled(&chunk, &rows(&crowded));
        assert_eq!(again.first(), Some(&25));
        assert_eq!(again.len(), 26);
    }
}
