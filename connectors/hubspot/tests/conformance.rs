//! The `zveno-sim` conformance suite against the HubSpot simulator, one test per check.
#![cfg(feature = "simulator")]

zveno_sim::conformance_suite!(zveno_hubspot::simulator::HubSpotHarness);
