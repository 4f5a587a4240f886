//! The Jira connector against its simulated site: one integration-test binary (the vendor
//! crate template), one place for helpers (`common`). Needs the `simulator` feature.

mod common;
mod conformance;
mod failures;
mod sync;
mod writes;
