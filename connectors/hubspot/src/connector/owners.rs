//! The per-instance owner cache.
//!
//! Owners change rarely and every record needs them, so the directory is read once and kept
//! for [`OWNER_TTL`] (on the injected clock): a sync costs one or two owner requests, not
//! one per page. Active and archived owners are both read, since old records still point at
//! deactivated users. A token without the owners scope is not fatal: records then carry
//! owner ids instead of e-mails, and a warning says why.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use zveno_connector::{Clock, ConnectorError, ErrorKind};

use crate::client::HubSpotClient;
use crate::mapping::Owners;

/// How long an owner directory is trusted.
pub const OWNER_TTL: Duration = Duration::from_secs(15 * 60);

/// Owners, loaded on first use and refreshed after [`OWNER_TTL`].
#[derive(Debug, Default)]
pub struct OwnerCache {
    state: Mutex<Option<(Arc<Owners>, Duration)>>,
}

impl OwnerCache {
    /// The directory, fetching it if absent or stale.
    pub async fn get(&self, client: &HubSpotClient, clock: &dyn Clock) -> Result<Arc<Owners>, ConnectorError> {
        let mut state = self.state.lock().await;
        if let Some((owners, at)) = state.as_ref() {
            if clock.elapsed().saturating_sub(*at) < OWNER_TTL {
                return Ok(owners.clone());
            }
        }
        let owners = match fetch(client).await {
            Ok(owners) => owners,
            Err(e) if e.kind() == ErrorKind::Auth => {
                tracing::warn!(error = %e, "cannot read HubSpot owners (does the token have crm.objects.owners.read?); records keep owner ids instead of e-mails");
                Owners::default()
            }
            Err(e) => match state.as_ref() {
                Some((stale, _)) => {
                    tracing::warn!(error = %e, "cannot refresh HubSpot owners; using the previous list");
                    return Ok(stale.clone());
                }
                None => return Err(e),
            },
        };
        let owners = Arc::new(owners);
        *state = Some((owners.clone(), clock.elapsed()));
        Ok(owners)
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
