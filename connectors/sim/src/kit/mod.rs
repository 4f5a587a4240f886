//! The simulator kit: what every vendor simulator is built from.
//!
//! - [`SimServer`]: an axum server on `127.0.0.1:0`, wrapped in the kit middleware;
//! - [`RequestLog`]: per-endpoint request, throttle and error counts, so tests and benchmarks
//!   compare API calls with the floor;
//! - [`RollingWindow`] and [`LeakyBucket`]: vendor rate limits on the injected clock; the
//!   vendor simulator decides which requests they guard and answers with the vendor's own
//!   throttling body (HubSpot 429 `policyName`, Bitrix24 503 `QUERY_LIMIT_EXCEEDED`);
//! - [`Faults`]: a seeded fraction of 5xx answers, added latency, malformed bodies and
//!   dropped connections, switchable at run time;
//! - [`recorded`]: rows of recorded vendor list responses, for simulators seeded from them.

mod faults;
mod limits;
mod log;
pub mod recorded;
mod server;
mod vendor;

pub use faults::{Fault, FaultConfig, Faults};
pub use limits::{LeakyBucket, RollingWindow};
pub use log::{EndpointStats, RequestLog};
pub use server::{Endpoint, Kit, LaunchedSim, SimServer, Throttled};
pub use vendor::{LaunchFn, Launching, SimulatorEntry};
