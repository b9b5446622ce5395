//! Dispatch from a plan operation to the code that carries it out: generic
//! operations here, kind-specific ones in the kind's module.

use super::context::{ApplyError, Context};
use crate::plan::model::{Action, Operation};

/// Carries out one action; a short description on success, the reason on
/// failure (which names the action's resource and says what to do).
pub async fn run(action: &Action, context: &Context) -> Result<String, ApplyError> {
    match &action.operation {
        Operation::Forget => {
            for address in &action.addresses {
                context
                    .recorder
                    .set(address, None)
                    .await
                    .map_err(|source| ApplyError::Record {
                        source,
                        then: "nothing on the server changes",
                    })?;
            }
            Ok("removed from the state; the object stays".into())
        }
        Operation::RecordLifecycle { lifecycle } => {
            context
                .recorder
                .change_each(action.addresses.iter().map(String::as_str), |_, record| {
                    if let Some(record) = record {
                        record.lifecycle = lifecycle.clone();
                    }
                })
                .await
                .map_err(|source| ApplyError::Record {
                    source,
                    then: "nothing on the server changes",
                })?;
            Ok("lifecycle recorded in the state".into())
        }
        Operation::SubmitProposal(_) => crate::resources::proposal::apply(action, context).await,
        Operation::CreateCompany(_)
        | Operation::UpdateCompany { .. }
        | Operation::ReplaceCompany { .. }
        | Operation::DeleteCompany { .. }
        | Operation::CreateSubscription(_)
        | Operation::ConvertTrial { .. }
        | Operation::ReplaceSubscription { .. }
        | Operation::DeleteSubscription { .. }
        | Operation::Bind { .. } => crate::resources::redstor::apply(action, context).await,
        _ => crate::resources::arcserve_license::apply(action, context).await,
    }
}
