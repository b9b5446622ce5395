//! Where the state lives, behind one interface: a [`Backend`] (a file
//! beside the manifests, or a PostgreSQL database a team shares), a
//! workspace in it (a [`Store`]), its lock, and the [`Sink`] an apply
//! records through. Everything that reads or writes state goes through
//! here; the backends differ only inside.
//!
//! The file backend keeps the default workspace where the state file always
//! was (`entitle.state.json`) and the others beside it, in
//! `entitle.state.d/NAME.json`. A PostgreSQL backend keeps them all in its
//! tables ([`super::postgres`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::journal::{Changes, Journal};
use super::lock::{self, LockInfo, LockStatus, StateLock};
use super::model::{RecordedKinds, State};
use super::postgres::{self, HistoryEntry, PgLock, PgStore, Session, Target, WorkspaceInfo};
use super::{StateError, StateFile};
use crate::Error;

/// A state being read ([`Store::open`]).
pub struct Opened {
    /// Whether a state existed (a new one has a fresh lineage).
    pub existed: bool,
    /// The kinds of its records, when known before they are read.
    pub kinds: Option<RecordedKinds>,
    /// The records, read or on their way.
    pub records: Records,
}

impl Opened {
    /// A state read whole, or a new one when there was none.
    fn read(state: Option<State>) -> Self {
        Opened {
            existed: state.is_some(),
            kinds: Some(state.as_ref().map(RecordedKinds::of).unwrap_or_default()),
            records: Records::Read(state.unwrap_or_default()),
        }
    }
}

/// The records of an [`Opened`] state: read, or parsing.
pub enum Records {
    Read(State),
    Parsing(tokio::task::JoinHandle<Result<State, StateError>>),
}

impl Records {
    /// The state, once read; the join error when the parsing thread was
    /// cancelled or panicked.
    pub async fn read(self) -> Result<Result<State, StateError>, tokio::task::JoinError> {
        match self {
            Records::Read(state) => Ok(Ok(state)),
            Records::Parsing(parsing) => parsing.await,
        }
    }
}

/// The workspace used when none is named.
pub const DEFAULT_WORKSPACE: &str = "default";

/// The journal is folded into the state file once it is larger than the
/// file and at least this large.
pub(crate) const FOLD_AT_LEAST: u64 = 4 << 20;

/// Where states are kept (`--backend`).
#[derive(Clone, Debug)]
pub enum Backend {
    /// The state file of the default workspace.
    File(PathBuf),
    Postgres(Arc<Target>),
}

impl Backend {
    /// `file:PATH`, `postgres://…` or `postgresql://…`, as `--backend`.
    pub fn from_url(url: &str) -> Result<Backend, StateError> {
        Self::from_url_of(url, "--backend (or ENTITLE_BACKEND)")
    }

    /// [`Backend::from_url`] for a URL given by `flag`, which an error names.
    pub fn from_url_of(url: &str, flag: &'static str) -> Result<Backend, StateError> {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(Backend::File(PathBuf::from(path)));
        }
        if let Some(path) = url.strip_prefix("file:") {
            return Ok(Backend::File(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(Arc::new(
                Target::from_env_url(url)
                    .map_err(|err| StateError::Postgres(postgres::PgError::Connect(err)))?,
            )));
        }
        Err(StateError::BadBackend {
            flag,
            shown: shown_scheme(url),
        })
    }

    /// As messages and saved plans show it: never with a password.
    pub fn shown(&self) -> String {
        match self {
            Backend::File(path) => format!("file:{}", path.display()),
            Backend::Postgres(target) => target.redacted().to_string(),
        }
    }

    /// Opens `workspace`. The default one always exists (empty until first
    /// written); any other must have been made with `entitle workspace new`.
    pub async fn open(&self, workspace: &str) -> Result<Store, StateError> {
        check_workspace_name(workspace)?;
        match self {
            Backend::File(path) => {
                let file = StateFile::new(workspace_path(path, workspace));
                if workspace != DEFAULT_WORKSPACE && !file.path().exists() {
                    return Err(StateError::NoSuchWorkspace {
                        place: self.shown(),
                        workspace: workspace.to_string(),
                        existing: self.names().await?,
                    });
                }
                Ok(Store::File(FileStore {
                    file,
                    workspace: workspace.to_string(),
                }))
            }
            Backend::Postgres(target) => {
                let session = Session::open(target, lock::identity()).await?;
                let store = session
                    .workspace(workspace, workspace == DEFAULT_WORKSPACE)
                    .await?;
                Ok(Store::Postgres(store))
            }
        }
    }

