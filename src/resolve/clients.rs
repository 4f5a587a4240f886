//! Which client records are one client.
//!
//! Three passes over a batch of client records (a whole store, or the part an incremental
//! run re-resolves — see `scope.rs`), each a union-find step that records its reason:
//!
//! 1. **manual links**, never vetoed;
//! 2. **deterministic keys**, strongest first (tax id, domain, free-mail address, phone):
//!    all records sharing the key join, unless two of the clusters it would join veto each
//!    other (`vetoes.rs`) — then the key is ambiguous and joins nothing;
//! 3. **name blocks**: clusters in a block are scored pairwise (best pair of their
//!    records, `score.rs`); pairs at [`MERGE_THRESHOLD`] whose records nowhere contradict
//!    each other join, subject to vetoes — which never let a name alone join two clusters
//!    that each have a tax id or domain. A cluster whose name matches two clusters that veto each other is
//!    ambiguous — `romashka` with neither INN nor website, next to `ООО «Ромашка»` and
//!    its look-alike `АО «Ромашка»` — and joins neither: a wrong merge hides a client
//!    from its account manager, a missed one only shows it twice.
//!
//! Records an operator unlinked take part in none of this. The passes depend only on the
//! records sharing keys, in a fixed order, so resolving a closed part of the store gives
//! the same clusters as resolving all of it.

use std::collections::HashSet;

use super::blocking::blocks;
use super::cluster::{key_value, Clustering, Linker, Overrides};
use super::keys::ClientKeys;
use super::rules::Rule;
use super::score::{name_score, MERGE_THRESHOLD};
use super::vetoes::{veto, Identity};

/// Clusters client records. `keys[i]` are record `i`'s; `overfull` are keys the store
/// knows to be shared by too many records.
pub fn cluster_clients(keys: &[ClientKeys], overrides: &Overrides, overfull: &HashSet<String>) -> Clustering {
    let mut state = State { linker: Linker::new(keys.len()), identities: keys.iter().map(Identity::of).collect() };
    for &(a, b) in &overrides.links {
        state.join(a, b, Rule::Manual, 1.0, "manual link");
    }
    let index_keys: Vec<Vec<String>> = keys.iter().map(ClientKeys::index_keys).collect();
    let groups = blocks(&index_keys, &overrides.unlinked, overfull);
    for (key, members) in &groups.deterministic {
        let rule = Rule::of_key(key).unwrap_or(Rule::Single);
        if state.ambiguous(members, rule) {
            continue;
        }
        for &m in &members[1..] {
            state.join(members[0], m, rule, 1.0, key_value(key));
        }
    }
    for (key, members) in &groups.names {
        state.name_block(keys, key_value(key), members);
    }
    state.linker.finish(&overrides.unlinked)
}

struct State {
    linker: Linker,
    /// `identities[root]`: what the cluster rooted there is known to be.
    identities: Vec<Identity>,
}

impl State {
    fn join(&mut self, a: usize, b: usize, rule: Rule, score: f64, evidence: &str) {
        let (ra, rb) = (self.linker.root(a), self.linker.root(b));
        if ra == rb || veto(&self.identities[ra], &self.identities[rb], rule).is_some() {
            return;
        }
        if let Some((kept, absorbed)) = self.linker.link(a, b, rule, score, evidence) {
            let moved = std::mem::take(&mut self.identities[absorbed]);
            self.identities[kept].absorb(moved);
        }
    }

    /// Whether two of the clusters `members` belong to would veto each other on `rule`.
    fn ambiguous(&mut self, members: &[usize], rule: Rule) -> bool {
        let mut roots: Vec<usize> = members.iter().map(|&m| self.linker.root(m)).collect();
        roots.sort_unstable();
        roots.dedup();
        self.any_conflict(&roots, rule)
    }

    fn any_conflict(&self, roots: &[usize], rule: Rule) -> bool {
        roots.iter().enumerate().any(|(i, &x)| {
            roots[i + 1..].iter().any(|&y| veto(&self.identities[x], &self.identities[y], rule).is_some())
        })
    }

