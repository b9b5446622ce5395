//! The local state file: read, and written so that no failure loses it.
//!
//! A whole write goes to a temporary file in the same directory (mode 0600),
//! is flushed to disk, and renamed over the old file, and the directory is
//! flushed too; the previous content is kept as `<file>.backup` first. A crash
//! or a full disk at any point leaves either the old state or the new one,
//! never a torn file. A write is refused when the file on disk belongs to
//! another lineage or has moved past the serial the caller read.
//!
//! Reading opens the file first ([`StateFile::open`]: its header checked
//! and the kinds its records are of, from their keys alone), and parses
//! the records after ([`Unparsed::parse`]), so that a caller can start
//! from the kinds while they parse.
//!
//! An apply records its changes in the state's [journal](super::journal)
//! instead, and folds it into the file with a whole write; reading the state
//! reads both.

use crate::hint::HINT;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use uuid::Uuid;

use super::journal::{self, Journal};
use super::model::{FORMAT_VERSION, RecordedKinds, State};

/// Why the state could not be read or written. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "{path} does not exist, but its backup {backup} does: the state was lost or moved, and starting a new one would forget every object it manages{HINT}if the backup is this project's state, restore it: `cp {backup} {path}`; to start anew on purpose, move the backup away first"
    )]
    OnlyBackup { path: PathBuf, backup: PathBuf },

    #[error("{op} {path}: {source}{HINT}{}", io_hint(path, source))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A write failed earlier in this run: nothing more is recorded.
    #[error(
        "not recording in {place} after an earlier failure to write it ({first}){HINT}see the first failure above; the state is as last recorded"
    )]
    AfterFailure { place: String, first: String },

    #[error(transparent)]
    Postgres(#[from] super::postgres::PgError),

    #[error(
        "the file backend keeps no history of {path} (only the serial before the last write, in {path}.backup){HINT}keep the state in PostgreSQL for its history (`--backend postgres://…`, see `entitle state migrate`)"
    )]
    NoHistory { path: PathBuf },

    #[error(
        "{flag} is {shown}, which entitle cannot keep state in{HINT}use file:PATH for a state file, or postgres://USER@HOST:PORT/DATABASE for PostgreSQL"
    )]
    BadBackend { flag: &'static str, shown: String },

    #[error(
        "`{name}` is not a workspace name{HINT}use letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 64 characters"
    )]
    BadWorkspaceName { name: String },

    #[error(
        "there is no workspace `{workspace}` in {place}{}{HINT}create it with `entitle workspace new {workspace}`, or pick one of `entitle workspace list`",
        super::postgres::existing_list(existing)
    )]
    NoSuchWorkspace {
        place: String,
        workspace: String,
        existing: Vec<String>,
    },

    /// A new version could not be put in place; the old one is untouched.
    #[error(
        "{op} {path}: {source}; the state file on disk is still the previous version, unchanged{HINT}{}, then run again: entitle reads back what was done",
        io_hint(path, source)
    )]
    WriteFailed {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A change could not be added to the journal; what it held before is
    /// intact.
    #[error(
        "{op} {path}: {source}; the state is as last recorded (the state file and the journal's earlier lines){HINT}{}, then run again: entitle reads back what was done",
        io_hint(path, source)
    )]
    AppendFailed {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{path} changed while this run was writing it: another process is writing the state{HINT}make sure only one entitle runs against this state (they share its lock file), then run again"
    )]
    JournalChanged { path: PathBuf },

    #[error(
        "{path}, line {line}, is not a valid journal line: {message}{HINT}the lines before it are intact; cut the file before that line to keep them (what came after is then forgotten, and the next plan reads it back by name), or restore the state from a backup"
    )]
    CorruptJournal {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{path} is not a valid state file: {message}{HINT}{}", restore_hint(path, backup.as_deref()))]
    Corrupt {
        path: PathBuf,
        message: String,
        /// The backup beside it, when there is one.
        backup: Option<PathBuf>,
    },

    /// The state could not be turned into JSON: nothing was written.
    #[error(
        "could not write {path}: {message}{HINT}this is a bug in entitle, please report it; the state on disk is as last recorded"
    )]
    Unserialisable { path: PathBuf, message: String },

    /// The serial cannot grow: no more changes can be recorded.
    #[error(
        "{path} is at serial {serial}, at or near the largest a serial can be: no more changes can be recorded in it{HINT}entitle adds one per write, so this serial was set by hand; set `serial` in {path} to a small number (e.g. 1) and make any saved plan again"
    )]
    SerialExhausted { path: PathBuf, serial: u64 },

    #[error(
        "{path} has format version {found}, newer than this entitle reads ({FORMAT_VERSION}){HINT}upgrade entitle; an older one must not rewrite a newer state"
    )]
    NewerFormat { path: PathBuf, found: u32 },

    #[error(
        "{path} belongs to another state (lineage {on_disk}, this run has {ours}); refusing to overwrite it{HINT}point --state at the right file, or move that file away if it is really stale"
    )]
    LineageMismatch {
        path: PathBuf,
        on_disk: Uuid,
        ours: Uuid,
    },

    #[error(
        "{journal} is there but its state file {path} is not: the journal only holds changes on top of the state file{HINT}restore {path} (its backup, {path}.backup, if it is there) and run again; if the state is gone for good, move {journal} away too"
    )]
    JournalWithoutState { path: PathBuf, journal: PathBuf },

    #[error(
        "{path} was written by someone else since it was read (serial {on_disk}, expected {expected}){HINT}run the command again; it will start from the new state"
    )]
    Moved {
        path: PathBuf,
        on_disk: u64,
        expected: u64,
    },
}

