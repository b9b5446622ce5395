//! The kinds' own checks across documents (`KindSpec::check_across`), run
//! on every declared resource whose spec is sound, each address once, and
//! their problems pointed at the fields they name.

use super::diagnostic::Diagnostic;
use super::document::Declared;
use crate::resources::{AcrossProblem, DeclaredSpec, Kind};

/// What the kinds find between `declared` (each address once).
pub fn check(declared: &[&Declared]) -> Vec<Diagnostic> {
    let sound: Vec<&Declared> = declared
        .iter()
        .copied()
        .filter(|declaration| declaration.sound_spec().is_some())
        .collect();
    let specs: Vec<DeclaredSpec<'_>> = sound
        .iter()
        .filter_map(|declaration| {
            Some(DeclaredSpec {
                name: &declaration.address.name,
                spec: declaration.sound_spec()?,
            })
        })
        .collect();
    Kind::check_across(&specs)
        .into_iter()
        .filter_map(|problem| diagnostic(&sound, problem))
        .collect()
}

fn diagnostic(sound: &[&Declared], problem: AcrossProblem) -> Option<Diagnostic> {
    let mut diagnostic = Diagnostic::error(problem.message)
        .at(sound.get(problem.at)?.field_at(&problem.field))
        .field(problem.field)
        .maybe_hint(problem.hint);
    for (at, field, label) in problem.related {
        if let Some(other) = sound.get(at) {
            diagnostic = diagnostic.related(other.field_at(&field), label);
        }
    }
    Some(diagnostic)
}
