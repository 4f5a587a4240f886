//! A sole trader's own person: the entrepreneur filed as a contact under his business.
//!
//! An individual entrepreneur (`ИП Волкова Лариса Геннадьевна`) is a person, and CRMs
//! file him as a contact under his business too — in Pipedrive, whose organizations hold
//! no phones or e-mails, that contact is the only place his number and address are. They
//! are the business's: a contact filed under a record named as an entrepreneur, whose own
//! name is that entrepreneur's (the surname, and the first name or its initial), lends its
//! phones and e-mails to the record as if they were typed on it.
//!
//! Nobody else's do. An employee's mobile is not the company's number, and free-mail
//! addresses such as `olga63@yandex.ru` recur between unrelated people: other contacts say
//! only which corporate domains a client's staff write from (`staff.rs`), as evidence.

use super::model::{ClientFields, ContactFields};
use super::names::{analyse, to_latin, PersonName};
use super::spelling::fold;

/// A contact's name and the values it could lend its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name's words, as names are compared (Latin, folded).
    words: Vec<String>,
    phones: Vec<String>,
    emails: Vec<String>,
}

impl Person {
    /// The contact `c`, or `None` when it has no phone or e-mail to lend.
    pub fn of(c: &ContactFields) -> Option<Self> {
        if c.phones.is_empty() && c.emails.is_empty() {
            return None;
        }
        let words = c
            .name
            .split(|ch: char| !ch.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| fold(&to_latin(w)))
            .collect();
        Some(Self { words, phones: c.phones.clone(), emails: c.emails.clone() })
    }

    /// Whether this is the entrepreneur `owner`: his surname, and his first name (or, when
    /// the record gives only an initial, a first name with that initial). A surname alone
    /// is not enough: his wife or son may work for him.
    fn is(&self, owner: &PersonName) -> bool {
        let first = match owner.first.as_deref() {
            Some(f) if f.chars().count() == 1 => self.words.iter().any(|w| w != &owner.surname && w.starts_with(f)),
            Some(f) => self.words.iter().any(|w| w == f),
            None => false,
        };
        first && self.words.contains(&owner.surname)
    }
}

/// `fields` with the phones and e-mails of the entrepreneur's own contact among `people`
/// (the contacts filed under the record) added, or `None` when the record is not an
/// entrepreneur's or none of them is he.
pub fn with_owner(fields: &ClientFields, people: &[Person]) -> Option<ClientFields> {
    if people.is_empty() {
        return None;
    }
    let owner = analyse(&fields.name).person?;
    let mut out: Option<ClientFields> = None;
    for p in people.iter().filter(|p| p.is(&owner)) {
        let f = out.get_or_insert_with(|| fields.clone());
        for phone in &p.phones {
            if !f.phones.contains(phone) {
                f.phones.push(phone.clone());
            }
        }
        for email in &p.emails {
            let email = email.to_lowercase();
            if !f.emails.contains(&email) {
                f.emails.push(email);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, phone: &str, email: &str) -> Person {
        let c = ContactFields {
            name: name.into(),
            phones: vec![phone.into()],
            emails: vec![email.into()],
            ..ContactFields::default()
        };
        Person::of(&c).unwrap()
    }

    fn client(name: &str) -> ClientFields {
        ClientFields { name: name.into(), phones: vec!["+74951234567".into()], ..ClientFields::default() }
    }

    #[test]
    fn the_entrepreneurs_own_contact_lends_its_phone_and_email() {
        let larisa = person("Лариса Волкова", "+79715359323", "Volkova-Larisa@Yandex.Ru");
        for name in ["ИП Волкова Лариса Геннадьевна", "ИП Волкова Л.Г.", "IP Volkova Larisa"]
        {
            let f = with_owner(&client(name), std::slice::from_ref(&larisa)).unwrap();
            assert_eq!(f.phones, ["+74951234567", "+79715359323"], "{name}");
            assert_eq!(f.emails, ["volkova-larisa@yandex.ru"], "{name}");
        }
        let latin = person("Larisa Volkova", "+79715359323", "larisa@ip-volkova.ru");
        assert!(with_owner(&client("ИП Волкова Лариса Геннадьевна"), &[latin]).is_some(), "either script");
    }

    #[test]
    fn other_people_and_companies_lend_nothing() {
        let staff = [
            person("Глеб Никитин", "+79969061910", "gleb.nikitin46@inbox.ru"),
            person("Людмила Волкова", "+79969061911", "volkova@mail.ru"),
            person("Лариса Петрова", "+79969061912", "petrova@mail.ru"),
        ];
        assert_eq!(with_owner(&client("ИП Волкова Лариса Геннадьевна"), &staff), None, "not her");
        let larisa = person("Лариса Волкова", "+79715359323", "volkova@mail.ru");
        assert_eq!(with_owner(&client("ООО «Волкова Лариса»"), std::slice::from_ref(&larisa)), None, "a company");
        assert_eq!(with_owner(&client("ИП Волкова"), &[larisa]), None, "a surname alone");
        let silent = ContactFields { name: "Лариса Волкова".into(), ..ContactFields::default() };
        assert_eq!(Person::of(&silent), None, "nothing to lend");
    }
}
