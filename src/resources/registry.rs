//! The registry of kinds: what every kind's spec provides, and the macro that
//! turns one line per kind into the [`Kind`](super::Kind) and [`Spec`](super::Spec) enums.
//!
//! The manifest loader is generic over kinds: it reaches a kind's Rust type
//! only through [`Kind::visit`](super::Kind::visit) and the [`KindSpec`]
//! trait. What else a kind needs (its provider) is listed in ARCHITECTURE.md,
//! "Adding a kind".

use super::{Kind, Spec};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

/// The spec of one kind of resource: its shape (serde + JSON Schema) and the
/// rules the schema cannot express.
pub trait KindSpec:
    Debug + Clone + PartialEq + Serialize + DeserializeOwned + JsonSchema + Into<Spec> + SpecOf
{
    /// The kind this spec belongs to.
    const KIND: Kind;

    /// Checks beyond the JSON Schema (formats, ranges of text, combinations).
    /// Runs only on a spec that passed the schema.
    fn check(&self) -> Vec<SpecProblem>;

    /// The other resources this spec names, each an edge in the dependency graph.
    fn references(&self) -> Vec<Reference>;

    /// The references of a spec that could not be read as `Self` (it broke
    /// the schema), from its JSON: what `references` gives for a readable
    /// one, from whichever of its fields are there and are text. The loader
    /// drops those of fields that broke the schema.
    fn references_in(spec: &serde_json::Value) -> Vec<Reference>;

    /// Checks between the declared resources of this kind (and others) that
    /// no single document shows, such as two resources that would be the
    /// same object at the vendor. `declared` is every resource whose spec
    /// passed its own checks, each address once.
    fn check_across(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
        let _ = declared;
        Vec::new()
    }
}

/// A declared resource whose spec passed its own checks, as
/// [`KindSpec::check_across`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct DeclaredSpec<'a> {
    /// Its `metadata.name`.
    pub name: &'a str,
    pub spec: &'a Spec,
}

impl<'a> DeclaredSpec<'a> {
    /// The resources of the kind whose spec is `S`, each with its index in
    /// `declared` (what an [`AcrossProblem`] points at).
    pub fn of<S: SpecOf + 'a>(
        declared: &'a [DeclaredSpec<'a>],
    ) -> impl Iterator<Item = (usize, &'a str, &'a S)> {
        declared
            .iter()
            .enumerate()
            .filter_map(|(at, d)| Some((at, d.name, S::spec_of(d.spec)?)))
    }
}

/// A problem between declared resources, found by [`KindSpec::check_across`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcrossProblem {
    /// The resource it is reported on: its index in the list checked.
    pub at: usize,
    /// The offending field, from the document's root: `spec.parent`,
    /// `metadata.name`.
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
    /// The other places that explain it: a resource's index, a field in it
    /// and a label such as "first named here".
    pub related: Vec<(usize, String, String)>,
}

impl AcrossProblem {
    pub fn new(at: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        AcrossProblem {
            at,
            field: field.into(),
            message: message.into(),
            hint: None,
            related: Vec::new(),
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn related(
        mut self,
        at: usize,
        field: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        self.related.push((at, field.into(), label.into()));
        self
    }
}

/// The text of the top-level field `field` of a spec's JSON, if it is text.
pub fn text_field<'a>(spec: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    spec.get(field).and_then(serde_json::Value::as_str)
}

/// One problem found by [`KindSpec::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// Path of the offending field below `spec`, e.g. `upgradeContact.email`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to write instead, when we can tell.
    pub hint: Option<String>,
}

impl SpecProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecProblem {
            field: field.into(),
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A reference from a spec field to another resource, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path of the referring field below `spec`, e.g. `tenant`.
    pub field: String,
    /// The kind of the resource referred to.
    pub kind: Kind,
    /// The name of the resource referred to.
    pub name: String,
}

/// The downcast from `Spec` to one kind's spec, generated by `kinds!`.
pub trait SpecOf: Sized {
    fn spec_of(spec: &Spec) -> Option<&Self>;
}

/// Something to do with the Rust type of one kind's spec; see [`Kind::visit`](super::Kind::visit).
pub trait SpecVisitor {
    type Output;
    fn visit<S: KindSpec>(self) -> Self::Output;
}

/// The error of parsing an unknown kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`")]
pub struct UnknownKind(pub String);

