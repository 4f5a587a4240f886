//! The id census of issues: the operator's JQL with `fields=["id"]`, at the 5,000-id page
//! Jira serves when only ids are asked for — ceil(N / 5,000) requests for N issues, where a
//! full run with fields costs ceil(N / 100). The engine diffs it against the store and
//! confirms every issue it did not list with a lookup by id before tombstoning (an issue
//! moved out of the JQL's projects, or out of the token user's permissions, vanishes from
//! the census too).

use serde::{Deserialize, Serialize};
use zveno_connector::{CensusPage, ConnectorError, Cursor, Kind};

use crate::connector::{JiraConnector, MAX_RESULTS};
use crate::dto::SearchRequest;

/// Where a census stands between pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CensusState {
    /// The JQL the census pages (fixed at its first page).
    #[serde(default)]
    jql: Option<String>,
    /// The next page's token.
    #[serde(default)]
    next_page_token: Option<String>,
}

impl JiraConnector {
    /// One page of the census (see the module docs).
    pub(crate) async fn census_page(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        if kind != Kind::Task {
            return Err(ConnectorError::unsupported(format!("Jira has no {kind} records; only tasks (issues)")));
        }
        let state: CensusState = cursor.decode()?;
        let jql = state.jql.unwrap_or_else(|| format!("({}) ORDER BY key ASC", self.settings.jql));
        let response = self
            .client
            .search(&SearchRequest {
                jql: jql.clone(),
                max_results: Some(MAX_RESULTS),
                fields: vec!["id".to_string()],
                next_page_token: state.next_page_token,
                reconcile_issues: Vec::new(),
            })
            .await?;
        let mut ids = Vec::with_capacity(response.issues.len());
        for issue in &response.issues {
            match issue.get("id").and_then(serde_json::Value::as_str).filter(|id| !id.is_empty()) {
                Some(id) => ids.push(id.to_string()),
                // A census with a hole is no census: an unreadable id fails it.
                None => return Err(ConnectorError::invalid_data(format!("census: an issue without an id: {issue}"))),
            }
        }
        let next = response.next_page_token.filter(|t| !t.is_empty());
        let more = next.is_some() && response.is_last != Some(true);
        let cursor = Cursor::encode(&CensusState { jql: Some(jql), next_page_token: next })?;
        Ok(CensusPage { ids, cursor, more })
    }
}
