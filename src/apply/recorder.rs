//! The state as the executor sees it: one in-memory value, written to disk
//! after every change it records, so that a run killed at any instant
//! leaves a state that describes what was done.
//!
//! Writes are group-committed: a change is applied in memory, then its
//! caller waits until a write that includes it is on disk. While one write
//! is in progress, the changes of other actions gather and go out together
//! in the next one, so a wide apply writes the state far fewer times than it
//! makes changes, and no caller goes on before its change is durable.

use std::sync::Mutex;

use crate::state::{ResourceState, State, StateError, StateFile};

/// Records changes to the state and writes them.
pub struct Recorder {
    inner: Mutex<Inner>,
    /// Held while writing; whoever holds it writes everything so far.
    writer: tokio::sync::Mutex<StateFile>,
}

struct Inner {
    state: State,
    /// Changes made in memory, counted.
    version: u64,
    /// The last version known to be on disk.
    durable: u64,
    /// Set after a failed write: nothing more may be done.
    broken: Option<String>,
}

impl Recorder {
    pub fn new(state: State, file: StateFile) -> Self {
        Recorder {
            inner: Mutex::new(Inner {
                state,
                version: 0,
                durable: 0,
                broken: None,
            }),
            writer: tokio::sync::Mutex::new(file),
        }
    }

    /// A copy of one record.
    pub fn get(&self, address: &str) -> Option<ResourceState> {
        self.lock().state.resources.get(address).cloned()
    }

    /// Changes the record of `address` (absent: `None`; left `None`: removed)
    /// and returns once that is on disk.
    pub async fn change(
        &self,
        address: &str,
        change: impl FnOnce(&mut Option<ResourceState>),
    ) -> Result<(), StateError> {
        self.update(|state| {
            let mut current = state.resources.remove(address);
            change(&mut current);
            if let Some(record) = current {
                state.resources.insert(address.to_string(), record);
            }
        })
        .await
    }

    /// Sets (or with `None` removes) the record of `address`, and returns
    /// once that is on disk.
    pub async fn set(
        &self,
        address: &str,
        record: Option<ResourceState>,
    ) -> Result<(), StateError> {
        self.update(|state| match record {
            Some(record) => {
                state.resources.insert(address.to_string(), record);
            }
            None => {
                state.resources.remove(address);
            }
        })
        .await
    }

    /// Applies `change` to the state and returns once it is on disk. After
    /// a failed write every change is refused, and the file on disk keeps
    /// the last state that was written whole.
    pub async fn update(&self, change: impl FnOnce(&mut State)) -> Result<(), StateError> {
        let mine = {
            let mut inner = self.lock();
            if let Some(why) = &inner.broken {
                return Err(broken(why));
            }
            change(&mut inner.state);
            inner.version += 1;
            inner.version
        };
        let file = self.writer.lock().await;
        let (snapshot, version) = {
            let inner = self.lock();
            if let Some(why) = &inner.broken {
                return Err(broken(why));
            }
            if inner.durable >= mine {
                return Ok(());
            }
            (inner.state.clone(), inner.version)
        };
        let mut written = snapshot;
        match file.write(&mut written) {
            Ok(()) => {
                let mut inner = self.lock();
                inner.durable = inner.durable.max(version);
                inner.state.serial = written.serial;
                Ok(())
            }
            Err(err) => {
                self.lock().broken = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// The state as it is now.
    pub fn snapshot(&self) -> State {
        self.lock().state.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn broken(why: &str) -> StateError {
    StateError::Io {
        op: "not writing after an earlier failure to write",
        path: std::path::PathBuf::from("the state"),
        // The first line only: the hint was given with the first failure.
        source: std::io::Error::other(why.lines().next().unwrap_or(why).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Scope, Status};

    fn record(name: &str) -> ResourceState {
        ResourceState {
            remote_id: Some(name.into()),
            scope: Scope::default(),
            natural_key: name.into(),
            attributes: serde_json::json!({}),
            dependencies: Vec::new(),
            status: Status::Ready,
            lifecycle: Default::default(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_changes_are_all_on_disk_in_fewer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let recorder = std::sync::Arc::new(Recorder::new(State::new(), file.clone()));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    recorder
                        .set(
                            &format!("ArcserveLicense/r{i}"),
                            Some(record(&format!("r{i}"))),
                        )
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let on_disk = file.load().unwrap().unwrap();
        assert_eq!(on_disk.resources.len(), 64);
        assert!(on_disk.serial <= 64, "serial {}", on_disk.serial);
        assert_eq!(recorder.snapshot().serial, on_disk.serial);
    }

    #[tokio::test]
    async fn after_a_failed_write_nothing_more_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let recorder = Recorder::new(State::new(), file.clone());
        recorder
            .set("ArcserveLicense/a", Some(record("a")))
            .await
            .unwrap();
        let before = std::fs::read(file.path()).unwrap();
        std::fs::create_dir(file.backup_path()).unwrap();
        std::fs::write(file.backup_path().join("x"), b"x").unwrap();
        assert!(
            recorder
                .set("ArcserveLicense/b", Some(record("b")))
                .await
                .is_err()
        );
        std::fs::remove_dir_all(file.backup_path()).unwrap();
        assert!(
            recorder
                .set("ArcserveLicense/c", Some(record("c")))
                .await
                .is_err()
        );
        assert_eq!(std::fs::read(file.path()).unwrap(), before);
    }
}