    /// Every workspace, by name.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceInfo>, StateError> {
        match self {
            Backend::File(path) => file_workspaces(path),
            Backend::Postgres(target) => {
                let session = Session::open(target, lock::identity()).await?;
                let mut found = session.workspaces().await?;
                if !found.iter().any(|w| w.name == DEFAULT_WORKSPACE) {
                    found.push(WorkspaceInfo {
                        name: DEFAULT_WORKSPACE.to_string(),
                        serial: 0,
                        resources: 0,
                    });
                    found.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Ok(found)
            }
        }
    }

    async fn names(&self) -> Result<Vec<String>, StateError> {
        Ok(self
            .workspaces()
            .await?
            .into_iter()
            .map(|w| w.name)
            .collect())
    }

    /// Makes `workspace` with an empty state; `false` when it was there.
    pub async fn create_workspace(&self, workspace: &str) -> Result<bool, StateError> {
        check_workspace_name(workspace)?;
        match self {
            Backend::File(path) => {
                let file = StateFile::new(workspace_path(path, workspace));
                if file.path().exists() {
                    return Ok(false);
                }
                if let Some(dir) = file.path().parent() {
                    std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                        op: "could not create the workspace directory",
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                file.write(&mut State::new())?;
                Ok(true)
            }
            Backend::Postgres(target) => {
                let session = Session::open(target, lock::identity()).await?;
                Ok(session.create_workspace(workspace).await?)
            }
        }
    }
}

impl Backend {
    /// Deletes `workspace`, which must hold no records, once its lock is
    /// taken (waiting up to `timeout`). The default workspace stays.
    pub async fn delete_workspace(&self, workspace: &str, timeout: Duration) -> Result<(), Error> {
        if workspace == DEFAULT_WORKSPACE {
            return Err(Error::usage(
                "the default workspace cannot be deleted",
                "it is where a state is kept when no --workspace is named; `entitle state rm` empties it",
            ));
        }
        let store = self.open(workspace).await?;
        let lock = store.lock("workspace delete", timeout).await?;
        let held = store.load_or_new().await?.resources.len() as u64;
        if held > 0 {
            return Err(not_empty(&store, held));
        }
        match &store {
            Store::File(file) => remove_workspace_files(&file.file)?,
            Store::Postgres(pg) => match pg.session().delete_workspace(workspace).await {
                Ok(()) => {}
                Err(postgres::DeleteRefused::NotEmpty(held)) => {
                    return Err(not_empty(&store, held));
                }
                Err(postgres::DeleteRefused::Failed(err)) => {
                    return Err(StateError::from(err).into());
                }
            },
        }
        lock.release().await?;
        Ok(())
    }
}

fn not_empty(store: &Store, held: u64) -> Error {
    Error::usage(
        format!(
            "{} still manages {held} resource(s); refusing to delete it",
            store.describe()
        ),
        format!(
            "remove its resources from the manifests and run `entitle apply --workspace {ws}` (which deletes them), or `entitle state rm ADDR --workspace {ws}` for what should stay on the servers unmanaged",
            ws = store.workspace()
        ),
    )
}

fn remove_workspace_files(file: &StateFile) -> Result<(), StateError> {
    for path in [
        file.path().to_path_buf(),
        file.backup_path(),
        file.journal_path(),
    ] {
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(StateError::Io {
                    op: "could not remove",
                    path,
                    source: err,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `url` as an error may show it: its scheme, never what follows (it may
/// hold a password).
fn shown_scheme(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _)) if !scheme.is_empty() => format!("a URL of scheme `{scheme}`"),
        _ => "a value without a scheme".to_string(),
    }
}

/// A workspace name: letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit, at most 64 characters, so it is a safe file name.
pub fn check_workspace_name(name: &str) -> Result<(), StateError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(StateError::BadWorkspaceName {
            name: crate::escape::text(name).into_owned(),
        })
    }
}

/// Where the file backend keeps `workspace`, for the default workspace's
/// file `default`: the file itself, or `<file without .json>.d/NAME.json`.
pub fn workspace_path(default: &Path, workspace: &str) -> PathBuf {
    if workspace == DEFAULT_WORKSPACE {
        return default.to_path_buf();
    }
    workspaces_dir(default).join(format!("{workspace}.json"))
}

fn workspaces_dir(default: &Path) -> PathBuf {
    let name = default.as_os_str().to_string_lossy();
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    PathBuf::from(format!("{stem}.d"))
}

fn file_workspaces(default: &Path) -> Result<Vec<WorkspaceInfo>, StateError> {
    let mut found = vec![file_workspace(DEFAULT_WORKSPACE, &StateFile::new(default))?];
    let dir = workspaces_dir(default);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => {
            return Err(StateError::Io {
                op: "could not list",
                path: dir,
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(workspace) = name.strip_suffix(".json") else {
            continue;
        };
        if workspace != DEFAULT_WORKSPACE && check_workspace_name(workspace).is_ok() {
            found.push(file_workspace(workspace, &StateFile::new(entry.path()))?);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn file_workspace(name: &str, file: &StateFile) -> Result<WorkspaceInfo, StateError> {
    let state = file.load()?;
    Ok(WorkspaceInfo {
        name: name.to_string(),
        serial: state.as_ref().map_or(0, |s| s.serial),
        resources: state.map_or(0, |s| s.resources.len() as u64),
    })
}

/// One workspace's state, open.
#[derive(Clone, Debug)]
pub enum Store {
    File(FileStore),
    Postgres(PgStore),
}

#[derive(Clone, Debug)]
pub struct FileStore {
    file: StateFile,
    workspace: String,
}

impl FileStore {
    pub fn file(&self) -> &StateFile {
        &self.file
    }
}

/// A held lock of a workspace.
#[derive(Debug)]
pub enum StoreLock {
    File(StateLock),
    Postgres(PgLock),
}

impl StoreLock {
    /// Lets go (the file lock by dropping it, the database's by asking).
    pub async fn release(self) -> Result<(), StateError> {
        match self {
            StoreLock::File(lock) => {
                drop(lock);
                Ok(())
            }
            StoreLock::Postgres(lock) => Ok(lock.release().await?),
        }
    }
}

/// Who holds a workspace's lock, as `entitle state lock` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockEntry {
    pub workspace: String,
    pub info: Option<LockInfo>,
    /// A lock file left by a run that is gone (the file backend only).
    pub stale: bool,
}

impl Store {
    /// The default workspace of the state file at `path`.
    pub fn in_file(path: impl Into<PathBuf>) -> Store {
        Store::File(FileStore {
            file: StateFile::new(path),
            workspace: DEFAULT_WORKSPACE.to_string(),
        })
    }

    pub fn workspace(&self) -> &str {
        match self {
            Store::File(store) => &store.workspace,
            Store::Postgres(store) => store.workspace(),
        }
    }

    /// The state file, for the file backend.
    pub fn file(&self) -> Option<&StateFile> {
        match self {
            Store::File(store) => Some(&store.file),
            Store::Postgres(_) => None,
        }
    }

    /// Where the state is, as messages name it.
    pub fn describe(&self) -> String {
        match self {
            Store::File(store) => store.file.path().display().to_string(),
            Store::Postgres(store) => store.describe(),
        }
    }

    /// What a saved plan records of the backend its state was in: a file's
    /// lineage already names it, a database is its server and name.
    pub fn backend_identity(&self) -> String {
        match self {
            Store::File(_) => "file".to_string(),
            Store::Postgres(store) => store.place(),
        }
    }

    /// The state, or `None` when the file backend has none yet.
    pub async fn load(&self) -> Result<Option<State>, StateError> {
        match self {
            Store::File(store) => store.file.load(),
            Store::Postgres(store) => Ok(Some(store.load().await?)),
        }
    }

    /// Whether [`open`](Self::open) reads a local file's header (quick)
    /// rather than a whole state from a server.
    pub fn opens_locally(&self) -> bool {
        match self {
            Store::File(_) => true,
            Store::Postgres(_) => false,
        }
    }

    /// The state as soon as what it records can be told: the file
    /// backend's header is read at once and its records parse on a blocking
    /// thread, so that refresh can start from the kinds recorded while they
    /// do. A database's state comes whole.
    pub async fn open(&self) -> Result<Opened, StateError> {
        match self {
            Store::File(store) => Ok(match store.file.open()? {
                None => Opened::read(None),
                Some(unparsed) => Opened {
                    existed: true,
                    kinds: unparsed.kinds.clone(),
                    records: Records::Parsing(tokio::task::spawn_blocking(move || {
                        unparsed.parse()
                    })),
                },
            }),
            Store::Postgres(store) => Ok(Opened::read(Some(store.load().await?))),
        }
    }

    pub async fn load_or_new(&self) -> Result<State, StateError> {
        Ok(self.load().await?.unwrap_or_default())
    }

    /// Writes `state` whole as the next serial (recorded in the history as
    /// `operation`), refusing when what is stored moved since it was read.
    pub async fn write(&self, state: &mut State, operation: &str) -> Result<(), StateError> {
        match self {
            Store::File(store) => store.file.write(state),
            Store::Postgres(store) => Ok(store.write(state, operation).await?),
        }
    }

    /// Refuses to start an apply whose changes could not all be recorded.
    pub fn check_room(&self, state: &State) -> Result<(), StateError> {
        match self {
            Store::File(store) => store.file.check_room(state),
            Store::Postgres(store) => Ok(store.check_room(state)?),
        }
    }

    /// Takes the workspace's lock for `operation`, waiting up to `timeout`.
    pub async fn lock(&self, operation: &str, timeout: Duration) -> Result<StoreLock, Error> {
        match self {
            Store::File(store) => {
                let path = store.file.path().to_path_buf();
                let operation = operation.to_string();
                let lock = tokio::task::spawn_blocking(move || {
                    StateLock::acquire(&path, &operation, timeout)
                })
                .await
                .map_err(|err| {
                    Error::usage(
                        format!("waiting for the state lock stopped: {err}"),
                        "this is a bug in entitle; please report it",
                    )
                })??;
                Ok(StoreLock::File(lock))
            }
            Store::Postgres(store) => Ok(StoreLock::Postgres(
                PgLock::acquire(store, operation, timeout).await?,
            )),
        }
    }

    /// Who holds the locks: this workspace's file lock, or every
    /// workspace's in the database.
    pub async fn locks(&self) -> Result<Vec<LockEntry>, Error> {
        match self {
            Store::File(store) => {
                let (info, stale) = match lock::inspect(store.file.path())? {
                    LockStatus::Free => return Ok(Vec::new()),
                    LockStatus::Held(info) => (info, false),
                    LockStatus::Stale(info) => (info, true),
                };
                Ok(vec![LockEntry {
                    workspace: store.workspace.clone(),
                    info,
                    stale,
                }])
            }
            Store::Postgres(store) => Ok(postgres::holders(store.session(), None)
                .await
                .map_err(StateError::from)?
                .into_iter()
                .map(|holder| LockEntry {
                    workspace: holder.workspace,
                    info: holder.info,
                    stale: false,
                })
                .collect()),
        }
    }

    /// Where an apply records its changes, as `operation`.
    pub fn sink(&self, operation: &str) -> Sink {
        match self {
            Store::File(store) => store.file.clone().into(),
            Store::Postgres(store) => Sink::Postgres {
                store: store.clone(),
                operation: operation.to_string(),
            },
        }
    }

    fn postgres(&self) -> Result<&PgStore, StateError> {
        match self {
            Store::File(store) => Err(StateError::NoHistory {
                path: store.file.path().to_path_buf(),
            }),
            Store::Postgres(store) => Ok(store),
        }
    }

    /// The kept serials, newest first (a database backend only).
    pub async fn history(&self, limit: Option<u64>) -> Result<Vec<HistoryEntry>, StateError> {
        Ok(self.postgres()?.history(limit).await?)
    }

    /// The state as it was at `serial` (a database backend only).
    pub async fn state_at(&self, serial: u64) -> Result<State, StateError> {
        Ok(self.postgres()?.state_at(serial).await?)
    }

    /// Deletes all but the `keep` newest serials of the history.
    pub async fn prune(&self, keep: u64) -> Result<u64, StateError> {
        Ok(self.postgres()?.prune(keep).await?)
    }
}

/// Where an apply's changes go, one commit at a time: a line of the state
/// file's journal, or a transaction in the database.
pub enum Sink {
    File {
        file: StateFile,
        /// Open once the first change is appended; `None` again after a fold.
        journal: Option<Journal>,
    },
    Postgres {
        store: PgStore,
        operation: String,
    },
}

impl From<StateFile> for Sink {
    fn from(file: StateFile) -> Self {
        Sink::File {
            file,
            journal: None,
        }
    }
}

impl Sink {
    /// Where the changes go, as messages name it.
    pub fn place(&self) -> String {
        match self {
            Sink::File { file, .. } => file.path().display().to_string(),
            Sink::Postgres { store, .. } => store.describe(),
        }
    }

    /// Whether the next commit must write the state whole: the file
    /// backend's journal cannot be started (no state file yet, or one left
    /// from an earlier run) or has outgrown the file.
    pub fn wants_whole(&mut self, lineage: uuid::Uuid, serial: u64) -> Result<bool, StateError> {
        match self {
            Sink::File { file, journal } => {
                if journal.is_none() {
                    *journal = file.open_journal(lineage, serial)?;
                }
                Ok(journal
                    .as_ref()
                    .is_none_or(|journal| journal.outgrown(FOLD_AT_LEAST)))
            }
            Sink::Postgres { .. } => Ok(false),
        }
    }

    /// Records `changes` on top of `lineage` at `serial`; returns the new
    /// serial once it is durable.
    pub async fn append(
        &mut self,
        lineage: uuid::Uuid,
        serial: u64,
        changes: &Changes,
    ) -> Result<u64, StateError> {
        match self {
            Sink::File { file, journal } => match journal {
                Some(journal) => journal.append(changes),
                None => Err(StateError::JournalChanged {
                    path: file.journal_path(),
                }),
            },
            Sink::Postgres { store, operation } => {
                Ok(store.commit(lineage, serial, changes, operation).await?)
            }
        }
    }

    /// Writes `state` whole, which ends the file backend's journal.
    pub async fn write_whole(&mut self, state: &mut State) -> Result<(), StateError> {
        match self {
            Sink::File { file, journal } => {
                // Whatever happens, this journal is done: after a failure
                // nothing more is written, after success the file holds it.
                *journal = None;
                file.write(state)
            }
            Sink::Postgres { store, operation } => Ok(store.write(state, operation).await?),
        }
    }

    /// Whether changes wait in a journal to be folded into the state file.
    pub fn has_unfolded(&self) -> bool {
        match self {
            Sink::File { journal, .. } => journal.as_ref().is_some_and(|j| !j.is_empty()),
            Sink::Postgres { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspaces_live_beside_the_default_state_file() {
        let default = Path::new("dir/entitle.state.json");
        assert_eq!(workspace_path(default, "default"), default);
        assert_eq!(
            workspace_path(default, "prod"),
            Path::new("dir/entitle.state.d/prod.json")
        );
        assert_eq!(
            workspace_path(Path::new("s"), "prod"),
            Path::new("s.d/prod.json")
        );
    }

    #[test]
    fn workspace_names_are_safe_file_names() {
        for good in ["default", "prod", "eu-west_2", "v1.2"] {
            check_workspace_name(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "x y",
            &"a".repeat(65),
            "é",
        ] {
            let err = check_workspace_name(bad).unwrap_err().to_string();
            assert!(err.contains("is not a workspace name"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_backend_url_of_another_scheme_is_refused_without_echoing_it() {
        let err = Backend::from_url("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`mysql`") && !err.contains("secret"), "{err}");
        assert!(matches!(
            Backend::from_url("file:x/state.json").unwrap(),
            Backend::File(path) if path == Path::new("x/state.json")
        ));
    }
}
