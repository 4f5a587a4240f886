//! [`Connect`]: a vendor's connector pointed at its simulator, built the way the daemon
//! builds it (through the vendor's registry entry: options parsed, every problem checked,
//! secrets read from an environment), so harnesses and tests never bypass validation and
//! no vendor crate repeats the context plumbing.

use std::sync::Arc;

use serde_json::Value;
use zveno_connector::factory::VendorEntry;
use zveno_connector::http::HttpOptions;
use zveno_connector::{BuildContext, Clock, Connector, Env};

/// A connector build against a simulator: context and vendor options, adjusted step by step.
#[derive(Debug)]
pub struct Connect {
    ctx: BuildContext,
    options: Value,
}

impl Connect {
    /// A connector named `name` on `clock` with vendor `options`, calling `base_url` (`None`:
    /// the vendor finds its simulator from the options, as Bitrix24's webhook URL does).
    pub fn new(name: &str, clock: Arc<dyn Clock>, base_url: Option<&str>, options: Value) -> Self {
        let mut ctx = BuildContext::new(name, clock);
        ctx.base_url = base_url.and_then(|u| url::Url::parse(u).ok());
        Self { ctx, options }
    }

    /// The secret the options reference (`token_env = var`), holding `value`.
    pub fn secret(mut self, var: &str, value: &str) -> Self {
        self.ctx.env = Env::from_pairs([(var, value)]);
        self
    }

    /// Timeouts and retries.
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.ctx.http = http;
        self
    }

    /// Vendor options merged over the ones given so far (`extra` must be an object).
    pub fn options(mut self, extra: &Value) -> Self {
        if let (Some(all), Some(extra)) = (self.options.as_object_mut(), extra.as_object()) {
            all.extend(extra.clone());
        }
        self
    }

    /// Anything else, on the context and the options.
    pub fn tune(mut self, tune: impl FnOnce(&mut BuildContext, &mut Value)) -> Self {
        tune(&mut self.ctx, &mut self.options);
        self
    }

    /// Validates and builds through `entry`; every config problem is in the error.
    pub fn build(self, entry: VendorEntry) -> Result<Arc<dyn Connector>, String> {
        entry.build_checked(&self.options, self.ctx)
    }

    /// [`Self::build`] for a harness's own config, which is a bug in the harness when it
    /// does not build: panics naming the vendor.
    pub fn must_build(self, entry: VendorEntry) -> Arc<dyn Connector> {
        let vendor = entry.vendor;
        match self.build(entry) {
            Ok(connector) => connector,
            Err(e) => panic!("the harness's own {vendor} config is invalid: {e}"),
        }
    }
}
