//! A connector's configuration fingerprint: has anything it runs on changed?
//!
//! A connector parked for bad credentials or a bad setting stays parked across restarts —
//! unless the operator changed something. The fingerprint covers the connector's whole
//! `[connectors.<name>]` table as validated (vendor, base URL, kinds, schedule, limits, HTTP
//! options, vendor options) *and the secrets it references*: the values of the variables its
//! `*_env` keys name and the contents of its `*_file` files, because rotating a token in an
//! `EnvironmentFile` is the usual fix for a 401 and changes nothing in the TOML. Secrets enter
//! only the SHA-256 input; the fingerprint stored is a hash of everything together, from
//! which no secret can be read back.

use sha2::{Digest, Sha256};
use zveno_connector::Env;

use super::ConnectorSpec;

impl ConnectorSpec {
    /// The fingerprint of this connector's configuration and referenced secrets (hex).
    pub fn fingerprint(&self, env: &Env) -> String {
        let mut settings = serde_json::json!({
            "name": self.name,
            "vendor": self.vendor.vendor,
            "base_url": self.base_url.as_ref().map(url::Url::as_str),
            "kinds": self.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "interval_secs": self.schedule.interval.as_secs(),
            "full_every_secs": self.schedule.full_every.as_secs(),
            "rate_limits": self.rate_limits,
            "http": self.http,
            "options": self.options,
        });
        // Added only when set, so configurations written before the key keep their
        // fingerprint (a changed fingerprint resumes a parked connector).
        if let (Some(every), Some(map)) = (self.schedule.census_every, settings.as_object_mut()) {
            map.insert("census_every_secs".into(), every.as_secs().into());
        }
        let mut hash = Sha256::new();
        // serde_json maps are sorted, so equal settings give equal text.
        hash.update(settings.to_string().as_bytes());
        if let Some(options) = self.options.as_object() {
            for (key, value) in options {
                let Some(reference) = value.as_str() else { continue };
                let secret = if key.ends_with("_env") {
                    env.get(reference).map(|v| v.as_bytes().to_vec())
                } else if key.ends_with("_file") {
                    std::fs::read(reference).ok()
                } else {
                    continue;
                };
                hash.update(b"\0");
                hash.update(key.as_bytes());
                hash.update(b"\0");
                hash.update(secret.unwrap_or_default());
            }
        }
        hex::encode(&hash.finalize()[..16])
    }
}
