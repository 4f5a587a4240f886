//! How a true client looks when a person types it into a system.
//!
//! A [`Profile`] is the client's canonical identity (legal form, name root, domain, tax id,
//! phones, e-mails). Each system record is rendered from it through one of the spellings
//! real CRMs are full of — `ООО «Ромашка»`, `Ромашка, ООО`, `"Romashka" LLC`, `romashka`;
//! `8 (495) 123-45-67`, `7 495 123 45 67` and `(495) 123-45-67`; `https://www.romashka.ru/`,
//! `romashka.ru/` and `https://romashka.ru/?utm_source=crm` — weighted per system
//! (Bitrix24 users write Russian legal forms and «» quotes, HubSpot users lean to Latin
//! spellings). Latin spellings of Russian names follow the romanisation scheme the person
//! typing learnt (`names::Scheme`: `Khimprom`, `Himprom`), chosen per record. Identity
//! resolution must see through all of them.

use rand::Rng;

use super::names::{translit_with, Scheme};
use super::System;

/// Where a client is registered; decides name language, legal forms, phones and tax ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Country {
    Ru,
    Us,
    Uk,
    De,
}

/// Legal forms, Russian and international.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegalForm {
    Ooo,
    Ao,
    Pao,
    Ip,
    Llc,
    Inc,
    Ltd,
    Gmbh,
}

impl LegalForm {
    /// The abbreviation as usually written.
    pub(super) fn short(self) -> &'static str {
        match self {
            Self::Ooo => "ООО",
            Self::Ao => "АО",
            Self::Pao => "ПАО",
            Self::Ip => "ИП",
            Self::Llc => "LLC",
            Self::Inc => "Inc.",
            Self::Ltd => "Ltd",
            Self::Gmbh => "GmbH",
        }
    }

    /// The spelled-out form (formal documents, Bitrix24 requisites).
    fn full(self) -> &'static str {
        match self {
            Self::Ooo => "Общество с ограниченной ответственностью",
            Self::Ao => "Акционерное общество",
            Self::Pao => "Публичное акционерное общество",
            Self::Ip => "Индивидуальный предприниматель",
            Self::Llc => "Limited Liability Company",
            Self::Inc => "Incorporated",
            Self::Ltd => "Limited",
            Self::Gmbh => "Gesellschaft mit beschränkter Haftung",
        }
    }

    /// The form as written in English (`ООО` → `LLC`) or another common spelling.
    fn alternative(self) -> &'static str {
        match self {
            Self::Ooo => "LLC",
            Self::Ao => "JSC",
            Self::Pao => "PJSC",
            Self::Ip => "IE",
            Self::Llc => "L.L.C.",
            Self::Inc => "Inc",
            Self::Ltd => "Limited",
            Self::Gmbh => "GmbH",
        }
    }

    /// Another form of the same country, for decoys that differ only in legal form.
    pub(super) fn sibling(self) -> Self {
        match self {
            Self::Ooo => Self::Ao,
            Self::Ao | Self::Pao => Self::Ooo,
            Self::Ip => Self::Ooo,
            Self::Llc => Self::Inc,
            Self::Inc => Self::Llc,
            Self::Ltd => Self::Llc,
            Self::Gmbh => Self::Ltd,
        }
    }
}

/// A phone number as digits, rendered in many formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PhoneNum {
    /// Country calling code (`7`, `1`, `44`, `49`).
    pub cc: &'static str,
    /// Area (or mobile operator) code.
    pub area: String,
    /// Subscriber number.
    pub local: String,
}

impl PhoneNum {
    /// A random valid number in `country`; `mobile` picks a mobile range.
    pub(super) fn random(country: Country, mobile: bool, rng: &mut impl Rng) -> Self {
        match country {
            Country::Ru => {
                let area = if mobile {
                    format!("9{:02}", rng.gen_range(0..100))
                } else {
                    // Moscow twice as often; regional codes the phone metadata accepts.
                    ["495", "499", "495", "343", "383", "473", "351"][rng.gen_range(0..7)].to_string()
                };
                let first = rng.gen_range(2..10);
                Self { cc: "7", area, local: digits(rng, first, 7) }
            }
            Country::Us => {
                let area = ["212", "415", "617", "312", "646", "206", "512", "305"][rng.gen_range(0..8)].to_string();
                // Exchange codes start 2-9 and must not look like N11 service codes.
                let first = rng.gen_range(2..10);
                let mut local = digits(rng, first, 7);
                if &local[1..3] == "11" {
                    local.replace_range(1..2, "2");
                }
                Self { cc: "1", area, local }
            }
            Country::Uk => {
                let (area, first) = if mobile {
                    ("7400".to_string(), rng.gen_range(0..10))
                } else {
                    ("20".to_string(), [3, 7, 8][rng.gen_range(0..3)])
                };
                let n = if mobile { 6 } else { 8 };
                Self { cc: "44", area, local: digits(rng, first, n) }
            }
            Country::De => {
                let (area, n) = if mobile {
                    (["151", "160", "170", "176"][rng.gen_range(0..4)].to_string(), 8)
                } else {
                    (["30", "40"][rng.gen_range(0..2)].to_string(), 8)
                };
                let first = rng.gen_range(1..10);
                Self { cc: "49", area, local: digits(rng, first, n) }
            }
        }
    }

