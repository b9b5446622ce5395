//! A `Policy` document, from its tree to a typed [`Policy`]: the same
//! structure check as a resource's (its JSON Schema), then the rules of its
//! name and its spec. A policy is not a resource: it has no address, no
//! state and nothing at a vendor.

use super::diagnostic::{Diagnostic, Source};
use super::metadata::check_name;
use super::node::{Located, Node};
use super::schema_check;
use crate::policy::{POLICY_KIND, Policy, PolicySpec};

/// Whether the document says `kind: Policy`.
pub fn is_policy(document: &Located<Node>) -> bool {
    matches!(
        document.get("kind").map(|kind| &kind.value),
        Some(Node::String(kind)) if kind == POLICY_KIND
    )
}

/// Checks a policy document, adding its problems to `found`; the policy
/// when it has none.
pub fn read(
    document: &Located<Node>,
    source: Source<'_>,
    schema: &serde_json::Value,
    found: &mut Vec<Diagnostic>,
) -> Option<Policy> {
    let start = found.len();
    found.extend(super::document::duplicate_keys(document, source));
    found.extend(schema_check::check(schema, document, source, POLICY_KIND));
    if found.len() > start {
        return None;
    }
    let name_node = document.find("metadata.name")?;
    let Node::String(name) = &name_node.value else {
        return None;
    };
    if let Err((message, hint)) = check_name(name) {
        found.push(
            Diagnostic::error(message)
                .at(source.at(name_node.pos))
                .field("metadata.name")
                .maybe_hint(hint),
        );
    }
    let spec_node = document.get("spec")?;
    let spec: PolicySpec = match serde_json::from_value(spec_node.value.to_json()) {
        Ok(spec) => spec,
        Err(error) => {
            found.push(super::document::internal_error(
                "spec",
                &error,
                source.at(spec_node.pos),
            ));
            return None;
        }
    };
    for problem in spec.check() {
        let at = document
            .find(&format!("spec.{}", problem.field))
            .unwrap_or(spec_node);
        found.push(
            Diagnostic::error(problem.message)
                .at(source.at(at.pos))
                .field(format!("spec.{}", problem.field))
                .maybe_hint(problem.hint),
        );
    }
    (found.len() == start).then(|| Policy {
        name: name.clone(),
        spec,
        source: source.at(document.pos),
    })
}
