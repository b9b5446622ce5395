//! How a `Proposal` turns into actions.
//!
//! A proposal is bound to its `OrderId`. It is created (no `OrderId`) or
//! replaced whole (with it) when its rows, e-mail or language differ; rows
//! are compared by UUID, in English, so a language switch changes the
//! language and nothing else. The API has no delete: a proposal gone from
//! the manifests is an error unless it was applied with
//! `deletionPolicy: Orphan`, which makes it a forget.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::observe::{ObservedProposal, ProposalsLive};
use super::operation::{ProposalOperation, ProposalSubmission};
use super::{Item, Model, ProposalSpec};
use crate::api::proposal_xml::{GenericModel, GenericModels, HulftModel, HulftModels};
use crate::manifest::{Address, Resource, Spec};
use crate::plan::contract::{Context, Draft, KindPlan, PlanError};
use crate::plan::model::{ActionKind, Change, Operation};
use crate::resources::Kind;
use crate::resources::ecl_tenant::{self, TenantRef};
use crate::resources::proposal_catalog::{Language, Service};
use crate::state::model::RecordedLifecycle;
use crate::state::{ResourceState, Status};

/// Proposals are read in English, so rows compare whatever their language.
pub const READ_LANGUAGE: u32 = 2;

/// What the state records of a proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalAttributes {
    pub tenant: String,
    pub service: Service,
    pub language: Language,
    pub customer_email: String,
    /// The rows, in English.
    pub models: Vec<Model>,
    /// The vendor's status when last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u32>,
}

/// The XML a proposal is sent as.
pub fn to_xml(
    service: Service,
    language: Language,
    email: &str,
    order_id: Option<&str>,
    models: &[Model],
) -> String {
    if service.is_hulft() {
        let models = models
            .iter()
            .filter_map(|m| match &m.item {
                Item::Hulft {
                    dc,
                    product,
                    cluster,
                    aes,
                    script,
                    license_pack,
                    name,
                    parent_serial,
                } => Some(HulftModel {
                    uuid: m.uuid.clone(),
                    dc: dc.clone(),
                    product: product.clone(),
                    cluster: cluster.clone(),
                    aes: aes.clone(),
                    script: script.clone(),
                    license_pack: license_pack.clone(),
                    name: name.clone(),
                    row_number: m.row_number,
                    parent_serial: parent_serial.clone(),
                    number: m.number,
                    status: 1,
                }),
                Item::Plan { .. } => None,
            })
            .collect();
        HulftModels {
            customer_email: email.to_string(),
            language: language.code().to_string(),
            models,
        }
        .to_xml()
    } else {
        let models = models
            .iter()
            .filter_map(|m| match &m.item {
                Item::Plan { id } => Some(GenericModel {
                    uuid: m.uuid.clone(),
                    id: *id,
                    row_number: m.row_number,
                    number: m.number,
                    status: 1,
                }),
                Item::Hulft { .. } => None,
            })
            .collect();
        GenericModels {
            order_id: order_id.map(str::to_string),
            customer_email: email.to_string(),
            language: language.code().to_string(),
            models,
        }
        .to_xml()
    }
}

/// Plans every proposal in scope.
pub fn plan(context: &Context<'_>, live: &ProposalsLive) -> KindPlan {
    let input = context.input;
    let mut out = KindPlan::default();
    let tenants = ecl_tenant::declared(input.desired);
    let mut declared = BTreeSet::new();
    for resource in &input.desired.resources {
        let Spec::Proposal(spec) = &resource.spec else {
            continue;
        };
        let address = resource.address.clone();
        declared.insert(address.clone());
        if !context.in_scope(&address) {
            continue;
        }
        let Some(tenant) = tenants.get(spec.tenant.as_str()).map(|t| &t.reference) else {
            continue;
        };
        let Some(listed) = live.proposals_of(&tenant.tenant_id, spec.service.id()) else {
            out.errors.push(PlanError::new(
                Some(address),
                "the tenant's proposals were not refreshed",
            ));
            continue;
        };
        let unlisted = live.unlisted(&tenant.tenant_id, spec.service.id());
        let proposal = DeclaredProposal {
            resource,
            spec,
            tenant,
            record: input.prior.get(&address),
            desired: input.desired,
            forced: context.forced_replace(&address),
            wanted: spec.models(&resource.metadata.name, Language::En),
            unlisted,
        };
        plan_one(&mut out, &proposal, listed);
    }
    for (address, record) in input.prior.of_kind(Kind::Proposal) {
        if declared.contains(address) || !context.in_scope(address) {
            continue;
        }
        if record.lifecycle.orphan_on_delete {
            out.drafts.push(Draft::removal(
                ActionKind::Forget,
                address,
                "it is gone from the manifests and its deletionPolicy is Orphan".into(),
                Operation::Forget,
            ));
        } else {
            out.errors.push(
                PlanError::new(
                    Some(address.clone()),
                    "it is gone from the manifests, but the Proposal API cannot delete a proposal",
                )
                .hint(format!(
                    "to stop managing it and leave it with the vendor, run `entitle state rm {address}`; \
                     or put the manifest back with `lifecycle: {{deletionPolicy: Orphan}}`, apply, and then remove it"
                )),
            );
        }
    }
    out
}

