//! `[server]` (where the HTTP service listens and who may call it) and `[view]` (how the
//! unified view shows time).
//!
//! Tokens are given by reference like every other secret (`read_token_env` or
//! `read_token_file`, `admin_token_env` or `admin_token_file`). Without a token the service
//! trusts whoever can reach it, so it may then only listen on a loopback address: a
//! `listen` beyond loopback without tokens is a config error, not a warning, because the
//! alternative is an open admin API on the network.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use chrono_tz::Tz;
use serde::Deserialize;
use zveno_connector::{ConfigProblem, Env, Secret, SecretRef};

/// Where the service listens by default: loopback, zveno's own port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9470";

/// `[server]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RawServer {
    /// `host:port` to listen on.
    pub listen: String,
    /// The address vendors and browsers reach the service by (HubSpot signs it).
    pub public_url: Option<String>,
    /// Read-only bearer token, from an environment variable…
    pub read_token_env: Option<String>,
    /// …or a file.
    pub read_token_file: Option<PathBuf>,
    /// Admin bearer token (may also read), from an environment variable…
    pub admin_token_env: Option<String>,
    /// …or a file.
    pub admin_token_file: Option<PathBuf>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            public_url: None,
            read_token_env: None,
            read_token_file: None,
            admin_token_env: None,
            admin_token_file: None,
        }
    }
}

/// `[view]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawView {
    /// IANA zone times are shown in and "overdue" is decided in (default: the machine's).
    pub timezone: Option<String>,
}

/// Validated `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The address to bind.
    pub listen: SocketAddr,
    /// The public base URL, when set.
    pub public_url: Option<url::Url>,
    /// Grants reading.
    pub read_token: Option<Secret>,
    /// Grants reading and admin actions.
    pub admin_token: Option<Secret>,
}

impl ServerSettings {
    /// Whether any token is configured (if not, everyone who can connect is an admin,
    /// which is why such a server only listens on loopback).
    pub fn open(&self) -> bool {
        self.read_token.is_none() && self.admin_token.is_none()
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 9470)), public_url: None, read_token: None, admin_token: None }
    }
}

/// Validated `[view]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewSettings {
    /// The zone times are shown in and days end in.
    pub timezone: Tz,
}

/// Validates `[server]`, adding every problem to `problems`.
pub fn validate_server(raw: &RawServer, env: &Env, problems: &mut Vec<ConfigProblem>) -> ServerSettings {
    let mut out = ServerSettings::default();
    match parse_listen(&raw.listen) {
        Ok(addr) => out.listen = addr,
        Err(e) => problems.push(ConfigProblem::new("server.listen", e)),
    }
    if let Some(u) = &raw.public_url {
        match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => out.public_url = Some(url),
            _ => problems.push(ConfigProblem::new("server.public_url", format!("{u:?} must be an http(s) URL"))),
        }
    }
    let token = |env_key: &Option<String>, file: &Option<PathBuf>, path: &str, problems: &mut Vec<ConfigProblem>| {
        if env_key.is_none() && file.is_none() {
            return None;
        }
        SecretRef::new(env_key.clone(), file.clone()).resolve(path, env).map_err(|p| problems.push(p)).ok()
    };
    out.read_token = token(&raw.read_token_env, &raw.read_token_file, "server.read_token", problems);
    out.admin_token = token(&raw.admin_token_env, &raw.admin_token_file, "server.admin_token", problems);
    let tokens_named = raw.read_token_env.is_some()
        || raw.read_token_file.is_some()
        || raw.admin_token_env.is_some()
        || raw.admin_token_file.is_some();
    if !out.listen.ip().is_loopback() && !tokens_named {
        problems.push(ConfigProblem::new(
            "server.listen",
            format!(
                "{} is beyond loopback but no token is set: name server.read_token_env (or _file) and \
                 server.admin_token_env (or _file), or listen on 127.0.0.1",
                out.listen
            ),
        ));
    }
    if let (Some(r), Some(a)) = (&out.read_token, &out.admin_token) {
        if r.expose() == a.expose() {
            problems.push(ConfigProblem::new("server.admin_token", "must differ from server.read_token"));
        }
    }
    out
}

