//! Jira Cloud connector and simulator (work in progress).
