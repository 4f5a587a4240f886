//! The HubSpot connector against its simulated portal: one integration-test binary (the
//! vendor crate template), one place for helpers (`common`). Needs the `simulator` feature.

mod common;
mod conformance;
mod push;
mod simulator;
mod sync;
