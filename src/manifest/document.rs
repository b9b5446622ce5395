//! One manifest document, from its tree to a typed resource: its kind, its
//! structure (the kind's JSON Schema), then the rules of its metadata and of
//! its kind. Every problem is reported, not just the first.

use super::address::{Address, AddressError};
use super::desired::Resource;
use super::diagnostic::{Diagnostic, Source, SourceLocation};
use super::metadata::{Metadata, check_name};
use super::node::{Located, Node, Pos};
use super::schema::{API_VERSION, KindSchema, KindSchemas};
use super::schema_check;
use super::suggest::{code_list, suggest_from};
use crate::resources::{Kind, KindSpec, Reference, Spec, SpecProblem, SpecVisitor};

/// What a document declares, as far as it could be read; the input of the
/// checks across documents.
#[derive(Debug)]
pub struct Declared {
    pub address: Address,
    /// Where `metadata.name` is written.
    pub name_at: SourceLocation,
    /// `metadata.dependsOn`, each with where it is written.
    pub depends_on: Vec<DependsOn>,
    /// The spec's references, each with where it is written; from the fields
    /// that passed the schema when the spec as a whole did not.
    pub references: Vec<(Reference, SourceLocation)>,
    /// Where each top-level field of `spec` is written (`spec` itself under
    /// the empty name), to point at them from the checks across documents.
    pub spec_fields: Vec<(String, Pos)>,
    /// The typed spec, when the spec is sound but the document is not (its
    /// metadata has a problem); see [`Declared::sound_spec`].
    pub spec: Option<Spec>,
    /// The typed resource, when the document has no problem at all.
    pub resource: Option<Resource>,
}

/// One entry of `metadata.dependsOn` that is the address of another resource.
#[derive(Debug, Clone, PartialEq)]
pub struct DependsOn {
    pub target: Address,
    /// Its index in the list.
    pub index: usize,
    pub at: SourceLocation,
}

impl Declared {
    /// The typed spec, when it passed the schema and its kind's own checks.
    pub fn sound_spec(&self) -> Option<&Spec> {
        self.resource
            .as_ref()
            .map(|resource| &resource.spec)
            .or(self.spec.as_ref())
    }

    /// Where the field at `path` (`metadata.name`, `spec.parent`) is
    /// written; the spec, or the name, when it is not.
    pub fn field_at(&self, path: &str) -> SourceLocation {
        let spec_field = path
            .strip_prefix("spec.")
            .map(|field| field.split(['.', '[']).next().unwrap_or_default());
        let position = |name: &str| {
            self.spec_fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, pos)| *pos)
        };
        match spec_field.and_then(|field| position(field).or_else(|| position(""))) {
            Some(pos) => SourceLocation {
                file: self.name_at.file.clone(),
                line: pos.line,
                column: pos.column,
            },
            None => self.name_at.clone(),
        }
    }
}

/// Checks one document, adding its problems to `found`. `None` when not even
/// its kind and name could be read.
pub fn read(
    document: &Located<Node>,
    source: Source<'_>,
    schemas: &KindSchemas,
    found: &mut Vec<Diagnostic>,
) -> Option<Declared> {
    let start = found.len();
    if !matches!(document.value, Node::Map(_)) {
        found.push(not_a_mapping(document, source));
        return None;
    }
    found.extend(duplicate_keys(document, source));
    let schema = schemas.get(kind_of(document, source, found)?)?;
    found.extend(schema_check::check(
        &schema.checked,
        document,
        source,
        schema.kind.name(),
    ));

    let name = document
        .find("metadata.name")
        .and_then(|name| match &name.value {
            Node::String(text) => Some((Address::new(schema.kind, text.clone()), name.pos)),
            _ => None,
        });
    if let Some((address, at)) = &name
        && let Err((message, hint)) = check_name(&address.name)
    {
        found.push(
            Diagnostic::error(message)
                .at(source.at(*at))
                .field("metadata.name")
                .maybe_hint(hint),
        );
    }
    let depends_on = depends_on(
        document,
        source,
        name.as_ref().map(|(address, _)| address),
        found,
    );
    found.extend(ignore_changes(document, source, schema));

    // Typed reading needs the section's structure right; the rules of the
    // spec still run when only the metadata is wrong, and the other way round.
    let metadata_clean = section_clean(&found[start..], "metadata");
    let (spec, references) = if section_clean(&found[start..], "spec") {
        typed_spec(document, source, schema.kind, found).unzip()
    } else {
        let references = partial_references(document, source, schema.kind, &found[start..]);
        (None, Some(references))
    };
    let spec = spec.filter(|_| section_clean(&found[start..], "spec"));
    let metadata = metadata_clean
        .then(|| typed::<Metadata>(document, "metadata", source, found))
        .flatten();

    let (address, name_pos) = name?;
    let (spec, resource) = match (metadata, spec) {
        (Some(metadata), Some(spec)) if found.len() == start => (
            None,
            Some(Resource {
                address: address.clone(),
                metadata,
                spec,
                source: source.at(document.pos),
            }),
        ),
        (_, spec) => (spec, None),
    };
    Some(Declared {
        address,
        name_at: source.at(name_pos),
        depends_on,
        references: references.unwrap_or_default(),
        spec_fields: spec_fields(document),
        spec,
        resource,
    })
}

