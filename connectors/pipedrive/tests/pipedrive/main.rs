//! The Pipedrive connector against its simulated company: one integration-test binary (the
//! vendor crate template). Needs the `simulator` feature.

mod conformance;
mod sync;
