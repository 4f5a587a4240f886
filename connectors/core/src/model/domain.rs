//! Registrable domains, the unit companies are matched on.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// The registrable domain (public suffix + one label) of a website, URL, host or e-mail,
/// lower-cased, in ASCII (punycode) form: `https://www.shop.romashka.ru/about` and
/// `info@romashka.ru` both give `romashka.ru`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl Domain {
    /// Parses a URL, bare host (`www.acme.com`, `acme.com/path`) or e-mail address.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = |reason: &str| ParseError::new("domain", raw, reason);
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(err("empty"));
        }
        let host_part = match trimmed.rsplit_once('@') {
            Some((_, host)) if !trimmed.contains("://") => host,
            _ => trimmed,
        };
        let with_scheme = if host_part.contains("://") { host_part.to_string() } else { format!("http://{host_part}") };
        let url = url::Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
        let host = match url.host() {
            Some(url::Host::Domain(h)) => h.trim_end_matches('.').to_string(),
            Some(_) => return Err(err("is an IP address, not a domain")),
            None => return Err(err("has no host")),
        };
        let registrable = psl::domain_str(&host).ok_or_else(|| err("has no registrable domain"))?;
        Ok(Self(registrable.to_string()))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Domain {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Domain> for String {
    fn from(value: Domain) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_urls_and_emails_reduce_to_the_registrable_domain() {
        for (raw, want) in [
            ("romashka.ru", "romashka.ru"),
            ("www.romashka.ru", "romashka.ru"),
            ("https://www.Romashka.RU/about?x=1", "romashka.ru"),
            ("http://shop.acme.co.uk:8080", "acme.co.uk"),
            ("info@romashka.ru", "romashka.ru"),
            ("Ann@Sales.Acme.com", "acme.com"),
            ("acme.com/contact", "acme.com"),
            ("https://ромашка.рф", "xn--80aa3agjl3d.xn--p1ai"),
        ] {
            assert_eq!(Domain::parse(raw).map(|d| d.to_string()), Ok(want.to_string()), "{raw}");
        }
    }

    #[test]
    fn non_domains_are_rejected() {
        for raw in ["", "   ", "http://127.0.0.1/", "localhost", "co.uk", "not a url at all"] {
            assert!(Domain::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }
}
