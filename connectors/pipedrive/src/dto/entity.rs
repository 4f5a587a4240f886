//! The Pipedrive entities zveno syncs, and the vendor names that go with each.

use zveno_connector::Kind;

/// A Pipedrive entity zveno reads through API v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// `organizations` → [`Kind::Client`].
    Organizations,
    /// `persons` → [`Kind::Contact`].
    Persons,
    /// `activities` → [`Kind::Task`].
    Activities,
}

impl Entity {
    /// Every entity, in the order a sync pulls them.
    pub const ALL: [Entity; 3] = [Entity::Organizations, Entity::Persons, Entity::Activities];

    /// The entity holding records of `kind`.
    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Client => Self::Organizations,
            Kind::Contact => Self::Persons,
            Kind::Task => Self::Activities,
        }
    }

    /// The common-model kind of this entity.
    pub fn kind(self) -> Kind {
        match self {
            Self::Organizations => Kind::Client,
            Self::Persons => Kind::Contact,
            Self::Activities => Kind::Task,
        }
    }

    /// The path segment (`/api/v2/organizations`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::Persons => "persons",
            Self::Activities => "activities",
        }
    }

    /// Parses a path segment.
    pub fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.path() == segment)
    }

    /// The singular used in the web app's URLs and in recents' `item` (`organization`).
    pub fn singular(self) -> &'static str {
        match self {
            Self::Organizations => "organization",
            Self::Persons => "person",
            Self::Activities => "activity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_paths_round_trip() {
        for e in Entity::ALL {
            assert_eq!(Entity::of(e.kind()), e);
            assert_eq!(Entity::parse(e.path()), Some(e));
        }
        assert_eq!(Entity::parse("deals"), None);
    }
}
