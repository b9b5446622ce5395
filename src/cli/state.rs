//! `entitle state list | show | rm | mv | lock | unlock | history |
//! rollback | prune | migrate`: look at and edit the state without touching
//! the APIs. The state holds what the servers named, so it is shown through
//! [`crate::escape`].

use std::fmt::Write as _;
use std::time::Duration;

use super::settings;
use super::{Exit, GlobalArgs, confirm, output, runtime};
use crate::Error;
use crate::escape::{self, text as shown};
use crate::manifest::Address;
use crate::state::lock::{self, LockStatus};
use crate::state::migrate::{self, Migrated};
use crate::state::postgres::HistoryEntry;
use crate::state::{Backend, State, StateLock, Store};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle state list\n  entitle state show ArcserveLicense/backup-prod-web\n  entitle state mv ArcserveLicense/web ArcserveLicense/backup-web\n  entitle state history --limit 20\n  entitle state rollback 41\n  entitle state migrate --to postgres://ci@db.internal:5432/entitle"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Every address in the state, with its remote id and status.
    List {
        /// As it was at this serial (PostgreSQL backends keep every serial).
        #[arg(long)]
        serial: Option<u64>,
    },
    /// One record as JSON, or without an address the whole state.
    Show {
        /// The record to show, e.g. ArcserveLicense/backup-prod-web.
        address: Option<Address>,
        /// As it was at this serial (PostgreSQL backends keep every serial).
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Stop managing a resource; the object stays on the server.
    Rm {
        /// The address to forget, e.g. ArcserveLicense/backup-prod-web.
        address: Address,
    },
    /// Rename an address, keeping its object.
    Mv {
        /// The address as the state has it.
        from: Address,
        /// The new address, of the same kind.
        to: Address,
    },
    /// Who holds the state's locks (every workspace's, in PostgreSQL).
    Lock,
    /// Remove the lock file a dead run left behind (file backend).
    Unlock {
        /// Do not ask.
        #[arg(long)]
        force: bool,
    },
    /// Every serial kept, newest first: when, who, what changed.
    History {
        /// At most this many serials.
        #[arg(long)]
        limit: Option<u64>,
        /// text for a terminal, json for tools.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
        format: HistoryFormat,
    },
    /// Make the state what it was at SERIAL again, as a new serial (the
    /// history is never rewritten).
    Rollback {
        /// The serial to go back to (`entitle state history` lists them).
        serial: u64,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
    },
    /// Delete the history but the KEEP newest serials.
    Prune {
        /// How many serials to keep (at least 1).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        keep: u64,
    },
    /// Copy the state, with its lineage, serial and history, to another
    /// backend or workspace.
    Migrate {
        /// The backend to copy to: file:PATH or postgres://USER@HOST:PORT/DATABASE.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The workspace to copy to [default: the one copied from]; made if
        /// it is not there.
        #[arg(long, value_name = "NAME")]
        to_workspace: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    runtime()?.block_on(async {
        let store = settings::store(global).await?;
        let timeout = global.lock_timeout;
        match args.command {
            StateCommand::List { serial } => list(&read(&store, serial).await?),
            StateCommand::Show { address, serial } => {
                show(&store, &read(&store, serial).await?, address.as_ref())
            }
            StateCommand::Rm { address } => rm(&store, &address, timeout).await,
            StateCommand::Mv { from, to } => mv(&store, &from, &to, timeout).await,
            StateCommand::Lock => locks(&store).await,
            StateCommand::Unlock { force } => unlock(&store, force),
            StateCommand::History { limit, format } => history(&store, limit, format).await,
            StateCommand::Rollback {
                serial,
                auto_approve,
            } => rollback(&store, serial, auto_approve, timeout).await,
            StateCommand::Prune { keep } => prune(&store, keep, timeout).await,
            StateCommand::Migrate { to, to_workspace } => {
                let to_workspace = to_workspace.unwrap_or_else(|| store.workspace().to_string());
                migrate_to(&store, &to, &to_workspace, timeout).await
            }
        }
    })
}

/// The state now, or as it was at `serial`.
async fn read(store: &Store, serial: Option<u64>) -> Result<State, Error> {
    Ok(match serial {
        Some(serial) => store.state_at(serial).await?,
        None => store.load_or_new().await?,
    })
}

fn list(state: &State) -> Result<Exit, Error> {
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
    Ok(Exit::Success)
}

fn show(store: &Store, state: &State, address: Option<&Address>) -> Result<Exit, Error> {
    let value = match address {
        Some(address) => {
            let record = state
                .get(address)
                .ok_or_else(|| not_found(address, store))?;
            serde_json::json!(record)
        }
        None => serde_json::json!(state),
    };
    output::println(escape::json_pretty(&value))?;
    Ok(Exit::Success)
}

async fn rm(store: &Store, address: &Address, timeout: Duration) -> Result<Exit, Error> {
    let lock = store.lock("state rm", timeout).await?;
    let mut state = store.load_or_new().await?;
    if state.resources.remove(address).is_none() {
        return Err(not_found(address, store));
    }
    store
        .write(&mut state, &format!("state rm {address}"))
        .await?;
    lock.release().await?;
    output::println(format_args!(
        "Removed {} from the state; the object on the server is untouched.",
        shown(&address.to_string())
    ))?;
    Ok(Exit::Success)
}

async fn mv(store: &Store, from: &Address, to: &Address, timeout: Duration) -> Result<Exit, Error> {
    if from.kind != to.kind {
        return Err(Error::usage(
            format!(
                "cannot move {from} to {to} in {}: the kinds differ",
                store.describe()
            ),
            "an address can only be renamed within its kind",
        ));
    }
    let lock = store.lock("state mv", timeout).await?;
    let mut state = store.load_or_new().await?;
    if state.get(to).is_some() {
        return Err(Error::usage(
            format!("{to} is already in the state {}", store.describe()),
            format!("`entitle state rm {to}` first"),
        ));
    }
    let record = state
        .resources
        .remove(from)
        .ok_or_else(|| not_found(from, store))?;
    state.resources.insert(to.clone(), record);
    store
        .write(&mut state, &format!("state mv {from} {to}"))
        .await?;
    lock.release().await?;
    output::println(format_args!(
        "Moved {} to {}.",
        shown(&from.to_string()),
        shown(&to.to_string())
    ))?;
    Ok(Exit::Success)
}

async fn locks(store: &Store) -> Result<Exit, Error> {
    let held = store.locks().await?;
    if held.is_empty() {
        output::println("No workspace is locked.")?;
        return Ok(Exit::Success);
    }
    let mut text = String::new();
    for entry in held {
        let who = entry
            .info
            .map_or_else(|| "(no details yet)".to_string(), |info| info.to_string());
        let stale = if entry.stale {
            " (stale: its run is gone and the lock no longer holds; `entitle state unlock` removes the file)"
        } else {
            ""
        };
        let _ = writeln!(text, "{}\t{}{stale}", shown(&entry.workspace), shown(&who));
    }
    output::print(text)?;
    Ok(Exit::Success)
}

fn unlock(store: &Store, force: bool) -> Result<Exit, Error> {
    let Some(file) = store.file() else {
        output::println(
            "A PostgreSQL lock is released by the server the moment its holder's connection ends: there is no lock to remove by hand (`entitle state lock` lists the live ones).",
        )?;
        return Ok(Exit::Success);
    };
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

async fn history(store: &Store, limit: Option<u64>, format: HistoryFormat) -> Result<Exit, Error> {
    let entries = store.history(limit).await?;
    match format {
        HistoryFormat::Json => {
            output::println(escape::json_pretty(&serde_json::json!(entries)))?;
        }
        HistoryFormat::Text => output::print(history_text(&entries))?,
    }
    Ok(Exit::Success)
}

fn history_text(entries: &[HistoryEntry]) -> String {
    let mut text = String::from("SERIAL\tWHEN (UTC)\tWHO\tOPERATION\tCHANGES\n");
    for entry in entries {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}",
            entry.serial,
            entry.at,
            shown(&entry.who),
            shown(&entry.operation),
            shown(&changes_line(entry))
        );
    }
    text
}

