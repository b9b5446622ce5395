//! What refresh reads of the proposals, and the planner's view of it: per
//! tenant and service in play, one proposal list, each proposal's rows read
//! from its XML and spelt in English.
//!
//! The list endpoint is not in the vendor's seed documents. When it is
//! missing, refuses the service or answers in a shape the client cannot
//! read, the proposals the state records are read one by one through the
//! documented detail endpoint by their `OrderId`, and the service is
//! marked as read without a list: what the state does not record cannot
//! be seen there.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

use super::plan::{ProposalAttributes, READ_LANGUAGE};
use super::{Item, Model};
use crate::api::ApiError;
use crate::api::ecl::EclClients;
use crate::api::proposal::ProposalRecord;
use crate::api::proposal_xml::{GenericModels, HulftModel, HulftModels};
use crate::manifest::{Desired, Spec};
use crate::resources::Kind;
use crate::resources::ecl_tenant::{self, TenantRef, tenant_ref_from_state};
use crate::resources::proposal_catalog::{HulftChoice, Language, Service, find_hulft};
use crate::state::State;

/// The proposals refreshed, per tenant id and service id.
#[derive(Clone, Debug, Default)]
pub struct ProposalsLive {
    pub proposals: BTreeMap<String, BTreeMap<u32, Vec<ObservedProposal>>>,
    /// The (tenant id, service id) pairs read without the list, and why.
    pub unlisted: BTreeMap<(String, u32), String>,
}

impl ProposalsLive {
    /// Why the service of the tenant could not be listed, when it could
    /// not: only the proposals the state records were read.
    pub fn unlisted(&self, tenant_id: &str, service_id: u32) -> Option<&str> {
        self.unlisted
            .get(&(tenant_id.to_string(), service_id))
            .map(String::as_str)
    }

    /// The proposals of a service in a tenant, when they were refreshed.
    pub fn proposals_of(&self, tenant_id: &str, service_id: u32) -> Option<&[ObservedProposal]> {
        self.proposals
            .get(tenant_id)
            .and_then(|services| services.get(&service_id))
            .map(Vec::as_slice)
    }
}

/// A proposal as the planner sees it: its rows spelt in English, whatever
/// language it was made in, so that rows compare across languages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedProposal {
    pub order_id: String,
    pub service_id: u32,
    pub status_id: u32,
    /// `ja` / `en`, from the document's `Language`.
    pub language: Option<String>,
    pub customer_email: Option<String>,
    pub models: Vec<crate::resources::proposal::Model>,
    /// Why the document could not be read, when it could not.
    pub problem: Option<String>,
}

/// One service of one tenant to read, and the `OrderId`s the state
/// records there (read one by one when the list is unavailable).
#[derive(Clone, Debug)]
pub struct ListScope {
    pub tenant: TenantRef,
    pub service_id: u32,
    pub recorded: Vec<String>,
}

/// The (tenant, service) pairs to list: those of declared proposals and of
/// proposals in the state.
pub fn tenants_and_services(desired: &Desired, state: &State) -> Vec<ListScope> {
    let tenants = ecl_tenant::declared(desired);
    let mut scopes: BTreeMap<(String, u32), ListScope> = BTreeMap::new();
    fn scope_of<'a>(
        scopes: &'a mut BTreeMap<(String, u32), ListScope>,
        tenant: &TenantRef,
        service_id: u32,
    ) -> &'a mut ListScope {
        scopes
            .entry((tenant.tenant_id.clone(), service_id))
            .or_insert_with(|| ListScope {
                tenant: tenant.clone(),
                service_id,
                recorded: Vec::new(),
            })
    }
    for resource in &desired.resources {
        if let Spec::Proposal(spec) = &resource.spec
            && let Some(tenant) = tenants.get(spec.tenant.as_str())
        {
            scope_of(&mut scopes, &tenant.reference, spec.service.id());
        }
    }
    for (_, record) in state.of_kind(Kind::Proposal) {
        let Ok(attributes) =
            serde_json::from_value::<ProposalAttributes>(record.attributes.clone())
        else {
            continue;
        };
        let tenant = tenant_ref_from_state(record);
        let scope = scope_of(&mut scopes, &tenant, attributes.service.id());
        scope.recorded.extend(record.remote_id.clone());
    }
    scopes.into_values().collect()
}

/// Reads a listed proposal's XML into rows spelt in English. A document
/// that cannot be read is kept, with the problem, so the plan can say so.
pub fn observe(record: &ProposalRecord) -> ObservedProposal {
    let mut observed = ObservedProposal {
        order_id: record.order_id.clone(),
        service_id: record.service_id,
        status_id: record.status_id,
        language: None,
        customer_email: None,
        models: Vec::new(),
        problem: None,
    };
    let parsed = if record.service_id == Service::Hulft.id() {
        HulftModels::from_xml(&record.proposal_xml).map(|doc| {
            let models = doc.models.iter().map(hulft_model).collect();
            (doc.language, doc.customer_email, models)
        })
    } else {
        GenericModels::from_xml(&record.proposal_xml).map(|doc| {
            let models = doc
                .models
                .iter()
                .map(|m| Model {
                    uuid: m.uuid.to_ascii_lowercase(),
                    row_number: m.row_number,
                    number: m.number,
                    item: Item::Plan { id: m.id },
                })
                .collect();
            (doc.language, doc.customer_email, models)
        })
    };
    match parsed {
        Ok((language, email, models)) => {
            observed.language = Some(language);
            observed.customer_email = Some(email);
            observed.models = models;
        }
        Err(err) => {
            observed.problem = Some(format!(
                "the ProposalXml of order {} could not be read: {err}",
                record.order_id
            ));
        }
    }
    observed
}

