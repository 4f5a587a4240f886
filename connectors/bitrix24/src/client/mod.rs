//! The Bitrix24 REST client: every call is a `batch`, spending one request of the portal's
//! leaky bucket for up to 50 method calls.
//!
//! What it adds to the shared [`HttpClient`] (which owns rate limiting, retries, timeouts and
//! redaction):
//! - **Per-method pauses.** Bitrix24 also budgets execution time per method and webhook
//!   (`time.operating`, ten one-minute baskets, about 480 s per 10 minutes in the cloud). Each
//!   method the connector calls has its own limiter bucket that never limits on its own; it is
//!   *blocked* until `operating_reset_at` when a command comes back `OPERATION_TIME_LIMIT`, or
//!   when a method's `operating` nears the budget, so only that method waits
//!   (<https://apidocs.bitrix24.com/limits.html>). Before a batch goes out the client acquires
//!   the bucket of every method in it.
//! - **The portal's clock.** Filters on `DATE_MODIFY` / `CHANGED_DATE` are written in the
//!   portal's zone with its offset; the offset comes from `portal_timezone`, else from the
//!   `time.date_start` of the latest answer.
//! - **Batches that fit the portal's pace** ([`pace`]): batches run with a 90 s default
//!   timeout (a 50-call batch may take up to a minute), and list batches carry fewer calls
//!   only while the `time` blocks show a request or execution-time limit coming near. Every
//!   shortened batch is logged (once per change) and counted as `slowed`.
//! - **Command errors as connector errors**, by code, so callers branch on kinds.
//!
//! Every batch answer is parsed once, by the shared client, straight into [`BatchEnvelope`]:
//! an answer cut short is retried there (for reads), never parsed twice.

mod classify;
pub mod credential;
mod pace;
mod query;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset as _, TimeZone as _, Utc};
use zveno_connector::http::{wait_from_secs, Call, HttpClient, HttpStats, NoAuth, RateLimit, VendorHttp};
use zveno_connector::{BuildContext, Clock, ConnectorError, Redactor};

pub use classify::{Bitrix24Classifier, OPERATING_PAUSE};
pub use pace::{OPERATING_LIMIT_SECS, PORTAL_REQUEST_LIMIT};
pub use query::{key, row_reference, Command};

use pace::{MethodPace, OPERATING_SOFT_LIMIT_SECS};

use crate::client::credential::Webhook;
use crate::dto::{ApiError, BatchEnvelope, BatchResult, Time};

/// Most commands one `batch` may carry; more fail with `ERROR_BATCH_LENGTH_EXCEEDED`.
pub const MAX_COMMANDS: usize = 50;

/// Rows per page of every list method; fixed by Bitrix24.
pub const PAGE_ROWS: usize = 50;

/// The methods the connector calls, each with a pause bucket of its own.
pub const METHODS: [&str; 12] = [
    "crm.company.list",
    "crm.contact.list",
    "crm.company.get",
    "crm.contact.get",
    "tasks.task.get",
    "crm.requisite.list",
    "tasks.task.list",
    "user.get",
    "crm.company.add",
    "crm.company.update",
    "tasks.task.add",
    "tasks.task.update",
];

/// The portal-wide bucket every request spends: Bitrix24 lets a counter grow by one per
/// request, drains it by 2 a second and rejects requests above 50 (Enterprise: 5 and 250).
/// The governor allows a burst of 45 — below the 50, leaving a little room for another
/// integration calling the same portal from this IP, since the bucket is shared per portal
/// and source IP — then exactly the drain rate, so the steady state never sees a 503.
pub const PORTAL_BUCKET: RateLimit = RateLimit::leaky_bucket(2, 45);

/// A pause bucket's limit: far above anything the portal bucket lets through, so it only
/// ever waits when blocked.
const PAUSE_ONLY: RateLimit = RateLimit::leaky_bucket(1000, 1000);

