//! Why a record is in its entity: the rule of the link that put it there.
//!
//! Every link the store keeps carries one of these, a score and the evidence (the shared
//! value and the record it matched), so `zveno client <id>` can say *why* two records are
//! one client, and an operator can overrule it with `zveno link` / `zveno unlink`.

use std::fmt;

use serde::Serialize;

/// The rule that linked a record to its entity, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// An operator's `zveno link`.
    Manual,
    /// The same tax id.
    TaxId,
    /// The same registrable (corporate) domain.
    Domain,
    /// The same e-mail address.
    Email,
    /// The same phone.
    Phone,
    /// Matching names within a block.
    Name,
    /// Nothing matched: the record is an entity of its own.
    Single,
    /// An operator's `zveno unlink`: kept apart from every automatic match.
    Unlinked,
}

impl Rule {
    /// The stable name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::TaxId => "tax_id",
            Self::Domain => "domain",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Name => "name",
            Self::Single => "single",
            Self::Unlinked => "unlinked",
        }
    }

    /// The rule of an index key's prefix (`t:`, `d:`, …), for deterministic keys.
    pub fn of_key(key: &str) -> Option<Rule> {
        let (prefix, _) = key.split_once(':')?;
        Some(match prefix {
            "t" => Self::TaxId,
            "d" => Self::Domain,
            "e" | "ce" => Self::Email,
            "ph" | "cp" => Self::Phone,
            "n" | "p" => Self::Name,
            _ => return None,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one record is where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The rule.
    pub rule: Rule,
    /// Its score in `[0, 1]` (1 for deterministic keys and manual links).
    pub score: f64,
    /// The shared value (`7707083893`, `romashka.ru`), or a note.
    pub evidence: String,
    /// The index (in the resolved batch) of the record it matched.
    pub via: Option<usize>,
}

impl Reason {
    /// A record alone in its entity (`rule` is [`Rule::Single`] or [`Rule::Unlinked`]).
    pub fn alone(rule: Rule) -> Self {
        Self { rule, score: 1.0, evidence: String::new(), via: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_rule() {
        assert_eq!(Rule::of_key("t:7707083893"), Some(Rule::TaxId));
        assert_eq!(Rule::of_key("p:ivanov:i"), Some(Rule::Name));
        assert_eq!(Rule::of_key("r:crm:7"), None);
    }
}