/// `+2 ~1 -0: A, B, C and 1 more`.
fn changes_line(entry: &HistoryEntry) -> String {
    const SHOWN: usize = 3;
    let all: Vec<&String> = entry
        .added
        .iter()
        .chain(&entry.changed)
        .chain(&entry.removed)
        .collect();
    let mut line = format!(
        "+{} ~{} -{}",
        entry.added.len(),
        entry.changed.len(),
        entry.removed.len()
    );
    if !all.is_empty() {
        let names: Vec<&str> = all.iter().take(SHOWN).map(|a| a.as_str()).collect();
        let _ = write!(line, ": {}", names.join(", "));
        if all.len() > SHOWN {
            let _ = write!(line, " and {} more", all.len() - SHOWN);
        }
    }
    line
}

async fn rollback(
    store: &Store,
    serial: u64,
    auto_approve: bool,
    timeout: Duration,
) -> Result<Exit, Error> {
    let lock = store.lock("state rollback", timeout).await?;
    let current = store.load_or_new().await?;
    let mut target = store.state_at(serial).await?;
    let changes = crate::state::postgres::difference(&current.resources, &target.resources);
    if changes.is_empty() {
        output::println(format_args!(
            "The state at serial {} already holds what serial {serial} held; nothing to roll back.",
            current.serial
        ))?;
        return Ok(Exit::Success);
    }
    let mut text = format!(
        "Rolling {} back from serial {} to what serial {serial} held:\n",
        store.describe(),
        current.serial
    );
    for (address, record) in &changes {
        let sign = match (record, current.get(address)) {
            (None, _) => "-",
            (Some(_), Some(_)) => "~",
            (Some(_), None) => "+",
        };
        let _ = writeln!(text, "  {sign} {}", shown(&address.to_string()));
    }
    text.push_str(
        "The servers are not changed: objects made since are no longer managed (`entitle import` binds them again), objects deleted since are recreated by the next apply.\n",
    );
    output::print(text)?;
    if !auto_approve
        && !confirm(
            "\nRecord this as the state?",
            "pass --auto-approve to roll back without asking",
        )?
    {
        output::eprintln("Rollback cancelled.");
        return Ok(Exit::Error);
    }
    target.lineage = current.lineage;
    target.serial = current.serial;
    // The history keeps records only: what was orphaned stays orphaned.
    target.orphaned = current.orphaned;
    store
        .write(&mut target, &format!("state rollback {serial}"))
        .await?;
    lock.release().await?;
    output::println(format_args!(
        "Rolled back to serial {serial}'s records, as serial {}.",
        target.serial
    ))?;
    Ok(Exit::Success)
}

