//! Carrying out license operations against the Arcserve UDP API.
//!
//! Every step that changes the server is bracketed by state writes: a
//! `creating` record before a create is sent, the id as soon as it is known,
//! `ready` with the observed attributes when done. Ambiguous failures are
//! resolved by reading back: a create by the license's name (adopt if it is
//! there, create if not), a key by the license's keys, an upgrade by the
//! licenses' versions. Nothing is sent twice blindly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use uuid::Uuid;

use super::observe::version_order;
use super::operation::{Contact, LicenseAttributes, LicenseOperation, NewLicense, UpgradeMember};
use crate::api::ApiError;
use crate::api::arcserve::{ArcserveClient, BulkUpgrade, License, LicenseChanges};
use crate::apply::context::{ApplyError, Context, subject};
use crate::apply::steps::{AMBIGUOUS_ROUNDS, Polled, Resolution, create_resolving, poll_until};
use crate::manifest::Address;
use crate::plan::model::Action;
use crate::resources::ecl_tenant::TenantRef;
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Status};

/// Carries out a license operation.
pub async fn apply(
    operation: &LicenseOperation,
    action: &Action,
    context: &Context,
) -> Result<String, ApplyError> {
    let address = subject(action)?;
    match operation {
        LicenseOperation::CreateLicense(new) => {
            let client = client(context, &new.tenant)?;
            let license = create(context, &client, address, new).await?;
            Ok(format!("created (id {})", license.id))
        }
        LicenseOperation::ReplaceLicense {
            old_tenant,
            old_id,
            new,
        } => {
            let old_client = client(context, old_tenant)?;
            let deleted = delete_and_wait(context, &old_client, *old_id, address, false).await?;
            if let Deleted::Scheduled(day) = deleted
                && old_tenant.tenant_id == new.tenant.tenant_id
            {
                return Ok(format!(
                    "{old_id} is scheduled for deletion on {day}; it holds the name until then, and the apply after that creates the new license"
                ));
            }
            let client = client(context, &new.tenant)?;
            let license = create(context, &client, address, new).await?;
            Ok(format!("replaced {old_id} by {}", license.id))
        }
        LicenseOperation::AdoptLicense {
            tenant,
            name,
            license_id,
            attributes,
        } => {
            context
                .record(address, |record| {
                    let record = record.get_or_insert_with(|| {
                        new_record(tenant, name, attributes, &[], RecordedLifecycle::default())
                    });
                    record.remote_id = Some(license_id.to_string());
                    record.status = Status::Ready;
                    record.attributes = json!(attributes);
                })
                .await?;
            Ok(format!("adopted {license_id}"))
        }
        LicenseOperation::UpdateLicense {
            tenant,
            license_id,
            standalone_keys,
            attributes,
        } => {
            let client = client(context, tenant)?;
            let changes = LicenseChanges {
                name: None,
                number_of_standalone_keys: *standalone_keys,
            };
            let license = wait_until_active(context, &client, *license_id).await?;
            let license = if Some(license.number_of_standalone_keys) == *standalone_keys {
                license
            } else {
                client.update_license(*license_id, &changes).await?
            };
            record_observed(context, address, &license, attributes).await?;
            Ok("updated in place".into())
        }
        LicenseOperation::DeleteLicense { tenant, license_id } => {
            let client = client(context, tenant)?;
            match delete_and_wait(context, &client, *license_id, address, true).await? {
                Deleted::Gone => Ok(format!("deleted {license_id}")),
                Deleted::Scheduled(day) => Ok(format!(
                    "{license_id} is scheduled for deletion on {day}; the state keeps it until it is gone"
                )),
            }
        }
        LicenseOperation::IssueKeys {
            tenant,
            license_id,
            key_types,
            attributes,
        } => {
            let client = client(context, tenant)?;
            let license = wait_until_active(context, &client, *license_id).await?;
            let license = issue_missing_keys(&client, license, key_types).await?;
            record_observed(context, address, &license, attributes).await?;
            Ok(format!("issued {} key(s)", key_types.len()))
        }
        LicenseOperation::BulkUpgrade {
            tenant,
            version,
            licenses,
            contact,
        } => {
            let client = client(context, tenant)?;
            bulk_upgrade(context, &client, version, licenses, contact.as_ref()).await
        }
    }
}

