//! Drift: what changed outside entitle, found by each provider's pure
//! comparison of the state (what was last applied) with what refresh saw:
//! attributes changed, objects deleted, and objects in managed scopes that
//! no state record knows. What the vendor moves on its own (a proposal's
//! status, a license's provisioning or scheduled deletion, a trial that
//! expired) is reported apart, as status, not as drift; so are the objects
//! an apply orphaned on purpose (`deletionPolicy: Orphan`), which the
//! state's `orphaned` list names. Fields a manifest's
//! `lifecycle.ignoreChanges` lists are left out and counted.
//! This module holds the report, how it is shown
//! (what the servers named through [`crate::escape`]), and how
//! `apply --refresh-only` records it.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use crate::escape::{self, md_code, md_json, md_text, text as shown};
use crate::manifest::{Address, Desired, Kind};
use crate::report::budget::{self, Budget, Form, Section};
use crate::state::{Orphaned, State};

/// The version of the drift JSON (`entitle drift --format json`).
pub const DRIFT_FORMAT_VERSION: u32 = 1;

/// Everything drift found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriftReport {
    pub changed: Vec<Changed>,
    pub deleted: Vec<Deleted>,
    pub unmanaged: Vec<Unmanaged>,
    /// Moved on by the vendor on its own (a proposal's `statusId`, a
    /// license's provisioning or scheduled deletion, a trial that expired):
    /// reported, not drift.
    pub status: Vec<StatusMove>,
    /// Objects no record knows that an apply orphaned on purpose: reported,
    /// not drift.
    pub orphaned: Vec<OrphanedFound>,
    /// Changes left out because `lifecycle.ignoreChanges` lists their field.
    pub ignored: usize,
    /// Unmanaged objects left out because the policy's `driftIgnore` lists
    /// them.
    pub ignored_unmanaged: usize,
}

/// A managed object whose attributes differ from what was applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Changed {
    pub address: Address,
    pub field: String,
    pub recorded: Value,
    pub live: Value,
    /// For a Redstor company that moved: the live parent's id, which
    /// `accept_into` records as the company's scope (the field shows the
    /// parent's name).
    pub live_parent_id: Option<String>,
}

/// A field of a managed object that its vendor moved on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusMove {
    pub address: Address,
    pub field: String,
    /// As the record holds it; `None` for what the record does not keep
    /// (a license's provisioning, its deletion date, a trial's status).
    pub recorded: Option<Value>,
    pub live: Value,
    /// What the live value means, where the vendor's documents say (none
    /// do for a proposal's `statusId`).
    pub name: Option<String>,
}

/// An object no record knows that the state's `orphaned` list names.
#[derive(Clone, Debug, PartialEq)]
pub struct OrphanedFound {
    /// As refresh found it.
    pub object: Unmanaged,
    /// When and by whom it was orphaned, and the address it had.
    pub entry: Orphaned,
}

/// A managed object that is gone from the server.
#[derive(Clone, Debug, PartialEq)]
pub struct Deleted {
    pub address: Address,
    pub remote_id: String,
}

/// An object in a managed tenant that entitle does not manage.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmanaged {
    pub tenant: String,
    /// The managed resource it is in (its tenant, its Redstor company);
    /// `None` directly under the Redstor root.
    pub container: Option<Address>,
    /// The manifest kind it would be.
    pub kind: Kind,
    /// What tells it apart within its kind (a proposal's service, a
    /// company's type).
    pub detail: Option<String>,
    pub remote_id: String,
    pub name: String,
}

impl Unmanaged {
    /// The kind with its detail, e.g. `Proposal (FastDNS)`.
    pub fn what(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} ({detail})", self.kind),
            None => self.kind.to_string(),
        }
    }
}

