//! Prometheus metrics, through `prometheus-client` (the Prometheus project's own Rust
//! client): one [`Metrics`] value, created by whoever builds the daemon and handed to the
//! engine and the HTTP server — no global registry, so tests each get their own.
//!
//! Two sources feed it. Events are counted where they happen (a run finishes, identity
//! resolution runs, an HTTP request is answered). State is read from the store when
//! `/metrics` is scraped (clients, open and overdue tasks, each connector's last success,
//! lag and parking), so it is right after a restart and agrees with the views, which read
//! the same rows.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use zveno_connector::http::HttpStats;

use crate::engine::RunSummary;
use crate::view::connectors::{ConnectorState, ConnectorStatus};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    connector: String,
    kind: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    connector: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    connector: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    connector: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    connector: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type HistogramMaker = fn() -> Histogram;

fn http_histogram() -> Histogram {
    // 0.5 ms … ~8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Every series zveno exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sync_runs: Family<RunLabels, Counter>,
    records_pulled: Family<KindLabels, Counter>,
    vendor_requests: Family<StatusLabels, Counter>,
    vendor_throttled: Family<ConnectorLabels, Counter>,
    last_success: Family<KindLabels, FloatGauge>,
    sync_lag: Family<KindLabels, FloatGauge>,
    parked: Family<ConnectorLabels, Gauge>,
    resolve_duration: Histogram,
    clients: Gauge,
    tasks: Family<StateLabels, Gauge>,
    http_duration: Family<RouteLabels, Histogram, HistogramMaker>,
    webhooks: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry holding every series, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            sync_runs: Family::default(),
            records_pulled: Family::default(),
            vendor_requests: Family::default(),
            vendor_throttled: Family::default(),
            last_success: Family::default(),
            sync_lag: Family::default(),
            parked: Family::default(),
            resolve_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            clients: Gauge::default(),
            tasks: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram as HistogramMaker),
            webhooks: Family::default(),
            registry: Registry::default(),
        };
        registry.register("zveno_sync_runs", "Sync runs finished, by connector, kind and status", m.sync_runs.clone());
        registry.register("zveno_records_pulled", "Records pulled from vendors", m.records_pulled.clone());
        registry.register(
            "zveno_vendor_requests",
            "HTTP requests to vendors: ok, throttled, or error (transient failures retried and requests that \
             finally failed)",
            m.vendor_requests.clone(),
        );
        registry.register("zveno_vendor_throttled", "Throttling answers from vendors", m.vendor_throttled.clone());
        registry.register(
            "zveno_last_success_timestamp_seconds",
            "When the last successful run of a connector's kind finished (Unix time)",
            m.last_success.clone(),
        );
        registry.register(
            "zveno_sync_lag_seconds",
            "Seconds since the last successful run of a connector's kind",
            m.sync_lag.clone(),
        );
        registry.register(
            "zveno_connector_parked",
            "1 when a connector is parked until an operator acts",
            m.parked.clone(),
        );
        registry.register(
            "zveno_resolve_duration_seconds",
            "Identity resolution runs, by duration",
            m.resolve_duration.clone(),
        );
        registry.register("zveno_clients", "Unified clients", m.clients.clone());
        registry.register("zveno_tasks", "Tasks, open and overdue", m.tasks.clone());
        registry.register(
            "zveno_http_request_duration_seconds",
            "HTTP requests served, by route and status",
            m.http_duration.clone(),
        );
        registry.register(
            "zveno_webhooks",
            "Webhook deliveries, by connector and outcome (accepted, replayed, unauthorized, invalid, not_enabled, \
             failed)",
            m.webhooks.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts a finished run and the vendor requests it made.
    pub fn run_finished(&self, run: &RunSummary, http: &HttpStats) {
        let kind = run.kind.as_str().to_string();
        let connector = run.connector.clone();
        self.sync_runs
            .get_or_create(&RunLabels {
                connector: connector.clone(),
                kind: kind.clone(),
                status: run.status.to_string(),
            })
            .inc();
        self.records_pulled.get_or_create(&KindLabels { connector: connector.clone(), kind }).inc_by(run.records);
        let errors = http.retried + http.failed;
        let ok = http.requests.saturating_sub(http.throttled).saturating_sub(errors);
        for (status, n) in [("ok", ok), ("throttled", http.throttled), ("error", errors)] {
            self.vendor_requests
                .get_or_create(&StatusLabels { connector: connector.clone(), status: status.to_string() })
                .inc_by(n);
        }
        self.vendor_throttled.get_or_create(&ConnectorLabels { connector }).inc_by(http.throttled);
    }

    /// Records one identity resolution run.
    pub fn resolved(&self, took: Duration) {
        self.resolve_duration.observe(took.as_secs_f64());
    }

    /// Records one HTTP request served.
    pub fn http_served(&self, route: &str, status: u16, took: Duration) {
        self.http_duration
            .get_or_create(&RouteLabels { route: route.to_string(), status: status.to_string() })
            .observe(took.as_secs_f64());
    }

    /// Counts one webhook delivery to a configured connector by its outcome.
    pub fn webhook(&self, connector: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&OutcomeLabels { connector: connector.to_string(), outcome: outcome.to_string() })
            .inc();
    }

    /// Sets the state gauges from what the store says now.
    pub fn set_state(&self, clients: u64, open_tasks: u64, overdue_tasks: u64, connectors: &[ConnectorStatus]) {
        self.clients.set(i64::try_from(clients).unwrap_or(i64::MAX));
        for (state, n) in [("open", open_tasks), ("overdue", overdue_tasks)] {
            self.tasks
                .get_or_create(&StateLabels { state: state.to_string() })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for c in connectors {
            let parked = i64::from(c.state == ConnectorState::Parked);
            self.parked.get_or_create(&ConnectorLabels { connector: c.name.clone() }).set(parked);
            for k in &c.kinds {
                let labels = KindLabels { connector: c.name.clone(), kind: k.kind.as_str().to_string() };
                if let Some(at) = k.last_success_at {
                    self.last_success.get_or_create(&labels).set(at.timestamp_millis() as f64 / 1000.0);
                }
                if let Some(lag) = k.lag_seconds {
                    self.sync_lag.get_or_create(&labels).set(lag as f64);
                }
            }
        }
    }

    /// The exposition text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