/// Writes an apply is sure to need fewer of: one per group commit, and an
/// apply of every object a vendor allows makes far fewer.
const SERIAL_ROOM: u64 = 1 << 32;

/// The first fields of a state file, read before trusting the rest, and
/// what its `resources` tell before they are parsed: the kinds of their
/// keys (`RecordedKinds`), or nothing (`IgnoredAny`).
#[derive(Deserialize)]
#[serde(expecting = "a state: an object of format_version, lineage, serial and resources")]
struct Header<Resources = IgnoredAny> {
    format_version: u32,
    lineage: Uuid,
    serial: u64,
    #[serde(default)]
    resources: Resources,
}

/// A state file read and its header checked, its records not yet parsed.
pub struct Unparsed {
    file: StateFile,
    bytes: Vec<u8>,
    journal: Option<Vec<u8>>,
    /// The kinds of its records, when the header tells them (a journal may
    /// record more, so with a journal they wait for the records).
    pub kinds: Option<RecordedKinds>,
}

impl Unparsed {
    /// The state the file and its journal hold.
    pub fn parse(self) -> Result<State, StateError> {
        self.file.records(&self.bytes, self.journal.as_deref())
    }
}

/// A state file at a path.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<file>.backup`: the state before the last whole write.
    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    /// `<file>.journal`: changes recorded since the last whole write.
    pub fn journal_path(&self) -> PathBuf {
        sibling(&self.path, ".journal")
    }

    /// The state on disk (the file and its journal), or `None` when there is
    /// no file yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        self.open()?.map(Unparsed::parse).transpose()
    }

    /// The state file and its journal read, and the file's header checked,
    /// or `None` when there is no file yet; [`Unparsed::parse`] reads the
    /// records.
    pub fn open(&self) -> Result<Option<Unparsed>, StateError> {
        let journal_path = self.journal_path();
        let Some(bytes) = self.read(&self.path)? else {
            if journal_path.exists() {
                return Err(StateError::JournalWithoutState {
                    path: self.path.clone(),
                    journal: journal_path,
                });
            }
            let backup = self.backup_path();
            if backup.exists() {
                return Err(StateError::OnlyBackup {
                    path: self.path.clone(),
                    backup,
                });
            }
            return Ok(None);
        };
        let journal = self.read(&journal_path)?;
        let kinds = self.checked_header(&bytes)?;
        Ok(Some(Unparsed {
            file: self.clone(),
            bytes,
            kinds: kinds.filter(|_| journal.is_none()),
            journal,
        }))
    }

    /// The state the file `bytes` and its `journal` hold.
    fn parse(&self, bytes: &[u8], journal: Option<&[u8]>) -> Result<State, StateError> {
        self.checked_header(bytes)?;
        self.records(bytes, journal)
    }

    /// Refuses a header of a format this build does not read; the kinds of
    /// the records when the header is of this build's shape.
    fn checked_header(&self, bytes: &[u8]) -> Result<Option<RecordedKinds>, StateError> {
        let (header, kinds) = match self.header::<RecordedKinds>(bytes) {
            Ok(header) => (header.format_version, Some(header.resources)),
            // Another shape of `resources` (a newer format, a damaged file)
            // is told by the plain header or by the full reading.
            Err(_) => (self.header::<IgnoredAny>(bytes)?.format_version, None),
        };
        if header == 0 {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                message: "format_version 0 was never written by entitle (its formats start at 1)"
                    .to_string(),
                backup: Some(self.backup_path()).filter(|b| b.exists()),
            });
        }
        if header > FORMAT_VERSION {
            return Err(StateError::NewerFormat {
                path: self.path.clone(),
                found: header,
            });
        }
        Ok(kinds)
    }

    /// The records of a file whose header is checked, and its journal.
    fn records(&self, bytes: &[u8], journal: Option<&[u8]>) -> Result<State, StateError> {
        let mut state: State =
            serde_json::from_slice(without_bom(bytes)).map_err(|err| self.corrupt(&err))?;
        if let Some(journal) = journal {
            journal::replay(&mut state, journal, &self.journal_path())?;
        }
        Ok(state)
    }

    /// A journal to record the changes to `state` in, which must be what is
    /// on disk. `None` when the state must first be written whole: there is
    /// no state file yet, or a journal is left from an earlier run.
    pub fn open_journal(&self, lineage: Uuid, serial: u64) -> Result<Option<Journal>, StateError> {
        let path = self.journal_path();
        if path.exists() {
            return Ok(None);
        }
        let Some(bytes) = self.read(&self.path)? else {
            return Ok(None);
        };
        self.check_on_disk(&bytes, None, lineage, serial)?;
        Journal::create(&self.path, lineage, serial, bytes.len() as u64).map(Some)
    }

    /// Refuses to start an apply from `state` when its serial leaves no
    /// room to record what the apply does: every change made at a vendor
    /// is recorded, so a serial at (or near) its maximum is refused before
    /// anything is sent, not when the first change is to be recorded.
    pub fn check_room(&self, state: &State) -> Result<(), StateError> {
        if u64::MAX - state.serial < SERIAL_ROOM {
            return Err(StateError::SerialExhausted {
                path: self.path.clone(),
                serial: state.serial,
            });
        }
        Ok(())
    }

    /// The state on disk, or a new empty one.
    pub fn load_or_new(&self) -> Result<State, StateError> {
        Ok(self.load()?.unwrap_or_default())
    }

    /// Writes `state` as the next serial. On success `state.serial` is the
    /// serial now on disk; on failure the file on disk is unchanged.
    /// A journal left beside the file is folded in: `state` must include it
    /// (as [`StateFile::load`] reads it), and it is removed afterwards.
    pub fn write(&self, state: &mut State) -> Result<(), StateError> {
        state.settle_orphaned();
        let previous = match self.read(&self.path)? {
            Some(bytes) => {
                let journal = self.read(&self.journal_path())?;
                self.check_on_disk(&bytes, journal.as_deref(), state.lineage, state.serial)?;
                // The backup is the state as it was, journal included: the
                // file alone may be a whole apply behind.
                Some(match journal {
                    Some(journal) => self.serialise(&self.parse(&bytes, Some(&journal))?)?,
                    None => bytes,
                })
            }
            None => None,
        };
        let mut next = state.clone();
        next.format_version = FORMAT_VERSION;
        next.serial = next_serial(state.serial, &self.path)?;
        let text = self.serialise(&next)?;
        if let Some(bytes) = &previous {
            self.replace(&self.backup_path(), bytes)?;
        }
        self.replace(&self.path, &text)?;
        state.serial = next.serial;
        state.format_version = FORMAT_VERSION;
        // Its lines are now at or below the file's serial, so a journal that
        // could not be removed is skipped when read, and replaced by the next
        // apply.
        let _ = fs::remove_file(self.journal_path());
        Ok(())
    }

    /// Puts `state` in the file as it is, lineage and serial included (a
    /// state copied from another backend); the caller has checked that it
    /// may replace what is there. What was there is kept as the backup,
    /// and a journal beside it is folded in first.
    pub fn put(&self, state: &State) -> Result<(), StateError> {
        if let Some(bytes) = self.read(&self.path)? {
            let journal = self.read(&self.journal_path())?;
            let previous = match journal {
                Some(journal) => self.serialise(&self.parse(&bytes, Some(&journal))?)?,
                None => bytes,
            };
            self.replace(&self.backup_path(), &previous)?;
        }
        let mut next = state.clone();
        next.format_version = FORMAT_VERSION;
        self.replace(&self.path, &self.serialise(&next)?)?;
        let _ = fs::remove_file(self.journal_path());
        Ok(())
    }

    /// Refuses to go on from a state of `lineage` at `serial` unless the file
    /// `bytes` and its `journal` are that.
    fn check_on_disk(
        &self,
        bytes: &[u8],
        journal: Option<&[u8]>,
        lineage: Uuid,
        serial: u64,
    ) -> Result<(), StateError> {
        let header = self.header::<IgnoredAny>(bytes)?;
        if header.lineage != lineage {
            return Err(StateError::LineageMismatch {
                path: self.path.clone(),
                on_disk: header.lineage,
                ours: lineage,
            });
        }
        let on_disk = match journal {
            Some(journal) => {
                journal::last_serial(journal, &self.journal_path(), lineage, header.serial)?
            }
            None => header.serial,
        };
        if on_disk != serial {
            return Err(StateError::Moved {
                path: self.path.clone(),
                on_disk,
                expected: serial,
            });
        }
        Ok(())
    }

    /// The content of `path`, or `None` when there is no such file.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, StateError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                op: "could not read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Atomically replaces `target` with `bytes`: temp file, fsync, rename,
    /// fsync of the directory.
    fn replace(&self, target: &Path, bytes: &[u8]) -> Result<(), StateError> {
        let dir = dir_of(target);
        let io = |op: &'static str| {
            let path = target.to_path_buf();
            move |source: std::io::Error| StateError::WriteFailed { op, path, source }
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".entitle-state-")
            .tempfile_in(&dir)
            .map_err(io("could not create a temporary file beside"))?;
        set_private(temp.as_file()).map_err(io("could not restrict the permissions of"))?;
        // Through the file itself: tempfile's own writer adds the temporary
        // path to errors, and the message names the state file instead.
        temp.as_file_mut()
            .write_all(bytes)
            .map_err(io("could not write"))?;
        temp.as_file().sync_all().map_err(io("could not flush"))?;
        temp.persist(target)
            .map_err(|err| io("could not replace")(err.error))?;
        sync_dir(&dir).map_err(io("could not flush the directory of"))?;
        Ok(())
    }

    /// `state` as the file holds it: pretty JSON and a final newline.
    fn serialise(&self, state: &State) -> Result<Vec<u8>, StateError> {
        let mut text =
            serde_json::to_vec_pretty(state).map_err(|err| StateError::Unserialisable {
                path: self.path.clone(),
                message: err.to_string(),
            })?;
        text.push(b'\n');
        Ok(text)
    }

    fn header<Resources: for<'de> Deserialize<'de> + Default>(
        &self,
        bytes: &[u8],
    ) -> Result<Header<Resources>, StateError> {
        serde_json::from_slice(without_bom(bytes)).map_err(|err| self.corrupt(&err))
    }

    fn corrupt(&self, err: &serde_json::Error) -> StateError {
        let backup = self.backup_path();
        StateError::Corrupt {
            path: self.path.clone(),
            message: err.to_string(),
            backup: backup.exists().then_some(backup),
        }
    }
}

