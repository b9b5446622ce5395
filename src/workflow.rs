//! The steps `plan`, `apply`, `drift` and `import` share, as library calls:
//! load the manifests, take the lock, read the state, refresh what is in
//! play, plan, execute. The CLI resolves options and calls these; it does
//! not sequence the stages itself.

use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{SetOnce, watch};

use crate::Error;
use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::redstor::RedstorAccess;
use crate::apply::{self, ApplyOptions, ApplyReport, Observer, Recorder};
use crate::manifest::{self, Address, Desired};
use crate::plan::{self, DeclaredGraph, Live, Plan, PlanErrors, PlanInput};
use crate::policy::{PolicyReport, Rule, Stage};
use crate::report::drift::DriftReport;
use crate::resources;
use crate::resources::provider::{Clients, Manifests, Purpose, Recorded, RefreshScope, Scope};
use crate::state::{State, Status, Store, StoreLock};

/// Where a command reads manifests and state, and how it reaches the APIs.
pub struct Workspace {
    pub paths: Vec<PathBuf>,
    /// The workspace's state, in its backend.
    pub store: Store,
    pub lock_timeout: Duration,
    pub clients: EclClients,
    /// The RedAPI client, or why there is none.
    pub redstor: RedstorAccess,
}

/// What `plan` produced, with what it was made from.
pub struct Planned {
    pub desired: Desired,
    pub state: crate::state::State,
    /// Whether a state file existed (a new state has a fresh lineage).
    pub state_existed: bool,
    pub live: Live,
    pub plan: Plan,
}

/// What refresh read, with what it was read for.
struct Refreshed {
    desired: Desired,
    /// The manifests' dependency graph, made while refresh read (for a
    /// plan only).
    declared: Option<Result<DeclaredGraph, PlanErrors>>,
    state: State,
    /// Whether a state existed (a new state has a fresh lineage).
    state_existed: bool,
    live: Live,
}

/// What a blocking thread loading `what` left: its value, or its error.
fn loaded_on_thread<T, E: Into<Error>>(
    what: &str,
    loaded: Result<Result<T, E>, tokio::task::JoinError>,
) -> Result<T, Error> {
    match crate::error::task_result(loaded) {
        Some(value) => value.map_err(Into::into),
        None => Err(Error::usage(
            format!("loading {what} was cancelled: entitle is shutting down"),
            "run the command again",
        )),
    }
}

