//! Redstor: `RedstorCompany` (a customer or partner in the MSP's tree) and
//! `RedstorSubscription` (a company's subscription to a product edition),
//! managed through RedAPI v1.
//!
//! The two kinds live in one module because they plan together: a company's
//! replacement removes its subscriptions, which are then made again, and a
//! subscription's company may be created in the same run. `plan.rs` holds
//! the planning of both, `apply.rs` their operations.

mod across;
mod apply;
mod drift;
mod import;
mod observe;
mod operation;
mod plan;
mod settle;

pub use observe::{RedstorLive, in_play, subscription_companies};
pub use operation::{CompanyParent, NewCompany, NewSubscription, RedstorOperation};
pub use plan::{
    CompanyAttributes, SubscriptionAttributes, being_removed, company_address,
    observed_company_attributes, same_name,
};

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

use super::{AcrossProblem, DeclaredSpec, Kind, KindSpec, Reference, SpecProblem, text_field};
use crate::api::redstor::CompanyType;

/// The kind of a managed company, for what looks companies up by address.
pub const COMPANY_KIND: Kind = Kind::RedstorCompany;

/// The word a subscription's `company` uses for the account's root company.
pub const ROOT: &str = "root";
/// The longest company name RedAPI takes.
pub const COMPANY_NAME_MAX: usize = 100;

/// A company in the account's tree: a customer, or a partner with customers
/// of its own. RedAPI has no rename: a changed `companyName` or `type`
/// replaces the company, which deletes it with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedstorCompanySpec {
    /// The company's name at Redstor; `metadata.name` when omitted. Unique
    /// among the companies of one parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub company_name: Option<String>,
    /// `Customer`, or `Partner` (which can have customers).
    #[serde(rename = "type")]
    pub company_type: CompanyTypeSpec,
    /// The `metadata.name` of the `RedstorCompany` (a partner) this company
    /// belongs to; the account's root company when omitted. Changing it
    /// moves the company (RedAPI's reassign), nothing is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub parent: Option<String>,
    /// Whether the company is enabled (default true).
    #[serde(default = "enabled_default", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// `Customer` or `Partner`, as written in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CompanyTypeSpec {
    Customer,
    Partner,
}

impl From<CompanyTypeSpec> for CompanyType {
    fn from(value: CompanyTypeSpec) -> Self {
        match value {
            CompanyTypeSpec::Customer => CompanyType::Customer,
            CompanyTypeSpec::Partner => CompanyType::Partner,
        }
    }
}

impl RedstorCompanySpec {
    /// The name at Redstor for a resource called `metadata_name`.
    pub fn name_at_redstor<'a>(&'a self, metadata_name: &'a str) -> &'a str {
        self.company_name.as_deref().unwrap_or(metadata_name)
    }
}

impl KindSpec for RedstorCompanySpec {
    const KIND: Kind = Kind::RedstorCompany;

    fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        if let Some(problem) = self.company_name.as_deref().and_then(company_name_problem) {
            problems.push(SpecProblem::new("companyName", problem).hint(
                "write the name as it should appear in the Redstor portal, e.g. `Contoso Ltd`",
            ));
        }
        if self.parent.as_deref() == Some(ROOT) {
            problems.push(
                SpecProblem::new(
                    "parent",
                    "`root` is not a RedstorCompany; the root company is the parent when `parent` is omitted",
                )
                .hint("remove `parent` to put the company directly under the account's root company"),
            );
        }
        problems
    }

    fn references(&self) -> Vec<Reference> {
        company_reference("parent", self.parent.as_deref())
    }

    fn references_in(spec: &serde_json::Value) -> Vec<Reference> {
        company_reference("parent", text_field(spec, "parent"))
    }

    fn check_across(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
        across::companies(declared)
    }
}

/// A field naming a company (`parent`, `company`): a reference, unless it
/// is absent or `root`.
fn company_reference(field: &str, name: Option<&str>) -> Vec<Reference> {
    name.filter(|name| *name != ROOT)
        .map(|name| Reference {
            field: field.into(),
            kind: Kind::RedstorCompany,
            name: name.to_owned(),
        })
        .into_iter()
        .collect()
}

/// What is wrong with a company name, if anything (used for `metadata.name`
/// too, when it stands for the name).
pub fn company_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("the company name is blank".into())
    } else if name.trim() != name {
        Some(format!(
            "the company name `{name}` starts or ends with spaces"
        ))
    } else if name.chars().count() > COMPANY_NAME_MAX {
        Some(format!(
            "the company name is {} characters long; RedAPI takes at most {COMPANY_NAME_MAX}",
            name.chars().count()
        ))
    } else if name.chars().any(char::is_control) {
        Some("the company name contains a control character".into())
    } else {
        None
    }
}

