//! The company's users: `owner_id` → e-mail, and back for writes.

use std::collections::BTreeMap;

use crate::dto::UserDto;

/// Users by id. Deactivated and deleted users are kept: old records still point at them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Users {
    emails: BTreeMap<u64, String>,
}

impl Users {
    /// From the `/v1/users` list.
    pub fn new(users: impl IntoIterator<Item = UserDto>) -> Self {
        let emails = users
            .into_iter()
            .filter_map(|u| {
                let email = u.email?.trim().to_lowercase();
                (!email.is_empty()).then_some((u.id, email))
            })
            .collect();
        Self { emails }
    }

    /// How a record names the user `id`: the e-mail when known, else the id.
    pub fn person(&self, id: u64) -> String {
        self.emails.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }

    /// The user id a person (an e-mail, or an id as [`Users::person`] gives it) names.
    pub fn id_of(&self, person: &str) -> Option<u64> {
        let wanted = person.trim().to_lowercase();
        self.emails.iter().find(|(_, e)| **e == wanted).map(|(id, _)| *id).or_else(|| wanted.parse().ok())
    }

    /// How many users have an e-mail.
    pub fn len(&self) -> usize {
        self.emails.len()
    }

    /// Whether none has.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_emails_and_back() {
        let users = Users::new([
            UserDto { id: 1, name: None, email: Some(" AM@Example.com ".into()), active_flag: Some(false) },
            UserDto { id: 2, name: None, email: None, active_flag: None },
        ]);
        assert_eq!(users.person(1), "am@example.com");
        assert_eq!(users.person(2), "2");
        assert_eq!(users.id_of("am@EXAMPLE.com"), Some(1));
        assert_eq!(users.id_of("2"), Some(2));
        assert_eq!(users.id_of("nobody@example.com"), None);
        assert_eq!(users.len(), 1);
    }
}
