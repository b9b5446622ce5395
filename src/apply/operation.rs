//! Dispatch from a plan operation to the code that carries it out: the
//! changes to the state alone here, a provider's operation through the
//! provider that planned it.

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
                    .forget(address)
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
                .change_each(&action.addresses, |_, record| {
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
        Operation::Provider(operation) => operation.apply(action, context).await,
    }
}
