//! The one redactor for credentials inside free text: every URL, vendor body excerpt and
//! error message bound for a log line, an error or the `runs` table passes through
//! [`redact_text`] (the per-instance [`crate::Redactor`] calls it after masking the
//! instance's own secret strings).
//!
//! It masks, without parsing the text as anything in particular:
//!
//! - the password of a URL's user-info: `postgres://zveno:***@db/zveno`;
//! - the value of a `name=value` pair (a query string, a form body, a DSN) whose name says
//!   it is a credential: `?password=***`, `&access_token=***`;
//! - the string value of a JSON field with such a name: `"client_secret": "***"`.
//!
//! Names are matched without regard to case: `password`, `passwd`, `pwd`, `pass`, `secret`,
//! `token` (but not a pagination `…pagetoken`), `apikey`/`api_key`/`api-key`, `auth`,
//! `authorization`, `signature`, `sig`, and any name containing one of the longer ones
//! (`refresh_token`, `client_secret`, `hapikey`).

/// Where a masked value stops in `name=value` text.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '&' | ';' | '#' | '"' | '\'' | '<' | '>' | ',' | ')')
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether a field or parameter name says its value is a credential.
fn sensitive(name: &str) -> bool {
    const EXACT: [&str; 4] = ["pass", "pwd", "sig", "auth"];
    const CONTAINS: [&str; 8] = ["password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "signature"];
    let name = name.to_ascii_lowercase();
    if name.ends_with("pagetoken") {
        return false;
    }
    EXACT.contains(&name.as_str()) || name == "authorization" || CONTAINS.iter().any(|c| name.contains(c))
}

/// `text` with every credential it visibly carries replaced by `***`.
pub fn redact_text(text: &str) -> String {
    mask_pairs(&mask_user_info(text))
}

/// Masks the password of every `scheme://user:password@host` in `text`.
fn mask_user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '?' | '#'))
            .unwrap_or(after.len());
        let authority_end = after[..end].find('/').unwrap_or(end);
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
                rest = &after[authority_end..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Masks the values of sensitive `name=value` pairs and JSON string fields.
fn mask_pairs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_word(chars[i]) || (i > 0 && is_word(chars[i - 1])) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        out.push_str(&name);
        if !sensitive(&name) {
            continue;
        }
        if chars.get(i) == Some(&'=') {
            out.push('=');
            i += 1;
            let value_start = i;
            while i < chars.len() && !ends_value(chars[i]) {
                i += 1;
            }
            if i > value_start {
                out.push_str("***");
            }
        } else if start > 0 && chars[start - 1] == '"' && chars.get(i) == Some(&'"') {
            // A JSON key: `"name"  :  "value"`.
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if chars.get(j) != Some(&':') {
                continue;
            }
            j += 1;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                continue;
            }
            let mut k = j + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            out.extend(&chars[i..=j]);
            out.push_str("***");
            i = k.min(chars.len());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_in_user_info_and_query() {
        assert_eq!(redact_text("postgres://zveno:hunter2@db:5432/zveno"), "postgres://zveno:***@db:5432/zveno");
        assert_eq!(redact_text("postgres://zveno:p@ss@db/z"), "postgres://zveno:***@db/z");
        assert_eq!(
            redact_text("store postgres://db/zveno?user=z&password=hunter2&sslmode=require is down"),
            "store postgres://db/zveno?user=z&password=***&sslmode=require is down"
        );
        assert_eq!(redact_text("https://x.example/a?hapikey=abc123"), "https://x.example/a?hapikey=***");
        assert_eq!(redact_text("sqlite://data/zveno.db"), "sqlite://data/zveno.db");
        assert_eq!(redact_text("mailto user@host and https://u@h/p"), "mailto user@host and https://u@h/p");
    }

    #[test]
    fn json_credentials_are_masked_and_other_fields_kept() {
        let body = r#"{"access_token": "eyJhbG", "refresh_token":"r-1\"x", "name": "ACME", "nextPageToken": "p2"}"#;
        assert_eq!(
            redact_text(body),
            r#"{"access_token": "***", "refresh_token":"***", "name": "ACME", "nextPageToken": "p2"}"#
        );
        assert_eq!(redact_text(r#"{"Password":"x"}"#), r#"{"Password":"***"}"#);
        assert_eq!(redact_text(r#"{"token": 5}"#), r#"{"token": 5}"#, "only string values are credentials");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "HTTP 502 from GET https://api.hubapi.com/crm/v3/objects/companies?limit=100&after=42";
        assert_eq!(redact_text(text), text);
        assert_eq!(redact_text("passage=3 keyboard=qwerty"), "passage=3 keyboard=qwerty");
        assert_eq!(redact_text(""), "");
        assert_eq!(redact_text("unterminated {\"secret\": \"abc"), "unterminated {\"secret\": \"***");
    }
}
