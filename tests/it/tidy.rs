//! The shape around the kinds, checked on the source: only the providers
//! (`src/resources/`), the API clients (`src/api/`), the simulator
//! (`src/sim/`) and the demo name a specific kind; no `match` over kinds or
//! operations has a `_` arm, so a kind or an operation that is missed does
//! not compile (ARCHITECTURE.md, "Adding a kind").

use std::path::{Path, PathBuf};

use entitle::resources::Kind;

/// Where naming a kind is the job.
const MAY_NAME_KINDS: &[&str] = &["src/resources/", "src/api/", "src/sim/", "src/cli/demo.rs"];

/// The enums whose matches must list every variant.
const EXHAUSTIVE: &[&str] = &[
    "Kind::",
    "Spec::",
    "Operation::",
    "LicenseOperation::",
    "ProposalOperation::",
    "RedstorOperation::",
    "ProviderOperation::",
    "ProviderId::",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file of the crate, relative to its root, with its code:
/// comments and the unit tests at the end of a file left out.
fn code() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .map(|line| match line.find("//") {
                    Some(at) if !line[..at].contains('"') => line[..at].to_string(),
                    _ => line.to_string(),
                })
                .collect();
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            (relative.replace('\\', "/"), code)
        })
        .collect()
}

/// How `line` names a kind, if it does: `Kind::X`, `Spec::X`, the spec
/// type `XSpec`, or an address `"X/...`.
fn names_a_kind(line: &str) -> Option<String> {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    Kind::all().into_iter().find_map(|kind| {
        let name = kind.name();
        [
            format!("Kind::{name}"),
            format!("Spec::{name}("),
            format!("{name}Spec"),
            format!("\"{name}/"),
        ]
        .into_iter()
        .find(|needle| {
            line.match_indices(needle.as_str()).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + needle.len()..].chars().next();
                let inside_a_word = word(before) || (needle.starts_with("Kind::") && word(after));
                !inside_a_word
            })
        })
    })
}

#[test]
fn only_the_providers_the_clients_the_simulator_and_the_demo_name_a_kind() {
    let mut found = Vec::new();
    for (file, lines) in code() {
        if MAY_NAME_KINDS
            .iter()
            .any(|allowed| file.starts_with(allowed))
        {
            continue;
        }
        for (number, line) in lines.iter().enumerate() {
            if let Some(what) = names_a_kind(line) {
                found.push(format!(
                    "{file}:{}: names `{what}`: {}",
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core must reach kinds through the providers (src/resources/):\n{}",
        found.join("\n")
    );
}

/// The arms of the `match` a `_ =>` at `at` belongs to: the lines from the
/// nearest `match` indented less than it.
fn arms_before(lines: &[String], at: usize) -> &[String] {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let depth = indent(&lines[at]);
    let start = (0..at)
        .rev()
        .find(|&i| indent(&lines[i]) < depth && lines[i].contains("match "))
        .unwrap_or(at);
    &lines[start..at]
}

#[test]
fn no_match_over_kinds_or_operations_has_a_catch_all_arm() {
    let mut found = Vec::new();
    for (file, lines) in code() {
        for (at, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("_ =>") {
                continue;
            }
            let over = arms_before(&lines, at).iter().find_map(|arm| {
                let arm = arm.trim_start().trim_start_matches("| ");
                EXHAUSTIVE.iter().find(|prefix| arm.starts_with(*prefix))
            });
            if let Some(over) = over {
                found.push(format!("{file}:{}: `_ =>` in a match over {over}", at + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "list every variant, so that a new one does not compile until it is handled:\n{}",
        found.join("\n")
    );
}

/// The checks above can fail: they see what they are for.
#[test]
fn the_checks_see_a_kind_and_a_catch_all() {
    assert_eq!(
        names_a_kind("    if address.starts_with(\"ArcserveLicense/\") {").as_deref(),
        Some("\"ArcserveLicense/")
    );
    assert_eq!(
        names_a_kind("let k = Kind::RedstorCompany;").as_deref(),
        Some("Kind::RedstorCompany")
    );
    assert_eq!(names_a_kind("let k = Kind::all();"), None);
    assert_eq!(names_a_kind("let kinds = Kind::names();"), None);
    let lines: Vec<String> = [
        "    match &action.operation {",
        "        Operation::Forget => forget(),",
        "        _ => licenses(),",
        "    }",
    ]
    .map(String::from)
    .to_vec();
    let arms = arms_before(&lines, 2);
    assert_eq!(arms.len(), 2);
    assert!(arms[1].trim_start().starts_with("Operation::"));
}
