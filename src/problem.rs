//! Problems as CI tools read them: the manifests' diagnostics, the
//! planner's errors and any other error a command ends with, turned into
//! one flat [`Problem`] each, then written as the versioned JSON document
//! of `validate --format json`, as GitHub Actions workflow commands
//! (`validate --format github`, `--error-format github`), or as a GitLab
//! Code Quality report (`validate --format gitlab`).
//!
//! A workflow command is one line, `::error PROPERTIES::MESSAGE`. Whatever
//! entitle did not write (a file name, a field path, a value quoted in a
//! message) is escaped as GitHub requires, `%`, `\r` and `\n` everywhere,
//! and `:` and `,` in properties too, so that a name holding a line break
//! cannot start a second command. Other control characters and bidi
//! overrides are then shown as [`escape::text`] shows them.

use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

use crate::Error;
use crate::escape;
use crate::manifest::{Diagnostic, Diagnostics, SourceLocation};
use crate::plan::{PlanError, PlanErrors};

/// The version of `validate --format json`'s document.
pub const VALIDATE_FORMAT_VERSION: u32 = 1;

/// How bad a problem is. Every problem entitle reports today stops the
/// command; the field is there so that warnings can be added to version 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
        }
    }
}

/// One place a problem points at besides its own, with what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub location: SourceLocation,
    pub label: String,
}

/// One problem, flat: where (the file as the user named it, a 1-based line
/// and column when known), the field path, what is wrong, what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: Option<PathBuf>,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub field: Option<String>,
    /// The resource the problem is about, for the planner's errors.
    pub address: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    pub severity: Severity,
    pub related: Vec<Related>,
}

impl Problem {
    /// A problem with a message and nothing else.
    pub fn message(message: impl Into<String>) -> Self {
        Problem {
            file: None,
            line: None,
            column: None,
            field: None,
            address: None,
            message: message.into(),
            hint: None,
            severity: Severity::Error,
            related: Vec::new(),
        }
    }

    #[must_use]
    fn at(mut self, location: Option<&SourceLocation>) -> Self {
        if let Some(location) = location {
            self.file = Some(location.file.clone());
            self.line = (location.line > 0).then_some(location.line);
            self.column = (location.line > 0 && location.column > 0).then_some(location.column);
        }
        self
    }

    pub fn of_diagnostic(diagnostic: &Diagnostic) -> Self {
        Problem {
            field: diagnostic.field.clone(),
            hint: diagnostic.hint.clone(),
            related: diagnostic
                .related
                .iter()
                .map(|(location, label)| Related {
                    location: location.clone(),
                    label: label.clone(),
                })
                .collect(),
            ..Problem::message(diagnostic.message.clone())
        }
        .at(diagnostic.location.as_ref())
    }

    /// A planner's error; its location is the document that declares its
    /// resource, when the manifests declare it (the planner fills it in).
    pub fn of_plan_error(error: &PlanError) -> Self {
        Problem {
            address: error.address.as_ref().map(ToString::to_string),
            hint: error.hint.clone(),
            ..Problem::message(error.message.clone())
        }
        .at(error.location.as_ref())
    }

    /// An error that is not about one place: its whole message, the
    /// leading `error: ` left out.
    pub fn of_error(error: &Error) -> Self {
        let text = error.to_string();
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        Problem::message(text.trim_end())
    }

    /// The problem as one object of the JSON document.
    pub fn json_value(&self) -> Value {
        let related: Vec<Value> = self
            .related
            .iter()
            .map(|related| {
                json!({
                    "file": related.location.file.display().to_string(),
                    "line": (related.location.line > 0).then_some(related.location.line),
                    "column": (related.location.line > 0 && related.location.column > 0)
                        .then_some(related.location.column),
                    "label": related.label,
                })
            })
            .collect();
        json!({
            "file": self.file.as_ref().map(|file| file.display().to_string()),
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity.word(),
            "related": related,
        })
    }

    /// The problem as one GitHub Actions workflow command:
    /// `::error file=PATH,line=L,col=C,title=FIELD::MESSAGE (hint)`, the
    /// title being the field path, else the resource's address. One line,
    /// without its line break.
    pub fn github_command(&self) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", property(&github_path(file))));
        }
        if let Some(line) = self.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = self.column {
            properties.push(format!("col={column}"));
        }
        if let Some(title) = self.field.as_ref().or(self.address.as_ref()) {
            properties.push(format!("title={}", property(title)));
        }
        let mut message = self.message.clone();
        if let (Some(address), None) = (&self.address, &self.field) {
            message = format!("{address}: {message}");
        }
        if let Some(hint) = &self.hint {
            message = format!("{message} ({hint})");
        }
        let head = match properties.is_empty() {
            true => self.severity.word().to_string(),
            false => format!("{} {}", self.severity.word(), properties.join(",")),
        };
        format!("::{head}::{}", data(&message))
    }
}

