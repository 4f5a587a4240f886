//! Signing in with a token (only when the server has tokens), signing out, and the
//! language switch — each answers with a cookie and a redirect back.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, DOCTYPE};
use serde::Deserialize;

use super::super::auth::SESSION_COOKIE;
use super::super::ServerState;
use super::i18n::LANG_COOKIE;
use super::{query_param, safe_next, Lang};

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct SignIn {
    token: String,
    next: Option<String>,
}

fn form_page(lang: Lang, next: &str, failed: bool) -> Html<String> {
    let t = lang.t();
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (t.sign_in) " · zveno" }
                    link rel="stylesheet" href="/static/app.css";
                }
                body { main {
                    form.signin.card method="post" action="/signin" {
                        h1 { "zveno" }
                        p.muted { (t.sign_in_intro) }
                        @if failed { p.error role="alert" { (t.bad_token) } }
                        label for="token" { (t.token) }
                        input id="token" type="password" name="token" autocomplete="current-password" required autofocus;
                        input type="hidden" name="next" value=(next);
                        button type="submit" { (t.sign_in) }
                    }
                } }
            }
        }
        .into_string(),
    )
}

/// `GET /signin?next=/path`.
pub(super) async fn form(uri: axum::http::Uri, headers: HeaderMap) -> Html<String> {
    let lang = Lang::negotiate(query_param(uri.query(), "lang").as_deref(), &headers);
    form_page(lang, &safe_next(query_param(uri.query(), "next").as_deref()), false)
}

/// `POST /signin`: a valid token sets the session cookie; anything else shows the form again.
pub(super) async fn submit(State(state): State<ServerState>, headers: HeaderMap, Form(f): Form<SignIn>) -> Response {
    let next = safe_next(f.next.as_deref());
    let session = state.auth().token_role(f.token.trim()).and_then(|role| state.auth().session_value(role));
    let Some(value) = session else {
        let lang = Lang::negotiate(None, &headers);
        return (StatusCode::UNAUTHORIZED, form_page(lang, &next, true)).into_response();
    };
    let secure = if state.0.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{secure}");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// `POST /signout`.
pub(super) async fn signout() -> Response {
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/signin")).into_response()
}

/// `GET /lang/{en|ru}?next=/path`: remembers the language and goes back.
pub(super) async fn switch_language(Path(code): Path<String>, uri: axum::http::Uri) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::En);
    let next = safe_next(query_param(uri.query(), "next").as_deref());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}
