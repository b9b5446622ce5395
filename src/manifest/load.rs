//! Loading: from the paths the user gave to files, from files to documents,
//! from documents to the desired state, collecting every problem on the way.

use super::across;
use super::cycles;
use super::desired::Desired;
use super::diagnostic::{Diagnostic, Diagnostics, Source, SourceLocation};
use super::document::{self, Declared};
use super::node::parse_documents;
use super::policy;
use super::refs;
use super::schema::{API_VERSION, KindSchemas};
use super::suggest::code_list;
use crate::policy::Policy;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest manifest file read; real ones are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The path that means standard input (`kubectl apply -f -`): manifests a
/// generator prints, read once per process however often they are loaded.
pub const STDIN: &str = "-";

/// Standard input, read on first use.
static STDIN_BYTES: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();

/// Reads every manifest under `paths` (files, and directories searched
/// recursively for `*.yaml` / `*.yml`, skipping hidden entries) and returns
/// the resources they declare, or every problem found in all of them.
pub fn load(paths: &[PathBuf]) -> Result<Desired, Diagnostics> {
    let schemas = Schemas {
        kinds: KindSchemas::generate(),
        policy: super::schema_check::inline_refs(&crate::policy::policy_schema()),
    };
    let mut found = Vec::new();
    let files = manifest_files(paths, &mut found);
    let mut complete = found.is_empty();
    let mut declared: Vec<Declared> = Vec::new();
    let mut policies = Vec::new();
    for outcome in in_parallel_largest_first(&files, |file| read_file(file, &schemas)) {
        declared.extend(outcome.declared);
        policies.extend(outcome.policies);
        found.extend(outcome.found);
        complete &= outcome.complete;
    }
    found.extend(second_policies(&policies));
    found.extend(refs::check(&declared, complete));
    let firsts = refs::first_declarations(&declared);
    found.extend(cycles::check(&firsts));
    found.extend(across::check(&firsts));
    if found.is_empty() && declared.is_empty() {
        found.push(nothing_found(paths));
    }
    if !found.is_empty() {
        sort_by_place(&mut found, &files);
        return Err(Diagnostics(found));
    }
    let mut desired = Desired::new(
        declared
            .into_iter()
            .filter_map(|declaration| declaration.resource)
            .collect(),
    );
    desired.policy = policies.into_iter().next();
    desired.paths = paths.to_vec();
    Ok(desired)
}

/// The schemas documents are checked against, made once per load.
struct Schemas {
    kinds: KindSchemas,
    policy: serde_json::Value,
}

/// One policy governs the manifests of a plan: every other is a problem.
fn second_policies(policies: &[Policy]) -> Vec<Diagnostic> {
    let Some(first) = policies.first() else {
        return Vec::new();
    };
    policies
        .iter()
        .skip(1)
        .map(|again| {
            Diagnostic::error(format!(
                "a second Policy, `{}`: one policy governs the manifests planned together",
                again.name
            ))
            .at(again.source.clone())
            .field("kind")
            .related(
                first.source.clone(),
                format!("policy `{}` is declared here", first.name),
            )
            .hint("merge the rules into one Policy document")
        })
        .collect()
}

/// What one file declares and what is wrong in it.
struct FileOutcome {
    declared: Vec<Declared>,
    policies: Vec<Policy>,
    found: Vec<Diagnostic>,
    /// Every document of the file was read (none unreadable).
    complete: bool,
}

/// Reads, parses and checks one file. Files are independent until the
/// cross-document checks, so they are read in parallel.
fn read_file(file: &Path, schemas: &Schemas) -> FileOutcome {
    let mut outcome = FileOutcome {
        declared: Vec::new(),
        policies: Vec::new(),
        found: Vec::new(),
        complete: true,
    };
    let text = match read_text(file) {
        Ok(text) => text,
        Err(problem) => {
            outcome.found.push(*problem);
            outcome.complete = false;
            return outcome;
        }
    };
    let source = Source {
        path: file,
        text: &text,
    };
    match parse_documents(&text) {
        Ok(documents) => {
            for document in &documents {
                if policy::is_policy(document) {
                    let read = policy::read(document, source, &schemas.policy, &mut outcome.found);
                    outcome.policies.extend(read);
                    continue;
                }
                match document::read(document, source, &schemas.kinds, &mut outcome.found) {
                    Some(declaration) => outcome.declared.push(declaration),
                    None => outcome.complete = false,
                }
            }
        }
        Err(failure) => {
            let at = failure
                .pos
                .map_or_else(|| SourceLocation::file(file), |pos| source.at(pos));
            outcome.found.push(
                Diagnostic::error(failure.message)
                    .at(at)
                    .maybe_hint(failure.hint),
            );
            outcome.complete = false;
        }
    }
    outcome
}

