//! Phone numbers in E.164, parsed with the `phonenumber` crate (libphonenumber's metadata).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{LazyLock, Mutex};

use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};

use super::{phone_rules, ParseError};

/// A valid phone number formatted as E.164 (`+74951234567`).
///
/// National formats (`8 (495) 123-45-67`) need a default region: the connector's config
/// names one (e.g. `RU`), because a CRM rarely stores the country code consistently.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses `raw`, reading national formats in `default_region` when given.
    ///
    /// Results are remembered per distinct input (see [`Parsed`]).
    pub fn parse(raw: &str, default_region: Option<Region>) -> Result<Self, ParseError> {
        if let Some(known) = PARSED.lock().ok().and_then(|p| p.get(raw, default_region)) {
            return known;
        }
        let parsed = Self::parse_uncached(raw, default_region);
        if let Ok(mut p) = PARSED.lock() {
            p.insert(raw, default_region, &parsed);
        }
        parsed
    }

    fn parse_uncached(raw: &str, default_region: Option<Region>) -> Result<Self, ParseError> {
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
        let code = number.code().value();
        let national = number.national().to_string();
        if phone_rules::code(code).is_valid(&national) {
            // What the crate's E.164 formatter writes, without the national format it looks
            // up (by pattern) first and E.164 does not use.
            return Ok(Self(format!("+{code}{national}")));
        }
        reread(&cleaned, &number).map(Self).ok_or_else(|| ParseError::new("phone", raw, "not a valid number"))
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

/// How many inputs [`Parsed`] remembers before it starts over: about 1 MiB.
const PARSED_LIMIT: usize = 8192;

/// [`Phone::parse`]'s answers in one region, by input text.
type Answers = HashMap<Box<str>, Result<Phone, ParseError>>;

static PARSED: LazyLock<Mutex<Parsed>> = LazyLock::new(|| Mutex::new(Parsed::default()));

/// What [`Phone::parse`] answered, per default region and input text.
///
/// Why: parsing runs libphonenumber's metadata patterns, a few microseconds a number and
/// the dearest step of mapping a contact, while the same texts recur — a company's
/// switchboard on each of its people, one number on every vendor that holds it, and every
/// stored E.164 value read back (`TryFrom<String>`). Parsing is a pure function of the
/// text and the region, so a remembered answer is the answer. Bounded: when full it is
/// cleared rather than grown, so a long-running daemon holds at most [`PARSED_LIMIT`]
/// entries.
#[derive(Default)]
struct Parsed {
    by_region: Vec<(Option<Region>, Answers)>,
    len: usize,
}

impl Parsed {
    fn get(&self, raw: &str, region: Option<Region>) -> Option<Result<Phone, ParseError>> {
        self.by_region.iter().find(|(r, _)| *r == region).and_then(|(_, m)| m.get(raw)).cloned()
    }

    fn insert(&mut self, raw: &str, region: Option<Region>, parsed: &Result<Phone, ParseError>) {
        if self.len >= PARSED_LIMIT {
            *self = Self::default();
        }
        let at = match self.by_region.iter().position(|(r, _)| *r == region) {
            Some(at) => at,
            None => {
                self.by_region.push((region, HashMap::new()));
                self.by_region.len() - 1
            }
        };
        if self.by_region[at].1.insert(raw.into(), parsed.clone()).is_none() {
            self.len += 1;
        }
    }
}

/// Reads a number again from its digits, for when `phonenumber` got it wrong.
///
/// `phonenumber` 0.3 strips a leading `8` as Russia's national prefix even where it begins
/// the area code — `+7 812 466-69-81`, `8 (812) 466-69-81` (St Petersburg, Samara `846`,
/// Kazan `843`, Krasnodar `861`, ...) came back as the invalid 9-digit `124666981` — so
/// every such phone was dropped and could not join two records of one client. Here the
/// country code is the one the crate found, and the national number is the digits after it
/// (`+7…`, `7 843 …`), or the digits with the national prefix stripped once (`8 (812) …`), accepted
/// only when the country's metadata says it is a valid number. Numbers with an extension
/// are left as the crate read them.
fn reread(cleaned: &str, parsed: &phonenumber::PhoneNumber) -> Option<String> {
    if parsed.extension().is_some() {
        return None;
    }
    let code = parsed.code().value();
    let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    let metas = phonenumber::metadata::DATABASE.by_code(&code)?;
    let international = digits.strip_prefix(&code.to_string());
    let candidates: Vec<&str> = if cleaned.starts_with('+') {
        international.into_iter().collect()
    } else {
        // A national format, or an international one typed without its `+` (`7 843 …`).
        let prefixes = metas.iter().filter_map(|m| m.national_prefix());
        prefixes.filter_map(|p| digits.strip_prefix(p)).chain([digits.as_str()]).chain(international).collect()
    };
    let rules = phone_rules::code(code);
    let valid = |national: &str| rules.regions().iter().any(|r| r.fits(national, &phone_rules::REREAD_TYPES));
    candidates.into_iter().find(|n| valid(n)).map(|national| format!("+{code}{national}"))
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
    fn area_codes_beginning_with_8_keep_their_8() {
        let ru = Phone::region("RU").ok();
        for (raw, e164) in [
            ("8 (812) 466-69-81", "+78124666981"),
            ("+7 812 466 69 81", "+78124666981"),
            ("88126377303", "+78126377303"),
            ("8 (812) 637-73-03", "+78126377303"),
            ("+7 (846) 768-59-37", "+78467685937"),
            ("7 843 555 12 34", "+78435551234"),
            ("8-861-555-12-34", "+78615551234"),
        ] {
            assert_eq!(Phone::parse(raw, ru).map(|p| p.to_string()), Ok(e164.into()), "{raw}");
        }
        // Still refused: too few digits once the prefix is gone, or no such area.
        assert!(Phone::parse("8 (812) 466-69", ru).is_err());
        assert!(Phone::parse("8 (100) 466-69-81", ru).is_err());
    }

    #[test]
    fn a_remembered_answer_is_the_region_s_own() {
        // The same text reads differently with and without a default region; asking in
        // one must not answer for the other.
        let ru = Phone::region("RU").ok();
        let us = Phone::region("US").ok();
        assert_eq!(Phone::parse("495 123-45-67", ru).map(|p| p.to_string()), Ok("+74951234567".into()));
        assert!(Phone::parse("495 123-45-67", None).is_err());
        assert_eq!(Phone::parse("(415) 555-2671", us).map(|p| p.to_string()), Ok("+14155552671".into()));
        assert_ne!(Phone::parse("(415) 555-2671", ru), Phone::parse("(415) 555-2671", us));
        // Asked again: the same answers.
        assert_eq!(Phone::parse("495 123-45-67", ru).map(|p| p.to_string()), Ok("+74951234567".into()));
        assert!(Phone::parse("495 123-45-67", None).is_err());
    }

    #[test]
    fn a_full_memory_starts_over() {
        let mut parsed = Parsed::default();
        let ru = Phone::region("RU").ok();
        for i in 0..PARSED_LIMIT {
            parsed.insert(&i.to_string(), ru, &Err(ParseError::new("phone", "x", "test")));
        }
        assert!(parsed.get("0", ru).is_some());
        parsed.insert("one more", ru, &Err(ParseError::new("phone", "x", "test")));
        assert_eq!((parsed.len, parsed.get("0", ru)), (1, None));
        assert!(parsed.get("one more", ru).is_some());
    }

    #[test]
    fn garbage_and_unknown_regions_are_errors() {
        assert!(Phone::parse("call me", None).is_err());
        assert!(Phone::parse("", Phone::region("RU").ok()).is_err());
        assert!(Phone::parse("123", Phone::region("RU").ok()).is_err());
        assert!(Phone::region("XX1").is_err());
    }
}
