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
//!    records, `score.rs`). A pair at [`MERGE_THRESHOLD`] whose records nowhere
//!    contradict each other joins, subject to vetoes (`vetoes.rs`: nothing the two know
//!    may contradict the name), when the agreeing records come from two systems — one
//!    client typed into two CRMs is the normal case — or something besides the name
//!    confirms it (staff writing from the other's domain). Inside one CRM two records with
//!    one name and nothing else in common are as often two clients as one, so the name
//!    alone does not join them.
//!
//!    **A name two clients share decides nothing.** A cluster whose name fits two clusters
//!    that could not be one client themselves (they veto each other, or their names
//!    contradict) is ambiguous — `romashka` with neither INN nor website, next to
//!    `ООО «Ромашка»` and its look-alike `АО «Ромашка»`, or next to two `Ромашка` with
//!    different INNs — and joins neither, unless exactly one of them is confirmed by more
//!    than the name. A wrong merge hides a client from its account manager; a missed one
//!    only shows it twice, and `zveno review` lists it.
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
use super::vetoes::{confirms, veto, Identity};

/// Clusters client records. `keys[i]` are record `i`'s, `origins[i]` the connector it
/// came from; `overfull` are keys the store knows to be shared by too many records.
pub fn cluster_clients(
    keys: &[ClientKeys],
    origins: &[&str],
    overrides: &Overrides,
    overfull: &HashSet<String>,
) -> Clustering {
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
        state.name_block(keys, origins, key_value(key), members);
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
    fn name_block(&mut self, keys: &[ClientKeys], origins: &[&str], evidence: &str, members: &[usize]) {
        // The block's clusters, each with its members in the block.
        let mut clusters: Vec<(usize, Vec<usize>)> = Vec::new();
        for &m in members {
            let root = self.linker.root(m);
            match clusters.iter_mut().find(|(r, _)| *r == root) {
                Some((_, list)) => list.push(m),
                None => clusters.push((root, vec![m])),
            }
        }
        // Matching pairs of clusters: (score, i, j, best record pair).
        let mut pairs: Vec<(f64, usize, usize, usize, usize)> = Vec::new();
        for i in 0..clusters.len() {
            for j in i + 1..clusters.len() {
                let (ri, rj) = (clusters[i].0, clusters[j].0);
                let m = name_match(keys, origins, &clusters[i].1, &clusters[j].1);
                if m.joins(&self.identities[ri], &self.identities[rj]) {
                    pairs.push((m.score, i, j, m.records.0, m.records.1));
                }
            }
        }
        // A cluster whose name fits two clusters that could not be one client themselves
        // (they veto each other, or their names do not match) is ambiguous: the name is
        // shared by two clients and decides nothing. It may still join the one partner
        // something besides the name confirms (staff writing from that partner's domain).
        let matched: HashSet<(usize, usize)> = pairs.iter().map(|&(_, i, j, _, _)| (i, j)).collect();
        let identity = |x: usize, state: &Self| state.identities[clusters[x].0].clone();
        let apart = |x: usize, y: usize, state: &Self| {
            let (x, y) = (x.min(y), x.max(y));
            !matched.contains(&(x, y)) || veto(&identity(x, state), &identity(y, state), Rule::Name).is_some()
        };
        let partners = |i: usize| -> Vec<usize> {
            pairs.iter().filter_map(|&(_, x, y, _, _)| if x == i { Some(y) } else { (y == i).then_some(x) }).collect()
        };
        // For each cluster: `None` when unambiguous, else the one partner it may still join.
        let only: Vec<Option<Option<usize>>> = (0..clusters.len())
            .map(|i| {
                let ps = partners(i);
                let shared = ps.iter().enumerate().any(|(n, &p)| ps[n + 1..].iter().any(|&q| apart(p, q, self)));
                shared.then(|| {
                    let me = identity(i, self);
                    let confirmed: Vec<usize> = ps
                        .into_iter()
                        .filter(|&p| {
                            let other = identity(p, self);
                            confirms(&me, &other) && veto(&me, &other, Rule::Name).is_none()
                        })
                        .collect();
                    (confirmed.len() == 1).then(|| confirmed[0])
                })
            })
            .collect();
        let allowed = |x: usize, y: usize| only[x].is_none_or(|p| p == Some(y));
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        for (score, i, j, a, b) in pairs {
            if allowed(i, j) && allowed(j, i) {
                self.join(a, b, Rule::Name, score, evidence);
            }
        }
    }
}

