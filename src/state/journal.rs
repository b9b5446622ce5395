//! The state's journal: what an apply records, appended to `<state>.journal`
//! one line per group commit, so that making a change durable costs the size
//! of the change, not the size of the whole state.
//!
//! Each line is one JSON object, `{"lineage", "serial", "set"}`, where `set`
//! maps each changed address to its new record (`null`: removed). Serials
//! count on from the state file's, one per line. The state is the state file
//! with the lines of higher serial applied in order:
//!
//! - a last line without its newline was being written when the run stopped
//!   and was never acknowledged to anyone: it is ignored;
//! - lines at or below the state file's serial were folded into it by a
//!   whole write that stopped before it removed the journal: they are
//!   skipped;
//! - anything else out of order, or of another lineage, is refused.
//!
//! The journal is folded into the state file (one whole, atomic write, see
//! [`super::file`]) when it outgrows it, at the end of every apply, and by
//! every whole write, so outside an apply there is normally none.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StateError;
use super::model::{ResourceState, State};
use crate::manifest::Address;

/// The changes of one commit: each address and its record, `None` if removed.
pub type Changes = BTreeMap<Address, Option<ResourceState>>;

#[derive(Serialize)]
struct Line<'a> {
    lineage: Uuid,
    serial: u64,
    set: &'a Changes,
}

#[derive(Deserialize)]
struct Entry<S> {
    lineage: Uuid,
    serial: u64,
    set: S,
}

/// The journal of one state file, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// The state file it belongs to.
    state: PathBuf,
    file: fs::File,
    lineage: Uuid,
    /// The serial of the last line on disk (or of the state file).
    serial: u64,
    /// Bytes on disk and acknowledged.
    len: u64,
    /// Bytes of the state file it belongs to.
    base_len: u64,
}

impl Journal {
    /// Starts an empty journal for the state file `state`, of `lineage` at
    /// `serial` and `base_len` bytes. The caller has checked there is none.
    pub(super) fn create(
        state: &Path,
        lineage: Uuid,
        serial: u64,
        base_len: u64,
    ) -> Result<Self, StateError> {
        let path = super::file::sibling(state, ".journal");
        let failed = |op| {
            let path = path.clone();
            move |source| StateError::AppendFailed { op, path, source }
        };
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(failed("could not create"))?;
        super::file::set_private(&file).map_err(failed("could not restrict the permissions of"))?;
        super::file::sync_dir(&super::file::dir_of(&path))
            .map_err(failed("could not flush the directory of"))?;
        Ok(Journal {
            path,
            state: state.to_path_buf(),
            file,
            lineage,
            serial,
            len: 0,
            base_len,
        })
    }

    /// Whether the journal has outgrown its state file (and `at_least`
    /// bytes), so that folding it in costs less than it saves.
    pub fn outgrown(&self, at_least: u64) -> bool {
        self.len > self.base_len.max(at_least)
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `changes` as the next serial and returns once it is on disk.
    /// On failure what was written of the line is cut off again (best
    /// effort: a torn last line is ignored when read anyway).
    pub fn append(&mut self, changes: &Changes) -> Result<u64, StateError> {
        let serial = super::file::next_serial(self.serial, &self.state)?;
        let mut line = serde_json::to_vec(&Line {
            lineage: self.lineage,
            serial,
            set: changes,
        })
        .map_err(|err| StateError::Unserialisable {
            path: self.path.clone(),
            message: err.to_string(),
        })?;
        line.push(b'\n');
        match fs::metadata(&self.path) {
            Ok(meta) if meta.len() == self.len => {}
            _ => {
                return Err(StateError::JournalChanged {
                    path: self.path.clone(),
                });
            }
        }
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Should the cut fail too, a whole line may stay: it records a
            // change that was made, which the next run reads as done.
            let _ = self.file.set_len(self.len);
            return Err(StateError::AppendFailed {
                op: "could not append to",
                path: self.path.clone(),
                source,
            });
        }
        self.len += line.len() as u64;
        self.serial = serial;
        Ok(serial)
    }
}

/// Applies the journal `bytes` (read from `path`) to `state`, which was read
/// from the state file.
pub(super) fn replay(state: &mut State, bytes: &[u8], path: &Path) -> Result<(), StateError> {
    for (serial, changes) in entries::<Changes>(bytes, path, state.lineage, state.serial)? {
        for (address, record) in changes {
            match record {
                Some(record) => state.resources.insert(address, record),
                None => state.resources.remove(&address),
            };
        }
        state.serial = serial;
    }
    Ok(())
}

/// The serial the journal `bytes` brings a state file of `lineage` at
/// `serial` to, reading no more of each line than its serial.
pub(super) fn last_serial(
    bytes: &[u8],
    path: &Path,
    lineage: Uuid,
    serial: u64,
) -> Result<u64, StateError> {
    Ok(entries::<IgnoredAny>(bytes, path, lineage, serial)?
        .last()
        .map_or(serial, |(serial, _)| *serial))
}

/// The complete lines past `serial`, checked to be of `lineage` and in
/// sequence.
fn entries<S: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    lineage: Uuid,
    mut serial: u64,
) -> Result<Vec<(u64, S)>, StateError> {
    let corrupt = |number: usize, message: String| StateError::CorruptJournal {
        path: path.to_path_buf(),
        line: number,
        message,
    };
    let mut found = Vec::new();
    // Every line but a torn last one ends with a newline.
    let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
        return Ok(found);
    };
    for (index, text) in bytes[..end].split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let entry: Entry<S> =
            serde_json::from_slice(text).map_err(|err| corrupt(number, err.to_string()))?;
        if entry.lineage != lineage {
            return Err(corrupt(
                number,
                format!(
                    "it belongs to state lineage {}, the state file to {lineage}",
                    entry.lineage
                ),
            ));
        }
        if entry.serial <= serial && found.is_empty() {
            continue;
        }
        if Some(entry.serial) != serial.checked_add(1) {
            return Err(corrupt(
                number,
                format!("serial {} follows serial {serial}", entry.serial),
            ));
        }
        serial = entry.serial;
        found.push((serial, entry.set));
    }
    Ok(found)
}
