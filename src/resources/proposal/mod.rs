//! `Proposal`: a partner-service order in an ECL tenant (HULFT, Power
//! Systems, FastDNS, Hybrid Cloud with GCP / AWS), sent through the ECL
//! Proposal API as an XML document of model rows.
//!
//! The manifest names each row's product or plan; the tool manages the row
//! numbers, the fixed status and each row's UUID, which is derived from the
//! proposal's name and what identifies the row (not its `number`), so a row
//! keeps its UUID for as long as it stays the same row.

mod apply;
mod drift;
mod import;
mod observe;
mod operation;
mod plan;

pub use observe::{ListScope, ObservedProposal, ProposalsLive, observe, tenants_and_services};
pub use operation::{ProposalOperation, ProposalSubmission};
pub use plan::{ProposalAttributes, READ_LANGUAGE, to_xml};

use crate::api::ApiError;
use crate::apply::context::{ApplyError, Context as ApplyContext};
use crate::manifest::Resource;
use crate::plan::contract::{Context as PlanContext, KindPlan};
use crate::plan::model::Action;
use crate::report::drift::DriftReport;
use crate::resources::provider::{Clients, Provider, RefreshScope, Scope};
use crate::state::ResourceState;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ecl_tenant::tenant_reference;
use super::proposal_catalog::{
    self, HulftChoice, Language, Service, find_generic_plan, find_hulft,
};
use super::text_rules;
use super::{Kind, KindSpec, Reference, SpecProblem};

/// A proposal (order) for a partner service in an ECL tenant. The API has
/// no delete: a proposal removed from the manifests can only be forgotten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalSpec {
    /// The `metadata.name` of the `EclTenant` the proposal is made in.
    #[schemars(length(min = 1))]
    pub tenant: String,
    /// The partner service: `HULFT`, `PowerSystems`, `FastDNS`,
    /// `HybridCloudGCP` or `HybridCloudAWS`.
    pub service: Service,
    /// The language of the proposal, `ja` or `en`; HULFT rows may be written
    /// in either and are sent in this one.
    pub language: Language,
    /// The e-mail address the vendor answers to.
    #[schemars(email, length(max = 254))]
    pub customer_email: String,
    /// The rows ordered. HULFT rows name a product combination; the other
    /// services' rows name a plan. Power Systems takes no rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ProposalRow>,
}

/// One row of a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalRow {
    /// HULFT: the product, e.g. `HULFT8 for Windows-Server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// HULFT: the cluster option, e.g. `None` / `なし`, `Yes (Active-CL)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// HULFT: the AES cipher option, `None` / `Yes` (`なし` / `あり`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes: Option<String>,
    /// HULFT: the script option, `None` / `Yes` (`なし` / `あり`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// HULFT: the license pack, where the product has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_pack: Option<String>,
    /// HULFT: the item name; derived from the combination when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// HULFT: the data centre, `jp1` to `jp7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// HULFT: the parent's serial number, or the row number of the parent
    /// row in this proposal (`1` for the first row under `models`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_serial: Option<String>,
    /// Other services: the plan, by id (`801`) or by name (`1zone Plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRef>,
    /// How many to add (1 or more).
    #[schemars(range(min = 1))]
    pub number: u32,
}

/// A generic plan named by its id or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PlanRef {
    Id(u32),
    Name(String),
}

impl std::fmt::Display for PlanRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanRef::Id(id) => write!(f, "{id}"),
            PlanRef::Name(name) => f.write_str(name),
        }
    }
}

/// A row as it is sent: every field in the proposal's language, numbered,
/// with its stable UUID. Comparable with a row read back from the API.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Model {
    pub uuid: String,
    pub row_number: u32,
    pub number: u32,
    pub item: Item,
}

/// What a row is: a HULFT combination or a generic plan.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Item {
    Hulft {
        dc: String,
        product: String,
        cluster: Option<String>,
        aes: Option<String>,
        script: Option<String>,
        license_pack: Option<String>,
        name: String,
        parent_serial: Option<String>,
    },
    Plan {
        id: u32,
    },
}

impl Item {
    /// One line for a plan: what the row is, without its count.
    pub fn describe(&self) -> String {
        match self {
            Item::Hulft {
                dc,
                name,
                parent_serial,
                ..
            } => match parent_serial {
                Some(parent) => format!("{name} in {dc} (parent {parent})"),
                None => format!("{name} in {dc}"),
            },
            Item::Plan { id } => format!("plan {id}"),
        }
    }
}

impl ProposalSpec {
    /// The rows as sent, for the proposal called `name`, spelt in
    /// `language`. A row's UUID does not depend on the language. Rows that
    /// do not check out are skipped (validation reports them).
    pub fn models(&self, name: &str, language: Language) -> Vec<Model> {
        let mut seen: Vec<Item> = Vec::new();
        let mut models = Vec::new();
        for row in &self.models {
            let (Ok(item), Ok(key)) = (self.item(row, language), self.item(row, Language::En))
            else {
                continue;
            };
            let repeat = seen.iter().filter(|i| **i == key).count();
            seen.push(key.clone());
            models.push(Model {
                uuid: row_uuid(name, &key, repeat),
                row_number: u32::try_from(models.len() + 1).unwrap_or(u32::MAX),
                number: row.number,
                item,
            });
        }
        models
    }

