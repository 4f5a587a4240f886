//! libphonenumber's validity rules, each pattern compiled once, when first needed.
//!
//! Why not `phonenumber::is_valid`: the crate keeps its patterns in one process-wide,
//! mutex-guarded LRU keyed by the pattern's text, so every test of a number locks that
//! mutex, hashes and compares pattern texts of up to a few KiB, and then runs an
//! unanchored search; a number of a code that several regions share (`+7`: Russia and
//! Kazakhstan) is typed twice. In a full sync of 50,611 records that was a tenth of the
//! process's CPU. Here each pattern is compiled once, anchored, and a code's rules are
//! read without a lock once built; the answers are the crate's (`tests` compare both on every example
//! number in the metadata and variants of each).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::{Regex, RegexBuilder};

/// The types libphonenumber tells apart, as `phonenumber::validator::number_type` tests
/// them; a number of any of them is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    PremiumRate,
    TollFree,
    SharedCost,
    Voip,
    Personal,
    Pager,
    Uan,
    Voicemail,
    FixedLine,
    Mobile,
}

impl Type {
    fn descriptor(self, meta: &Metadata) -> Option<&Descriptor> {
        let d = meta.descriptors();
        match self {
            Self::PremiumRate => d.premium_rate(),
            Self::TollFree => d.toll_free(),
            Self::SharedCost => d.shared_cost(),
            Self::Voip => d.voip(),
            Self::Personal => d.personal_number(),
            Self::Pager => d.pager(),
            Self::Uan => d.uan(),
            Self::Voicemail => d.voicemail(),
            Self::FixedLine => d.fixed_line(),
            Self::Mobile => d.mobile(),
        }
    }
}

const TYPES: [Type; 10] = [
    Type::PremiumRate,
    Type::TollFree,
    Type::SharedCost,
    Type::Voip,
    Type::Personal,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
    Type::FixedLine,
    Type::Mobile,
];

/// A metadata pattern that must match at the start of the text, as the crate tests them
/// (`find` whose match begins at 0; not a whole-text match), compiled when first tested:
/// a code such as `+1` lists two dozen regions and hundreds of patterns, of which a sync
/// meets a few.
#[derive(Debug)]
struct Anchored {
    source: String,
    regex: OnceLock<Option<Regex>>,
}

impl Anchored {
    fn new(pattern: &str) -> Self {
        Self { source: pattern.to_string(), regex: OnceLock::new() }
    }

    fn is_match(&self, text: &str) -> bool {
        let regex = self.regex.get_or_init(|| {
            // The crate compiles metadata patterns with whitespace ignored; so must we.
            RegexBuilder::new(&format!("^(?:{})", self.source)).ignore_whitespace(true).build().ok()
        });
        regex.as_ref().is_some_and(|r| r.is_match(text))
    }
}

/// One descriptor: the lengths it allows (none listed: any) and its pattern.
#[derive(Debug)]
struct Pattern {
    lengths: Vec<u16>,
    regex: Anchored,
}

impl Pattern {
    fn new(descriptor: &Descriptor) -> Self {
        Self {
            lengths: descriptor.possible_length().to_vec(),
            regex: Anchored::new(descriptor.national_number().as_str()),
        }
    }

    fn is_match(&self, national: &str) -> bool {
        let length_ok =
            self.lengths.is_empty() || u16::try_from(national.len()).is_ok_and(|n| self.lengths.contains(&n));
        length_ok && self.regex.is_match(national)
    }
}

/// One region's rules.
#[derive(Debug)]
pub(super) struct Rules {
    /// The leading digits that pick this region among those sharing its code.
    leading: Option<Anchored>,
    general: Pattern,
    types: Vec<(Type, Pattern)>,
}

impl Rules {
    fn new(meta: &Metadata) -> Self {
        Self {
            leading: meta.leading_digits().map(|l| Anchored::new(l.as_str())),
            general: Pattern::new(meta.descriptors().general()),
            types: TYPES.iter().filter_map(|t| t.descriptor(meta).map(|d| (*t, Pattern::new(d)))).collect(),
        }
    }

    /// Whether `national` fits the region's general pattern and one of `types`'.
    pub(super) fn fits(&self, national: &str, types: &[Type]) -> bool {
        self.general.is_match(national) && self.types.iter().any(|(t, p)| types.contains(t) && p.is_match(national))
    }

    /// `number_type(meta, national) != Unknown`.
    fn typed(&self, national: &str) -> bool {
        self.fits(national, &TYPES)
    }
}

/// The regions of one country code, in the metadata's order.
#[derive(Debug, Default)]
pub(super) struct Code {
    regions: Vec<Rules>,
    /// Only one region (or a non-geographic code): no region needs picking.
    single: bool,
}

