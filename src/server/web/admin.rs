//! What a signed-in admin does in the browser: the review queue (`/review`, the pairs
//! `zveno review` lists, each with the button that settles it) and the link/unlink forms
//! on the client card — the same decisions as `zveno link`/`unlink` and
//! `POST /api/v1/admin/…`, through [`crate::admin`].
//!
//! The forms post with the sign-in cookie, which is `SameSite=Strict`, so another site's
//! page cannot send it. A server without tokens has no cookie to protect it, so every form
//! post must also come from this site's own pages: a cross-site `Sec-Fetch-Site` or an
//! `Origin` naming another host is refused.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::super::api::resolver;
use super::super::auth::Role;
use super::super::error::ApiError;
use super::super::ServerState;
use super::{encode, page, Nav, Viewer};
use crate::admin;
use crate::resolve::review::{self, ReviewKind};

/// Review cases shown at most.
const REVIEW_SHOWN: usize = 100;

/// `POST /admin/link`: records `a` and `b` are one client.
#[derive(Debug, Deserialize)]
pub(super) struct LinkForm {
    a: String,
    b: String,
    next: Option<String>,
}

/// `POST /admin/unlink`: record `source` stands alone.
#[derive(Debug, Deserialize)]
pub(super) struct UnlinkForm {
    source: String,
    next: Option<String>,
}

