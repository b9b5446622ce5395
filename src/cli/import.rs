//! `entitle import ADDR REMOTE_ID`: bind a declared resource to an object
//! that already exists.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, output, runtime};
use crate::Error;
use crate::escape;
use crate::manifest::Address;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The resource, e.g. ArcserveLicense/backup-prod-web.
    pub address: Address,
    /// The object's id on the server: a license's id, a proposal's
    /// OrderId, a Redstor company's or subscription's id.
    pub remote_id: String,
    /// Manifest files or directories.
    #[arg(long = "manifests", default_value = ".")]
    pub paths: Vec<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let message = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths_or_cwd(args.paths)).await?;
        let _lock = workspace.lock("import").await?;
        workspace.import(&args.address, &args.remote_id).await
    })?;
    output::println(escape::text(&message))?;
    Ok(Exit::Success)
}
