//! E-mail addresses, normalised for matching.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// A syntactically plausible e-mail address, trimmed and lower-cased.
///
/// Lower-casing the local part is technically lossy (RFC 5321 allows case-sensitive local
/// parts) but no CRM we sync treats them so, and identity matching needs one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses `raw`, accepting surrounding spaces, `mailto:` and angle brackets.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = |reason: &str| ParseError::new("email", raw, reason);
        let mut s = raw.trim();
        if let Some(rest) = s.strip_prefix("mailto:") {
            s = rest;
        }
        let s = s.trim_start_matches('<').trim_end_matches('>').trim().to_lowercase();
        let (local, domain) = s.split_once('@').ok_or_else(|| err("has no @"))?;
        if local.is_empty() || domain.is_empty() {
            return Err(err("empty local part or domain"));
        }
        if domain.contains('@') || s.chars().any(char::is_whitespace) {
            return Err(err("contains a second @ or white space"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(err("domain is not a host name"));
        }
        Ok(Self(s))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        for (raw, want) in [
            ("Ann@Acme.COM", "ann@acme.com"),
            ("  ann@acme.com ", "ann@acme.com"),
            ("mailto:ann@acme.com", "ann@acme.com"),
            ("<Info@Romashka.ru>", "info@romashka.ru"),
        ] {
            assert_eq!(Email::parse(raw).map(|e| e.to_string()), Ok(want.to_string()), "{raw}");
        }
    }

    #[test]
    fn invalid_emails_are_rejected() {
        for raw in ["", "ann", "ann@", "@acme.com", "ann@acme", "a b@acme.com", "a@b@c.com", "ann@.com"] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn domain_part_is_after_the_at() {
        assert_eq!(Email::parse("a@mail.ru").map(|e| e.domain_part().to_string()), Ok("mail.ru".into()));
    }
}