/// A batch's timeout unless `http.timeout_secs` says otherwise: Bitrix24 answers a batch of
/// 50 list calls in up to a minute on a real portal and cuts requests off at 60 s itself, so
/// its own answer (or an on-premise portal's slower one) gets time to arrive.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(90);

/// Default limits: the portal bucket (`default`) and one pause bucket per method.
pub fn default_rate_limits() -> BTreeMap<String, RateLimit> {
    let mut limits = BTreeMap::from([("default".to_string(), PORTAL_BUCKET)]);
    limits.extend(METHODS.iter().map(|m| (m.to_string(), PAUSE_ONLY)));
    limits
}

/// The portal's UTC offset: configured through a time zone, or learned from answers.
#[derive(Debug)]
struct PortalZone {
    configured: Option<chrono_tz::Tz>,
    /// Seconds east of UTC from the latest `time.date_start`; `i32::MIN` until one was seen.
    detected: AtomicI32,
}

impl PortalZone {
    fn observe(&self, time: &Time) {
        if let Some(at) = time.date_start.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            self.detected.store(at.offset().local_minus_utc(), Ordering::Relaxed);
        }
    }

    fn offset_at(&self, instant: DateTime<Utc>) -> Option<FixedOffset> {
        if let Some(tz) = self.configured {
            return Some(tz.offset_from_utc_datetime(&instant.naive_utc()).fix());
        }
        match self.detected.load(Ordering::Relaxed) {
            i32::MIN => None,
            secs => FixedOffset::east_opt(secs),
        }
    }
}

/// A Bitrix24 portal, reached through an inbound webhook.
#[derive(Debug, Clone)]
pub struct BitrixClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    webhook: Webhook,
    zone: PortalZone,
    pace: Mutex<HashMap<&'static str, MethodPace>>,
}

impl BitrixClient {
    /// A client for the connector instance `ctx.name`.
    pub fn new(webhook: Webhook, timezone: Option<chrono_tz::Tz>, ctx: &BuildContext) -> Result<Self, ConnectorError> {
        let vendor = VendorHttp {
            rate_limits: default_rate_limits(),
            classifier: Arc::new(Bitrix24Classifier::default()),
            auth: Arc::new(NoAuth),
            redactor: Redactor::new(webhook.secrets()),
        };
        // The bucket is the portal's (per portal and source IP): every connector on one
        // portal spends the same one (see `zveno_connector::accounts`).
        let account = zveno_connector::account_key(crate::VENDOR, &zveno_connector::host_of(webhook.portal()), None);
        let http = HttpClient::for_account(ctx, vendor, &account)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                webhook,
                zone: PortalZone { configured: timezone, detected: AtomicI32::new(i32::MIN) },
                pace: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The webhook (portal origin, user).
    pub fn webhook(&self) -> &Webhook {
        &self.inner.webhook
    }

    /// The injected clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.http.clock()
    }

    /// Request counters.
    pub fn stats(&self) -> HttpStats {
        self.inner.http.stats()
    }

