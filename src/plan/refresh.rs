//! Refresh: the only I/O of planning. Every provider reads what the
//! manifests and the state put in play, all of them at once, each with the
//! fewest calls its API allows (see each provider's `observe.rs`).

use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::redstor::RedstorAccess;
use crate::manifest::Desired;
use crate::resources::provider::{Clients, Manifests, Purpose, Recorded, RefreshScope};
use crate::resources::{self, Live};
use crate::state::State;

/// Reads everything the manifests and the state put in play, for
/// `purpose`, with the manifests already loaded.
pub async fn refresh(
    desired: &Desired,
    state: &State,
    ecl: &EclClients,
    redstor: &RedstorAccess,
    purpose: Purpose,
) -> Result<Live, ApiError> {
    let scope = RefreshScope {
        manifests: Manifests::Loaded(desired),
        state: Recorded::Loaded(state),
        purpose,
    };
    resources::refresh(scope, Clients { ecl, redstor }).await
}
