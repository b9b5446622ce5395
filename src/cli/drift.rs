//! `entitle drift`: what changed outside entitle. Read-only.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, OutputFormat, output, runtime};
use crate::Error;
use crate::escape;
use crate::report::budget::Budget;
use crate::report::drift;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle drift manifests/\n  entitle drift manifests/ --format json --out markdown=drift.md"
)]
pub struct Args {
    /// Manifest files or directories (for the tenants to look in).
    pub paths: Vec<PathBuf>,
    /// text for a terminal, json for tools (README: Drift and watch; schemas/drift.json),
    /// markdown for a chat or an issue.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also write the report as FORMAT (text, json or markdown) to FILE,
    /// from the same refresh; repeatable: --out json=drift.json --out markdown=drift.md.
    #[arg(long = "out", value_name = "FORMAT=FILE", value_parser = parse_out)]
    pub outs: Vec<(OutputFormat, PathBuf)>,
    /// The most characters the Markdown may have (at least 1000); findings
    /// that do not fit are left out and counted.
    #[arg(long, value_name = "N", default_value_t = Budget::default(), value_parser = super::plan::parse_budget)]
    pub max_chars: Budget,
}

/// `FORMAT=FILE`.
fn parse_out(text: &str) -> Result<(OutputFormat, PathBuf), String> {
    use clap::ValueEnum;
    let (format, file) = text
        .split_once('=')
        .ok_or_else(|| "expected FORMAT=FILE, e.g. json=drift.json".to_string())?;
    let format = OutputFormat::from_str(format, true)
        .map_err(|_| format!("`{format}` is not a format: use text, json or markdown"))?;
    if file.is_empty() {
        return Err("the file after `=` is empty".into());
    }
    Ok((format, PathBuf::from(file)))
}

/// Exit 0 without drift, 2 with drift.
pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let report = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths_or_cwd(args.paths)).await?;
        super::progress::refreshing(settings::show_progress(global), workspace.drift()).await
    })?;
    for (format, file) in &args.outs {
        super::write_private(file, render(&report, *format, args.max_chars).as_bytes())?;
    }
    print_report(&report, args.format, args.max_chars)?;
    Ok(if report.is_empty() {
        Exit::Success
    } else {
        Exit::Changes
    })
}

fn print_report(
    report: &drift::DriftReport,
    format: OutputFormat,
    budget: Budget,
) -> Result<(), Error> {
    output::print(render(report, format, budget))
}

fn render(report: &drift::DriftReport, format: OutputFormat, budget: Budget) -> String {
    match format {
        OutputFormat::Text => drift::text(report),
        OutputFormat::Json => format!("{}\n", escape::json_pretty(&drift::json_value(report))),
        OutputFormat::Markdown => drift::markdown(report, budget),
    }
}

/// `plan --refresh-only`: the drift that `apply --refresh-only` would record.
pub fn refresh_only_plan(
    global: &GlobalArgs,
    paths: Vec<PathBuf>,
    format: OutputFormat,
    budget: Budget,
    detailed_exitcode: bool,
) -> Result<Exit, Error> {
    let report = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths).await?;
        let _lock = workspace.lock("plan").await?;
        super::progress::refreshing(settings::show_progress(global), workspace.drift()).await
    })?;
    print_report(&report, format, budget)?;
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