    /// Sends one `batch` of at most [`MAX_COMMANDS`] commands with `halt=0` (every command
    /// runs; failures come back per command). `read` batches are safe to resend after a
    /// timeout or 5xx; batches that create records are not.
    ///
    /// The portal runs commands in the order of the `cmd` object, and a command may only
    /// reference commands before it. The body is a `serde_json` map, which serialises its
    /// keys sorted, so commands must come keyed in ascending order ([`Command::new`] pads
    /// indexes so they do); anything else is refused before it is sent.
    pub async fn batch(&self, commands: &[Command], read: bool) -> Result<BatchResult, ConnectorError> {
        if commands.is_empty() || commands.len() > MAX_COMMANDS {
            return Err(ConnectorError::invalid_data(format!(
                "a batch carries 1 to {MAX_COMMANDS} commands, not {}",
                commands.len()
            )));
        }
        if commands.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(ConnectorError::invalid_data(
                "batch commands must be keyed in ascending order: the JSON body sorts its keys",
            ));
        }
        let methods: BTreeSet<&'static str> = commands.iter().map(|c| c.method).collect();
        for method in &methods {
            // Waits only while Bitrix24 has the method over its execution-time budget.
            self.inner.http.limiter().acquire(method).await;
        }
        let cmd: serde_json::Map<String, serde_json::Value> =
            commands.iter().map(|c| (c.key.clone(), serde_json::Value::String(c.text()))).collect();
        let body = serde_json::json!({"halt": 0, "cmd": cmd});
        let call = Call::post_json(self.inner.webhook.method_url("batch"), &body)
            .idempotent(read)
            .default_timeout(BATCH_TIMEOUT);
        let envelope: BatchEnvelope = self.inner.http.send_json(call).await?;
        if let Some(time) = &envelope.time {
            self.inner.zone.observe(time);
        }
        let overall = envelope.time.as_ref().and_then(|t| t.duration).map(|d| d / commands.len() as f64);
        for c in commands {
            if let Some(time) = envelope.result.result_time.get(&c.key) {
                self.observe(c.method, time, overall);
            }
        }
        Ok(envelope.result)
    }

    /// Learns from one command's `time`: what a call of `method` costs (the larger of its
    /// own duration and its share of the batch's), and how much of its budget is used.
    fn observe(&self, method: &'static str, time: &Time, share_of_batch: Option<f64>) {
        let mut paces = self.inner.pace.lock().unwrap_or_else(PoisonError::into_inner);
        let pace = paces.entry(method).or_default();
        if let Some(cost) = time.duration.into_iter().chain(share_of_batch).reduce(f64::max) {
            pace.observe_cost(cost);
        }
        let (Some(used), Some(reset_at)) = (time.operating, time.operating_reset_at) else {
            return;
        };
        pace.used = used;
        pace.reset_at = reset_at;
        drop(paces);
        if used >= OPERATING_SOFT_LIMIT_SECS {
            let wait = self.until(reset_at).unwrap_or(OPERATING_PAUSE);
            tracing::warn!(
                method,
                operating_secs = used,
                pause_secs = wait.as_secs(),
                "method near its execution-time budget; pausing it"
            );
            self.inner.http.limiter().block(method, wait);
        }
    }

    /// The wait until `unix_secs` (a vendor's `operating_reset_at`), saturating, and clamped
    /// to `http.max_wait_secs`: a reset in year 9999 is a long pause, never a panic.
    fn until(&self, unix_secs: f64) -> Option<Duration> {
        let wait = wait_from_secs(unix_secs - self.unix_now()).filter(|w| !w.is_zero())?;
        Some(self.inner.http.clamp_wait(wait))
    }

    fn unix_now(&self) -> f64 {
        self.clock().now().timestamp_millis() as f64 / 1000.0
    }

    /// How many calls of `method` the next batch may carry, at most `wanted`: fewer only
    /// while the portal's answers show its request or execution-time limit coming near. A
    /// shortened batch counts as `slowed`; a change of the limit is logged once.
    pub fn batch_limit(&self, method: &'static str, wanted: usize) -> usize {
        let timeout = self
            .inner
            .http
            .timeout_for(&Call::get(self.inner.webhook.method_url("batch")).default_timeout(BATCH_TIMEOUT));
        let mut paces = self.inner.pace.lock().unwrap_or_else(PoisonError::into_inner);
        let pace = paces.entry(method).or_default();
        let (limit, cause) = pace.limit(self.unix_now(), timeout);
        let granted = wanted.clamp(1, limit);
        if pace.reported != Some(limit) {
            match cause {
                Some(cause) if pace.reported.is_none_or(|r| limit < r) => tracing::warn!(
                    method,
                    calls_per_batch = limit,
                    "Bitrix24 is slow: batches shortened to {limit} calls because {cause}"
                ),
                Some(cause) => {
                    tracing::info!(method, calls_per_batch = limit, "batches lengthened to {limit} calls ({cause})")
                }
                None if pace.reported.is_some() => {
                    tracing::info!(method, calls_per_batch = limit, "Bitrix24 is fast again: full batches")
                }
                None => {}
            }
            pace.reported = Some(limit);
        }
        if granted < wanted {
            self.inner.http.count_slowed();
        }
        granted
    }

    /// Pauses `method` after Bitrix24 blocked it (`OPERATION_TIME_LIMIT`): until the
    /// `operating_reset_at` of its last successful answer, or for a minute when that is
    /// unknown or past (the docs: retry at the reset, else wait for the next basket).
    pub fn pause_method(&self, method: &'static str) -> Duration {
        let reset_at = self
            .inner
            .pace
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(method)
            .map(|p| p.reset_at)
            .filter(|at| *at > 0.0);
        let wait = reset_at.and_then(|at| self.until(at)).unwrap_or(OPERATING_PAUSE);
        self.inner.http.limiter().block(method, wait);
        wait
    }

    /// `instant` as Bitrix24 reads a datetime filter: the portal's wall time with its offset
    /// (`2026-01-15T13:00:00+03:00`). Until the offset is known it is written in UTC, which
    /// is still the same instant for a portal that honours offsets.
    pub fn portal_time(&self, instant: DateTime<Utc>) -> String {
        let offset = self.inner.zone.offset_at(instant).unwrap_or_else(|| {
            tracing::warn!("portal time zone not known yet; writing a UTC filter");
            Utc.fix()
        });
        instant.with_timezone(&offset).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    /// The connector error for a command that failed inside a batch.
    pub fn command_error(&self, method: &'static str, error: &ApiError) -> ConnectorError {
        let described = format!("{method}: {error}");
        match error.error.as_str() {
            "OPERATION_TIME_LIMIT" => {
                let wait = self.pause_method(method);
                ConnectorError::rate_limited(Some(wait), format!("{described} (method paused for {}s)", wait.as_secs()))
            }
            "QUERY_LIMIT_EXCEEDED" => ConnectorError::rate_limited(None, described),
            "NO_AUTH_FOUND"
            | "expired_token"
            | "invalid_token"
            | "insufficient_scope"
            | "INVALID_CREDENTIALS"
            | "ACCESS_DENIED"
            | "user_access_error" => ConnectorError::auth(described),
            "" if error.error_description.to_lowercase().contains("access denied") => ConnectorError::auth(described),
            "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER" => ConnectorError::transient(described),
            "ERROR_METHOD_NOT_FOUND" => ConnectorError::unsupported(described),
            _ => ConnectorError::invalid_data(described),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_bucket_stays_below_the_vendor_threshold() {
        let limits = default_rate_limits();
        assert_eq!(limits.get("default"), Some(&RateLimit::leaky_bucket(2, 45)));
        assert!(PORTAL_BUCKET.burst.is_some_and(|b| b < 50));
        for method in METHODS {
            assert!(limits.contains_key(method), "{method} has no pause bucket");
        }
    }

    #[test]
    fn the_zone_is_configured_or_learned_from_answers() {
        let zone = PortalZone { configured: None, detected: AtomicI32::new(i32::MIN) };
        let instant = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        assert_eq!(zone.offset_at(instant), None);
        zone.observe(&Time { date_start: Some("2026-05-14T10:26:32+02:00".into()), ..Time::default() });
        assert_eq!(zone.offset_at(instant), FixedOffset::east_opt(7200));
        let moscow = PortalZone { configured: Some(chrono_tz::Europe::Moscow), detected: AtomicI32::new(0) };
        assert_eq!(moscow.offset_at(instant), FixedOffset::east_opt(3 * 3600));
    }
}