    /// What one row is, spelt in `language`.
    fn item(&self, row: &ProposalRow, language: Language) -> Result<Item, SpecProblem> {
        if self.service.is_hulft() {
            let choice = HulftChoice {
                product: row.product.clone().unwrap_or_default(),
                license_pack: row.license_pack.clone(),
                cluster: row.cluster.clone(),
                aes: row.aes.clone(),
                script: row.script.clone(),
                name: row.name.clone(),
            };
            let found = find_hulft(&choice).map_err(|miss| {
                SpecProblem::new("", miss.message).hint(format!(
                    "the closest allowed combination is {}",
                    miss.closest.describe(self.language)
                ))
            })?;
            Ok(hulft_item(
                found,
                language,
                row.dc.clone().unwrap_or_default(),
                row.parent_serial.clone(),
            ))
        } else {
            let plan = row
                .plan
                .as_ref()
                .ok_or_else(|| SpecProblem::new("plan", "each row needs a `plan`"))?;
            let found = find_generic_plan(self.service, &plan.to_string())
                .map_err(|message| SpecProblem::new("plan", message))?;
            Ok(Item::Plan { id: found.id })
        }
    }
}

/// A HULFT combination as a row's item, spelt in `language`.
pub fn hulft_item(
    found: &proposal_catalog::HulftCombination,
    language: Language,
    dc: String,
    parent_serial: Option<String>,
) -> Item {
    let text = |t: Option<proposal_catalog::Text>| t.map(|t| t.get(language).to_string());
    Item::Hulft {
        dc,
        product: found.product.get(language).to_string(),
        cluster: text(found.cluster),
        aes: text(found.aes),
        script: text(found.script),
        license_pack: text(found.license_pack),
        name: found.name.get(language).to_string(),
        parent_serial,
    }
}

/// A row's UUID: a hash of the proposal's name, what the row is, and how
/// many identical rows come before it. Stable while the row stays the same.
fn row_uuid(name: &str, item: &Item, repeat: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(item).unwrap_or_default());
    hasher.update(repeat.to_le_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl KindSpec for ProposalSpec {
    const KIND: Kind = Kind::Proposal;

    fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        if let Err((message, hint)) = text_rules::email(&self.customer_email) {
            problems.push(SpecProblem {
                field: "customerEmail".into(),
                message,
                hint,
            });
        }
        if !self.service.takes_rows() && !self.models.is_empty() {
            problems.push(
                SpecProblem::new(
                    "models",
                    format!("{} proposals take no rows", self.service.name()),
                )
                .hint("remove `models`"),
            );
            return problems;
        }
        let hulft_fields = |row: &ProposalRow| {
            [
                ("product", row.product.is_some()),
                ("cluster", row.cluster.is_some()),
                ("aes", row.aes.is_some()),
                ("script", row.script.is_some()),
                ("licensePack", row.license_pack.is_some()),
                ("name", row.name.is_some()),
                ("dc", row.dc.is_some()),
                ("parentSerial", row.parent_serial.is_some()),
            ]
        };
        for (index, row) in self.models.iter().enumerate() {
            let at = |field: &str| format!("models[{index}].{field}");
            if self.service.is_hulft() {
                if row.plan.is_some() {
                    problems.push(
                        SpecProblem::new(at("plan"), "HULFT rows name a product, not a plan")
                            .hint("write product, cluster, aes, script and dc instead"),
                    );
                }
                match row.dc.as_deref() {
                    None => problems.push(
                        SpecProblem::new(at("dc"), "HULFT rows need a `dc`")
                            .hint("the data centre, jp1 to jp7"),
                    ),
                    Some(dc) if !is_dc(dc) => problems.push(SpecProblem::new(
                        at("dc"),
                        format!("`{dc}` is not a HULFT data centre; write jp1 to jp7"),
                    )),
                    Some(_) => {}
                }
                if let Some(problem) = self.parent_row_problem(index, row) {
                    problems.push(problem);
                }
                if row.product.is_none() {
                    problems.push(SpecProblem::new(
                        at("product"),
                        "HULFT rows need a `product`",
                    ));
                    continue;
                }
            } else {
                for (field, present) in hulft_fields(row) {
                    if present {
                        problems.push(
                            SpecProblem::new(
                                at(field),
                                format!(
                                    "`{field}` belongs to HULFT rows; {} rows name a `plan`",
                                    self.service.name()
                                ),
                            )
                            .hint("remove it"),
                        );
                    }
                }
            }
            if let Err(mut problem) = self.item(row, self.language) {
                problem.field = if problem.field.is_empty() {
                    format!("models[{index}]")
                } else {
                    at(&problem.field)
                };
                problems.push(problem);
            }
        }
        problems
    }

    fn references(&self) -> Vec<Reference> {
        vec![tenant_reference(&self.tenant)]
    }

    fn references_in(spec: &serde_json::Value) -> Vec<Reference> {
        crate::resources::ecl_tenant::tenant_references_in(spec)
    }
}

