//! What a client's people say about it: the corporate e-mail domains of the contacts filed
//! under a client record in its own system.
//!
//! A company's employees write from its domain, so the contacts a CRM files under
//! `ООО «Атлас»` tell which of two `Атлас` companies it is even when the record itself
//! holds only an INN: one whose staff write from `atlas3.ru` is not the one whose website
//! is `atlas.ru`. Resolution uses these domains as *evidence about a name match* only
//! (see `vetoes.rs`), never as a key that joins records on its own: a contact may be an
//! outside accountant or a consultant writing from their own firm's domain, and that
//! must not merge the client with the firm. Free-mail domains say nothing and are left out.
//!
//! One contact says more: an entrepreneur's own, whose phones and e-mails are his
//! business's (`owners.rs`). [`Staff::keys`] gives a client record's keys with both.

use std::collections::{BTreeSet, HashMap};

use zveno_connector::Kind;

use crate::store::{RecordKey, Store, StoreError};

use super::keys::{email_domain, is_free_mail, record_ref, ClientKeys};
use super::load::Loaded;
use super::model::{ClientFields, ContactFields, Source};
use super::owners::{with_owner, Person};

/// Contacts read per store query when loading around a batch of clients.
const CONTACTS_LIMIT: usize = 1_000_000;

/// Client record → the corporate domains its contacts write from, and the contacts that
/// could be its entrepreneur.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staff {
    domains: HashMap<RecordKey, Vec<String>>,
    people: HashMap<RecordKey, Vec<Person>>,
}

impl Staff {
    /// The domains of the contacts filed under `client`.
    pub fn of(&self, client: &RecordKey) -> &[String] {
        self.domains.get(client).map(Vec::as_slice).unwrap_or_default()
    }

    /// The keys of client record `s`: its own, the phones and e-mails of its entrepreneur's
    /// own contact (`owners.rs`), and its staff's domains.
    pub fn keys(&self, s: &Source<ClientFields>) -> ClientKeys {
        let people = self.people.get(&s.key).map(Vec::as_slice).unwrap_or_default();
        match with_owner(&s.fields, people) {
            Some(fields) => ClientKeys::with_staff(&fields, self.of(&s.key)),
            None => ClientKeys::with_staff(&s.fields, self.of(&s.key)),
        }
    }

    /// Collects `contacts`' domains onto the client records they are filed under.
    pub fn from_contacts<'a>(contacts: impl IntoIterator<Item = &'a Source<ContactFields>>) -> Self {
        let mut staff = Self::default();
        for c in contacts {
            staff.add(c);
        }
        staff.finish()
    }

    /// Adds what contact `c` says about the client records it is filed under (then
    /// [`Staff::finish`], once every contact is in).
    pub fn add(&mut self, c: &Source<ContactFields>) {
        if let Some(person) = Person::of(&c.fields) {
            for client in client_records(&c.key.connector, &c.fields) {
                self.people.entry(client).or_default().push(person.clone());
            }
        }
        let domains = corporate_domains(&c.fields.emails);
        if domains.is_empty() {
            return;
        }
        for client in client_records(&c.key.connector, &c.fields) {
            let list = self.domains.entry(client).or_default();
            for d in &domains {
                if !list.contains(d) {
                    list.push(d.clone());
                }
            }
        }
    }

    /// The staff once every contact was added: each client's domains in order.
    pub fn finish(mut self) -> Self {
        for list in self.domains.values_mut() {
            list.sort();
        }
        self
    }

    /// Reads from the store the contacts filed under `clients` (found by their `r:` keys).
    pub async fn load(store: &Store, clients: &[RecordKey]) -> Result<Self, StoreError> {
        let refs: Vec<String> = clients.iter().map(|k| record_ref(&k.connector, &k.external_id)).collect();
        let mut contacts: Vec<RecordKey> = store
            .key_members(Kind::Contact, &refs, CONTACTS_LIMIT)
            .await?
            .members
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        contacts.sort();
        contacts.dedup();
        let loaded = Loaded::<ContactFields>::from_rows(store.resolution_rows(&contacts).await?);
        Ok(Self::from_contacts(&loaded.live))
    }
}

