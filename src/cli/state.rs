//! `entitle state list | show | rm | mv | unlock`: look at and edit the
//! state without touching the APIs. The state holds what the servers
//! named, so it is shown through [`crate::escape`].

use std::fmt::Write as _;
use std::time::Duration;

use super::{Exit, GlobalArgs, confirm, output};
use crate::Error;
use crate::escape::{self, text as shown};
use crate::manifest::Address;
use crate::state::lock::{self, LockStatus};
use crate::state::{StateFile, StateLock};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Every address in the state, with its remote id and status.
    List,
    /// One record, as JSON.
    Show { address: Address },
    /// Stop managing a resource; the object stays on the server.
    Rm { address: Address },
    /// Rename an address, keeping its object.
    Mv { from: Address, to: Address },
    /// Remove the lock a dead run left behind.
    Unlock {
        /// Do not ask.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let file = StateFile::new(global.state.clone());
    match args.command {
        StateCommand::List => {
            let state = file.load_or_new()?;
            let mut list = String::new();
            for (address, record) in &state.resources {
                let remote_id = record.remote_id.as_deref().unwrap_or("-");
                let _ = writeln!(
                    list,
                    "{}\t{}\t{:?}",
                    shown(&address.to_string()),
                    shown(remote_id),
                    record.status
                );
            }
            output::print(list)?;
        }
        StateCommand::Show { address } => {
            let state = file.load_or_new()?;
            let record = state
                .get(&address)
                .ok_or_else(|| not_found(&address, &file))?;
            output::println(escape::json_pretty(&serde_json::json!(record)))?;
        }
        StateCommand::Rm { address } => {
            let _lock = StateLock::acquire(file.path(), "state rm", global.lock_timeout)?;
            let mut state = file.load_or_new()?;
            if state.resources.remove(&address).is_none() {
                return Err(not_found(&address, &file));
            }
            file.write(&mut state)?;
            output::println(format_args!(
                "Removed {} from the state; the object on the server is untouched.",
                shown(&address.to_string())
            ))?;
        }
        StateCommand::Mv { from, to } => {
            if from.kind != to.kind {
                return Err(Error::usage(
                    format!(
                        "cannot move {from} to {to} in {}: the kinds differ",
                        file.path().display()
                    ),
                    "an address can only be renamed within its kind",
                ));
            }
            let _lock = StateLock::acquire(file.path(), "state mv", global.lock_timeout)?;
            let mut state = file.load_or_new()?;
            if state.get(&to).is_some() {
                return Err(Error::usage(
                    format!("{to} is already in the state {}", file.path().display()),
                    format!("`entitle state rm {to}` first"),
                ));
            }
            let record = state
                .resources
                .remove(&from)
                .ok_or_else(|| not_found(&from, &file))?;
            state.resources.insert(to.clone(), record);
            file.write(&mut state)?;
            output::println(format_args!(
                "Moved {} to {}.",
                shown(&from.to_string()),
                shown(&to.to_string())
            ))?;
        }
        StateCommand::Unlock { force } => return unlock(&file, force),
    }
    Ok(Exit::Success)
}

fn unlock(file: &StateFile, force: bool) -> Result<Exit, Error> {
    let lock_file = lock::lock_path(file.path());
    match lock::inspect(file.path())? {
        LockStatus::Free => {
            output::println("The state is not locked.")?;
            Ok(Exit::Success)
        }
        LockStatus::Held(info) => Err(Error::usage(
            format!(
                "the lock {} is held by a live run: {}",
                lock_file.display(),
                info.map(|i| i.to_string())
                    .unwrap_or_else(|| "(no details)".into())
            ),
            "wait for it to finish or stop it; a live run's lock is never removed",
        )),
        LockStatus::Stale(info) => {
            let who = info
                .map(|i| shown(&i.to_string()).into_owned())
                .unwrap_or_else(|| "(no details)".into());
            let question = format!("Remove the lock {} left by {who}?", lock_file.display());
            let hint = format!(
                "pass --force to remove {} (no live run holds it)",
                lock_file.display()
            );
            if !force && !confirm(&question, &hint)? {
                output::println("Left the lock in place.")?;
                return Ok(Exit::Error);
            }
            lock::remove_stale(file.path())?;
            // Prove it is free now.
            drop(StateLock::acquire(
                file.path(),
                "state unlock",
                Duration::ZERO,
            )?);
            output::println(format_args!("Removed the lock left by {who}."))?;
            Ok(Exit::Success)
        }
    }
}

fn not_found(address: &Address, file: &StateFile) -> Error {
    Error::usage(
        format!("{address} is not in the state {}", file.path().display()),
        "`entitle state list` shows the addresses it holds",
    )
}