    /// The number in one of the formats people type for its country.
    pub(super) fn typed(&self, rng: &mut impl Rng) -> String {
        let (a, l) = (&self.area, &self.local);
        let cc = self.cc;
        if cc == "7" {
            let (l1, l2, l3) = (&l[..3], &l[3..5], &l[5..]);
            return match rng.gen_range(0..13) {
                0 => format!("8 ({a}) {l1}-{l2}-{l3}"),
                1 => format!("+7 {a} {l1} {l2} {l3}"),
                2 => format!("+7({a}){l}"),
                3 => format!("8{a}{l}"),
                4 => format!("+7 ({a}) {l1}-{l2}-{l3}"),
                5 => format!("+7{a}{l}"),
                6 => format!("8-{a}-{l1}-{l2}-{l3}"),
                // Without the plus, as exports and forms often drop it.
                7 => format!("7 {a} {l1} {l2} {l3}"),
                8 => format!("7{a}{l}"),
                9 => format!("8 {a} {l1} {l2} {l3}"),
                10 => format!("+7-{a}-{l1}-{l2}{l3}"),
                11 => format!("8 ({a}) {l}"),
                // The national number alone, as people write numbers of their own city.
                _ => format!("({a}) {l1}-{l2}-{l3}"),
            };
        }
        let half = l.len() / 2;
        let (x, y) = (&l[..half], &l[half..]);
        // Foreign numbers keep their country code (`+` or `00`): in a Russian portal a
        // number without one reads as Russian.
        match rng.gen_range(0..7) {
            0 if cc == "1" => format!("+1 ({a}) {}-{}", &l[..3], &l[3..]),
            0 => format!("+{cc} {a} {x} {y}"),
            1 => format!("+{cc}-{a}-{x}-{y}"),
            2 => format!("+{cc}{a}{l}"),
            3 => format!("00{cc} {a} {x} {y}"),
            4 => format!("+{cc} ({a}) {l}"),
            5 => format!("+{cc}.{a}.{x}.{y}"),
            _ => format!("+{cc} {a} {l}"),
        }
    }
}

/// `n` digits starting with `first`.
fn digits(rng: &mut impl Rng, first: u32, n: usize) -> String {
    let mut s = String::with_capacity(n);
    s.push(char::from_digit(first, 10).unwrap_or('1'));
    for _ in 1..n {
        s.push(char::from_digit(rng.gen_range(0..10), 10).unwrap_or('0'));
    }
    s
}

/// A client's canonical identity, from which every system record is rendered.
#[derive(Debug, Clone)]
pub(super) struct Profile {
    pub country: Country,
    pub form: LegalForm,
    /// The name without legal form (`Ромашка`, `Northwind Logistics`; for ИП the owner's
    /// full name `Иванов Иван Иванович`).
    pub root: String,
    /// Domain as people type it (`romashka.ru`, `ромашка.рф`), if the client has one.
    pub domain: Option<String>,
    /// Tax id as people type it.
    pub tax_id: Option<String>,
    /// Company phones.
    pub phones: Vec<PhoneNum>,
    /// Company e-mails, lower-case.
    pub emails: Vec<String>,
}

impl Profile {
    /// The canonical name (`ООО «Ромашка»`, `ИП Иванов Иван Иванович`, `Acme Labs LLC`).
    pub(super) fn canonical_name(&self) -> String {
        match (self.country, self.form) {
            (_, LegalForm::Ip) => format!("ИП {}", self.root),
            (Country::Ru, form) => format!("{} «{}»", form.short(), self.root),
            (_, form) => format!("{} {}", self.root, form.short()),
        }
    }

    /// The name's Latin spelling in `scheme` (`Romashka`; for ИП `Ivanov Ivan`).
    pub(super) fn latin(&self, scheme: Scheme) -> String {
        if self.form == LegalForm::Ip {
            let mut words = self.root.split(' ');
            let surname = words.next().unwrap_or_default();
            let first = words.next().unwrap_or_default();
            return translit_with(&format!("{surname} {first}"), scheme);
        }
        translit_with(&self.root, scheme)
    }

