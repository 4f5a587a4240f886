//! Phone numbers in E.164, parsed with the `phonenumber` crate (libphonenumber's metadata).

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};

use super::ParseError;

/// A valid phone number formatted as E.164 (`+74951234567`).
///
/// National formats (`8 (495) 123-45-67`) need a default region: the connector's config
/// names one (e.g. `RU`), because a CRM rarely stores the country code consistently.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses `raw`, reading national formats in `default_region` when given.
    pub fn parse(raw: &str, default_region: Option<Region>) -> Result<Self, ParseError> {
        let cleaned = raw.trim();
        if cleaned.is_empty() {
            return Err(ParseError::new("phone", raw, "empty"));
        }
        // "00" international prefix, common in European exports, is "+" in E.164.
        let cleaned = match cleaned.strip_prefix("00") {
            Some(rest) if !rest.starts_with('0') => format!("+{rest}"),
            _ => cleaned.to_string(),
        };
        let number =
            phonenumber::parse(default_region, &cleaned).map_err(|e| ParseError::new("phone", raw, e.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(ParseError::new("phone", raw, "not a valid number"));
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// Parses a region code such as `RU` or `US` for [`Phone::parse`].
    pub fn region(code: &str) -> Result<Region, ParseError> {
        Region::from_str(&code.trim().to_uppercase())
            .map_err(|_| ParseError::new("phone region", code, "not an ISO 3166 region code"))
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        // Stored values are already E.164; no region is needed to read them back.
        Self::parse(&value, None)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_formats_become_e164() {
        let ru = Phone::region("ru").ok();
        for raw in [
            "8 (495) 123-45-67",
            "+7 495 123 45 67",
            "84951234567",
            "+7(495)1234567",
            "007 495 123 45 67",
            "495 123-45-67",
        ] {
            assert_eq!(Phone::parse(raw, ru).map(|p| p.to_string()), Ok("+74951234567".into()), "{raw}");
        }
    }

    #[test]
    fn international_numbers_ignore_the_default_region() {
        let ru = Phone::region("RU").ok();
        assert_eq!(Phone::parse("+1 (415) 555-2671", ru).map(|p| p.to_string()), Ok("+14155552671".into()));
        assert_eq!(Phone::parse("+49 30 901820", ru).map(|p| p.to_string()), Ok("+4930901820".into()));
    }

    #[test]
    fn garbage_and_unknown_regions_are_errors() {
        assert!(Phone::parse("call me", None).is_err());
        assert!(Phone::parse("", Phone::region("RU").ok()).is_err());
        assert!(Phone::parse("123", Phone::region("RU").ok()).is_err());
        assert!(Phone::region("XX1").is_err());
    }
}
