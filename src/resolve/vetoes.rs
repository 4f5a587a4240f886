//! What keeps different clients apart, whatever else they share.
//!
//! A cluster's [`Identity`] collects the tax ids, corporate domains, name blocks, phones,
//! free-mail addresses and staff domains (`staff.rs`) of its records. Before two clusters
//! are joined, [`veto`] compares them:
//!
//! - **different tax ids** veto every automatic rule: a company has one INN, so a shared
//!   phone or an equal name between `ООО «Ромашка»` (INN 7707083893) and a look-alike
//!   with another INN is a coincidence;
//! - **different corporate domains** (neither side's domain on the other) veto a match
//!   made on the name alone, and a match on a phone or e-mail unless the names agree too:
//!   "two different corporate domains with no other evidence". A shared tax id outweighs
//!   them (one company, two websites);
//! - a match on the **name alone** is refused when anything the two sides know contradicts
//!   it: phones or free-mail addresses that both list and none of which is shared (a bare
//!   `yarilo-ekspo` with its own number is more likely the other `Ярило-Экспо`), or the
//!   domains their websites, e-mails and staff write from — `ООО «Атлас»` known by its INN
//!   and staff at `atlas3.ru` is not the `Atlas LLC` of `atlas.ru`. A domain both sides'
//!   websites or staff use outweighs differing phones and personal addresses: a company
//!   has several numbers, and two CRMs often hold different ones. With nothing
//!   contradicting, equal names join even two clusters that are each identified another
//!   way (an INN on one side, a website on the other): the same client typed into two
//!   CRMs by two people. Whether the name is shared by two clients is decided per name
//!   block, in `clients.rs`.
//!
//! Manual links are never vetoed: the operator has looked.

use super::keys::ClientKeys;
use super::rules::Rule;

/// The values of a cluster that must not conflict with another's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    taxes: Vec<String>,
    domains: Vec<String>,
    names: Vec<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    /// Corporate domains and the domains its staff write from.
    sites: Vec<String>,
}

impl Identity {
    /// The identity of one record.
    pub fn of(keys: &ClientKeys) -> Self {
        Self {
            taxes: keys.tax.iter().cloned().collect(),
            domains: keys.domains.clone(),
            names: keys.name.block().into_iter().collect(),
            phones: keys.phones.clone(),
            emails: keys.free_emails.clone(),
            sites: keys.domains.iter().chain(&keys.staff).fold(Vec::new(), |mut sites, d| {
                if !sites.contains(d) {
                    sites.push(d.clone());
                }
                sites
            }),
        }
    }

