//! The lock that keeps two runs from writing one state at once.
//!
//! The lock is an OS file lock (`File::try_lock`) on `<state>.lock`, which
//! also records who holds it (user, pid, host, time, operation) for the
//! message the next run prints. The kernel releases the lock when its holder
//! dies, so a killed run never blocks the next one; what it leaves is a file
//! with stale information, which `entitle state unlock` removes.
//!
//! A waiting run retries with backoff until `--lock-timeout`. After taking the
//! lock it checks that the path still names the file it locked (the holder
//! may have removed it while releasing), and starts over if not.

use crate::hint::HINT;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::file::sibling;

/// Who holds (or held) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub holder: String,
    pub pid: u32,
    pub host: String,
    pub created_at: String,
    pub operation: String,
}

impl LockInfo {
    /// This process, about to hold a lock for `operation`.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            holder: user(),
            pid: std::process::id(),
            host: hostname(),
            created_at: now_rfc3339(),
            operation: operation.to_string(),
        }
    }
}

/// Who runs this process, as `user@host`: what the history records.
pub fn identity() -> String {
    format!("{}@{}", user(), hostname())
}

fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Now, in RFC 3339, UTC.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {}, pid {} on {}, since {}",
            self.operation, self.holder, self.pid, self.host, self.created_at
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the state is locked ({path}): {holder}{HINT}wait for that run to finish, or pass --lock-timeout to wait longer (waited {waited:?})"
    )]
    Held {
        path: PathBuf,
        holder: String,
        waited: Duration,
    },

    #[error(
        "{op} {path}: {source}{HINT}{}; the lock file must be a regular file this user can read and write, beside the state file",
        super::file::io_hint(path, source)
    )]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A held lock; released (file removed, lock dropped) on drop.
#[derive(Debug)]
pub struct StateLock {
    file: Option<File>,
    path: PathBuf,
}

/// `<state>.lock`.
pub fn lock_path(state_path: &Path) -> PathBuf {
    sibling(state_path, ".lock")
}