/// Every problem of the manifests, in their order.
pub fn of_diagnostics(diagnostics: &Diagnostics) -> Vec<Problem> {
    diagnostics.0.iter().map(Problem::of_diagnostic).collect()
}

/// Every problem of a plan, in its order.
pub fn of_plan_errors(errors: &PlanErrors) -> Vec<Problem> {
    errors.0.iter().map(Problem::of_plan_error).collect()
}

/// The problems of the error a command ended with: one per diagnostic or
/// plan error, else the error as one problem.
pub fn of_error(error: &Error) -> Vec<Problem> {
    match error {
        Error::Manifests(diagnostics) => of_diagnostics(diagnostics),
        Error::Plan(errors) => of_plan_errors(errors),
        Error::Policy(refusal) => of_policy(&refusal.0),
        other => vec![Problem::of_error(other)],
    }
}

/// A policy's standing violations, each at the policy's document and the
/// rule's field.
fn of_policy(report: &crate::policy::PolicyReport) -> Vec<Problem> {
    report
        .violations
        .iter()
        .filter(|violation| !violation.overridden)
        .map(|violation| {
            let mut problem = Problem::message(format!(
                "policy `{}`: {}",
                report.policy, violation.message
            ));
            if let Some(at) = &report.location {
                problem.file = Some(at.file.clone());
                problem.line = (at.line > 0).then_some(at.line);
                problem.column = (at.column > 0).then_some(at.column);
            }
            problem.field = Some(format!("spec.{}", violation.rule));
            problem.hint = Some(format!(
                "review the plan; if it is intended, run the command again with --override-policy {}",
                violation.rule
            ));
            problem
        })
        .collect()
}

/// `validate --format json`: `{format_version, valid, problems}`, the
/// problems in the order the loader found them (file, then position), so
/// the same manifests give the same bytes.
pub fn validate_document(problems: &[Problem]) -> Value {
    json!({
        "format_version": VALIDATE_FORMAT_VERSION,
        "valid": problems.is_empty(),
        "problems": problems.iter().map(Problem::json_value).collect::<Vec<_>>(),
    })
}

