//! The conformance suite against the test vendor: one test per check, so a failure names
//! the property that broke.

zveno_sim::conformance_suite!(zveno_sim::testvendor::TestVendorHarness);