impl DriftReport {
    /// Whether there is no drift (status alone is none).
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.deleted.is_empty() && self.unmanaged.is_empty()
    }

    /// Whether `apply --refresh-only` has something to record: changes,
    /// deletions, or statuses the vendor moved on of fields the records
    /// hold.
    pub fn recordable(&self) -> bool {
        !self.changed.is_empty()
            || !self.deleted.is_empty()
            || self.status.iter().any(|s| s.recorded.is_some())
    }

    /// Moves the unmanaged objects the state's `orphaned` list names (same
    /// kind, same remote id) to [`DriftReport::orphaned`]. An entry whose
    /// object is gone at the vendor matches nothing and is not shown.
    pub fn heed_orphaned(&mut self, state: &State) {
        let unmanaged = std::mem::take(&mut self.unmanaged);
        for object in unmanaged {
            match state.orphaned_entry(object.kind, &object.remote_id) {
                Some(entry) => self.orphaned.push(OrphanedFound {
                    entry: entry.clone(),
                    object,
                }),
                None => self.unmanaged.push(object),
            }
        }
    }

    /// Leaves out the changes of fields the resource's manifest lists in
    /// `lifecycle.ignoreChanges`, as the plan does, and counts them.
    pub fn heed_ignore_changes(&mut self, desired: &Desired) {
        let before = self.changed.len();
        self.changed.retain(|change| {
            !desired.get(&change.address).is_some_and(|resource| {
                resource
                    .metadata
                    .lifecycle
                    .ignore_changes
                    .contains(&change.field)
            })
        });
        self.ignored += before - self.changed.len();
    }

    /// Leaves out the unmanaged objects `ignored` says a team keeps outside
    /// entitle on purpose, and counts them.
    pub fn heed_drift_ignore(&mut self, ignored: impl Fn(&Unmanaged) -> bool) {
        let before = self.unmanaged.len();
        self.unmanaged.retain(|item| !ignored(item));
        self.ignored_unmanaged += before - self.unmanaged.len();
    }

    /// Records what drift found in `state` (`apply --refresh-only`): changed
    /// attributes take their live values, deleted objects leave the state.
    /// Unmanaged objects stay unmanaged. Returns how many records changed.
    pub fn accept_into(&self, state: &mut State) -> usize {
        let mut touched = BTreeSet::new();
        for status in &self.status {
            let record = state.resources.get_mut(&status.address);
            let attributes = record.and_then(|r| r.attributes.as_object_mut());
            if let (Some(attributes), Some(_)) = (attributes, &status.recorded) {
                attributes.insert(status.field.clone(), status.live.clone());
                touched.insert(status.address.clone());
            }
        }
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

/// The drift JSON (`drift --format json`), version [`DRIFT_FORMAT_VERSION`];
/// `schemas/drift.json` is generated from it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "entitle drift report")]
pub struct DriftDocument {
    /// The version of this format; a reader refuses versions it does not know.
    pub format_version: u32,
    /// Whether anything is drift (changed, deleted or unmanaged): `drift`
    /// exits 2 exactly then.
    pub drift: bool,
    pub counts: DriftCounts,
    pub changed: Vec<FieldItem>,
    pub deleted: Vec<DeletedItem>,
    pub unmanaged: Vec<UnmanagedItem>,
    /// Moved on by the vendor on its own; not drift.
    pub status: Vec<StatusItem>,
    /// Objects no record knows that an apply orphaned on purpose
    /// (`deletionPolicy: Orphan`); not drift.
    pub orphaned: Vec<OrphanedItem>,
}

/// How many of each class, overall and by kind.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DriftCounts {
    pub changed: usize,
    pub deleted: usize,
    pub unmanaged: usize,
    pub status: usize,
    pub orphaned: usize,
    /// Changes left out because `lifecycle.ignoreChanges` lists their field.
    pub ignored: usize,
    /// Unmanaged objects left out because the policy's `driftIgnore` lists
    /// them.
    pub ignored_unmanaged: usize,
    /// Per kind, the count of each class found (classes with none left out).
    pub by_kind: BTreeMap<String, BTreeMap<String, usize>>,
}

/// A field of a managed object: as applied, and as it is now.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FieldItem {
    /// `Kind/name`.
    pub address: String,
    pub kind: String,
    pub field: String,
    pub recorded: Value,
    pub live: Value,
    /// A Redstor company that moved: the id of its parent now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_parent_id: Option<String>,
}

/// A field of a managed object its vendor moved on its own.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusItem {
    /// `Kind/name`.
    pub address: String,
    pub kind: String,
    pub field: String,
    /// As the state records it; null for what the record does not keep (a
    /// license's `status` or `deletionDate`, a trial's `trialStatus`).
    #[schemars(required)]
    pub recorded: Option<Value>,
    pub live: Value,
    /// What the live value means, where the vendor's documents say; null
    /// where they do not (a proposal's `statusId` is a bare number).
    #[schemars(required)]
    pub name: Option<String>,
}

/// An object no record knows that an apply orphaned on purpose.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrphanedItem {
    /// The manifest kind.
    pub kind: String,
    /// The kind with its detail, e.g. `Proposal (FastDNS)`.
    pub what: String,
    /// The tenant, or the Redstor company, it is in.
    pub tenant: String,
    pub remote_id: String,
    pub name: String,
    /// The address it had when it was orphaned.
    pub address: String,
    /// When it was orphaned (RFC 3339, UTC).
    pub at: String,
    /// Who orphaned it (`user@host`).
    pub by: String,
}

