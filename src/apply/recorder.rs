//! The state as the executor sees it: one in-memory value behind a lock,
//! written to disk after every change it records, so that a run killed at
//! any instant leaves a state that describes what was done.

use std::sync::Mutex;

use crate::state::{ResourceState, State, StateError, StateFile};

/// Records changes to the state and writes each one.
pub struct Recorder {
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    file: StateFile,
    /// Set after a failed write: nothing more may be done.
    broken: bool,
}

impl Recorder {
    pub fn new(state: State, file: StateFile) -> Self {
        Recorder {
            inner: Mutex::new(Inner {
                state,
                file,
                broken: false,
            }),
        }
    }

    /// A copy of one record.
    pub fn get(&self, address: &str) -> Option<ResourceState> {
        self.lock().state.resources.get(address).cloned()
    }

    /// Sets (or with `None` removes) the record of `address` and writes the
    /// state. On a failed write the in-memory change is undone, and the
    /// recorder refuses further changes.
    pub fn set(&self, address: &str, record: Option<ResourceState>) -> Result<(), StateError> {
        self.update(|state| match record {
            Some(record) => {
                state.resources.insert(address.to_string(), record);
            }
            None => {
                state.resources.remove(address);
            }
        })
    }

    /// Applies `change` to the state and writes it.
    pub fn update(&self, change: impl FnOnce(&mut State)) -> Result<(), StateError> {
        let mut inner = self.lock();
        if inner.broken {
            return Err(StateError::Io {
                op: "not writing after an earlier failure to",
                path: inner.file.path().to_path_buf(),
                source: std::io::Error::other("an earlier write failed"),
            });
        }
        let before = inner.state.clone();
        change(&mut inner.state);
        let Inner { state, file, .. } = &mut *inner;
        if let Err(err) = file.write(state) {
            inner.state = before;
            inner.broken = true;
            return Err(err);
        }
        Ok(())
    }

    /// The state as it is now.
    pub fn snapshot(&self) -> State {
        self.lock().state.clone()
    }

    pub fn into_state(self) -> State {
        self.inner
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
