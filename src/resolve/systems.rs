//! Which vendor each connector instance is, as resolution needs it: a survivorship
//! priority list and a tracker's hint (`<vendor>:123`) may name a vendor, while records carry
//! the instance name (`crm-eu`).

use std::collections::BTreeMap;

/// Connector instance → vendor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Systems {
    vendors: BTreeMap<String, String>,
}

impl Systems {
    /// From `(connector, vendor)` pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { vendors: pairs.into_iter().map(|(c, v)| (c.to_string(), v.to_string())).collect() }
    }

    /// The vendor of `connector`; a connector no longer configured is its own vendor.
    pub fn vendor_of(&self, connector: &str) -> String {
        self.vendors.get(connector).cloned().unwrap_or_else(|| connector.to_string())
    }

    /// The external id `reference` names in `connector`, read the way its vendor shows ids
    /// to people (the vendor entry's `record_id`); a connector of no known vendor reads it
    /// as it is.
    pub fn record_id(&self, connector: &str, reference: &str) -> Option<String> {
        match crate::registry::vendor(&self.vendor_of(connector)) {
            Some(entry) => (entry.record_id)(reference),
            None => zveno_connector::factory::plain_id(reference),
        }
    }

    /// The configured connectors a hint's system prefix names: by instance name or by
    /// vendor, case-insensitively (empty when it names none).
    pub fn connectors_named(&self, system: &str) -> Vec<String> {
        self.vendors
            .iter()
            .filter(|(c, v)| c.eq_ignore_ascii_case(system) || v.eq_ignore_ascii_case(system))
            .map(|(c, _)| c.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_connectors_by_instance_or_vendor() {
        let s = Systems::new([("crm-eu", "testvendor"), ("crm-us", "testvendor"), ("b24", "other")]);
        assert_eq!(s.connectors_named("TestVendor"), ["crm-eu", "crm-us"]);
        assert_eq!(s.connectors_named("b24"), ["b24"]);
        assert_eq!(s.vendor_of("b24"), "other");
        assert_eq!(s.vendor_of("gone"), "gone");
        assert!(s.connectors_named("unlisted").is_empty());
    }
}
