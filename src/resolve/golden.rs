//! The golden record: one value per field, chosen from the entity's source records by the
//! field's survivorship rule, with provenance (which record, from which connector, at
//! which remote time, won the field).
//!
//! Rules, configured per field in `[reconcile]`:
//!
//! - `well_formed`: the best-written value — for a name, one in proper case (not
//!   `ромашка`, not `ПАО ЛОТОС МЕДИА УРАЛ`), with its legal form (`ООО «Ромашка»` over
//!   `Ромашка`), in the script most of the client's records use (Cyrillic on a tie); ties
//!   go by `source_priority`, then to the most recent record. The default for `name`: managers look clients up by
//!   the name they know, not by whichever spelling was edited last.
//! - `source_priority`: the value of the first connector in `source_priority` (matched by
//!   connector name or vendor) that has one; unlisted connectors come after listed ones,
//!   and ties go to the most recent record. The default for `tax_id`: the system of
//!   record says what it is.
//! - `most_recent`: the value of the record modified last (by the vendor's own timestamp).
//!   The default for `owner`: reassignments happen in whichever system the manager uses.
//! - `most_complete`: for a list (`domains`, `emails`, `phones`) every value any record has,
//!   each once, best-ranked records first, with every contributing record as provenance;
//!   for text the longest value. The default for lists: a client reachable on a phone in
//!   one CRM is reachable on it in all.
//!
//! Empty values never win: a record that lacks a phone does not erase another's.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{ClientFields, ContactFields, Source};
use super::names;
use crate::store::RecordKey;

/// A golden-record field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Display name.
    Name,
    /// Registrable domains.
    Domains,
    /// E-mail addresses.
    Emails,
    /// Phones.
    Phones,
    /// Tax id.
    TaxId,
    /// Owner.
    Owner,
}

impl Field {
    /// Every field, in display order.
    pub const ALL: [Field; 6] = [Self::Name, Self::Domains, Self::Emails, Self::Phones, Self::TaxId, Self::Owner];

    /// The config and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Domains => "domains",
            Self::Emails => "emails",
            Self::Phones => "phones",
            Self::TaxId => "tax_id",
            Self::Owner => "owner",
        }
    }

    fn is_list(self) -> bool {
        matches!(self, Self::Domains | Self::Emails | Self::Phones)
    }
}

/// A survivorship rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Survival {
    /// The best-written value (names: script of the majority, proper case, legal form).
    WellFormed,
    /// The first connector in the priority list wins.
    SourcePriority,
    /// The record modified last wins.
    MostRecent,
    /// Lists: every value; text: the longest.
    MostComplete,
}

impl Survival {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WellFormed => "well_formed",
            Self::SourcePriority => "source_priority",
            Self::MostRecent => "most_recent",
            Self::MostComplete => "most_complete",
        }
    }
}

/// The validated `[reconcile]` survivorship settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survivorship {
    /// Connector names or vendors, most trusted first.
    pub source_priority: Vec<String>,
    /// Per-field rules; fields not listed use [`Survivorship::default_rule`].
    pub rules: BTreeMap<Field, Survival>,
}

impl Survivorship {
    /// The built-in rule of `field` (see the module docs for why).
    pub fn default_rule(field: Field) -> Survival {
        match field {
            Field::Name => Survival::WellFormed,
            Field::TaxId => Survival::SourcePriority,
            Field::Owner => Survival::MostRecent,
            Field::Domains | Field::Emails | Field::Phones => Survival::MostComplete,
        }
    }

    /// The rule in force for `field`.
    pub fn rule(&self, field: Field) -> Survival {
        self.rules.get(&field).copied().unwrap_or_else(|| Self::default_rule(field))
    }
}

