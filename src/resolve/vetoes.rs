//! What keeps different clients apart, whatever else they share.
//!
//! A cluster's [`Identity`] collects the tax ids, corporate domains and name blocks of its
//! records. Before two clusters are joined, [`veto`] compares them:
//!
//! - **different tax ids** veto every automatic rule: a company has one INN, so a shared
//!   phone or an equal name between `ООО «Ромашка»` (INN 7707083893) and a look-alike
//!   with another INN is a coincidence;
//! - **different corporate domains** (neither side's domain on the other) veto a match
//!   made on the name alone, and a match on a phone or e-mail unless the names agree too:
//!   "two different corporate domains with no other evidence". A shared tax id outweighs
//!   them (one company, two websites);
//! - a **name alone never joins two identified clusters**: when both sides have a tax id or
//!   a domain and they share none, the one thing they have in common is the thing a
//!   look-alike copies. `Pioneer Industries` with only an EIN and `Pioneer Industries,
//!   LLC` with only a website are as likely a company and its imitator as one company, so
//!   they stay apart; a name may still attach a record that has no identity of its own,
//! - unless **its phones or free-mail addresses contradict** the cluster's: when both sides
//!   list phones (or personal e-mails) and none is shared, a bare `yarilo-ekspo` with its
//!   own number is more likely the other `Ярило-Экспо` than this one.
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
        }
    }

    /// Whether the cluster has a tax id or a domain: an identity beyond its name.
    fn identified(&self) -> bool {
        !self.taxes.is_empty() || !self.domains.is_empty()
    }

    /// Adds `other`'s values (after the clusters were joined).
    pub fn absorb(&mut self, other: Identity) {
        for (mine, theirs) in [
            (&mut self.taxes, other.taxes),
            (&mut self.domains, other.domains),
            (&mut self.names, other.names),
            (&mut self.phones, other.phones),
            (&mut self.emails, other.emails),
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
    /// Both clusters are identified (tax id or domain), share no identifier, and only
    /// their names agree.
    Unrelated,
    /// Only the names agree, and the clusters' phones or personal e-mails differ.
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
    if rule == Rule::Name {
        if a.identified() && b.identified() {
            return Some(Veto::Unrelated);
        }
        if conflict(&a.phones, &b.phones) || conflict(&a.emails, &b.emails) {
            return Some(Veto::Contradicted);
        }
    }
    None
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
        Identity::of(&ClientKeys::of(&ClientFields {
            name: name.into(),
            domains: domain.into_iter().map(str::to_string).collect(),
            phones: phone.into_iter().map(str::to_string).collect(),
            tax_id: tax.map(|t| TaxValue { value: t.into() }),
            ..ClientFields::default()
        }))
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
    fn a_name_attaches_an_unidentified_record_but_never_joins_two_identified_clusters() {
        let bare = identity("ООО «Ромашка»", None, None);
        let full = identity("romashka", Some("7707083893"), Some("romashka.ru"));
        assert_eq!(veto(&bare, &full, Rule::Name), None);
        let with_tax = identity("Pioneer Industries", Some("258168082"), None);
        let with_site = identity("Pioneer Industries, LLC", None, Some("pioneer-industries-llc.com"));
        assert_eq!(veto(&with_tax, &with_site, Rule::Name), Some(Veto::Unrelated));
        assert_eq!(veto(&with_tax, &with_site, Rule::Phone), None, "a shared phone is other evidence");
    }

    #[test]
    fn a_name_does_not_join_records_whose_phones_differ() {
        let bare = with_phone("yarilo-ekspo", None, None, Some("+74997132206"));
        let other = with_phone("АО «Ярило-Экспо»", Some("8936543135"), None, Some("+73437677978"));
        assert_eq!(veto(&bare, &other, Rule::Name), Some(Veto::Contradicted));
        assert_eq!(veto(&bare, &identity("АО «Ярило-Экспо»", Some("8936543135"), None), Rule::Name), None);
    }
}
