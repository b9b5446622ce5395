//! The `Policy` document's shape (serde + JSON Schema) and the rules its
//! schema cannot express.

use globset::{Glob, GlobMatcher};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use super::POLICY_KIND;
use super::window::{ChangeWindow, Window};
use crate::manifest::{API_VERSION, SourceLocation};
use crate::resources::{Kind, SpecProblem};

/// The policy the manifests declare, with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its `metadata.name`.
    pub name: String,
    pub spec: PolicySpec,
    /// Where its document starts.
    pub source: SourceLocation,
}

/// What a plan may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    /// The most resources one plan may delete (forgetting one with
    /// `deletionPolicy: Orphan` is not a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deletes: Option<u32>,
    /// The most resources one plan may replace (delete and make anew).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replaces: Option<u32>,
    /// Resources no plan may delete or replace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<Protect>,
    /// When apply may change anything; outside every window apply refuses
    /// and plan warns. No windows: any time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_windows: Vec<ChangeWindow>,
    /// Objects at the vendors a team keeps outside entitle on purpose:
    /// `drift` leaves them out of "unmanaged" and counts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift_ignore: Vec<DriftIgnore>,
}

/// Unmanaged objects to leave out of drift: those matching every field
/// given (at least one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftIgnore {
    /// The manifest kind it would be (`ArcserveLicense`, `Proposal`,
    /// `RedstorCompany`, `RedstorSubscription`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A glob on its name at the vendor (a subscription's: its product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// In this ECL tenant (its `metadata.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// In this Redstor company (its `metadata.name`) or below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redstor_company: Option<String>,
}

/// Resources shielded from deletion and replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Protect {
    /// Every resource whose address (`Kind/name`) matches this glob
    /// (`*` any text, `?` one character, `{a,b}` either).
    Address(String),
    /// An ECL tenant (its `metadata.name`) and every license and proposal
    /// in it.
    Tenant(String),
    /// A Redstor company (its `metadata.name`), every company below it and
    /// their subscriptions.
    RedstorCompany(String),
}

impl Protect {
    /// Its key as written: `address`, `tenant`, `redstorCompany`.
    pub fn key(&self) -> &'static str {
        match self {
            Protect::Address(_) => "address",
            Protect::Tenant(_) => "tenant",
            Protect::RedstorCompany(_) => "redstorCompany",
        }
    }

    /// As written: `tenant: prod`.
    pub fn describe(&self) -> String {
        let (Protect::Address(value) | Protect::Tenant(value) | Protect::RedstorCompany(value)) =
            self;
        format!("{}: {value}", self.key())
    }

    /// The glob of an `address` entry, compiled.
    pub fn matcher(glob: &str) -> Result<GlobMatcher, String> {
        Glob::new(glob)
            .map(|glob| glob.compile_matcher())
            .map_err(|err| err.kind().to_string())
    }
}

impl PolicySpec {
    /// The checks beyond the schema: globs compile, hours read, time zones
    /// exist.
    pub fn check(&self) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        for (at, protect) in self.protect.iter().enumerate() {
            if let Protect::Address(glob) = protect {
                let field = format!("protect[{at}].address");
                if let Err(why) = Protect::matcher(glob) {
                    problems.push(
                        SpecProblem::new(field, format!("`{glob}` is not a glob: {why}"))
                            .hint("write `Kind/name` with `*`, `?` or `{a,b}`, such as `ArcserveLicense/prod-*`"),
                    );
                } else if !glob.contains('/') && !glob.starts_with('*') {
                    problems.push(
                        SpecProblem::new(field, format!("`{glob}` cannot match an address")).hint(
                            format!("addresses are `Kind/name`: write `*/{glob}` or name the kind"),
                        ),
                    );
                }
            }
        }
        for (at, ignore) in self.drift_ignore.iter().enumerate() {
            problems.extend(ignore.check(at));
        }
        for (at, window) in self.change_windows.iter().enumerate() {
            if let Err(problem) = window.prepare() {
                let mut found = SpecProblem::new(
                    format!("changeWindows[{at}].{}", problem.field),
                    problem.message,
                );
                found.hint = problem.hint;
                problems.push(found);
            }
        }
        problems
    }

    /// The change windows ready to ask (those that passed [`check`](Self::check)).
    pub fn windows(&self) -> Vec<Window> {
        self.change_windows
            .iter()
            .filter_map(|window| window.prepare().ok())
            .collect()
    }
}