    /// Scores the clusters of one name block against each other and joins the matches.
    fn name_block(&mut self, keys: &[ClientKeys], evidence: &str, members: &[usize]) {
        // The block's clusters, each with its members in the block.
        let mut clusters: Vec<(usize, Vec<usize>)> = Vec::new();
        for &m in members {
            let root = self.linker.root(m);
            match clusters.iter_mut().find(|(r, _)| *r == root) {
                Some((_, list)) => list.push(m),
                None => clusters.push((root, vec![m])),
            }
        }
        // Matching pairs of clusters: (score, i, j, best record pair). A pair whose
        // records contradict each other anywhere (`АО` against `ООО`, another patronymic)
        // does not match, however well two other records agree.
        let mut pairs: Vec<(f64, usize, usize, usize, usize)> = Vec::new();
        for i in 0..clusters.len() {
            for j in i + 1..clusters.len() {
                let mut best = (0.0, 0, 0);
                let mut contradicted = false;
                for &a in &clusters[i].1 {
                    for &b in &clusters[j].1 {
                        let s = name_score(&keys[a].name, &keys[b].name);
                        contradicted |= s == 0.0;
                        if s > best.0 {
                            best = (s, a, b);
                        }
                    }
                }
                if best.0 >= MERGE_THRESHOLD && !contradicted {
                    pairs.push((best.0, i, j, best.1, best.2));
                }
            }
        }
        let ambiguous: Vec<bool> = (0..clusters.len())
            .map(|i| {
                let partners: Vec<usize> = pairs
                    .iter()
                    .filter_map(
                        |&(_, x, y, _, _)| if x == i { Some(clusters[y].0) } else { (y == i).then_some(clusters[x].0) },
                    )
                    .collect();
                self.any_conflict(&partners, Rule::Name)
            })
            .collect();
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        for (score, i, j, a, b) in pairs {
            if !ambiguous[i] && !ambiguous[j] {
                self.join(a, b, Rule::Name, score, evidence);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::model::{ClientFields, TaxValue};

    fn client(name: &str, tax: Option<&str>, domain: Option<&str>, phone: Option<&str>) -> ClientKeys {
        ClientKeys::of(&ClientFields {
            name: name.into(),
            domains: domain.into_iter().map(str::to_string).collect(),
            phones: phone.into_iter().map(str::to_string).collect(),
            tax_id: tax.map(|t| TaxValue { value: t.into() }),
            ..ClientFields::default()
        })
    }

    fn sets(keys: &[ClientKeys]) -> Vec<Vec<usize>> {
        cluster_clients(keys, &Overrides::none(keys.len()), &HashSet::new()).sets
    }

    #[test]
    fn spellings_join_through_keys_and_names() {
        let keys = [
            client("ООО «Ромашка»", Some("7707083893"), Some("romashka.ru"), None),
            client("Romashka LLC", None, Some("romashka.ru"), Some("+74951234567")),
            client("romashka", None, None, Some("+74951234567")),
            client("Ромашка, ООО", None, None, None),
        ];
        let c = cluster_clients(&keys, &Overrides::none(4), &HashSet::new());
        assert_eq!(c.sets, vec![vec![0, 1, 2, 3]]);
        let rules: Vec<Rule> = c.reasons.iter().map(|r| r.rule).collect();
        assert_eq!(rules, [Rule::Domain, Rule::Domain, Rule::Phone, Rule::Name]);
    }

    #[test]
    fn look_alikes_with_other_tax_ids_or_domains_stay_apart() {
        let keys = [
            client("ООО «Ромашка»", Some("7707083893"), Some("romashka.ru"), None),
            client("АО «Ромашка»", Some("500100732259"), Some("romashka-ao.ru"), None),
            client("ООО «Ромашка»", None, Some("romashka-ao.ru"), None),
        ];
        assert_eq!(sets(&keys), vec![vec![0], vec![1, 2]], "same name, but another domain");
    }

    #[test]
    fn a_name_matching_two_conflicting_clients_joins_neither() {
        let keys = [
            client("ООО «Ромашка»", Some("7707083893"), None, None),
            client("Romashka", None, None, None),
            client("ООО «Ромашка»", Some("500100732259"), None, None),
        ];
        assert_eq!(sets(&keys), vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn a_cluster_that_contradicts_a_name_anywhere_does_not_take_it() {
        let keys = [
            client("АО «Химпром-Систем»", Some("2992638510"), Some("khimprom-sistem-ao.ru"), None),
            client("Khimprom-Sistem", None, Some("khimprom-sistem-ao.ru"), None),
            client("Khimprom-Sistem LLC", None, None, None),
        ];
        assert_eq!(sets(&keys), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn a_phone_shared_by_conflicting_clients_is_ignored() {
        let keys = [
            client("Alpha", Some("7707083893"), None, Some("+74951234567")),
            client("Beta", Some("500100732259"), None, Some("+74951234567")),
            client("Gamma", None, None, Some("+74951234567")),
        ];
        assert_eq!(sets(&keys), vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn manual_links_win_and_unlinked_records_stay_alone() {
        let keys = [
            client("Alpha", Some("7707083893"), None, None),
            client("Beta", Some("500100732259"), None, None),
            client("Alpha", Some("7707083893"), None, None),
        ];
        let overrides = Overrides { links: vec![(0, 1)], unlinked: vec![false, false, true] };
        let c = cluster_clients(&keys, &overrides, &HashSet::new());
        assert_eq!(c.sets, vec![vec![0, 1], vec![2]]);
        assert_eq!(c.reasons[0].rule, Rule::Manual);
        assert_eq!(c.reasons[2].rule, Rule::Unlinked);
    }
}