/// What one record offers for a field.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// A single value (empty text counts as none).
    Text(Option<&'a str>),
    /// A list of values.
    List(&'a [String]),
}

/// Records that can compete for golden fields.
pub trait Offers {
    /// The fields this kind has.
    const FIELDS: &'static [Field];
    /// The record's value for `field`.
    fn offer(&self, field: Field) -> Offer<'_>;
}

impl Offers for ClientFields {
    const FIELDS: &'static [Field] = &Field::ALL;
    fn offer(&self, field: Field) -> Offer<'_> {
        match field {
            Field::Name => Offer::Text(Some(&self.name)),
            Field::Domains => Offer::List(&self.domains),
            Field::Emails => Offer::List(&self.emails),
            Field::Phones => Offer::List(&self.phones),
            Field::TaxId => Offer::Text(self.tax_id.as_ref().map(|t| t.value.as_str())),
            Field::Owner => Offer::Text(self.owner.as_deref()),
        }
    }
}

impl Offers for ContactFields {
    const FIELDS: &'static [Field] = &[Field::Name, Field::Emails, Field::Phones, Field::Owner];
    fn offer(&self, field: Field) -> Offer<'_> {
        match field {
            Field::Name => Offer::Text(Some(&self.name)),
            Field::Emails => Offer::List(&self.emails),
            Field::Phones => Offer::List(&self.phones),
            Field::Owner => Offer::Text(self.owner.as_deref()),
            Field::Domains | Field::TaxId => Offer::List(&[]),
        }
    }
}

/// The record (and its remote time) a field value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Won {
    /// Connector instance.
    pub connector: String,
    /// The vendor's id.
    pub external_id: String,
    /// The record's remote modification time (epoch ms).
    pub updated_at: Option<i64>,
}

/// A merged record: values and provenance by field name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Golden {
    /// `{"name": "ООО «Ромашка»", "domains": [...], "tax_id": null, ...}`.
    pub values: BTreeMap<String, serde_json::Value>,
    /// The records each value came from.
    pub provenance: BTreeMap<String, Vec<Won>>,
}