/// A HULFT row read back, spelt in English when it is a known combination.
fn hulft_model(model: &HulftModel) -> Model {
    let choice = HulftChoice {
        product: model.product.clone(),
        license_pack: model.license_pack.clone(),
        cluster: model.cluster.clone(),
        aes: model.aes.clone(),
        script: model.script.clone(),
        name: Some(model.name.clone()),
    };
    let item = match find_hulft(&choice) {
        Ok(found) => super::hulft_item(
            found,
            Language::En,
            model.dc.clone(),
            model.parent_serial.clone(),
        ),
        Err(_) => Item::Hulft {
            dc: model.dc.clone(),
            product: model.product.clone(),
            cluster: model.cluster.clone(),
            aes: model.aes.clone(),
            script: model.script.clone(),
            license_pack: model.license_pack.clone(),
            name: model.name.clone(),
            parent_serial: model.parent_serial.clone(),
        },
    };
    Model {
        uuid: model.uuid.to_ascii_lowercase(),
        row_number: model.row_number,
        number: model.number,
        item,
    }
}

/// Every proposal of each (tenant, service), with rows read from its XML.
pub async fn refresh(
    scopes: &[ListScope],
    clients: &EclClients,
) -> Result<ProposalsLive, ApiError> {
    let reads = scopes.iter().map(|scope| async move {
        let tenant = &scope.tenant;
        let client = clients.proposal_for(
            &tenant.tenant_id,
            &tenant.region,
            tenant.endpoint.as_deref(),
        )?;
        let (records, unlisted) = match client.list(scope.service_id, READ_LANGUAGE).await {
            Ok(records) => (records, None),
            Err(err) if list_unavailable(&err) => {
                tracing::warn!(
                    "the proposal list of service {} in tenant {} is unavailable ({err}); reading the {} proposal(s) the state records one by one",
                    scope.service_id,
                    tenant.name,
                    scope.recorded.len()
                );
                (by_detail(&client, scope).await?, Some(err.to_string()))
            }
            Err(err) => return Err(err),
        };
        let observed: Vec<ObservedProposal> = records.iter().map(observe).collect();
        Ok::<_, ApiError>((scope, observed, unlisted))
    });
    let mut live = ProposalsLive::default();
    for (scope, observed, unlisted) in try_join_all(reads).await? {
        let key = (scope.tenant.tenant_id.clone(), scope.service_id);
        if let Some(why) = unlisted {
            live.unlisted.insert(key.clone(), why);
        }
        live.proposals
            .entry(key.0)
            .or_default()
            .insert(scope.service_id, observed);
    }
    Ok(live)
}

/// A list endpoint that is missing, refuses the service, or answers what
/// the client cannot read: the detail endpoint is the documented way.
fn list_unavailable(err: &ApiError) -> bool {
    match err {
        ApiError::Status { status, .. } => matches!(status, 400 | 403 | 404 | 405 | 410 | 501),
        ApiError::Decode { .. } => true,
        _ => false,
    }
}

/// The recorded proposals of a scope, each through the detail endpoint;
/// one that is not found (404) is gone.
async fn by_detail(
    client: &crate::api::proposal::ProposalClient,
    scope: &ListScope,
) -> Result<Vec<ProposalRecord>, ApiError> {
    let reads = scope.recorded.iter().map(|order_id| async move {
        match client
            .detail(scope.service_id, order_id, READ_LANGUAGE)
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::proposal::plan::to_xml;

    fn record(service_id: u32, xml: &str) -> ProposalRecord {
        ProposalRecord {
            order_id: "ORDER-7".into(),
            service_id,
            status_id: 1,
            tenant_id: "3f6c2a9e-81d0-4b7f-9a5e-2c1d0b8f7a61".into(),
            proposal_date: None,
            update_date: None,
            delete_date: None,
            proposal_xml: xml.into(),
        }
    }

    #[test]
    fn a_malformed_document_is_a_problem_that_names_the_order() {
        for xml in ["", "<HulftModels><Models>", "\u{0}\u{1}garbage", "<Other/>"] {
            let observed = observe(&record(1, xml));
            let problem = observed.problem.expect("a problem");
            assert!(problem.contains("order ORDER-7"), "{problem}");
        }
    }

    #[test]
    fn rows_read_back_in_japanese_compare_in_english() {
        let models = vec![Model {
            uuid: "0b0e3a2c-7f39-4d5a-9a7e-1c2d3e4f5a6b".into(),
            row_number: 1,
            number: 2,
            item: Item::Hulft {
                dc: "jp1".into(),
                product: "HULFT8 for Windows-Server".into(),
                cluster: Some("あり(アクティブ機-CL)".into()),
                aes: Some("あり".into()),
                script: Some("なし".into()),
                license_pack: None,
                name: "HULFT8 for Windows-Server CL AES暗号オプション付".into(),
                parent_serial: None,
            },
        }];
        let xml = to_xml(Service::Hulft, Language::Ja, "a@example.com", None, &models);
        let observed = observe(&record(1, &xml));
        assert_eq!(observed.problem, None);
        assert_eq!(observed.language.as_deref(), Some("ja"));
        let Item::Hulft { aes, cluster, .. } = &observed.models[0].item else {
            panic!("not a HULFT row");
        };
        assert_eq!(aes.as_deref(), Some("Yes"));
        assert_eq!(cluster.as_deref(), Some("Yes (Active-CL)"));
    }
}
