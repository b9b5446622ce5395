//! The one way the CLI writes: every write to stdout returns a result, and
//! the callers pass it on with `?`.
//!
//! A closed pipe (`entitle plan | head -1`) ends the command quietly with
//! exit 0, as ripgrep does: the reader has what it wanted. Any other failure
//! (a full disk behind `> file`) is one error naming standard output, exit 1.
//! What is a problem (errors, failures, warnings) goes to stderr, where a
//! write that fails has nowhere left to be reported and is dropped.
//!
//! Renderers escape what they quote ([`crate::escape`]); stderr, whose
//! messages quote servers, manifests and the state from many places, is
//! also passed through [`escape::lines`] as a whole: no control character
//! or bidi override reaches the terminal, whoever forgot to escape it.

use std::fmt::Display;
use std::io::{self, Write};

use crate::Error;
use crate::escape;

/// Writes `text` to stdout as it is, and flushes it, so that a failure is
/// seen here and not lost at exit.
pub fn print(text: impl Display) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    write!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)
}

/// Writes `line` and a newline to stdout.
pub fn println(line: impl Display) -> Result<(), Error> {
    print(format_args!("{line}\n"))
}

/// Writes `line` and a newline to stderr, its control characters (but
/// line breaks) and bidi overrides escaped.
pub fn eprintln(line: impl Display) {
    let line = line.to_string();
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{}", escape::lines(&line)).and_then(|()| stderr.flush());
}

/// Like [`print`], for a command that goes on when the reader has gone:
/// apply, whose exit code says what happened to the vendors' objects, which
/// a pipeline still needs after `| head` stopped reading. A full disk is
/// still an error.
pub fn print_on(text: impl Display) -> Result<(), Error> {
    match print(text) {
        Err(Error::ClosedPipe) => Ok(()),
        other => other,
    }
}

/// Like [`print`], for what must not stop the work around it (the progress
/// of an apply that is recording state): a failure is dropped, and the next
/// write that does stop reports it.
pub fn print_lenient(text: impl Display) {
    let _ = print(text);
}

fn stdout_error(source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::BrokenPipe {
        Error::ClosedPipe
    } else {
        Error::Io {
            what: "could not write to standard output".into(),
            source,
        }
    }
}
