//! The command line. `anyhow` lives here, at the binary's edge, and nowhere below.
//!
//! Exit codes: 0 success, 1 a run or command failed, 2 the configuration is invalid. A
//! closed stdout (`zveno clients | head -1`) ends the command quietly with 0.

/// `writeln!` on stdout, returning the error (never panicking on a closed pipe).
macro_rules! out {
    () => {{
        use std::io::Write as _;
        writeln!(std::io::stdout())?
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod api_bench;
mod bench;
mod check;
mod clients;
mod completions;
mod connectors;
mod cost_bench;
mod demo;
mod flows;
mod hint;
mod link;
mod output;
mod resolve_bench;
mod runs;
mod sandbox;
mod serve;
mod store_open;
mod summary;
mod sync;
mod sync_bench;
mod tasks;
mod why;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::settings::{self, ConfigErrors, Settings};
use crate::telemetry::{self, LogFormat};
use zveno_connector::Env;

/// zveno: one picture of every client across your CRMs and trackers.
///
/// zveno pulls clients, contacts and tasks from HubSpot, Jira, Bitrix24 (and more) into
/// one store, on a schedule, surviving crashes and vendor throttling.
#[derive(Debug, Parser)]
#[command(name = "zveno", version = crate::VERSION, about, long_about)]
pub struct Cli {
    /// Config file (TOML), layered over the embedded default and under ZVENO__… variables.
    #[arg(long, global = true, env = "ZVENO_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Log level for zveno's own messages: error, warn, info, debug, trace (RUST_LOG
    /// overrides). Default: info; warn for `demo` and `bench`, which print their own progress.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config (every problem, with its path), reach the store, and check each
    /// connector's credentials without writing anything.
    Check {
        /// Only validate the config; make no connection.
        #[arg(long)]
        offline: bool,
    },
    /// Create or upgrade the store's tables.
    Migrate,
    /// Sync now: each connector's kinds, one run each, then exit.
    Sync {
        /// Run once and exit (the only mode; `zveno run` is the daemon).
        #[arg(long)]
        once: bool,
        /// Only this connector.
        #[arg(long, value_name = "NAME")]
        connector: Option<String>,
        /// Full scans (which also detect deletes) instead of incremental runs.
        #[arg(long)]
        full: bool,
        /// Print the run summaries as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run history: started, finished, status, pages, records, API calls, throttled, errors.
    Runs {
        /// How many runs, newest first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Only this connector.
        #[arg(long, value_name = "NAME")]
        connector: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The daemon: every connector on its schedule until SIGINT/SIGTERM, which stop after
    /// the current page is committed.
    Run,
    /// Each connector's standing: active, deferred (throttled or backing off, with the next
    /// run) or parked (credentials or configuration wrong, or a crash), and why.
    Connectors {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Act on one connector.
    Connector {
        #[command(subcommand)]
        action: ConnectorAction,
    },
    /// Deletions the id census found: release one held for an operator.
    Census {
        #[command(subcommand)]
        action: CensusAction,
    },
    /// Act on a connector's cursors.
    Cursor {
        #[command(subcommand)]
        action: CursorAction,
    },
    /// The unified client list: one line per real client, whatever systems it lives in.
    Clients {
        /// Only clients whose name (in either script), domain, e-mail, phone or tax id
        /// contains this text.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only clients this person owns.
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One client's card: golden fields and where each came from, every source record with
    /// its link and why it belongs, contacts, and open and overdue tasks across trackers.
    Client {
        /// The client's id, from `zveno clients`.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Tasks across trackers, each with its client (or listed as unattached, with why).
    Tasks(tasks::TaskArgs),
    /// Declare two records one client (or one contact); every later run keeps them together.
    ///
    /// Records are `connector:kind:external_id` (`crm:client:512`, `crm:contact:77`)
    /// or, for clients, `connector:external_id` (`crm:512`), as `zveno client <id>`
    /// lists them.
    Link(Pair),
    /// Take a record out of its client (or contact): it stands alone, and no automatic rule
    /// joins it to anything again until `zveno link` does. Same record syntax as `link`.
    Unlink {
        /// The record.
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Why two records are, or are not, one client (or contact): each rule tried, the
    /// score, the veto that stopped it. Same record syntax as `link`.
    Why(Pair),
    /// Borderline pairs for a person to confirm with `link` or `unlink`: clients whose
    /// names agree but were kept apart, and records joined on their name alone.
    Review {
        /// At most this many pairs, most likely first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resolve identities now (syncs do this themselves); `--full` re-resolves everything,
    /// e.g. after changing `[reconcile]`.
    Resolve {
        /// Re-resolve the whole store, not only what changed.
        #[arg(long)]
        full: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Try zveno with no credentials: start simulated vendors seeded with a sample world,
    /// sync them into a local store, print a summary, and keep syncing until Ctrl-C.
    Demo(demo::DemoArgs),
    /// What the write-back flows (`[[flows]]`) would write: creates, updates and archives per
    /// target, field by field (before → after), conflicts and unmapped owners. Writes nothing.
    Plan {
        /// Only this flow.
        #[arg(long, value_name = "NAME")]
        flow: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply the write-back flows now: plan, persist each op in the outbox, write through
    /// the connectors, record each answer. Conflicts a flow leaves to a person are queued.
    ///
    /// Each flow is applied under its lease in the store, so a daemon and this command never
    /// send the same op: a flow another instance is applying is skipped with a message
    /// naming that instance, and the command exits with 75 (EX_TEMPFAIL, "try again later")
    /// unless an op failed (1). `--wait` waits for that instance's apply to end instead.
    Apply {
        /// Only this flow.
        #[arg(long, value_name = "NAME")]
        flow: Option<String>,
        /// Wait for another instance's apply of a flow to end instead of skipping it.
        #[arg(long)]
        wait: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fields changed on both sides that a flow left to a person (`on_conflict = "manual"`).
    Conflicts {
        #[command(subcommand)]
        action: Option<ConflictAction>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks that print measured figures.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// Print a shell completion script: `zveno completions bash > /etc/bash_completion.d/zveno`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `zveno man > /usr/local/share/man/man1/zveno.1`.
    Man,
}

/// `zveno connector ...`.
#[derive(Debug, Subcommand)]
pub enum ConnectorAction {
    /// Bring a parked (or deferred) connector back: the daemon runs it again within
    /// seconds. Fix what parked it first (see `zveno connectors`).
    Resume {
        /// The connector's name (`[connectors.<name>]`).
        name: String,
    },
}

/// `zveno census ...`.
#[derive(Debug, Subcommand)]
pub enum CensusAction {
    /// Tombstone the records a held census found gone. A census that would remove more
    /// than max(5% of a kind's live records, 50) waits for this (`zveno connectors` lists
    /// held ones): check first that the connector's token has not lost access.
    Approve {
        /// The connector's name (`[connectors.<name>]`).
        connector: String,
        /// `client`, `contact` or `task`.
        kind: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `zveno conflicts ...`.
#[derive(Debug, Subcommand)]
pub enum ConflictAction {
    /// Settle a conflict: the taken side's value is written to the other by the next apply.
    Resolve {
        /// The conflict's id, from `zveno conflicts`.
        id: i64,
        /// Which side's value wins.
        #[arg(long, value_enum)]
        take: Take,
    },
}

/// Which side of a conflict wins.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Take {
    /// The flow's source.
    Source,
    /// The flow's target.
    Target,
}

/// `zveno cursor ...`.
#[derive(Debug, Subcommand)]
pub enum CursorAction {
    /// Start a connector's kinds (or one kind) over from the beginning: the next run is a
    /// full scan from the first page, and the incremental stream starts again after it. A
    /// run in progress on another instance stops at its next page (its cursor moved).
    Reset {
        /// The connector's name (`[connectors.<name>]`).
        connector: String,
        /// Only this kind (`client`, `contact` or `task`).
        kind: Option<zveno_connector::Kind>,
    },
}

/// Two records, as `link` and `why` take them.
#[derive(Debug, clap::Args)]
pub struct Pair {
    /// The first record.
    #[arg(value_name = "SOURCE-A")]
    a: String,
    /// The second record.
    #[arg(value_name = "SOURCE-B")]
    b: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Parses arguments, runs the command, and maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet_by_default = matches!(cli.command, Command::Demo(_) | Command::Bench { .. });
    let level = cli.log_level.clone().unwrap_or_else(|| if quiet_by_default { "warn" } else { "info" }.to_string());
    telemetry::init(cli.log_format, &level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(config) = e.downcast_ref::<ConfigErrors>() {
                eprintln!("error: {config}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` is stdout closing under us (the reader of a pipe went away): not a failure.
fn closed_pipe(e: &anyhow::Error) -> bool {
    let broken = std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == broken)
            || c.downcast_ref::<serde_json::Error>().is_some_and(|j| j.io_error_kind() == Some(broken))
    })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let load = || -> anyhow::Result<Settings> { Ok(settings::load(cli.config.as_deref(), &env)?) };
    match cli.command {
        Command::Check { offline } => check::run(load, offline).await,
        Command::Migrate => sync::migrate(&settings::load_store_url(cli.config.as_deref(), &env)?).await,
        Command::Sync { once: _, connector, full, json } => {
            sync::once(&load()?, connector.as_deref(), full, json).await
        }
        Command::Runs { limit, connector, json } => {
            runs::run(&settings::load_read(cli.config.as_deref(), &env)?, limit, connector.as_deref(), json).await
        }
        Command::Run => serve::daemon(&load()?).await,
        Command::Connectors { json } => {
            connectors::list(&settings::load_resolution(cli.config.as_deref(), &env)?, json).await
        }
        Command::Connector { action: ConnectorAction::Resume { name } } => {
            connectors::resume(&settings::load_resolution(cli.config.as_deref(), &env)?, &name).await
        }
        Command::Census { action: CensusAction::Approve { connector, kind, json } } => {
            link::approve_census(&settings::load_resolution(cli.config.as_deref(), &env)?, &connector, &kind, json)
                .await
        }
        Command::Cursor { action: CursorAction::Reset { connector, kind } } => {
            connectors::reset_cursor(&settings::load_resolution(cli.config.as_deref(), &env)?, &connector, kind).await
        }
        Command::Clients { search, owner, json } => {
            clients::list(&settings::load_read(cli.config.as_deref(), &env)?, search, owner, json).await
        }
        Command::Client { id, json } => {
            clients::card(&settings::load_read(cli.config.as_deref(), &env)?, &id, json).await
        }
        Command::Tasks(args) => tasks::run(&settings::load_read(cli.config.as_deref(), &env)?, args).await,
        Command::Link(Pair { a, b, json }) => {
            link::link(&settings::load_resolution(cli.config.as_deref(), &env)?, &a, &b, json).await
        }
        Command::Unlink { source, json } => {
            link::unlink(&settings::load_resolution(cli.config.as_deref(), &env)?, &source, json).await
        }
        Command::Why(Pair { a, b, json }) => {
            why::why(&settings::load_read(cli.config.as_deref(), &env)?.store_url, &a, &b, json).await
        }
        Command::Review { limit, json } => {
            why::review(&settings::load_read(cli.config.as_deref(), &env)?.store_url, limit, json).await
        }
        Command::Resolve { full, json } => {
            link::resolve(&settings::load_resolution(cli.config.as_deref(), &env)?, full, json).await
        }
        Command::Demo(args) => demo::run(args, cli.config.as_deref(), &env).await,
        Command::Plan { flow, json } => flows::plan(&load()?, flow.as_deref(), json).await,
        Command::Apply { flow, wait, json } => flows::apply(&load()?, flow.as_deref(), wait, json).await,
        Command::Conflicts { action: None, json } => {
            flows::conflicts(&settings::load_read(cli.config.as_deref(), &env)?.store_url, json).await
        }
        Command::Conflicts { action: Some(ConflictAction::Resolve { id, take }), json: _ } => {
            let take = match take {
                Take::Source => "source",
                Take::Target => "target",
            };
            flows::resolve(&settings::load_read(cli.config.as_deref(), &env)?.store_url, id, take).await
        }
        Command::Bench { what } => bench::run(what).await,
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
    }
}
