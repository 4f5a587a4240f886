//! Name banks and transliteration for the world generator.
//!
//! The banks are small on purpose: names are *composed* (a root plus a second word, a
//! surname pair, a person's three names), which gives hundreds of thousands of distinct
//! companies from a few hundred words, so a 50,000-client world needs no data files.
//! Transliteration varies on purpose (see [`Scheme`]): real records romanise Russian by
//! several tables, and a resolver tested only on the table it uses itself would pass by
//! construction. This module keeps its own tables and never borrows the resolver's.

/// Roots of Russian company names.
#[rustfmt::skip]
pub(super) const RU_ROOTS: &[&str] = &[
    "Ромашка", "Вектор", "Альфа", "Гранит", "Сибирь", "Волга", "Меридиан", "Горизонт", "Прогресс",
    "Созвездие", "Лотос", "Феникс", "Арсенал", "Кристалл", "Радуга", "Берёза", "Север", "Восток",
    "Байкал", "Енисей", "Алтай", "Урал", "Кедр", "Сокол", "Орион", "Атлант", "Гелиос", "Импульс",
    "Квант", "Магистраль", "Нева", "Ока", "Парус", "Рубин", "Сапфир", "Титан", "Факел", "Янтарь",
    "Эталон", "Зенит", "Исток", "Континент", "Мегаполис", "Навигатор", "Олимп", "Пилот", "Ресурс",
    "Стандарт", "Тандем", "Фортуна", "Хронос", "Церера", "Эверест", "Юпитер", "Аврора", "Бастион",
    "Вертикаль", "Гарант", "Дельта", "Ермак", "Жемчуг", "Звезда", "Изумруд", "Каскад", "Лидер",
    "Монолит", "Новатор", "Оптима", "Перспектива", "Родник", "Спектр", "Триумф", "Успех", "Фрегат",
    "Химпром", "Центавр", "Чайка", "Шельф", "Экспресс", "Юнона", "Ярило", "Азимут", "Белогорье",
    "Васильки", "Глобус", "Домострой", "Ёлочка", "Заря", "Иволга", "Колос", "Ладога", "Мираж",
    "Нептун", "Омега", "Полюс", "Росток", "Светоч", "Тайга", "Уют", "Флагман", "Хоризон", "Целина",
    "Чистый Лист", "Штиль", "Энергия", "Ясень", "Агат", "Бирюса", "Вольт", "Гамма", "Держава",
    "Жар-Птица", "Зодиак", "Иртыш", "Кама", "Лазурь", "Малахит", "Обь", "Пегас", "Рассвет", "Сигма",
    "Тонус", "Ультра", "Фаворит", "Цитадель",
];

/// Second words of Russian company names (`Вектор` + `Строй` = `ВекторСтрой`).
#[rustfmt::skip]
pub(super) const RU_SECOND: &[&str] = &[
    "Строй", "Торг", "Трейд", "Сервис", "Лайн", "Тех", "Пром", "Снаб", "Логистик", "Инвест", "Софт",
    "Медиа", "Агро", "Транс", "Энерго", "Маркет", "Консалт", "Мед", "Фарм", "Нефть", "Газ",
    "Металл", "Дизайн", "Проект", "Систем", "Телеком", "Электро", "Авто", "Хим", "Лес", "Принт",
    "Фуд", "Тур", "Экспо", "Групп", "Капитал", "Девелопмент", "Инжиниринг", "Комплект", "Ресурс",
];

/// Regions and cities appended when a composed name is already taken.
#[rustfmt::skip]
pub(super) const RU_PLACES: &[&str] = &[
    "Москва", "Урал", "Юг", "Север", "Центр", "Сибирь", "Кубань", "Поволжье", "Балтика", "Дон",
    "Казань", "Самара", "Пермь", "Томск", "Омск", "Тверь",
];

/// Words imitators add to a real client's name (`Ромашка Групп`).
#[rustfmt::skip]
pub(super) const RU_DECOY_SUFFIXES: &[&str] = &[
    " Групп", "-Холдинг", " Плюс", "-Сервис", " Трейд", "-Инвест", " М",
];