/// One declared proposal, as the planner sees it.
struct DeclaredProposal<'a> {
    resource: &'a Resource,
    spec: &'a ProposalSpec,
    tenant: &'a TenantRef,
    record: Option<&'a ResourceState>,
    /// Everything declared (for the commands hints give).
    desired: &'a crate::manifest::Desired,
    /// `--replace` names it: sent again whole even without a difference.
    forced: bool,
    /// Its rows, spelt in English (as they compare).
    wanted: Vec<Model>,
    /// Why its service could not be listed, when it could not (only the
    /// proposals the state records were read).
    unlisted: Option<&'a str>,
}

fn plan_one(out: &mut KindPlan, proposal: &DeclaredProposal<'_>, live: &[ObservedProposal]) {
    if !proposal.refuse_ignore_changes(out) {
        return;
    }
    let Some(observed) = proposal.bound(live) else {
        proposal.plan_unbound(out, live);
        return;
    };
    if let Some(problem) = &observed.problem {
        out.errors.push(
            PlanError::new(Some(proposal.address().clone()), problem.clone())
                .hint("the vendor's answer is malformed; check the proposal in the portal"),
        );
        return;
    }
    proposal.plan_replace(out, observed);
}

/// The row UUIDs of `models`.
fn uuids(models: &[Model]) -> BTreeSet<&str> {
    models.iter().map(|m| m.uuid.as_str()).collect()
}

