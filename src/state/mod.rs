//! The state: which remote object each address is bound to, what was last
//! applied to it, and the lock that keeps two runs apart.
//!
//! This module alone reads and writes state. [`model`] is the value;
//! [`store`] is the one interface every command goes through, over two
//! backends: [`file`] reads and writes a state file atomically with a
//! backup, [`journal`] records an apply's changes between whole writes and
//! [`lock`] is its lock file; [`postgres`] keeps workspaces, history and
//! locks in a PostgreSQL database.

pub mod file;
pub mod journal;
pub mod lock;
pub mod migrate;
pub mod model;
pub mod postgres;
pub mod store;

pub use file::{StateError, StateFile};
pub use lock::{LockError, StateLock};
pub use model::{Orphaned, ResourceState, Scope, State, Status};
pub use store::{Backend, DEFAULT_WORKSPACE, Sink, Store, StoreLock};
