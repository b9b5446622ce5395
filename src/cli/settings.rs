//! One settings value for the commands that touch state and APIs, resolved
//! once: flags first, then the environment, then defaults.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use super::GlobalArgs;
use crate::Error;
use crate::api::ecl::EclClients;
use crate::api::http::{HttpClient, HttpConfig, RequestObserver};
use crate::api::keystone::{EclCredentials, Keystone};
use crate::api::redstor::RedstorAccess;
use crate::state::{Backend, Store};
use crate::workflow::Workspace;

/// `ENTITLE_ECL_ENDPOINT`: send every ECL request to this host.
pub const ECL_ENDPOINT_VAR: &str = "ENTITLE_ECL_ENDPOINT";

/// The state file when neither --state nor --backend names one.
pub const DEFAULT_STATE: &str = "entitle.state.json";

/// Where the state is kept: `--backend`, or the file of `--state`.
pub fn backend(global: &GlobalArgs) -> Result<Backend, Error> {
    match (&global.backend, &global.state) {
        (Some(_), Some(_)) => Err(Error::usage(
            "both --backend (or ENTITLE_BACKEND) and --state (or ENTITLE_STATE) are set",
            "name the state once: --backend file:PATH is the same as --state PATH",
        )),
        (Some(url), None) => Ok(Backend::from_url(url)?),
        (None, Some(path)) => Ok(Backend::File(path.clone())),
        (None, None) => Ok(Backend::File(PathBuf::from(DEFAULT_STATE))),
    }
}

/// The workspace's state, opened in its backend (which, for PostgreSQL,
/// connects: call it inside the runtime that will use it).
pub async fn store(global: &GlobalArgs) -> Result<Store, Error> {
    Ok(backend(global)?.open(&global.workspace).await?)
}

/// Where `store`'s state is, as a saved plan records it.
pub fn place(store: &Store) -> crate::plan::saved::StatePlace {
    crate::plan::saved::StatePlace {
        backend: store.backend_identity(),
        workspace: store.workspace().to_string(),
    }
}

/// Builds the workspace for manifests at `paths`, with credentials from the
/// `OS_*` environment.
pub async fn workspace(global: &GlobalArgs, paths: Vec<PathBuf>) -> Result<Workspace, Error> {
    observed_workspace(global, paths, None).await
}

/// [`workspace`], its API clients telling `observer` of every request.
pub async fn observed_workspace(
    global: &GlobalArgs,
    paths: Vec<PathBuf>,
    observer: Option<Arc<dyn RequestObserver>>,
) -> Result<Workspace, Error> {
    let mut http = HttpClient::new(HttpConfig::default())?;
    if let Some(observer) = observer {
        http = http.observed_by(observer);
    }
    let credentials = EclCredentials::from_env_or_missing()?;
    let endpoint = std::env::var(ECL_ENDPOINT_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty());
    if let Some(endpoint) = &endpoint {
        crate::api::http::checked_base_url(endpoint, ECL_ENDPOINT_VAR)?;
    }
    let keystone = Arc::new(Keystone::new(http.clone(), credentials));
    Ok(Workspace {
        paths,
        store: store(global).await?,
        lock_timeout: global.lock_timeout,
        clients: EclClients::new(http.clone(), keystone, endpoint),
        redstor: RedstorAccess::from_env(http),
    })
}

/// Whether to colour stdout.
pub fn color_stdout(global: &GlobalArgs) -> bool {
    match global.color {
        super::ColorChoice::Always => true,
        super::ColorChoice::Never => false,
        super::ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Whether to draw progress on stderr.
pub fn show_progress(global: &GlobalArgs) -> bool {
    !global.no_progress && !global.quiet && std::io::stderr().is_terminal()
}

/// Manifest paths, defaulting to the current directory.
pub fn paths_or_cwd(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    }
}

/// The RedAPI client of the `REDSTOR_*` environment, for the commands that
/// need nothing else (no ECL credentials asked for).
pub fn redstor_client() -> Result<crate::api::redstor::RedstorClient, Error> {
    let http = HttpClient::new(HttpConfig::default())?;
    Ok(crate::api::redstor::RedstorClient::from_env(http)?)
}