/// Where `spec` and each of its top-level fields are written.
fn spec_fields(document: &Located<Node>) -> Vec<(String, Pos)> {
    let Some((key, spec)) = document.entry("spec") else {
        return Vec::new();
    };
    let mut fields = vec![(String::new(), spec.pos_or_key(key.pos))];
    if let Node::Map(entries) = &spec.value {
        fields.extend(
            entries
                .iter()
                .map(|(key, value)| (key.value.clone(), value.pos_or_key(key.pos))),
        );
    }
    fields
}

/// The references of a spec that broke the schema, from the fields that did
/// not: a misspelt reference shows in the same run as a missing field.
fn partial_references(
    document: &Located<Node>,
    source: Source<'_>,
    kind: Kind,
    problems: &[Diagnostic],
) -> Vec<(Reference, SourceLocation)> {
    let Some(spec_node) = document.get("spec") else {
        return Vec::new();
    };
    let broken = |field: &str| {
        let path = format!("spec.{field}");
        problems.iter().any(|problem| {
            problem.field.as_deref().is_some_and(|at| {
                at.strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
        })
    };
    kind.visit(PartialReferences(spec_node.value.to_json()))
        .into_iter()
        .filter(|reference| !broken(&reference.field))
        .map(|reference| {
            let at = document
                .find(&format!("spec.{}", reference.field))
                .unwrap_or(spec_node);
            (reference, source.at(at.pos))
        })
        .collect()
}

struct PartialReferences(serde_json::Value);

impl SpecVisitor for PartialReferences {
    type Output = Vec<Reference>;

    fn visit<S: KindSpec>(self) -> Self::Output {
        S::references_in(&self.0)
    }
}

/// Whether none of `problems` is in `section` (`metadata`, `spec`).
fn section_clean(problems: &[Diagnostic], section: &str) -> bool {
    !problems.iter().any(|problem| {
        problem
            .field
            .as_deref()
            .is_some_and(|field| field.split(['.', '[']).next() == Some(section))
    })
}

fn not_a_mapping(document: &Located<Node>, source: Source<'_>) -> Diagnostic {
    let found = match &document.value {
        Node::Seq(_) => "a list",
        Node::String(_) => "a line of text",
        _ => "a single value",
    };
    let diagnostic = Diagnostic::error(format!(
        "a manifest document must be a mapping with `apiVersion`, `kind`, `metadata` and `spec`; found {found}"
    ))
    .at(source.at(document.pos));
    match document.value {
        Node::Seq(_) => diagnostic
            .hint("to declare several resources in one file, separate the documents with `---` lines instead of writing a list"),
        _ => diagnostic,
    }
}

pub(super) fn duplicate_keys(document: &Located<Node>, source: Source<'_>) -> Vec<Diagnostic> {
    document
        .duplicate_keys()
        .into_iter()
        .map(|(path, first, again)| {
            let place = if path.is_empty() {
                "the document".to_owned()
            } else {
                format!("`{path}`")
            };
            Diagnostic::error(format!("duplicate key `{}` in {place}", again.value))
                .at(source.at(again.pos))
                .field(super::node::join(&path, &again.value))
                .related(source.at(first.pos), "first defined here")
                .hint("a key may appear only once in a mapping; remove one of them")
        })
        .collect()
}

/// The document's kind; `None` (and a problem) when it is missing or unknown.
fn kind_of(
    document: &Located<Node>,
    source: Source<'_>,
    found: &mut Vec<Diagnostic>,
) -> Option<Kind> {
    let mut kinds = Kind::names();
    kinds.push(crate::policy::POLICY_KIND);
    kinds.sort_unstable();
    let Some((key, value)) = document.entry("kind") else {
        let add_kind = format!("`kind:` with one of {}", code_list(&kinds));
        let hint = match document.get("apiVersion") {
            Some(_) => format!("add {add_kind}"),
            None => format!("add `apiVersion: {API_VERSION}` and {add_kind}"),
        };
        found.push(
            Diagnostic::error("missing field `kind` in the document")
                .at(source.at(document.pos))
                .field("kind")
                .hint(hint),
        );
        return None;
    };
    let written = match &value.value {
        Node::String(text) => text,
        _ => {
            found.push(
                Diagnostic::error(format!(
                    "`kind` must be the name of a kind, one of {}",
                    code_list(&kinds)
                ))
                .at(source.at(value.pos_or_key(key.pos)))
                .field("kind"),
            );
            return None;
        }
    };
    match written.parse::<Kind>() {
        Ok(kind) => Some(kind),
        Err(_) => {
            found.push(
                Diagnostic::error(format!("unknown kind `{written}`"))
                    .at(source.at(value.pos))
                    .field("kind")
                    .hint(suggest_from(written, &kinds, "the kinds")),
            );
            None
        }
    }
}

/// `metadata.dependsOn`: each entry an address of a known kind, not this resource.
fn depends_on(
    document: &Located<Node>,
    source: Source<'_>,
    this: Option<&Address>,
    found: &mut Vec<Diagnostic>,
) -> Vec<DependsOn> {
    let Some(Node::Seq(items)) = document.find("metadata.dependsOn").map(|node| &node.value) else {
        return Vec::new();
    };
    let mut addresses = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Node::String(text) = &item.value else {
            continue;
        };
        let at = source.at(item.pos);
        let field = format!("metadata.dependsOn[{index}]");
        match text.parse::<Address>() {
            Ok(address) if Some(&address) == this => found.push(
                Diagnostic::error(format!("`{address}` depends on itself"))
                    .at(at)
                    .field(field)
                    .hint("remove this entry"),
            ),
            Ok(target) => addresses.push(DependsOn { target, index, at }),
            Err(error) => found.push(
                Diagnostic::error(error.to_string())
                    .at(at)
                    .field(field)
                    .hint(address_hint(&error)),
            ),
        }
    }
    addresses
}

fn address_hint(error: &AddressError) -> String {
    match error {
        AddressError::UnknownKind { kind, .. } => suggest_from(kind, &Kind::names(), "the kinds"),
        AddressError::NoSlash(_) | AddressError::EmptyName(_) => {
            "write the kind and the name, e.g. `EclTenant/prod-jp1`".to_owned()
        }
    }
}

/// `metadata.lifecycle.ignoreChanges`: each entry a spec field of this kind.
fn ignore_changes(
    document: &Located<Node>,
    source: Source<'_>,
    schema: &KindSchema,
) -> Vec<Diagnostic> {
    let Some(Node::Seq(items)) = document
        .find("metadata.lifecycle.ignoreChanges")
        .map(|node| &node.value)
    else {
        return Vec::new();
    };
    let fields = &schema.spec_fields;
    let mut found = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Node::String(field) = &item.value else {
            continue;
        };
        if fields.contains(field) {
            continue;
        }
        let what = format!("the fields of {} spec", schema.kind);
        let hint = suggest_from(field, fields, &what);
        found.push(
            Diagnostic::error(format!(
                "`ignoreChanges` names `{field}`, which is not a field of {} spec",
                schema.kind
            ))
            .at(source.at(item.pos))
            .field(format!("metadata.lifecycle.ignoreChanges[{index}]"))
            .hint(hint),
        );
    }
    found
}