/// `bytes` without the UTF-8 byte order mark an editor may have put first
/// (entitle writes none; the next whole write drops it).
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The serial after `serial`, of the state file at `path`. Only a crafted
/// file comes near the end of the range, and it gets an error, not a wrap.
pub(super) fn next_serial(serial: u64, path: &Path) -> Result<u64, StateError> {
    serial
        .checked_add(1)
        .ok_or_else(|| StateError::SerialExhausted {
            path: path.to_path_buf(),
            serial,
        })
}

/// What to do about a state file that cannot be read as one: restore its
/// backup when there is one, else mend it or start over knowingly.
fn restore_hint(path: &Path, backup: Option<&Path>) -> String {
    let path = path.display();
    match backup {
        Some(backup) => format!(
            "the previous version is in {}; copy it back (`cp {} {path}`), or fix the file",
            backup.display(),
            backup.display()
        ),
        None => format!(
            "there is no backup beside it; fix the file (it is JSON), or restore it from where you keep copies; moving {path} away starts a new state that manages nothing (`entitle import` binds existing objects again)"
        ),
    }
}

/// What to do when a state file cannot be read or written, by what the
/// system said.
pub(super) fn io_hint(path: &Path, source: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let path = path.display();
    match source.kind() {
        ErrorKind::PermissionDenied => format!(
            "give this user read and write access to {path} and its directory, or point --state (or ENTITLE_STATE) at another file"
        ),
        ErrorKind::IsADirectory => format!(
            "{path} is a directory: move it away, or point --state (or ENTITLE_STATE) at the state file"
        ),
        ErrorKind::NotADirectory => format!(
            "a part of {path} that should be a directory is a file: point --state (or ENTITLE_STATE) at the state file"
        ),
        ErrorKind::NotFound => format!(
            "the directory of {path} does not exist: create it, or point --state (or ENTITLE_STATE) elsewhere"
        ),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => format!(
            "make room where {path} lives (free disk space, a quota, or a file-size limit such as `ulimit -f`)"
        ),
        ErrorKind::ReadOnlyFilesystem => format!(
            "{path} is on a read-only file system: point --state (or ENTITLE_STATE) at a writable place"
        ),
        _ => format!(
            "check that {path} is a regular file this user can read and write (a symbolic link may point nowhere or in a loop), or point --state (or ENTITLE_STATE) at the state file"
        ),
    }
}

