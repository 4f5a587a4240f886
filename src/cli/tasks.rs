//! `zveno tasks`: tasks across every tracker, each with its client — or listed as
//! unattached, with why, never left out.

use std::process::ExitCode;

use chrono::Utc;

use super::output::{self, alert};
use super::store_open::open_existing;
use crate::settings::ReadSettings;
use crate::view::{self, status_name, TaskQuery, ViewTime};

/// What `zveno tasks` filters on (the API's `/api/v1/tasks` takes the same names).
#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// Only open tasks past due ([view] timezone decides when a due date has ended).
    #[arg(long)]
    overdue: bool,
    /// Only tasks assigned to this person.
    #[arg(long, value_name = "EMAIL")]
    assignee: Option<String>,
    /// Only tasks of this client (an id from `zveno clients`).
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// Only tasks in this status: todo, in_progress, done or cancelled.
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    status: Option<String>,
    /// Only tasks no client was found for.
    #[arg(long)]
    unattached: bool,
    /// Only tasks nobody is assigned to.
    #[arg(long, conflicts_with = "assignee")]
    unassigned: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_status(s: &str) -> Result<String, String> {
    s.parse::<zveno_connector::TaskStatus>().map(|_| s.to_string())
}

pub(super) async fn run(settings: &ReadSettings, args: TaskArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&settings.store_url).await?;
    let time = ViewTime::new(settings.view.timezone, Utc::now());
    let query = TaskQuery {
        overdue: args.overdue,
        assignee: args.assignee,
        client: args.client,
        status: args.status,
        unattached: args.unattached,
        unassigned: args.unassigned,
        limit: None,
        cursor: None,
    };
    let tasks = view::query::tasks(&store, &query, &time, true).await?.items;
    if args.json {
        output::json(&tasks)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut ids: Vec<String> = tasks.iter().filter_map(|t| t.client_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let names = store.entity_names(&ids).await?;
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let client = match &t.client_id {
                Some(id) => format!("{id} {}", names.get(id).map_or("", String::as_str)),
                None => format!("unattached: {}", t.attached_by.detail),
            };
            vec![
                t.label().to_string(),
                format!("{}{}", time.due(t.due), if t.overdue { alert(" overdue") } else { String::new() }),
                status_name(t.status),
                t.assignee.clone().unwrap_or_else(|| "-".into()),
                client,
                t.title.clone(),
                t.sources.first().and_then(|s| s.url.clone()).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::table(&["TASK", &format!("DUE ({})", time.zone), "STATUS", "ASSIGNEE", "CLIENT", "TITLE", "LINK"], &rows)?;
    let overdue = tasks.iter().filter(|t| t.overdue).count();
    let unattached = tasks.iter().filter(|t| t.client_id.is_none()).count();
    out!("{} task(s), {overdue} overdue, {unattached} unattached", tasks.len());
    Ok(ExitCode::SUCCESS)
}
