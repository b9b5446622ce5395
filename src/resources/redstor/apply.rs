//! Carrying out Redstor operations. A create writes a `creating` record
//! first; a lost answer is resolved by reading back (a company by its name
//! under its parent, a subscription by its product in its company), never by
//! sending again blindly. Removals that RedAPI queues (202) are waited out,
//! so that a company's delete, which needs its subscriptions gone, can
//! follow. Replacements run only with `--allow-replace`.

use crate::hint::HINT;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::plan::{being_removed, company_scope, same_name, subscription_record};
use crate::api::ApiError;
use crate::api::redstor::{Company, RedstorClient, Removal, Subscription, TrialStatus};
use crate::apply::executor::Context;
use crate::plan::model::{Action, CompanyParent, NewCompany, NewSubscription, Operation};
use crate::state::{ResourceState, Status};

/// How many times an ambiguous create is resolved and retried.
const AMBIGUOUS_ROUNDS: usize = 3;

/// Carries out a Redstor operation.
pub async fn apply(action: &Action, context: &Context) -> Result<String, String> {
    let address = action.addresses.first().cloned().unwrap_or_default();
    let client = context.redstor.client().map_err(|e| e.to_string())?;
    match &action.operation {
        Operation::CreateCompany(new) => {
            let company = create_company(context, client, &address, new).await?;
            Ok(format!("created company {}", company.company_id))
        }
        Operation::UpdateCompany {
            company_id,
            reassign_to,
            enabled,
            attributes,
            dependencies,
        } => {
            let mut parent = None;
            if let Some(target) = reassign_to {
                let parent_id = parent_id(context, target)?;
                client
                    .reassign(parent_id, *company_id)
                    .await
                    .map_err(|e| e.to_string())?;
                parent = Some(parent_id);
            }
            if let Some(enabled) = enabled {
                client
                    .set_enabled(*company_id, *enabled)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            context
                .record(&address, |record| {
                    if let Some(record) = record {
                        if let Some(parent) = parent {
                            record.scope = company_scope(Some(parent));
                        }
                        record.attributes = attributes.clone();
                        record.dependencies = dependencies.clone();
                        record.status = Status::Ready;
                    }
                })
                .await?;
            Ok(match (reassign_to, enabled) {
                (Some(_), Some(_)) => "moved, and enabled or disabled".into(),
                (Some(_), None) => "moved to its new parent".into(),
                (None, Some(true)) => "enabled".into(),
                (None, _) => "disabled".into(),
            })
        }
        Operation::ReplaceCompany {
            old_id,
            subscriptions,
            new,
        } => {
            refuse_replace_unless_allowed(context, &address)?;
            for subscription in client
                .subscriptions(*old_id)
                .await
                .map_err(|e| e.to_string())?
            {
                remove_subscription(context, client, *old_id, subscription.subscription_id).await?;
            }
            // Only the records still in the old company: a subscription that
            // moved to another company in this apply keeps its new record.
            let old = old_id.to_string();
            context
                .recorder
                .change_each(subscriptions.iter().map(String::as_str), |_, record| {
                    if record
                        .as_ref()
                        .is_some_and(|r| r.scope.company_id.as_deref() == Some(old.as_str()))
                    {
                        *record = None;
                    }
                })
                .await
                .map_err(|e| e.to_string())?;
            client
                .delete_company(*old_id)
                .await
                .map_err(|e| e.to_string())?;
            context.record(&address, |record| *record = None).await?;
            let company = create_company(context, client, &address, new).await?;
            Ok(format!(
                "deleted company {old_id}, created {}",
                company.company_id
            ))
        }
        Operation::DeleteCompany { company_id } => {
            let deleted = client
                .delete_company(*company_id)
                .await
                .map_err(|e| e.to_string())?;
            context.record(&address, |record| *record = None).await?;
            Ok(if deleted {
                "deleted".into()
            } else {
                "was already gone".into()
            })
        }
        Operation::CreateSubscription(new) => {
            let subscription = create_subscription(context, client, &address, new).await?;
            Ok(format!("subscribed ({})", subscription.subscription_id))
        }
        Operation::ConvertTrial {
            company_id,
            subscription_id,
            attributes,
        } => {
            if let Err(err) = client.convert_trial(*company_id, *subscription_id).await {
                // A retried convert whose first answer was lost finds the
                // trial converted already: that is success.
                let converted = err.status() == Some(422)
                    && client
                        .subscriptions(*company_id)
                        .await
                        .map_err(|e| e.to_string())?
                        .iter()
                        .any(|s| {
                            s.subscription_id == *subscription_id
                                && s.trial_status == TrialStatus::Converted
                        });
                if !converted {
                    return Err(err.to_string());
                }
            }
            context
                .record(&address, |record| {
                    if let Some(record) = record {
                        record.attributes = attributes.clone();
                        record.status = Status::Ready;
                    }
                })
                .await?;
            Ok("trial converted to a paid subscription".into())
        }
        Operation::ReplaceSubscription {
            old_company_id,
            old_id,
            new,
        } => {
            refuse_replace_unless_allowed(context, &address)?;
            remove_subscription(context, client, *old_company_id, *old_id).await?;
            context.record(&address, |record| *record = None).await?;
            let subscription = create_subscription(context, client, &address, new).await?;
            Ok(format!(
                "removed {old_id}, subscribed {}",
                subscription.subscription_id
            ))
        }
        Operation::DeleteSubscription {
            company_id,
            subscription_id,
        } => {
            let removal =
                remove_subscription(context, client, *company_id, *subscription_id).await?;
            context.record(&address, |record| *record = None).await?;
            Ok(match removal {
                Removal::Done => "removed".into(),
                Removal::Queued => "removed (after the queued removal finished)".into(),
                Removal::Absent => "was already gone".into(),
            })
        }
        Operation::Bind { record: bound } => {
            let bound = bound.clone();
            context
                .record(&address, |record| *record = Some(bound))
                .await?;
            Ok("bound to the object a previous run created".into())
        }
        _ => Err(format!("{}: not a Redstor operation", action.id)),
    }
}

/// Destroying a company's data needs the user's explicit consent.
fn refuse_replace_unless_allowed(context: &Context, address: &str) -> Result<(), String> {
    if context.options.allow_replace {
        Ok(())
    } else {
        Err(format!(
            "{address}: replacing it deletes it and its data at Redstor; nothing was done{HINT}run apply with --allow-replace if that is intended"
        ))
    }
}

/// The id of a company's parent: the root's from the plan, a managed one's
/// from the state (it may have been created earlier in this apply).
fn parent_id(context: &Context, parent: &CompanyParent) -> Result<Uuid, String> {
    match parent {
        CompanyParent::Root { company_id } => Ok(*company_id),
        CompanyParent::Managed { address } => context
            .recorder
            .get(address)
            .and_then(|r| r.remote_id)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| format!("{address} has no company id in the state; apply it first")),
    }
}

