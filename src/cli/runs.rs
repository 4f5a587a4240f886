//! `zveno runs`: the run history, then the connectors that do not run normally and why.

use std::process::ExitCode;

use super::{connectors, output};
use crate::store::Store;

pub(super) async fn run(store_url: &str, limit: u32, connector: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::connect(store_url).await?;
    store.migrate().await?;
    let runs = store.runs(limit, connector).await?;
    if json {
        output::json(&runs)?;
    } else {
        output::runs(&runs);
        let states = store.connector_states().await?;
        let notes = connectors::standing_notes(&states);
        if !notes.is_empty() {
            println!();
            for note in notes {
                println!("{note}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
