//! The `metadata` block every manifest has: name, explicit dependencies and
//! lifecycle rules, and the rules for names.

use super::address::Address;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Identity and lifecycle of a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The resource's name, unique per kind: 1 to 255 characters, no `/`, no
    /// control characters, no leading or trailing spaces. For an
    /// ArcserveLicense it is also the license's name on the server.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Resources (`Kind/name`) to create before this one and delete after it,
    /// beyond those its spec refers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("uniqueItems" = true))]
    pub depends_on: Vec<Address>,
    /// How `entitle` may change and delete the resource.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

/// How `entitle` may change and delete a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lifecycle {
    /// Refuse any plan that would delete or replace the resource.
    #[serde(default)]
    pub prevent_destroy: bool,
    /// Spec fields whose differences from the live object are ignored (they
    /// are set at creation and then left alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("uniqueItems" = true))]
    pub ignore_changes: Vec<String>,
    /// What removing the resource from the manifests does.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// What removing a resource from the manifests does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the remote object.
    #[default]
    Delete,
    /// Keep the remote object and only forget it in the state.
    Orphan,
}

/// What is wrong with a name, and what to write instead. The schema has
/// already checked its length.
pub fn check_name(name: &str) -> Result<(), (String, Option<String>)> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err((
            format!(
                "the name contains the control character U+{:04X}; names are printable text",
                u32::from(c)
            ),
            None,
        ));
    }
    if name.contains('/') {
        return Err((
            format!(
                "the name `{name}` contains `/`, which separates kind and name in addresses (`Kind/name`)"
            ),
            Some(format!(
                "write it without `/`, e.g. `{}`",
                name.replace('/', "-")
            )),
        ));
    }
    if name.trim() != name {
        return Err((
            format!("the name `{name}` has leading or trailing whitespace"),
            Some(format!("write `name: {}`", name.trim())),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        assert_eq!(check_name("backup-prod"), Ok(()));
        assert_eq!(check_name("本番 バックアップ"), Ok(()));
    }

    #[test]
    fn slashes_whitespace_and_control_characters_fail() {
        let (message, hint) = check_name("prod/backup").unwrap_err();
        assert!(message.contains("contains `/`"), "{message}");
        assert_eq!(
            hint.as_deref(),
            Some("write it without `/`, e.g. `prod-backup`")
        );
        assert_eq!(
            check_name(" prod").unwrap_err().1.as_deref(),
            Some("write `name: prod`")
        );
        assert!(check_name("a\tb").unwrap_err().0.contains("U+0009"));
    }

    #[test]
    fn lifecycle_defaults() {
        let metadata: Metadata = serde_json::from_value(serde_json::json!({"name": "x"})).unwrap();
        assert_eq!(metadata.lifecycle, Lifecycle::default());
        assert_eq!(metadata.lifecycle.deletion_policy, DeletionPolicy::Delete);
        assert!(metadata.depends_on.is_empty());
    }
}