/// The typed spec and its references, after the kind's own checks; `None` if
/// it could not be read.
fn typed_spec(
    document: &Located<Node>,
    source: Source<'_>,
    kind: Kind,
    found: &mut Vec<Diagnostic>,
) -> Option<(Spec, Vec<(Reference, SourceLocation)>)> {
    let spec_node = document.get("spec")?;
    let json = spec_node.value.to_json();
    let located = |field: &str| {
        source.at(document
            .find(&format!("spec.{field}"))
            .unwrap_or(spec_node)
            .pos)
    };
    match kind.visit(TypedSpec(json)) {
        Ok((spec, problems, references)) => {
            found.extend(problems.into_iter().map(|problem| {
                Diagnostic::error(problem.message)
                    .at(located(&problem.field))
                    .field(format!("spec.{}", problem.field))
                    .maybe_hint(problem.hint)
            }));
            let references = references
                .into_iter()
                .map(|reference| {
                    let at = located(&reference.field);
                    (reference, at)
                })
                .collect();
            Some((spec, references))
        }
        Err(error) => {
            found.push(internal_error("spec", &error, source.at(spec_node.pos)));
            None
        }
    }
}

struct TypedSpec(serde_json::Value);

impl SpecVisitor for TypedSpec {
    type Output = Result<(Spec, Vec<SpecProblem>, Vec<Reference>), serde_json::Error>;