/// Sends a create; an ambiguous failure is resolved with `find`, a definite
/// one drops the `creating` record unless an earlier attempt was ambiguous.
async fn create_resolving<T, Send, SendFut, Find, FindFut>(
    context: &Context,
    address: &str,
    send: Send,
    find: Find,
) -> Result<T, String>
where
    Send: Fn() -> SendFut,
    SendFut: Future<Output = Result<T, ApiError>>,
    Find: Fn() -> FindFut,
    FindFut: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut uncertain = false;
    for _ in 0..AMBIGUOUS_ROUNDS {
        let err = match send().await {
            Ok(created) => return Ok(created),
            Err(err) => err,
        };
        let definite = err.status().is_some_and(|s| (400..500).contains(&s));
        if definite && !uncertain {
            // Certainly not created: the record must not claim otherwise.
            let _ = context.recorder.set(address, None).await;
            return Err(err.to_string());
        }
        uncertain = true;
        tracing::warn!("{address}: {err}; reading back");
        if let Some(found) = find().await.map_err(|e| e.to_string())? {
            return Ok(found);
        }
        if definite {
            return Err(format!(
                "{err}\n  an earlier attempt may have made it; the state keeps a `creating` record, and the next apply looks for it again"
            ));
        }
    }
    Err(format!(
        "{address}: the create stayed ambiguous after {AMBIGUOUS_ROUNDS} read-backs; the state keeps a `creating` record, and the next apply looks for it again"
    ))
}

