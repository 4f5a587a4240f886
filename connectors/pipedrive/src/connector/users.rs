//! The per-instance user directory.
//!
//! Every record names its owner by user id, and the e-mail is what matches a person across
//! systems, so `/v1/users` (one unpaged call, 20 tokens) is read on first use and kept for
//! [`USERS_TTL`] on the injected clock: a sync costs one users call, not one per page. A
//! failed refresh keeps the previous directory; only the first read's error is returned.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use zveno_connector::{Clock, ConnectorError};

use crate::client::PipedriveClient;
use crate::mapping::Users;

/// How long a user directory is trusted.
pub const USERS_TTL: Duration = Duration::from_secs(30 * 60);

/// The directory and when (clock-elapsed) it was read.
#[derive(Debug, Default)]
pub struct UserDirectory {
    cached: Mutex<Option<(Arc<Users>, Duration)>>,
}

impl UserDirectory {
    /// The users, read when absent or older than [`USERS_TTL`].
    pub async fn get(&self, client: &PipedriveClient, clock: &dyn Clock) -> Result<Arc<Users>, ConnectorError> {
        let mut cached = self.cached.lock().await;
        let now = clock.elapsed();
        let fresh = cached.as_ref().filter(|(_, at)| now.saturating_sub(*at) < USERS_TTL).map(|(u, _)| u.clone());
        if let Some(users) = fresh {
            return Ok(users);
        }
        match client.users().await {
            Ok(list) => {
                let users = Arc::new(Users::new(list));
                *cached = Some((users.clone(), now));
                Ok(users)
            }
            Err(e) => match cached.as_ref() {
                Some((stale, _)) if e.kind().is_retryable() => {
                    tracing::warn!(error = %e, "cannot refresh Pipedrive users; keeping the previous directory");
                    Ok(stale.clone())
                }
                _ => Err(e),
            },
        }
    }
}