/// First words of English company names.
#[rustfmt::skip]
pub(super) const EN_FIRST: &[&str] = &[
    "Acme", "Northwind", "Blue Harbor", "Silverline", "Pinecrest", "Redwood", "Brightway",
    "Ironclad", "Clearwater", "Summit", "Evergreen", "Stonebridge", "Oakridge", "Lakeside",
    "Highland", "Sterling", "Granite", "Crescent", "Falcon", "Horizon", "Keystone", "Lighthouse",
    "Maple", "Meridian", "Northstar", "Orchard", "Pioneer", "Quantum", "Riverbend", "Sapphire",
    "Skyline", "Sunrise", "Tidewater", "Trident", "Vanguard", "Westfield", "Willow", "Zenith",
    "Apex", "Beacon", "Cobalt", "Driftwood", "Ember", "Foxglove", "Goldcrest", "Harborview",
    "Indigo", "Juniper", "Kingsway", "Larkspur", "Moonstone", "Nimbus", "Onyx", "Pemberton",
    "Quarry", "Rosewood", "Saltmarsh", "Thornbury", "Umber", "Vertex", "Whitmore", "Yellowstone",
    "Ashford", "Bramble", "Cedar", "Dunmore", "Elmstead", "Fairhaven", "Glenwood", "Hawthorne",
    "Ivory", "Jasper", "Kestrel", "Linden", "Marlow", "Newbury", "Oxley", "Penrose", "Radley",
    "Sherwood", "Trafalgar", "Upland", "Valemont", "Wexford", "Alder", "Birchwood", "Copper",
    "Dover", "Easton", "Fenwick", "Greystone", "Hollis", "Inverness", "Kensington", "Lockwood",
    "Mayfair", "Northgate", "Osprey", "Portland", "Ravenscroft", "Stratford", "Tamarack",
];

/// Second words of English company names.
#[rustfmt::skip]
pub(super) const EN_SECOND: &[&str] = &[
    "Systems", "Logistics", "Labs", "Partners", "Foods", "Analytics", "Software", "Consulting",
    "Dynamics", "Solutions", "Industries", "Networks", "Capital", "Health", "Energy", "Media",
    "Robotics", "Freight", "Ventures", "Digital", "Works", "Supply", "Security", "Biotech",
    "Telecom", "Materials", "Devices", "Retail", "Studios", "Trading", "Engineering", "Pharma",
    "Motors", "Outfitters", "Interactive", "Cloud", "Data", "Design", "Marine", "Aerospace",
];

/// Words imitators add to an English name (`Acme Group`).
#[rustfmt::skip]
pub(super) const EN_DECOY_SUFFIXES: &[&str] = &[
    " Group", " Holdings", " International", " Plus", " & Co", " Global",
];

/// Russian male first names (female forms are separate: Russian names are gendered).
#[rustfmt::skip]
pub(super) const RU_MALE_FIRST: &[&str] = &[
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Валерий", "Василий",
    "Виктор", "Владимир", "Георгий", "Глеб", "Григорий", "Денис", "Дмитрий", "Евгений", "Егор",
    "Иван", "Игорь", "Илья", "Кирилл", "Константин", "Леонид", "Максим", "Михаил", "Никита",
    "Николай", "Олег", "Павел", "Пётр", "Роман", "Руслан", "Сергей", "Станислав", "Степан", "Тимур",
    "Фёдор", "Юрий", "Ярослав",
];

/// Russian female first names.
#[rustfmt::skip]
pub(super) const RU_FEMALE_FIRST: &[&str] = &[
    "Анна", "Анастасия", "Валентина", "Валерия", "Вера", "Виктория", "Галина", "Дарья", "Евгения",
    "Екатерина", "Елена", "Елизавета", "Жанна", "Зоя", "Ирина", "Карина", "Ксения", "Лариса",
    "Любовь", "Людмила", "Маргарита", "Марина", "Мария", "Надежда", "Наталья", "Нина", "Оксана",
    "Ольга", "Полина", "Светлана", "София", "Софья", "Татьяна", "Ульяна", "Юлия", "Яна",
];

/// Russian surnames in the masculine form; [`feminine_surname`] derives the feminine one.
#[rustfmt::skip]
pub(super) const RU_SURNAMES: &[&str] = &[
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
    "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев",
    "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин",
    "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов",
    "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов",
    "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов",
    "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов",
    "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов",
    "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов",
    "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов",
    "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев",
    "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников",
];

/// Patronymic stems; `-вич` / `-вна` endings are added by gender.
#[rustfmt::skip]
pub(super) const RU_PATRONYMIC_STEMS: &[&str] = &[
    "Александро", "Алексее", "Андрее", "Борисо", "Викторо", "Владимиро", "Дмитрие", "Евгенье",
    "Ивано", "Игоре", "Константино", "Михайло", "Николае", "Олего", "Павло", "Петро", "Сергее",
    "Юрье", "Василье", "Геннадье", "Анатолье", "Валерье", "Романо", "Степано",
];

