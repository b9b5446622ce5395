//! `entitle import ADDR REMOTE_ID [PATH...]`: bind a declared resource to an object
//! that already exists.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, output, runtime};
use crate::Error;
use crate::escape;
use crate::manifest::Address;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle import ArcserveLicense/backup-prod-web 0b7e9c1a-6f3d-4e2b-9a8c-1d2e3f4a5b6c manifests/\n  entitle import Proposal/hulft-file-transfer ORDER_ID manifests/"
)]
pub struct Args {
    /// The resource, e.g. ArcserveLicense/backup-prod-web.
    pub address: Address,
    /// The object's id on the server: a license's id, a proposal's
    /// OrderId, a Redstor company's or subscription's id.
    pub remote_id: String,
    /// Manifest files or directories [default: .], as for plan and apply.
    pub paths: Vec<PathBuf>,
    /// The manifests, the way earlier versions took them (the same as the
    /// paths after the id).
    #[arg(
        long = "manifests",
        value_name = "PATH",
        hide = true,
        conflicts_with = "paths"
    )]
    pub manifests: Vec<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let message = runtime()?.block_on(async {
        let paths = if args.manifests.is_empty() {
            args.paths
        } else {
            args.manifests
        };
        let workspace = settings::workspace(global, paths_or_cwd(paths)).await?;
        let _lock = workspace.lock("import").await?;
        workspace.import(&args.address, &args.remote_id).await
    })?;
    output::println(escape::text(&message))?;
    Ok(Exit::Success)
}