/// `work` over every file on up to one thread per core, the largest files
/// first (so that no thread is left with a large one at the end), results
/// in the files' order.
fn in_parallel_largest_first<R: Send>(
    files: &[PathBuf],
    work: impl Fn(&Path) -> R + Sync,
) -> Vec<R> {
    let size = |file: &PathBuf| std::fs::metadata(file).map_or(0, |meta| meta.len());
    let mut order: Vec<(u64, usize)> = files.iter().map(size).zip(0..).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let done = in_parallel(&order, |&(_, at)| work(&files[at]));
    let mut done: Vec<(usize, R)> = order.into_iter().map(|(_, at)| at).zip(done).collect();
    done.sort_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, result)| result).collect()
}

/// `work` over every item on up to one thread per core, results in the
/// items' order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(&work).collect();
    }
    // Each thread takes the next item: files differ widely in size.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(at) else {
                            return mine;
                        };
                        mine.push((at, work(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(crate::error::thread_result)
            .collect()
    });
    done.sort_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, result)| result).collect()
}

fn nothing_found(paths: &[PathBuf]) -> Diagnostic {
    let message = if paths.is_empty() {
        "no manifests found: no paths were given".to_owned()
    } else {
        format!(
            "no manifests found in {}",
            code_list(paths.iter().map(|p| p.display().to_string()))
        )
    };
    Diagnostic::error(message).hint(format!(
        "manifests are `.yaml` or `.yml` files of documents with `apiVersion: {API_VERSION}`, `kind`, `metadata` and `spec`"
    ))
}

/// Problems in the order of the files, then by position.
fn sort_by_place(found: &mut [Diagnostic], files: &[PathBuf]) {
    let rank = |diagnostic: &Diagnostic| match &diagnostic.location {
        Some(location) => (
            files
                .iter()
                .position(|file| *file == location.file)
                .unwrap_or(usize::MAX),
            location.line,
            location.column,
        ),
        None => (usize::MAX, 0, 0),
    };
    found.sort_by_key(rank);
}

/// The files to read, in order: each path given, directories expanded and
/// sorted; a file reached twice is read once.
fn manifest_files(paths: &[PathBuf], found: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN {
            files.push(path.clone());
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut files, found),
            Ok(meta) if meta.is_file() => files.push(path.clone()),
            Ok(_) => found.push(not_a_file(path)),
            Err(error) => found.push(io_problem(path, &error)),
        }
    }
    let mut seen = HashSet::new();
    files.retain(|file| seen.insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.clone())));
    files
}

/// Adds the `*.yaml` / `*.yml` files below `dir`, sorted by path. Hidden
/// entries (`.git`, `.github`, …) are skipped, and symbolic links to
/// directories are not followed.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, found: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return found.push(io_problem(dir, &error)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    for path in paths {
        let is_link =
            std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink());
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() && !is_link => walk(&path, files, found),
            Ok(meta) if meta.is_file() && is_manifest_name(&path) => files.push(path),
            Ok(_) => {}
            Err(error) if is_manifest_name(&path) => found.push(io_problem(&path, &error)),
            Err(_) => {}
        }
    }
}

fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml")
        })
}

fn io_problem(path: &Path, error: &std::io::Error) -> Diagnostic {
    use std::io::ErrorKind;
    let (message, hint) = match error.kind() {
        ErrorKind::NotFound => (
            format!("`{}` does not exist", path.display()),
            "check the path (a symbolic link may point nowhere): name manifest files or directories that exist",
        ),
        ErrorKind::PermissionDenied => (
            format!("cannot read `{}`: {error}", path.display()),
            "give this user read access to it, or leave it out",
        ),
        ErrorKind::NotADirectory => (
            format!("cannot read `{}`: {error}", path.display()),
            "a part of the path that should be a directory is a file: name the file without a trailing `/`",
        ),
        _ => (
            format!("cannot read `{}`: {error}", path.display()),
            "name a readable manifest file or directory (a symbolic link may point in a loop)",
        ),
    };
    Diagnostic::error(message)
        .at(SourceLocation::file(path))
        .hint(hint)
}

