//! Clusters with their explanations: union-find plus, for every record, the first (and
//! so strongest) link that joined it to another record.
//!
//! Links are applied strongest rule first, so the reason a record keeps is the best one
//! it has: a record matched on its tax id and also on its name is explained by the tax id.

use super::rules::{Reason, Rule};
use super::union_find::UnionFind;

/// Operators' decisions, as indices into the batch being resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Pairs `zveno link` joined.
    pub links: Vec<(usize, usize)>,
    /// `unlinked[i]`: record `i` was `zveno unlink`ed; no automatic rule may join it.
    pub unlinked: Vec<bool>,
}

impl Overrides {
    /// No decisions, for `n` records.
    pub fn none(n: usize) -> Self {
        Self { links: Vec::new(), unlinked: vec![false; n] }
    }
}

/// The outcome: clusters of record indices and each record's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Clusters, each ascending, ordered by their first member.
    pub sets: Vec<Vec<usize>>,
    /// `reasons[i]`: why record `i` is in its cluster.
    pub reasons: Vec<Reason>,
}

/// Union-find that remembers why.
#[derive(Debug)]
pub struct Linker {
    uf: UnionFind,
    reasons: Vec<Option<Reason>>,
}

impl Linker {
    /// `n` records, each alone.
    pub fn new(n: usize) -> Self {
        Self { uf: UnionFind::new(n), reasons: vec![None; n] }
    }

    /// The cluster representative of `x`.
    pub fn root(&mut self, x: usize) -> usize {
        self.uf.find(x)
    }

    /// Joins the clusters of `a` and `b`, explaining each of the two records by this link
    /// unless it already has a reason. Returns `(kept, absorbed)` roots, or `None` when
    /// they were one cluster already.
    pub fn link(&mut self, a: usize, b: usize, rule: Rule, score: f64, evidence: &str) -> Option<(usize, usize)> {
        let joined = self.uf.union(a, b)?;
        for (x, other) in [(a, b), (b, a)] {
            if self.reasons[x].is_none() {
                self.reasons[x] = Some(Reason { rule, score, evidence: evidence.to_string(), via: Some(other) });
            }
        }
        Some(joined)
    }

    /// The clusters; records nothing joined are `single`, or `unlinked` when an operator
    /// kept them apart.
    pub fn finish(mut self, unlinked: &[bool]) -> Clustering {
        let sets = self.uf.sets();
        let reasons = self
            .reasons
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    Reason::alone(if unlinked.get(i).copied().unwrap_or(false) { Rule::Unlinked } else { Rule::Single })
                })
            })
            .collect();
        Clustering { sets, reasons }
    }
}

/// The value part of an index key (`t:7707083893` → `7707083893`).
pub fn key_value(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_keeps_the_first_link_that_joined_it() {
        let mut l = Linker::new(4);
        assert!(l.link(0, 1, Rule::TaxId, 1.0, "7707083893").is_some());
        assert!(l.link(1, 2, Rule::Name, 1.0, "romashka").is_some());
        assert!(l.link(0, 2, Rule::Phone, 1.0, "+7").is_none());
        let c = l.finish(&[false, false, false, true]);
        assert_eq!(c.sets, vec![vec![0, 1, 2], vec![3]]);
        let rules: Vec<Rule> = c.reasons.iter().map(|r| r.rule).collect();
        assert_eq!(rules, [Rule::TaxId, Rule::TaxId, Rule::Name, Rule::Unlinked]);
        assert_eq!(c.reasons[2].via, Some(1));
        assert_eq!(key_value("t:7707083893"), "7707083893");
    }
}
