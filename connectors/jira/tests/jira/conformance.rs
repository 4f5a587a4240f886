//! The zveno connector conformance suite against the Jira simulator (faults included).

zveno_sim::conformance_suite!(zveno_jira::simulator::harness::JiraHarness);
