//! The connector conformance suite against the simulated portal, one test per check.

zveno_sim::conformance_suite!(zveno_bitrix24::simulator::Bitrix24Harness);
