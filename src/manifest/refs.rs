//! Checks across documents: every address declared once, and every
//! reference (spec fields and `metadata.dependsOn`) naming a declared resource.

use super::address::Address;
use super::diagnostic::{Diagnostic, SourceLocation};
use super::document::Declared;
use super::suggest::suggest_from;
use crate::resources::Kind;
use std::collections::{HashMap, HashSet};

/// An address as a key that borrows its name: lookups allocate nothing.
pub(super) type Key<'a> = (Kind, &'a str);

pub(super) fn key(address: &Address) -> Key<'_> {
    (address.kind, &address.name)
}

/// Problems between documents. When `complete` is false some document could
/// not be read, so a missing target may well be declared there: references
/// are then not checked, to avoid reporting problems that are not there.
pub fn check(declared: &[Declared], complete: bool) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut first_at: HashMap<Key<'_>, &SourceLocation> = HashMap::new();
    for declaration in declared {
        match first_at.get(&key(&declaration.address)) {
            Some(first) => found.push(
                Diagnostic::error(format!(
                    "`{}` is declared more than once",
                    declaration.address
                ))
                .at(declaration.name_at.clone())
                .field("metadata.name")
                .related((*first).clone(), "first defined here")
                .hint("names are unique per kind; rename one of them or remove the copy"),
            ),
            None => {
                first_at.insert(key(&declaration.address), &declaration.name_at);
            }
        }
    }
    if !complete {
        return found;
    }
    let names = Names(&first_at);
    for declaration in declared {
        for (reference, at) in &declaration.references {
            if !first_at.contains_key(&(reference.kind, reference.name.as_str())) {
                let message = format!(
                    "`{}` refers to {} `{}`, which is not declared",
                    reference.field, reference.kind, reference.name
                );
                found.push(
                    Diagnostic::error(message)
                        .at(at.clone())
                        .field(format!("spec.{}", reference.field))
                        .hint(names.hint(reference.kind, &reference.name)),
                );
            }
        }
        for entry in &declaration.depends_on {
            let target = &entry.target;
            if !first_at.contains_key(&key(target)) {
                found.push(
                    Diagnostic::error(format!(
                        "`dependsOn` names `{target}`, which is not declared"
                    ))
                    .at(entry.at.clone())
                    .field(format!("metadata.dependsOn[{}]", entry.index))
                    .hint(names.hint(target.kind, &target.name)),
                );
            }
        }
    }
    found
}

/// The first declaration of each address, in order: what the checks after
/// the duplicates look at (a copy is reported once, as a copy).
pub fn first_declarations(declared: &[Declared]) -> Vec<&Declared> {
    let mut seen = HashSet::new();
    declared
        .iter()
        .filter(|declaration| seen.insert(key(&declaration.address)))
        .collect()
}

/// The declared names, for hints about a missing one.
struct Names<'a>(&'a HashMap<Key<'a>, &'a SourceLocation>);

impl Names<'_> {
    fn hint(&self, kind: Kind, missing: &str) -> String {
        let mut names: Vec<&str> = self
            .0
            .keys()
            .filter(|(of, _)| *of == kind)
            .map(|(_, name)| *name)
            .collect();
        names.sort_unstable();
        if names.is_empty() {
            return format!(
                "no {kind} is declared; declare one with `kind: {kind}` and `name: {missing}`"
            );
        }
        suggest_from(missing, &names, &format!("the declared {kind} names"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::DependsOn;
    use crate::resources::Reference;

    fn at(line: u64) -> SourceLocation {
        SourceLocation {
            file: "m.yaml".into(),
            line,
            column: 9,
        }
    }

    fn declared(address: &str, line: u64) -> Declared {
        Declared {
            address: address.parse().unwrap(),
            name_at: at(line),
            depends_on: Vec::new(),
            references: Vec::new(),
            spec_fields: Vec::new(),
            spec: None,
            resource: None,
        }
    }

    fn license_in(tenant: &str, line: u64) -> Declared {
        let mut license = declared(&format!("ArcserveLicense/in-{tenant}"), line);
        let reference = Reference {
            field: "tenant".into(),
            kind: Kind::EclTenant,
            name: tenant.into(),
        };
        license.references.push((reference, at(line + 1)));
        license
    }

    #[test]
    fn a_second_declaration_points_at_the_first() {
        let found = check(
            &[
                declared("EclTenant/prod", 2),
                declared("EclTenant/prod", 10),
            ],
            true,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "`EclTenant/prod` is declared more than once"
        );
        assert_eq!(found[0].location, Some(at(10)));
        assert_eq!(found[0].related, [(at(2), "first defined here".to_owned())]);
    }

    #[test]
    fn dangling_references_suggest_declared_names() {
        let found = check(
            &[
                declared("EclTenant/prod-jp1", 2),
                license_in("prod-jp2", 10),
            ],
            true,
        );
        assert_eq!(
            found[0].message,
            "`tenant` refers to EclTenant `prod-jp2`, which is not declared"
        );
        assert_eq!(found[0].field.as_deref(), Some("spec.tenant"));
        assert_eq!(
            found[0].hint.as_deref(),
            Some("did you mean `prod-jp1`? (the declared EclTenant names are `prod-jp1`)")
        );
        let alone = check(&[license_in("prod", 10)], true);
        assert_eq!(
            alone[0].hint.as_deref(),
            Some("no EclTenant is declared; declare one with `kind: EclTenant` and `name: prod`")
        );
    }

    #[test]
    fn depends_on_must_name_a_declared_resource() {
        let mut license = declared("ArcserveLicense/a", 2);
        let entry = |target: &str, index, line| DependsOn {
            target: target.parse().unwrap(),
            index,
            at: at(line),
        };
        license.depends_on.push(entry("ArcserveLicense/b", 1, 3));
        license.depends_on.push(entry("ArcserveLicense/a", 2, 4));
        let found = check(&[license], true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field.as_deref(), Some("metadata.dependsOn[1]"));
    }

    #[test]
    fn references_are_not_checked_when_some_document_was_unreadable() {
        let found = check(
            &[
                license_in("prod", 10),
                declared("EclTenant/x", 2),
                declared("EclTenant/x", 3),
            ],
            false,
        );
        assert_eq!(found.len(), 1, "only the duplicate: {found:?}");
    }
}
