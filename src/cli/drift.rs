//! `entitle drift`: what changed outside entitle. Read-only.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, OutputFormat, runtime};
use crate::Error;
use crate::report::drift;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (for the tenants to look in).
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Exit 0 without drift, 2 with drift.
#[allow(clippy::print_stdout)]
pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let workspace = settings::workspace(global, paths_or_cwd(args.paths))?;
    let report = runtime()?.block_on(super::progress::refreshing(
        settings::show_progress(global),
        workspace.drift(),
    ))?;
    match args.format {
        super::OutputFormat::Text => print!("{}", drift::text(&report)),
        super::OutputFormat::Json => println!("{:#}", serde_json::json!(report)),
        super::OutputFormat::Markdown => print!("{}", drift::markdown(&report)),
    }
    Ok(if report.is_empty() {
        Exit::Success
    } else {
        Exit::Changes
    })
}
