//! The test vendor: a tiny vendor, connector and simulator both, that zveno's own engine
//! tests drive (and, until the real vendors land, `zveno demo`).
//!
//! It is deliberately boring where real vendors are quirky, so engine tests fail for engine
//! reasons, and complete where the engine needs coverage: keyset paging, a modified-since
//! filter with a `(updated_ms, id)` keyset, listed deletes, writes, bearer auth, a rolling
//! rate limit with `429` + `Retry-After`, and the kit's faults.
//!
//! The API (all requests need `Authorization: Bearer <token>`):
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /v1/me` | `{"id", "email", "account"}` — what `check()` reads |
//! | `GET /v1/{clients,contacts,tasks}?limit=N&after=<id>` | `{"items": [...], "next": <id> or null}`, by id |
//! | `…?updated_since=<ms>&after=<ms>:<id>` | by `(updated_ms, id)`, `updated_ms >= updated_since`; `next` is `"<ms>:<id>"` |
//! | `…?deleted=true` (same paging) | `{"items": [{"id", "deleted_ms"}], "next"}` |
//! | `POST /v1/{kind}/read` with `{"ids": [...]}` (≤ 100) | `{"items": [...], "missing": [ids]}` |
//! | `POST /v1/{kind}` | `201` with the created record |
//! | `PATCH /v1/{kind}/{id}` / `DELETE /v1/{kind}/{id}` | the record / `{"id", "deleted": true}`; `404` if absent |
//!
//! `limit` defaults to 100 and is clamped to 500. Over 100 requests in a rolling 10 s (or
//! after `throttle_next`) the answer is `429` with `Retry-After` in seconds; bad
//! credentials get `401`.

use crate::kit::SimulatorEntry;
use crate::world::{System, SystemProfile};

mod config;
mod connector;
mod harness;
mod mapping;
mod simulator;
mod store;
mod wire;

pub use config::{TestVendorConfig, TestVendorFactory};
pub use connector::TestVendorConnector;
pub use harness::{launch, TestVendorHarness, HARNESS_CLIENTS, HARNESS_PAGE_SIZE, TOKEN_ENV};
pub use simulator::{TestVendorSim, MAX_PAGE, MAX_READ, RATE_LIMIT};
pub use wire::{kind_path, path_kind};

/// The `vendor = "..."` name.
pub const VENDOR: &str = "testvendor";

/// How the test vendor's records look in a generated world.
pub const PROFILE: SystemProfile = SystemProfile {
    vendor: VENDOR,
    rank: 4,
    crm: true,
    tax_id_share: 0.6,
    latin_name_share: 0.2,
    latin_person_share: 0.0,
    company_ref_prefix: "",
};

/// The test vendor as a system of a generated world.
pub const SYSTEM: System = System::new(&PROFILE);

/// The test vendor's simulator, as the daemon's registry lists it.
pub fn simulator() -> SimulatorEntry {
    SimulatorEntry {
        system: SYSTEM,
        launch: |data, clock, seed| {
            Box::pin(async move { launch(&data, clock, seed).await.map(|(launched, _)| launched) })
        },
    }
}