impl Golden {
    /// A text field's value.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.values.get(field.as_str()).and_then(serde_json::Value::as_str)
    }

    /// A list field's values.
    pub fn list(&self, field: Field) -> Vec<String> {
        self.values
            .get(field.as_str())
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

/// A registrable domain as people read it: `пример.рф` for the stored
/// `xn--e1afmkfd.xn--p1ai` (domains are stored in ASCII, as the DNS has them), or the
/// stored form when it does not decode.
pub fn domain_unicode(domain: &str) -> String {
    match idna::domain_to_unicode(domain) {
        (unicode, Ok(())) => unicode,
        (_, Err(_)) => domain.to_string(),
    }
}

/// Merges `members` into a golden record. `vendor_of` maps a connector to its vendor, so a
/// priority list can name either.
pub fn merge<T: Offers>(
    members: &[&Source<T>],
    survivorship: &Survivorship,
    vendor_of: &dyn Fn(&str) -> String,
) -> Golden {
    let rank = |key: &RecordKey| {
        let vendor = vendor_of(&key.connector);
        survivorship
            .source_priority
            .iter()
            .position(|p| *p == key.connector || *p == vendor)
            .unwrap_or(survivorship.source_priority.len())
    };
    let mut golden = Golden::default();
    // Each record's rank, computed once (a single record needs no order).
    let ranks: Vec<usize> = if members.len() > 1 { members.iter().map(|s| rank(&s.key)).collect() } else { Vec::new() };
    for &field in T::FIELDS {
        let rule = survivorship.rule(field);
        // Best first under this rule.
        let order: Vec<&Source<T>> = if members.len() > 1 {
            let form = Form::of(field, members);
            let facts: Vec<Facts> = members
                .iter()
                .zip(&ranks)
                .map(|(s, &rank)| Facts::of(rule, s.fields.offer(field), rank, &form))
                .collect();
            let mut by: Vec<usize> = (0..members.len()).collect();
            by.sort_by(|&a, &b| compare(rule, (members[a], &facts[a]), (members[b], &facts[b])));
            by.into_iter().map(|i| members[i]).collect()
        } else {
            members.to_vec()
        };
        let (value, won) = if field.is_list() && rule == Survival::MostComplete {
            union(field, &order)
        } else {
            first_offer(field, &order)
        };
        golden.values.insert(field.as_str().to_string(), value);
        golden.provenance.insert(field.as_str().to_string(), won);
    }
    golden
}

/// What ordering a record's offer for a field needs, computed once per record (scoring a
/// name analyses it, and a sort would do that at every comparison).
struct Facts {
    /// How well-formed the value is (`WellFormed` only).
    form: u8,
    /// The connector's place in `source_priority`.
    rank: usize,
    /// How much the value holds (`MostComplete` only).
    size: usize,
}

impl Facts {
    fn of(rule: Survival, offer: Offer<'_>, rank: usize, form: &Form) -> Self {
        Self {
            form: if rule == Survival::WellFormed { form.score(offer) } else { 0 },
            rank,
            size: if rule == Survival::MostComplete { size(offer) } else { 0 },
        }
    }
}

/// Orders two candidates under `rule`: the better one first.
fn compare<T>(rule: Survival, (a, fa): (&Source<T>, &Facts), (b, fb): (&Source<T>, &Facts)) -> Ordering {
    // Newer first; a record without a remote time is older than any with one.
    let recent = b.updated_at.cmp(&a.updated_at);
    let priority = fa.rank.cmp(&fb.rank);
    let primary = match rule {
        Survival::WellFormed => fb.form.cmp(&fa.form).then(priority).then(recent),
        Survival::SourcePriority => priority.then(recent),
        Survival::MostRecent => recent.then(priority),
        Survival::MostComplete => fb.size.cmp(&fa.size).then(recent),
    };
    primary.then_with(|| a.key.cmp(&b.key))
}

/// What a well-formed value of a field looks like among a cluster's records.
struct Form {
    /// Whether the field is a name (other fields have no notion of well-formed).
    name: bool,
    /// Most of the records write the name in Cyrillic (`None`: no letters anywhere).
    cyrillic: Option<bool>,
}

impl Form {
    fn of<T: Offers>(field: Field, members: &[&Source<T>]) -> Self {
        let (mut cyrillic, mut latin) = (0, 0);
        if field == Field::Name {
            for s in members {
                if let Offer::Text(Some(t)) = s.fields.offer(field) {
                    match script(t) {
                        Some(true) => cyrillic += 1,
                        Some(false) => latin += 1,
                        None => {}
                    }
                }
            }
        }
        // A tie goes to Cyrillic: a company spelled in Cyrillic anywhere is Russian, and its
        // Latin spellings are transliterations of that name.
        let majority = if cyrillic == latin { (cyrillic > 0).then_some(true) } else { Some(cyrillic > latin) };
        Self { name: field == Field::Name, cyrillic: majority }
    }

    /// Higher is better written: a name in proper case (not `ромашка`, not `ПАО ЛОТОС`),
    /// then with its legal form stated, then in the script most of the records use.
    /// Empty values score lowest.
    fn score(&self, offer: Offer<'_>) -> u8 {
        let Offer::Text(Some(text)) = offer else { return 0 };
        let text = text.trim();
        if text.is_empty() {
            return 0;
        }
        if !self.name {
            return 1;
        }
        let in_script = self.cyrillic.is_none_or(|cyrillic| script(text) == Some(cyrillic));
        let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
        let proper = letters.iter().any(|c| c.is_uppercase()) && letters.iter().any(|c| c.is_lowercase());
        let form = names::analyse(text).form.is_some();
        1 + 4 * u8::from(proper) + 2 * u8::from(form) + u8::from(in_script)
    }
}

/// Whether `text`'s letters are mostly Cyrillic (`None`: no letters).
fn script(text: &str) -> Option<bool> {
    let (mut cyrillic, mut other) = (0, 0);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if matches!(c, '\u{0400}'..='\u{04FF}') {
            cyrillic += 1;
        } else {
            other += 1;
        }
    }
    (cyrillic + other > 0).then_some(cyrillic > other)
}

