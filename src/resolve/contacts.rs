//! Which contact records are one person.
//!
//! A shared e-mail address is the same person. A shared phone is only when the names
//! agree too (same words once transliterated, in any order: `Иван Петров` = `Petrov
//! Ivan`): an office switchboard is on many people's cards. Contacts then follow their
//! client — each contact record is attached to the entity of the client record it belongs
//! to in its own system (see `tasks.rs` for the lookup) — so a person's card appears under
//! the client wherever they were filed.

use std::collections::HashSet;

use super::blocking::blocks;
use super::cluster::{key_value, Clustering, Linker, Overrides};
use super::model::ContactFields;
use super::names::to_latin;
use super::rules::Rule;
use super::spelling::fold;

/// Clusters contacts. `keys[i]` are contact `i`'s index keys (`keys::contact_keys`).
pub fn cluster_contacts(
    contacts: &[&ContactFields],
    keys: &[Vec<String>],
    overrides: &Overrides,
    overfull: &HashSet<String>,
) -> Clustering {
    let mut linker = Linker::new(contacts.len());
    for &(a, b) in &overrides.links {
        linker.link(a, b, Rule::Manual, 1.0, "manual link");
    }
    let signatures: Vec<Vec<String>> = contacts.iter().map(|c| signature(&c.name)).collect();
    for (key, members) in blocks(keys, &overrides.unlinked, overfull).deterministic {
        let rule = Rule::of_key(&key).unwrap_or(Rule::Single);
        for (i, &m) in members.iter().enumerate() {
            // E-mail: everyone joins the first. Phone: each joins the first with its name.
            let partner = if rule == Rule::Email {
                (i > 0).then_some(members[0])
            } else {
                members[..i].iter().copied().find(|&p| !signatures[m].is_empty() && signatures[p] == signatures[m])
            };
            if let Some(p) = partner {
                linker.link(p, m, rule, 1.0, key_value(&key));
            }
        }
    }
    linker.finish(&overrides.unlinked)
}

/// Whether two contact names are one person's (same words, any order, any script).
pub(super) fn same_person(a: &str, b: &str) -> bool {
    let sa = signature(a);
    !sa.is_empty() && sa == signature(b)
}

/// A name's words in Latin (folded over romanisations), sorted: equal for spellings and
/// orders of one name.
fn signature(name: &str) -> Vec<String> {
    let mut words: Vec<String> =
        to_latin(name).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold).collect();
    words.sort();
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::keys::contact_keys;

    fn contact(name: &str, email: &str, phone: &str) -> ContactFields {
        ContactFields {
            name: name.into(),
            emails: (!email.is_empty()).then(|| email.to_string()).into_iter().collect(),
            phones: (!phone.is_empty()).then(|| phone.to_string()).into_iter().collect(),
            ..ContactFields::default()
        }
    }

    fn sets(contacts: &[ContactFields]) -> Vec<Vec<usize>> {
        let refs: Vec<&ContactFields> = contacts.iter().collect();
        let keys: Vec<Vec<String>> = contacts.iter().map(|c| contact_keys("crm", c)).collect();
        cluster_contacts(&refs, &keys, &Overrides::none(contacts.len()), &HashSet::new()).sets
    }

    #[test]
    fn emails_join_people_and_phones_only_with_agreeing_names() {
        let contacts = [
            contact("Иван Петров", "ivan.petrov@romashka.ru", "+79161234567"),
            contact("Petrov Ivan", "", "+79161234567"),
            contact("Anna Smirnova", "", "+79161234567"),
            contact("I. Petrov", "Ivan.Petrov@romashka.ru", ""),
        ];
        assert_eq!(sets(&contacts), vec![vec![0, 1, 3], vec![2]]);
    }
}
