//! The HubSpot object types zveno syncs, and the vendor names that go with each.
//!
//! One table instead of string literals spread over the client, the mapping and the
//! simulator: the path segment, the property that carries the modification time (contacts
//! are the odd one out with `lastmodifieddate`, every other object uses
//! `hs_lastmodifieddate`), the properties a pull asks for by name (an unset property is
//! returned as `null` only when asked for), and which associations a record carries.

use zveno_connector::Kind;

/// A CRM object type zveno reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Object {
    /// `companies` → [`Kind::Client`].
    Companies,
    /// `contacts` → [`Kind::Contact`].
    Contacts,
    /// `tasks` → [`Kind::Task`].
    Tasks,
}

impl Object {
    /// Every object type, in the order a sync pulls them.
    pub const ALL: [Object; 3] = [Object::Companies, Object::Contacts, Object::Tasks];

    /// The object type holding records of `kind`.
    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Client => Self::Companies,
            Kind::Contact => Self::Contacts,
            Kind::Task => Self::Tasks,
        }
    }

    /// The common-model kind of this object type.
    pub fn kind(self) -> Kind {
        match self {
            Self::Companies => Kind::Client,
            Self::Contacts => Kind::Contact,
            Self::Tasks => Kind::Task,
        }
    }

    /// The name in paths and association keys (`/crm/v3/objects/companies`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Contacts => "contacts",
            Self::Tasks => "tasks",
        }
    }

    /// Parses a path segment. HubSpot also accepts the singular (`company`) and the
    /// object type ids (`0-2`); zveno only sends the plural, the simulator accepts all.
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "companies" | "company" | "0-2" => Some(Self::Companies),
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "tasks" | "task" | "0-27" => Some(Self::Tasks),
            _ => None,
        }
    }

    /// The property holding the last modification time, the incremental cursor's axis.
    pub fn modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            Self::Companies | Self::Tasks => "hs_lastmodifieddate",
        }
    }

    /// The property holding the creation time.
    pub fn created_property(self) -> &'static str {
        match self {
            Self::Tasks => "hs_createdate",
            Self::Companies | Self::Contacts => "createdate",
        }
    }

    /// The properties a pull asks for (the tax-id property is added from config).
    pub fn properties(self) -> &'static [&'static str] {
        match self {
            Self::Companies => {
                &["name", "domain", "website", "phone", "hubspot_owner_id", "createdate", "hs_lastmodifieddate"]
            }
            Self::Contacts => &[
                "firstname",
                "lastname",
                "email",
                "hs_additional_emails",
                "phone",
                "mobilephone",
                "hubspot_owner_id",
                "createdate",
                "lastmodifieddate",
            ],
            Self::Tasks => &[
                "hs_task_subject",
                "hs_task_body",
                "hs_task_status",
                "hs_task_priority",
                "hs_task_type",
                "hs_timestamp",
                "hubspot_owner_id",
                "hs_createdate",
                "hs_lastmodifieddate",
            ],
        }
    }

    /// The object types whose associated ids a record of this type carries into the
    /// common model (a contact's companies; a task's companies and contacts).
    pub fn associations(self) -> &'static [Object] {
        match self {
            Self::Companies => &[],
            Self::Contacts => &[Self::Companies],
            Self::Tasks => &[Self::Companies, Self::Contacts],
        }
    }

    /// The path of a record in HubSpot's web app below `/contacts/{portal}/`. Tasks have
    /// no page of their own in the classic URL scheme; the generic record URL with the
    /// task object type id (`0-27`) is used (unverified against a live portal).
    pub fn deep_link(self, portal: u64, id: &str) -> String {
        let tail = match self {
            Self::Companies => format!("company/{id}"),
            Self::Contacts => format!("contact/{id}"),
            Self::Tasks => format!("record/0-27/{id}"),
        };
        format!("https://app.hubspot.com/contacts/{portal}/{tail}")
    }
}

impl std::fmt::Display for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_objects_round_trip() {
        for object in Object::ALL {
            assert_eq!(Object::of(object.kind()), object);
            assert_eq!(Object::parse(object.name()), Some(object));
        }
        assert_eq!(Object::parse("deals"), None);
    }

    #[test]
    fn contacts_use_their_own_modification_property() {
        assert_eq!(Object::Contacts.modified_property(), "lastmodifieddate");
        assert_eq!(Object::Companies.modified_property(), "hs_lastmodifieddate");
        assert_eq!(Object::Tasks.modified_property(), "hs_lastmodifieddate");
        for object in Object::ALL {
            assert!(object.properties().contains(&object.modified_property()));
            assert!(object.properties().contains(&object.created_property()));
        }
    }

    #[test]
    fn deep_links_follow_the_app_url_scheme() {
        assert_eq!(Object::Companies.deep_link(62515, "512"), "https://app.hubspot.com/contacts/62515/company/512");
        assert_eq!(Object::Tasks.deep_link(1, "9"), "https://app.hubspot.com/contacts/1/record/0-27/9");
    }
}