    fn visit<S: KindSpec>(self) -> Self::Output {
        let spec: S = serde_json::from_value(self.0)?;
        let problems = spec.check();
        let references = spec.references();
        Ok((spec.into(), problems, references))
    }
}

/// A section that passed the schema, as its Rust type.
fn typed<T: serde::de::DeserializeOwned>(
    document: &Located<Node>,
    section: &str,
    source: Source<'_>,
    found: &mut Vec<Diagnostic>,
) -> Option<T> {
    let node = document.get(section)?;
    serde_json::from_value(node.value.to_json())
        .map_err(|error| found.push(internal_error(section, &error, source.at(node.pos))))
        .ok()
}

/// The schema and the Rust types disagree: a bug, not the user's mistake.
pub(super) fn internal_error(
    section: &str,
    error: &serde_json::Error,
    at: SourceLocation,
) -> Diagnostic {
    Diagnostic::error(format!(
        "internal error: `{section}` passed the schema check but could not be read: {error}"
    ))
    .at(at)
    .field(section)
    .hint("this is a bug in entitle; please report it with this manifest")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::node::parse_documents;
    use std::path::Path;

    const LICENSE: &str = "apiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: backup\nspec:\n  tenant: prod\n  plan: 8f120957-b50d-445e-8dab-00b1eab5407d\n  standaloneKeys: 1\n  version: \"9.0\"\n";

    fn read_text(text: &str) -> (Option<Declared>, Vec<Diagnostic>) {
        let schemas = KindSchemas::generate();
        let document = &parse_documents(text).unwrap()[0];
        let mut found = Vec::new();
        let declared = read(
            document,
            Source {
                path: Path::new("m.yaml"),
                text,
            },
            &schemas,
            &mut found,
        );
        (declared, found)
    }

    fn messages(found: &[Diagnostic]) -> Vec<&str> {
        found.iter().map(|d| d.message.as_str()).collect()
    }

    #[test]
    fn a_good_document_becomes_a_resource_with_its_references() {
        let (declared, found) = read_text(LICENSE);
        assert_eq!(found, vec![]);
        let declared = declared.unwrap();
        assert_eq!(declared.address.to_string(), "ArcserveLicense/backup");
        assert_eq!((declared.name_at.line, declared.name_at.column), (4, 9));
        let (reference, at) = &declared.references[0];
        assert_eq!(
            (reference.name.as_str(), at.line, at.column),
            ("prod", 6, 11)
        );
        let resource = declared.resource.unwrap();
        assert_eq!((resource.source.line, resource.source.column), (1, 1));
        assert_eq!(resource.spec.kind(), Kind::ArcserveLicense);
    }

    #[test]
    fn without_a_known_kind_nothing_is_declared() {
        let (declared, found) = read_text(&LICENSE.replace("kind: ArcserveLicense\n", ""));
        assert!(declared.is_none());
        assert_eq!(messages(&found), ["missing field `kind` in the document"]);
        let (declared, found) = read_text(&LICENSE.replace("kind: ArcserveLicense", "kind: [x]"));
        assert!(declared.is_none());
        assert!(
            found[0]
                .message
                .starts_with("`kind` must be the name of a kind")
        );
        let (_, found) =
            read_text(&LICENSE.replace("kind: ArcserveLicense", "kind: ArcserveLicence"));
        assert_eq!(
            found[0].hint.as_deref(),
            Some(
                "did you mean `ArcserveLicense`? (the kinds are `ArcserveLicense`, `EclTenant`, `Policy`, `Proposal`, `RedstorCompany`, `RedstorSubscription`)"
            )
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_explained() {
        let (declared, found) = read_text("just a line\n");
        assert!(declared.is_none());
        assert!(
            found[0].message.ends_with("found a line of text"),
            "{found:?}"
        );
    }

    #[test]
    fn rules_of_the_kind_are_located_at_their_field() {
        let (declared, found) = read_text(&LICENSE.replace("\"9.0\"", "\"9\""));
        assert!(declared.unwrap().resource.is_none());
        assert_eq!(found[0].field.as_deref(), Some("spec.version"));
        assert_eq!(
            found[0].location.as_ref().map(|l| (l.line, l.column)),
            Some((9, 12))
        );
    }

    #[test]
    fn spec_rules_run_even_when_metadata_is_broken() {
        let text = LICENSE
            .replace("  name: backup\n", "  name: backup\n  owner: me\n")
            .replace("\"9.0\"", "\"9\"");
        let (_, found) = read_text(&text);
        let fields: Vec<_> = found.iter().filter_map(|d| d.field.as_deref()).collect();
        assert_eq!(fields, ["metadata.owner", "spec.version"]);
    }

    #[test]
    fn metadata_rules() {
        let text = LICENSE.replace(
            "  name: backup\n",
            "  name: back/up\n  dependsOn: [ArcserveLicense/back/up, Tenant/x]\n  lifecycle:\n    ignoreChanges: [versoin]\n",
        );
        let (declared, found) = read_text(&text);
        assert!(declared.unwrap().depends_on.is_empty());
        assert_eq!(
            messages(&found),
            [
                "the name `back/up` contains `/`, which separates kind and name in addresses (`Kind/name`)",
                "`ArcserveLicense/back/up` depends on itself",
                "`Tenant/x` is not an address: unknown kind `Tenant`",
                "`ignoreChanges` names `versoin`, which is not a field of ArcserveLicense spec",
            ]
        );
        assert!(
            found[3]
                .hint
                .as_deref()
                .is_some_and(|hint| hint.starts_with("did you mean `version`? (the fields of")),
            "{:?}",
            found[3].hint
        );
    }

    #[test]
    fn references_are_read_from_a_spec_that_broke_the_schema() {
        let (declared, found) = read_text(&LICENSE.replace("  standaloneKeys: 1\n", ""));
        assert_eq!(
            messages(&found),
            ["missing field `standaloneKeys` in ArcserveLicense spec"]
        );
        let declared = declared.unwrap();
        assert!(declared.sound_spec().is_none());
        let (reference, at) = &declared.references[0];
        assert_eq!((reference.name.as_str(), at.line), ("prod", 6));
    }

    #[test]
    fn no_reference_is_made_up_from_a_field_that_broke_the_schema() {
        for tenant in ["5", "\"\"", "[prod]"] {
            let text = LICENSE
                .replace("tenant: prod", &format!("tenant: {tenant}"))
                .replace("  standaloneKeys: 1\n", "");
            let (declared, found) = read_text(&text);
            assert_eq!(found.len(), 2, "{tenant}: {found:?}");
            assert_eq!(declared.unwrap().references, [], "{tenant}");
        }
    }

    #[test]
    fn a_sound_spec_is_kept_when_only_the_metadata_is_wrong() {
        let (declared, found) =
            read_text(&LICENSE.replace("  name: backup\n", "  name: backup\n  owner: me\n"));
        assert_eq!(found.len(), 1);
        let declared = declared.unwrap();
        assert!(declared.resource.is_none());
        assert_eq!(
            declared.sound_spec().map(Spec::kind),
            Some(Kind::ArcserveLicense)
        );
        assert_eq!(declared.field_at("spec.version").line, 10);
        // A field that is not written: the spec itself.
        assert_eq!(declared.spec_fields[0].0, "");
        assert_eq!(
            declared.field_at("spec.keyTypes[0]").line,
            declared.spec_fields[0].1.line
        );
        assert_eq!(declared.field_at("metadata.name").line, 4);
        let (declared, _) = read_text(&LICENSE.replace("\"9.0\"", "\"9\""));
        assert!(declared.unwrap().sound_spec().is_none());
    }

    #[test]
    fn duplicate_keys_point_at_both() {
        let (_, found) =
            read_text(&LICENSE.replace("  tenant: prod\n", "  tenant: prod\n  tenant: dr\n"));
        assert_eq!(messages(&found), ["duplicate key `tenant` in `spec`"]);
        assert_eq!(found[0].related[0].0.line, 6);
        assert_eq!(found[0].location.as_ref().map(|l| l.line), Some(7));
    }
}
