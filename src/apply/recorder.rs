//! The state as the executor sees it: one in-memory value, whose every
//! change is on disk before the action that made it goes on, so that a run
//! killed at any instant leaves a state that describes what was done.
//!
//! Changes are group-committed: a change is applied in memory, then its
//! caller waits until a write that includes it is on disk. While one write
//! is in progress, the changes of other actions gather and go out together
//! in the next one, so a wide apply writes far fewer times than it makes
//! changes, and no caller goes on before its change is durable. A write is a
//! commit through the store's [`Sink`] holding the records that changed: a
//! line in a state file's journal, which is folded into the file (a whole
//! write) when it outgrows it and when the apply ends ([`Recorder::finish`]),
//! or one transaction in PostgreSQL. Either way the cost of an apply's
//! writes grows with what it changes, not with changes × state size.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::manifest::Address;
use crate::state::journal::Changes;
use crate::state::{Orphaned, ResourceState, Sink, State, StateError};

/// Records changes to the state and writes them.
pub struct Recorder {
    inner: Mutex<Inner>,
    /// Held while writing; whoever holds it writes everything so far.
    writer: tokio::sync::Mutex<Sink>,
    /// Where the state is, for messages.
    place: String,
}

struct Inner {
    state: State,
    /// Addresses changed in memory and not yet written.
    dirty: BTreeSet<Address>,
    /// Changes made in memory, counted.
    version: u64,
    /// The last version known to be durable.
    durable: u64,
    /// Set after a failed write: nothing more may be done.
    broken: Option<String>,
    /// An orphaned entry was added: the next write is a whole one, which
    /// carries the record's removal and the entry together.
    whole: bool,
}

impl Recorder {
    pub fn new(state: State, sink: Sink) -> Self {
        Recorder {
            inner: Mutex::new(Inner {
                state,
                dirty: BTreeSet::new(),
                version: 0,
                durable: 0,
                broken: None,
                whole: false,
            }),
            place: sink.place(),
            writer: tokio::sync::Mutex::new(sink),
        }
    }

    /// A copy of one record.
    pub fn get(&self, address: &Address) -> Option<ResourceState> {
        self.lock().state.resources.get(address).cloned()
    }

    /// Changes the record of `address` (absent: `None`; left `None`: removed)
    /// and returns once that is on disk.
    pub async fn change(
        &self,
        address: &Address,
        change: impl FnOnce(&mut Option<ResourceState>),
    ) -> Result<(), StateError> {
        let mut change = Some(change);
        self.change_each([address], |_, record| {
            if let Some(change) = change.take() {
                change(record);
            }
        })
        .await
    }

    /// Sets (or with `None` removes) the record of `address`, and returns
    /// once that is on disk.
    pub async fn set(
        &self,
        address: &Address,
        record: Option<ResourceState>,
    ) -> Result<(), StateError> {
        self.change(address, |current| *current = record).await
    }

