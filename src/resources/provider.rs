//! The contract of a provider: one per API family (Arcserve licenses,
//! proposals, Redstor with its two kinds), everything the core asks of it.
//!
//! The core (refresh, the planner, the executor, drift, import) never names
//! a kind: it goes through the functions that `providers!` generates from
//! one line per provider, which match over every provider with no `_` arm,
//! so a provider that is missed does not compile.

use std::fmt::Debug;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::SetOnce;

use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::redstor::RedstorAccess;
use crate::apply::context::{ApplyError, Context as ApplyContext};
use crate::manifest::{Desired, Resource};
use crate::plan::contract::{Context as PlanContext, KindPlan};
use crate::plan::model::Action;
use crate::report::drift::DriftReport;
use crate::resources::Kind;
use crate::state::model::RecordedKinds;
use crate::state::{ResourceState, State};

/// The API clients a provider may use; each takes what it needs.
#[derive(Clone, Copy)]
pub struct Clients<'a> {
    pub ecl: &'a EclClients,
    /// The RedAPI client, or why there is none.
    pub redstor: &'a RedstorAccess,
}

/// Why refresh runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// For a plan: what the manifests and the state put in play, and what
    /// the planning rules need (a tenant's orders when an upgrade is in
    /// sight).
    Plan,
    /// For drift: also the scopes the manifests declare, to list what is in
    /// them unmanaged; nothing only the planning rules need.
    Drift,
}

/// What planning, drift and import look from (refresh: [`RefreshScope`]).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub desired: &'a Desired,
    pub state: &'a State,
    pub purpose: Purpose,
}

/// What refresh reads from: the state and the manifests, either of which
/// may still be loading when it starts. A provider may start what the
/// kinds the state records settle at once, and wait for the rest.
#[derive(Clone, Copy)]
pub struct RefreshScope<'a> {
    pub manifests: Manifests<'a>,
    pub state: Recorded<'a>,
    pub purpose: Purpose,
}

/// The state, read or on its way.
#[derive(Clone, Copy)]
pub enum Recorded<'a> {
    Loaded(&'a State),
    /// Parsing: the caller [`set`](SetOnce::set)s it when it is read.
    Arriving {
        /// The kinds of its records, when told before they are read.
        kinds: Option<&'a RecordedKinds>,
        slot: &'a SetOnce<State>,
    },
}

impl<'a> Recorded<'a> {
    /// The state, once read.
    pub async fn loaded(self) -> &'a State {
        match self {
            Recorded::Loaded(state) => state,
            Recorded::Arriving { slot, .. } => slot.wait().await,
        }
    }

    /// Whether a record is of a kind `wanted` picks, as soon as that can be
    /// told.
    pub async fn records_any(self, wanted: impl Fn(Kind) -> bool) -> bool {
        match self {
            Recorded::Arriving {
                kinds: Some(kinds), ..
            } => kinds.any(wanted),
            Recorded::Loaded(_) | Recorded::Arriving { kinds: None, .. } => {
                self.loaded().await.records_any(wanted)
            }
        }
    }
}

/// The manifests, loaded or on their way.
#[derive(Clone, Copy)]
pub enum Manifests<'a> {
    Loaded(&'a Desired),
    /// Loading: the caller [`set`](SetOnce::set)s them when they are.
    Arriving(&'a SetOnce<Desired>),
}

impl<'a> Manifests<'a> {
    /// The manifests, once loaded.
    pub async fn loaded(self) -> &'a Desired {
        match self {
            Manifests::Loaded(desired) => desired,
            Manifests::Arriving(slot) => slot.wait().await,
        }
    }
}

impl<'a> RefreshScope<'a> {
    /// The scope of drift and planning, once the manifests and the state
    /// are loaded.
    pub async fn loaded(self) -> Scope<'a> {
        let (desired, state) = tokio::join!(self.manifests.loaded(), self.state.loaded());
        Scope {
            desired,
            state,
            purpose: self.purpose,
        }
    }
}

/// One API family: what it reads, plans, carries out, imports and reports.
pub trait Provider {
    /// What refresh saw: this provider's part of `Live`.
    type Live: Clone + Debug + Default + Send + Sync;
    /// What apply carries out: this provider's part of `Operation`, as it
    /// is written into a plan file (tagged `op`, kebab-case, each tag
    /// unique among every provider's).
    type Operation: Clone
        + Debug
        + PartialEq
        + Serialize
        + DeserializeOwned
        + schemars::JsonSchema
        + Send
        + Sync;

    /// Reads what `scope` puts in play, with the fewest calls the API
    /// allows; nothing at all when none of its kinds is in play.
    fn refresh(
        scope: RefreshScope<'_>,
        clients: Clients<'_>,
    ) -> impl Future<Output = Result<Self::Live, ApiError>> + Send;