fn client(context: &Context, tenant: &TenantRef) -> Result<ArcserveClient, ApplyError> {
    Ok(context.clients.arcserve_for(
        &tenant.tenant_id,
        &tenant.region,
        tenant.endpoint.as_deref(),
    )?)
}

fn new_record(
    tenant: &TenantRef,
    name: &str,
    attributes: &LicenseAttributes,
    dependencies: &[Address],
    lifecycle: RecordedLifecycle,
) -> ResourceState {
    ResourceState {
        remote_id: None,
        scope: crate::resources::ecl_tenant::scope(tenant),
        natural_key: name.to_string(),
        attributes: json!(attributes),
        dependencies: dependencies.to_vec(),
        status: Status::Creating,
        lifecycle,
    }
}

/// Records a license as it is now on the server.
async fn record_observed(
    context: &Context,
    address: &Address,
    license: &License,
    intended: &LicenseAttributes,
) -> Result<(), ApplyError> {
    let attributes = attributes_of(license, intended);
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.remote_id = Some(license.id.to_string());
                record.status = Status::Ready;
                record.attributes = json!(attributes);
            }
        })
        .await
}

/// The attributes of a license as the server shows them; the version of a
/// license without keys cannot be seen and is taken from `intended`.
pub fn attributes_of(license: &License, intended: &LicenseAttributes) -> LicenseAttributes {
    let mut key_types: Vec<Uuid> = license.keys.iter().map(|k| k.key_type_id).collect();
    key_types.sort();
    key_types.dedup();
    let version = license
        .keys
        .iter()
        .map(|k| k.version.clone())
        .max_by(|a, b| version_order(a).cmp(&version_order(b)))
        .unwrap_or_else(|| intended.version.clone());
    LicenseAttributes {
        tenant: intended.tenant.clone(),
        plan: license.plan_id,
        standalone_keys: license.number_of_standalone_keys,
        version,
        key_types,
    }
}

/// Create, wait until active, issue the keys; recorded at every step.
async fn create(
    context: &Context,
    client: &ArcserveClient,
    address: &Address,
    new: &NewLicense,
) -> Result<License, ApplyError> {
    let (name, attributes) = (new.name.as_str(), &new.attributes);
    // The record goes first: a run killed from here on is resolved by name.
    let fresh = new_record(
        &new.tenant,
        name,
        attributes,
        &new.dependencies,
        new.lifecycle.clone(),
    );
    context.record_before_sending(address, Some(fresh)).await?;

    let body = crate::api::arcserve::NewLicense {
        name: name.to_string(),
        plan_id: attributes.plan,
        number_of_standalone_keys: attributes.standalone_keys,
    };
    let resolution = Resolution {
        next: "the next apply resolves it by name",
        read_back_first: true,
    };
    let body = &body;
    let license = create_resolving(
        context,
        address,
        resolution,
        || async move {
            match client.create_license(body).await {
                Err(err)
                    if err.status() == Some(400)
                        && wait_name_free(context, client, name).await? =>
                {
                    // The name belonged to a license being deleted; it is free now.
                    Ok(client.create_license(body).await?)
                }
                other => Ok(other?),
            }
        },
        // Whatever the failure, a license of this name may be ours.
        |_| async move { Ok(find_by_name(client, name).await?) },
    )
    .await?;
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.remote_id = Some(license.id.to_string());
            }
        })
        .await?;
    let license = wait_until_active(context, client, license.id).await?;
    let license = issue_missing_keys(client, license, &attributes.key_types).await?;
    record_observed(context, address, &license, attributes).await?;
    Ok(license)
}