/// `validate --format gitlab`: a GitLab Code Quality report (the
/// `codequality` report of a job's artifacts), which GitLab shows on the
/// merge request. Each problem is `major`; its fingerprint, which GitLab
/// compares between the branches, is the digest of its file, field,
/// message and how many times the same came before, not of its line, so
/// that a problem moved by an edit above it is the same problem.
pub fn gitlab_code_quality(problems: &[Problem]) -> Value {
    use sha2::{Digest, Sha256};
    let mut seen: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    let entries: Vec<Value> = problems
        .iter()
        .map(|problem| {
            let path = problem
                .file
                .as_deref()
                .map_or_else(|| ".".to_string(), github_path);
            let check = problem.field.clone().unwrap_or_else(|| "manifests".into());
            let count = seen.entry((path.clone(), check.clone())).or_default();
            *count += 1;
            let identity = json!([path, check, problem.message, *count]).to_string();
            let fingerprint: String = Sha256::digest(identity.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let description = match &problem.hint {
                Some(hint) => format!("{} ({hint})", problem.message),
                None => problem.message.clone(),
            };
            json!({
                "description": description,
                "check_name": check,
                "fingerprint": fingerprint,
                "severity": "major",
                "location": {"path": path, "lines": {"begin": problem.line.unwrap_or(1)}},
            })
        })
        .collect();
    Value::Array(entries)
}

/// A path as GitHub matches it against the repository: as given, without
/// leading `./` (GitHub does not annotate `./manifests/a.yaml`).
fn github_path(path: &Path) -> String {
    let mut components = path.components().peekable();
    while components.peek() == Some(&Component::CurDir) {
        components.next();
    }
    let rest: PathBuf = components.collect();
    match rest.as_os_str().is_empty() {
        true => path.display().to_string(),
        false => rest.display().to_string(),
    }
}

/// A workflow command's message: `%`, `\r` and `\n` escaped as GitHub
/// decodes them, then every other hazard shown visibly.
pub fn data(raw: &str) -> String {
    let encoded = raw
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    escape::lines(&encoded).into_owned()
}

/// A workflow command's property value: as [`data`], and `:` and `,`
/// escaped too, which would end the value.
pub fn property(raw: &str) -> String {
    data(raw).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(file: &str, line: u64, column: u64) -> SourceLocation {
        SourceLocation {
            file: file.into(),
            line,
            column,
        }
    }

    #[test]
    fn a_diagnostic_is_one_command_with_its_place_field_and_hint() {
        let diagnostic = Diagnostic::error("unknown field `standaloneKey`")
            .at(located("manifests/licenses.yaml", 12, 5))
            .field("spec.standaloneKey")
            .hint("did you mean `standaloneKeys`?");
        assert_eq!(
            Problem::of_diagnostic(&diagnostic).github_command(),
            "::error file=manifests/licenses.yaml,line=12,col=5,title=spec.standaloneKey::unknown field `standaloneKey` (did you mean `standaloneKeys`?)"
        );
    }

    #[test]
    fn a_whole_file_has_no_line_and_a_leading_dot_is_dropped() {
        let diagnostic = Diagnostic::error("not YAML").at(SourceLocation::file("./m/a.yaml"));
        assert_eq!(
            Problem::of_diagnostic(&diagnostic).github_command(),
            "::error file=m/a.yaml::not YAML"
        );
        assert_eq!(
            Problem::message("no manifests").github_command(),
            "::error::no manifests"
        );
    }

    #[test]
    fn properties_and_data_are_escaped_so_no_second_command_starts() {
        let diagnostic = Diagnostic::error("bad value `50%\r\n::error file=x::forged`")
            .at(located("m/a,b:c%\n::warning::x.yaml", 3, 1))
            .field("spec.a,b:c\n::error::y")
            .hint("100% wrong");
        let command = Problem::of_diagnostic(&diagnostic).github_command();
        assert_eq!(
            command,
            "::error file=m/a%2Cb%3Ac%25%0A%3A%3Awarning%3A%3Ax.yaml,line=3,col=1,\
             title=spec.a%2Cb%3Ac%0A%3A%3Aerror%3A%3Ay::bad value `50%25%0D%0A::error file=x::forged` (100%25 wrong)"
        );
        assert!(!command.contains('\n') && !command.contains('\r'));
    }

    #[test]
    fn other_controls_and_bidi_overrides_are_shown_not_sent() {
        let command = Problem::message("a\u{1b}[31mred\u{202e}").github_command();
        assert_eq!(command, "::error::a\\u{1b}[31mred\\u{202e}");
    }

    #[test]
    fn a_plan_error_is_titled_by_its_address() {
        let error = PlanError::new(
            Some("ArcserveLicense/web".parse().unwrap()),
            "preventDestroy forbids deleting it",
        )
        .hint("remove preventDestroy first")
        .at(Some(&located("m/l.yaml", 4, 1)));
        assert_eq!(
            Problem::of_plan_error(&error).github_command(),
            "::error file=m/l.yaml,line=4,col=1,title=ArcserveLicense/web::ArcserveLicense/web: preventDestroy forbids deleting it (remove preventDestroy first)"
        );
        let unplaced = PlanError::new(Some("ArcserveLicense/gone".parse().unwrap()), "x");
        assert_eq!(
            Problem::of_plan_error(&unplaced).github_command(),
            "::error title=ArcserveLicense/gone::ArcserveLicense/gone: x"
        );
    }

    #[test]
    fn the_code_quality_report_fingerprints_problems_without_their_line() {
        let at = |line| {
            Problem::of_diagnostic(
                &Diagnostic::error("bad")
                    .at(located("./m/a.yaml", line, 1))
                    .field("spec.plan")
                    .hint("fix it"),
            )
        };
        let report = gitlab_code_quality(&[at(3), at(9)]);
        assert_eq!(report[0]["description"], "bad (fix it)");
        assert_eq!(report[0]["check_name"], "spec.plan");
        assert_eq!(report[0]["severity"], "major");
        assert_eq!(
            report[0]["location"],
            json!({"path": "m/a.yaml", "lines": {"begin": 3}})
        );
        assert_ne!(
            report[0]["fingerprint"], report[1]["fingerprint"],
            "two problems"
        );
        let moved = gitlab_code_quality(&[at(4), at(10)]);
        assert_eq!(
            report[0]["fingerprint"], moved[0]["fingerprint"],
            "moved, the same"
        );
        assert_eq!(gitlab_code_quality(&[]), json!([]));
    }

    #[test]
    fn the_document_is_versioned_and_keeps_every_field() {
        let diagnostic = Diagnostic::error("twice")
            .at(located("b.yaml", 3, 9))
            .field("metadata.name")
            .related(located("a.yaml", 4, 9), "first defined here");
        let document = validate_document(&[Problem::of_diagnostic(&diagnostic)]);
        assert_eq!(
            document,
            json!({
                "format_version": 1,
                "valid": false,
                "problems": [{
                    "file": "b.yaml", "line": 3, "column": 9, "field": "metadata.name",
                    "message": "twice", "hint": null, "severity": "error",
                    "related": [{"file": "a.yaml", "line": 4, "column": 9, "label": "first defined here"}],
                }],
            })
        );
        assert_eq!(validate_document(&[])["valid"], true);
    }
}