fn size(offer: Offer<'_>) -> usize {
    match offer {
        Offer::Text(t) => t.map_or(0, |t| t.trim().chars().count()),
        Offer::List(l) => l.len(),
    }
}

/// The first non-empty offer in `order`.
fn first_offer<T: Offers>(field: Field, order: &[&Source<T>]) -> (serde_json::Value, Vec<Won>) {
    for s in order {
        match s.fields.offer(field) {
            Offer::Text(Some(t)) if !t.trim().is_empty() => {
                let text = t.split_whitespace().collect::<Vec<_>>().join(" ");
                return (serde_json::Value::String(text), vec![won(s)]);
            }
            Offer::List(l) if !l.is_empty() => return (serde_json::json!(l), vec![won(s)]),
            _ => {}
        }
    }
    (if field.is_list() { serde_json::json!([]) } else { serde_json::Value::Null }, Vec::new())
}

/// Every value of every record in `order`, each once.
fn union<T: Offers>(field: Field, order: &[&Source<T>]) -> (serde_json::Value, Vec<Won>) {
    let mut values: Vec<&str> = Vec::new();
    let mut from = Vec::new();
    for s in order {
        if let Offer::List(list) = s.fields.offer(field) {
            let before = values.len();
            for v in list {
                if !values.contains(&v.as_str()) {
                    values.push(v);
                }
            }
            if values.len() > before {
                from.push(won(s));
            }
        }
    }
    (serde_json::json!(values), from)
}