/// Runs `refreshing` while the manifests and the state load, handing each
/// to it through its slot as it arrives. A problem in the manifests is told
/// first (as soon as it is found), then one in the state, even when the
/// refresh failed before they arrived.
async fn refresh_as_inputs_arrive<T>(
    manifests: impl Future<Output = Result<Desired, Error>>,
    manifest_slot: &SetOnce<Desired>,
    state: impl Future<Output = Result<State, Error>>,
    state_slot: &SetOnce<State>,
    refreshing: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Error> {
    // The state's problem waits for the manifests; theirs ends it at once.
    let inputs = async {
        let ((), state) = tokio::try_join!(
            async { manifests.await.map(|desired| set(manifest_slot, desired)) },
            async { Ok(state.await.map(|state| set(state_slot, state))) },
        )?;
        state
    };
    let mut inputs = pin!(inputs);
    let mut refreshing = pin!(refreshing);
    let refreshed = tokio::select! {
        biased;
        arrived = &mut inputs => {
            arrived?;
            refreshing.await
        }
        // Only a failure ends refresh before the inputs arrive.
        early = &mut refreshing => {
            inputs.await?;
            early
        }
    };
    Ok(refreshed?)
}

/// Hands a loaded input to the refresh waiting for it (set once).
fn set<T>(slot: &SetOnce<T>, value: T) {
    let set = slot.set(value);
    debug_assert!(set.is_ok(), "each input arrives once");
}

/// What the manifests' policy (if any) says of `plan`, made from
/// `desired` against `state`, at `stage`, now.
pub fn judge(
    desired: &Desired,
    state: &crate::state::State,
    plan: &Plan,
    stage: Stage,
    overrides: &[Rule],
) -> Option<PolicyReport> {
    let policy = desired.policy.as_ref()?;
    Some(crate::policy::evaluate(
        policy,
        plan,
        desired,
        state,
        jiff::Timestamp::now(),
        stage,
        overrides,
    ))
}

impl Workspace {
    /// The API clients, as the providers take them.
    fn api(&self) -> Clients<'_> {
        Clients {
            ecl: &self.clients,
            redstor: &self.redstor,
        }
    }

    pub fn load(&self) -> Result<Desired, Error> {
        Ok(manifest::load(&self.paths)?)
    }

    /// The manifests, the stored state and what refresh read of them for
    /// `purpose`. The manifests parse on a blocking thread, and so do the
    /// state file's records once its header is read; refresh starts then: a
    /// provider may read what the kinds the state records settle while both
    /// are still parsing (Redstor does). A problem in the manifests is told
    /// first, then one in the state, then the refresh's.
    async fn load_and_refresh(&self, purpose: Purpose) -> Result<Refreshed, Error> {
        // A state file's header is read in milliseconds and tells when the
        // refresh can start, so it goes first, with the cores to itself; a
        // database's state comes over the network while the manifests parse.
        let local = self.store.opens_locally();
        let opened_first = if local {
            Some(self.store.open().await)
        } else {
            None
        };
        let paths = self.paths.clone();
        let parsing = tokio::task::spawn_blocking(move || {
            let desired = manifest::load(&paths)?;
            let declared = (purpose == Purpose::Plan).then(|| DeclaredGraph::of(&desired));
            Ok::<_, manifest::Diagnostics>((desired, declared))
        });
        let declared = std::sync::OnceLock::new();
        let manifests = async {
            let (desired, graph) = loaded_on_thread("the manifests", parsing.await)?;
            _ = declared.set(graph);
            Ok(desired)
        };
        let opened = match opened_first {
            Some(opened) => opened,
            None => self.store.open().await,
        };
        let opened = match opened {
            Ok(opened) => opened,
            Err(failed) => {
                manifests.await?;
                return Err(failed.into());
            }
        };
        let records = async { loaded_on_thread("the state", opened.records.read().await) };
        let (manifest_slot, state_slot) = (SetOnce::new(), SetOnce::new());
        let live = {
            let scope = RefreshScope {
                manifests: Manifests::Arriving(&manifest_slot),
                state: Recorded::Arriving {
                    kinds: opened.kinds.as_ref(),
                    slot: &state_slot,
                },
                purpose,
            };
            let refreshing = resources::refresh(scope, self.api());
            refresh_as_inputs_arrive(manifests, &manifest_slot, records, &state_slot, refreshing)
                .await?
        };
        let arrived = "the inputs are set before refresh is over";
        Ok(Refreshed {
            desired: manifest_slot.into_inner().expect(arrived),
            declared: declared.into_inner().flatten(),
            state: state_slot.into_inner().expect(arrived),
            state_existed: opened.existed,
            live,
        })
    }

    /// Takes the state lock, waiting up to the lock timeout.
    pub async fn lock(&self, operation: &str) -> Result<StoreLock, Error> {
        self.store.lock(operation, self.lock_timeout).await
    }

    /// Loads everything and plans. The caller holds the lock.
    pub async fn plan(&self, targets: &[Address]) -> Result<Planned, Error> {
        self.plan_replacing(targets, &[]).await
    }

    /// [`plan`](Self::plan), replacing `replace` even where nothing forces
    /// it (`--replace`).
    pub async fn plan_replacing(
        &self,
        targets: &[Address],
        replace: &[Address],
    ) -> Result<Planned, Error> {
        let Refreshed {
            desired,
            declared,
            state,
            state_existed,
            live,
        } = self.load_and_refresh(Purpose::Plan).await?;
        let declared = match declared {
            Some(declared) => declared?,
            None => DeclaredGraph::of(&desired)?,
        };
        let input = PlanInput {
            desired: &desired,
            prior: &state,
            live: &live,
            targets,
            replace,
        };
        let mut plan = plan::plan_with(&input, &declared)?;
        plan.policy = judge(&desired, &state, &plan, Stage::Plan, &[]);
        Ok(Planned {
            desired,
            state,
            state_existed,
            live,
            plan,
        })
    }

    /// Carries out `plan` against `state`, recording in the state as it goes.
    pub async fn apply(
        &self,
        plan: &Plan,
        state: crate::state::State,
        options: ApplyOptions,
        observer: Arc<dyn Observer>,
        cancel: watch::Receiver<bool>,
    ) -> ApplyReport {
        let context = Arc::new(apply::Context {
            clients: self.clients.clone(),
            redstor: self.redstor.clone(),
            recorder: Recorder::new(state, self.store.sink("apply")),
            options,
        });
        apply::execute(plan, context, observer, cancel).await
    }

    /// Reads the live state of every tenant the state or the manifests
    /// know, and compares it with the state.
    pub async fn drift(&self) -> Result<DriftReport, Error> {
        let Refreshed {
            desired,
            state,
            live,
            ..
        } = self.load_and_refresh(Purpose::Drift).await?;
        let scope = Scope {
            desired: &desired,
            state: &state,
            purpose: Purpose::Drift,
        };
        let mut report = resources::drift(scope, &live);
        if let Some(policy) = &desired.policy {
            report.heed_drift_ignore(|item| policy.ignores_unmanaged(&desired, &state, item));
        }
        Ok(report)
    }

    /// `apply --refresh-only`: records the drift in the state (the caller
    /// holds the lock). Returns the report and how many records changed.
    pub async fn accept_drift(
        &self,
        confirm: impl FnOnce(&DriftReport) -> Result<bool, Error>,
    ) -> Result<(DriftReport, usize), Error> {
        let report = self.drift().await?;
        if !report.recordable() {
            return Ok((report, 0));
        }
        if !confirm(&report)? {
            return Ok((report, 0));
        }
        let mut state = self.store.load_or_new().await?;
        let touched = report.accept_into(&mut state);
        self.store.write(&mut state, "apply --refresh-only").await?;
        Ok((report, touched))
    }

    /// Binds `address` to the existing object `remote_id`.
    pub async fn import(&self, address: &Address, remote_id: &str) -> Result<String, Error> {
        let desired = self.load()?;
        let mut state = self.store.load_or_new().await?;
        // A `creating` record without an id (a create whose answer was lost)
        // may be bound by hand; anything else must be removed first.
        if state
            .get(address)
            .is_some_and(|r| r.remote_id.is_some() || r.status != Status::Creating)
        {
            return Err(Error::usage(
                format!(
                    "{address} is already in the state {}",
                    self.store.describe()
                ),
                format!(
                    "`entitle state rm {address}` first if it should be bound to another object"
                ),
            ));
        }
        let Some(resource) = desired.get(address) else {
            return Err(Error::usage(
                format!(
                    "{address} is not declared in the manifests at {}",
                    self.paths
                        .iter()
                        .map(|p| format!("`{}`", p.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "write its manifest first: import binds a declared resource to an existing object",
            ));
        };
        let bound_elsewhere = |id: &str| {
            state
                .resources
                .iter()
                .find(|(other, r)| r.remote_id.as_deref() == Some(id) && *other != address)
                .map(|(other, _)| other.clone())
        };
        if let Some(other) = bound_elsewhere(remote_id) {
            return Err(Error::usage(
                format!("{remote_id} is already bound to {other}"),
                format!("`entitle state mv {other} {address}` moves the binding"),
            ));
        }
        let Some(provider) = address.kind.provider() else {
            return Err(Error::usage(
                format!("{} resources cannot be imported", address.kind),
                "a tenant is a scope, not a remote object: declare it, there is nothing to import",
            ));
        };
        let scope = Scope {
            desired: &desired,
            state: &state,
            purpose: Purpose::Plan,
        };
        let record = provider
            .import(scope, resource, remote_id, self.api())
            .await?;
        // The id as the server spells it (typed in another case, or with
        // other hyphens, it may still name a bound object).
        if let Some(other) = record.remote_id.as_deref().and_then(bound_elsewhere) {
            return Err(Error::usage(
                format!("{remote_id} is already bound to {other}"),
                format!("`entitle state mv {other} {address}` moves the binding"),
            ));
        }
        state.resources.insert(address.clone(), record);
        self.store
            .write(&mut state, &format!("import {address}"))
            .await?;
        Ok(format!("{address} is now bound to {remote_id}"))
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    fn refused() -> ApiError {
        ApiError::Auth {
            message: "RedAPI refused the credentials".into(),
            hint: "check them".into(),
        }
    }

    /// Manifests that arrive only once the refresh has failed.
    async fn after_refresh_failed(
        failed: oneshot::Receiver<()>,
        manifests: Result<Desired, Error>,
    ) -> Result<Desired, Error> {
        failed.await.expect("the refresh fails first");
        manifests
    }

    async fn failing_refresh(failed: oneshot::Sender<()>) -> Result<(), ApiError> {
        failed.send(()).expect("the manifests wait");
        Err(refused())
    }

    /// The state, read at once.
    async fn state_read() -> Result<State, Error> {
        Ok(State::new())
    }

    #[tokio::test]
    async fn a_manifest_problem_is_told_even_when_refresh_failed_first() {
        let (tx, rx) = oneshot::channel();
        let bad = Err(Error::usage("the manifests are broken", "mend them"));
        let (slot, state_slot) = (SetOnce::new(), SetOnce::new());
        let told = refresh_as_inputs_arrive(
            after_refresh_failed(rx, bad),
            &slot,
            state_read(),
            &state_slot,
            failing_refresh(tx),
        )
        .await
        .unwrap_err();
        assert_tells(&told, "the manifests are broken");
    }

    #[tokio::test]
    async fn a_state_problem_is_told_after_the_manifests_and_before_the_refresh() {
        let (tx, rx) = oneshot::channel();
        let (slot, state_slot) = (SetOnce::new(), SetOnce::new());
        let sound = after_refresh_failed(rx, Ok(Desired::default()));
        let broken = async { Err(Error::usage("the state is broken", "restore it")) };
        let told = refresh_as_inputs_arrive(sound, &slot, broken, &state_slot, failing_refresh(tx))
            .await
            .unwrap_err();
        assert_tells(&told, "the state is broken");

        let bad = broken_manifests();
        let broken = async { Err(Error::usage("the state is broken", "restore it")) };
        let waiting = async { Ok::<_, ApiError>(state_slot.wait().await.serial) };
        let told = within_a_second(refresh_as_inputs_arrive(
            bad,
            &slot,
            broken,
            &SetOnce::new(),
            waiting,
        ))
        .await
        .unwrap_err();
        assert_tells(&told, "the manifests are broken");
    }

    #[tokio::test]
    async fn a_manifest_problem_is_told_without_waiting_for_the_state() {
        let bad = broken_manifests();
        let (slot, state_slot) = (SetOnce::new(), SetOnce::<State>::new());
        let never = std::future::pending::<Result<State, Error>>();
        let waiting = async { Ok::<_, ApiError>(state_slot.wait().await.serial) };
        let told = within_a_second(refresh_as_inputs_arrive(
            bad,
            &slot,
            never,
            &state_slot,
            waiting,
        ))
        .await
        .unwrap_err();
        assert_tells(&told, "the manifests are broken");
    }

    async fn broken_manifests() -> Result<Desired, Error> {
        Err(Error::usage("the manifests are broken", "mend them"))
    }

    #[track_caller]
    fn assert_tells(told: &Error, what: &str) {
        assert!(told.to_string().contains(what), "{told}");
    }

    /// `future`'s output; a hang fails the test instead of holding it.
    async fn within_a_second<T>(future: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(1), future)
            .await
            .expect("refresh_as_inputs_arrive hung")
    }

    #[tokio::test]
    async fn with_sound_inputs_the_refresh_failure_is_told() {
        let (tx, rx) = oneshot::channel();
        let (slot, state_slot) = (SetOnce::new(), SetOnce::new());
        let sound = after_refresh_failed(rx, Ok(Desired::default()));
        let told =
            refresh_as_inputs_arrive(sound, &slot, state_read(), &state_slot, failing_refresh(tx))
                .await
                .unwrap_err();
        assert_tells(&told, "refused the credentials");
        assert!(slot.initialized(), "the manifests were handed over");
        assert!(state_slot.initialized(), "the state was handed over");
    }

    #[tokio::test]
    async fn refresh_waiting_for_the_inputs_gets_them() {
        let (slot, state_slot) = (SetOnce::new(), SetOnce::new());
        let waiting = async {
            let desired: &Desired = slot.wait().await;
            let state: &State = state_slot.wait().await;
            Ok::<_, ApiError>((desired.resources.len(), state.resources.len()))
        };
        let manifests = async { Ok(Desired::default()) };
        let read = refresh_as_inputs_arrive(manifests, &slot, state_read(), &state_slot, waiting)
            .await
            .unwrap();
        assert_eq!(read, (0, 0));
    }
}
