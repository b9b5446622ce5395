//! Plan rendering: text like Terraform's, JSON (the versioned plan format),
//! and Markdown for a pull-request comment. Rendering returns strings; the
//! CLI decides where they go. Whatever a plan holds that entitle did not
//! write (names, reasons quoting them, values, notes) is shown through
//! [`crate::escape`]. The Markdown, kept under a size, is in [`markdown`].

pub mod markdown;

pub use markdown::{MarkdownOptions, markdown};

use std::fmt::Write;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::model::{Action, ActionKind, Change, Deferred, Plan, Summary};
use crate::escape;
use crate::policy::PolicyReport;

/// Whether to colour the text rendering (ANSI; only on a terminal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// Show each action's `detail` (e.g. a proposal's XML diff).
    pub verbose: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn symbol(self, kind: ActionKind) -> String {
        let code = match kind {
            ActionKind::Create => "32",
            ActionKind::Delete | ActionKind::Replace => "31",
            ActionKind::BulkUpgrade | ActionKind::Forget => "36",
            _ => "33",
        };
        self.paint(code, &format!("{:>3}", kind.symbol()))
    }
}

/// The one-line summary: `Plan: 1 to create, 2 to update, ...`.
pub fn summary_line(summary: &Summary) -> String {
    let mut parts = vec![
        format!("{} to create", summary.create),
        format!("{} to update", summary.update + summary.issue_key),
        format!("{} to replace", summary.replace),
        format!("{} to delete", summary.delete),
    ];
    if summary.upgrade > 0 {
        parts.push(format!(
            "{} to upgrade in {} call(s)",
            summary.upgrade, summary.upgrade_calls
        ));
    }
    if summary.forget > 0 {
        parts.push(format!("{} to forget", summary.forget));
    }
    if summary.adopt > 0 {
        parts.push(format!("{} to adopt", summary.adopt));
    }
    if summary.record > 0 {
        parts.push(format!("{} to record in the state", summary.record));
    }
    if summary.deferred > 0 {
        parts.push(format!("{} deferred", summary.deferred));
    }
    format!("Plan: {}.", parts.join(", "))
}

/// Terraform-style text.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No changes. The live state matches the manifests.\n");
    } else {
        out.push_str("entitle will perform the following actions:\n");
        for action in &plan.actions {
            out.push('\n');
            action_text(&mut out, action, style);
        }
    }
    deferred_and_notes(&mut out, plan);
    if !plan.is_empty() || !plan.deferred.is_empty() {
        let _ = writeln!(out, "\n{}", summary_line(&plan.summary()));
    }
    if let Some(report) = &plan.policy {
        out.push('\n');
        out.push_str(&policy_text(report));
    }
    out
}

/// What the policy says: each broken rule, overridden or not, and the
/// warnings; one line when the plan keeps every rule.
pub fn policy_text(report: &PolicyReport) -> String {
    let mut out = format!(
        "Policy `{}` ({}): ",
        escape::text(&report.policy),
        escape::text(&report.source)
    );
    if report.violations.is_empty() && report.warnings.is_empty() {
        out.push_str("the plan keeps every rule.\n");
        return out;
    }
    out.push('\n');
    for violation in &report.violations {
        let status = match violation.overridden {
            true => "overridden",
            false => "BROKEN",
        };
        let _ = writeln!(
            out,
            "  {status} {}: {}",
            violation.rule,
            escape::text(&violation.message)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning: {}", escape::text(warning));
    }
    out
}

fn action_text(out: &mut String, action: &Action, style: Style) {
    let heading = match action.kind {
        ActionKind::Create => "will be created",
        ActionKind::Update => "will be updated in place",
        ActionKind::IssueKey => "will get new keys",
        ActionKind::Replace => "must be replaced",
        ActionKind::Delete => "will be deleted",
        ActionKind::Forget => "will be forgotten; the object stays",
        ActionKind::Adopt => "will be adopted",
        ActionKind::Record => "changes only in the state",
        ActionKind::BulkUpgrade => "",
    };
    let title = match action.kind {
        ActionKind::BulkUpgrade => escape::text(&action.id).into_owned(),
        _ => action
            .addresses
            .iter()
            .map(|a| escape::text(&a.to_string()).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let reason = escape::text(&action.reason);
    if heading.is_empty() {
        let _ = writeln!(out, "  # {reason}");
    } else {
        let _ = writeln!(out, "  # {title} {heading}: {reason}");
    }
    let _ = writeln!(out, "{} {title}", style.symbol(action.kind));
    let width = action
        .changes
        .iter()
        .map(|c| escape::text(&c.field).chars().count())
        .max()
        .unwrap_or(0);
    for change in &action.changes {
        change_text(out, change, width, style);
    }
    if style.verbose
        && let Some(detail) = &action.detail
    {
        for line in detail.lines() {
            let _ = writeln!(out, "          {}", escape::text(line));
        }
    }
}

fn change_text(out: &mut String, change: &Change, width: usize, style: Style) {
    let field = format!("{:width$}", escape::text(&change.field));
    let suffix = if change.forces_replacement {
        style.paint("31", " # forces replacement")
    } else {
        String::new()
    };
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            let _ = writeln!(
                out,
                "      {} {field} = {}{suffix}",
                style.paint("32", "+"),
                show(after)
            );
        }
        (Some(before), None) => {
            let _ = writeln!(
                out,
                "      {} {field} = {}{suffix}",
                style.paint("31", "-"),
                show(before)
            );
        }
        (Some(Value::String(a)), Some(Value::String(b)))
            if a.contains('\n') || b.contains('\n') =>
        {
            let _ = writeln!(out, "      {} {field}:{suffix}", style.paint("33", "~"));
            for line in similar::TextDiff::from_lines(a.as_str(), b.as_str())
                .unified_diff()
                .context_radius(2)
                .to_string()
                .lines()
            {
                let _ = writeln!(out, "          {}", escape::text(line));
            }
        }
        (before, Some(after)) => {
            let before = before.as_ref().map(show).unwrap_or_else(|| "?".into());
            let _ = writeln!(
                out,
                "      {} {field} = {before} -> {}{suffix}",
                style.paint("33", "~"),
                show(after)
            );
        }
        (None, None) => {}
    }
}

fn deferred_and_notes(out: &mut String, plan: &Plan) {
    if !plan.deferred.is_empty() {
        out.push('\n');
        out.push_str(DEFERRED_HEADING);
        for d in &plan.deferred {
            out.push_str(&deferred_line(d));
        }
    }
    if !plan.notes.is_empty() {
        out.push('\n');
        out.push_str(NOTES_HEADING);
        for note in &plan.notes {
            out.push_str(&note_line(note));
        }
    }
}

const DEFERRED_HEADING: &str = "Deferred (the API does not allow these yet):\n";
const NOTES_HEADING: &str = "Notes:\n";

/// One deferred change, as a line of the text plan.
fn deferred_line(d: &Deferred) -> String {
    format!(
        "  {}: {} {} -> {} from {} ({})\n",
        escape::text(&d.address.to_string()),
        escape::text(&d.field),
        show(&d.before),
        show(&d.after),
        escape::text(&d.from),
        escape::text(&d.reason)
    )
}

/// One note, as a line of the text plan.
fn note_line(note: &str) -> String {
    format!("  {}\n", escape::text(note))
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        other => escape::json(other),
    }
}

