//! `zveno tasks`: tasks across every tracker, each with its client — or listed as
//! unattached, with why, never left out.

use std::process::ExitCode;

use chrono::Utc;
use zveno_connector::TaskStatus;

use super::clients::open;
use super::output;
use super::view::{date, status_name, TaskView};
use crate::store::TaskFilter;

/// What `zveno tasks` filters on.
#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// Only open tasks past their due time.
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
    status: Option<TaskStatus>,
    /// Only tasks no client was found for.
    #[arg(long)]
    unattached: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_status(s: &str) -> Result<TaskStatus, String> {
    s.parse()
}

pub(super) async fn run(store_url: &str, args: TaskArgs) -> anyhow::Result<ExitCode> {
    let store = open(store_url).await?;
    let now = Utc::now();
    let filter = TaskFilter {
        overdue_at: args.overdue.then(|| now.timestamp_millis()),
        assignee: args.assignee,
        client_id: args.client,
        status: args.status,
        unattached: args.unattached,
    };
    let tasks: Vec<TaskView> = store.tasks(&filter).await?.iter().map(|t| TaskView::new(t, now)).collect();
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
                t.id.clone(),
                format!("{}{}", date(t.due), if t.overdue { " !" } else { "" }),
                status_name(t.status),
                t.assignee.clone().unwrap_or_else(|| "-".into()),
                client,
                t.title.clone(),
            ]
        })
        .collect();
    output::table(&["TASK", "DUE", "STATUS", "ASSIGNEE", "CLIENT", "TITLE"], &rows);
    let overdue = tasks.iter().filter(|t| t.overdue).count();
    let unattached = tasks.iter().filter(|t| t.client_id.is_none()).count();
    println!("{} task(s), {overdue} overdue (!), {unattached} unattached", tasks.len());
    Ok(ExitCode::SUCCESS)
}
