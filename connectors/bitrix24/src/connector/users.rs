//! The portal's users, cached: owners and assignees are user IDs, the common model wants
//! e-mails.
//!
//! `user.get` is read once per connector instance (50 users a call, chained in batches that
//! grow from 2 to 50 calls, so a portal of up to 100 users costs one request) and again only when a record names a
//! user the cache does not know. IDs still unknown after a reload (bots, e-mail and
//! integrator users, which `user.get` never returns) are remembered, so they never trigger
//! another reload; those people appear by ID.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;
use zveno_connector::ConnectorError;

use super::cursor::{grown, FIRST_CHAIN};
use super::list::{chain, ListSpec};
use crate::client::{BitrixClient, MAX_COMMANDS};
use crate::mapping::People;

/// The user cache of one connector instance.
#[derive(Debug, Default)]
pub struct Users {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    people: Arc<People>,
    loaded: bool,
    unknown: HashSet<u64>,
}

impl Users {
    /// The cache, loaded at least once. The first answer also tells the portal's time zone,
    /// which incremental filters need before their first batch.
    pub async fn loaded(&self, client: &BitrixClient) -> Result<Arc<People>, ConnectorError> {
        let mut state = self.state.lock().await;
        if !state.loaded {
            state.people = Arc::new(load(client).await?);
            state.loaded = true;
        }
        Ok(state.people.clone())
    }

    /// The cache, reloaded first if it knows none of some of `ids`.
    pub async fn covering(
        &self,
        client: &BitrixClient,
        ids: impl IntoIterator<Item = u64>,
    ) -> Result<Arc<People>, ConnectorError> {
        let mut state = self.state.lock().await;
        let missing: Vec<u64> =
            ids.into_iter().filter(|id| !state.people.contains_key(id) && !state.unknown.contains(id)).collect();
        if !state.loaded || !missing.is_empty() {
            state.people = Arc::new(load(client).await?);
            state.loaded = true;
            let people = state.people.clone();
            state.unknown.extend(missing.into_iter().filter(|id| !people.contains_key(id)));
        }
        Ok(state.people.clone())
    }
}

async fn load(client: &BitrixClient) -> Result<People, ConnectorError> {
    let spec = ListSpec::users();
    let mut people = People::new();
    let (mut after, mut length) = (0, FIRST_CHAIN);
    loop {
        // Most portals have a few dozen users: start with two calls, grow while pages fill.
        let page = chain(client, &spec, after, None, length).await?;
        length = grown(length, MAX_COMMANDS);
        for row in &page.rows {
            let email = row.get("EMAIL").and_then(Value::as_str).map(str::trim);
            if let (Some(id), Some(email)) = (spec.row_id(row), email.filter(|e| !e.is_empty())) {
                people.insert(id, email.to_lowercase());
            }
        }
        match page.last_id {
            Some(last) if !page.complete => after = last,
            _ => break,
        }
    }
    tracing::debug!(users = people.len(), "portal users loaded");
    Ok(people)
}
