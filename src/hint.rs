//! How every message renders its hint: one place, so that an error from the
//! manifests, the planner, an API or the state reads the same way.
//!
//! A hint is its own line under the message, `   = hint: what to do`.
//! Messages written as format strings use [`HINT`] (`"{message}{HINT}{what}"`);
//! values that carry an optional hint use [`Hint`].

use std::fmt;
use std::path::PathBuf;

/// What goes between a message and its hint.
pub const HINT: &str = "\n   = hint: ";

/// An optional hint, rendered with its line break, or nothing.
pub struct Hint<'a>(pub Option<&'a str>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, "{HINT}{hint}"),
            None => Ok(()),
        }
    }
}

/// `entitle ARGS... PATHS...` as a hint gives it, ready to paste into a
/// shell: each word quoted where the shell would split or expand it.
pub fn command(args: &[&str], paths: &[PathBuf]) -> String {
    let mut words = vec!["entitle".to_string()];
    words.extend(args.iter().map(|arg| shell_word(arg)));
    words.extend(
        paths
            .iter()
            .map(|path| shell_word(&path.display().to_string())),
    );
    words.join(" ")
}

/// `word` as one shell word: as it is when only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_a_shell_would_split() {
        let paths = [
            PathBuf::from("manifests"),
            PathBuf::from("my dir/it's.yaml"),
        ];
        assert_eq!(
            command(&["import", "ArcserveLicense/web", "42"], &paths),
            r"entitle import ArcserveLicense/web 42 manifests 'my dir/it'\''s.yaml'"
        );
        assert_eq!(command(&["plan"], &[]), "entitle plan");
    }
}