/// The client records whose staff a change to `contacts` alters: for each contact whose
/// corporate domains or client records differ from when it was last resolved (its stored
/// `ce:` and `r:` keys say what they were), the clients it is filed under now and was
/// filed under then. A change that leaves both alone (a new phone, a reordered list)
/// alters no company; it may alter an entrepreneur's record (named as a person, a `p:`
/// key), whose own contact lends it phones and e-mails (`owners.rs`).
pub async fn employers(store: &Store, contacts: &[RecordKey]) -> Result<Vec<RecordKey>, StoreError> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    // (domains, client records) of each contact: now, and as last resolved.
    type Ties = (BTreeSet<String>, BTreeSet<RecordKey>);
    let mut now: HashMap<RecordKey, Ties> = contacts.iter().map(|k| (k.clone(), Ties::default())).collect();
    let loaded = Loaded::<ContactFields>::from_rows(store.resolution_rows(contacts).await?);
    for c in &loaded.live {
        let ties = (corporate_domains(&c.fields.emails), client_records(&c.key.connector, &c.fields).collect());
        now.insert(c.key.clone(), ties);
    }
    let mut then: HashMap<RecordKey, Ties> = HashMap::new();
    for (contact, key) in store.stored_keys(contacts).await? {
        let ties = then.entry(contact).or_default();
        if let Some(email) = key.strip_prefix("ce:") {
            ties.0.extend(corporate_domains(&[email.to_string()]));
        } else if let Some((connector, id)) = key.strip_prefix("r:").and_then(|rest| rest.split_once(':')) {
            ties.1.insert(RecordKey { connector: connector.into(), kind: Kind::Client, external_id: id.into() });
        }
    }
    let mut out: BTreeSet<RecordKey> = BTreeSet::new();
    // Entrepreneurs' records any changed contact is filed under: it may be their own.
    let mut filed_under: BTreeSet<RecordKey> = BTreeSet::new();
    for (contact, current) in now {
        let before = then.remove(&contact).unwrap_or_default();
        if before != current {
            out.extend(before.1.into_iter().chain(current.1));
        } else {
            filed_under.extend(current.1);
        }
    }
    let filed_under: Vec<RecordKey> = filed_under.into_iter().filter(|k| !out.contains(k)).collect();
    if !filed_under.is_empty() {
        let people = store.stored_keys(&filed_under).await?;
        out.extend(people.into_iter().filter(|(_, key)| key.starts_with("p:")).map(|(client, _)| client));
    }
    Ok(out.into_iter().collect())
}

/// The corporate (not free-mail) registrable domains of `emails`.
fn corporate_domains(emails: &[String]) -> BTreeSet<String> {
    emails.iter().filter_map(|e| email_domain(e)).filter(|d| !is_free_mail(d)).collect()
}

/// The client records a contact of `connector` is filed under.
pub fn client_records<'a>(connector: &'a str, contact: &'a ContactFields) -> impl Iterator<Item = RecordKey> + 'a {
    contact.client_ids.iter().map(move |id| RecordKey {
        connector: connector.to_string(),
        kind: Kind::Client,
        external_id: id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(connector: &str, id: &str, emails: &[&str], clients: &[&str]) -> Source<ContactFields> {
        Source {
            key: RecordKey { connector: connector.into(), kind: Kind::Contact, external_id: id.into() },
            updated_at: None,
            url: None,
            fields: ContactFields {
                emails: emails.iter().map(|e| e.to_string()).collect(),
                client_ids: clients.iter().map(|c| c.to_string()).collect(),
                ..ContactFields::default()
            },
        }
    }

    #[test]
    fn an_entrepreneurs_own_contact_gives_his_record_its_phone_and_nobody_elses_does() {
        let mut larisa = contact("pd", "1", &["volkova-larisa@yandex.ru"], &["5", "6"]);
        larisa.fields.name = "Лариса Волкова".into();
        larisa.fields.phones = vec!["+79715359323".into()];
        let staff = Staff::from_contacts(std::slice::from_ref(&larisa));
        let record = |id: &str, name: &str| Source {
            key: client("pd", id),
            updated_at: None,
            url: None,
            fields: ClientFields { name: name.into(), ..ClientFields::default() },
        };
        let keys = staff.keys(&record("5", "ИП Волкова Л.Г."));
        assert_eq!(keys.phones, ["+79715359323"]);
        assert_eq!(keys.free_emails, ["volkova-larisa@yandex.ru"]);
        let company = staff.keys(&record("6", "ООО «Волга»"));
        assert!(company.phones.is_empty() && company.free_emails.is_empty(), "an employee's numbers are hers");
    }

    fn client(connector: &str, id: &str) -> RecordKey {
        RecordKey { connector: connector.into(), kind: Kind::Client, external_id: id.into() }
    }

    #[test]
    fn contacts_lend_their_corporate_domains_to_the_clients_they_are_filed_under() {
        let contacts = [
            contact("crm", "1", &["ann@atlas3.ru", "ann.home@gmail.com"], &["7"]),
            contact("crm", "2", &["bob@mail.atlas3.ru", "bob@konsalt-buh.ru"], &["7", "8"]),
            contact("crm", "3", &["eve@yandex.ru"], &["9"]),
            contact("other", "4", &["kim@kim-partner.de"], &["7"]),
        ];
        let staff = Staff::from_contacts(&contacts);
        assert_eq!(staff.of(&client("crm", "7")), ["atlas3.ru", "konsalt-buh.ru"]);
        assert_eq!(staff.of(&client("crm", "8")), ["atlas3.ru", "konsalt-buh.ru"]);
        assert!(staff.of(&client("crm", "9")).is_empty(), "free mail says nothing");
        assert_eq!(staff.of(&client("other", "7")), ["kim-partner.de"], "ids are per connector");
    }
}
