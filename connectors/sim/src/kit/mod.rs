//! The simulator kit: what every vendor simulator is built from.
//!
//! - [`SimServer`]: an axum server on `127.0.0.1:0`, wrapped in the kit middleware, which
//!   also stamps every answer with an HTTP `Date` from the simulator's clock, as a vendor's
//!   servers do from theirs (connectors take window bounds from it);
//! - [`RequestLog`]: per-endpoint request, throttle and error counts and the largest batch
//!   write ([`Batch`]), so tests and benchmarks compare API calls with the floor and
//!   batches with the vendor's limit;
//! - [`RollingWindow`] and [`LeakyBucket`]: vendor rate limits on the injected clock; the
//!   vendor simulator decides which requests they guard and answers with the vendor's own
//!   throttling body (HubSpot 429 `policyName`, Bitrix24 503 `QUERY_LIMIT_EXCEEDED`);
//! - [`Faults`]: a seeded fraction of 5xx answers, added latency, malformed bodies and
//!   dropped connections, switchable at run time;
//! - [`recorded`]: rows of recorded vendor list responses, for simulators seeded from them;
//! - [`Connect`]: a vendor's connector pointed at its simulator, through its registry entry.

mod connect;
mod faults;
mod limits;
mod log;
pub mod recorded;
mod server;
mod vendor;

pub use connect::Connect;
pub use faults::{Fault, FaultConfig, Faults};
pub use limits::{LeakyBucket, RollingWindow};
pub use log::{EndpointStats, RequestLog};
pub use server::{Batch, Endpoint, Kit, LaunchedSim, SimServer, Throttled};
pub use vendor::{BenchLaunchFn, BenchLaunching, BenchSim, LaunchFn, Launching, SimulatorEntry};
