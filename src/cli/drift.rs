//! `entitle drift`: what changed outside entitle. Read-only.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, OutputFormat, output, runtime};
use crate::Error;
use crate::escape;
use crate::report::drift;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (for the tenants to look in).
    pub paths: Vec<PathBuf>,
    /// text for a terminal, json for tools (README: the plan JSON format),
    /// markdown for a pull-request comment.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Exit 0 without drift, 2 with drift.
pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let report = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths_or_cwd(args.paths)).await?;
        super::progress::refreshing(settings::show_progress(global), workspace.drift()).await
    })?;
    print_report(&report, args.format)?;
    Ok(if report.is_empty() {
        Exit::Success
    } else {
        Exit::Changes
    })
}

fn print_report(report: &drift::DriftReport, format: OutputFormat) -> Result<(), Error> {
    match format {
        OutputFormat::Text => output::print(drift::text(report)),
        OutputFormat::Json => output::println(escape::json_pretty(&drift::json_value(report))),
        OutputFormat::Markdown => output::print(drift::markdown(report)),
    }
}

/// `plan --refresh-only`: the drift that `apply --refresh-only` would record.
pub fn refresh_only_plan(
    global: &GlobalArgs,
    paths: Vec<PathBuf>,
    format: OutputFormat,
    detailed_exitcode: bool,
) -> Result<Exit, Error> {
    let report = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths).await?;
        let _lock = workspace.lock("plan").await?;
        super::progress::refreshing(settings::show_progress(global), workspace.drift()).await
    })?;
    print_report(&report, format)?;
    let recordable = report.recordable();
    if recordable && format == OutputFormat::Text {
        output::println(
            "`entitle apply --refresh-only` records these changes in the state; nothing on the server changes.",
        )?;
    }
    Ok(if detailed_exitcode && recordable {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// `apply --refresh-only`: record the drift in the state.
pub fn refresh_only_apply(
    global: &GlobalArgs,
    paths: Vec<PathBuf>,
    auto_approve: bool,
) -> Result<Exit, Error> {
    let (report, touched) = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths).await?;
        let _lock = workspace.lock("apply").await?;
        workspace
            .accept_drift(|report| {
                output::print(drift::text(report))?;
                Ok(auto_approve
                    || super::confirm(
                        "\nRecord these changes in the state?",
                        "pass --auto-approve to record them without asking",
                    )?)
            })
            .await
    })?;
    if !report.recordable() {
        output::println("No drift to record.")?;
    } else {
        output::println(format_args!(
            "Recorded the drift of {touched} resource(s) in the state."
        ))?;
    }
    Ok(Exit::Success)
}