/// `GET /review`.
pub(super) async fn queue(v: Viewer, State(state): State<ServerState>) -> Result<Response, ApiError> {
    let t = v.lang.t();
    let time = state.view_time();
    if v.role != Role::Admin {
        let body = html! { div.card { p.error role="alert" { (t.admins_only) } } };
        return Ok((StatusCode::FORBIDDEN, page(&v, &time, t.review, Nav::Review, &body)).into_response());
    }
    let items = review::review(state.store(), REVIEW_SHOWN).await?;
    let body = html! {
        h1 { (t.review) }
        p.sub { (t.review_intro) }
        div.card {
            @if items.is_empty() { p.empty { (t.no_review) } }
            @else {
                table.stack id="review" {
                    thead { tr { th { (t.kind) } th { (t.client) } th { (t.client) } th { (t.why) } th {} } }
                    tbody {
                        @for item in &items {
                            tr {
                                td data-label=(t.kind) { (t.review_kind(item.kind)) " " span.muted { (format!("{:.2}", item.score)) } }
                                @for side in [&item.a, &item.b] {
                                    td data-label=(t.client) {
                                        a href={ "/clients/" (side.client) } { (side.client_name) }
                                        br; span.mono.muted { (side.record) " · " (side.record_name) }
                                    }
                                }
                                td data-label=(t.why) { (item.why) }
                                td {
                                    @match item.kind {
                                        ReviewKind::NamesAgreeApart => form method="post" action="/admin/link" {
                                            input type="hidden" name="a" value=(item.a.record);
                                            input type="hidden" name="b" value=(item.b.record);
                                            input type="hidden" name="next" value="/review";
                                            button type="submit" { (t.link) }
                                        },
                                        ReviewKind::JoinedOnName => form method="post" action="/admin/unlink" {
                                            input type="hidden" name="source" value=(item.a.record);
                                            input type="hidden" name="next" value="/review";
                                            button type="submit" { (t.unlink) }
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, &time, t.review, Nav::Review, &body))
}

/// `POST /admin/link`.
pub(super) async fn link(
    v: Viewer,
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(f): Form<LinkForm>,
) -> Response {
    decide(&v, &state, &headers, f.next.as_deref(), async {
        let resolver = resolver(&state)?;
        admin::link(resolver, &f.a, &f.b).await.map(|d| described(&d)).map_err(ApiError::from)
    })
    .await
}

/// `POST /admin/unlink`.
pub(super) async fn unlink(
    v: Viewer,
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(f): Form<UnlinkForm>,
) -> Response {
    decide(&v, &state, &headers, f.next.as_deref(), async {
        let resolver = resolver(&state)?;
        admin::unlink(resolver, &f.source).await.map(|d| described(&d)).map_err(ApiError::from)
    })
    .await
}

/// An identity decision, for the log.
fn described(d: &admin::Decision) -> String {
    format!("{} {}", d.action, d.records.join(" "))
}

/// Checks the caller (an admin, on this site's own page), runs `decision` (which says what
/// it did, for the log), and goes back to `next`, or shows why it failed.
pub(super) async fn decide<F>(
    v: &Viewer,
    state: &ServerState,
    headers: &HeaderMap,
    next: Option<&str>,
    decision: F,
) -> Response
where
    F: std::future::Future<Output = Result<String, ApiError>>,
{
    let t = v.lang.t();
    let refused = if v.role != Role::Admin {
        Some(ApiError::Forbidden(t.admins_only.to_string()))
    } else if !same_site(headers) {
        Some(ApiError::Forbidden("a form from another site cannot act here".to_string()))
    } else {
        None
    };
    let result = match refused {
        Some(e) => Err(e),
        None => decision.await,
    };
    match result {
        Ok(what) => {
            tracing::info!(decision = %what, "decided in the web view");
            Redirect::to(&super::safe_next(next)).into_response()
        }
        Err(e) => {
            let time = state.view_time();
            let back = super::safe_next(next);
            let body = html! {
                div.card {
                    h1 { (t.decision_failed) }
                    p.error role="alert" { (e.to_string()) }
                    a href=(back) { (t.back) }
                }
            };
            (e.status(), page(v, &time, t.decision_failed, Nav::None, &body)).into_response()
        }
    }
}

/// Whether a form post comes from this site's own pages: no cross-site `Sec-Fetch-Site`,
/// and an `Origin`, when sent, naming the host the request was sent to.
fn same_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| !matches!(s, "same-origin" | "none")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = url::Url::parse(origin).ok().map(|u| match u.port() {
        Some(port) => format!("{}:{port}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    });
    origin_host.is_some() && origin_host.as_deref() == host
}

/// The link form the card shows admins under the client's records.
pub(super) fn link_form(v: &Viewer, client_id: &str, anchor: Option<&str>) -> maud::Markup {
    let t = v.lang.t();
    html! {
        @if let (Role::Admin, Some(anchor)) = (v.role, anchor) {
            form.inline method="post" action="/admin/link" {
                label for="link-b" { (t.link_record) }
                input type="hidden" name="a" value=(anchor);
                input id="link-b" name="b" placeholder=(t.link_record_hint) required;
                input type="hidden" name="next" value={ "/clients/" (encode(client_id)) };
                button type="submit" { (t.link) }
            }
        }
    }
}

/// The unlink button beside one of the card's records, for admins.
pub(super) fn unlink_button(v: &Viewer, client_id: &str, source: &str) -> maud::Markup {
    html! {
        @if v.role == Role::Admin {
            form.inline method="post" action="/admin/unlink" {
                input type="hidden" name="source" value=(source);
                input type="hidden" name="next" value={ "/clients/" (encode(client_id)) };
                button.quiet type="submit" { (v.lang.t().unlink) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap_or_else(|e| panic!("{v}: {e}")));
        }
        h
    }

    #[test]
    fn only_this_sites_own_pages_may_post_decisions() {
        assert!(same_site(&headers(&[("host", "127.0.0.1:9470")])));
        assert!(same_site(&headers(&[("host", "127.0.0.1:9470"), ("origin", "http://127.0.0.1:9470")])));
        assert!(same_site(&headers(&[("host", "zveno.acme.ru"), ("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("host", "127.0.0.1:9470"), ("origin", "https://evil.example")])));
        assert!(!same_site(&headers(&[("host", "127.0.0.1:9470"), ("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[("host", "127.0.0.1:9470"), ("origin", "null")])));
    }
}
