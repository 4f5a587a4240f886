//! `zveno-sim`: everything zveno needs to test connectors without reaching a vendor.
//!
//! - [`kit`]: the simulator kit vendor simulators are built on (server on port 0, vendor
//!   rate-limit emulators, fault injection, request log);
//! - [`world`]: a seeded world of clients, contacts and tasks spread over vendors with
//!   realistic variations and decoys, plus the ground truth of which records are the same
//!   client;
//! - [`conformance`]: the suite every connector must pass against its simulator, with the
//!   harness pieces vendors share ([`conformance::SimControls`], [`conformance::TokenHarness`]);
//! - [`drain`]: the pull-every-page loop every crate's tests use;
//! - [`testvendor`]: a tiny vendor (connector + simulator) that drives the engine's tests
//!   and, until real vendors land, the demo.

pub mod conformance;
pub mod drain;
pub mod kit;
pub mod testvendor;
pub mod world;
