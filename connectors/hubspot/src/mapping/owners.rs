//! The owner directory: HubSpot owner ids ↔ e-mails.
//!
//! Records point at owners by `hubspot_owner_id` (the owner `id`, not the `userId`); the
//! common model wants the e-mail, which is what matches people across systems. Archived
//! owners are kept: old records still point at them.

use std::collections::HashMap;

use zveno_connector::Email;

use crate::dto::OwnerDto;

/// Owner id → e-mail and back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owners {
    by_id: HashMap<String, String>,
    by_email: HashMap<String, String>,
}

impl Owners {
    /// A directory from owners as listed by `/crm/v3/owners`. Owners without a valid
    /// e-mail are left out (records pointing at them keep the id).
    pub fn new(owners: impl IntoIterator<Item = OwnerDto>) -> Self {
        let mut directory = Self::default();
        for owner in owners {
            let Some(email) = owner.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
                continue;
            };
            let email = email.as_str().to_string();
            // Active owners win over archived ones for the same e-mail.
            if !owner.archived || !directory.by_email.contains_key(&email) {
                directory.by_email.insert(email.clone(), owner.id.clone());
            }
            directory.by_id.insert(owner.id, email);
        }
        directory
    }

    /// The e-mail of an owner id.
    pub fn email(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// How records name a person: the owner's e-mail when known, else the owner id.
    pub fn person(&self, id: &str) -> String {
        self.email(id).map_or_else(|| id.to_string(), str::to_string)
    }

    /// The owner id to write for a person named by e-mail, or by an owner id (what
    /// [`Owners::person`] returns when the e-mail is unknown).
    pub fn owner_id(&self, person: &str) -> Option<String> {
        let person = person.trim();
        if !person.is_empty() && person.bytes().all(|b| b.is_ascii_digit()) {
            return Some(person.to_string());
        }
        let email = Email::parse(person).ok()?;
        self.by_email.get(email.as_str()).cloned()
    }

    /// Number of owners with an e-mail.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no owner is known.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str, email: Option<&str>, archived: bool) -> OwnerDto {
        OwnerDto {
            id: id.into(),
            email: email.map(Into::into),
            user_id: None,
            first_name: None,
            last_name: None,
            owner_type: Some("PERSON".into()),
            archived,
        }
    }

    #[test]
    fn owners_resolve_both_ways() {
        let owners = Owners::new([
            owner("64492917", Some("AM@Example.com"), false),
            owner("1", Some("not an email"), false),
            owner("2", None, false),
            owner("3", Some("gone@example.com"), true),
        ]);
        assert_eq!(owners.len(), 2);
        assert_eq!(owners.email("64492917"), Some("am@example.com"));
        assert_eq!(owners.person("3"), "gone@example.com");
        assert_eq!(owners.person("1"), "1");
        assert_eq!(owners.owner_id("am@example.com"), Some("64492917".into()));
        assert_eq!(owners.owner_id(" 777 "), Some("777".into()));
        assert_eq!(owners.owner_id("stranger@example.com"), None);
        assert_eq!(owners.owner_id(""), None);
    }

    #[test]
    fn an_active_owner_wins_over_an_archived_one_with_the_same_email() {
        let owners = Owners::new([
            owner("10", Some("ann@example.com"), true),
            owner("11", Some("ann@example.com"), false),
            owner("12", Some("ann@example.com"), true),
        ]);
        assert_eq!(owners.owner_id("ann@example.com"), Some("11".into()));
        assert_eq!(owners.email("10"), Some("ann@example.com"));
    }
}