/// How the names of two clusters compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameMatch {
    /// The best score of a pair of their records.
    pub score: f64,
    /// That pair.
    pub records: (usize, usize),
    /// Some pair of their records contradicts (another legal form, another patronymic):
    /// however well two other records agree, these are not one client.
    pub contradicted: bool,
    /// A pair at the merge threshold comes from two different systems.
    pub across_systems: bool,
}

impl NameMatch {
    /// Whether the names alone may join the two clusters (`a`, `b` their identities):
    /// they agree fully and nowhere contradict, and either the agreement is between two
    /// systems — where one client typed twice is the normal case — or something besides
    /// the name confirms it. Two records of one CRM with one name and nothing else in
    /// common are as often two clients as one: people look a client up before adding it.
    pub fn joins(&self, a: &Identity, b: &Identity) -> bool {
        self.score >= MERGE_THRESHOLD && !self.contradicted && (self.across_systems || confirms(a, b))
    }
}

/// Compares the names of records `xs` with those of `ys`.
pub fn name_match(keys: &[ClientKeys], origins: &[&str], xs: &[usize], ys: &[usize]) -> NameMatch {
    let mut m = NameMatch { score: 0.0, records: (0, 0), contradicted: false, across_systems: false };
    for &a in xs {
        for &b in ys {
            let s = name_score(&keys[a].name, &keys[b].name);
            m.contradicted |= s == 0.0;
            m.across_systems |= s >= MERGE_THRESHOLD && origins.get(a) != origins.get(b);
            if s > m.score {
                (m.score, m.records) = (s, (a, b));
            }
        }
    }
    m
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

    /// Each record from a system of its own, unless `origins` says otherwise.
    fn cluster(keys: &[ClientKeys], origins: Option<&[&str]>, overrides: &Overrides) -> Clustering {
        let own: Vec<String> = (0..keys.len()).map(|i| format!("crm{i}")).collect();
        let own: Vec<&str> = own.iter().map(String::as_str).collect();
        cluster_clients(keys, origins.unwrap_or(&own), overrides, &HashSet::new())
    }

    fn sets(keys: &[ClientKeys]) -> Vec<Vec<usize>> {
        cluster(keys, None, &Overrides::none(keys.len())).sets
    }

    #[test]
    fn spellings_join_through_keys_and_names() {
        let keys = [
            client("ООО «Ромашка»", Some("7707083893"), Some("romashka.ru"), None),
            client("Romashka LLC", None, Some("romashka.ru"), Some("+74951234567")),
            client("romashka", None, None, Some("+74951234567")),
            client("Ромашка, ООО", None, None, None),
        ];
        let c = cluster(&keys, None, &Overrides::none(4));
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
    fn one_name_with_an_inn_on_one_side_and_a_website_on_the_other_is_one_client() {
        let keys = [
            client("ЗАО «Ромашка Строй Юг»", Some("7707083893"), None, None),
            client("ЗАО \"Ромашка Строй Юг\"", None, Some("romashka-stroy-yug.ru"), None),
        ];
        assert_eq!(sets(&keys), vec![vec![0, 1]]);
    }

    #[test]
    fn a_name_fitting_two_clients_whose_names_differ_in_form_joins_neither() {
        let keys = [
            client("ООО «Фортуна»", None, None, Some("+74951234567")),
            client("Фортуна", None, None, None),
            client("АО «Фортуна»", None, None, None),
        ];
        assert_eq!(sets(&keys), vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn inside_one_crm_a_name_alone_joins_only_what_something_else_confirms() {
        let mut keys = vec![
            client("GOLDEN GATE SOFTWARE", None, None, Some("+14154749944")),
            client("golden gate software inc.", Some("5985223823"), Some("goldengatesoftware.net"), None),
        ];
        let one_crm = Some(["hs", "hs"].as_slice());
        assert_eq!(cluster(&keys, one_crm, &Overrides::none(2)).sets, vec![vec![0], vec![1]]);
        assert_eq!(sets(&keys), vec![vec![0, 1]], "across two systems the name is enough");
        keys[0].staff = vec!["goldengatesoftware.net".into()];
        assert_eq!(cluster(&keys, one_crm, &Overrides::none(2)).sets, vec![vec![0, 1]], "its staff confirm it");
        // The third record's name fits two records of one CRM that are not one client.
        keys[0].staff.clear();
        keys.push(client("Golden Gate Software", None, None, None));
        let origins = ["hs", "hs", "b24"];
        assert_eq!(cluster(&keys, Some(&origins), &Overrides::none(3)).sets, vec![vec![0], vec![1], vec![2]]);
    }

    /// A phone as a connector stores it: typed in a Russian national format, read in E.164.
    fn typed(raw: &str) -> String {
        let phone = zveno_connector::Phone::parse(raw, zveno_connector::Phone::region("RU").ok());
        phone.map(|p| p.to_string()).unwrap_or_else(|e| panic!("{raw}: {e:?}"))
    }

    #[test]
    fn one_phone_in_two_national_formats_joins_a_name_and_its_legal_form_variant() {
        for (a, b) in [("8 (812) 466-69-81", "+7 812 466 69 81"), ("8 (812) 637-73-03", "88126377303")] {
            let keys = [
                client("Кедр Софт Урал", Some("7707083893"), None, Some(typed(a).as_str())),
                client("АО \"Кедр Софт Урал\"", None, Some("kedrsoftural.ru"), Some(typed(b).as_str())),
            ];
            assert_eq!(sets(&keys), vec![vec![0, 1]], "{a} / {b}");
            let keys = [
                client("silver oak supply inc.", None, None, Some(typed(a).as_str())),
                client("Silver Oak Supply", None, Some("silveroaksupply.com"), Some(typed(b).as_str())),
            ];
            assert_eq!(sets(&keys), vec![vec![0, 1]], "{a} / {b}");
        }
    }

    #[test]
    fn a_record_known_by_a_name_and_phone_joins_neither_of_two_clients_sharing_the_name() {
        // Two real companies of one name (different INNs, websites and phones), and a record
        // knowing only the name and a phone neither lists: the name decides nothing.
        for name in ["Феникс Логистик", "ООО \"Фортуна\"", "GREEN VALLEY CONSULTING"] {
            let keys = [
                client(name, Some("7707083893"), Some("one.ru"), Some("+74951234567")),
                client(name, Some("500100732259"), Some("two.ru"), Some("+74957654321")),
                client(name, None, None, Some("+74959998877")),
            ];
            assert_eq!(sets(&keys), vec![vec![0], vec![1], vec![2]], "{name}");
            // Its phone, though, is evidence: a record with the first company's number is it.
            let mut keys = keys.to_vec();
            keys[2] = client(name, None, None, Some("+74951234567"));
            assert_eq!(sets(&keys), vec![vec![0, 2], vec![1]], "{name}");
        }
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
        let c = cluster(&keys, None, &overrides);
        assert_eq!(c.sets, vec![vec![0, 1], vec![2]]);
        assert_eq!(c.reasons[0].rule, Rule::Manual);
        assert_eq!(c.reasons[2].rule, Rule::Unlinked);
    }
}
