//! The JSON Schema of each kind's manifest document, generated from the Rust
//! types with schemars. It is both what editors validate against
//! (`schemas/*.json`) and what the loader checks structure with.

use super::metadata::Metadata;
use crate::resources::{Kind, KindSpec, SpecVisitor};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;
use std::borrow::Cow;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The only manifest format version.
pub const API_VERSION: &str = "entitle/v1";

/// The shape of one manifest document of the kind whose spec is `S`. Only its
/// schema is used: documents are read section by section.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct Document<S: KindSpec> {
    /// The manifest format version: `entitle/v1`.
    api_version: ApiVersion,
    /// The kind of resource.
    kind: KindName<S>,
    metadata: Metadata,
    spec: S,
}

/// Schema of `apiVersion`: the constant [`API_VERSION`].
struct ApiVersion;

impl JsonSchema for ApiVersion {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ApiVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "const": API_VERSION })
    }
}

/// Schema of `kind`: the constant name of `S`'s kind.
struct KindName<S>(PhantomData<S>);

impl<S: KindSpec> JsonSchema for KindName<S> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("{}Kind", S::KIND).into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "const": S::KIND.name() })
    }
}

/// One kind's schemas, as the loader uses them.
pub struct KindSchema {
    pub kind: Kind,
    /// The whole document's schema (apiVersion, kind, metadata, spec).
    pub document: Value,
    /// The same with its `$ref`s inlined: what documents are checked against.
    pub checked: Value,
    /// The names of the spec's fields, as written in manifests.
    pub spec_fields: Vec<String>,
}

struct Generate;

impl SpecVisitor for Generate {
    type Output = KindSchema;

    fn visit<S: KindSpec>(self) -> KindSchema {
        let mut document = SchemaGenerator::default().into_root_schema_for::<Document<S>>();
        document.insert("title".into(), S::KIND.name().into());
        document.insert(
            "description".into(),
            format!("An `{API_VERSION}` manifest of kind {}.", S::KIND).into(),
        );
        let spec = SchemaGenerator::default().into_root_schema_for::<S>();
        let spec_fields = spec
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        let document = document.to_value();
        KindSchema {
            kind: S::KIND,
            checked: super::schema_check::inline_refs(&document),
            document,
            spec_fields,
        }
    }
}

/// Every kind's schemas, generated once per load.
pub struct KindSchemas(Vec<KindSchema>);

impl KindSchemas {
    pub fn generate() -> Self {
        KindSchemas(
            Kind::all()
                .into_iter()
                .map(|kind| kind.visit(Generate))
                .collect(),
        )
    }

    pub fn get(&self, kind: Kind) -> Option<&KindSchema> {
        self.0.iter().find(|schema| schema.kind == kind)
    }
}

/// One JSON Schema per kind, for the whole document, sorted by kind name.
pub fn schemas() -> Vec<(Kind, Value)> {
    KindSchemas::generate()
        .0
        .into_iter()
        .map(|schema| (schema.kind, schema.document))
        .collect()
}

/// The file text of a schema: pretty JSON with a trailing newline.
pub fn schema_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `<dir>/<Kind>.json` for every kind and `Policy.json` (creating
/// `dir`), leaving files that are already up to date untouched. Returns the
/// paths: the kinds sorted by name, then the policy.
pub fn write_schemas(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let documents = schemas()
        .into_iter()
        .map(|(kind, schema)| (kind.to_string(), schema))
        .chain([(
            crate::policy::POLICY_KIND.to_string(),
            crate::policy::policy_schema(),
        )]);
    for (kind, schema) in documents {
        let path = dir.join(format!("{kind}.json"));
        let text = schema_text(&schema);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_a_document_schema_with_its_kind_constant() {
        for (kind, schema) in schemas() {
            assert_eq!(schema["title"], kind.name());
            assert_eq!(schema["properties"]["kind"]["const"], kind.name());
            assert_eq!(schema["properties"]["apiVersion"]["const"], API_VERSION);
            assert_eq!(schema["additionalProperties"], false);
        }
    }

    #[test]
    fn spec_fields_are_the_camel_case_names() {
        let schemas = KindSchemas::generate();
        let license = schemas.get(Kind::ArcserveLicense).unwrap();
        assert_eq!(
            license.spec_fields,
            ["keyTypes", "plan", "standaloneKeys", "tenant", "version"]
        );
    }

    #[test]
    fn writing_is_deterministic_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_schemas(dir.path()).unwrap();
        let first: Vec<_> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        write_schemas(dir.path()).unwrap();
        let second: Vec<_> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(first, second);
        assert!(first.iter().all(|text| text.ends_with("}\n")));
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "ArcserveLicense.json",
                "EclTenant.json",
                "Proposal.json",
                "RedstorCompany.json",
                "RedstorSubscription.json",
                "Policy.json"
            ]
        );
    }
}
