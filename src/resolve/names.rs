//! Company and person names reduced to what identifies them.
//!
//! The same client is typed `ООО «Ромашка»`, `Ромашка, ООО`, `"Romashka" LLC`,
//! `Общество с ограниченной ответственностью «Ромашка»` and `romashka`. [`analyse`] turns
//! each into the same [`NameInfo`]:
//!
//! 1. lower-case, and transliterate Cyrillic with one passport-style table (`ж → zh`,
//!    `х → kh`, `щ → shch`) so both scripts meet in Latin; Latin diacritics fold
//!    (`ü → u`, `ß → ss`);
//! 2. split into words on anything that is not a letter or digit, which drops quotes
//!    (`«»`, `""`, `„“`), commas, dots (`L.L.C.` → `l l c`), `&` and hyphens, and fold
//!    each word's spelling over the romanisation schemes (`Himprom` = `Khimprom`,
//!    `Iuliia` = `Yuliya`: `spelling.rs`);
//! 3. strip legal forms — abbreviations (ООО, АО, ПАО, ИП, LLC, Inc, Ltd, GmbH, …) and
//!    spelled-out ones (`общество с ограниченной ответственностью`) — at either end,
//!    remembering the form's class: `ООО` and `LLC` are one class, `АО` and `JSC` another;
//! 4. join the remaining words: `Вектор-Строй`, `ВекторСтрой` and `Vektor Stroy` give the
//!    key `vektorstroy`; `Химпром` and `Himprom` the key `himprom`.
//!
//! Names of individual entrepreneurs (`ИП Иванов Иван Иванович`, `ИП Иванов И. И.`,
//! `IP Ivanov Ivan`) are people's names: they are kept as surname, first name and
//! patronymic, so initials and a missing patronymic can be compared part by part.
//!
//! Deliberately *not* done: spelling tolerance inside a word. A one-letter difference
//! (`Ромашка` / `Ромошка`) is exactly what an unrelated company with a look-alike name has,
//! so it must never make a match on its own; see `score.rs`.

use super::spelling::fold;

/// Legal-form classes. Two names with different explicit classes are different companies
/// (`ООО «Ромашка»` and `АО «Ромашка»`), however alike the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegalForm {
    /// ООО, LLC, L.L.C., Limited Liability Company.
    Llc,
    /// АО, ЗАО, JSC.
    Ao,
    /// ПАО, ОАО, PJSC.
    Pao,
    /// ИП, IE: an individual entrepreneur.
    Ip,
    /// Inc, Corp, Incorporated.
    Inc,
    /// Ltd, Limited, PLC.
    Ltd,
    /// GmbH.
    Gmbh,
    /// AG.
    Ag,
}

/// Spelled-out forms, as transliterated and folded words (`spelling.rs`), longest first so that
/// `публичное акционерное общество` is not read as `акционерное общество`.
const PHRASES: &[(&[&str], LegalForm)] = &[
    (&["obschestvo", "s", "ogranichennoy", "otvetstvennostyu"], LegalForm::Llc),
    (&["gesellschaft", "mit", "beschrankter", "haftung"], LegalForm::Gmbh),
    (&["publichnoe", "aktsionernoe", "obschestvo"], LegalForm::Pao),
    (&["otkrytoe", "aktsionernoe", "obschestvo"], LegalForm::Pao),
    (&["zakrytoe", "aktsionernoe", "obschestvo"], LegalForm::Ao),
    (&["limited", "lyability", "company"], LegalForm::Llc),
    (&["aktsionernoe", "obschestvo"], LegalForm::Ao),
    (&["individualnyy", "predprinimatel"], LegalForm::Ip),
    (&["l", "l", "c"], LegalForm::Llc),
];

/// Abbreviations (and one-word forms), transliterated.
const WORDS: &[(&str, LegalForm)] = &[
    ("ooo", LegalForm::Llc),
    ("llc", LegalForm::Llc),
    ("ao", LegalForm::Ao),
    ("zao", LegalForm::Ao),
    ("jsc", LegalForm::Ao),
    ("cjsc", LegalForm::Ao),
    ("pao", LegalForm::Pao),
    ("oao", LegalForm::Pao),
    ("pjsc", LegalForm::Pao),
    ("ojsc", LegalForm::Pao),
    ("ip", LegalForm::Ip),
    ("ie", LegalForm::Ip),
    ("inc", LegalForm::Inc),
    ("incorporated", LegalForm::Inc),
    ("corp", LegalForm::Inc),
    ("corporation", LegalForm::Inc),
    ("ltd", LegalForm::Ltd),
    ("limited", LegalForm::Ltd),
    ("plc", LegalForm::Ltd),
    ("gmbh", LegalForm::Gmbh),
    ("ag", LegalForm::Ag),
];

/// Endings of Russian patronymics, transliterated: a name ending in one is a person's.
const PATRONYMIC_ENDINGS: &[&str] = &["vich", "vna", "ichna", "ogly", "kyzy"];

