//! The HubSpot connector against its simulated portal: one integration-test binary (the
//! vendor crate template), one place for helpers (`common`). Needs the `simulator` feature.

#[cfg(not(feature = "simulator"))]
compile_error!("the integration tests drive the simulator: build them with the `simulator` feature (on by default)");

mod common;
mod conformance;
mod handles;
mod push;
mod simulator;
mod sync;
