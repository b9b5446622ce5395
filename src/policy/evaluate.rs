//! A plan against a policy: which rules it breaks, and what to warn about.

use std::collections::{BTreeSet, HashSet};

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Rule;
use super::spec::{Policy, Protect};
use super::window::Window;
use crate::manifest::{Address, Desired, Kind};
use crate::plan::model::{ActionKind, Plan};
use crate::state::State;

/// When a policy is evaluated: a change window binds apply; a plan made
/// outside one only warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Plan,
    Apply,
}

/// What a policy says of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyReport {
    /// The policy's `metadata.name`.
    pub policy: String,
    /// Where it is declared: `file:line:column`.
    pub source: String,
    /// The same place, for annotations (not in the JSON).
    #[serde(skip)]
    #[schemars(skip)]
    pub location: Option<crate::manifest::SourceLocation>,
    /// The rules the plan breaks; any that is not overridden stops it.
    pub violations: Vec<Violation>,
    /// What is worth knowing and stops nothing (a plan made outside the
    /// change windows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One rule broken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Violation {
    pub rule: Rule,
    pub message: String,
    /// The resources concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Let through by `--override-policy RULE`.
    #[serde(default)]
    pub overridden: bool,
}

impl PolicyReport {
    /// Whether a violation stands that no override lets through.
    pub fn blocks(&self) -> bool {
        self.violations.iter().any(|v| !v.overridden)
    }

    /// The violations let through by an override.
    pub fn overridden(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.overridden)
    }
}

/// The destroying actions of a plan, each address with what is done to it.
fn destroyed(plan: &Plan, kind: ActionKind) -> Vec<Address> {
    plan.actions
        .iter()
        .filter(|action| action.kind == kind)
        .flat_map(|action| action.addresses.iter().cloned())
        .collect()
}

/// Evaluates `plan` (made from `desired` against `prior`) at `now`.
/// Violations of the rules in `overrides` are kept, marked overridden.
pub fn evaluate(
    policy: &Policy,
    plan: &Plan,
    desired: &Desired,
    prior: &State,
    now: Timestamp,
    stage: Stage,
    overrides: &[Rule],
) -> PolicyReport {
    let spec = &policy.spec;
    let deletes = destroyed(plan, ActionKind::Delete);
    let replaces = destroyed(plan, ActionKind::Replace);
    let mut violations = Vec::new();
    violations.extend(over_limit(
        Rule::MaxDeletes,
        "deletes",
        &deletes,
        spec.max_deletes,
    ));
    violations.extend(over_limit(
        Rule::MaxReplaces,
        "replaces",
        &replaces,
        spec.max_replaces,
    ));
    let places = Containment { desired, prior };
    for protect in &spec.protect {
        violations.extend(protected(protect, &deletes, &replaces, &places));
    }
    let mut warnings = Vec::new();
    if !plan.is_empty()
        && let Some(closed) = outside_windows(&spec.windows(), now)
    {
        match stage {
            Stage::Plan => warnings.push(format!(
                "{closed}: apply will refuse this plan until a window opens"
            )),
            Stage::Apply => violations.push(Violation {
                rule: Rule::ChangeWindows,
                message: format!("{closed}: apply changes nothing outside them"),
                addresses: Vec::new(),
                overridden: false,
            }),
        }
    }
    for violation in &mut violations {
        violation.overridden = overrides.contains(&violation.rule);
    }
    PolicyReport {
        policy: policy.name.clone(),
        source: policy.source.to_string(),
        location: Some(policy.source.clone()),
        violations,
        warnings,
    }
}

/// `maxDeletes` and `maxReplaces`.
fn over_limit(
    rule: Rule,
    verb: &str,
    addresses: &[Address],
    limit: Option<u32>,
) -> Option<Violation> {
    let limit = limit?;
    if addresses.len() <= usize::try_from(limit).unwrap_or(usize::MAX) {
        return None;
    }
    let noun = if addresses.len() == 1 {
        "resource"
    } else {
        "resources"
    };
    Some(Violation {
        rule,
        message: format!(
            "the plan {verb} {} {noun}, more than {rule} ({limit}) allows: {}",
            addresses.len(),
            listed(addresses)
        ),
        addresses: addresses.to_vec(),
        overridden: false,
    })
}

/// Up to five addresses, then how many more.
fn listed(addresses: &[Address]) -> String {
    const SHOWN: usize = 5;
    let mut text: Vec<String> = addresses
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect();
    if addresses.len() > SHOWN {
        text.push(format!("and {} more", addresses.len() - SHOWN));
    }
    text.join(", ")
}

