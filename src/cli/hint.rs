//! One-line hints for the failures a new operator meets first: credentials the vendor
//! refuses (401/403) and an address that answers 404 (a wrong `base_url`).

use zveno_connector::{ConnectorError, ErrorKind};

/// `error` and, for an auth failure or a 404, what to check — on one line.
pub(super) fn connector(name: &str, error: &ConnectorError) -> String {
    match error.kind() {
        ErrorKind::Auth => format!(
            "{error} — hint: the vendor refused connectors.{name}'s credentials: is the token current, and does it \
             have the read scopes its README lists?"
        ),
        ErrorKind::NotFound => {
            format!("{error} — hint: nothing answers there; is connectors.{name}.base_url the right address?")
        }
        _ => error.to_string(),
    }
}