/// When a license of this name is being deleted, waits until it is gone
/// and returns true; false when no such license holds the name.
async fn wait_name_free(
    context: &Context,
    client: &ArcserveClient,
    name: &str,
) -> Result<bool, ApplyError> {
    let waited = &AtomicBool::new(false);
    poll_until(
        &context.options,
        "the create is not sent; the next apply tries again",
        || async move {
            let live = client.list_licenses(None).await?;
            let holder = live.iter().find(|l| l.name == name && l.leaving());
            if let Some(day) = holder.and_then(License::scheduled_deletion) {
                return Err(ApplyError::refused(
                    format!(
                        "the name `{name}` is held by a license scheduled for deletion on {day}"
                    ),
                    "the create is not sent; the first apply after that day creates it",
                ));
            }
            if holder.is_none() {
                return Ok(Polled::Done(waited.load(Ordering::Relaxed)));
            }
            waited.store(true, Ordering::Relaxed);
            Ok(Polled::Pending(format!(
                "the name `{name}` is still held by a license being deleted"
            )))
        },
    )
    .await
}

/// The license of this name that is not being deleted, if any.
async fn find_by_name(client: &ArcserveClient, name: &str) -> Result<Option<License>, ApiError> {
    Ok(client
        .list_licenses(None)
        .await?
        .into_iter()
        .find(|l| l.name == name && !l.leaving()))
}

/// Polls until the license is `Active`, within the wait timeout.
async fn wait_until_active(
    context: &Context,
    client: &ArcserveClient,
    id: Uuid,
) -> Result<License, ApplyError> {
    poll_until(
        &context.options,
        "it is recorded, and the next apply picks it up",
        || async move {
            let license = client.get_license(id).await?;
            if license.status == "Active" {
                Ok(Polled::Done(license))
            } else {
                Ok(Polled::Pending(format!(
                    "license {id} is still {}",
                    license.status
                )))
            }
        },
    )
    .await
}

/// Issues a key of every type in `wanted` the license does not have yet;
/// an ambiguous failure is resolved by reading the license's keys.
async fn issue_missing_keys(
    client: &ArcserveClient,
    mut license: License,
    wanted: &[Uuid],
) -> Result<License, ApplyError> {
    for key_type in wanted {
        for _ in 0..AMBIGUOUS_ROUNDS {
            if license.keys.iter().any(|k| k.key_type_id == *key_type) {
                break;
            }
            match client.issue_key(license.id, *key_type).await {
                Ok(updated) => license = updated,
                Err(err) if err.is_ambiguous() => {
                    license = client.get_license(license.id).await?;
                }
                Err(err) => return Err(err.into()),
            }
        }
        if !license.keys.iter().any(|k| k.key_type_id == *key_type) {
            return Err(ApplyError::Unconfirmed(format!(
                "license {}: a key of type {key_type} could not be confirmed after {AMBIGUOUS_ROUNDS} attempts; the next apply checks again",
                license.id
            )));
        }
    }
    Ok(license)
}

/// How a delete ended.
enum Deleted {
    /// The license is gone.
    Gone,
    /// The API scheduled the deletion for this day; the license stays
    /// listed until then.
    Scheduled(String),
}

