//! `entitle validate [PATH...]`: load and check manifests offline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{Exit, output};
use crate::Error;
use crate::escape;
use crate::manifest::{self, Desired, Diagnostics};
use crate::problem;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle validate manifests/\n  entitle validate licenses.yaml redstor/\n  entitle validate manifests/ --format github\n  entitle validate manifests/ --format json > problems.json\n  entitle validate manifests/ --format gitlab > codequality.json"
)]
pub struct Args {
    /// Manifest files or directories (read recursively for *.yaml / *.yml).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// text: problems on stderr, rustc-like; json: one versioned document
    /// on stdout (README: validate --format); github: one GitHub Actions
    /// `::error` workflow command per problem on stdout; gitlab: a GitLab
    /// Code Quality report on stdout (`[]` when valid). Exit 1 on problems
    /// in every format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

/// How `validate` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
    Github,
    Gitlab,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let loaded = manifest::load(&args.paths);
    match (args.format, loaded) {
        (ValidateFormat::Text, Ok(desired)) => print_counts(&desired),
        (ValidateFormat::Text, Err(diagnostics)) => Err(diagnostics.into()),
        (ValidateFormat::Json, loaded) => print_document(loaded.err().as_ref()),
        (ValidateFormat::Github, Ok(_)) => Ok(Exit::Success),
        (ValidateFormat::Github, Err(diagnostics)) => print_commands(&diagnostics),
        (ValidateFormat::Gitlab, loaded) => print_code_quality(loaded.err().as_ref()),
    }
}

fn print_counts(desired: &Desired) -> Result<Exit, Error> {
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    for resource in &desired.resources {
        *per_kind
            .entry(resource.address.kind.to_string())
            .or_default() += 1;
    }
    let counts: Vec<String> = per_kind
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    output::println(format_args!(
        "ok: {} resources are valid ({})",
        desired.resources.len(),
        counts.join(", ")
    ))?;
    Ok(Exit::Success)
}

/// The JSON document, valid or not.
fn print_document(diagnostics: Option<&Diagnostics>) -> Result<Exit, Error> {
    let problems = diagnostics.map(problem::of_diagnostics).unwrap_or_default();
    let document = problem::validate_document(&problems);
    output::println(escape::json_pretty(&document))?;
    Ok(exit_for(diagnostics.is_some()))
}

/// The Code Quality report, valid or not.
fn print_code_quality(diagnostics: Option<&Diagnostics>) -> Result<Exit, Error> {
    let problems = diagnostics.map(problem::of_diagnostics).unwrap_or_default();
    let report = problem::gitlab_code_quality(&problems);
    output::println(escape::json_pretty(&report))?;
    Ok(exit_for(diagnostics.is_some()))
}

fn print_commands(diagnostics: &Diagnostics) -> Result<Exit, Error> {
    for problem in problem::of_diagnostics(diagnostics) {
        output::println(problem.github_command())?;
    }
    Ok(exit_for(true))
}

fn exit_for(problems: bool) -> Exit {
    match problems {
        true => Exit::Error,
        false => Exit::Success,
    }
}