/// One `protect` entry against the deletes and replaces.
fn protected(
    protect: &Protect,
    deletes: &[Address],
    replaces: &[Address],
    places: &Containment<'_>,
) -> Option<Violation> {
    let covers: Box<dyn Fn(&Address) -> bool> = match protect {
        Protect::Address(glob) => {
            let matcher = Protect::matcher(glob).ok()?;
            Box::new(move |address: &Address| matcher.is_match(address.to_string()))
        }
        Protect::Tenant(name) | Protect::RedstorCompany(name) => {
            let kind = Kind::of_container_key(protect.key())?;
            let container = Address::new(kind, name.clone());
            Box::new(move |address: &Address| places.within(address, &container))
        }
    };
    let hit = |addresses: &[Address], verb: &str| -> Vec<(Address, String)> {
        addresses
            .iter()
            .filter(|address| covers(address))
            .map(|address| (address.clone(), format!("{verb} {address}")))
            .collect()
    };
    let mut hits = hit(deletes, "deletes");
    hits.extend(hit(replaces, "replaces"));
    if hits.is_empty() {
        return None;
    }
    let said: Vec<String> = hits.iter().map(|(_, said)| said.clone()).collect();
    Some(Violation {
        rule: Rule::Protect,
        message: format!(
            "`{}` is protected, and the plan {}",
            protect.describe(),
            said.join(", ")
        ),
        addresses: hits.into_iter().map(|(address, _)| address).collect(),
        overridden: false,
    })
}

/// Which resources are in which: a license or proposal in its tenant, a
/// company below its parent, a subscription in its company. Declared
/// resources say it in their spec, removed ones in their state record.
pub(super) struct Containment<'a> {
    pub desired: &'a Desired,
    pub prior: &'a State,
}

impl Containment<'_> {
    fn containers(&self, address: &Address) -> Vec<Address> {
        let is_container = |kind: Kind| kind.container_key().is_some();
        match self.desired.get(address) {
            Some(resource) => resource
                .spec
                .references()
                .into_iter()
                .filter(|reference| is_container(reference.kind))
                .map(|reference| Address::new(reference.kind, reference.name))
                .collect(),
            None => self
                .prior
                .get(address)
                .map(|record| {
                    record
                        .dependencies
                        .iter()
                        .filter(|dependency| is_container(dependency.kind))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether `address` is `container` or (transitively) in it.
    pub fn within(&self, address: &Address, container: &Address) -> bool {
        let mut seen = HashSet::new();
        let mut next = vec![address.clone()];
        while let Some(at) = next.pop() {
            if &at == container {
                return true;
            }
            if seen.insert(at.clone()) {
                next.extend(self.containers(&at));
            }
        }
        false
    }
}

/// Why now is outside every window, or `None` when one is open (or there
/// are none).
fn outside_windows(windows: &[Window], now: Timestamp) -> Option<String> {
    if windows.is_empty() || windows.iter().any(|window| window.is_open(now)) {
        return None;
    }
    let described: BTreeSet<String> = windows.iter().map(Window::describe).collect();
    let next = windows
        .iter()
        .map(|window| window.next_opening(now))
        .min_by_key(|(opens, _)| *opens)
        .map(|(_, said)| said)
        .unwrap_or_default();
    Some(format!(
        "it is outside every change window ({}); the next opens {next}",
        described.into_iter().collect::<Vec<_>>().join("; ")
    ))
}

/// A plan stopped by its policy: what `plan` and `apply` fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", refusal_text(.0))]
pub struct PolicyRefusal(pub Box<PolicyReport>);

fn refusal_text(report: &PolicyReport) -> String {
    let standing: Vec<&Violation> = report.violations.iter().filter(|v| !v.overridden).collect();
    let mut text = format!(
        "the plan breaks policy `{}` ({}):",
        crate::escape::text(&report.policy),
        report.source
    );
    for violation in &standing {
        text.push_str(&format!(
            "\n  {}: {}",
            violation.rule,
            crate::escape::text(&violation.message)
        ));
    }
    let mut rules: Vec<String> = standing.iter().map(|v| v.rule.to_string()).collect();
    rules.dedup();
    let flags: Vec<String> = rules
        .iter()
        .map(|rule| format!("--override-policy {rule}"))
        .collect();
    text.push_str(&format!(
        "{}review the plan; if it is intended, run the command again with {} (the state records the override), or change the policy",
        crate::hint::HINT,
        flags.join(" ")
    ));
    text
}

impl PolicyReport {
    /// Marks the violations of `rules` overridden.
    pub fn allow(&mut self, rules: &[Rule]) {
        for violation in &mut self.violations {
            violation.overridden |= rules.contains(&violation.rule);
        }
    }

    /// `Err` when a violation stands.
    pub fn enforce(&self) -> Result<(), PolicyRefusal> {
        match self.blocks() {
            true => Err(PolicyRefusal(Box::new(self.clone()))),
            false => Ok(()),
        }
    }
}
