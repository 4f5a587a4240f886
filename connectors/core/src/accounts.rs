//! Account-level budgets: what every connector instance on one vendor account shares.
//!
//! Rate limits belong to the vendor *account*, not to a `[connectors.<name>]` table: HubSpot's
//! daily quota and search limit count per portal, Bitrix24's leaky bucket per portal (and
//! source IP), Pipedrive's token budget per company. Two connectors configured on one account
//! (one for clients, one for tasks; or a test and a production name on one portal) that each
//! kept their own budget would together spend twice the account's allowance and hit 429s.
//!
//! So a vendor factory names the account its instance spends ([`account_key`]: the vendor,
//! what identifies the account publicly — portal id, portal host, API host — and a hash of the
//! credential where the host alone does not tell accounts apart) and asks [`Accounts`] for
//! the budget objects of that account: the first instance built creates them, later ones get
//! the same `Arc`. [`Accounts`] travels in the [`crate::BuildContext`], one per process (the
//! daemon builds every connector from one), so nothing is global and tests get fresh ones.
//! Across processes, leases keep one puller per connector; what each instance may spend of
//! the account's budget is up to the operator (README, "Several instances").

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::secret::Secret;

type Shared = Arc<dyn Any + Send + Sync>;

/// The budgets of every vendor account connectors of this process spend, by account key and
/// type. Cheap to clone; clones share the registry.
#[derive(Clone, Default)]
pub struct Accounts {
    shared: Arc<Mutex<HashMap<(String, TypeId), Shared>>>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let mut accounts: Vec<&str> = shared.keys().map(|(account, _)| account.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        f.debug_struct("Accounts").field("accounts", &accounts).finish()
    }
}

impl Accounts {
    /// The `T` of `account`: the one made by the first caller (with `make`), or a new one.
    pub fn shared<T: Any + Send + Sync>(&self, account: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (account.to_string(), TypeId::of::<T>());
        // Keyed by the type too, so the downcast of a found value always succeeds.
        if let Some(found) = shared.get(&key).and_then(|v| v.clone().downcast::<T>().ok()) {
            return found;
        }
        let made = Arc::new(make());
        shared.insert(key, made.clone());
        made
    }

    /// How many accounts hold budgets (for tests and logs).
    pub fn len(&self) -> usize {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let mut accounts: Vec<&String> = shared.keys().map(|(account, _)| account).collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts.len()
    }

    /// Whether no account holds a budget yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key of a vendor account: `vendor`, the public part that names it (`portal 62515`,
/// a portal's host, an API host and port), and — where the public part does not tell two
/// accounts apart — the first bytes of the SHA-256 of the credential, from which the secret
/// cannot be read back.
pub fn account_key(vendor: &str, public: &str, credential: Option<&Secret>) -> String {
    match credential {
        None => format!("{vendor} {public}"),
        Some(secret) => {
            let digest = Sha256::digest(secret.expose().as_bytes());
            format!("{vendor} {public} {}", hex::encode(&digest[..6]))
        }
    }
}

/// A URL's host and port (the known default port when none is written): what names a
/// vendor source or account publicly. Never the path, user or query, which may carry
/// credentials (a Bitrix24 webhook URL's path holds its token).
pub fn host_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_gets_one_budget_and_another_account_its_own() {
        let accounts = Accounts::default();
        let a = accounts.shared("crm portal 1", || Mutex::new(0_u32));
        let again = accounts.shared("crm portal 1", || Mutex::new(99_u32));
        let other = accounts.shared("crm portal 2", || Mutex::new(7_u32));
        *a.lock().unwrap() += 1;
        assert_eq!(*again.lock().unwrap(), 1, "the second instance spends the first one's budget");
        assert_eq!(*other.lock().unwrap(), 7);
        assert_eq!(accounts.len(), 2);
    }

    #[test]
    fn keys_never_show_the_credential() {
        let token = Secret::new("pat-na1-very-secret");
        let key = account_key("crm", "api.example.com:443", Some(&token));
        assert!(key.starts_with("crm api.example.com:443 "), "{key}");
        assert!(!key.contains("secret"), "{key}");
        assert_ne!(key, account_key("crm", "api.example.com:443", Some(&Secret::new("pat-na1-other"))));
        let url = url::Url::parse("https://user:pw@portal.example.ru/rest/1/tok3n/").unwrap();
        assert_eq!(host_of(&url), "portal.example.ru:443");
    }
}
