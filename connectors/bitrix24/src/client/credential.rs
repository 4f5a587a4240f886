//! The inbound webhook: where requests go and what must never be printed.
//!
//! An inbound webhook URL `https://<portal>/rest/<user id>/<code>/` is the whole credential:
//! the code is a path segment of every request. So the parsed [`Webhook`] keeps the URL and
//! the code as [`Secret`]s and hands both to the HTTP client's redactor, which masks them in
//! every logged or returned URL and message.
//!
//! OAuth (1-hour access tokens sent as `auth=`, refreshed on `401 expired_token`) will plug in
//! beside this without touching callers: the connector only asks [`Webhook::method_url`] for a
//! method's URL and the HTTP client for an authenticator; an OAuth access would build URLs
//! from the token's `client_endpoint` and add `auth` in an `Authenticator` whose `refresh`
//! trades the refresh token.

use zveno_connector::Secret;

/// A parsed inbound webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The portal's origin as the webhook names it (`https://romashka.bitrix24.ru`), for deep
    /// links into the portal's UI.
    portal: url::Url,
    /// Where requests go: the portal, or the configured `base_url` (simulator, proxy).
    endpoint: url::Url,
    /// The user the webhook acts as.
    user_id: u64,
    /// The webhook code (the secret path segment).
    code: Secret,
    /// The whole URL, for redaction.
    url: Secret,
}

/// Hosts where plain HTTP is acceptable: the simulator and local proxies.
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => *d == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl Webhook {
    /// Parses the webhook URL. `base_url` (from config) replaces the origin requests go to.
    /// Errors describe the shape expected and never repeat the URL.
    pub fn parse(secret: &Secret, base_url: Option<&url::Url>) -> Result<Self, String> {
        const SHAPE: &str = "is not a Bitrix24 inbound webhook URL (expected https://<portal>/rest/<user id>/<code>/)";
        let url = url::Url::parse(secret.expose()).map_err(|_| SHAPE.to_string())?;
        let host = url.host().ok_or_else(|| SHAPE.to_string())?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err("must use https: Bitrix24 refuses plain HTTP (400 INVALID_REQUEST)".to_string()),
            _ => return Err(SHAPE.to_string()),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{SHAPE}; remove the query string"));
        }
        let segments: Vec<&str> =
            url.path_segments().map(|s| s.filter(|seg| !seg.is_empty()).collect()).unwrap_or_default();
        let (user, code) = match segments.as_slice() {
            ["rest", user, code] => (*user, *code),
            ["rest", _, _, _] => return Err(format!("{SHAPE}; remove the method name after the code")),
            _ => return Err(SHAPE.to_string()),
        };
        let user_id = user
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("{SHAPE}; the user id must be a number"))?;
        if code.len() < 4 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("{SHAPE}; the code must be letters and digits"));
        }
        let portal = origin(&url).ok_or_else(|| SHAPE.to_string())?;
        let endpoint = match base_url {
            Some(base) => base.clone(),
            None => portal.clone(),
        };
        Ok(Self { portal, endpoint, user_id, code: Secret::new(code), url: secret.clone() })
    }

    /// The URL of a REST method: `<endpoint>/rest/<user>/<code>/<method>.json`.
    pub fn method_url(&self, method: &str) -> url::Url {
        let mut url = self.endpoint.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}/rest/{}/{}/{method}.json", self.user_id, self.code.expose()));
        url
    }

    /// The portal's origin, for deep links.
    pub fn portal(&self) -> &url::Url {
        &self.portal
    }

    /// The user the webhook acts as (the default task assignee, the tasks UI path).
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// Strings the redactor must mask: the code first (so a logged URL keeps its host and
    /// method, `https://portal/rest/7/***/batch.json`), then the whole URL in case it shows
    /// up some other way.
    pub fn secrets(&self) -> Vec<Secret> {
        let trimmed = Secret::new(self.url.expose().trim_end_matches('/'));
        vec![self.code.clone(), self.url.clone(), trimmed]
    }
}

/// `scheme://host[:port]` of a URL, as a URL with an empty path.
fn origin(url: &url::Url) -> Option<url::Url> {
    let mut origin = url.clone();
    origin.set_path("");
    origin.set_query(None);
    origin.set_fragment(None);
    origin.set_username("").ok()?;
    origin.set_password(None).ok()?;
    Some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Webhook, String> {
        Webhook::parse(&Secret::new(raw), None)
    }

    #[test]
    fn a_webhook_url_gives_method_urls_on_the_portal() {
        let hook = parse("https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hook.user_id(), 7);
        assert_eq!(hook.portal().as_str(), "https://romashka.bitrix24.ru/");
        assert_eq!(
            hook.method_url("batch").as_str(),
            "https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/batch.json"
        );
    }

    #[test]
    fn a_base_url_redirects_requests_but_not_deep_links() {
        let base = url::Url::parse("http://127.0.0.1:8080/").ok();
        let hook = Webhook::parse(&Secret::new("https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l"), base.as_ref())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hook.method_url("user.get").as_str(), "http://127.0.0.1:8080/rest/7/8g9l071eismy9q2l/user.get.json");
        assert_eq!(hook.portal().as_str(), "https://romashka.bitrix24.ru/");
    }

    #[test]
    fn malformed_urls_are_refused_without_echoing_them() {
        for raw in [
            "romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/",
            "http://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/",
            "https://romashka.bitrix24.ru/rest/x/8g9l071eismy9q2l/",
            "https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/crm.company.list",
            "https://romashka.bitrix24.ru/rest/7/",
            "https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/?x=1",
        ] {
            match parse(raw) {
                Ok(_) => panic!("{raw} accepted"),
                Err(e) => assert!(!e.contains("8g9l071eismy9q2l"), "{e}"),
            }
        }
        assert!(parse("http://127.0.0.1:9/rest/1/abcd1234/").is_ok());
    }

    #[test]
    fn secrets_cover_the_url_with_and_without_slash_and_the_code() {
        let hook = parse("https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l/").unwrap_or_else(|e| panic!("{e}"));
        let redactor = zveno_connector::Redactor::new(hook.secrets());
        assert_eq!(
            redactor.redact("GET https://romashka.bitrix24.ru/rest/7/8g9l071eismy9q2l failed"),
            "GET https://romashka.bitrix24.ru/rest/7/*** failed"
        );
        assert_eq!(
            redactor.redact("http://127.0.0.1/rest/7/8g9l071eismy9q2l/batch.json"),
            "http://127.0.0.1/rest/7/***/batch.json"
        );
    }
}