impl Code {
    fn new(code: u16) -> Self {
        let Some(ids) = DATABASE.region(&code) else { return Self::default() };
        let metas: Vec<&Metadata> = match ids.as_slice() {
            ["001"] => DATABASE.by_code(&code).unwrap_or_default().into_iter().take(1).collect(),
            // The crate gives up on a region its `country::Id` does not know.
            [id] if id.parse::<phonenumber::country::Id>().is_err() => Vec::new(),
            _ => ids.iter().filter_map(|id| DATABASE.by_id(*id)).collect(),
        };
        Self { regions: metas.into_iter().map(Rules::new).collect(), single: ids.len() == 1 }
    }

    /// `phonenumber::is_valid` for a number of this code: the region the number belongs to
    /// (the only one; else the first whose leading digits it starts with, or, for a region
    /// without leading digits, whose types it fits) must know its type.
    pub(super) fn is_valid(&self, national: &str) -> bool {
        if self.single {
            return self.regions.first().is_some_and(|r| r.typed(national));
        }
        for region in &self.regions {
            match &region.leading {
                Some(leading) if leading.is_match(national) => return region.typed(national),
                Some(_) => {}
                None if region.typed(national) => return true,
                None => {}
            }
        }
        false
    }

    /// Every region of the code.
    pub(super) fn regions(&self) -> &[Rules] {
        &self.regions
    }
}

static CODES: LazyLock<RwLock<HashMap<u16, Arc<Code>>>> = LazyLock::new(|| RwLock::new(HashMap::new()));

/// The rules of `code`, read from the metadata on first use (a few dozen codes at most in practice).
pub(super) fn code(code: u16) -> Arc<Code> {
    if let Some(known) = CODES.read().ok().and_then(|c| c.get(&code).cloned()) {
        return known;
    }
    let built = Arc::new(Code::new(code));
    match CODES.write() {
        Ok(mut codes) => codes.entry(code).or_insert(built).clone(),
        Err(_) => built,
    }
}

/// The types a number read again from its digits may have (see `phone::reread`).
pub(super) const REREAD_TYPES: [Type; 6] =
    [Type::FixedLine, Type::Mobile, Type::TollFree, Type::PremiumRate, Type::SharedCost, Type::Voip];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example number in the metadata, and variants of each (a digit dropped, one
    /// added, the first changed), with the code of their region.
    fn corpus() -> Vec<(u16, String)> {
        let mut numbers = Vec::new();
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let examples = std::iter::once(d.general()).chain(TYPES.iter().filter_map(|t| t.descriptor(meta)));
            for example in examples.filter_map(Descriptor::example) {
                let mut variants = vec![example.to_string(), format!("{example}0"), format!("{example}9")];
                if example.len() > 1 {
                    variants.push(example[..example.len() - 1].to_string());
                    for first in ['1', '5', '8', '9'] {
                        variants.push(format!("{first}{}", &example[1..]));
                    }
                }
                numbers.extend(variants.into_iter().map(|v| (meta.country_code(), v)));
            }
        }
        numbers
    }

    #[test]
    fn answers_as_the_crate_does_on_every_metadata_example_and_its_variants() {
        let corpus = corpus();
        assert!(corpus.len() > 5_000, "metadata examples: {}", corpus.len());
        let mut valid = 0;
        for (code, national) in &corpus {
            let Ok(number) = phonenumber::parse(None, format!("+{code}{national}")) else { continue };
            // Compare on what the crate parsed: its national number may drop a prefix.
            let expected = phonenumber::is_valid(&number);
            let ours = super::code(number.code().value()).is_valid(&number.national().to_string());
            assert_eq!(ours, expected, "+{code} {national} (parsed as {})", number.national());
            if expected {
                // `Phone::parse` writes E.164 itself; it must be what the crate writes.
                let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
                assert_eq!(format!("+{}{}", number.code().value(), number.national()), e164);
            }
            valid += usize::from(expected);
        }
        // Both answers occur: the comparison is not between two constant functions.
        assert!(valid > 1_000 && valid < corpus.len() - 1_000, "{valid} of {} valid", corpus.len());
    }

    #[test]
    fn a_shared_code_picks_the_region_by_leading_digits() {
        // +7: Kazakhstan's numbers begin with 6 or 7, Russia's do not.
        let seven = code(7);
        assert!(seven.regions().len() >= 2);
        assert!(seven.is_valid("4951234567"));
        assert!(seven.is_valid("7172123456") || seven.is_valid("7011234567"));
        assert!(!seven.is_valid("0951234567"));
    }

    #[test]
    fn an_unknown_code_has_no_valid_numbers() {
        assert!(!code(999).is_valid("1234567"));
        assert!(code(999).regions().is_empty());
    }
}