async fn create_company(
    context: &Context,
    client: &RedstorClient,
    address: &str,
    new: &NewCompany,
) -> Result<Company, String> {
    let parent = parent_id(context, &new.parent)?;
    let creating = ResourceState {
        remote_id: None,
        scope: company_scope(Some(parent)),
        natural_key: new.name.clone(),
        attributes: new.attributes.clone(),
        dependencies: new.dependencies.clone(),
        status: Status::Creating,
        lifecycle: new.lifecycle.clone(),
    };
    context
        .recorder
        .set(address, Some(creating))
        .await
        .map_err(|err| format!("{err}\n  nothing was sent to Redstor"))?;
    let company = create_resolving(
        context,
        address,
        || client.create_customer(parent, &new.name, new.company_type),
        || async {
            let children = client.customers(parent).await?;
            Ok(children
                .into_iter()
                .find(|c| same_name(&c.company_name, &new.name)))
        },
    )
    .await
    .map_err(|err| conflict_hint(err, address))?;
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.remote_id = Some(company.company_id.to_string());
            }
        })
        .await?;
    if company.is_enabled != new.enabled {
        client
            .set_enabled(company.company_id, new.enabled)
            .await
            .map_err(|e| e.to_string())?;
    }
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.status = Status::Ready;
            }
        })
        .await?;
    Ok(company)
}

/// A 409 on create means the name or product is taken by an object the
/// state does not know: say how to adopt it.
fn conflict_hint(err: String, address: &str) -> String {
    if err.contains("answered 409") {
        format!("{err}{HINT}it exists already; `entitle import {address} ID` manages it")
    } else {
        err
    }
}

async fn create_subscription(
    context: &Context,
    client: &RedstorClient,
    address: &str,
    new: &NewSubscription,
) -> Result<Subscription, String> {
    let company = parent_id(context, &new.company)?;
    let mut creating = subscription_record(
        company,
        Uuid::nil(),
        &new.attributes,
        new.dependencies.clone(),
        new.lifecycle.clone(),
    );
    creating.remote_id = None;
    creating.status = Status::Creating;
    context
        .recorder
        .set(address, Some(creating))
        .await
        .map_err(|err| format!("{err}\n  nothing was sent to Redstor"))?;
    // A subscription to the product that is being removed holds the
    // product until it is gone.
    let listed = client
        .subscriptions(company)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(leaving) = listed
        .iter()
        .find(|s| s.product_id == new.product_id && being_removed(s))
    {
        wait_gone(context, client, company, leaving.subscription_id).await?;
    }
    let subscription = create_resolving(
        context,
        address,
        || client.subscribe(company, new.product_id, new.edition_id, new.trial),
        || async {
            let listed = client.subscriptions(company).await?;
            Ok(listed
                .into_iter()
                .find(|s| s.product_id == new.product_id && !being_removed(s)))
        },
    )
    .await
    .map_err(|err| conflict_hint(err, address))?;
    let done = subscription_record(
        company,
        subscription.subscription_id,
        &new.attributes,
        new.dependencies.clone(),
        new.lifecycle.clone(),
    );
    context
        .record(address, |record| *record = Some(done))
        .await?;
    Ok(subscription)
}

/// Removes a subscription; a queued removal is waited out.
async fn remove_subscription(
    context: &Context,
    client: &RedstorClient,
    company: Uuid,
    subscription: Uuid,
) -> Result<Removal, String> {
    let removal = client
        .unsubscribe(company, subscription)
        .await
        .map_err(|e| e.to_string())?;
    if removal == Removal::Queued {
        wait_gone(context, client, company, subscription).await?;
    }
    Ok(removal)
}

/// Polls the company's subscriptions until `subscription` is not listed.
async fn wait_gone(
    context: &Context,
    client: &RedstorClient,
    company: Uuid,
    subscription: Uuid,
) -> Result<(), String> {
    let started = Instant::now();
    let mut pause = context.options.poll_interval;
    loop {
        let listed = client
            .subscriptions(company)
            .await
            .map_err(|e| e.to_string())?;
        if !listed.iter().any(|s| s.subscription_id == subscription) {
            return Ok(());
        }
        if started.elapsed() >= context.options.wait_timeout {
            return Err(format!(
                "the removal of subscription {subscription} is still queued after {:?}; the next apply checks again",
                context.options.wait_timeout
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(2));
    }
}
