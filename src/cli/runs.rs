//! `zveno runs`: the run history.

use std::process::ExitCode;

use chrono::Utc;

use super::store_open::open_existing;
use super::{connectors, output};
use crate::settings::ReadSettings;
use crate::view::ViewTime;

pub(super) async fn run(
    settings: &ReadSettings,
    limit: u32,
    connector: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(&settings.store_url).await?;
    let runs = store.runs(limit, connector).await?;
    if json {
        output::json(&runs)?;
    } else {
        output::runs(&runs, &ViewTime::new(settings.view.timezone, Utc::now()))?;
        let states = store.connector_states().await?;
        let notes = connectors::standing_notes(&states);
        if !notes.is_empty() {
            out!();
            for note in notes {
                out!("{note}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
