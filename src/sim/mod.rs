//! The API simulator: a real HTTP server that speaks the vendors' APIs as
//! `API.md` describes them, so that anyone can try entitle, and every test
//! can exercise it, without an account.
//!
//! One port serves Keystone (`/v3/auth/tokens`), the Arcserve UDP API v2
//! (`/v2/arcserve-udp/...`), the ECL Proposal API v1 (`/v1/proposal/...`)
//! and the Redstor RedAPI v1 at its own root paths (`/connect/token`,
//! `/companies/...`, `/users/list`, `/products/...`; see [`redstor`] and
//! [`RedstorAccount`]); `/_sim/...` controls the simulator itself
//! (metrics, faults, behaviours, clock, reset, dump). It validates like the vendor
//! documents say, answers with their status codes and error bodies, keeps
//! its data in memory or in a JSON file, and can inject latency, 500s, 429s
//! and responses dropped after the change was made.
//!
//! It spells the vendors' JSON itself and shares no wire type with the
//! clients in `crate::api`.

mod arcserve;
mod behaviour;
pub mod catalog;
mod control;
mod keystone;
mod proposal;
pub(crate) mod proposal_xml;
pub mod redstor;
mod reply;
mod server;
mod store;
mod text;

use crate::hint::HINT;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use behaviour::{Behaviour, Behaviours};
pub use redstor::RedstorAccount;
use store::Store;

/// How a simulator starts.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Keep the whole store in this JSON file (loaded at start, rewritten
    /// after every change).
    pub data: Option<PathBuf>,
    /// How long a license stays `Provisioning`, and `Deleting`.
    pub provisioning_delay: Duration,
    /// How long a Keystone token lives.
    pub token_ttl: Duration,
    /// Faults from the start.
    pub faults: Faults,
    /// Documented behaviours other than the default, from the start.
    pub behaviours: Behaviours,
    /// The Redstor service account to trust. When absent: the key beside
    /// `data` (`<data>.redstor-key.pem`, made on first start), or, without
    /// `data`, one generated in memory when first needed.
    pub redstor_account: Option<RedstorAccount>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            data: None,
            provisioning_delay: Duration::from_secs(2),
            token_ttl: Duration::from_secs(3600),
            faults: Faults::default(),
            behaviours: Behaviours::default(),
            redstor_account: None,
        }
    }
}

/// Injected faults, for every API route (not `/_sim`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Every request's response time, in milliseconds: the answer leaves
    /// this long after the request arrived, the simulator's own work done
    /// within it.
    pub latency_ms: u64,
    /// Fraction answered 500 before anything is done.
    pub error_rate: f64,
    /// Fraction answered 429 with `Retry-After` before anything is done.
    pub rate_429: f64,
    /// The `Retry-After` of those 429s, in seconds.
    pub retry_after_secs: u64,
    /// Fraction carried out, then answered by closing the connection.
    pub drop_rate: f64,
    /// Only this route (`"POST /v1/proposal/update/{tenant_id}"`, as
    /// `/_sim/metrics` names it) gets the faults; every route when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the simulator could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}{HINT}move the file away to start with an empty simulator")]
    Data(String),
    #[error("{0}")]
    Key(String),
}

/// What every handler shares.
pub(crate) struct Shared {
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    behaviours: Mutex<Behaviours>,
    metrics: Mutex<BTreeMap<String, u64>>,
    provisioning_delay: Duration,
    token_ttl: Duration,
    data: Option<PathBuf>,
    redstor: OnceLock<RedstorAccount>,
}

impl Shared {
    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        Self::lock(&self.store)
    }

    pub(crate) fn faults(&self) -> Faults {
        Self::lock(&self.faults).clone()
    }

    pub(crate) fn behaviours(&self) -> Behaviours {
        Self::lock(&self.behaviours).clone()
    }

    /// Whether a documented-but-unchosen behaviour is switched on.
    pub(crate) fn behaves(&self, behaviour: Behaviour) -> bool {
        Self::lock(&self.behaviours).has(behaviour)
    }

    /// Writes the data file, when there is one. Called after every change.
    pub(crate) fn persist(&self) {
        let Some(path) = &self.data else { return };
        let bytes = match serde_json::to_vec(&*self.store()) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!("could not serialise the simulator's data: {err}");
                return;
            }
        };
        if let Err(err) = Store::save(&bytes, path) {
            tracing::error!("could not write {}: {err}", path.display());
        }
    }

    /// The trusted Redstor account, generated on first use when the
    /// configuration gave none.
    pub(crate) fn redstor_account(&self) -> Result<&RedstorAccount, SimError> {
        if let Some(account) = self.redstor.get() {
            return Ok(account);
        }
        let account = RedstorAccount::generate()?;
        Ok(self.redstor.get_or_init(|| account))
    }

    fn count(&self, key: String) {
        *Self::lock(&self.metrics).entry(key).or_default() += 1;
    }
}

/// A running simulator.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds `listen` (e.g. `127.0.0.1:0`) and serves in the background on
    /// the current tokio runtime.
    pub async fn start(listen: SocketAddr, config: SimConfig) -> Result<Simulator, SimError> {
        let mut store = match &config.data {
            Some(path) => Store::load(path).map_err(SimError::Data)?,
            None => Store::default(),
        };
        let now = store.now();
        let seeded = store.redstor.seed(None, now);
        let redstor = OnceLock::new();
        match (config.redstor_account, &config.data) {
            (Some(account), _) => {
                let _ = redstor.set(account);
            }
            (None, Some(path)) => {
                let _ = redstor.set(RedstorAccount::load_or_create(&redstor::key_path(path))?);
            }
            (None, None) => {}
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Mutex::new(config.faults),
            behaviours: Mutex::new(config.behaviours),
            metrics: Mutex::new(BTreeMap::new()),
            provisioning_delay: config.provisioning_delay,
            token_ttl: config.token_ttl,
            data: config.data,
            redstor,
        });
        if seeded {
            shared.persist();
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let router = server::router(shared.clone());
        let task = tokio::spawn(server::serve(listener, router, stopped));
        tracing::info!("simulator listening on http://{addr}");
        Ok(Simulator {
            addr,
            shared,
            stop,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Moves the simulated clock forward (what `PUT /_sim/clock` does).
    pub fn advance_clock(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut store = self.shared.store();
        store.clock_offset_ms = store.clock_offset_ms.saturating_add(millis);
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Redstor service account the simulator trusts.
    ///
    /// # Panics
    /// When none was configured and the operating system cannot supply the
    /// randomness to generate one.
    pub fn redstor_account(&self) -> &RedstorAccount {
        match self.shared.redstor_account() {
            Ok(account) => account,
            Err(err) => panic!("{err}"),
        }
    }

    /// The id of the Redstor root company, lower-case and hyphenated.
    pub fn redstor_root_company_id(&self) -> String {
        self.shared
            .store()
            .redstor
            .root()
            .map(|c| c.id.to_string())
            .unwrap_or_default()
    }

    /// `{base_url}/connect/token`.
    pub fn redstor_token_url(&self) -> String {
        format!("{}/connect/token", self.base_url())
    }

    /// `{base_url}/`, with the trailing slash.
    pub fn redstor_api_url(&self) -> String {
        format!("{}/", self.base_url())
    }

    /// Stops accepting, lets in-flight requests finish, writes the data file.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.shared.persist();
    }
}