/// The plan JSON (README: the plan JSON format): what `plan --format json`
/// and `show --format json` print, and a saved plan's `plan`: the plan with
/// its summary. `schemas/plan.json` is generated from it.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "entitle plan")]
pub struct PlanDocument<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// Counts per kind of action (derived: a saved plan's is not read back).
    pub summary: Summary,
}

/// The plan JSON, as a value.
pub fn json_value(plan: &Plan) -> Value {
    let document = PlanDocument {
        plan,
        summary: plan.summary(),
    };
    serde_json::to_value(document).unwrap_or_default()
}

/// The JSON Schema of the plan JSON (of what is written: a field that
/// may be left out is not required).
pub fn schema() -> Value {
    let schema = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<PlanDocument<'static>>();
    serde_json::to_value(schema).unwrap_or_default()
}

/// The text plan with each line's marker moved to column 0, where GitHub's
/// `diff` highlighting looks for it: `+` created, `-` deleted, `!` changed
/// or replaced; alignment is kept by blanking the marker where it was.
fn column0_markers(text: &str) -> String {
    const MARKERS: [(&str, char); 6] = [
        ("-/+ ", '!'),
        (". ", ' '),
        (">> ", '!'),
        ("+ ", '+'),
        ("- ", '-'),
        ("~ ", '!'),
    ];
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        match MARKERS.iter().find(|(marker, _)| rest.starts_with(marker)) {
            Some((marker, column0)) => {
                let blank = indent + marker.len();
                let _ = writeln!(
                    out,
                    "{column0}{:width$}{}",
                    "",
                    &rest[marker.len()..],
                    width = blank - 1
                );
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::escape::is_hazard;
    use crate::plan::model::{Deferred, Operation, PLAN_FORMAT_VERSION};

    /// What a vendor could name things: a screen clear, a forged line, a
    /// fence, a table pipe, HTML and a bidi override.
    const HOSTILE: &str =
        "evil\u{1b}[2J\nPlan: 9 to destroy.\n```\n| x | y |<img src=x>\u{202e}cba";

    pub(super) fn hostile_plan() -> Plan {
        let address: crate::manifest::Address = "ArcserveLicense/a|b`c\u{202e}".parse().unwrap();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            actions: vec![Action {
                id: format!("forget {address}"),
                kind: ActionKind::Forget,
                addresses: vec![address.clone()],
                reason: format!("it was renamed `{HOSTILE}`"),
                changes: vec![
                    Change {
                        field: "name".into(),
                        before: Some(Value::String(HOSTILE.into())),
                        after: Some(Value::String("web".into())),
                        forces_replacement: false,
                    },
                    Change {
                        field: "xml".into(),
                        before: Some(Value::String(format!("<a>\n{HOSTILE}\n</a>"))),
                        after: Some(Value::String("<a>\n</a>".into())),
                        forces_replacement: false,
                    },
                ],
                after: vec![],
                detail: Some(format!("- {HOSTILE}\n+ ````")),
                operation: Operation::Forget,
            }],
            deferred: vec![Deferred {
                address,
                field: "version".into(),
                before: Value::String(HOSTILE.into()),
                after: Value::String("10.0".into()),
                from: "2026-06-03".into(),
                reason: HOSTILE.into(),
            }],
            notes: vec![HOSTILE.into()],
            policy: None,
        }
    }

    #[test]
    fn server_text_cannot_drive_the_terminal_or_forge_plan_lines() {
        let out = text(
            &hostile_plan(),
            Style {
                color: true,
                verbose: true,
            },
        );
        let ours = out.replace("\u{1b}[", "");
        assert!(!ours.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        assert!(!out.contains("\u{1b}[2J"), "{out:?}");
        assert!(
            out.lines()
                .all(|l| !l.starts_with("Plan: 9") && !l.starts_with("```")),
            "{out}"
        );
        assert!(
            out.contains("evil\\u{1b}[2J\\nPlan: 9 to destroy.\\n```"),
            "{out}"
        );
    }
}