/// Keys shorter than this identify nothing (`ab`, a stray initial).
const MIN_KEY_CHARS: usize = 3;

/// A person's name, for individual entrepreneurs. Parts may be initials (one letter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    /// Surname (always a full word).
    pub surname: String,
    /// First name or its initial.
    pub first: Option<String>,
    /// Patronymic or its initial.
    pub patronymic: Option<String>,
}

/// What a name says about identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameInfo {
    /// The words without legal form, joined (`romashka`); empty when too short to identify.
    pub key: String,
    /// The legal form, when the name states one.
    pub form: Option<LegalForm>,
    /// Set when the name is a person's (an individual entrepreneur).
    pub person: Option<PersonName>,
}

impl NameInfo {
    /// The blocking key: names are only compared with names in the same block. Companies
    /// block on their whole key; people on surname and first initial, so `Иванов И. И.`
    /// meets `Иванов Иван Иванович`.
    pub fn block(&self) -> Option<String> {
        match &self.person {
            Some(p) => {
                let initial = p.first.as_deref().and_then(|f| f.chars().next()).unwrap_or('_');
                Some(format!("p:{}:{initial}", p.surname))
            }
            None if self.key.chars().count() >= MIN_KEY_CHARS => Some(format!("n:{}", self.key)),
            None => None,
        }
    }

    /// The surname-only block of a person whose first name is known (`p:ivanov:_`),
    /// where a hint or record naming just the surname (`ip-ivanov.ru`) finds them.
    pub fn surname_block(&self) -> Option<String> {
        self.person.as_ref().filter(|p| p.first.is_some()).map(|p| format!("p:{}:_", p.surname))
    }
}

/// Analyses a name as typed.
pub fn analyse(raw: &str) -> NameInfo {
    // Words are split before transliterating, so an initial stays one letter: `Я.` is
    // `ya` in Latin, and only its first letter is the initial (`y`, as of `Яна` → `yana`).
    let folded: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let latin = fold(&to_latin(w));
            if w.chars().count() == 1 {
                latin.chars().take(1).collect()
            } else {
                latin
            }
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut words: Vec<&str> = folded.iter().map(String::as_str).collect();
    let form = strip_forms(&mut words);
    let person = if form == Some(LegalForm::Ip) || looks_like_person(&words) { person(&words) } else { None };
    let key: String = words.concat();
    let key = if key.chars().count() >= MIN_KEY_CHARS { key } else { String::new() };
    NameInfo { key, form, person }
}

/// Lower-case Latin: Cyrillic transliterated, diacritics folded, everything else kept.
pub fn to_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars().flat_map(char::to_lowercase) {
        match latin_of(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    out
}

fn latin_of(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        'ä' | 'à' | 'á' | 'â' | 'å' => "a",
        'ö' | 'ò' | 'ó' | 'ô' => "o",
        'ü' | 'ù' | 'ú' | 'û' => "u",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'ß' => "ss",
        'ç' => "c",
        'ñ' => "n",
        _ => return None,
    })
}

/// Removes legal forms at the start and end of `words`; returns the first found.
fn strip_forms(words: &mut Vec<&str>) -> Option<LegalForm> {
    let mut found = None;
    loop {
        if let Some((len, form)) = form_at(words, true) {
            words.drain(..len);
            found = found.or(Some(form));
        } else if let Some((len, form)) = form_at(words, false) {
            words.truncate(words.len() - len);
            found = found.or(Some(form));
        } else {
            return found;
        }
    }
}

/// The legal form at the start (or end) of `words`, with how many words it spans.
fn form_at(words: &[&str], start: bool) -> Option<(usize, LegalForm)> {
    let fits = |len: usize| len <= words.len();
    let slice = |len: usize| if start { &words[..len] } else { &words[words.len() - len..] };
    for (phrase, form) in PHRASES {
        if fits(phrase.len()) && slice(phrase.len()) == *phrase {
            return Some((phrase.len(), *form));
        }
    }
    let word = if start { words.first() } else { words.last() }?;
    WORDS.iter().find(|(w, _)| w == word).filter(|_| fits(1)).map(|(_, form)| (1, *form))
}

/// A name without a stated form is a person's when it has the shape of a Russian full
/// name: two or three words, the last a patronymic, or a surname followed by initials.
fn looks_like_person(words: &[&str]) -> bool {
    let initials = words.len() == 3 && words[1..].iter().all(|w| w.chars().count() == 1);
    let patronymic =
        matches!(words.len(), 2 | 3) && words.last().is_some_and(|w| PATRONYMIC_ENDINGS.iter().any(|e| w.ends_with(e)));
    initials || patronymic
}