/// The directory `path` is in.
pub(super) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(unix)]
pub(super) fn set_private(file: &fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
pub(super) fn set_private(_file: &fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{ResourceState, Scope, Status};

    fn license(name: &str) -> ResourceState {
        ResourceState {
            remote_id: Some(Uuid::new_v4().to_string()),
            scope: Scope {
                tenant_id: Some("3f6c2a9e81d04b7f9a5e2c1d0b8f7a61".into()),
                region: Some("jp1".into()),
                endpoint: None,
                company_id: None,
            },
            natural_key: name.into(),
            attributes: serde_json::json!({ "standaloneKeys": 1 }),
            dependencies: vec!["EclTenant/prod".into()],
            status: Status::Ready,
            lifecycle: Default::default(),
        }
    }

    #[test]
    fn a_written_state_reads_back_with_the_next_serial() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("entitle.state.json"));
        assert!(file.load().unwrap().is_none());
        let mut state = State::new();
        state
            .resources
            .insert("ArcserveLicense/a".into(), license("a"));
        file.write(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        file.write(&mut state).unwrap();
        assert_eq!(state.serial, 2);
        let read = file.load().unwrap().unwrap();
        assert_eq!(read, state);
        let backup: State = serde_json::from_slice(&fs::read(file.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_backup_without_its_state_is_refused_with_how_to_restore_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut state = State::new();
        file.write(&mut state).unwrap();
        file.write(&mut state).unwrap();
        fs::remove_file(file.path()).unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(
            err.contains("s.json does not exist, but its backup")
                && err.contains("cp ")
                && err.contains("s.json.backup"),
            "{err}"
        );
        assert!(file.load_or_new().is_err());
        fs::remove_file(file.backup_path()).unwrap();
        assert_eq!(file.load().unwrap(), None);
    }

    #[test]
    fn state_and_backup_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut state = State::new();
        file.write(&mut state).unwrap();
        file.write(&mut state).unwrap();
        for path in [file.path().to_path_buf(), file.backup_path()] {
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }

    #[test]
    fn another_lineage_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut first = State::new();
        file.write(&mut first).unwrap();
        let before = fs::read(file.path()).unwrap();
        let mut other = State::new();
        other.serial = first.serial;
        let err = file.write(&mut other).unwrap_err();
        assert!(matches!(err, StateError::LineageMismatch { .. }), "{err}");
        assert_eq!(fs::read(file.path()).unwrap(), before);
    }

    #[test]
    fn a_state_that_moved_on_disk_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut state = State::new();
        file.write(&mut state).unwrap();
        let mut stale = state.clone();
        file.write(&mut state).unwrap();
        let err = file.write(&mut stale).unwrap_err();
        assert!(
            matches!(
                err,
                StateError::Moved {
                    on_disk: 2,
                    expected: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn corrupt_and_newer_files_are_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        fs::write(file.path(), b"{\"format_version\": 1, \"lineage\": ").unwrap();
        let err = file.load().unwrap_err();
        assert!(err.to_string().contains("not a valid state file"), "{err}");
        assert!(err.to_string().contains("hint: "), "{err}");

        let mut newer = serde_json::to_value(State::new()).unwrap();
        newer["format_version"] = 99.into();
        fs::write(file.path(), newer.to_string()).unwrap();
        let err = file.load().unwrap_err();
        assert!(
            matches!(err, StateError::NewerFormat { found: 99, .. }),
            "{err}"
        );
    }

    #[test]
    fn opening_tells_the_kinds_recorded_before_the_records_are_parsed() {
        use crate::manifest::Kind;
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        assert!(file.open().unwrap().is_none());
        let mut state = State::new();
        state
            .resources
            .insert("ArcserveLicense/a".into(), license("a"));
        state
            .resources
            .insert("RedstorCompany/acme".into(), license("acme"));
        file.write(&mut state).unwrap();
        let opened = file.open().unwrap().unwrap();
        let kinds = opened.kinds.clone().unwrap();
        assert_eq!(kinds, RecordedKinds::of(&state));
        assert!(kinds.any(|kind| kind == Kind::RedstorCompany));
        assert!(!kinds.any(|kind| kind == Kind::Proposal));
        assert_eq!(opened.parse().unwrap(), state);

        // A key that is no address is left to the full reading to refuse.
        let mut odd = serde_json::to_value(&state).unwrap();
        odd["resources"]["Nonsense/x"] = odd["resources"]["ArcserveLicense/a"].clone();
        odd["resources"]["no-slash"] = odd["resources"]["ArcserveLicense/a"].clone();
        fs::write(file.path(), odd.to_string()).unwrap();
        let opened = file.open().unwrap().unwrap();
        assert_eq!(opened.kinds, Some(RecordedKinds::of(&state)));
        let err = opened.parse().unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn with_a_journal_the_kinds_wait_for_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = journaled(dir.path(), &["b"]);
        let opened = file.open().unwrap().unwrap();
        assert_eq!(opened.kinds, None, "a journal may record more kinds");
        assert_eq!(opened.parse().unwrap().resources.len(), 2);
    }

    #[test]
    fn a_newer_format_of_another_shape_is_told_as_newer() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let newer = serde_json::json!({
            "format_version": 2,
            "lineage": Uuid::new_v4(),
            "serial": 3,
            "resources": [{ "address": "ArcserveLicense/a" }],
        });
        fs::write(file.path(), newer.to_string()).unwrap();
        let err = file.open().err().unwrap();
        assert!(
            matches!(err, StateError::NewerFormat { found: 2, .. }),
            "{err}"
        );
        let mut this = newer;
        this["format_version"] = 1.into();
        fs::write(file.path(), this.to_string()).unwrap();
        let opened = file.open().unwrap().unwrap();
        assert_eq!(
            opened.kinds, None,
            "kinds unknown when `resources` is no map"
        );
        let err = opened.parse().unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    }

    /// Every path a message names, of those ending in `.backup`, exists:
    /// a hint never sends anyone to a backup that is not there.
    #[track_caller]
    fn assert_named_backups_exist(message: &str, dir: &Path) {
        for word in
            message.split(|c: char| c.is_whitespace() || matches!(c, '`' | ';' | ',' | '(' | ')'))
        {
            if word.ends_with(".backup") {
                let path = Path::new(word);
                assert!(
                    path.exists() || dir.join(path).exists(),
                    "{word} is named but does not exist:\n{message}"
                );
            }
        }
    }

    #[test]
    fn a_corrupt_state_names_its_backup_only_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        fs::write(file.path(), b"{\"format_version\": 1,").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("there is no backup beside it"), "{err}");
        assert_named_backups_exist(&err, dir.path());

        fs::write(file.backup_path(), b"{}").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("s.json.backup; copy it back"), "{err}");
        assert_named_backups_exist(&err, dir.path());
    }

    /// A change that cannot be recorded because the serial is at its end
    /// names the state file and how to go on, not a `.journal.backup`.
    #[test]
    fn a_record_failure_at_the_last_serial_names_the_state_not_a_journal_backup() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut state = State::new();
        file.write(&mut state).unwrap();
        let mut at_end = serde_json::to_value(&state).unwrap();
        at_end["serial"] = u64::MAX.into();
        fs::write(file.path(), at_end.to_string()).unwrap();
        let mut journal = file
            .open_journal(state.lineage, u64::MAX)
            .unwrap()
            .expect("a journal");
        let changes: journal::Changes = [("ArcserveLicense/a".into(), Some(license("a")))].into();
        let err = journal.append(&changes).unwrap_err();
        assert!(matches!(err, StateError::SerialExhausted { .. }), "{err}");
        let err = err.to_string();
        assert!(
            err.starts_with(&format!(
                "{} is at serial {}",
                file.path().display(),
                u64::MAX
            )),
            "{err}"
        );
        assert!(!err.contains(".journal.backup"), "{err}");
        assert!(err.contains("hint: "), "{err}");
        assert_named_backups_exist(&err, dir.path());
        assert_eq!(
            fs::read(file.journal_path()).unwrap(),
            b"",
            "nothing was appended"
        );
        assert!(file.check_room(&file.load().unwrap().unwrap()).is_err());
    }

    #[test]
    fn a_failed_write_leaves_the_previous_state_intact() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let mut state = State::new();
        file.write(&mut state).unwrap();
        let before = fs::read(file.path()).unwrap();
        // A directory where the backup goes makes the write fail midway,
        // even for root.
        fs::create_dir(file.backup_path()).unwrap();
        fs::write(file.backup_path().join("x"), b"x").unwrap();
        state
            .resources
            .insert("ArcserveLicense/a".into(), license("a"));
        let err = file.write(&mut state).unwrap_err();
        assert!(err.to_string().contains("s.json.backup"), "{err}");
        assert_eq!(state.serial, 1, "the serial moves only on success");
        assert_eq!(fs::read(file.path()).unwrap(), before);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".entitle-state-"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    /// A state file with one record and a journal of `lines` (as written).
    fn journaled(dir: &Path, lines: &[&str]) -> (StateFile, State) {
        let file = StateFile::new(dir.join("s.json"));
        let mut state = State::new();
        state
            .resources
            .insert("ArcserveLicense/a".into(), license("a"));
        file.write(&mut state).unwrap();
        let mut journal = Journal::create(file.path(), state.lineage, state.serial, 0).unwrap();
        for line in lines {
            let changes: journal::Changes = match *line {
                "-a" => [("ArcserveLicense/a".into(), None)].into(),
                name => [(
                    format!("ArcserveLicense/{name}").into(),
                    Some(license(name)),
                )]
                .into(),
            };
            journal.append(&changes).unwrap();
        }
        (file, state)
    }

    #[test]
    fn the_journal_is_read_with_the_file_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (file, state) = journaled(dir.path(), &["b", "-a", "c"]);
        let read = file.load().unwrap().unwrap();
        assert_eq!(read.serial, state.serial + 3);
        assert_eq!(
            read.resources
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["ArcserveLicense/b", "ArcserveLicense/c"]
        );
        // A run that stopped in the middle of a line.
        let mut torn = fs::read(file.journal_path()).unwrap();
        torn.extend_from_slice(br#"{"lineage":"#);
        fs::write(file.journal_path(), &torn).unwrap();
        assert_eq!(file.load().unwrap().unwrap(), read);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(file.journal_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_whole_write_folds_the_journal_in_and_counts_its_serials() {
        let dir = tempfile::tempdir().unwrap();
        let (file, stale) = journaled(dir.path(), &["b", "c"]);
        let mut stale = stale;
        let err = file.write(&mut stale).unwrap_err();
        assert!(
            matches!(
                err,
                StateError::Moved {
                    on_disk: 3,
                    expected: 1,
                    ..
                }
            ),
            "the journal's changes are part of what is on disk: {err}"
        );
        let mut current = file.load().unwrap().unwrap();
        let before = current.clone();
        let journal = fs::read(file.journal_path()).unwrap();
        file.write(&mut current).unwrap();
        assert!(!file.journal_path().exists());
        let backup: State = serde_json::from_slice(&fs::read(file.backup_path()).unwrap()).unwrap();
        assert_eq!(backup, before, "the backup holds what the journal added");
        assert_eq!(file.load().unwrap().unwrap(), current);
        // A journal the whole write could not remove is skipped.
        fs::write(file.journal_path(), journal).unwrap();
        assert_eq!(file.load().unwrap().unwrap(), current);
    }

    #[test]
    fn a_damaged_journal_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = journaled(dir.path(), &["b", "c"]);
        let text = fs::read_to_string(file.journal_path()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(0);
        fs::write(file.journal_path(), lines.join("\n") + "\n").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(
            err.contains("s.json.journal, line 1") && err.contains("serial 3 follows serial 1"),
            "{err}"
        );

        fs::write(file.journal_path(), "not json\n").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("line 1, is not a valid journal line"), "{err}");
        assert!(err.contains("hint:"), "{err}");

        fs::create_dir(dir.path().join("other")).unwrap();
        journaled(&dir.path().join("other"), &["x"]);
        fs::write(
            file.journal_path(),
            fs::read(dir.path().join("other").join("s.json.journal")).unwrap(),
        )
        .unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("belongs to state lineage"), "{err}");

        fs::remove_file(file.path()).unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("is there but its state file"), "{err}");
    }
}