impl ProposalSpec {
    /// A `parentSerial` written as a row number (digits only) must name
    /// another row of this proposal; a serial number is the vendor's to check.
    fn parent_row_problem(&self, index: usize, row: &ProposalRow) -> Option<SpecProblem> {
        let serial = row.parent_serial.as_deref()?.trim();
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let rows = self.models.len();
        let field = format!("models[{index}].parentSerial");
        let hint = if rows > 1 {
            format!(
                "write the row number of the parent row, 1 to {rows} (`1` is the first row under `models`), or the serial number of a product already ordered"
            )
        } else {
            "add the parent's row to `models` and write its row number, or write the serial number of a product already ordered".to_owned()
        };
        let problem = match serial.parse::<usize>() {
            Ok(parent) if parent == index + 1 => {
                format!("`parentSerial` \"{serial}\" names this row itself (row {parent})")
            }
            Ok(parent) if (1..=rows).contains(&parent) => return None,
            _ => format!(
                "`parentSerial` \"{serial}\" is a row number, and this proposal has no row {serial}: it has {rows} row{}",
                if rows == 1 { "" } else { "s" }
            ),
        };
        Some(SpecProblem::new(field, problem).hint(hint))
    }
}

fn is_dc(dc: &str) -> bool {
    matches!(dc, "jp1" | "jp2" | "jp3" | "jp4" | "jp5" | "jp6" | "jp7")
}

/// The ECL Proposal API of every tenant in play.
pub struct Proposals;

impl Provider for Proposals {
    type Live = ProposalsLive;
    type Operation = ProposalOperation;

    async fn refresh(
        scope: RefreshScope<'_>,
        clients: Clients<'_>,
    ) -> Result<ProposalsLive, ApiError> {
        let scope = scope.loaded().await;
        let scopes = tenants_and_services(scope.desired, scope.state);
        observe::refresh(&scopes, clients.ecl).await
    }

    fn plan(context: &PlanContext<'_>, live: &ProposalsLive) -> KindPlan {
        plan::plan(context, live)
    }

    async fn apply(
        operation: &ProposalOperation,
        action: &Action,
        context: &ApplyContext,
    ) -> Result<String, ApplyError> {
        apply::apply(operation, action, context).await
    }

    fn destroys_data(operation: &ProposalOperation) -> bool {
        match operation {
            ProposalOperation::SubmitProposal(_) => false,
        }
    }

    fn data_lost(operation: &ProposalOperation) -> Option<&'static str> {
        match operation {
            ProposalOperation::SubmitProposal(_) => None,
        }
    }

    async fn import(
        scope: Scope<'_>,
        resource: &Resource,
        remote_id: &str,
        clients: Clients<'_>,
    ) -> Result<ResourceState, crate::Error> {
        import::import(scope.desired, resource, remote_id, clients.ecl).await
    }

    fn drift(scope: Scope<'_>, live: &ProposalsLive, report: &mut DriftReport) {
        drift::drift(scope.state, live, report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hulft(parents: &[Option<&str>]) -> ProposalSpec {
        let row = |parent: &Option<&str>| ProposalRow {
            product: Some("HULFT8 for Windows-Server".into()),
            cluster: Some("Yes (Active-CL)".into()),
            aes: Some("Yes".into()),
            script: Some("None".into()),
            license_pack: None,
            name: None,
            dc: Some("jp1".into()),
            parent_serial: parent.map(str::to_owned),
            plan: None,
            number: 1,
        };
        ProposalSpec {
            tenant: "prod".into(),
            service: Service::Hulft,
            language: Language::En,
            customer_email: "ops@example.com".into(),
            models: parents.iter().map(row).collect(),
        }
    }

    fn fields(spec: &ProposalSpec) -> Vec<String> {
        spec.check().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_parent_row_number_names_another_row() {
        assert_eq!(fields(&hulft(&[None, Some("1")])), Vec::<String>::new());
        assert_eq!(
            fields(&hulft(&[Some("2"), Some(" 1 ")])),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(&hulft(&[None, Some("3"), Some("0"), Some("5")])),
            ["models[2].parentSerial", "models[3].parentSerial"]
        );
        assert_eq!(
            fields(&hulft(&[None, Some("2")])),
            ["models[1].parentSerial"]
        );
        assert_eq!(
            fields(&hulft(&[None, Some("99999999999999999999999")])),
            ["models[1].parentSerial"]
        );
    }

    #[test]
    fn a_serial_number_is_the_vendors_to_check() {
        assert_eq!(fields(&hulft(&[Some("SN-0001")])), Vec::<String>::new());
        assert_eq!(fields(&hulft(&[Some("")])), Vec::<String>::new());
    }
}