/// A company's subscription to one edition of a product. A company holds
/// at most one subscription per product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedstorSubscriptionSpec {
    /// The `metadata.name` of the `RedstorCompany` subscribed, or `root` for
    /// the account's own company.
    #[schemars(length(min = 1))]
    pub company: String,
    /// The product: its id (`4`) or its short name from the catalog (`O365`).
    pub product: CatalogRef,
    /// The edition: its id (`42`) or its name (`Advanced`).
    pub edition: CatalogRef,
    /// Start as a trial (the edition must offer one). Turning `true` into
    /// `false` converts the trial into a paid subscription.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trial: bool,
}

/// A catalog entry named by its id or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CatalogRef {
    Id(u32),
    Name(String),
}

impl std::fmt::Display for CatalogRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogRef::Id(id) => write!(f, "{id}"),
            CatalogRef::Name(name) => f.write_str(name),
        }
    }
}

impl KindSpec for RedstorSubscriptionSpec {
    const KIND: Kind = Kind::RedstorSubscription;

    fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        for (field, value) in [("product", &self.product), ("edition", &self.edition)] {
            if let CatalogRef::Name(name) = value
                && name.trim().is_empty()
            {
                problems.push(
                    SpecProblem::new(field, format!("the {field} is blank")).hint(format!(
                        "write the {field}'s id or name from the product catalog"
                    )),
                );
            }
        }
        problems
    }

    fn references(&self) -> Vec<Reference> {
        company_reference("company", Some(&self.company))
    }

    fn references_in(spec: &serde_json::Value) -> Vec<Reference> {
        company_reference("company", text_field(spec, "company"))
    }

    fn check_across(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
        across::subscriptions(declared)
    }
}

/// RedAPI: the MSP's company tree and its subscriptions.
pub struct Redstor;

impl Provider for Redstor {
    /// `None` when no Redstor resource is declared or recorded.
    type Live = Option<RedstorLive>;
    type Operation = RedstorOperation;

    async fn refresh(
        scope: RefreshScope<'_>,
        clients: Clients<'_>,
    ) -> Result<Option<RedstorLive>, ApiError> {
        observe::refresh(scope.manifests, scope.state, clients.redstor).await
    }

    fn plan(context: &PlanContext<'_>, live: &Option<RedstorLive>) -> KindPlan {
        plan::plan(context, live.as_ref())
    }

    async fn apply(
        operation: &RedstorOperation,
        action: &Action,
        context: &ApplyContext,
    ) -> Result<String, ApplyError> {
        apply::apply(operation, action, context).await
    }

    fn destroys_data(operation: &RedstorOperation) -> bool {
        match operation {
            RedstorOperation::ReplaceCompany { .. }
            | RedstorOperation::ReplaceSubscription { .. } => true,
            RedstorOperation::CreateCompany(_)
            | RedstorOperation::UpdateCompany { .. }
            | RedstorOperation::DeleteCompany { .. }
            | RedstorOperation::CreateSubscription(_)
            | RedstorOperation::ConvertTrial { .. }
            | RedstorOperation::DeleteSubscription { .. }
            | RedstorOperation::Bind { .. } => false,
        }
    }

    fn data_lost(operation: &RedstorOperation) -> Option<&'static str> {
        match operation {
            RedstorOperation::ReplaceCompany { .. } | RedstorOperation::DeleteCompany { .. } => {
                Some("the company's backups and data at Redstor are deleted")
            }
            RedstorOperation::ReplaceSubscription { .. }
            | RedstorOperation::DeleteSubscription { .. } => {
                Some("the subscription's backups at Redstor are deleted")
            }
            RedstorOperation::CreateCompany(_)
            | RedstorOperation::UpdateCompany { .. }
            | RedstorOperation::CreateSubscription(_)
            | RedstorOperation::ConvertTrial { .. }
            | RedstorOperation::Bind { .. } => None,
        }
    }

    async fn import(
        scope: Scope<'_>,
        resource: &Resource,
        remote_id: &str,
        clients: Clients<'_>,
    ) -> Result<ResourceState, crate::Error> {
        let client = clients.redstor.client()?;
        import::import(scope.desired, scope.state, resource, remote_id, client).await
    }

    fn drift(scope: Scope<'_>, live: &Option<RedstorLive>, report: &mut DriftReport) {
        if let Some(live) = live {
            drift::drift(scope.state, live, report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_names_are_checked_like_the_portal() {
        assert_eq!(company_name_problem("Contoso Ltd"), None);
        assert!(company_name_problem("  ").is_some());
        assert!(company_name_problem(" Contoso").is_some());
        assert!(company_name_problem(&"x".repeat(101)).is_some());
        assert!(company_name_problem("a\u{7}b").is_some());
    }

    #[test]
    fn root_is_not_a_reference() {
        let spec = RedstorSubscriptionSpec {
            company: ROOT.into(),
            product: CatalogRef::Name("O365".into()),
            edition: CatalogRef::Id(41),
            trial: false,
        };
        assert!(spec.references().is_empty());
        let company = RedstorCompanySpec {
            company_name: None,
            company_type: CompanyTypeSpec::Customer,
            parent: Some("partner".into()),
            enabled: true,
        };
        assert_eq!(company.references()[0].name, "partner");
    }
}

#[cfg(test)]
mod plan_tests;
