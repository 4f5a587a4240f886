//! Who the true clients are: their countries, legal forms, names, domains and tax ids,
//! and the decoys that imitate them.
//!
//! Uniqueness is enforced where a resolver relies on it: no two clients share a name root
//! (compared letters-only in Latin, so `Вектор-Строй` and `ВекторСтрой` collide), a domain or
//! a tax id. Decoys are the one deliberate exception to names: they look like their original
//! (one letter off, another legal form, a `Групп` suffix) but always have their own domain
//! and tax id, which is what must keep them apart.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zveno_connector::TaxId;

use super::generate::{pick, Generator};
use super::names::{self, domain_label, feminine_surname, translit};
use super::variants::{Country, LegalForm, PhoneNum, Profile};

impl Generator<'_> {
    /// A new true client: country, legal form, a name nobody has, domain and tax id.
    pub(super) fn new_profile(&mut self) -> Profile {
        let roll: f64 = self.rng.gen();
        let country = if roll < 0.65 {
            Country::Ru
        } else if roll < 0.81 {
            Country::Us
        } else if roll < 0.91 {
            Country::Uk
        } else {
            Country::De
        };
        let form = match country {
            Country::Ru => match self.rng.gen_range(0..100) {
                0..=69 => LegalForm::Ooo,
                70..=81 => LegalForm::Ao,
                82..=86 => LegalForm::Pao,
                _ => LegalForm::Ip,
            },
            Country::Us if self.rng.gen_bool(0.6) => LegalForm::Llc,
            Country::Us => LegalForm::Inc,
            Country::Uk => LegalForm::Ltd,
            Country::De => LegalForm::Gmbh,
        };
        let root = match (country, form) {
            (_, LegalForm::Ip) => self.ip_owner_name(None),
            (Country::Ru, _) => self.russian_root(),
            _ => self.english_root(),
        };
        let domain = if form == LegalForm::Ip {
            self.rng.gen_bool(0.4).then(|| {
                let surname = root.split(' ').next().unwrap_or_default();
                format!("ip-{}", domain_label(&translit(surname)))
            })
        } else {
            self.rng.gen_bool(0.95).then(|| {
                let (label, cyrillic) = self.label_for(country, &root);
                let tld = self.tld(country, cyrillic);
                format!("{label}.{tld}")
            })
        };
        let domain = domain.map(|d| match d.split_once('.') {
            Some((label, tld)) => self.unique_domain(label, tld),
            None => self.unique_domain(&d, "ru"),
        });
        let tax_id = self.tax_id(country, form, false);
        self.finish_profile(country, form, root, domain, tax_id)
    }

    /// A near-copy of `original`: one letter off, another legal form, or a suffix such as
    /// `Групп` — with its own tax id and domain, so a resolver must keep it apart.
    pub(super) fn decoy_profile(&mut self, original: usize) -> Profile {
        let (country, form, root, orig_domain) = {
            let o = &self.profiles[original];
            (o.country, o.form, o.root.clone(), o.domain.clone())
        };
        let (form, root) = if form == LegalForm::Ip {
            // Another entrepreneur with the same surname and first name.
            (form, self.ip_owner_name(Some(&root)))
        } else {
            match self.rng.gen_range(0..3) {
                0 => match one_letter_off(&root, &mut self.rng) {
                    Some(r) if self.used_roots.insert(root_key(&r)) => (form, r),
                    _ => (form, self.suffixed(country, &root)),
                },
                1 => (form.sibling(), root),
                _ => (form, self.suffixed(country, &root)),
            }
        };
        let (mut label, cyrillic) = self.label_for(country, &root);
        let tld = match orig_domain.as_deref().and_then(|d| d.split_once('.')) {
            _ if cyrillic => "рф".to_string(),
            Some((_, t)) if t != "рф" => t.to_string(),
            _ => self.tld(country, false).to_string(),
        };
        if orig_domain.as_deref() == Some(&format!("{label}.{tld}")) {
            label = format!("{label}-{}", domain_label(&translit(form.short())));
        }
        let domain = Some(self.unique_domain(&label, &tld));
        let tax_id = self.tax_id(country, form, true);
        self.finish_profile(country, form, root, domain, tax_id)
    }

    fn finish_profile(
        &mut self,
        country: Country,
        form: LegalForm,
        root: String,
        domain: Option<String>,
        tax_id: Option<String>,
    ) -> Profile {
        let phone_count = match self.rng.gen_range(0..20) {
            0 => 0,
            1 | 2 => 2,
            _ => 1,
        };
        let phones =
            (0..phone_count).map(|_| PhoneNum::random(country, form == LegalForm::Ip, &mut self.rng)).collect();
        let emails = match &domain {
            Some(d) => match self.rng.gen_range(0..10) {
                0 => Vec::new(),
                1 | 2 => vec![format!("info@{d}"), format!("sales@{d}")],
                3..=5 => vec![format!("sales@{d}")],
                _ => vec![format!("info@{d}")],
            },
            None => vec![format!(
                "{}{}@{}",
                domain_label(&translit(&root)),
                self.rng.gen_range(1..99),
                pick(&mut self.rng, names::FREE_MAIL)
            )],
        };
        Profile { country, form, root, domain, tax_id, phones, emails }
    }

    /// A Russian name root nobody else has (`ВекторСтрой`, `Ромашка`, `Гранит-Юг`).
    fn russian_root(&mut self) -> String {
        for _ in 0..12 {
            let root = pick(&mut self.rng, names::RU_ROOTS);
            let second = pick(&mut self.rng, names::RU_SECOND);
            let candidate = match self.rng.gen_range(0..10) {
                _ if second == root => root.to_string(),
                0..=2 => root.to_string(),
                3..=6 => format!("{root}{}", second.to_lowercase()),
                7 | 8 => format!("{root}-{second}"),
                _ => format!("{root} {second}"),
            };
            if self.used_roots.insert(root_key(&candidate)) {
                return candidate;
            }
        }
        let base = pick(&mut self.rng, names::RU_ROOTS);
        self.numbered_root(base, names::RU_PLACES)
    }

    /// An English name root nobody else has (`Northwind Logistics`, `Smith & Clark`).
    fn english_root(&mut self) -> String {
        for _ in 0..12 {
            let candidate = match self.rng.gen_range(0..20) {
                0..=14 => format!("{} {}", pick(&mut self.rng, names::EN_FIRST), pick(&mut self.rng, names::EN_SECOND)),
                15 | 16 => pick(&mut self.rng, names::EN_FIRST).to_string(),
                _ => {
                    format!("{} & {}", pick(&mut self.rng, names::EN_SURNAMES), pick(&mut self.rng, names::EN_SURNAMES))
                }
            };
            if self.used_roots.insert(root_key(&candidate)) {
                return candidate;
            }
        }
        let base = pick(&mut self.rng, names::EN_FIRST);
        self.numbered_root(base, &["North", "South", "East", "West", "Central", "Pacific"])
    }

    /// `base` with a place and, if needed, a number: always unique eventually.
    fn numbered_root(&mut self, base: &str, places: &[&str]) -> String {
        let place = pick(&mut self.rng, places);
        let candidate = format!("{base}-{place}");
        if self.used_roots.insert(root_key(&candidate)) {
            return candidate;
        }
        let mut n = self.clients.len() as u64 + 2;
        loop {
            let candidate = format!("{base}-{place} {n}");
            if self.used_roots.insert(root_key(&candidate)) {
                return candidate;
            }
            n += 1;
        }
    }

    /// `Иванов Иван Иванович`; for a decoy, same surname and first name as `like`.
    fn ip_owner_name(&mut self, like: Option<&str>) -> String {
        loop {
            let female = self.rng.gen_bool(0.4);
            let stem = pick(&mut self.rng, names::RU_PATRONYMIC_STEMS);
            let patronymic = format!("{stem}{}", if female { "вна" } else { "вич" });
            let (surname, first) = match like {
                Some(l) => {
                    let mut words = l.split(' ');
                    let surname = words.next().unwrap_or_default().to_string();
                    let first = words.next().unwrap_or_default().to_string();
                    let patronymic =
                        if l.ends_with("вна") { format!("{stem}вна") } else { format!("{stem}вич") };
                    let name = format!("{surname} {first} {patronymic}");
                    if self.used_roots.insert(root_key(&name)) {
                        return name;
                    }
                    // Every patronymic taken: a first-name variant instead.
                    let (f, _) = self.person_name(true);
                    (surname, f)
                }
                None => {
                    let first = if female {
                        pick(&mut self.rng, names::RU_FEMALE_FIRST)
                    } else {
                        pick(&mut self.rng, names::RU_MALE_FIRST)
                    };
                    let surname = pick(&mut self.rng, names::RU_SURNAMES);
                    let surname = if female { feminine_surname(surname) } else { surname.to_string() };
                    (surname, first.to_string())
                }
            };
            let name = format!("{surname} {first} {patronymic}");
            if self.used_roots.insert(root_key(&name)) {
                return name;
            }
        }
    }

    fn suffixed(&mut self, country: Country, root: &str) -> String {
        let bank = if country == Country::Ru { names::RU_DECOY_SUFFIXES } else { names::EN_DECOY_SUFFIXES };
        for _ in 0..bank.len() * 2 {
            let candidate = format!("{root}{}", pick(&mut self.rng, bank));
            if self.used_roots.insert(root_key(&candidate)) {
                return candidate;
            }
        }
        let places = if country == Country::Ru { names::RU_PLACES } else { &["North", "South", "East", "West"][..] };
        self.numbered_root(root, places)
    }

    /// The domain label of a name: Latin (`romashka`), or Cyrillic (`true`) for some
    /// Russian clients, whose site then lives in the `.рф` zone.
    fn label_for(&mut self, country: Country, root: &str) -> (String, bool) {
        if country == Country::Ru && self.rng.gen_bool(0.12) {
            (domain_label(root), true)
        } else {
            (domain_label(&translit(root)), false)
        }
    }

    fn tld(&mut self, country: Country, cyrillic: bool) -> &'static str {
        match country {
            _ if cyrillic => "рф",
            Country::Ru => "ru",
            Country::Us => "com",
            Country::Uk if self.rng.gen_bool(0.7) => "co.uk",
            Country::De if self.rng.gen_bool(0.7) => "de",
            Country::Uk | Country::De => "com",
        }
    }

    /// `label.tld`, or a variant (`label-msk.ru`, `label2.ru`) when that is taken.
    fn unique_domain(&mut self, label: &str, tld: &str) -> String {
        let candidate = format!("{label}.{tld}");
        if self.used_domains.insert(candidate.clone()) {
            return candidate;
        }
        for suffix in ["online", "group", "msk", "pro", "shop", "hq"] {
            let candidate = format!("{label}-{suffix}.{tld}");
            if self.used_domains.insert(candidate.clone()) {
                return candidate;
            }
        }
        let mut n = 2u64;
        loop {
            let candidate = format!("{label}{n}.{tld}");
            if self.used_domains.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }

    /// A tax id as typed: a unique valid INN for Russian clients (12 digits for ИП), an
    /// EIN or VAT number for some international ones. Decoys always get one, so their tax
    /// id always differs from their original's.
    fn tax_id(&mut self, country: Country, form: LegalForm, always: bool) -> Option<String> {
        let digits = |rng: &mut ChaCha8Rng, n: usize| -> String {
            (0..n).map(|_| char::from_digit(rng.gen_range(0..10), 10).unwrap_or('0')).collect()
        };
        loop {
            let typed = match country {
                Country::Ru => {
                    // Region code 01-89 first, as real INNs have.
                    let region = format!("{:02}", self.rng.gen_range(1..90));
                    let rest = digits(&mut self.rng, if form == LegalForm::Ip { 8 } else { 7 });
                    let inn = TaxId::inn_with_check_digits(&format!("{region}{rest}"))?;
                    inn.as_str().to_string()
                }
                Country::Us if always || self.rng.gen_bool(0.5) => {
                    let d = digits(&mut self.rng, 9);
                    format!("{}-{}", &d[..2], &d[2..])
                }
                Country::Uk if always || self.rng.gen_bool(0.6) => {
                    let d = digits(&mut self.rng, 9);
                    if self.rng.gen_bool(0.3) {
                        format!("GB {} {} {}", &d[..3], &d[3..7], &d[7..])
                    } else {
                        format!("GB{d}")
                    }
                }
                Country::De if always || self.rng.gen_bool(0.7) => {
                    format!("DE{}", digits(&mut self.rng, 9))
                }
                _ => return None,
            };
            let key: String = typed.chars().filter(char::is_ascii_alphanumeric).collect();
            if self.used_tax.insert(key) {
                return Some(typed);
            }
        }
    }
}

/// Letters only, lower-cased, in Latin: `Вектор-Строй` and `ВекторСтрой` share a key, so
/// two unrelated clients never get names that differ only in punctuation.
fn root_key(root: &str) -> String {
    translit(root).chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The name with one vowel changed (`Ромашка` → `Ромошка`, `Northwind` → `Nurthwind`).
fn one_letter_off(root: &str, rng: &mut impl Rng) -> Option<String> {
    let swap = |c: char| -> Option<char> {
        Some(match c {
            'а' => 'о',
            'о' => 'а',
            'е' => 'и',
            'и' => 'е',
            'ы' => 'и',
            'у' => 'ю',
            'я' => 'а',
            'a' => 'e',
            'e' => 'a',
            'i' => 'y',
            'o' => 'u',
            'u' => 'o',
            _ => return None,
        })
    };
    let chars: Vec<char> = root.chars().collect();
    let candidates: Vec<usize> = (1..chars.len()).filter(|&i| swap(chars[i]).is_some()).collect();
    if candidates.is_empty() {
        return None;
    }
    let i = candidates[rng.gen_range(0..candidates.len())];
    let mut out = chars;
    out[i] = swap(out[i])?;
    Some(out.into_iter().collect())
}
