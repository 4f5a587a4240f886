//! The owner directory: HubSpot's loader for the shared [`Directory`] cache.
//!
//! Owners change rarely and every record needs them, so the directory is trusted for
//! [`OWNER_TTL`] (caching, expiry and failed refreshes are `zveno_connector::directory`'s):
//! a sync costs one or two owner requests, not one per page. Active and archived owners
//! are both read, since old records still point at deactivated users. A token without the
//! owners scope is not fatal: records then carry owner ids instead of e-mails, and a
//! warning says why.

use std::sync::Arc;
use std::time::Duration;

use zveno_connector::{ConnectorError, Directory, ErrorKind};

use super::HubSpotConnector;
use crate::client::HubSpotClient;
use crate::mapping::Owners;

/// How long an owner directory is trusted.
pub const OWNER_TTL: Duration = Duration::from_secs(15 * 60);

/// The owner cache of one connector instance.
pub fn cache() -> Directory<Owners> {
    Directory::new("HubSpot owners", Some(OWNER_TTL))
}

impl HubSpotConnector {
    /// The owner directory, read when absent or stale.
    pub(crate) async fn owners(&self) -> Result<Arc<Owners>, ConnectorError> {
        self.owners.get(self.clock.as_ref(), || load(&self.client)).await
    }
}

async fn load(client: &HubSpotClient) -> Result<Owners, ConnectorError> {
    match fetch(client).await {
        Err(e) if e.kind() == ErrorKind::Auth => {
            tracing::warn!(error = %e, "cannot read HubSpot owners (does the token have crm.objects.owners.read?); records keep owner ids instead of e-mails");
            Ok(Owners::default())
        }
        other => other,
    }
}

async fn fetch(client: &HubSpotClient) -> Result<Owners, ConnectorError> {
    let mut all = Vec::new();
    for archived in [false, true] {
        let mut after: Option<String> = None;
        loop {
            let (page, next) = client.owners(archived, after.as_deref()).await?;
            all.extend(page);
            match next {
                Some(n) if Some(&n) != after.as_ref() => after = Some(n),
                _ => break,
            }
        }
    }
    Ok(Owners::new(all))
}