    /// Plans its kinds: the pure diff of the manifests and the state
    /// against `live`.
    fn plan(context: &PlanContext<'_>, live: &Self::Live) -> KindPlan;

    /// Carries out one of its operations, recording each change in the
    /// state before going on; a short description of what was done.
    fn apply(
        operation: &Self::Operation,
        action: &Action,
        context: &ApplyContext,
    ) -> impl Future<Output = Result<String, ApplyError>> + Send;

    /// Whether `operation` destroys data at the vendor, and so runs only
    /// with `--allow-replace`.
    fn destroys_data(operation: &Self::Operation) -> bool;

    /// The customer data carrying out `operation` destroys at the vendor,
    /// as a phrase for a reviewer (`the company's backups at Redstor are
    /// deleted`); `None` when it destroys none.
    fn data_lost(operation: &Self::Operation) -> Option<&'static str>;

    /// Binds the declared `resource` to the existing object `remote_id`:
    /// the record to write.
    fn import(
        scope: Scope<'_>,
        resource: &Resource,
        remote_id: &str,
        clients: Clients<'_>,
    ) -> impl Future<Output = Result<ResourceState, crate::Error>> + Send;

    /// What changed outside entitle among its kinds: recorded attributes
    /// against `live`, objects gone, and objects in managed scopes that no
    /// record knows.
    fn drift(scope: Scope<'_>, live: &Self::Live, report: &mut DriftReport);
}

/// Declares the providers: the `Live` value (one field per provider), the
/// `ProviderOperation` enum (one variant per provider), `ProviderId`, and
/// the dispatch from the core to each provider.
macro_rules! providers {
    ($($variant:ident($field:ident): $provider:ty),+ $(,)?) => {
        /// A provider, by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ProviderId {
            $($variant),+
        }

        /// What refresh saw, one part per provider: a plain value, so the
        /// planner stays pure and tests can build one by hand.
        #[derive(Clone, Debug, Default)]
        pub struct Live {
            $(pub $field: <$provider as $crate::resources::Provider>::Live),+
        }

        /// A provider's operation. Untagged: each provider's operations
        /// carry their own `op` tag, so a plan file reads as one flat list.
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(untagged)]
        pub enum ProviderOperation {
            $($variant(<$provider as $crate::resources::Provider>::Operation)),+
        }

        $(
            impl From<<$provider as $crate::resources::Provider>::Operation>
                for $crate::plan::model::Operation
            {
                fn from(operation: <$provider as $crate::resources::Provider>::Operation) -> Self {
                    $crate::plan::model::Operation::Provider(ProviderOperation::$variant(operation))
                }
            }
        )+

        /// Reads what `scope` puts in play, every provider at once.
        pub async fn refresh(
            scope: $crate::resources::provider::RefreshScope<'_>,
            clients: $crate::resources::provider::Clients<'_>,
        ) -> Result<Live, $crate::api::ApiError> {
            let ($($field,)+) = tokio::try_join!(
                $(<$provider as $crate::resources::Provider>::refresh(scope, clients)),+
            )?;
            Ok(Live { $($field),+ })
        }

        /// Every provider's part of the plan, each on a thread of its own.
        pub fn plan(context: &$crate::plan::contract::Context<'_>) -> Vec<$crate::plan::contract::KindPlan> {
            let live = context.input.live;
            std::thread::scope(|threads| {
                let plans = [$(threads.spawn(|| {
                    <$provider as $crate::resources::Provider>::plan(context, &live.$field)
                })),+];
                plans.into_iter().map($crate::error::thread_result).collect()
            })
        }

        impl ProviderOperation {
            /// Carries out the operation through its provider.
            pub async fn apply(
                &self,
                action: &$crate::plan::model::Action,
                context: &$crate::apply::context::Context,
            ) -> Result<String, $crate::apply::context::ApplyError> {
                match self {
                    $(ProviderOperation::$variant(operation) => {
                        <$provider as $crate::resources::Provider>::apply(operation, action, context).await
                    })+
                }
            }

            /// Whether it destroys data at the vendor (`--allow-replace`).
            pub fn destroys_data(&self) -> bool {
                match self {
                    $(ProviderOperation::$variant(operation) => {
                        <$provider as $crate::resources::Provider>::destroys_data(operation)
                    })+
                }
            }

            /// The customer data it destroys at the vendor, in a phrase.
            pub fn data_lost(&self) -> Option<&'static str> {
                match self {
                    $(ProviderOperation::$variant(operation) => {
                        <$provider as $crate::resources::Provider>::data_lost(operation)
                    })+
                }
            }
        }

        impl ProviderId {
            /// Binds `resource` to `remote_id` through this provider.
            pub async fn import(
                self,
                scope: $crate::resources::provider::Scope<'_>,
                resource: &$crate::manifest::Resource,
                remote_id: &str,
                clients: $crate::resources::provider::Clients<'_>,
            ) -> Result<$crate::state::ResourceState, $crate::Error> {
                match self {
                    $(ProviderId::$variant => {
                        <$provider as $crate::resources::Provider>::import(scope, resource, remote_id, clients).await
                    })+
                }
            }
        }

        /// What every provider finds changed outside entitle.
        pub fn drift(
            scope: $crate::resources::provider::Scope<'_>,
            live: &Live,
        ) -> $crate::report::drift::DriftReport {
            let mut report = $crate::report::drift::DriftReport::default();
            $(<$provider as $crate::resources::Provider>::drift(scope, &live.$field, &mut report);)+
            report.heed_ignore_changes(scope.desired);
            report.heed_orphaned(scope.state);
            report
        }
    };
}

pub(crate) use providers;
