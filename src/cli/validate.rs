//! `entitle validate [PATH...]`: load and check manifests offline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Exit, output};
use crate::Error;
use crate::manifest;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle validate manifests/\n  entitle validate licenses.yaml redstor/"
)]
pub struct Args {
    /// Manifest files or directories (read recursively for *.yaml / *.yml).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let desired = manifest::load(&args.paths)?;
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