impl<'a> DeclaredProposal<'a> {
    fn address(&self) -> &'a Address {
        &self.resource.address
    }

    /// A proposal is replaced whole: an ignored field would have to be sent
    /// with its live value, which is not built yet. Refusing beats silently
    /// not ignoring. False when refused.
    fn refuse_ignore_changes(&self, out: &mut KindPlan) -> bool {
        if self.resource.metadata.lifecycle.ignore_changes.is_empty() {
            return true;
        }
        out.errors.push(
            PlanError::new(
                Some(self.address().clone()),
                "lifecycle.ignoreChanges is not supported for Proposal: the API replaces a proposal whole",
            )
            .hint("remove ignoreChanges from this proposal")
            .at(Some(&self.resource.source)),
        );
        false
    }

    /// What a submission sends (in the proposal's language) and records.
    fn submission(&self, order_id: Option<String>) -> ProposalSubmission {
        let (spec, name) = (self.spec, self.resource.metadata.name.as_str());
        let attributes = ProposalAttributes {
            tenant: spec.tenant.clone(),
            service: spec.service,
            language: spec.language,
            customer_email: spec.customer_email.clone(),
            models: self.wanted.clone(),
            status_id: None,
        };
        ProposalSubmission {
            tenant: self.tenant.clone(),
            name: name.to_string(),
            order_id,
            service_id: spec.service.id(),
            language: spec.language,
            customer_email: spec.customer_email.clone(),
            models: spec.models(name, spec.language),
            attributes: json!(attributes),
            dependencies: ecl_tenant::recorded_dependencies(self.resource, &spec.tenant),
            lifecycle: RecordedLifecycle::from(&self.resource.metadata.lifecycle),
        }
    }

    /// The live proposal it is bound to: by the recorded `OrderId`, or,
    /// after a create a killed run left unanswered, by its rows.
    fn bound(&self, live: &'a [ObservedProposal]) -> Option<&'a ObservedProposal> {
        let record = self.record?;
        if let Some(order) = &record.remote_id {
            return live.iter().find(|o| o.order_id == *order);
        }
        let recorded: Vec<Model> =
            serde_json::from_value::<ProposalAttributes>(record.attributes.clone())
                .map(|a| a.models)
                .unwrap_or_default();
        let recorded = uuids(&recorded);
        live.iter()
            .find(|o| !recorded.is_empty() && uuids(&o.models) == recorded)
    }

    /// No live proposal is bound to it: create one, unless a proposal with
    /// its rows exists that the state does not know (the state was lost, or
    /// the run is in another directory), or a lost create cannot be looked
    /// for.
    fn plan_unbound(&self, out: &mut KindPlan, live: &[ObservedProposal]) {
        if self.lost_without_rows() {
            self.refuse_lost_without_rows(out);
        } else if let Some(existing) = self.unmanaged_with_its_rows(live) {
            self.refuse_unmanaged(out, existing);
        } else if let (Some(why), Some(_)) = (self.unlisted, self.lost_create()) {
            self.refuse_lost_unlisted(out, why);
        } else {
            if let Some(why) = self.unlisted {
                out.notes.push(format!(
                    "{}: the {} proposal list is unavailable ({why}), so entitle cannot check that no proposal with its rows exists already",
                    self.address(),
                    self.spec.service.name()
                ));
            }
            self.plan_create(out);
        }
    }

    /// A record of a create whose answer was lost.
    fn lost_create(&self) -> Option<&ResourceState> {
        self.record.filter(|r| r.remote_id.is_none())
    }

    /// A live proposal with one of its rows (row UUIDs are derived from
    /// the resource's name and rows), when the state records none.
    fn unmanaged_with_its_rows<'l>(
        &self,
        live: &'l [ObservedProposal],
    ) -> Option<&'l ObservedProposal> {
        if self.record.is_some() {
            return None;
        }
        let wanted = uuids(&self.wanted);
        live.iter().find(|o| !uuids(&o.models).is_disjoint(&wanted))
    }

    fn refuse_unmanaged(&self, out: &mut KindPlan, existing: &ObservedProposal) {
        let address = self.address();
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                format!(
                    "the tenant already has a {} proposal with this resource's rows (OrderId {}), but the state does not record it: creating it again would make a duplicate",
                    self.spec.service.name(),
                    existing.order_id
                ),
            )
            .hint(format!(
                "if the state was lost or this is another directory, bind it with `{}`",
                self.desired.import_command(address, &existing.order_id)
            )),
        );
    }

    fn refuse_lost_unlisted(&self, out: &mut KindPlan, why: &str) {
        let address = self.address();
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                format!(
                    "a previous run sent this proposal and did not learn its OrderId, and the {} proposal list is unavailable ({why}), so it cannot be looked for by its rows",
                    self.spec.service.name()
                ),
            )
            .hint(format!(
                "find it in the portal: if it is there, `{}`; if not, `entitle state rm {address}` and apply again",
                self.desired.import_command(address, "ORDER_ID")
            )),
        );
    }

    /// A create without rows whose answer was lost cannot be found again.
    fn lost_without_rows(&self) -> bool {
        self.record.is_some_and(|r| r.remote_id.is_none()) && self.wanted.is_empty()
    }

    fn refuse_lost_without_rows(&self, out: &mut KindPlan) {
        let address = self.address();
        out.errors.push(
            PlanError::new(
                Some(address.clone()),
                "a previous run sent this proposal without rows and did not learn whether it arrived; it cannot be found again by its rows",
            )
            .hint(format!(
                "look at the tenant's {} proposals (`entitle drift` lists the ones entitle does not manage): if it is there, `entitle import {address} ORDER_ID`; if not, `entitle state rm {address}` and apply again",
                self.spec.service.name(),
            )),
        );
    }

    fn plan_create(&self, out: &mut KindPlan) {
        let spec = self.spec;
        let reason = match self.record {
            None => "it is new",
            Some(r) if r.remote_id.is_none() => {
                "a previous run began creating it, and the tenant lists no proposal with its rows"
            }
            Some(_) => "the tenant no longer lists it",
        };
        let added = |field: &str, after: serde_json::Value| Change {
            field: field.into(),
            before: None,
            after: Some(after),
            forces_replacement: false,
        };
        let mut changes = vec![
            added("service", json!(spec.service.name())),
            added("language", json!(spec.language.code())),
            added("customerEmail", json!(spec.customer_email)),
        ];
        changes.extend(row_changes(&[], &self.wanted));
        out.drafts.push(Draft::single(
            ActionKind::Create,
            self.address(),
            reason.into(),
            changes,
            ProposalOperation::SubmitProposal(self.submission(None)),
        ));
    }

    /// What differs from the live proposal: e-mail, language and rows.
    fn changes(&self, observed: &ObservedProposal) -> Vec<Change> {
        let spec = self.spec;
        let mut changes = Vec::new();
        if observed.customer_email.as_deref() != Some(spec.customer_email.as_str()) {
            changes.push(Change {
                field: "customerEmail".into(),
                before: Some(json!(observed.customer_email)),
                after: Some(json!(spec.customer_email)),
                forces_replacement: false,
            });
        }
        if observed.language.as_deref() != Some(spec.language.code()) {
            changes.push(Change {
                field: "language".into(),
                before: Some(json!(observed.language)),
                after: Some(json!(spec.language.code())),
                forces_replacement: false,
            });
        }
        changes.extend(row_changes(&observed.models, &self.wanted));
        changes
    }

    /// The diff of the proposal's XML, live against planned, in English.
    fn xml_diff(&self, observed: &ObservedProposal) -> Option<String> {
        let (service, order) = (self.spec.service, Some(observed.order_id.as_str()));
        let email = observed.customer_email.as_deref().unwrap_or_default();
        let before = to_xml(service, Language::En, email, order, &observed.models);
        let after = to_xml(
            service,
            Language::En,
            &self.spec.customer_email,
            order,
            &self.wanted,
        );
        (before != after).then(|| {
            similar::TextDiff::from_lines(before.replace("\r\n", "\n"), after.replace("\r\n", "\n"))
                .unified_diff()
                .context_radius(3)
                .header(
                    "ProposalXml (live, in English)",
                    "ProposalXml (planned, in English)",
                )
                .to_string()
        })
    }

    /// The proposal sent again whole, with its `OrderId`, when anything
    /// differs or a previous run did not record it.
    fn plan_replace(&self, out: &mut KindPlan, observed: &ObservedProposal) {
        let changes = self.changes(observed);
        let adopting = self
            .record
            .is_some_and(|r| r.remote_id.as_deref() != Some(observed.order_id.as_str()));
        let ready = self.record.is_some_and(|r| r.status == Status::Ready);
        if changes.is_empty() && !adopting && ready && !self.forced {
            return;
        }
        let reason = if changes.is_empty() && self.forced {
            "--replace asks for it: the proposal is sent again whole (the API cannot delete one)"
                .to_string()
        } else if changes.is_empty() {
            "a previous run sent it but was stopped before recording it".to_string()
        } else {
            format!(
                "{} difference(s); the API replaces a proposal whole",
                changes.len()
            )
        };
        out.drafts.push(
            Draft::single(
                ActionKind::Update,
                self.address(),
                reason,
                changes,
                ProposalOperation::SubmitProposal(self.submission(Some(observed.order_id.clone()))),
            )
            .with_detail(self.xml_diff(observed)),
        );
    }
}