/// A managed object gone from its server.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedItem {
    pub address: String,
    pub kind: String,
    pub remote_id: String,
}

/// An object no state record knows, where entitle manages others.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UnmanagedItem {
    /// The manifest kind it would be.
    pub kind: String,
    /// The kind with its detail, e.g. `Proposal (FastDNS)`.
    pub what: String,
    /// The tenant, or the Redstor company, it is in.
    pub tenant: String,
    pub remote_id: String,
    pub name: String,
}

impl From<&DriftReport> for DriftDocument {
    fn from(report: &DriftReport) -> Self {
        let kind_of = |address: &Address| address.kind.to_string();
        let mut by_kind: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut count = |kind: String, class: &str| {
            *by_kind
                .entry(kind)
                .or_default()
                .entry(class.to_string())
                .or_default() += 1;
        };
        report
            .changed
            .iter()
            .for_each(|c| count(kind_of(&c.address), "changed"));
        report
            .deleted
            .iter()
            .for_each(|d| count(kind_of(&d.address), "deleted"));
        report
            .unmanaged
            .iter()
            .for_each(|u| count(u.kind.to_string(), "unmanaged"));
        report
            .status
            .iter()
            .for_each(|c| count(kind_of(&c.address), "status"));
        report
            .orphaned
            .iter()
            .for_each(|o| count(o.object.kind.to_string(), "orphaned"));
        let item = |c: &Changed| FieldItem {
            address: c.address.to_string(),
            kind: kind_of(&c.address),
            field: c.field.clone(),
            recorded: c.recorded.clone(),
            live: c.live.clone(),
            live_parent_id: c.live_parent_id.clone(),
        };
        DriftDocument {
            format_version: DRIFT_FORMAT_VERSION,
            drift: !report.is_empty(),
            counts: DriftCounts {
                changed: report.changed.len(),
                deleted: report.deleted.len(),
                unmanaged: report.unmanaged.len(),
                status: report.status.len(),
                orphaned: report.orphaned.len(),
                ignored: report.ignored,
                ignored_unmanaged: report.ignored_unmanaged,
                by_kind,
            },
            changed: report.changed.iter().map(item).collect(),
            deleted: report
                .deleted
                .iter()
                .map(|d| DeletedItem {
                    address: d.address.to_string(),
                    kind: kind_of(&d.address),
                    remote_id: d.remote_id.clone(),
                })
                .collect(),
            unmanaged: report
                .unmanaged
                .iter()
                .map(|u| UnmanagedItem {
                    kind: u.kind.to_string(),
                    what: u.what(),
                    tenant: u.tenant.clone(),
                    remote_id: u.remote_id.clone(),
                    name: u.name.clone(),
                })
                .collect(),
            status: report
                .status
                .iter()
                .map(|s| StatusItem {
                    address: s.address.to_string(),
                    kind: kind_of(&s.address),
                    field: s.field.clone(),
                    recorded: s.recorded.clone(),
                    live: s.live.clone(),
                    name: s.name.clone(),
                })
                .collect(),
            orphaned: report
                .orphaned
                .iter()
                .map(|o| OrphanedItem {
                    kind: o.object.kind.to_string(),
                    what: o.object.what(),
                    tenant: o.object.tenant.clone(),
                    remote_id: o.object.remote_id.clone(),
                    name: o.object.name.clone(),
                    address: o.entry.address.to_string(),
                    at: o.entry.at.clone(),
                    by: o.entry.by.clone(),
                })
                .collect(),
        }
    }
}

/// The drift JSON: versioned, with counts by class and by kind.
pub fn json_value(report: &DriftReport) -> Value {
    serde_json::to_value(DriftDocument::from(report)).unwrap_or_default()
}

/// The JSON Schema of the drift JSON.
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(DriftDocument)).unwrap_or_default()
}

/// Text for a terminal.
pub fn text(report: &DriftReport) -> String {
    let mut out = String::new();
    if report.is_empty() {
        out.push_str("No drift: the live state matches the state.\n");
        status_text(report, &mut out);
        return out;
    }
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
                shown(&u.what()),
                shown(&u.name),
                shown(&u.tenant),
                shown(&u.remote_id)
            );
        }
    }
    status_text(report, &mut out);
    let _ = writeln!(
        out,
        "\nDrift: {} changed, {} deleted, {} unmanaged.",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len()
    );
    out
}

