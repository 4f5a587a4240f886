//! Tax identifiers: Russian INN with check digits, other countries as plain strings.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// Which scheme a [`TaxId`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxScheme {
    /// Russian ИНН: 10 digits for organisations, 12 for individuals, check digits verified.
    RuInn,
    /// Anything else (VAT ids, EINs, ...): normalised but not verified.
    Other,
}

/// A tax identifier. Two clients with different tax ids are never the same client, so a
/// wrong-checksum INN is rejected rather than stored (it would veto a true match).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaxId {
    scheme: TaxScheme,
    value: String,
}

const INN10: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_A: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_B: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

impl TaxId {
    /// The first of the tax ids a record's sources hold (`(where, tax id)`, in the order
    /// the connector trusts them), and a warning naming every source that disagrees with
    /// it. Records that keep a tax id in several places (Bitrix24 requisites and user
    /// fields, several HubSpot properties) take the first; a disagreement is for a person
    /// to settle, so it is surfaced rather than silently resolved.
    pub fn first_of(found: impl IntoIterator<Item = (String, TaxId)>) -> (Option<Self>, Option<String>) {
        let mut found = found.into_iter();
        let Some((source, first)) = found.next() else { return (None, None) };
        let others: Vec<String> =
            found.filter(|(_, id)| *id != first).map(|(at, id)| format!("{id} in {at}")).collect();
        let warning = (!others.is_empty())
            .then(|| format!("different tax ids: {}; using {first} of {source}", others.join(", ")));
        (Some(first), warning)
    }

    /// Parses a tax id. `country` (ISO code) selects the scheme; with `RU`, or with no
    /// country and a 10/12-digit value, it must be a valid INN.
    pub fn parse(raw: &str, country: Option<&str>) -> Result<Self, ParseError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '.').collect();
        if compact.is_empty() {
            return Err(ParseError::new("tax id", raw, "empty"));
        }
        let all_digits = compact.chars().all(|c| c.is_ascii_digit());
        let russian = match country.map(str::to_ascii_uppercase).as_deref() {
            Some("RU") => true,
            Some(_) => false,
            None => all_digits && matches!(compact.len(), 10 | 12),
        };
        if russian {
            return Self::inn(raw, &compact);
        }
        Ok(Self { scheme: TaxScheme::Other, value: compact.to_uppercase() })
    }

    /// Builds a valid INN from its first 9 (organisation) or 10 (individual) digits by
    /// appending the check digits. Used by the world generator and tests.
    pub fn inn_with_check_digits(prefix: &str) -> Option<Self> {
        let mut digits: Vec<u32> = prefix.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
        match digits.len() {
            9 => digits.push(check_digit(&digits, &INN10)),
            10 => {
                digits.push(check_digit(&digits, &INN12_A));
                digits.push(check_digit(&digits, &INN12_B));
            }
            _ => return None,
        }
        let value = digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
        Some(Self { scheme: TaxScheme::RuInn, value })
    }

    fn inn(raw: &str, compact: &str) -> Result<Self, ParseError> {
        let err = |reason: &str| ParseError::new("INN", raw, reason);
        let digits: Vec<u32> =
            compact.chars().map(|c| c.to_digit(10)).collect::<Option<_>>().ok_or_else(|| err("has non-digits"))?;
        let valid = match digits.len() {
            10 => check_digit(&digits[..9], &INN10) == digits[9],
            12 => {
                check_digit(&digits[..10], &INN12_A) == digits[10] && check_digit(&digits[..11], &INN12_B) == digits[11]
            }
            _ => return Err(err("must have 10 or 12 digits")),
        };
        if !valid {
            return Err(err("check digits do not match"));
        }
        Ok(Self { scheme: TaxScheme::RuInn, value: compact.to_string() })
    }

    /// The scheme.
    pub fn scheme(&self) -> TaxScheme {
        self.scheme
    }
    /// The normalised value (digits for an INN).
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for TaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_source_wins_and_disagreeing_ones_are_named() {
        let inn = |s: &str| TaxId::parse(s, Some("RU")).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (inn("7707083893"), inn("500100732259"));
        assert_eq!(TaxId::first_of(Vec::new()), (None, None));
        let agreeing = [("x".to_string(), a.clone()), ("y".to_string(), a.clone())];
        assert_eq!(TaxId::first_of(agreeing), (Some(a.clone()), None));
        let (first, warning) = TaxId::first_of([("x".to_string(), a.clone()), ("y".to_string(), b)]);
        assert_eq!(first, Some(a));
        assert_eq!(warning.as_deref(), Some("different tax ids: 500100732259 in y; using 7707083893 of x"));
    }

    use super::*;

    #[test]
    fn valid_inns_parse() {
        // Sberbank (10 digits) and a well-known valid individual INN (12 digits).
        for raw in ["7707083893", "7707 083 893", "500100732259"] {
            let id = TaxId::parse(raw, None);
            assert_eq!(id.as_ref().map(TaxId::scheme), Ok(TaxScheme::RuInn), "{raw}");
        }
    }

    #[test]
    fn wrong_check_digits_are_rejected() {
        for raw in ["7707083894", "500100732258", "12345"] {
            assert!(TaxId::parse(raw, Some("RU")).is_err(), "{raw}");
        }
        assert!(TaxId::parse("7707083894", None).is_err());
    }

    #[test]
    fn other_countries_are_plain_normalised_strings() {
        let vat = TaxId::parse("de 123-456-789", Some("DE"));
        assert_eq!(
            vat.as_ref().map(|t| (t.scheme(), t.as_str().to_string())),
            Ok((TaxScheme::Other, "DE123456789".into()))
        );
        // A 9-digit US EIN without a country is not mistaken for an INN.
        assert_eq!(TaxId::parse("12-3456789", None).map(|t| t.scheme()), Ok(TaxScheme::Other));
    }

    #[test]
    fn generated_inns_are_valid() {
        for prefix in ["770708389", "123456789", "5001007322"] {
            let id = TaxId::inn_with_check_digits(prefix);
            let reparsed = id.as_ref().map(|t| TaxId::parse(t.as_str(), Some("RU")));
            assert!(matches!(reparsed, Some(Ok(_))), "{prefix}");
        }
        assert!(TaxId::inn_with_check_digits("12").is_none());
    }
}
