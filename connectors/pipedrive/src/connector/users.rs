//! The user directory: Pipedrive's loader for the shared [`Directory`] cache.
//!
//! Every record names its owner by user id, and the e-mail is what matches a person across
//! systems, so `/v1/users` (one unpaged call, 20 tokens) is read on first use and trusted
//! for [`USERS_TTL`] (caching, expiry and failed refreshes are
//! `zveno_connector::directory`'s): a sync costs one users call, not one per page.

use std::sync::Arc;
use std::time::Duration;

use zveno_connector::{ConnectorError, Directory};

use super::PipedriveConnector;
use crate::mapping::Users;

/// How long a user directory is trusted.
pub const USERS_TTL: Duration = Duration::from_secs(30 * 60);

/// The user cache of one connector instance.
pub fn cache() -> Directory<Users> {
    Directory::new("Pipedrive users", Some(USERS_TTL))
}

impl PipedriveConnector {
    /// The users, read when absent or older than [`USERS_TTL`].
    pub(crate) async fn users(&self) -> Result<Arc<Users>, ConnectorError> {
        self.users.get(self.clock.as_ref(), || async { Ok(Users::new(self.client.users().await?)) }).await
    }
}
