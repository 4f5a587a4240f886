//! A vendor's user directory (owners, assignees), cached once per connector instance.
//!
//! Every record names its owner by a vendor user id while the common model wants the
//! e-mail, which is what matches a person across systems. Reading the directory per page
//! would double a sync's requests; reading it once and keeping it forever would miss new
//! colleagues. So every vendor keeps it the same way, here:
//!
//! - loaded on first use, then trusted for a TTL on the injected [`Clock`] (or for the
//!   instance's life, when the vendor reloads on demand instead);
//! - reloaded early when a record names ids it does not know ([`Directory::covering`]); ids
//!   still unknown after that reload (bots, integration users no listing returns) are
//!   remembered, so they never cause another;
//! - a refresh that fails on a retryable error keeps the previous directory with a warning
//!   (an owner's e-mail a few minutes old beats a failed sync); any other error, and any
//!   error of the first load, is returned.
//!
//! What to load and how (pages, batches, a token without the owners scope) is the vendor's
//! loader; caching, expiry and failure handling are this type's.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::ConnectorError;

/// A cached directory `T`, keyed by ids `K` for [`Directory::covering`].
pub struct Directory<T, K = String> {
    what: &'static str,
    ttl: Option<Duration>,
    state: Mutex<State<T, K>>,
}

struct State<T, K> {
    /// The directory and when (clock-elapsed) it was loaded.
    loaded: Option<(Arc<T>, Duration)>,
    /// Ids a reload did not find: they never trigger another.
    unknown: HashSet<K>,
}

impl<T, K> fmt::Debug for Directory<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directory").field("what", &self.what).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl<T, K: Hash + Eq> Directory<T, K> {
    /// An empty cache of `what` (for log lines: "HubSpot owners"), trusted for `ttl` (`None`:
    /// until [`Self::covering`] finds an id it lacks).
    pub fn new(what: &'static str, ttl: Option<Duration>) -> Self {
        Self { what, ttl, state: Mutex::new(State { loaded: None, unknown: HashSet::new() }) }
    }

    /// The directory, loaded with `load` when absent or older than the TTL.
    pub async fn get<F, Fut>(&self, clock: &dyn Clock, load: F) -> Result<Arc<T>, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let mut state = self.state.lock().await;
        let now = clock.elapsed();
        let fresh = state.loaded.as_ref().filter(|(_, at)| self.ttl.is_none_or(|ttl| now.saturating_sub(*at) < ttl));
        if let Some((directory, _)) = fresh {
            return Ok(directory.clone());
        }
        self.reload(&mut state, now, load).await
    }

    /// The directory, reloaded first when it lacks some of `ids` (`knows` says whether it has
    /// one) that no earlier reload failed to find.
    pub async fn covering<F, Fut>(
        &self,
        clock: &dyn Clock,
        ids: impl IntoIterator<Item = K>,
        knows: impl Fn(&T, &K) -> bool,
        load: F,
    ) -> Result<Arc<T>, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let mut state = self.state.lock().await;
        let now = clock.elapsed();
        let missing: Vec<K> = ids
            .into_iter()
            .filter(|id| !state.unknown.contains(id) && state.loaded.as_ref().is_none_or(|(d, _)| !knows(d, id)))
            .collect();
        let stale =
            state.loaded.as_ref().is_none_or(|(_, at)| self.ttl.is_some_and(|ttl| now.saturating_sub(*at) >= ttl));
        match &state.loaded {
            Some((directory, _)) if !stale && missing.is_empty() => Ok(directory.clone()),
            _ => {
                let directory = self.reload(&mut state, now, load).await?;
                state.unknown.extend(missing.into_iter().filter(|id| !knows(&directory, id)));
                Ok(directory)
            }
        }
    }

    async fn reload<F, Fut>(&self, state: &mut State<T, K>, now: Duration, load: F) -> Result<Arc<T>, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        match load().await {
            Ok(directory) => {
                let directory = Arc::new(directory);
                state.loaded = Some((directory.clone(), now));
                Ok(directory)
            }
            Err(e) => match &state.loaded {
                Some((stale, _)) if e.kind().is_retryable() => {
                    tracing::warn!(error = %e, "cannot refresh {}; keeping the previous list", self.what);
                    Ok(stale.clone())
                }
                _ => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::ManualClock;

    type People = BTreeMap<u64, String>;

    fn clock() -> ManualClock {
        ManualClock::new(chrono::DateTime::UNIX_EPOCH)
    }

    async fn load(calls: &AtomicUsize, result: Result<People, ConnectorError>) -> Result<People, ConnectorError> {
        calls.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn people(ids: &[u64]) -> People {
        ids.iter().map(|id| (*id, format!("user{id}@example.com"))).collect()
    }

    #[tokio::test]
    async fn a_directory_is_loaded_once_per_ttl_and_kept_when_a_refresh_fails() {
        let (clock, calls) = (clock(), AtomicUsize::new(0));
        let cache: Directory<People> = Directory::new("users", Some(Duration::from_secs(60)));
        for _ in 0..3 {
            let got = cache.get(&clock, || load(&calls, Ok(people(&[1])))).await.unwrap();
            assert_eq!(got.len(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "fresh within the TTL");
        clock.advance(Duration::from_secs(61));
        let got = cache.get(&clock, || load(&calls, Ok(people(&[1, 2])))).await.unwrap();
        assert_eq!((got.len(), calls.load(Ordering::SeqCst)), (2, 2), "reloaded after the TTL");
        clock.advance(Duration::from_secs(61));
        let kept = cache.get(&clock, || load(&calls, Err(ConnectorError::transient("503")))).await.unwrap();
        assert_eq!(kept.len(), 2, "a retryable failure keeps the previous list");
        clock.advance(Duration::from_secs(61));
        let refused = cache.get(&clock, || load(&calls, Err(ConnectorError::auth("401")))).await;
        assert!(refused.is_err(), "a refused token is not hidden behind a stale list");
    }

    #[tokio::test]
    async fn the_first_load_fails_with_its_error() {
        let (clock, calls) = (clock(), AtomicUsize::new(0));
        let cache: Directory<People> = Directory::new("users", None);
        let first = cache.get(&clock, || load(&calls, Err(ConnectorError::transient("503")))).await;
        assert!(first.is_err());
        assert!(cache.get(&clock, || load(&calls, Ok(people(&[1])))).await.is_ok(), "and the next try loads");
    }

    #[tokio::test]
    async fn unknown_ids_reload_once_and_ids_still_missing_never_again() {
        let (clock, calls) = (clock(), AtomicUsize::new(0));
        let cache: Directory<People, u64> = Directory::new("users", None);
        let knows = |p: &People, id: &u64| p.contains_key(id);
        cache.covering(&clock, [1], knows, || load(&calls, Ok(people(&[1])))).await.unwrap();
        cache.covering(&clock, [1], knows, || load(&calls, Ok(people(&[1])))).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "known ids cost nothing");
        let got = cache.covering(&clock, [2, 99], knows, || load(&calls, Ok(people(&[1, 2])))).await.unwrap();
        assert!(got.contains_key(&2));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a new colleague reloads");
        cache.covering(&clock, [99], knows, || load(&calls, Ok(people(&[1, 2])))).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "an id no listing returns does not reload again");
    }
}