    /// Changes the record of each of `addresses` as [`Recorder::change`]
    /// does, all in one commit. After a failed write every change is
    /// refused, and what is on disk is the state as last recorded.
    pub async fn change_each<'a>(
        &self,
        addresses: impl IntoIterator<Item = &'a Address>,
        mut change: impl FnMut(&Address, &mut Option<ResourceState>),
    ) -> Result<(), StateError> {
        let mine = {
            let mut inner = self.lock();
            if let Some(why) = &inner.broken {
                return Err(broken(why, &self.place));
            }
            for address in addresses {
                let mut current = inner.state.resources.remove(address);
                change(address, &mut current);
                if let Some(record) = current {
                    inner.state.resources.insert(address.clone(), record);
                }
                inner.dirty.insert(address.clone());
            }
            inner.version += 1;
            inner.version
        };
        self.durable_at(mine).await
    }

    /// Removes the record of `address` (operation `Forget`) and returns
    /// once that is on disk. A record applied with `deletionPolicy: Orphan`
    /// leaves an entry in the state's `orphaned` list, written in the same
    /// whole write as the removal: a state file replaced at once (the
    /// journal folded in), or one transaction in PostgreSQL, so no crash
    /// keeps the one without the other.
    pub async fn forget(&self, address: &Address) -> Result<(), StateError> {
        let mine = {
            let mut inner = self.lock();
            if let Some(why) = &inner.broken {
                return Err(broken(why, &self.place));
            }
            let removed = inner.state.resources.remove(address);
            let entry = removed
                .filter(|record| record.lifecycle.orphan_on_delete)
                .and_then(|record| Orphaned::of(address, &record));
            if let Some(entry) = entry {
                inner.state.orphan(entry);
                inner.whole = true;
            }
            inner.dirty.insert(address.clone());
            inner.version += 1;
            inner.version
        };
        self.durable_at(mine).await
    }

    /// Returns once the changes up to `version` are on disk, writing them
    /// unless a write under way already did.
    async fn durable_at(&self, version: u64) -> Result<(), StateError> {
        let mut writer = self.writer.lock().await;
        if self.lock().durable >= version {
            return Ok(());
        }
        self.write(&mut writer).await
    }

    /// Writes everything changed so far: one commit of the changes or,
    /// when the sink asks for it, the whole state.
    async fn write(&self, sink: &mut Sink) -> Result<(), StateError> {
        let (lineage, serial, whole) = {
            let inner = self.lock();
            if let Some(why) = &inner.broken {
                return Err(broken(why, &self.place));
            }
            (inner.state.lineage, inner.state.serial, inner.whole)
        };
        if whole {
            return self.write_whole(sink).await;
        }
        match sink.wants_whole(lineage, serial) {
            Ok(true) => return self.write_whole(sink).await,
            Ok(false) => {}
            Err(err) => return Err(self.fail(err)),
        }
        let (changes, version) = {
            let mut inner = self.lock();
            let changes: Changes = std::mem::take(&mut inner.dirty)
                .into_iter()
                .map(|address| {
                    let record = inner.state.resources.get(&address).cloned();
                    (address, record)
                })
                .collect();
            (changes, inner.version)
        };
        match sink.append(lineage, serial, &changes).await {
            Ok(serial) => {
                self.durable(version, serial);
                Ok(())
            }
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Writes the whole state (for a file, folding in and ending the
    /// journal).
    async fn write_whole(&self, sink: &mut Sink) -> Result<(), StateError> {
        let (mut snapshot, version) = {
            let mut inner = self.lock();
            inner.dirty.clear();
            inner.whole = false;
            (inner.state.clone(), inner.version)
        };
        match sink.write_whole(&mut snapshot).await {
            Ok(()) => {
                self.durable(version, snapshot.serial);
                Ok(())
            }
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Folds a file's journal into the state file, once the apply is done,
    /// and drops the orphaned entries whose objects are managed again (a
    /// whole write does). A failure loses nothing (the journal is read with
    /// the file) and is returned for the caller to report; nothing more is
    /// written after it.
    pub async fn finish(&self) -> Result<(), StateError> {
        let mut writer = self.writer.lock().await;
        let (broken, settle) = {
            let inner = self.lock();
            (inner.broken.is_some(), inner.state.has_managed_orphans())
        };
        if broken || !(writer.has_unfolded() || settle) {
            return Ok(());
        }
        self.write_whole(&mut writer).await
    }

    fn durable(&self, version: u64, serial: u64) {
        let mut inner = self.lock();
        inner.durable = inner.durable.max(version);
        inner.state.serial = serial;
    }

    fn fail(&self, err: StateError) -> StateError {
        self.lock().broken = Some(err.to_string());
        err
    }

    /// Whether a write failed, after which nothing more is recorded.
    pub fn is_broken(&self) -> bool {
        self.lock().broken.is_some()
    }

    /// Where the state is, and the serial last made durable there.
    pub fn last_recorded(&self) -> (String, u64) {
        (self.place.clone(), self.lock().state.serial)
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

fn broken(why: &str, place: &str) -> StateError {
    StateError::AfterFailure {
        place: place.to_string(),
        // The first line only: the hint was given with the first failure.
        first: why.lines().next().unwrap_or(why).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::store::FOLD_AT_LEAST;
    use crate::state::{Scope, StateFile, Status};

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
        let recorder = std::sync::Arc::new(Recorder::new(State::new(), file.clone().into()));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    recorder
                        .set(
                            &format!("ArcserveLicense/r{i}").into(),
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

    /// A recorder of a new state in `dir` that has recorded `a`.
    async fn with_a(dir: &std::path::Path) -> (StateFile, Recorder) {
        let file = StateFile::new(dir.join("s.json"));
        let recorder = Recorder::new(State::new(), file.clone().into());
        recorder
            .set(&"ArcserveLicense/a".into(), Some(record("a")))
            .await
            .unwrap();
        (file, recorder)
    }

    #[tokio::test]
    async fn after_a_failed_write_nothing_more_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (file, recorder) = with_a(dir.path()).await;
        let before = file.load().unwrap().unwrap();
        // A directory where the journal goes makes the next write fail,
        // even for root.
        std::fs::create_dir(file.journal_path()).unwrap();
        let err = recorder
            .set(&"ArcserveLicense/b".into(), Some(record("b")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("s.json.journal"), "{err}");
        std::fs::remove_dir_all(file.journal_path()).unwrap();
        assert!(
            recorder
                .set(&"ArcserveLicense/c".into(), Some(record("c")))
                .await
                .is_err()
        );
        assert_eq!(file.load().unwrap().unwrap(), before);
    }

    #[tokio::test]
    async fn changes_go_to_the_journal_and_are_folded_in_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let (file, recorder) = with_a(dir.path()).await;
        let first = std::fs::read(file.path()).unwrap();
        for name in ["b", "c", "d"] {
            recorder
                .set(
                    &format!("ArcserveLicense/{name}").into(),
                    Some(record(name)),
                )
                .await
                .unwrap();
        }
        recorder
            .set(&"ArcserveLicense/a".into(), None)
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            first,
            "the state file is not rewritten for each change"
        );
        let journal = std::fs::read_to_string(file.journal_path()).unwrap();
        assert_eq!(journal.lines().count(), 4, "{journal}");
        let read = file.load().unwrap().unwrap();
        assert_eq!(read, recorder.snapshot());
        assert_eq!(read.serial, 5);

        recorder.finish().await.unwrap();
        assert!(!file.journal_path().exists());
        let whole: State = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        assert_eq!(
            whole
                .resources
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "ArcserveLicense/b",
                "ArcserveLicense/c",
                "ArcserveLicense/d"
            ]
        );
        assert_eq!(whole.serial, 6);
        assert_eq!(recorder.snapshot().serial, 6);
    }

    #[tokio::test]
    async fn an_orphaning_forget_is_one_whole_write_of_the_removal_and_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let (file, recorder) = with_a(dir.path()).await;
        let kept = ResourceState {
            lifecycle: crate::state::model::RecordedLifecycle {
                orphan_on_delete: true,
                ..Default::default()
            },
            ..record("kept")
        };
        for (name, record) in [("b", record("b")), ("kept", kept)] {
            recorder
                .set(&format!("ArcserveLicense/{name}").into(), Some(record))
                .await
                .unwrap();
        }
        assert!(file.journal_path().exists(), "changes go to the journal");
        recorder.forget(&"ArcserveLicense/b".into()).await.unwrap();
        assert!(recorder.snapshot().orphaned.is_empty(), "b was not Orphan");
        recorder
            .forget(&"ArcserveLicense/kept".into())
            .await
            .unwrap();
        // The state file alone, journal folded in and gone, holds both: a
        // run killed at any instant has the record or the entry, never
        // neither.
        assert!(!file.journal_path().exists());
        let whole: State = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        assert_eq!(whole, recorder.snapshot());
        assert!(!whole.resources.contains_key(&"ArcserveLicense/kept".into()));
        assert_eq!(whole.orphaned.len(), 1);
        assert_eq!(whole.orphaned[0].remote_id, "kept");
        assert_eq!(
            whole.orphaned[0].address.to_string(),
            "ArcserveLicense/kept"
        );
        // Bound again, the entry goes at the end of the apply.
        recorder
            .set(&"ArcserveLicense/again".into(), Some(record("kept")))
            .await
            .unwrap();
        recorder.finish().await.unwrap();
        let whole: State = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        assert!(whole.orphaned.is_empty(), "{:?}", whole.orphaned);
    }

    #[tokio::test]
    async fn a_journal_larger_than_the_state_is_folded_in() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("s.json"));
        let recorder = Recorder::new(State::new(), file.clone().into());
        let big = |i: usize| ResourceState {
            attributes: serde_json::json!({ "note": "x".repeat(1 << 20), "i": i }),
            ..record("big")
        };
        recorder
            .set(&"ArcserveLicense/big".into(), Some(big(0)))
            .await
            .unwrap();
        let mut largest = 0;
        for i in 1..12 {
            recorder
                .set(&"ArcserveLicense/big".into(), Some(big(i)))
                .await
                .unwrap();
            let len = std::fs::metadata(file.journal_path()).map_or(0, |m| m.len());
            largest = largest.max(len);
        }
        assert!(largest > 0, "changes went to the journal");
        assert!(
            largest <= FOLD_AT_LEAST + (2 << 20),
            "the journal was folded once it passed {FOLD_AT_LEAST} bytes: it reached {largest}"
        );
        let read = file.load().unwrap().unwrap();
        assert_eq!(
            read.resources[&"ArcserveLicense/big".into()].attributes["i"],
            11
        );
    }
}