async fn prune(store: &Store, keep: u64, timeout: Duration) -> Result<Exit, Error> {
    let lock = store.lock("state prune", timeout).await?;
    let deleted = store.prune(keep).await?;
    lock.release().await?;
    output::println(format_args!(
        "Deleted {deleted} serial(s) of history; the {keep} newest are kept."
    ))?;
    Ok(Exit::Success)
}

async fn migrate_to(
    from: &Store,
    url: &str,
    workspace: &str,
    timeout: Duration,
) -> Result<Exit, Error> {
    let target = Backend::from_url_of(url, "--to")?;
    // Checked before the destination is made, so that a refusal leaves
    // nothing behind (checked again under the locks).
    migrate::source(from).await?;
    target.create_workspace(workspace).await?;
    let to = target.open(workspace).await?;
    if to.describe() == from.describe() {
        return Err(Error::usage(
            format!("{} is where the state already is", to.describe()),
            "name another backend (--to) or workspace (--to-workspace)",
        ));
    }
    let from_lock = from.lock("state migrate", timeout).await?;
    let to_lock = to.lock("state migrate", timeout).await?;
    let done = migrate::migrate(from, &to).await?;
    to_lock.release().await?;
    from_lock.release().await?;
    let message = match done {
        Migrated::Copied {
            serial,
            records,
            history,
        } => {
            let kept = match (history, &to) {
                (0, _) => String::new(),
                (n, Store::Postgres(_)) => format!(", with {n} serial(s) of history"),
                (n, Store::File(_)) => format!(
                    "; its {n} serial(s) of history stay in {} (a state file keeps none)",
                    from.describe()
                ),
            };
            format!(
                "Copied {} records at serial {serial} from {} to {}{kept}.",
                records,
                from.describe(),
                to.describe()
            )
        }
        Migrated::AlreadyThere { serial } => format!(
            "{} already holds this state at serial {serial}; nothing copied.",
            to.describe()
        ),
    };
    output::println(shown(&message))?;
    Ok(Exit::Success)
}

fn not_found(address: &Address, store: &Store) -> Error {
    Error::usage(
        format!("{address} is not in the state {}", store.describe()),
        "`entitle state list` shows the addresses it holds",
    )
}
