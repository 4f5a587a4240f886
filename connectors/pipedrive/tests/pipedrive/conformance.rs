//! The `zveno-sim` conformance suite against the Pipedrive simulator, one test per check.

zveno_sim::conformance_suite!(zveno_pipedrive::simulator::PipedriveHarness);