/// Deletes and waits until the license is gone, or is scheduled for
/// deletion; `forget` removes the record once it is gone (a replace keeps
/// it for the create that follows). A scheduled deletion is recorded: the
/// record stays `deleting`, with the day, until the license is gone.
async fn delete_and_wait(
    context: &Context,
    client: &ArcserveClient,
    id: Uuid,
    address: &Address,
    forget: bool,
) -> Result<Deleted, ApplyError> {
    match client.delete_license(id).await {
        Ok(_) => {}
        Err(err) if err.status() == Some(404) => {}
        Err(err) if err.status() == Some(400) => {
            // Still provisioning: wait, then delete.
            wait_until_active(context, client, id).await?;
            client.delete_license(id).await?;
        }
        Err(err) => return Err(err.into()),
    }
    context
        .record(address, |record| {
            if let Some(record) = record {
                record.status = Status::Deleting;
            }
        })
        .await?;
    let deleted = poll_until(
        &context.options,
        "the next apply checks again",
        || async move {
            match client.get_license(id).await {
                Err(err) if err.status() == Some(404) => Ok(Polled::Done(Deleted::Gone)),
                Err(err) => Err(err.into()),
                Ok(license) => match license.scheduled_deletion() {
                    Some(day) => Ok(Polled::Done(Deleted::Scheduled(day.to_string()))),
                    None => Ok(Polled::Pending(format!(
                        "license {id} is still {}",
                        license.status
                    ))),
                },
            }
        },
    )
    .await?;
    match &deleted {
        Deleted::Gone if forget => context.record(address, |record| *record = None).await?,
        Deleted::Gone => {}
        Deleted::Scheduled(day) => {
            context
                .record(address, |record| {
                    if let Some(record) = record
                        && let Some(attributes) = record.attributes.as_object_mut()
                    {
                        attributes.insert("deletionDate".into(), json!(day));
                    }
                })
                .await?
        }
    }
    Ok(deleted)
}

/// One bulk-upgrade call; after an ambiguous failure, the licenses already
/// at the version are taken as done and the call is sent for the rest.
async fn bulk_upgrade(
    context: &Context,
    client: &ArcserveClient,
    version: &str,
    members: &[UpgradeMember],
    contact: Option<&Contact>,
) -> Result<String, ApplyError> {
    let mut pending: Vec<&UpgradeMember> = members.iter().collect();
    for _ in 0..AMBIGUOUS_ROUNDS {
        if pending.is_empty() {
            break;
        }
        let request = BulkUpgrade {
            license_ids: pending.iter().map(|m| m.license_id).collect(),
            version: version.to_string(),
            email_address: contact.map(|c| c.email.clone()),
            company_name: contact.map(|c| c.company_name.clone()),
        };
        match client.bulk_upgrade(&request).await {
            Ok(licenses) => {
                record_versions(context, &pending, &licenses, version).await?;
                pending.clear();
            }
            Err(err) if err.is_ambiguous() => {
                tracing::warn!("bulk upgrade to {version}: {err}; reading back");
                let live = client.list_licenses(None).await?;
                let upgraded: Vec<License> = live
                    .into_iter()
                    .filter(|l| {
                        pending.iter().any(|m| m.license_id == l.id)
                            && !l.keys.is_empty()
                            && l.keys.iter().all(|k| k.version == version)
                    })
                    .collect();
                record_versions(context, &pending, &upgraded, version).await?;
                pending.retain(|m| !upgraded.iter().any(|l| l.id == m.license_id));
            }
            Err(err) => return Err(err.into()),
        }
    }
    if pending.is_empty() {
        Ok(format!("{} license(s) now at {version}", members.len()))
    } else {
        Err(ApplyError::Unconfirmed(format!(
            "{} license(s) could not be confirmed at {version}; the next plan shows what is left",
            pending.len()
        )))
    }
}

async fn record_versions(
    context: &Context,
    members: &[&UpgradeMember],
    licenses: &[License],
    version: &str,
) -> Result<(), ApplyError> {
    let by_id: HashMap<Uuid, &License> = licenses.iter().map(|l| (l.id, l)).collect();
    let license_of: HashMap<&Address, &License> = members
        .iter()
        .filter_map(|m| Some((&m.address, *by_id.get(&m.license_id)?)))
        .collect();
    context
        .recorder
        .change_each(members.iter().map(|m| &m.address), |address, record| {
            let (Some(record), Some(license)) = (record, license_of.get(address)) else {
                return;
            };
            let intended: Option<LicenseAttributes> =
                serde_json::from_value(record.attributes.clone()).ok();
            let Some(mut intended) = intended else {
                return;
            };
            intended.version = version.to_string();
            record.attributes = json!(attributes_of(license, &intended));
        })
        .await
        .map_err(|source| ApplyError::Record {
            source,
            then: "the licenses are upgraded on the server; the state could not record it",
        })
}
