//! The Pipedrive connector against its simulated company: one integration-test binary (the
//! vendor crate template). Needs the `simulator` feature.

#[cfg(not(feature = "simulator"))]
compile_error!("the integration tests drive the simulator: build them with the `simulator` feature (on by default)");

mod conformance;
mod handles;
mod sync;
