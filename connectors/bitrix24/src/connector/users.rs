//! The portal's users: Bitrix24's loader for the shared [`Directory`] cache. Owners and
//! assignees are user IDs, the common model wants e-mails.
//!
//! `user.get` is read once per connector instance (50 users a call, chained in batches that
//! grow from 2 to 50 calls, so a portal of up to 100 users costs one request) and again
//! only when a record names a user the cache does not know. IDs still unknown after a
//! reload (bots, e-mail and integrator users, which `user.get` never returns) are
//! remembered by the cache, so they never trigger another reload; those people appear by ID.

use std::sync::Arc;

use serde_json::Value;
use zveno_connector::{ConnectorError, Directory};

use super::cursor::{grown, FIRST_CHAIN};
use super::list::{chain, ListSpec};
use super::Bitrix24Connector;
use crate::client::{BitrixClient, MAX_COMMANDS};
use crate::mapping::People;

/// The user cache of one connector instance: no TTL, reloaded for unknown ids.
pub fn cache() -> Directory<People, u64> {
    Directory::new("Bitrix24 users", None)
}

impl Bitrix24Connector {
    /// The users, loaded at least once. The first answer also tells the portal's time zone,
    /// which incremental filters need before their first batch.
    pub(crate) async fn people(&self) -> Result<Arc<People>, ConnectorError> {
        self.users.get(self.client.clock().as_ref(), || load(&self.client)).await
    }

    /// The users, reloaded first if the cache knows none of some of `ids`.
    pub(crate) async fn people_covering(
        &self,
        ids: impl IntoIterator<Item = u64>,
    ) -> Result<Arc<People>, ConnectorError> {
        let knows = |people: &People, id: &u64| people.contains_key(id);
        self.users.covering(self.client.clock().as_ref(), ids, knows, || load(&self.client)).await
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
