//! The registry of kinds: what every kind's spec provides, and the macro that
//! turns one line per kind into the [`Kind`](super::Kind) and [`Spec`](super::Spec) enums.
//!
//! The manifest loader is generic over kinds: it reaches a kind's Rust type
//! only through [`Kind::visit`](super::Kind::visit) and the [`KindSpec`] trait,
//! so adding a kind is a new file in `src/resources/` and one line in the
//! `kinds!` call in `src/resources/mod.rs`.

use super::{Kind, Spec};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

/// The spec of one kind of resource: its shape (serde + JSON Schema) and the
/// rules the schema cannot express.
pub trait KindSpec:
    Debug + Clone + PartialEq + Serialize + DeserializeOwned + JsonSchema + Into<Spec>
{
    /// The kind this spec belongs to.
    const KIND: Kind;

    /// Checks beyond the JSON Schema (formats, ranges of text, combinations).
    /// Runs only on a spec that passed the schema.
    fn check(&self) -> Vec<SpecProblem>;

    /// The other resources this spec names, each an edge in the dependency graph.
    fn references(&self) -> Vec<Reference>;
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