    /// Adds `other`'s values (after the clusters were joined).
    pub fn absorb(&mut self, other: Identity) {
        for (mine, theirs) in [
            (&mut self.taxes, other.taxes),
            (&mut self.domains, other.domains),
            (&mut self.names, other.names),
            (&mut self.phones, other.phones),
            (&mut self.emails, other.emails),
            (&mut self.sites, other.sites),
        ] {
            for value in theirs {
                if !mine.contains(&value) {
                    mine.push(value);
                }
            }
        }
    }
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Veto {
    /// The clusters hold different tax ids.
    TaxId,
    /// The clusters hold different corporate domains and nothing else vouches for the match.
    Domain,
    /// Only the names agree, and the domains the clusters' websites and staff use differ,
    /// or, with no such domain shared, their phones or personal e-mails do.
    Contradicted,
}

/// Whether joining clusters `a` and `b` on `rule` must be refused.
pub fn veto(a: &Identity, b: &Identity, rule: Rule) -> Option<Veto> {
    if rule == Rule::Manual {
        return None;
    }
    if conflict(&a.taxes, &b.taxes) {
        return Some(Veto::TaxId);
    }
    if conflict(&a.domains, &b.domains) {
        let vouched = match rule {
            Rule::TaxId => true,
            Rule::Email | Rule::Phone => !disjoint(&a.names, &b.names),
            _ => false,
        };
        if !vouched {
            return Some(Veto::Domain);
        }
    }
    // A shared site outweighs phones and personal addresses that differ: a company with
    // two numbers is common, and each CRM may hold a different one.
    let contradicted = || {
        conflict(&a.sites, &b.sites)
            || (!confirms(a, b) && (conflict(&a.phones, &b.phones) || conflict(&a.emails, &b.emails)))
    };
    if rule == Rule::Name && contradicted() {
        return Some(Veto::Contradicted);
    }
    None
}

/// Whether something besides a name ties the two clusters: a domain one side's website,
/// e-mail or staff uses and the other's too.
pub fn confirms(a: &Identity, b: &Identity) -> bool {
    !a.sites.is_empty() && !b.sites.is_empty() && !disjoint(&a.sites, &b.sites)
}

/// Both sides know values and share none.
fn conflict(a: &[String], b: &[String]) -> bool {
    !a.is_empty() && !b.is_empty() && disjoint(a, b)
}

fn disjoint(a: &[String], b: &[String]) -> bool {
    !a.iter().any(|x| b.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::model::{ClientFields, TaxValue};

    fn identity(name: &str, tax: Option<&str>, domain: Option<&str>) -> Identity {
        with_phone(name, tax, domain, None)
    }

    fn with_phone(name: &str, tax: Option<&str>, domain: Option<&str>, phone: Option<&str>) -> Identity {
        Identity::of(&keys(name, tax, domain, phone))
    }

    fn keys(name: &str, tax: Option<&str>, domain: Option<&str>, phone: Option<&str>) -> ClientKeys {
        ClientKeys::of(&ClientFields {
            name: name.into(),
            domains: domain.into_iter().map(str::to_string).collect(),
            phones: phone.into_iter().map(str::to_string).collect(),
            tax_id: tax.map(|t| TaxValue { value: t.into() }),
            ..ClientFields::default()
        })
    }

    #[test]
    fn a_conflicting_tax_id_vetoes_every_automatic_rule_but_not_a_manual_link() {
        let a = identity("ООО «Ромашка»", Some("7707083893"), None);
        let b = identity("ООО «Ромашка»", Some("500100732259"), None);
        for rule in [Rule::Domain, Rule::Phone, Rule::Name] {
            assert_eq!(veto(&a, &b, rule), Some(Veto::TaxId), "{rule}");
        }
        assert_eq!(veto(&a, &b, Rule::Manual), None);
    }

    #[test]
    fn different_domains_need_other_evidence() {
        let a = identity("ООО «Ромашка»", None, Some("romashka.ru"));
        let b = identity("Romashka LLC", None, Some("romashka.com"));
        let c = identity("Northwind", None, Some("northwind.com"));
        assert_eq!(veto(&a, &b, Rule::Name), Some(Veto::Domain), "names alone");
        assert_eq!(veto(&a, &b, Rule::Phone), None, "a phone plus agreeing names");
        assert_eq!(veto(&a, &c, Rule::Phone), Some(Veto::Domain), "a phone alone");
        let mut joined = a.clone();
        joined.absorb(identity("", Some("7707083893"), None));
        assert_eq!(veto(&joined, &identity("x", Some("7707083893"), Some("x.ru")), Rule::TaxId), None);
    }

    #[test]
    fn equal_names_join_clusters_identified_in_different_ways_when_nothing_contradicts() {
        let bare = identity("ООО «Ромашка»", None, None);
        let full = identity("romashka", Some("7707083893"), Some("romashka.ru"));
        assert_eq!(veto(&bare, &full, Rule::Name), None);
        let with_tax = identity("ЗАО «Ромашка Строй Юг»", Some("7707083893"), None);
        let with_site = identity("ЗАО \"Ромашка Строй Юг\"", None, Some("romashka-stroy-yug.ru"));
        assert_eq!(veto(&with_tax, &with_site, Rule::Name), None);
    }

    #[test]
    fn staff_writing_from_another_domain_contradicts_a_name() {
        let mut atlas3 = keys("ООО «Атлас»", Some("7390940401"), None, None);
        atlas3.staff = vec!["atlas3.ru".into()];
        let atlas = Identity::of(&keys("Atlas LLC", None, Some("atlas.ru"), None));
        assert_eq!(veto(&Identity::of(&atlas3), &atlas, Rule::Name), Some(Veto::Contradicted));
        atlas3.staff.push("atlas.ru".into());
        assert_eq!(veto(&Identity::of(&atlas3), &atlas, Rule::Name), None, "one shared domain is enough");
        let mut bare = keys("Атлас", None, None, None);
        bare.staff = vec!["atlas.ru".into()];
        assert_eq!(veto(&Identity::of(&bare), &atlas, Rule::Name), None);
    }

    #[test]
    fn a_shared_site_outweighs_different_phones_but_not_different_sites() {
        let mut staffed = keys("Impulstelekom, LLC", None, None, Some("+74956181295"));
        staffed.staff = vec!["impulstelekom.ru".into()];
        let site = with_phone("ООО «Импульстелеком»", None, Some("impulstelekom.ru"), Some("+73834027268"));
        assert_eq!(veto(&Identity::of(&staffed), &site, Rule::Name), None, "its staff write from the website");
        staffed.staff = vec!["impulstelekom2.ru".into()];
        assert_eq!(veto(&Identity::of(&staffed), &site, Rule::Name), Some(Veto::Contradicted));
    }

    #[test]
    fn a_name_does_not_join_records_whose_phones_differ() {
        let bare = with_phone("yarilo-ekspo", None, None, Some("+74997132206"));
        let other = with_phone("АО «Ярило-Экспо»", Some("8936543135"), None, Some("+73437677978"));
        assert_eq!(veto(&bare, &other, Rule::Name), Some(Veto::Contradicted));
        assert_eq!(veto(&bare, &identity("АО «Ярило-Экспо»", Some("8936543135"), None), Rule::Name), None);
    }
}
