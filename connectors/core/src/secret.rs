//! Secrets and their redaction.
//!
//! A [`Secret`] never prints itself: `Debug` shows `[REDACTED]`, and there is no `Display`.
//! Some vendors put the secret where it is easy to leak (Bitrix24's webhook secret is a path
//! segment of every URL), so the HTTP client also runs every URL and message it logs or
//! returns through a [`Redactor`] that knows the instance's secret strings.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

/// A credential read from an environment variable or a file.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value (trimmed of surrounding white space, as files often end with a
    /// newline).
    pub fn new(value: &str) -> Self {
        Self(SecretString::from(value.trim().to_string()))
    }

    /// The secret value, for putting on the wire. Never log what this returns.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Replaces known secret strings with `***` in text bound for logs or errors.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<Secret>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for these secrets. Secrets shorter than 4 characters are ignored: masking
    /// them would mangle ordinary text and they protect nothing.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let secrets = secrets.into_iter().filter(|s| s.expose().len() >= 4).collect();
        Self { secrets: Arc::new(secrets) }
    }

    /// `text` with every secret replaced by `***`, then every credential it visibly
    /// carries (URL passwords, `password=` pairs, JSON token fields: see
    /// [`crate::redact::redact_text`]).
    pub fn redact(&self, text: &str) -> String {
        let known = self.secrets.iter().fold(text.to_string(), |acc, s| acc.replace(s.expose(), "***"));
        crate::redact::redact_text(&known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-token\n");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn redactor_masks_secrets_inside_urls() {
        let r = Redactor::new([Secret::new("8g9l071eismy9q2l"), Secret::new("ab")]);
        assert_eq!(
            r.redact("https://x.portal.example/rest/1/8g9l071eismy9q2l/batch.json failed"),
            "https://x.portal.example/rest/1/***/batch.json failed"
        );
        assert_eq!(r.redact("abc"), "abc", "short secrets are not masked");
    }
}