/// Row-by-row differences, rows matched by UUID: added, removed, and
/// changed (count or position).
fn row_changes(live: &[Model], wanted: &[Model]) -> Vec<Change> {
    let mut changes = Vec::new();
    let live_by_uuid: BTreeMap<&str, &Model> = live.iter().map(|m| (m.uuid.as_str(), m)).collect();
    let wanted_uuids: BTreeSet<&str> = wanted.iter().map(|m| m.uuid.as_str()).collect();
    for model in wanted {
        let label = format!("row {} ({})", model.row_number, model.item.describe());
        match live_by_uuid.get(model.uuid.as_str()) {
            None => changes.push(Change {
                field: label,
                before: None,
                after: Some(json!({ "number": model.number })),
                forces_replacement: false,
            }),
            Some(now) if now.number != model.number || now.row_number != model.row_number => {
                changes.push(Change {
                    field: label,
                    before: Some(json!({ "row": now.row_number, "number": now.number })),
                    after: Some(json!({ "row": model.row_number, "number": model.number })),
                    forces_replacement: false,
                });
            }
            Some(_) => {}
        }
    }
    for model in live {
        if !wanted_uuids.contains(model.uuid.as_str()) {
            changes.push(Change {
                field: format!("row {} ({})", model.row_number, model.item.describe()),
                before: Some(json!({ "number": model.number })),
                after: None,
                forces_replacement: false,
            });
        }
    }
    changes
}