impl DriftIgnore {
    fn check(&self, at: usize) -> Vec<SpecProblem> {
        let mut problems = Vec::new();
        if self == &DriftIgnore::default() {
            problems.push(
                SpecProblem::new(
                    format!("driftIgnore[{at}]"),
                    "an entry without fields would leave out every unmanaged object",
                )
                .hint("give at least one of `kind`, `name`, `tenant`, `redstorCompany`"),
            );
        }
        if let Some(kind) = &self.kind
            && kind.parse::<Kind>().is_err()
        {
            let kinds = Kind::names().join("`, `");
            problems.push(
                SpecProblem::new(
                    format!("driftIgnore[{at}].kind"),
                    format!("unknown kind `{kind}`"),
                )
                .hint(format!("one of `{kinds}`")),
            );
        }
        if let Some(glob) = &self.name
            && let Err(why) = Protect::matcher(glob)
        {
            problems.push(
                SpecProblem::new(
                    format!("driftIgnore[{at}].name"),
                    format!("`{glob}` is not a glob: {why}"),
                )
                .hint("write the name with `*`, `?` or `{a,b}`, such as `legacy-*`"),
            );
        }
        problems
    }
}

/// The `metadata` of a policy: its name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyMetadata {
    /// The policy's name, for messages: 1 to 255 characters.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
}

/// The whole document's shape; only its schema is used.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct PolicyDocument {
    /// The manifest format version: `entitle/v1`.
    api_version: Constant<ApiVersionName>,
    /// `Policy`.
    kind: Constant<PolicyKindName>,
    metadata: PolicyMetadata,
    spec: PolicySpec,
}

/// Schema of a string constant.
struct Constant<T>(std::marker::PhantomData<T>);

trait ConstantName {
    const NAME: &'static str;
    const VALUE: &'static str;
}

struct ApiVersionName;
impl ConstantName for ApiVersionName {
    const NAME: &'static str = "PolicyApiVersion";
    const VALUE: &'static str = API_VERSION;
}

struct PolicyKindName;
impl ConstantName for PolicyKindName {
    const NAME: &'static str = "PolicyKind";
    const VALUE: &'static str = POLICY_KIND;
}

impl<T: ConstantName> JsonSchema for Constant<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "const": T::VALUE })
    }
}

/// The JSON Schema of a whole `Policy` document.
pub fn policy_schema() -> serde_json::Value {
    let mut document = SchemaGenerator::default().into_root_schema_for::<PolicyDocument>();
    document.insert("title".into(), POLICY_KIND.into());
    document.insert(
        "description".into(),
        format!("An `{API_VERSION}` manifest of kind Policy: guardrails on what a plan may do.")
            .into(),
    );
    document.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_the_kind_and_every_rule() {
        let schema = policy_schema();
        assert_eq!(schema["properties"]["kind"]["const"], "Policy");
        assert_eq!(schema["properties"]["apiVersion"]["const"], API_VERSION);
        let text = schema.to_string();
        for rule in super::super::Rule::all() {
            assert!(text.contains(&format!("\"{}\"", rule.name())), "{rule}");
        }
    }

    #[test]
    fn each_container_entry_names_a_kind_that_holds_others() {
        for protect in [
            Protect::Tenant("t".into()),
            Protect::RedstorCompany("c".into()),
        ] {
            let kind = crate::resources::Kind::of_container_key(protect.key());
            assert!(kind.is_some(), "{}", protect.describe());
        }
        assert!(crate::resources::Kind::of_container_key("address").is_none());
    }

    #[test]
    fn globs_that_cannot_match_an_address_are_explained() {
        let spec = PolicySpec {
            protect: vec![
                Protect::Address("ArcserveLicense/[".into()),
                Protect::Address("prod-db".into()),
                Protect::Address("*/prod-*".into()),
            ],
            ..PolicySpec::default()
        };
        let problems = spec.check();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["protect[0].address", "protect[1].address"]);
        assert_eq!(
            problems[1].hint.as_deref(),
            Some("addresses are `Kind/name`: write `*/prod-db` or name the kind")
        );
    }
}
