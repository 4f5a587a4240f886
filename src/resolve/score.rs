//! How alike two names are, in `[0, 1]`.
//!
//! Names are only scored inside a block (same company key, or same surname and first
//! initial), so the score decides the questions normalisation leaves open:
//!
//! - **legal form**: two stated forms of different classes (`ООО` vs `АО`, `LLC` vs `Inc`)
//!   score 0 — a look-alike company differing only in form is a different company; a
//!   missing form is no evidence either way;
//! - **people** (individual entrepreneurs): surnames must be equal; first name and
//!   patronymic must agree where both are given, an initial agreeing with a full name.
//!   Each part known on one side only (an initial, a missing patronymic) costs 0.05, so
//!   `Иванов И. И.` ↔ `Иванов Иван Иванович` scores 0.9 and `Иванов Иван Петрович` ↔
//!   `Иванов Иван Сергеевич` scores 0.
//!
//! Companies in one block have equal keys, so they score 1 unless their forms conflict:
//! there is no partial credit for near-equal company names (see `names.rs` for why).
//!
//! Two thresholds, for two questions. *Are these records one client?* needs names that
//! agree completely ([`MERGE_THRESHOLD`]): `IP Ivanov Ivan` is as much the entrepreneur
//! `Иванов Иван Петрович` as his namesake `Иванов Иван Сергеевич`, and a wrong merge hides
//! a client. *Which client does this hint name?* may accept a partial name
//! ([`HINT_THRESHOLD`]) because the answer must also be unique: a hint that fits two
//! clients attaches to neither.

use super::names::{NameInfo, PersonName};

/// Names scoring this are the same client's.
pub const MERGE_THRESHOLD: f64 = 1.0;

/// A hint's name scoring at least this against exactly one client names that client.
pub const HINT_THRESHOLD: f64 = 0.9;

/// What one part known on only one side (or only as an initial) costs, in twentieths
/// (whole numbers, so two uncertain parts land exactly on the threshold).
const UNCERTAIN_PART: u8 = 1;

/// The similarity of two names.
pub fn name_score(a: &NameInfo, b: &NameInfo) -> f64 {
    if matches!((a.form, b.form), (Some(x), Some(y)) if x != y) {
        return 0.0;
    }
    match (&a.person, &b.person) {
        (Some(p), Some(q)) => person_score(p, q),
        (None, None) if !a.key.is_empty() && a.key == b.key => 1.0,
        _ => 0.0,
    }
}

fn person_score(a: &PersonName, b: &PersonName) -> f64 {
    if a.surname != b.surname {
        return 0.0;
    }
    let mut twentieths: u8 = 20;
    for (x, y) in [(&a.first, &b.first), (&a.patronymic, &b.patronymic)] {
        match part(x.as_deref(), y.as_deref()) {
            Part::Equal => {}
            Part::Uncertain => twentieths -= UNCERTAIN_PART,
            Part::Conflict => return 0.0,
        }
    }
    f64::from(twentieths) / 20.0
}

enum Part {
    Equal,
    Uncertain,
    Conflict,
}

fn part(a: Option<&str>, b: Option<&str>) -> Part {
    let initial = |s: &str| s.chars().count() == 1;
    match (a, b) {
        (Some(x), Some(y)) if x == y && !initial(x) => Part::Equal,
        (Some(x), Some(y)) if x.chars().next() == y.chars().next() && (initial(x) || initial(y)) => Part::Uncertain,
        (Some(_), Some(_)) => Part::Conflict,
        _ => Part::Uncertain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::names::analyse;

    fn score(a: &str, b: &str) -> f64 {
        name_score(&analyse(a), &analyse(b))
    }

    #[test]
    fn spellings_of_one_company_match_and_other_forms_do_not() {
        assert_eq!(score("ООО «Ромашка»", "Romashka LLC"), 1.0);
        assert_eq!(score("ООО «Ромашка»", "romashka"), 1.0);
        assert_eq!(score("ООО «Ромашка»", "АО «Ромашка»"), 0.0);
        assert_eq!(score("Acme Labs LLC", "Acme Labs Inc."), 0.0);
        assert_eq!(score("ООО «Ромашка»", "ООО «Ромошка»"), 0.0);
    }

    #[test]
    fn entrepreneurs_match_through_initials_but_not_other_patronymics() {
        assert_eq!(score("ИП Иванов Иван Иванович", "Индивидуальный предприниматель Иванов Иван Иванович"), 1.0);
        assert_eq!(score("ИП Иванов Иван Иванович", "ИП Иванов И. И."), HINT_THRESHOLD);
        assert_eq!(score("ИП Иванов Иван Иванович", "IP Ivanov Ivan"), 0.95);
        assert!(score("ИП Иванов И. И.", "ИП Иванов И. И.") < MERGE_THRESHOLD, "equal initials are not a full name");
        assert_eq!(score("ИП Иванов Иван Петрович", "ИП Иванов Иван Сергеевич"), 0.0);
        assert_eq!(score("ИП Иванов Иван Петрович", "ИП Иванов И. С."), 0.0);
        assert_eq!(score("ИП Иванов Иван Петрович", "ИП Петров Иван Петрович"), 0.0);
    }
}
