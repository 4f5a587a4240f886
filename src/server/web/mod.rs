//! The web view for account managers: server-rendered HTML (maud templates compiled into
//! the binary), one stylesheet and a few lines of vanilla JavaScript — no Node build step,
//! nothing fetched from elsewhere. Pages read through [`crate::view`], like the API.
//!
//! - [`pages`]: the client list with search (Cyrillic or Latin) and the client card;
//! - [`ops`]: overdue tasks per owner and the sync health page;
//! - [`signin`]: signing in with a token (when the server has tokens) and the language switch;
//! - [`admin`]: the review queue and the link/unlink forms, for signed-in admins;
//! - [`flows`]: write-back plans and the conflict queue, for signed-in admins;
//! - [`i18n`]: Russian and English.

mod admin;
mod flows;
mod i18n;
mod ops;
mod pages;
mod signin;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

pub use i18n::Lang;

use super::auth::Role;
use super::ServerState;
use crate::view::ViewTime;

/// The web view's routes.
pub(super) fn routes() -> Router<ServerState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/clients") }))
        .route("/clients", get(pages::clients))
        .route("/clients/{id}", get(pages::card))
        .route("/overdue", get(ops::overdue))
        .route("/health", get(ops::health))
        .route("/review", get(admin::queue))
        .route("/admin/link", axum::routing::post(admin::link))
        .route("/admin/unlink", axum::routing::post(admin::unlink))
        .route("/flows", get(flows::flows))
        .route("/admin/conflicts/resolve", axum::routing::post(flows::resolve))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", axum::routing::post(signin::signout))
        .route("/lang/{code}", get(signin::switch_language))
        .route("/static/app.css", get(|| asset("text/css; charset=utf-8", include_str!("assets/app.css"))))
        .route("/static/app.js", get(|| asset("text/javascript; charset=utf-8", include_str!("assets/app.js"))))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Who is looking, in which language. Pages take it as an extractor: a visitor without
/// a valid sign-in is sent to `/signin` and comes back afterwards.
#[derive(Debug, Clone)]
pub(super) struct Viewer {
    lang: Lang,
    /// Whether the server has tokens (so there is a sign-out).
    tokens: bool,
    /// The path and query, for the language switch and sign-in to return to.
    here: String,
    /// What the signed-in person may do (admins see the review queue and the forms).
    role: Role,
}

impl FromRequestParts<ServerState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Self::Rejection> {
        let here = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        let asked = query_param(parts.uri.query(), "lang");
        let lang = Lang::negotiate(asked.as_deref(), &parts.headers);
        match state.auth().role_of(&parts.headers) {
            Ok(role) => Ok(Viewer { lang, tokens: !state.auth().is_open(), here, role }),
            Err(_) => Err(Redirect::to(&format!("/signin?next={}", encode(&here))).into_response()),
        }
    }
}

/// One query parameter's decoded value.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `text` as a query value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A local path to return to (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/clients".to_string(),
    }
}

/// Which tab is lit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nav {
    Clients,
    Overdue,
    Health,
    Review,
    Flows,
    None,
}

/// The page shell: header with navigation, zone, language switch and sign-out.
fn page(v: &Viewer, time: &ViewTime, title: &str, nav: Nav, body: &Markup) -> Response {
    let t = v.lang.t();
    let tab = |target: Nav, href: &str, label: &str| {
        html! { a.on[nav == target] href=(href) { (label) } }
    };
    let switch = |lang: Lang, label: &str| {
        html! { a.on[v.lang == lang] href={ "/lang/" (lang.code()) "?next=" (encode(&v.here)) } hreflang=(lang.code()) { (label) } }
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(v.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · zveno" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header.top { div.bar {
                    a.brand href="/clients" { "zv" span { "eno" } }
                    nav {
                        (tab(Nav::Clients, "/clients", t.clients))
                        (tab(Nav::Overdue, "/overdue", t.overdue))
                        (tab(Nav::Health, "/health", t.health))
                        @if v.role == Role::Admin {
                            (tab(Nav::Review, "/review", t.review))
                            (tab(Nav::Flows, "/flows", t.write_back))
                        }
                    }
                    div.right {
                        span title=(time.zone.name()) { (t.times_in) " " (time.now.with_timezone(&time.zone).format("%Z")) }
                        span.lang { (switch(Lang::En, "EN")) " " (switch(Lang::Ru, "RU")) }
                        @if v.tokens {
                            form method="post" action="/signout" style="margin:0" {
                                button style="padding:4px 10px;background:#374151" { (t.sign_out) }
                            }
                        }
                    }
                } }
                main { (body) }
                footer { "zveno " (crate::VERSION) }
                script src="/static/app.js" defer {}
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page saying something is missing, with a 404.
fn not_found(v: &Viewer, time: &ViewTime, message: &str) -> Response {
    let t = v.lang.t();
    let body = html! { div.card { p { (message) } a href="/clients" { (t.back) } } };
    (StatusCode::NOT_FOUND, page(v, time, message, Nav::None, &body)).into_response()
}

/// The vendor's pill for a connector name.
fn system_pill(connector: &str) -> Markup {
    html! { span.pill { (connector) } }
}
