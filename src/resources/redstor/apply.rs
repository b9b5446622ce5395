//! Carrying out Redstor operations. A create writes a `creating` record
//! first; a lost answer is resolved by reading back (a company by its name
//! under its parent, a subscription by its product in its company), never by
//! sending again blindly. Removals that RedAPI queues (202) are waited out,
//! so that a company's delete, which needs its subscriptions gone, can
//! follow. Replacements run only with `--allow-replace`.

use uuid::Uuid;

use super::operation::{CompanyParent, NewCompany, NewSubscription, RedstorOperation};
use super::plan::{being_removed, company_scope, same_name, subscription_record};
use crate::api::ApiError;
use crate::api::redstor::{Company, RedstorClient, Removal, Subscription, TrialStatus};
use crate::apply::context::{ApplyError, Context, subject};
use crate::apply::steps::{Polled, Resolution, create_resolving, poll_until};
use crate::manifest::Address;
use crate::plan::model::Action;
use crate::state::{ResourceState, Status};

/// Carries out a Redstor operation.
pub async fn apply(
    operation: &RedstorOperation,
    action: &Action,
    context: &Context,
) -> Result<String, ApplyError> {
    let address = subject(action)?;
    let client = context.redstor.client()?;
    match operation {
        RedstorOperation::CreateCompany(new) => {
            let company = create_company(context, client, address, new).await?;
            Ok(format!("created company {}", company.company_id))
        }
        RedstorOperation::UpdateCompany {
            company_id,
            reassign_to,
            enabled,
            attributes,
            dependencies,
        } => {
            let change = CompanyChange {
                reassign_to: reassign_to.as_ref(),
                enabled: *enabled,
                attributes,
                dependencies,
            };
            update_company(context, client, address, *company_id, change).await
        }
        RedstorOperation::ReplaceCompany {
            old_id,
            subscriptions,
            new,
        } => replace_company(context, client, address, *old_id, subscriptions, new).await,
        RedstorOperation::DeleteCompany { company_id } => {
            let deleted = client.delete_company(*company_id).await?;
            context.record(address, |record| *record = None).await?;
            Ok(if deleted {
                "deleted".into()
            } else {
                "was already gone".into()
            })
        }
        RedstorOperation::CreateSubscription(new) => {
            let subscription = create_subscription(context, client, address, new).await?;
            Ok(format!("subscribed ({})", subscription.subscription_id))
        }
        RedstorOperation::ConvertTrial {
            company_id,
            subscription_id,
            attributes,
        } => {
            convert_trial(
                context,
                client,
                address,
                (*company_id, *subscription_id),
                attributes,
            )
            .await
        }
        RedstorOperation::ReplaceSubscription {
            old_company_id,
            old_id,
            new,
        } => {
            refuse_replace_unless_allowed(context, address)?;
            remove_subscription(context, client, *old_company_id, *old_id).await?;
            context.record(address, |record| *record = None).await?;
            let subscription = create_subscription(context, client, address, new).await?;
            Ok(format!(
                "removed {old_id}, subscribed {}",
                subscription.subscription_id
            ))
        }
        RedstorOperation::DeleteSubscription {
            company_id,
            subscription_id,
        } => {
            let removal =
                remove_subscription(context, client, *company_id, *subscription_id).await?;
            context.record(address, |record| *record = None).await?;
            Ok(match removal {
                Removal::Done => "removed".into(),
                Removal::Queued => "removed (after the queued removal finished)".into(),
                Removal::Absent => "was already gone".into(),
            })
        }
        RedstorOperation::Bind { record: bound } => {
            let bound = bound.clone();
            context
                .record(address, |record| *record = Some(bound))
                .await?;
            Ok("bound to the object a previous run created".into())
        }
    }
}

/// What an update changes of a company: its parent, whether it is
/// enabled, and what the state records.
struct CompanyChange<'a> {
    reassign_to: Option<&'a CompanyParent>,
    enabled: Option<bool>,
    attributes: &'a serde_json::Value,
    dependencies: &'a [Address],
}

