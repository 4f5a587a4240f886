//! The `zveno-sim` conformance suite against the HubSpot simulator, one test per check.

zveno_sim::conformance_suite!(zveno_hubspot::simulator::HubSpotHarness);