    /// The name as typed into `system`.
    pub(super) fn typed_name(&self, system: System, rng: &mut impl Rng) -> String {
        if self.form == LegalForm::Ip {
            return self.typed_ip_name(rng);
        }
        if self.country == Country::Ru {
            // How often users of this system type Russian names in Latin letters.
            let latin_share = system.profile().latin_name_share;
            let (root, form) = (&self.root, self.form);
            if rng.gen_bool(latin_share) {
                let latin = self.latin(typed_scheme(rng));
                return match rng.gen_range(0..7) {
                    0 => format!("\"{latin}\" {}", form.alternative()),
                    1 => format!("{latin} {}", form.alternative()),
                    2 => latin,
                    3 => format!("{latin}, {}", form.alternative()),
                    4 => format!("{} {latin}", translit_with(form.short(), Scheme::Passport).to_uppercase()),
                    5 => format!("{latin} {}", form.alternative()).to_uppercase(),
                    _ => latin.to_lowercase(),
                };
            }
            return match rng.gen_range(0..10) {
                0..=2 => format!("{} «{root}»", form.short()),
                3 => format!("{} \"{root}\"", form.short()),
                4 => format!("{root}, {}", form.short()),
                5 => format!("{root} {}", form.short()),
                6 => format!("{} {root}", form.short()),
                7 => format!("{} «{root}»", form.full()),
                8 => format!("  {}  «{root}» ", form.short()),
                _ => root.to_lowercase(),
            };
        }
        let (root, form) = (&self.root, self.form);
        match rng.gen_range(0..9) {
            0..=2 => format!("{root} {}", form.short()),
            3 => format!("{root}, {}", form.short()),
            4 => root.clone(),
            5 => format!("{root} {}", form.short()).to_uppercase(),
            6 => root.to_lowercase(),
            7 => format!("{root} {}", form.alternative()),
            _ => format!("{root}   {} ", form.short()),
        }
    }

    fn typed_ip_name(&self, rng: &mut impl Rng) -> String {
        let root = &self.root;
        let words: Vec<&str> = root.split(' ').collect();
        let initials: String = words.iter().skip(1).filter_map(|w| w.chars().next()).map(|c| format!("{c}.")).collect();
        let surname = words.first().copied().unwrap_or_default();
        match rng.gen_range(0..6) {
            0 | 1 => format!("ИП {root}"),
            2 => format!("ИП {surname} {initials}"),
            3 => root.clone(),
            4 => format!("IP {}", self.latin(typed_scheme(rng))),
            _ => format!("Индивидуальный предприниматель {root}"),
        }
    }

    /// The website as typed, or `None` when this record has none.
    pub(super) fn typed_website(&self, rng: &mut impl Rng) -> Option<String> {
        let d = self.domain.as_deref()?;
        Some(match rng.gen_range(0..15) {
            0 | 1 => d.to_string(),
            2 => format!("www.{d}"),
            3 => format!("http://{d}"),
            4 => format!("https://{d}"),
            5 => format!("https://www.{d}/"),
            6 => format!("http://www.{d}/contacts"),
            7 => format!("https://{d}/about/"),
            8 => format!("WWW.{}", d.to_uppercase()),
            9 => format!("{d}/"),
            10 => format!("http://www.{d}"),
            11 => format!("https://{d}/?utm_source=crm&utm_medium=card"),
            12 => format!("https://www.{d}/index.html"),
            13 => format!("Https://Www.{}", capitalise_parts(d)),
            _ => format!(" https://{d}/ru/ "),
        })
    }
}

/// The scheme one person typing a Latin name uses: mostly the passport table, often the
/// new passports' ICAO spelling, sometimes by ear.
fn typed_scheme(rng: &mut impl Rng) -> Scheme {
    Scheme::ALL[match rng.gen_range(0..10) {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }]
}

/// An e-mail with the case and spacing variations people type.
pub(super) fn typed_email(email: &str, rng: &mut impl Rng) -> String {
    match rng.gen_range(0..8) {
        0 => capitalise_parts(email),
        1 => email.to_uppercase(),
        2 => format!(" {email} "),
        _ => email.to_string(),
    }
}

/// `ivan.petrov@romashka.ru` → `Ivan.Petrov@Romashka.ru`.
fn capitalise_parts(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut upper_next = true;
    for c in email.chars() {
        if upper_next {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper_next = matches!(c, '.' | '@');
    }
    out
}
