//! The simulator's request log: what the connector cost, per endpoint.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Counts for one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    /// Requests received.
    pub requests: u64,
    /// Requests answered with the vendor's throttling response.
    pub throttled: u64,
    /// Requests answered with a 5xx (injected or not) or a dropped connection.
    pub errors: u64,
    /// Records (or commands) the largest batch write request carried: what a test checks
    /// against the vendor's batch limit.
    pub largest_batch: u64,
}

/// Per-endpoint counters. Endpoints are named by the vendor simulator (`search companies`)
/// or default to `METHOD /path` with numeric segments replaced by `{id}`.
#[derive(Debug, Default)]
pub struct RequestLog {
    endpoints: Mutex<BTreeMap<String, EndpointStats>>,
}

impl RequestLog {
    pub(crate) fn record(&self, endpoint: &str, throttled: bool, error: bool) {
        let mut map = self.endpoints.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.entry(endpoint.to_string()).or_default();
        e.requests += 1;
        e.throttled += u64::from(throttled);
        e.errors += u64::from(error);
    }

    pub(crate) fn record_batch(&self, endpoint: &str, items: u64) {
        let mut map = self.endpoints.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.entry(endpoint.to_string()).or_default();
        e.largest_batch = e.largest_batch.max(items);
    }

    /// Counts by endpoint.
    pub fn by_endpoint(&self) -> BTreeMap<String, EndpointStats> {
        self.endpoints.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Counts for one endpoint (zero if never called).
    pub fn endpoint(&self, name: &str) -> EndpointStats {
        self.by_endpoint().get(name).copied().unwrap_or_default()
    }

    /// Totals over all endpoints.
    pub fn total(&self) -> EndpointStats {
        self.by_endpoint().values().fold(EndpointStats::default(), |acc, e| EndpointStats {
            requests: acc.requests + e.requests,
            throttled: acc.throttled + e.throttled,
            errors: acc.errors + e.errors,
            largest_batch: acc.largest_batch.max(e.largest_batch),
        })
    }

    /// Forgets everything (between benchmark phases).
    pub fn reset(&self) {
        self.endpoints.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}