/// `host:port`, where host may be a name (`localhost`) or an address.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut found = text.to_socket_addrs().map_err(|e| format!("{text:?} is not host:port ({e})"))?;
    found.next().ok_or_else(|| format!("{text:?} names no address"))
}

/// Validates `[view]`: the zone given, or `TZ`, or the machine's, or UTC.
pub fn validate_view(raw: &RawView, env: &Env, problems: &mut Vec<ConfigProblem>) -> ViewSettings {
    if let Some(name) = &raw.timezone {
        return match name.parse::<Tz>() {
            Ok(timezone) => ViewSettings { timezone },
            Err(_) => {
                problems.push(ConfigProblem::new(
                    "view.timezone",
                    format!("{name:?} is not an IANA time zone (e.g. \"Europe/Moscow\")"),
                ));
                ViewSettings { timezone: Tz::UTC }
            }
        };
    }
    ViewSettings { timezone: machine_zone(env) }
}

/// The machine's zone: `TZ` when it names one, else the system's setting, else UTC.
fn machine_zone(env: &Env) -> Tz {
    env.get("TZ")
        .map(|tz| tz.trim_start_matches(':'))
        .and_then(|tz| tz.parse::<Tz>().ok())
        .or_else(|| iana_time_zone::get_timezone().ok().and_then(|tz| tz.parse::<Tz>().ok()))
        .unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(raw: &RawServer, env: &Env) -> (ServerSettings, Vec<String>) {
        let mut problems = Vec::new();
        let s = validate_server(raw, env, &mut problems);
        (s, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_default_listens_on_loopback_without_tokens() {
        let (s, problems) = server(&RawServer::default(), &Env::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert!(s.open());
    }

    #[test]
    fn listening_beyond_loopback_without_a_token_is_a_config_error() {
        let raw = RawServer { listen: "0.0.0.0:9470".into(), ..RawServer::default() };
        let (_, problems) = server(&raw, &Env::default());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("server.listen: 0.0.0.0:9470 is beyond loopback but no token is set"));
    }

    #[test]
    fn tokens_come_by_reference_and_must_be_set() {
        let raw = RawServer {
            listen: "0.0.0.0:9470".into(),
            read_token_env: Some("ZV_READ".into()),
            admin_token_env: Some("ZV_ADMIN".into()),
            ..RawServer::default()
        };
        let (s, problems) = server(&raw, &Env::from_pairs([("ZV_READ", "r-token"), ("ZV_ADMIN", "a-token")]));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.read_token.map(|t| t.expose().to_string()), Some("r-token".into()));
        let (_, problems) = server(&raw, &Env::from_pairs([("ZV_READ", "r-token")]));
        assert_eq!(problems, vec!["server.admin_token_env: ZV_ADMIN is not set".to_string()]);
    }

    #[test]
    fn bad_listen_and_public_url_name_their_keys() {
        let raw = RawServer {
            listen: "nowhere".into(),
            public_url: Some("ftp://x".into()),
            read_token_env: Some("T".into()),
            admin_token_env: Some("T".into()),
            ..RawServer::default()
        };
        let (_, problems) = server(&raw, &Env::from_pairs([("T", "same")]));
        assert!(problems.iter().any(|p| p.starts_with("server.listen: \"nowhere\" is not host:port")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("server.public_url:")), "{problems:?}");
        assert!(problems.iter().any(|p| p == "server.admin_token: must differ from server.read_token"));
    }

    #[test]
    fn the_view_zone_is_the_configured_one_or_tz() {
        let mut problems = Vec::new();
        let raw = RawView { timezone: Some("Asia/Yekaterinburg".into()) };
        assert_eq!(validate_view(&raw, &Env::default(), &mut problems).timezone, chrono_tz::Asia::Yekaterinburg);
        let env = Env::from_pairs([("TZ", "Europe/Moscow")]);
        assert_eq!(validate_view(&RawView::default(), &env, &mut problems).timezone, chrono_tz::Europe::Moscow);
        assert!(problems.is_empty());
        validate_view(&RawView { timezone: Some("Mars/Olympus".into()) }, &env, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "view.timezone");
    }
}
