//! Drift: what changed outside entitle, found by each provider's pure
//! comparison of the state (what was last applied) with what refresh saw:
//! attributes changed, objects deleted, and objects in managed scopes that
//! no state record knows. This module holds the report, how it is shown
//! (what the servers named through [`crate::escape`]), and how
//! `apply --refresh-only` records it.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use crate::escape::{self, md_code, md_json, md_text, text as shown};
use crate::manifest::Address;
use crate::state::State;

/// Everything drift found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DriftReport {
    pub changed: Vec<Changed>,
    pub deleted: Vec<Deleted>,
    pub unmanaged: Vec<Unmanaged>,
}

/// A managed object whose attributes differ from what was applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changed {
    pub address: Address,
    pub field: String,
    pub recorded: Value,
    pub live: Value,
    /// For a Redstor company that moved: the live parent's id, which
    /// `accept_into` records as the company's scope (the field shows the
    /// parent's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_parent_id: Option<String>,
}

/// A managed object that is gone from the server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deleted {
    pub address: Address,
    pub remote_id: String,
}

/// An object in a managed tenant that entitle does not manage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unmanaged {
    pub tenant: String,
    pub kind: String,
    pub remote_id: String,
    pub name: String,
}

impl DriftReport {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.deleted.is_empty() && self.unmanaged.is_empty()
    }

    /// Records what drift found in `state` (`apply --refresh-only`): changed
    /// attributes take their live values, deleted objects leave the state.
    /// Unmanaged objects stay unmanaged. Returns how many records changed.
    pub fn accept_into(&self, state: &mut State) -> usize {
        let mut touched = BTreeSet::new();
        for change in &self.changed {
            let Some(record) = state.resources.get_mut(&change.address) else {
                continue;
            };
            if let Some(parent) = &change.live_parent_id {
                // Where the company is now; its manifest's parent name is
                // not known here, so the planner compares by id.
                record.scope.company_id = Some(parent.clone());
                touched.insert(change.address.clone());
            } else if let Some(attributes) = record.attributes.as_object_mut() {
                attributes.insert(change.field.clone(), change.live.clone());
                touched.insert(change.address.clone());
            }
        }
        for gone in &self.deleted {
            if state.resources.remove(&gone.address).is_some() {
                touched.insert(gone.address.clone());
            }
        }
        touched.len()
    }
}

/// Adds a change for each field of `recorded` whose live value differs,
/// but those in `skip`.
pub fn changed_fields(
    report: &mut DriftReport,
    address: &Address,
    recorded: &Value,
    now: &Value,
    skip: &[&str],
) {
    let Some(fields) = recorded.as_object() else {
        return;
    };
    for (field, value) in fields {
        let current = now.get(field).cloned().unwrap_or(Value::Null);
        if *value != current && !skip.contains(&field.as_str()) {
            report.changed.push(Changed {
                address: address.clone(),
                field: field.clone(),
                recorded: value.clone(),
                live: current,
                live_parent_id: None,
            });
        }
    }
}

/// Text for a terminal.
pub fn text(report: &DriftReport) -> String {
    if report.is_empty() {
        return "No drift: the live state matches the state file.\n".into();
    }
    let mut out = String::new();
    if !report.changed.is_empty() {
        out.push_str("Changed outside entitle:\n");
        for c in &report.changed {
            let _ = writeln!(
                out,
                "  ~ {}: {} = {} (applied: {})",
                shown(&c.address.to_string()),
                shown(&c.field),
                escape::json(&c.live),
                escape::json(&c.recorded)
            );
        }
    }
    if !report.deleted.is_empty() {
        out.push_str("Deleted outside entitle:\n");
        for d in &report.deleted {
            let _ = writeln!(
                out,
                "  - {} (was {})",
                shown(&d.address.to_string()),
                shown(&d.remote_id)
            );
        }
    }
    if !report.unmanaged.is_empty() {
        out.push_str("Not managed by entitle:\n");
        for u in &report.unmanaged {
            let _ = writeln!(
                out,
                "  ? {} `{}` in {} (id {})",
                shown(&u.kind),
                shown(&u.name),
                shown(&u.tenant),
                shown(&u.remote_id)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nDrift: {} changed, {} deleted, {} unmanaged.",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len()
    );
    out
}

/// Markdown for a chat or an issue.
pub fn markdown(report: &DriftReport) -> String {
    if report.is_empty() {
        return "### entitle drift: none\n\nThe live state matches the state file.\n".into();
    }
    let mut out = format!(
        "### entitle drift: {} changed, {} deleted, {} unmanaged\n\n| | resource | detail |\n|---|---|---|\n",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len()
    );
    for c in &report.changed {
        let _ = writeln!(
            out,
            "| changed | {} | {}: {} → {} |",
            md_code(&c.address.to_string()),
            md_code(&c.field),
            md_json(&c.recorded),
            md_json(&c.live)
        );
    }
    for d in &report.deleted {
        let _ = writeln!(
            out,
            "| deleted | {} | was {} |",
            md_code(&d.address.to_string()),
            md_code(&d.remote_id)
        );
    }
    for u in &report.unmanaged {
        let _ = writeln!(
            out,
            "| unmanaged | {} {} | in {}, id {} |",
            md_text(&u.kind),
            md_code(&u.name),
            md_text(&u.tenant),
            md_code(&u.remote_id)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::is_hazard;

    const HOSTILE: &str = "shadow\u{1b}]0;pwned\u{7}\n| forged | row |\n```<b>\u{2067}x";

    fn hostile_report() -> DriftReport {
        let address: Address = "ArcserveLicense/web".parse().unwrap();
        DriftReport {
            changed: vec![Changed {
                address: address.clone(),
                field: "name".into(),
                recorded: Value::String("web".into()),
                live: Value::String(HOSTILE.into()),
                live_parent_id: None,
            }],
            deleted: vec![Deleted {
                address,
                remote_id: HOSTILE.into(),
            }],
            unmanaged: vec![Unmanaged {
                tenant: HOSTILE.into(),
                kind: "ArcserveLicense".into(),
                remote_id: "1".into(),
                name: HOSTILE.into(),
            }],
        }
    }

    #[test]
    fn drift_text_shows_server_names_without_their_controls() {
        let out = text(&hostile_report());
        assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        assert!(!out.lines().any(|l| l.starts_with("| forged")), "{out}");
        // Header, one line per finding under three headings, a blank line
        // and the total: a newline in a name adds none.
        assert_eq!(out.lines().count(), 8, "{out}");
    }

    #[test]
    fn drift_markdown_keeps_one_row_of_three_cells_per_finding() {
        let out = markdown(&hostile_report());
        assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 5, "{out}");
        for row in rows {
            let mut previous = ' ';
            let mut pipes = 0;
            for c in row.chars() {
                pipes += usize::from(c == '|' && previous != '\\');
                previous = c;
            }
            assert_eq!(pipes, 4, "{row}");
        }
        // Outside code spans, HTML and fences are escaped.
        assert!(out.contains("| in shadow\\\\u{1b}\\]0;"), "{out}");
        assert!(out.contains("\\`\\`\\`\\<b\\>\\\\u{2067}x, id"), "{out}");
    }
}
