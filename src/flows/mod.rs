//! Write-back: flows (`[[flows]]`) that make systems agree, planned as a pure function and
//! applied through connectors' `push`.
//!
//! - [`spec`]: a validated flow;
//! - [`values`]: the fields a flow compares, read from stored records, canonical and hashed;
//! - [`plan`]: golden records, source records, last agreed values and the write ledger in,
//!   creates, updates, archives and conflicts out — field by field, before → after.
//!
//! Three-way: a side "changed" a field when its value differs from the last value both
//! sides agreed on and is not the echo of zveno's own write (the ledger). A field only one
//! side changed follows that side (target edits only in two-way flows); one both changed
//! is settled by `on_conflict` or queued for a person. Nothing is silently overwritten.

pub mod apply;
pub mod data;
pub mod lease;
pub mod load;
pub mod plan;
pub mod recover;
pub mod runner;
pub mod spec;
pub mod values;

pub use plan::{plan, Action, Conflict, FieldChange, Plan, PlanInput, PlannedOp, Unmapped};
pub use runner::FlowRunner;
pub use spec::{Direction, Flow, OnConflict, OnDelete};
