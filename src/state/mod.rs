//! The state: which remote object each address is bound to, what was last
//! applied to it, and the lock that keeps two runs apart.
//!
//! This module alone reads and writes state files. [`model`] is the value,
//! [`file`] reads and writes it atomically with a backup, [`journal`] records
//! an apply's changes between whole writes, [`lock`] is the lock file.

pub mod file;
pub mod journal;
pub mod lock;
pub mod model;
pub mod postgres;

pub use file::{StateError, StateFile};
pub use lock::{LockError, StateLock};
pub use model::{ResourceState, Scope, State, Status};