/// English first names.
#[rustfmt::skip]
pub(super) const EN_FIRST_NAMES: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
    "Margaret", "Steven", "Sandra", "Paul", "Ashley", "Andrew", "Emily", "Joshua", "Donna",
    "Oliver", "Sophie", "Harry", "Charlotte", "Lukas", "Hannah", "Felix", "Lena", "Jonas", "Mia",
];

/// English (and a few German) surnames.
#[rustfmt::skip]
pub(super) const EN_SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Cox", "Ward",
    "Richardson", "Watson", "Brooks", "Wood", "James", "Bennett", "Gray", "Hughes", "Price",
    "Sanders", "Myers", "Long", "Ross", "Foster", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Wolf",
];

/// Task titles in CRMs, Russian.
#[rustfmt::skip]
pub(super) const RU_TASKS: &[&str] = &[
    "Подготовить коммерческое предложение", "Согласовать договор", "Выставить счёт",
    "Позвонить по продлению", "Провести демо", "Отправить акт сверки", "Настроить интеграцию",
    "Ответить на претензию", "Обновить реквизиты", "Запланировать встречу",
    "Подписать дополнительное соглашение", "Уточнить объём поставки", "Проверить оплату",
];

/// Task titles in CRMs, English.
#[rustfmt::skip]
pub(super) const EN_TASKS: &[&str] = &[
    "Send proposal", "Renew contract", "Follow up on invoice", "Schedule onboarding call",
    "Prepare QBR deck", "Update billing details", "Review SLA", "Call about renewal", "Send NDA",
    "Confirm delivery date", "Collect feedback", "Upsell premium plan",
];

/// Jira issue summaries.
#[rustfmt::skip]
pub(super) const ISSUES: &[&str] = &[
    "API returns 500 on export", "Fix SSO login", "Migrate data from legacy CRM",
    "Investigate slow dashboard", "Webhook deliveries fail", "Add custom field to report",
    "Ошибка при выгрузке отчёта", "Не приходят уведомления", "Настроить права доступа",
    "Интеграция с 1С падает по таймауту", "Импорт контактов дублирует записи",
    "Upgrade TLS certificates", "Password reset e-mail not delivered",
];

/// Labels and tags.
#[rustfmt::skip]
pub(super) const LABELS: &[&str] =
    &[
    "billing", "onboarding", "support", "renewal", "integration", "срочно", "vip", "bug",
    "customer", "q3",
];

/// Free-mail domains people use instead of their company's (identity resolution must not
/// treat them as the client's domain).
#[rustfmt::skip]
pub(super) const FREE_MAIL: &[&str] = &[
    "gmail.com", "mail.ru", "yandex.ru", "outlook.com", "bk.ru", "inbox.ru",
];

/// The feminine form of a Russian surname (`Иванов` → `Иванова`, `Ильин` → `Ильина`).
pub(super) fn feminine_surname(surname: &str) -> String {
    if surname.ends_with("ов")
        || surname.ends_with("ев")
        || surname.ends_with("ёв")
        || surname.ends_with("ин")
        || surname.ends_with("ын")
    {
        format!("{surname}а")
    } else {
        surname.to_string()
    }
}

/// A romanisation scheme for Russian. People spell Cyrillic names in Latin by whichever
/// they learnt, so one client's records disagree: `Khimprom` and `Himprom`, `Yuliya` and
/// `Iuliia`, `Baykal` and `Baikal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Scheme {
    /// The old passport table (GOST 52535.1): `х kh`, `ц ts`, `ю yu`, `я ya`, `й y`.
    Passport,
    /// ICAO 9303, in passports since 2014: `ю iu`, `я ia`, `й i`, `ё e`, `ъ ie`.
    Icao,
    /// What people type by ear: `х h`, `ц tz`, `щ sch`, `ю ju`, `я ja`, `ё e`.
    Colloquial,
}

impl Scheme {
    /// Every scheme, most common first.
    pub(super) const ALL: [Scheme; 3] = [Scheme::Passport, Scheme::Icao, Scheme::Colloquial];