fn won<T>(s: &Source<T>) -> Won {
    Won { connector: s.key.connector.clone(), external_id: s.key.external_id.clone(), updated_at: s.updated_at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::model::TaxValue;
    use zveno_connector::Kind;

    fn source(connector: &str, updated: i64, name: &str, phones: &[&str], owner: &str) -> Source<ClientFields> {
        Source {
            key: RecordKey { connector: connector.into(), kind: Kind::Client, external_id: "1".into() },
            updated_at: Some(updated),
            url: None,
            fields: ClientFields {
                name: name.into(),
                phones: phones.iter().map(|p| p.to_string()).collect(),
                owner: (!owner.is_empty()).then(|| owner.to_string()),
                tax_id: (connector == "b24").then(|| TaxValue { value: "7707083893".into() }),
                ..ClientFields::default()
            },
        }
    }

    fn vendor(connector: &str) -> String {
        if connector == "b24" {
            "russian_crm".into()
        } else {
            "latin_crm".into()
        }
    }

    #[test]
    fn each_field_follows_its_rule_and_records_where_it_came_from() {
        let latin = source("hs", 200, "Romashka LLC", &["+74951234567"], "ann@team.ru");
        let russian = source("b24", 100, "ООО  «Ромашка»", &["+74951234567", "+79161234567"], "");
        let survivorship = Survivorship { source_priority: vec!["russian_crm".into()], rules: BTreeMap::new() };
        let g = merge(&[&latin, &russian], &survivorship, &vendor);
        assert_eq!(g.text(Field::Name), Some("ООО «Ромашка»"), "the best-written name");
        assert_eq!(g.provenance["name"][0].connector, "b24");
        assert_eq!(g.text(Field::Owner), Some("ann@team.ru"), "the newer record's owner; empty never wins");
        assert_eq!(g.list(Field::Phones), ["+74951234567", "+79161234567"]);
        assert_eq!(g.provenance["phones"].len(), 1, "only b24 added values");
        let two = merge(
            &[&source("hs", 200, "x", &["+1"], ""), &source("b24", 100, "y", &["+2"], "")],
            &survivorship,
            &vendor,
        );
        assert_eq!(two.provenance["phones"].len(), 2, "each record added a phone");
        assert_eq!(g.text(Field::TaxId), Some("7707083893"));
    }

    #[test]
    fn by_default_the_best_written_name_wins_over_the_latest_edit() {
        let names = |list: &[(&str, i64, &str)]| -> Option<String> {
            let sources: Vec<Source<ClientFields>> =
                list.iter().map(|(c, at, name)| source(c, *at, name, &[], "")).collect();
            let refs: Vec<&Source<ClientFields>> = sources.iter().collect();
            merge(&refs, &Survivorship::default(), &vendor).text(Field::Name).map(str::to_string)
        };
        // Proper case with the legal form, in the script most records use, wins.
        let lotos = [
            ("hs", 300, "Lotos Media Ural PJSC"),
            ("b24", 200, "ПАО ЛОТОС МЕДИА УРАЛ"),
            ("pd", 100, "Лотос Медиа Урал (ПАО)"),
            ("pd2", 50, "лотос медиа урал"),
        ];
        assert_eq!(names(&lotos).as_deref(), Some("Лотос Медиа Урал (ПАО)"));
        // A legal form beats none; then the newer record.
        assert_eq!(names(&[("hs", 300, "Ромашка"), ("b24", 100, "ООО «Ромашка»")]).as_deref(), Some("ООО «Ромашка»"));
        let rostok = [("hs", 300, "росток-мед"), ("b24", 100, "AO Rostok-Med")];
        assert_eq!(names(&rostok).as_deref(), Some("AO Rostok-Med"), "well-formed first");
        let romashka = [("hs", 300, "Romashka LLC"), ("b24", 100, "ООО «Ромашка»")];
        assert_eq!(names(&romashka).as_deref(), Some("ООО «Ромашка»"), "a tie of scripts goes to Cyrillic");
        assert_eq!(
            names(&[("hs", 100, "Acme Labs LLC"), ("b24", 300, "Acme Labs, LLC")]).as_deref(),
            Some("Acme Labs, LLC")
        );
        // Source priority still breaks ties among equally well-written names.
        let sources = [source("hs", 300, "Acme Labs LLC", &[], ""), source("b24", 100, "Acme Labs L.L.C.", &[], "")];
        let refs: Vec<&Source<ClientFields>> = sources.iter().collect();
        let survivorship = Survivorship { source_priority: vec!["russian_crm".into()], rules: BTreeMap::new() };
        assert_eq!(merge(&refs, &survivorship, &vendor).text(Field::Name), Some("Acme Labs L.L.C."));
    }

    #[test]
    fn punycode_domains_read_in_unicode() {
        assert_eq!(domain_unicode("xn--e1afmkfd.xn--p1ai"), "пример.рф");
        assert_eq!(domain_unicode("romashka.ru"), "romashka.ru");
        assert_eq!(domain_unicode("xn--zz.ru"), "xn--zz.ru", "an undecodable label stays as stored");
    }

    #[test]
    fn rules_can_be_changed_per_field() {
        let latin = source("hs", 200, "Romashka", &["+74951234567"], "");
        let russian = source("b24", 100, "ООО «Ромашка»", &["+79161234567"], "");
        let rules = BTreeMap::from([(Field::Name, Survival::MostRecent), (Field::Phones, Survival::SourcePriority)]);
        let survivorship = Survivorship { source_priority: vec!["b24".into()], rules };
        let g = merge(&[&latin, &russian], &survivorship, &vendor);
        assert_eq!(g.text(Field::Name), Some("Romashka"));
        assert_eq!(g.list(Field::Phones), ["+79161234567"]);
        let complete = Survivorship {
            source_priority: Vec::new(),
            rules: BTreeMap::from([(Field::Name, Survival::MostComplete)]),
        };
        assert_eq!(merge(&[&latin, &russian], &complete, &vendor).text(Field::Name), Some("ООО «Ромашка»"));
    }
}
