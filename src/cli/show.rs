//! `entitle show PLANFILE`: a saved plan rendered again, as `plan` printed
//! it, with no refresh and no lock.

use std::path::PathBuf;

use super::{Exit, GlobalArgs, OutputFormat, output};
use crate::Error;
use crate::plan::render::markdown::default_title;
use crate::plan::saved::SavedPlan;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle plan manifests/ --out plan.json\n  entitle show plan.json\n  entitle show plan.json --format markdown > comment.md"
)]
pub struct Args {
    /// A plan file written by `entitle plan --out`.
    pub plan_file: PathBuf,
    /// text for a terminal, json for tools (README: the plan JSON format),
    /// markdown for a pull-request comment.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub markdown: super::plan::MarkdownArgs,
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let saved = SavedPlan::read(&args.plan_file)?;
    let markdown = args.markdown.options(|| {
        let workspace = saved
            .state_place
            .as_ref()
            .map_or(crate::state::DEFAULT_WORKSPACE, |p| p.workspace.as_str());
        default_title(workspace, &saved.manifest_paths)
    });
    output::print(super::plan::rendered(
        global,
        &saved.plan,
        args.format,
        &markdown,
    ))?;
    Ok(Exit::Success)
}
