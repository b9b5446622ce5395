//! `entitle completions SHELL`: shell completions, generated from the same
//! clap definitions as the help text.

use clap::CommandFactory;

use super::{Cli, Exit, output};
use crate::Error;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle completions bash > /etc/bash_completion.d/entitle\n  entitle completions zsh > ~/.zfunc/_entitle"
)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "entitle", &mut script);
    output::print(String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}