impl StateLock {
    /// Takes the lock of the state at `state_path` for `operation`, waiting
    /// up to `timeout` with backoff while another run holds it.
    pub fn acquire(
        state_path: &Path,
        operation: &str,
        timeout: Duration,
    ) -> Result<StateLock, LockError> {
        let path = lock_path(state_path);
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let mut file = open(&path)?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    write_info(&mut file, &path, operation)?;
                    return Ok(StateLock {
                        file: Some(file),
                        path,
                    });
                }
                // The holder removed the file as we locked it: start over.
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(source)) => {
                    return Err(LockError::Io {
                        op: "could not lock",
                        path,
                        source,
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= timeout {
                let holder = read_info(&mut file)
                    .map(|info| info.to_string())
                    .unwrap_or_else(|| "by another entitle run".to_string());
                return Err(LockError::Held {
                    path,
                    holder,
                    waited,
                });
            }
            std::thread::sleep(pause.min(timeout - waited));
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Remove first, unlock second: a waiter that locks the removed file
        // notices it is gone and starts over.
        let _ = fs::remove_file(&self.path);
        if let Some(file) = self.file.take() {
            let _ = file.unlock();
        }
    }
}

/// What `entitle state unlock` found.
#[derive(Debug, PartialEq, Eq)]
pub enum LockStatus {
    /// No lock file.
    Free,
    /// A lock file whose holder is gone (the OS lock is free).
    Stale(Option<LockInfo>),
    /// A live run holds it.
    Held(Option<LockInfo>),
}

/// Looks at the lock of the state at `state_path` without taking it.
pub fn inspect(state_path: &Path) -> Result<LockStatus, LockError> {
    examine(state_path, |_| Ok(()))
}

/// Removes a stale lock file; a live holder's lock is never removed. The
/// file is removed while this process holds its OS lock, so a run that
/// takes the lock meanwhile cannot lose it.
pub fn remove_stale(state_path: &Path) -> Result<LockStatus, LockError> {
    examine(state_path, |file| {
        let path = lock_path(state_path);
        if !same_file(file, &path) {
            return Ok(());
        }
        match fs::remove_file(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
        .map_err(|source| LockError::Io {
            op: "could not remove",
            path,
            source,
        })
    })
}

/// Reads the lock file's holder and tries its OS lock: held by a live run,
/// or stale, in which case `on_stale` runs while this process holds it.
fn examine(
    state_path: &Path,
    on_stale: impl FnOnce(&File) -> Result<(), LockError>,
) -> Result<LockStatus, LockError> {
    let path = lock_path(state_path);
    let Some(mut file) = open_existing(&path)? else {
        return Ok(LockStatus::Free);
    };
    let info = read_info(&mut file);
    match file.try_lock() {
        Ok(()) => {
            let done = on_stale(&file);
            let _ = file.unlock();
            done.map(|()| LockStatus::Stale(info))
        }
        Err(TryLockError::WouldBlock) => Ok(LockStatus::Held(info)),
        Err(TryLockError::Error(source)) => Err(LockError::Io {
            op: "could not inspect the lock",
            path,
            source,
        }),
    }
}

/// The lock file, when there is one.
fn open_existing(path: &Path) -> Result<Option<File>, LockError> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LockError::Io {
            op: "could not open",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The lock file, made if missing, readable by its owner only like the
/// state (it names who holds it, on which host).
fn open(path: &Path) -> Result<File, LockError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| LockError::Io {
        op: "could not open",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

fn write_info(file: &mut File, path: &Path, operation: &str) -> Result<(), LockError> {
    let info = LockInfo::current(operation);
    let io = |op: &'static str| {
        let path = path.to_path_buf();
        move |source| LockError::Io { op, path, source }
    };
    let text = serde_json::to_vec(&info).unwrap_or_default();
    file.set_len(0).map_err(io("could not write"))?;
    file.seek(SeekFrom::Start(0))
        .map_err(io("could not write"))?;
    file.write_all(&text).map_err(io("could not write"))?;
    file.sync_all().map_err(io("could not flush"))
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mode is asked for at creation, so a umask can only narrow it.
    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let _held = StateLock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let lock = dir.path().join("s.json.lock");
        let mode = fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{lock:?} is {mode:o}");
    }

    #[test]
    fn a_second_run_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let held = StateLock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let err = StateLock::acquire(&state, "plan", Duration::from_millis(200)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "the state is locked ({}): apply",
                lock_path(&state).display()
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(matches!(
            inspect(&state).unwrap(),
            LockStatus::Held(Some(_))
        ));
        drop(held);
        assert_eq!(inspect(&state).unwrap(), LockStatus::Free);
        StateLock::acquire(&state, "plan", Duration::ZERO).unwrap();
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let held = StateLock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let path = state.clone();
        let waiter = std::thread::spawn(move || {
            StateLock::acquire(&path, "apply", Duration::from_secs(10)).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(150));
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn a_dead_holders_file_is_stale_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        // What a killed run leaves: the file with its details, no OS lock.
        let info = LockInfo {
            holder: "ci".into(),
            pid: 999_999,
            host: "runner-7".into(),
            created_at: "2026-11-26T00:00:00Z".into(),
            operation: "apply".into(),
        };
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        assert_eq!(
            inspect(&state).unwrap(),
            LockStatus::Stale(Some(info.clone()))
        );
        // It does not block a new run.
        drop(StateLock::acquire(&state, "plan", Duration::ZERO).unwrap());
        fs::write(lock_path(&state), serde_json::to_vec(&info).unwrap()).unwrap();
        assert_eq!(remove_stale(&state).unwrap(), LockStatus::Stale(Some(info)));
        assert!(!lock_path(&state).exists());
    }

    #[test]
    fn a_live_lock_is_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let _held = StateLock::acquire(&state, "apply", Duration::ZERO).unwrap();
        assert!(matches!(remove_stale(&state).unwrap(), LockStatus::Held(_)));
        assert!(lock_path(&state).exists());
    }
}
