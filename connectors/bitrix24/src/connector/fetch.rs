//! Records by id: one `get` call per id (`crm.company.get`, `crm.contact.get`,
//! `tasks.task.get`), up to 50 in one `batch`, then mapped exactly as a pull maps its rows
//! (requisites and owners included).
//!
//! What is missing: a CRM `get` of an unknown id fails with `Not found`; a task `get`
//! answers an empty result both for an unknown task and for one the webhook's user may not
//! see (the docs say so; the vendor note warns that missing is not necessarily deleted).
//! Any other failure of one call is classified as a pull's would be: throttling, auth and
//! server trouble fail the fetch (the caller retries it), anything else is that record's
//! error.

use zveno_connector::connector::distinct;
use zveno_connector::{ConnectorError, ErrorKind, Fetched, Kind, RecordError};

use super::Bitrix24Connector;
use crate::client::{Command, MAX_COMMANDS};
use crate::dto::ApiError;

impl Bitrix24Connector {
    pub(super) async fn fetch_ids(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        let spec = self.list_spec(kind);
        let method = spec
            .get_method()
            .ok_or_else(|| ConnectorError::unsupported(format!("bitrix24 cannot read {kind} records by id")))?;
        let mut fetched = Fetched::default();
        let (ids, malformed): (Vec<String>, Vec<String>) =
            distinct(ids).into_iter().partition(|id| id.parse::<u64>().is_ok());
        // Bitrix24 ids are numbers; anything else names no record.
        fetched.missing = malformed;
        if ids.is_empty() {
            return Ok(fetched);
        }
        self.people().await?;
        let mut rest = ids.as_slice();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(self.client.batch_limit(method, MAX_COMMANDS).min(rest.len()));
            rest = after;
            let commands: Vec<(Command, &String)> = chunk
                .iter()
                .enumerate()
                .filter_map(|(k, id)| Some((spec.get_command(k, id.parse().ok()?)?, id)))
                .collect();
            let batch: Vec<Command> = commands.iter().map(|(c, _)| c.clone()).collect();
            let reply = self.client.batch(&batch, true).await?;
            let mut rows = Vec::new();
            for (cmd, id) in &commands {
                match (reply.result_error.get(&cmd.key), reply.result.get(&cmd.key)) {
                    (Some(error), _) if not_found(error) => fetched.missing.push((*id).clone()),
                    (Some(error), _) => {
                        let error = self.client.command_error(method, error);
                        if error.kind() != ErrorKind::InvalidData {
                            return Err(error);
                        }
                        fetched
                            .errors
                            .push(RecordError { external_id: Some((*id).clone()), message: error.to_string() });
                    }
                    (None, Some(result)) => match spec.got_row(result) {
                        Some(row) => rows.push(row.clone()),
                        None => fetched.missing.push((*id).clone()),
                    },
                    (None, None) => fetched.errors.push(RecordError {
                        external_id: Some((*id).clone()),
                        message: format!("{method}: call {} is missing from the batch answer", cmd.key),
                    }),
                }
            }
            let (records, errors) = self.map_rows(kind, &spec, rows).await?;
            fetched.records.extend(records);
            fetched.errors.extend(errors);
        }
        Ok(fetched)
    }
}

/// A CRM `get` of an id the portal does not hold: HTTP 400 with an empty code and
/// `Not found` (`crm.company.get`, `crm.contact.get`).
fn not_found(error: &ApiError) -> bool {
    error.error.is_empty() && error.error_description.trim().eq_ignore_ascii_case("not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_code_with_not_found_means_missing() {
        let error = |code: &str, description: &str| ApiError {
            error: code.to_string(),
            error_description: description.to_string(),
        };
        assert!(not_found(&error("", "Not found")));
        assert!(!not_found(&error("", "Access denied.")), "hidden is not gone");
        assert!(!not_found(&error("QUERY_LIMIT_EXCEEDED", "Not found")));
    }
}
