//! `entitle workspace list | show | new | delete`: the states of one
//! backend, e.g. one per environment. `--workspace` (or
//! `ENTITLE_WORKSPACE`) picks the one a command works on.

use super::settings;
use super::{Exit, GlobalArgs, output, runtime};
use crate::Error;
use crate::escape::text as shown;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle workspace list\n  entitle workspace new staging\n  entitle --workspace staging plan manifests/\n  ENTITLE_WORKSPACE=staging entitle apply manifests/"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: WorkspaceCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkspaceCommand {
    /// Every workspace of the backend, with its serial and record count;
    /// `*` marks the one --workspace names.
    List,
    /// The workspace --workspace (or ENTITLE_WORKSPACE) names.
    Show,
    /// Make a workspace with an empty state.
    New {
        /// Letters, digits, `-`, `_` and `.`, e.g. `staging`.
        name: String,
    },
    /// Delete a workspace that manages nothing (the default one stays).
    Delete {
        /// The workspace to delete.
        name: String,
    },
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    if let WorkspaceCommand::Show = args.command {
        output::println(shown(&global.workspace))?;
        return Ok(Exit::Success);
    }
    let backend = settings::backend(global)?;
    runtime()?.block_on(async {
        match args.command {
            WorkspaceCommand::List => {
                let mut text = String::new();
                for workspace in backend.workspaces().await? {
                    let mark = if workspace.name == global.workspace { "*" } else { " " };
                    text.push_str(&format!(
                        "{mark} {}\tserial {}\t{} record(s)\n",
                        shown(&workspace.name),
                        workspace.serial,
                        workspace.resources
                    ));
                }
                output::print(text)?;
            }
            WorkspaceCommand::Show => {}
            WorkspaceCommand::New { name } => {
                if !backend.create_workspace(&name).await? {
                    return Err(Error::usage(
                        format!("workspace `{name}` already exists in {}", backend.shown()),
                        format!("use it with --workspace {name} (or ENTITLE_WORKSPACE={name})"),
                    ));
                }
                output::println(format_args!(
                    "Created workspace `{name}` in {}; use it with --workspace {name} (or ENTITLE_WORKSPACE={name}).",
                    backend.shown()
                ))?;
            }
            WorkspaceCommand::Delete { name } => {
                backend.delete_workspace(&name, global.lock_timeout).await?;
                output::println(format_args!(
                    "Deleted workspace `{name}` from {}.",
                    backend.shown()
                ))?;
            }
        }
        Ok(Exit::Success)
    })
}
