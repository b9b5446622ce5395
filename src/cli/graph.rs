//! `entitle graph [PATH...]`: the manifests' dependency graph, offline.

use std::path::PathBuf;

use super::settings::paths_or_cwd;
use super::{Exit, output};
use crate::Error;
use crate::manifest;
use crate::report::graph;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle graph manifests/ --format mermaid\n  entitle graph manifests/ | dot -Tsvg > graph.svg"
)]
pub struct Args {
    /// Manifest files or directories.
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let desired = manifest::load(&paths_or_cwd(args.paths))?;
    let text = match args.format {
        GraphFormat::Dot => graph::dot(&desired),
        GraphFormat::Mermaid => graph::mermaid(&desired),
    };
    output::print(text)?;
    Ok(Exit::Success)
}