/// Moves a company to another parent (a reassign: nothing is deleted)
/// and/or enables or disables it, then records it.
async fn update_company(
    context: &Context,
    client: &RedstorClient,
    address: &Address,
    company_id: Uuid,
    change: CompanyChange<'_>,
) -> Result<String, ApplyError> {
    let mut parent = None;
    if let Some(target) = change.reassign_to {
        let parent_id = parent_id(context, target)?;
        client.reassign(parent_id, company_id).await?;
        parent = Some(parent_id);
    }
    if let Some(enabled) = change.enabled {
        client.set_enabled(company_id, enabled).await?;
    }
    context
        .record(address, |record| {
            if let Some(record) = record {
                if let Some(parent) = parent {
                    record.scope = company_scope(Some(parent));
                }
                record.attributes = change.attributes.clone();
                record.dependencies = change.dependencies.to_vec();
                record.status = Status::Ready;
            }
        })
        .await?;
    Ok(match (change.reassign_to, change.enabled) {
        (Some(_), Some(_)) => "moved, and enabled or disabled".into(),
        (Some(_), None) => "moved to its new parent".into(),
        (None, Some(true)) => "enabled".into(),
        (None, _) => "disabled".into(),
    })
}

/// Removes the old company's subscriptions, deletes it, and creates the
/// new one (only with `--allow-replace`: the old one's data goes).
async fn replace_company(
    context: &Context,
    client: &RedstorClient,
    address: &Address,
    old_id: Uuid,
    subscriptions: &[Address],
    new: &NewCompany,
) -> Result<String, ApplyError> {
    refuse_replace_unless_allowed(context, address)?;
    for subscription in client.subscriptions(old_id).await? {
        remove_subscription(context, client, old_id, subscription.subscription_id).await?;
    }
    // Only the records still in the old company: a subscription that moved
    // to another company in this apply keeps its new record.
    let old = old_id.to_string();
    context
        .recorder
        .change_each(subscriptions, |_, record| {
            if record
                .as_ref()
                .is_some_and(|r| r.scope.company_id.as_deref() == Some(old.as_str()))
            {
                *record = None;
            }
        })
        .await
        .map_err(|source| ApplyError::Record {
            source,
            then: "the subscriptions are removed at Redstor; the state could not record it",
        })?;
    client.delete_company(old_id).await?;
    context.record(address, |record| *record = None).await?;
    let company = create_company(context, client, address, new).await?;
    Ok(format!(
        "deleted company {old_id}, created {}",
        company.company_id
    ))
}

/// Turns a trial into a paid subscription; a retried convert whose first
/// answer was lost finds the trial converted already, which is success.
async fn convert_trial(
    context: &Context,
    client: &RedstorClient,
    address: &Address,
    (company_id, subscription_id): (Uuid, Uuid),
    attributes: &serde_json::Value,
) -> Result<String, ApplyError> {
    if let Err(err) = client.convert_trial(company_id, subscription_id).await {
        let converted = err.status() == Some(422)
            && client.subscriptions(company_id).await?.iter().any(|s| {
                s.subscription_id == subscription_id && s.trial_status == TrialStatus::Converted
            });
        if !converted {
            return Err(err.into());
        }
    }
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.attributes = attributes.clone();
                record.status = Status::Ready;
            }
        })
        .await?;
    Ok("trial converted to a paid subscription".into())
}

/// Destroying a company's data needs the user's explicit consent.
fn refuse_replace_unless_allowed(context: &Context, address: &Address) -> Result<(), ApplyError> {
    if context.options.allow_replace {
        Ok(())
    } else {
        Err(ApplyError::refused(
            format!("{address}: replacing it deletes it and its data at Redstor; nothing was done"),
            "run apply with --allow-replace if that is intended",
        ))
    }
}

/// The id of a company's parent: the root's from the plan, a managed one's
/// from the state (it may have been created earlier in this apply).
fn parent_id(context: &Context, parent: &CompanyParent) -> Result<Uuid, ApplyError> {
    match parent {
        CompanyParent::Root { company_id } => Ok(*company_id),
        CompanyParent::Managed { address } => context
            .recorder
            .get(address)
            .and_then(|r| r.remote_id)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                ApplyError::refused(
                    format!("{address} has no company id in the state"),
                    format!("apply {address} first"),
                )
            }),
    }
}