/// A path that is neither a file nor a directory (a named pipe, a socket,
/// a device): reading it could wait for ever, or never end.
fn not_a_file(path: &Path) -> Diagnostic {
    Diagnostic::error(format!(
        "`{}` is not a regular file or a directory (a named pipe, socket or device)",
        path.display()
    ))
    .at(SourceLocation::file(path))
    .hint("name manifest files or directories; to check generated YAML, write it to a file first")
}

/// The file's text, refusing files too large to be manifests and text that
/// is not UTF-8.
/// Up to one byte more than [`MAX_FILE_BYTES`] of `path` (standard input
/// for [`STDIN`]).
fn read_bytes(path: &Path) -> Result<Vec<u8>, Box<Diagnostic>> {
    if path.as_os_str() == STDIN {
        let read = STDIN_BYTES.get_or_init(|| {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map(|_| bytes)
                .map_err(|error| error.to_string())
        });
        return read.clone().map_err(|error| {
            Box::new(
                Diagnostic::error(format!(
                    "could not read the manifests from standard input: {error}"
                ))
                .at(SourceLocation::file(path))
                .hint("pipe the manifests in (`generator | entitle plan -`), or name their files"),
            )
        });
    }
    let file = std::fs::File::open(path).map_err(|error| Box::new(io_problem(path, &error)))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Box::new(io_problem(path, &error)))?;
    Ok(bytes)
}

fn read_text(path: &Path) -> Result<String, Box<Diagnostic>> {
    let bytes = read_bytes(path)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Box::new(
            Diagnostic::error(format!(
                "`{}` is larger than {} MiB, too large for a manifest",
                path.display(),
                MAX_FILE_BYTES / (1024 * 1024)
            ))
            .at(SourceLocation::file(path))
            .hint(
                "split the resources over several files, or check that this is the file you meant",
            ),
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Box::new(
            Diagnostic::error(format!(
                "`{}` is UTF-16 text; manifests must be UTF-8",
                path.display()
            ))
            .at(SourceLocation::file(path))
            .hint("save the file as UTF-8"),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        Box::new(not_text(path, valid, "is not UTF-8 text"))
    })?;
    if let Some(at) = text.find('\0') {
        return Err(Box::new(not_text(
            path,
            &text.as_bytes()[..at],
            "contains NUL bytes",
        )));
    }
    Ok(text)
}

/// A file that is not text, pointing at the first offending byte after the
/// valid `prefix`.
fn not_text(path: &Path, prefix: &[u8], what: &str) -> Diagnostic {
    let prefix = String::from_utf8_lossy(prefix);
    let line = prefix.matches('\n').count() as u64 + 1;
    let column = prefix
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count()) as u64
        + 1;
    Diagnostic::error(format!("`{}` {what}; is it a binary file?", path.display()))
        .at(SourceLocation {
            file: path.to_path_buf(),
            line,
            column,
        })
        .hint("manifests must be UTF-8 YAML text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_order_skipping_hidden_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "b.yaml",
            "a/z.YML",
            "a/y.yml",
            "notes.txt",
            ".hidden.yaml",
            ".github/ci.yaml",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let mut found = Vec::new();
        let files = manifest_files(&[root.to_path_buf(), root.join("notes.txt")], &mut found);
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        let expected: Vec<PathBuf> = ["a/y.yml", "a/z.YML", "b.yaml", "notes.txt"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(names, expected);
        assert_eq!(found, vec![]);
    }

    #[test]
    fn problems_are_sorted_by_file_then_position() {
        let files = vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")];
        let at = |file: &str, line| {
            Diagnostic::error("x").at(SourceLocation {
                file: file.into(),
                line,
                column: 1,
            })
        };
        let mut found = vec![
            at("b.yaml", 1),
            Diagnostic::error("nowhere"),
            at("a.yaml", 9),
            at("a.yaml", 2),
        ];
        sort_by_place(&mut found, &files);
        let order: Vec<_> = found
            .iter()
            .map(|d| d.location.as_ref().map(|l| l.line))
            .collect();
        assert_eq!(order, [Some(2), Some(9), Some(1), None]);
    }

    #[test]
    fn line_and_column_of_the_first_bad_byte() {
        let diagnostic = not_text(Path::new("x.yaml"), b"ab\ncd", "is not UTF-8 text");
        let location = diagnostic.location.unwrap();
        assert_eq!((location.line, location.column), (2, 3));
    }
}
