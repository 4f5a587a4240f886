//! Russian and English for the web view. Every text is a field of [`Texts`], so a
//! language missing a string does not compile. The language comes from `?lang=` (the
//! switch, remembered in a cookie), else that cookie, else `Accept-Language`, else English.

use axum::http::{header, HeaderMap};
use zveno_connector::{Kind, TaskStatus};

use crate::view::connectors::ConnectorState;

/// The cookie remembering the language switch.
pub const LANG_COOKIE: &str = "zveno_lang";

/// A language of the web view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// `en` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// `en`/`ru` (or a tag starting so, `ru-RU`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase();
        if t.starts_with("ru") {
            Some(Self::Ru)
        } else if t.starts_with("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    /// The language for a request: `query` (`?lang=`), the cookie, `Accept-Language`.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Self {
        query
            .and_then(Self::parse)
            .or_else(|| super::super::auth::cookie(headers, LANG_COOKIE).and_then(Self::parse))
            .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(accept_language))
            .unwrap_or(Self::En)
    }

    /// The texts.
    pub fn t(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::Ru => &RU,
        }
    }
}

/// The first of Russian or English in an `Accept-Language` header, by preference weight.
fn accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut bits = part.split(';');
        let Some(lang) = bits.next().and_then(Lang::parse) else { continue };
        let q = bits.find_map(|b| b.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// Every text of the web view.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Texts {
    pub clients: &'static str,
    pub overdue: &'static str,
    pub health: &'static str,
    pub search_placeholder: &'static str,
    pub search: &'static str,
    pub found: &'static str,
    pub name: &'static str,
    pub owner: &'static str,
    pub systems: &'static str,
    pub domain: &'static str,
    pub tax_id: &'static str,
    pub tasks: &'static str,
    pub open: &'static str,
    pub overdue_n: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub no_clients: &'static str,
    pub golden: &'static str,
    pub sources: &'static str,
    pub why: &'static str,
    pub open_in: &'static str,
    pub contacts: &'static str,
    pub none: &'static str,
    pub open_tasks: &'static str,
    pub closed: &'static str,
    pub due: &'static str,
    pub status: &'static str,
    pub assignee: &'static str,
    pub task: &'static str,
    pub no_tasks: &'static str,
    pub overdue_of: &'static str,
    pub pick_owner: &'static str,
    pub unassigned: &'static str,
    pub client: &'static str,
    pub no_client: &'static str,
    pub connector: &'static str,
    pub kind: &'static str,
    pub last_run: &'static str,
    pub last_success: &'static str,
    pub lag: &'static str,
    pub throttled: &'static str,
    pub failed_runs: &'static str,
    pub reason: &'static str,
    pub recent_runs: &'static str,
    pub records: &'static str,
    pub requests: &'static str,
    pub started: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub token: &'static str,
    pub sign_out: &'static str,
    pub bad_token: &'static str,
    pub times_in: &'static str,
    pub not_found: &'static str,
    pub back: &'static str,
    pub no_connectors: &'static str,
    pub fields: [&'static str; 6],
    pub states: [&'static str; 5],
    pub statuses: [&'static str; 4],
    pub kinds: [&'static str; 3],
    pub never: &'static str,
    pub review: &'static str,
    pub review_intro: &'static str,
    pub no_review: &'static str,
    pub review_kinds: [&'static str; 2],
    pub link: &'static str,
    pub unlink: &'static str,
    pub link_record: &'static str,
    pub link_record_hint: &'static str,
    pub admins_only: &'static str,
    pub decision_failed: &'static str,
    pub write_back: &'static str,
    pub flow: &'static str,
    pub write_back_intro: &'static str,
    pub no_flows: &'static str,
    pub plan_empty: &'static str,
    pub op_actions: [&'static str; 3],
    pub new_record: &'static str,
    pub field_col: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    pub unmapped: &'static str,
    pub no_user_in: &'static str,
    pub conflicts: &'static str,
    pub no_conflicts: &'static str,
    pub source: &'static str,
    pub target: &'static str,
    pub take_source: &'static str,
    pub take_target: &'static str,
}

impl Texts {
    /// A golden field's label (`name`, `domains`, … as stored).
    pub fn field(&self, name: &str) -> &'static str {
        let i = ["name", "domains", "emails", "phones", "tax_id", "owner"].iter().position(|f| *f == name);
        i.map_or("?", |i| self.fields[i])
    }

    /// A connector state's label.
    pub fn state(&self, s: ConnectorState) -> &'static str {
        self.states[match s {
            ConnectorState::Ok => 0,
            ConnectorState::Pending => 1,
            ConnectorState::Failing => 2,
            ConnectorState::Deferred => 3,
            ConnectorState::Parked => 4,
        }]
    }

    /// A task status's label.
    pub fn status(&self, s: TaskStatus) -> &'static str {
        self.statuses[match s {
            TaskStatus::Todo => 0,
            TaskStatus::InProgress => 1,
            TaskStatus::Done => 2,
            TaskStatus::Cancelled => 3,
        }]
    }

    /// A review case's label.
    pub fn review_kind(&self, k: crate::resolve::review::ReviewKind) -> &'static str {
        self.review_kinds[match k {
            crate::resolve::review::ReviewKind::NamesAgreeApart => 0,
            crate::resolve::review::ReviewKind::JoinedOnName => 1,
        }]
    }

    /// A kind's label.
    pub fn kind(&self, k: Kind) -> &'static str {
        self.kinds[match k {
            Kind::Client => 0,
            Kind::Contact => 1,
            Kind::Task => 2,
        }]
    }
}

static EN: Texts = Texts {
    clients: "Clients",
    overdue: "Overdue",
    health: "Sync health",
    search_placeholder: "Name, domain, e-mail, phone or tax ID",
    search: "Search",
    found: "shown",
    name: "Name",
    owner: "Owner",
    systems: "Systems",
    domain: "Domain",
    tax_id: "Tax ID",
    tasks: "Tasks",
    open: "open",
    overdue_n: "overdue",
    next_page: "Next page →",
    first_page: "← First page",
    no_clients: "No client matches.",
    golden: "Golden record",
    sources: "In every system",
    why: "Why it belongs here",
    open_in: "Open",
    contacts: "Contacts",
    none: "None.",
    open_tasks: "Open tasks across trackers",
    closed: "closed",
    due: "Due",
    status: "Status",
    assignee: "Assignee",
    task: "Task",
    no_tasks: "No open tasks.",
    overdue_of: "Overdue tasks",
    pick_owner: "Owner",
    unassigned: "(unassigned)",
    client: "Client",
    no_client: "no client found",
    connector: "Connector",
    kind: "Kind",
    last_run: "Last run",
    last_success: "Last success",
    lag: "Lag",
    throttled: "Throttled",
    failed_runs: "Failed runs",
    reason: "Reason",
    recent_runs: "Recent runs",
    records: "Records",
    requests: "Requests",
    started: "Started",
    sign_in: "Sign in",
    sign_in_intro: "Paste the access token your administrator gave you.",
    token: "Access token",
    sign_out: "Sign out",
    bad_token: "That token is not valid here.",
    times_in: "Times in",
    not_found: "No such client.",
    back: "Back to clients",
    no_connectors: "No connectors configured.",
    fields: ["Name", "Domains", "E-mails", "Phones", "Tax ID", "Owner"],
    states: ["OK", "Waiting for its first run", "Failing", "Deferred", "Parked"],
    statuses: ["To do", "In progress", "Done", "Cancelled"],
    kinds: ["client", "contact", "task"],
    never: "never",
    review: "Review",
    review_intro:
        "Pairs identity resolution would not decide alone. Link them if they are one client; unlink a record \
                   that does not belong. Your decision is kept by every later run.",
    no_review: "Nothing to review.",
    review_kinds: ["Names agree, kept apart", "Joined on the name alone"],
    link: "Link",
    unlink: "Unlink",
    link_record: "Link a record to this client",
    link_record_hint: "connector:id, e.g. crm:512",
    admins_only: "Only an admin can do this: sign in with the admin token.",
    decision_failed: "The decision was not recorded",
    write_back: "Write-back",
    flow: "Flow",
    write_back_intro: "What each flow would write now, field by field, and the conflicts waiting for a person. \
                       A settled conflict is written by the next apply.",
    no_flows: "No write-back flows are configured ([[flows]] in the config).",
    plan_empty: "Nothing to write: the systems agree.",
    op_actions: ["create", "update", "archive"],
    new_record: "(new record)",
    field_col: "Field",
    before: "Now",
    after: "Will be",
    unmapped: "People not mapped (left out of the write)",
    no_user_in: "no such user in",
    conflicts: "Conflicts",
    no_conflicts: "No open conflicts.",
    source: "Source",
    target: "Target",
    take_source: "Take source",
    take_target: "Take target",
};

static RU: Texts = Texts {
    clients: "Клиенты",
    overdue: "Просроченные",
    health: "Синхронизация",
    search_placeholder: "Название, домен, e-mail, телефон или ИНН",
    search: "Найти",
    found: "показано",
    name: "Название",
    owner: "Ответственный",
    systems: "Системы",
    domain: "Домен",
    tax_id: "ИНН",
    tasks: "Задачи",
    open: "открыто",
    overdue_n: "просрочено",
    next_page: "Дальше →",
    first_page: "← В начало",
    no_clients: "Клиенты не найдены.",
    golden: "Эталонная запись",
    sources: "Во всех системах",
    why: "Почему здесь",
    open_in: "Открыть",
    contacts: "Контакты",
    none: "Нет.",
    open_tasks: "Открытые задачи во всех трекерах",
    closed: "закрыто",
    due: "Срок",
    status: "Статус",
    assignee: "Исполнитель",
    task: "Задача",
    no_tasks: "Открытых задач нет.",
    overdue_of: "Просроченные задачи",
    pick_owner: "Ответственный",
    unassigned: "(без исполнителя)",
    client: "Клиент",
    no_client: "клиент не найден",
    connector: "Коннектор",
    kind: "Тип",
    last_run: "Последний запуск",
    last_success: "Последний успех",
    lag: "Отставание",
    throttled: "Ограничения",
    failed_runs: "Сбои",
    reason: "Причина",
    recent_runs: "Последние запуски",
    records: "Записей",
    requests: "Запросов",
    started: "Начало",
    sign_in: "Войти",
    sign_in_intro: "Вставьте токен доступа, который выдал администратор.",
    token: "Токен доступа",
    sign_out: "Выйти",
    bad_token: "Этот токен здесь не действует.",
    times_in: "Время:",
    not_found: "Такого клиента нет.",
    back: "К списку клиентов",
    no_connectors: "Коннекторы не настроены.",
    fields: ["Название", "Домены", "E-mail", "Телефоны", "ИНН", "Ответственный"],
    states: ["Норма", "Ожидает первого запуска", "Сбои", "Отложен", "Остановлен"],
    statuses: ["К выполнению", "В работе", "Готово", "Отменена"],
    kinds: ["клиент", "контакт", "задача"],
    never: "никогда",
    review: "Проверка",
    review_intro: "Пары, которые сопоставление не решилось объединить или разделить само. Свяжите, если это один \
                   клиент; отвяжите запись, которая сюда не относится. Решение сохраняется во всех следующих запусках.",
    no_review: "Проверять нечего.",
    review_kinds: ["Названия совпадают, но разделены", "Объединены только по названию"],
    link: "Связать",
    unlink: "Отвязать",
    link_record: "Привязать запись к этому клиенту",
    link_record_hint: "коннектор:id, например crm:512",
    admins_only: "Это может только администратор: войдите с токеном администратора.",
    decision_failed: "Решение не сохранено",
    write_back: "Обратная запись",
    flow: "Поток",
    write_back_intro: "Что каждый поток записал бы сейчас, поле за полем, и конфликты, которые ждут решения \
                       человека. Решённый конфликт записывается при следующем применении.",
    no_flows: "Потоки обратной записи не настроены ([[flows]] в конфигурации).",
    plan_empty: "Записывать нечего: системы согласованы.",
    op_actions: ["создать", "обновить", "архивировать"],
    new_record: "(новая запись)",
    field_col: "Поле",
    before: "Сейчас",
    after: "Станет",
    unmapped: "Не сопоставленные люди (поле не записывается)",
    no_user_in: "нет такого пользователя в",
    conflicts: "Конфликты",
    no_conflicts: "Открытых конфликтов нет.",
    source: "Источник",
    target: "Цель",
    take_source: "Взять из источника",
    take_target: "Взять из цели",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_wins_then_the_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, header::HeaderValue::from_static("de-DE,ru;q=0.8,en;q=0.5"));
        assert_eq!(Lang::negotiate(None, &h), Lang::Ru);
        h.insert(header::COOKIE, header::HeaderValue::from_static("zveno_lang=en"));
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        assert_eq!(Lang::negotiate(Some("ru"), &h), Lang::Ru);
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::En);
    }
}