async fn create_company(
    context: &Context,
    client: &RedstorClient,
    address: &Address,
    new: &NewCompany,
) -> Result<Company, ApplyError> {
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
    let resolution = look_again(context, address);
    context
        .record_before_sending(address, Some(creating))
        .await?;
    let company = create_resolving(
        context,
        address,
        resolution,
        || async move {
            Ok(client
                .create_customer(parent, &new.name, new.company_type)
                .await?)
        },
        |_| async move { Ok(find_company(client, parent, &new.name).await?) },
    )
    .await;
    let company = match company {
        Ok(company) => company,
        Err(err) => {
            let taken = find_company(client, parent, &new.name)
                .await
                .map(|found| found.map(|c| c.company_id));
            return Err(duplicate_hint(err, address, taken));
        }
    };
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.remote_id = Some(company.company_id.to_string());
            }
        })
        .await?;
    if company.is_enabled != new.enabled {
        client.set_enabled(company.company_id, new.enabled).await?;
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

/// How a Redstor create is resolved: by reading back, now and next time.
/// When an earlier run left a `creating` record, its create may have
/// arrived after this plan read the account, so even a refusal (RedAPI's
/// duplicate) is read back first: what is found is that create's object,
/// and dropping the record would leave it unmanaged. Otherwise a refusal
/// stands, and a duplicate made by someone else is reported as one.
fn look_again(context: &Context, address: &Address) -> Resolution {
    let earlier = context
        .recorder
        .get(address)
        .is_some_and(|record| record.status == Status::Creating);
    Resolution {
        next: "the next apply looks for it again",
        read_back_first: earlier,
    }
}

/// A create refused with 409 or 422 (RedAPI documents no duplicate code;
/// 422 is its client error) is a duplicate when the name or product is
/// indeed taken (`taken`, the id read back) by an object the state does
/// not know: then say how to adopt it. Otherwise the refusal stands as the
/// server gave it.
fn duplicate_hint(
    err: ApplyError,
    address: &Address,
    taken: Result<Option<Uuid>, ApiError>,
) -> ApplyError {
    match (err, taken) {
        (ApplyError::Api(source), Ok(Some(id))) if matches!(source.status(), Some(409 | 422)) => {
            ApplyError::Exists {
                source,
                address: address.to_string(),
                id: id.to_string(),
            }
        }
        (other, _) => other,
    }
}

/// The company of this name directly below `parent`, read back.
async fn find_company(
    client: &RedstorClient,
    parent: Uuid,
    name: &str,
) -> Result<Option<Company>, ApiError> {
    let children = client.customers(parent).await?;
    Ok(children
        .into_iter()
        .find(|c| same_name(&c.company_name, name)))
}

/// The company's subscription to `product_id` that is not being removed,
/// read back.
async fn find_subscription(
    client: &RedstorClient,
    company: Uuid,
    product_id: u32,
) -> Result<Option<Subscription>, ApiError> {
    let listed = client.subscriptions(company).await?;
    Ok(listed
        .into_iter()
        .find(|s| s.product_id == product_id && !being_removed(s)))
}

/// Subscribes; an answer without the subscription (204) is completed by
/// reading it back.
async fn subscribe(
    client: &RedstorClient,
    address: &Address,
    company: Uuid,
    new: &NewSubscription,
) -> Result<Subscription, ApplyError> {
    let answered = client
        .subscribe(company, new.product_id, new.edition_id, new.trial)
        .await?;
    if let Some(subscription) = answered {
        return Ok(subscription);
    }
    find_subscription(client, company, new.product_id)
        .await?
        .ok_or_else(|| {
            ApplyError::Unconfirmed(format!(
                "{address}: RedAPI answered the subscribe with no content, and company {company} lists no subscription to product {}",
                new.product_id
            ))
        })
}

async fn create_subscription(
    context: &Context,
    client: &RedstorClient,
    address: &Address,
    new: &NewSubscription,
) -> Result<Subscription, ApplyError> {
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
    let resolution = look_again(context, address);
    context
        .record_before_sending(address, Some(creating))
        .await?;
    // A subscription to the product that is being removed holds the
    // product until it is gone.
    let listed = client.subscriptions(company).await?;
    if let Some(leaving) = listed
        .iter()
        .find(|s| s.product_id == new.product_id && being_removed(s))
    {
        wait_gone(context, client, company, leaving.subscription_id).await?;
    }
    let subscription = create_resolving(
        context,
        address,
        resolution,
        || subscribe(client, address, company, new),
        |_| async move { Ok(find_subscription(client, company, new.product_id).await?) },
    )
    .await;
    let subscription = match subscription {
        Ok(subscription) => subscription,
        Err(err) => {
            let taken = find_subscription(client, company, new.product_id)
                .await
                .map(|found| found.map(|s| s.subscription_id));
            return Err(duplicate_hint(err, address, taken));
        }
    };
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
) -> Result<Removal, ApplyError> {
    let removal = client.unsubscribe(company, subscription).await?;
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
) -> Result<(), ApplyError> {
    poll_until(
        &context.options,
        "the next apply checks again",
        || async move {
            let listed = client.subscriptions(company).await?;
            if listed.iter().any(|s| s.subscription_id == subscription) {
                Ok(Polled::Pending(format!(
                    "the removal of subscription {subscription} is still queued"
                )))
            } else {
                Ok(Polled::Done(()))
            }
        },
    )
    .await
}