    /// The Latin for a lower-case Cyrillic letter, or `None` for anything else.
    fn latin(self, c: char) -> Option<&'static str> {
        let common = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
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
            'ч' => "ch",
            'ш' => "sh",
            'ь' => "",
            'ы' => "y",
            'э' => "e",
            _ => "",
        };
        let own = match (self, c) {
            (Scheme::Passport, 'ё') => "yo",
            (_, 'ё') => "e",
            (Scheme::Colloquial, 'х') => "h",
            (_, 'х') => "kh",
            (Scheme::Colloquial, 'ц') => "tz",
            (_, 'ц') => "ts",
            (Scheme::Colloquial, 'щ') => "sch",
            (_, 'щ') => "shch",
            (Scheme::Icao, 'ю') => "iu",
            (Scheme::Colloquial, 'ю') => "ju",
            (_, 'ю') => "yu",
            (Scheme::Icao, 'я') => "ia",
            (Scheme::Colloquial, 'я') => "ja",
            (_, 'я') => "ya",
            (Scheme::Icao, 'й') => "i",
            (_, 'й') => "y",
            (Scheme::Icao, 'ъ') => "ie",
            (_, 'ъ') => "",
            _ if !common.is_empty() || c == 'ь' => return Some(common),
            _ => return None,
        };
        Some(own)
    }

    /// The scheme a text is spelled in wherever one spelling must stay put (a domain, an
    /// e-mail address): fixed per text, varied across texts, the passport table for most.
    /// Only the letters and digits decide, so `Заря-Логистик` and `ЗаряЛогистик` — one
    /// name to the generator's uniqueness check — are spelled alike.
    pub(super) fn of(text: &str) -> Scheme {
        let letters = text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase);
        let hash = letters.fold(0xcbf2_9ce4_8422_2325_u64, |h, c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3));
        match hash % 10 {
            0..=5 => Scheme::Passport,
            6..=7 => Scheme::Icao,
            _ => Scheme::Colloquial,
        }
    }
}

/// Transliterates Cyrillic to Latin in the scheme [`Scheme::of`] picks for `text`.
pub(super) fn translit(text: &str) -> String {
    translit_with(text, Scheme::of(text))
}

/// Transliterates Cyrillic to Latin in `scheme`, keeping case and leaving other
/// characters alone.
pub(super) fn translit_with(text: &str, scheme: Scheme) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let Some(latin) = scheme.latin(lower) else {
            out.push(c);
            continue;
        };
        if c != lower {
            // Upper case: capitalise the first Latin letter only (`Ж` → `Zh`).
            let mut chars = latin.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(latin);
        }
    }
    out
}

/// A domain label from a name: lower-case letters and digits, other runs become one `-`
/// (`Blue Harbor & Co` → `blue-harbor-co`). Cyrillic stays Cyrillic (for `.рф`).
pub(super) fn domain_label(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ё' => 'е',
            'ä' => 'a',
            'ö' => 'o',
            'ü' => 'u',
            'ß' => 's',
            other => other,
        };
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration_keeps_case_and_spells_each_scheme() {
        let spell = |text: &str| Scheme::ALL.map(|s| translit_with(text, s));
        assert_eq!(spell("Ромашка"), ["Romashka"; 3]);
        assert_eq!(spell("Жар-Птица"), ["Zhar-Ptitsa", "Zhar-Ptitsa", "Zhar-Ptitza"]);
        assert_eq!(spell("Химпром"), ["Khimprom", "Khimprom", "Himprom"]);
        assert_eq!(spell("Юлия"), ["Yuliya", "Iuliia", "Julija"]);
        assert_eq!(spell("Байкал"), ["Baykal", "Baikal", "Baykal"]);
        assert_eq!(spell("Щербаков"), ["Shcherbakov", "Shcherbakov", "Scherbakov"]);
        assert_eq!(spell("Acme"), ["Acme"; 3]);
    }

    #[test]
    fn each_text_keeps_one_scheme_and_texts_vary() {
        assert_eq!(translit("Заря-Логистик").replace('-', ""), translit("ЗаряЛогистик"));
        let spelled: std::collections::HashSet<Scheme> = RU_ROOTS.iter().map(|r| Scheme::of(r)).collect();
        assert_eq!(spelled.len(), Scheme::ALL.len(), "the roots are spelled in every scheme");
    }

    #[test]
    fn domain_labels_are_lowercase_and_dashed() {
        assert_eq!(domain_label("Blue Harbor & Co"), "blue-harbor-co");
        assert_eq!(domain_label("Чистый Лист"), "чистый-лист");
        assert_eq!(domain_label("Müller"), "muller");
    }

    #[test]
    fn surnames_agree_with_gender() {
        assert_eq!(feminine_surname("Иванов"), "Иванова");
        assert_eq!(feminine_surname("Ильин"), "Ильина");
        assert_eq!(feminine_surname("Шевчук"), "Шевчук");
    }
}