/// The vendor's status moves, what was orphaned on purpose and the
/// ignored counts, which are not drift.
fn status_text(report: &DriftReport, out: &mut String) {
    if !report.status.is_empty() {
        out.push_str("Moved on by the vendor's workflow (status, not drift):\n");
        for s in &report.status {
            let _ = writeln!(
                out,
                "  · {}: {} {}{}",
                shown(&s.address.to_string()),
                shown(&s.field),
                escape::json(&s.live),
                status_detail(s)
            );
        }
    }
    if !report.orphaned.is_empty() {
        out.push_str("Orphaned (kept on purpose, not drift):\n");
        for o in &report.orphaned {
            let _ = writeln!(
                out,
                "  = {} `{}` in {} (id {}): was {}, orphaned {} by {}",
                shown(&o.object.what()),
                shown(&o.object.name),
                shown(&o.object.tenant),
                shown(&o.object.remote_id),
                shown(&o.entry.address.to_string()),
                shown(&o.entry.at),
                shown(&o.entry.by)
            );
        }
    }
    for note in left_out(report, "") {
        let _ = writeln!(out, "{note}");
    }
}

/// After a status's live value: its name, and the value applied when the
/// record holds one.
fn status_detail(s: &StatusMove) -> String {
    let mut detail = String::new();
    if let Some(name) = &s.name {
        let _ = write!(detail, " ({})", shown(name));
    }
    if let Some(recorded) = &s.recorded {
        let _ = write!(detail, " (applied: {})", escape::json(recorded));
    }
    detail
}

/// What drift left out on purpose, one sentence each; `code` quotes the
/// field names (a backtick in Markdown).
fn left_out(report: &DriftReport, code: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if report.ignored > 0 {
        notes.push(format!(
            "{} change(s) left out: their fields are in {code}lifecycle.ignoreChanges{code}.",
            report.ignored
        ));
    }
    if report.ignored_unmanaged > 0 {
        notes.push(format!(
            "{} unmanaged object(s) left out: the policy's {code}driftIgnore{code} lists them.",
            report.ignored_unmanaged
        ));
    }
    notes
}

/// Markdown for a chat or an issue, in at most `budget` characters: the
/// findings that do not fit are left out, later ones first, and counted.
pub fn markdown(report: &DriftReport, budget: Budget) -> String {
    let head = if report.is_empty() {
        "### entitle drift: none\n\nThe live state matches the state.\n".to_string()
    } else {
        format!(
            "### entitle drift: {} changed, {} deleted, {} unmanaged\n",
            report.changed.len(),
            report.deleted.len(),
            report.unmanaged.len()
        )
    };
    let mut sections = Vec::new();
    if !report.is_empty() {
        sections.push(findings_table(String::new(), finding_rows(report)));
    }
    if !report.status.is_empty() {
        let rows = report.status.iter().map(status_row).collect();
        sections.push(findings_table(
            "Moved on by the vendor's workflow (status, not drift):\n\n".into(),
            rows,
        ));
    }
    if !report.orphaned.is_empty() {
        let rows = report.orphaned.iter().map(orphaned_row).collect();
        sections.push(findings_table(
            "Orphaned (kept on purpose, not drift):\n\n".into(),
            rows,
        ));
    }
    for note in left_out(report, "`") {
        sections.push(Section {
            rank: 1,
            counted: false,
            full: Form {
                open: format!("{note}\n"),
                items: Vec::new(),
                close: String::new(),
            },
            brief: None,
            more: |_| String::new(),
        });
    }
    budget::fit(&head, &sections, budget, |elided| {
        format!(
            "**{} more items not shown** to keep this under {budget} characters: `entitle drift --format json` (or `--out json=FILE`) lists every one.\n",
            elided.hidden
        )
    })
}

/// A table of findings, one row each, after `intro`.
fn findings_table(intro: String, rows: Vec<String>) -> Section {
    Section {
        rank: 0,
        counted: true,
        full: Form {
            open: format!("{intro}| | resource | detail |\n|---|---|---|\n"),
            items: rows,
            close: String::new(),
        },
        brief: None,
        more: |n| format!("\n… and {n} more not shown\n"),
    }
}

/// The rows of what is drift: changed, deleted, unmanaged.
fn finding_rows(report: &DriftReport) -> Vec<String> {
    let changed = report.changed.iter().map(|c| field_row("changed", c));
    let deleted = report.deleted.iter().map(|d| {
        format!(
            "| deleted | {} | was {} |\n",
            md_code(&d.address.to_string()),
            md_code(&d.remote_id)
        )
    });
    let unmanaged = report.unmanaged.iter().map(|u| {
        format!(
            "| unmanaged | {} {} | in {}, id {} |\n",
            md_text(&u.what()),
            md_code(&u.name),
            md_text(&u.tenant),
            md_code(&u.remote_id)
        )
    });
    changed.chain(deleted).chain(unmanaged).collect()
}