/// Declares the kinds: `Kind` (names, parsing, ordering by name), `Spec` (one
/// variant per kind) and the dispatch from a `Kind` to its spec type.
macro_rules! kinds {
    // The downcast of every kind, each given the list of them all.
    (@spec_ofs $every:tt $($kind:ident => $spec:ty),+) => {
        $($crate::resources::registry::kinds!(@spec_of $kind => $spec, $every);)+
    };
    // The downcast of one kind, its match listing every kind.
    (@spec_of $kind:ident => $spec:ty, [$($every:ident),+]) => {
        impl $crate::resources::registry::SpecOf for $spec {
            #[allow(unreachable_patterns)]
            fn spec_of(spec: &Spec) -> Option<&Self> {
                match spec {
                    Spec::$kind(inner) => Some(inner),
                    $(Spec::$every(_) => None,)+
                }
            }
        }
    };
    ($($kind:ident => $spec:ty),+ $(,)?) => {
        /// A kind of resource; its `Display` is the kind's name as written in manifests.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($kind),+
        }

        impl Kind {
            /// Every kind, sorted by name.
            pub fn all() -> Vec<Kind> {
                let mut all = vec![$(Kind::$kind),+];
                all.sort();
                all
            }

            /// The kind's name as written in `kind:`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind)),+
                }
            }

            /// Every kind's checks across documents (see
            /// [`KindSpec::check_across`](crate::resources::KindSpec::check_across)).
            pub fn check_across(
                declared: &[$crate::resources::DeclaredSpec<'_>],
            ) -> Vec<$crate::resources::AcrossProblem> {
                let mut found = Vec::new();
                $(found.extend(<$spec as $crate::resources::KindSpec>::check_across(declared));)+
                found
            }

            /// Runs `visitor` with this kind's spec type.
            pub fn visit<V: $crate::resources::SpecVisitor>(self, visitor: V) -> V::Output {
                match self {
                    $(Kind::$kind => visitor.visit::<$spec>()),+
                }
            }
        }

        /// The typed spec of a resource, one variant per kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Spec {
            $($kind($spec)),+
        }

        impl Spec {
            /// The kind of resource this spec describes.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Spec::$kind(_) => Kind::$kind),+
                }
            }

            /// The other resources this spec names.
            pub fn references(&self) -> Vec<$crate::resources::Reference> {
                match self {
                    $(Spec::$kind(spec) => $crate::resources::KindSpec::references(spec)),+
                }
            }

            /// The spec as JSON, in the manifest's spelling.
            pub fn to_json(&self) -> serde_json::Value {
                match self {
                    $(Spec::$kind(spec) => serde_json::to_value(spec).unwrap_or_default()),+
                }
            }
        }

        $(
            impl From<$spec> for Spec {
                fn from(spec: $spec) -> Spec {
                    Spec::$kind(spec)
                }
            }
        )+

        $crate::resources::registry::kinds!(@spec_ofs [$($kind),+] $($kind => $spec),+);

        impl std::str::FromStr for Kind {
            type Err = $crate::resources::UnknownKind;

            fn from_str(name: &str) -> Result<Kind, Self::Err> {
                match name {
                    $(stringify!($kind) => Ok(Kind::$kind),)+
                    _ => Err($crate::resources::UnknownKind(name.to_owned())),
                }
            }
        }
    };
}

pub(crate) use kinds;

impl Kind {
    /// The names of every kind, sorted.
    pub fn names() -> Vec<&'static str> {
        Kind::all().into_iter().map(Kind::name).collect()
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Kinds sort by name, so that the order of resources does not depend on the
/// order in which kinds were added.
impl Ord for Kind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FromJson<'a>(&'a serde_json::Value);

    impl SpecVisitor for FromJson<'_> {
        type Output = Vec<Reference>;

        fn visit<S: KindSpec>(self) -> Self::Output {
            S::references_in(self.0)
        }
    }

    /// `references_in` (for specs that broke the schema) and `references`
    /// agree on every kind's examples, `root` and omitted fields included.
    #[test]
    fn references_read_from_json_are_those_of_the_typed_spec() {
        let desired = crate::manifest::load(&["examples".into()])
            .unwrap_or_else(|problems| panic!("{problems}"));
        for kind in Kind::all() {
            assert!(desired.of_kind(kind).count() > 0, "no {kind} in examples");
        }
        for resource in &desired.resources {
            let json = resource.spec.to_json();
            assert_eq!(
                resource.spec.kind().visit(FromJson(&json)),
                resource.spec.references(),
                "{}",
                resource.address
            );
        }
    }
}
