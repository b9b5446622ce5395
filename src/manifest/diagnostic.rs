//! Problems found while loading manifests, and how they are shown:
//! rustc-like, one block per problem, then a summary line.

use super::node::Pos;
use crate::escape;
use crate::hint::Hint;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where something was written: a file, and a 1-based line and column in it.
/// Line 0 means the file as a whole (e.g. it could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
}

impl SourceLocation {
    /// The file as a whole, without a position in it.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        SourceLocation {
            file: file.into(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        Ok(())
    }
}

/// A file as the user named it, and its text: turns tree positions into locations.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn at(&self, pos: Pos) -> SourceLocation {
        SourceLocation {
            file: self.path.to_path_buf(),
            line: pos.line,
            column: pos.column,
        }
    }
}

/// One problem in the manifests: what is wrong, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<SourceLocation>,
    /// The field path, e.g. `spec.upgradeContact.email`.
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// Other places that explain this one, each with a label such as "first defined here".
    pub related: Vec<(SourceLocation, String)>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            location: None,
            field: None,
            message: message.into(),
            hint: None,
            related: Vec::new(),
        }
    }

    #[must_use]
    pub fn at(mut self, location: SourceLocation) -> Self {
        self.location = Some(location);
        self
    }

    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    #[must_use]
    pub fn related(mut self, location: SourceLocation, label: impl Into<String>) -> Self {
        self.related.push((location, label.into()));
        self
    }
}

/// The message, its places and its field are one line each: a line break
/// in a manifest's key or file name is shown, not written (in a CI log it
/// could start a line the CI reads as a command).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", escape::line(&self.message))?;
        if let Some(location) = &self.location {
            write!(f, "\n  --> {}", escape::line(&location.to_string()))?;
        }
        for (location, label) in &self.related {
            let related = format!("{location} ({label})");
            write!(f, "\n  --> {}", escape::line(&related))?;
        }
        if let Some(field) = &self.field {
            write!(f, "\n   = field: {}", escape::line(field))?;
        }
        writeln!(f, "{}", Hint(self.hint.as_deref()))
    }
}

/// Every problem found in one load, in file order and then by position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// How many distinct files the problems are in.
    pub fn file_count(&self) -> usize {
        let files: BTreeSet<_> = self
            .0
            .iter()
            .filter_map(|d| d.location.as_ref().map(|l| &l.file))
            .collect();
        files.len()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let problems = self.0.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(f, "error: {}", plural(problems, "problem"))?;
        match self.file_count() {
            0 => Ok(()),
            files => write!(f, " in {}", plural(files, "file")),
        }
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let diagnostic = Diagnostic::error("unknown field `standaloneKey` in ArcserveLicense spec")
            .at(SourceLocation {
                file: "manifests/licenses.yaml".into(),
                line: 12,
                column: 5,
            })
            .field("spec.standaloneKey")
            .hint("did you mean `standaloneKeys`?");
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown field `standaloneKey` in ArcserveLicense spec\n  \
             --> manifests/licenses.yaml:12:5\n   \
             = field: spec.standaloneKey\n   \
             = hint: did you mean `standaloneKeys`?\n"
        );
    }

    #[test]
    fn a_line_break_from_the_manifests_is_shown_not_written() {
        let diagnostic = Diagnostic::error("unknown field `a\n::warning::x`")
            .at(SourceLocation {
                file: "m/b\r\n::error::y.yaml".into(),
                line: 2,
                column: 3,
            })
            .field("spec.a\n::warning::x");
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown field `a\\n::warning::x`\n  --> m/b\\r\\n::error::y.yaml:2:3\n   = field: spec.a\\n::warning::x\n"
        );
    }

    #[test]
    fn related_locations_follow_the_primary_one() {
        let diagnostic = Diagnostic::error("twice")
            .at(SourceLocation {
                file: "b.yaml".into(),
                line: 3,
                column: 9,
            })
            .related(
                SourceLocation {
                    file: "a.yaml".into(),
                    line: 4,
                    column: 9,
                },
                "first defined here",
            );
        assert_eq!(
            diagnostic.to_string(),
            "error: twice\n  --> b.yaml:3:9\n  --> a.yaml:4:9 (first defined here)\n"
        );
    }

    #[test]
    fn summary_counts_problems_and_files() {
        let at = |file: &str| Diagnostic::error("x").at(SourceLocation::file(file));
        let all = Diagnostics(vec![at("a.yaml"), at("a.yaml"), at("b.yaml")]);
        assert!(all.to_string().ends_with("\nerror: 3 problems in 2 files"));
        let one = Diagnostics(vec![Diagnostic::error("no manifests")]);
        assert_eq!(one.to_string(), "error: no manifests\n\nerror: 1 problem");
        let single = Diagnostics(vec![at("a.yaml")]);
        assert!(single.to_string().ends_with("error: 1 problem in 1 file"));
    }
}