fn status_row(s: &StatusMove) -> String {
    let recorded = s.recorded.as_ref().map_or_else(|| "·".to_string(), md_json);
    let name = s
        .name
        .as_ref()
        .map(|name| format!(" ({})", md_text(name)))
        .unwrap_or_default();
    format!(
        "| status | {} | {}: {} → {}{name} |\n",
        md_code(&s.address.to_string()),
        md_code(&s.field),
        recorded,
        md_json(&s.live)
    )
}

fn orphaned_row(o: &OrphanedFound) -> String {
    format!(
        "| orphaned | {} {} | in {}, id {}; was {}, orphaned {} by {} |\n",
        md_text(&o.object.what()),
        md_code(&o.object.name),
        md_text(&o.object.tenant),
        md_code(&o.object.remote_id),
        md_code(&o.entry.address.to_string()),
        md_text(&o.entry.at),
        md_text(&o.entry.by)
    )
}

fn field_row(class: &str, c: &Changed) -> String {
    format!(
        "| {class} | {} | {}: {} → {} |\n",
        md_code(&c.address.to_string()),
        md_code(&c.field),
        md_json(&c.recorded),
        md_json(&c.live)
    )
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
                container: None,
                kind: crate::resources::Kind::ArcserveLicense,
                detail: None,
                remote_id: "1".into(),
                name: HOSTILE.into(),
            }],
            status: Vec::new(),
            orphaned: vec![OrphanedFound {
                object: Unmanaged {
                    tenant: HOSTILE.into(),
                    container: None,
                    kind: crate::resources::Kind::ArcserveLicense,
                    detail: None,
                    remote_id: "2".into(),
                    name: HOSTILE.into(),
                },
                entry: Orphaned {
                    kind: "ArcserveLicense".into(),
                    address: "ArcserveLicense/old".parse().unwrap(),
                    remote_id: "2".into(),
                    scope: Default::default(),
                    name: "old".into(),
                    at: "2026-11-30T00:00:00Z".into(),
                    by: HOSTILE.into(),
                },
            }],
            ignored: 0,
            ignored_unmanaged: 0,
        }
    }

    #[test]
    fn drift_text_shows_server_names_without_their_controls() {
        let out = text(&hostile_report());
        assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        assert!(!out.lines().any(|l| l.starts_with("| forged")), "{out}");
        // Header, one line per finding under four headings, a blank line
        // and the total: a newline in a name adds none.
        assert_eq!(out.lines().count(), 10, "{out}");
    }

    #[test]
    fn drift_markdown_keeps_one_row_of_three_cells_per_finding() {
        let out = markdown(&hostile_report(), Budget::default());
        assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
        // Two tables (drift, orphaned): a header and a rule each, and a
        // row per finding.
        assert_eq!(rows.len(), 8, "{out}");
        for row in rows {
            assert_eq!(crate::escape::table_pipes(row), 4, "{row}");
        }
        // Outside code spans, HTML and fences are escaped.
        assert!(out.contains("| in shadow\\\\u{1b}\\]0;"), "{out}");
        assert!(out.contains("\\`\\`\\`\\<b\\>\\\\u{2067}x, id"), "{out}");
    }

    #[test]
    fn drift_markdown_of_many_findings_stays_under_its_budget_and_counts_the_rest() {
        let mut report = hostile_report();
        for i in 0..4_000 {
            let mut u = report.unmanaged[0].clone();
            u.name = format!("{i}-{HOSTILE}");
            report.unmanaged.push(u);
            let c = &report.changed[0];
            report.status.push(StatusMove {
                address: c.address.clone(),
                field: format!("field{i}"),
                recorded: Some(c.recorded.clone()),
                live: c.live.clone(),
                name: Some(HOSTILE.into()),
            });
        }
        report.ignored = 3;
        let total = 3 + 4_000 + 4_000 + 1;
        for chars in [1_000, 5_000, 60_000] {
            let out = markdown(&report, Budget::new(chars).unwrap());
            assert!(budget::chars(&out) <= chars, "{}", budget::chars(&out));
            assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
            let rows = out
                .lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| |"))
                .count();
            let hidden: usize = out
                .split_once(" more items not shown**")
                .and_then(|(before, _)| before.rsplit("**").next()?.parse().ok())
                .unwrap_or_else(|| panic!("no count in {out}"));
            assert_eq!(rows + hidden, total, "{out}");
            assert!(out.starts_with("### entitle drift: 1 changed, 1 deleted, 4001 unmanaged\n"));
            assert!(out.contains("3 change(s) left out"), "{out}");
        }
    }
}
