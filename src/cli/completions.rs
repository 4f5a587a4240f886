//! `zveno completions SHELL` and `zveno man`: generated from the same clap definition the
//! binary parses with, so they never drift from the real flags.

use std::process::ExitCode;

use std::io::Write as _;

use clap::CommandFactory as _;

use super::Cli;

pub(super) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    // Generated into memory first: the generators panic on a failed write, and a closed
    // pipe must stay a quiet exit.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "zveno", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn man() -> anyhow::Result<ExitCode> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