fn person(words: &[&str]) -> Option<PersonName> {
    match words {
        [surname, rest @ ..] if rest.len() <= 2 && surname.chars().count() > 1 => Some(PersonName {
            surname: surname.to_string(),
            first: rest.first().map(|w| w.to_string()),
            patronymic: rest.get(1).map(|w| w.to_string()),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        analyse(raw).key
    }

    #[test]
    fn spellings_of_one_company_share_a_key() {
        for raw in [
            "ООО «Ромашка»",
            "ООО \"Ромашка\"",
            "Ромашка, ООО",
            "  ООО  «Ромашка» ",
            "Общество с ограниченной ответственностью «Ромашка»",
            "\"Romashka\" LLC",
            "Romashka LLC",
            "romashka",
        ] {
            assert_eq!(key(raw), "romashka", "{raw}");
        }
        assert_eq!(key("Вектор-Строй"), key("Vektor Stroy"));
        assert_eq!(key("ВекторСтрой"), "vektorstroy");
        assert_eq!(key("Acme Labs, L.L.C."), key("ACME LABS LLC"));
        assert_eq!(key("Müller & Koch GmbH"), "mullerkoch");
        assert_eq!(key("Жар-Птица"), "zharptitsa");
    }

    #[test]
    fn legal_forms_are_classified_in_either_script() {
        assert_eq!(analyse("ООО «Ромашка»").form, Some(LegalForm::Llc));
        assert_eq!(analyse("Romashka LLC").form, Some(LegalForm::Llc));
        assert_eq!(analyse("Romashka JSC").form, Some(LegalForm::Ao));
        assert_eq!(analyse("Публичное акционерное общество «Гранит»").form, Some(LegalForm::Pao));
        assert_eq!(analyse("Northwind Limited").form, Some(LegalForm::Ltd));
        assert_eq!(analyse("romashka").form, None);
    }

    #[test]
    fn look_alikes_keep_different_keys() {
        assert_ne!(key("ООО «Ромашка»"), key("ООО «Ромошка»"));
        assert_ne!(key("Acme & Co"), key("Acme"));
        assert_ne!(key("Ромашка Групп"), key("Ромашка"));
    }

    #[test]
    fn entrepreneurs_are_people_with_initials_kept() {
        let full = analyse("ИП Иванов Иван Иванович");
        assert_eq!(full.form, Some(LegalForm::Ip));
        assert_eq!(
            full.person,
            Some(PersonName {
                surname: "ivanov".into(),
                first: Some("ivan".into()),
                patronymic: Some("ivanovich".into())
            })
        );
        assert_eq!(analyse("ИП Иванов И. И.").person.and_then(|p| p.patronymic), Some("i".into()));
        assert!(analyse("Иванов Иван Иванович").person.is_some(), "a patronymic makes a person");
        assert!(analyse("Индивидуальный предприниматель Петрова Анна Сергеевна").person.is_some());
        assert!(analyse("IP Ivanov Ivan").person.is_some());
        assert!(analyse("Blue Harbor Systems").person.is_none());
        assert_eq!(analyse("ИП Иванов И. И.").block(), analyse("IP Ivanov Ivan").block());
    }

    #[test]
    fn the_form_tables_are_spelled_as_folded_words() {
        for (phrase, _) in PHRASES {
            assert!(phrase.iter().all(|w| fold(w) == *w), "{phrase:?}");
        }
        assert!(WORDS.iter().all(|(w, _)| fold(w) == *w));
        assert!(PATRONYMIC_ENDINGS.iter().all(|w| fold(w) == *w));
    }

    #[test]
    fn initials_of_letters_spelled_with_two_latin_letters_are_still_initials() {
        let short = analyse("ИП Никитина Я. Н.").person;
        assert_eq!(short.as_ref().and_then(|p| p.first.clone()), Some("y".into()));
        assert_eq!(analyse("ИП Никитина Я.Н.").block(), analyse("ИП Никитина Яна Николаевна").block());
        assert_eq!(analyse("ИП Исаев Ю.Г.").block(), analyse("IP Isaev Juriy").block());
        assert_eq!(analyse("ИП Голубева Анна").surname_block(), analyse("ИП Голубева").block());
    }

    #[test]
    fn romanisations_of_one_name_share_a_key() {
        assert_eq!(key("ООО «Химпром»"), key("Himprom LLC"));
        assert_eq!(key("Юпитер-Тех"), key("Iupiter Tekh"));
        assert_eq!(analyse("Obshchestvo s ogranichennoi otvetstvennostiu Baikal").form, Some(LegalForm::Llc));
        assert_eq!(analyse("ИП Юлия Ивановна").block(), analyse("IP Iuliia Ivanovna").block());
        assert_ne!(key("Ромашка"), key("Ромошка"));
    }

    #[test]
    fn names_too_short_to_identify_have_no_block() {
        assert_eq!(analyse("ООО").block(), None);
        assert_eq!(analyse("ab").block(), None);
        assert_eq!(analyse("ООО «Ромашка»").block(), Some("n:romashka".into()));
    }
}
