//! `zveno runs`: the run history.

use std::process::ExitCode;

use super::output;
use crate::store::Store;

pub(super) async fn run(store_url: &str, limit: u32, connector: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::connect(store_url).await?;
    store.migrate().await?;
    let runs = store.runs(limit, connector).await?;
    if json {
        output::json(&runs)?;
    } else {
        output::runs(&runs);
    }
    Ok(ExitCode::SUCCESS)
}
