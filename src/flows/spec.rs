//! A validated `[[flows]]` table: what a write-back flow reads, what it writes, and how it
//! settles a field both sides changed. Parsing and validation live in
//! `settings::flows`; the planner and `zveno plan` read only these types.

use std::fmt;

use serde::Serialize;
use zveno_connector::Kind;

/// Which way edits travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Source edits are written to the target; edits made in the target stay there.
    OneWay,
    /// Edits made in the target also go back to every linked source record.
    TwoWay,
}

/// How a field changed on both sides since they last agreed is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// The source's value wins.
    Source,
    /// The target's value wins.
    Target,
    /// The value of the record the vendor says was modified last wins.
    MostRecent,
    /// Neither: the conflict is queued for a person (`zveno conflicts`).
    Manual,
}

/// What a record deleted at the source does to its copy in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Nothing: the copy stays.
    Ignore,
    /// The copy is archived (closed, for tasks) in the target.
    Archive,
}

macro_rules! named {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order the config documents them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The config name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// The value named `name`, if any.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }

            /// The config names, for error messages.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(Direction { OneWay = "one-way", TwoWay = "two-way" });
named!(OnConflict { Source = "source", Target = "target", MostRecent = "most_recent", Manual = "manual" });
named!(OnDelete { Ignore = "ignore", Archive = "archive" });

/// One validated `[[flows]]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Unique name (`zveno plan --flow NAME`).
    pub name: String,
    /// `client` or `task`.
    pub kind: Kind,
    /// Connector names whose records are the source.
    pub from: Vec<String>,
    /// The connector written to.
    pub to: String,
    /// Whether a record the target lacks is created there.
    pub create: bool,
    /// Common-model field names written (each one the target, and for two-way flows every
    /// source, can hold).
    pub fields: Vec<String>,
    /// Which way edits travel.
    pub direction: Direction,
    /// How a field changed on both sides is settled.
    pub on_conflict: OnConflict,
    /// Whether `zveno run` applies the plan after each sync (else it only plans).
    pub apply: bool,
    /// What a deletion at the source does in the target.
    pub on_delete: OnDelete,
}

impl Flow {
    /// Whether `connector` is one of this flow's sources.
    pub fn reads(&self, connector: &str) -> bool {
        self.from.iter().any(|c| c == connector)
    }
}
