//! The keys a record is matched and found by.
//!
//! Deterministic keys say "same client" on their own: a tax id (`t:`), a registrable
//! domain (`d:`) from the website or a corporate e-mail, a personal e-mail at a free-mail
//! provider (`e:`), an E.164 phone (`ph:`). A name gives a *block* (`n:` for companies,
//! `p:` for people), inside which names are scored (see `score.rs`).
//!
//! Free-mail domains (gmail.com, mail.ru, yandex.ru, …) are not a company's domain: two
//! clients whose owners use Gmail are not one client. Their addresses still identify the
//! person or sole trader who owns them, so they are kept as whole-address keys.
//!
//! The same strings index records in the store (`resolve_keys`), which is how an
//! incremental run finds the clusters a changed record touches, and how a task's hint finds
//! its client. Contacts add `ce:`/`cp:` keys of their own (a person's e-mail is not a
//! company's), and contacts and tasks add `r:connector:id` keys naming the client record
//! they point at, so a re-resolved client finds its followers. Clients add `s:` keys for
//! the domains their contacts write from (`staff.rs`), which group nothing but let a
//! tracker's hint naming that domain find the client. An entrepreneur's record also takes
//! the phones and e-mails of his own contact as its own (`owners.rs`).

use zveno_connector::Domain;

use super::model::{ClientFields, ContactFields};
use super::names::{self, NameInfo};

/// Registrable domains of free-mail and consumer providers.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "mail.ru",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "internet.ru",
    "yandex.ru",
    "yandex.com",
    "ya.ru",
    "rambler.ru",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "zoho.com",
];

/// Whether `domain` (registrable, lower-case) belongs to a free-mail provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain)
}

/// The registrable domain of an e-mail address, if it parses.
pub fn email_domain(email: &str) -> Option<String> {
    Domain::parse(email).ok().map(String::from)
}

/// A client record's identity as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientKeys {
    /// Tax id.
    pub tax: Option<String>,
    /// Corporate registrable domains (websites and e-mail domains, free-mail excluded).
    pub domains: Vec<String>,
    /// Addresses at free-mail providers.
    pub free_emails: Vec<String>,
    /// Phones.
    pub phones: Vec<String>,
    /// The name.
    pub name: NameInfo,
    /// Corporate domains its contacts write from (`staff.rs`): evidence, not a key.
    pub staff: Vec<String>,
}

impl ClientKeys {
    /// Derives the keys of a client's fields.
    pub fn of(c: &ClientFields) -> Self {
        let mut domains: Vec<String> = Vec::new();
        let mut free_emails = Vec::new();
        for d in &c.domains {
            push_unique(&mut domains, d.to_lowercase());
        }
        for e in &c.emails {
            match email_domain(e) {
                Some(d) if is_free_mail(&d) => push_unique(&mut free_emails, e.to_lowercase()),
                Some(d) => push_unique(&mut domains, d),
                None => {}
            }
        }
        domains.retain(|d| !is_free_mail(d));
        let mut phones = Vec::new();
        for p in &c.phones {
            push_unique(&mut phones, p.clone());
        }
        Self {
            tax: c.tax_id.as_ref().map(|t| t.value.clone()).filter(|t| !t.is_empty()),
            domains,
            free_emails,
            phones,
            name: names::analyse(&c.name),
            staff: Vec::new(),
        }
    }

    /// The keys of a client's fields, with the domains its contacts write from.
    pub fn with_staff(c: &ClientFields, staff: &[String]) -> Self {
        Self { staff: staff.to_vec(), ..Self::of(c) }
    }

    /// Every index key, deterministic ones first, then the name block, then staff domains
    /// (`s:`, which group nothing: hints look them up).
    pub fn index_keys(&self) -> Vec<String> {
        let mut keys = Vec::with_capacity(2 + self.domains.len() + self.free_emails.len() + self.phones.len());
        keys.extend(self.tax.iter().map(|t| format!("t:{t}")));
        keys.extend(self.domains.iter().map(|d| format!("d:{d}")));
        keys.extend(self.free_emails.iter().map(|e| format!("e:{e}")));
        keys.extend(self.phones.iter().map(|p| format!("ph:{p}")));
        keys.extend(self.name.block());
        keys.extend(self.name.surname_block());
        keys.extend(self.staff.iter().filter(|d| !self.domains.contains(d)).map(|d| format!("s:{d}")));
        keys
    }
}

/// The keys of a contact: its own e-mails and phones, and the client records it belongs to.
pub fn contact_keys(connector: &str, c: &ContactFields) -> Vec<String> {
    let mut keys = Vec::new();
    for e in &c.emails {
        push_unique(&mut keys, format!("ce:{}", e.to_lowercase()));
    }
    for p in &c.phones {
        push_unique(&mut keys, format!("cp:{p}"));
    }
    for id in &c.client_ids {
        push_unique(&mut keys, record_ref(connector, id));
    }
    keys
}

/// The key naming client record `external_id` of `connector`.
pub fn record_ref(connector: &str, external_id: &str) -> String {
    format!("r:{connector}:{external_id}")
}

/// Pushes `value` unless already present (key lists are short; order is kept).
pub fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::model::TaxValue;

    #[test]
    fn corporate_emails_give_domains_and_free_mail_stays_personal() {
        let c = ClientFields {
            name: "ООО «Ромашка»".into(),
            domains: vec!["romashka.ru".into()],
            emails: vec!["info@romashka.ru".into(), "sales@shop.romashka.ru".into(), "romashka77@mail.ru".into()],
            phones: vec!["+74951234567".into()],
            tax_id: Some(TaxValue { value: "7707083893".into() }),
            owner: None,
        };
        let keys = ClientKeys::of(&c);
        assert_eq!(keys.domains, ["romashka.ru"]);
        assert_eq!(keys.free_emails, ["romashka77@mail.ru"]);
        assert_eq!(
            keys.index_keys(),
            ["t:7707083893", "d:romashka.ru", "e:romashka77@mail.ru", "ph:+74951234567", "n:romashka"]
        );
    }

    #[test]
    fn a_free_mail_website_is_not_a_company_domain() {
        let c = ClientFields { name: "Acme".into(), domains: vec!["gmail.com".into()], ..ClientFields::default() };
        assert!(ClientKeys::of(&c).domains.is_empty());
    }

    #[test]
    fn contacts_are_keyed_by_their_own_values_and_their_clients() {
        let c = ContactFields {
            emails: vec!["Ann@Acme.com".into()],
            phones: vec!["+14155552671".into()],
            client_ids: vec!["7".into()],
            ..ContactFields::default()
        };
        assert_eq!(contact_keys("crm", &c), ["ce:ann@acme.com", "cp:+14155552671", "r:crm:7"]);
    }
}
