//! Resource addresses: `Kind/name`, the identity of a resource across
//! manifests, state and plans.

use crate::resources::Kind;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The address of a resource: its kind and its name, written `Kind/name`.
/// Addresses order by kind name, then by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }
}

/// Addresses written as text in unit tests (`"ArcserveLicense/a".into()`).
#[cfg(test)]
impl From<&str> for Address {
    fn from(text: &str) -> Self {
        text.parse().expect("a valid address in a test")
    }
}

#[cfg(test)]
impl From<String> for Address {
    fn from(text: String) -> Self {
        Address::from(text.as_str())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("`{0}` is not an address: expected `Kind/name`")]
    NoSlash(String),
    #[error("`{text}` is not an address: unknown kind `{kind}`")]
    UnknownKind { text: String, kind: String },
    #[error("`{0}` is not an address: the name after `/` is empty")]
    EmptyName(String),
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, name) = text
            .split_once('/')
            .ok_or_else(|| AddressError::NoSlash(text.to_owned()))?;
        let kind = kind
            .parse::<Kind>()
            .map_err(|_| AddressError::UnknownKind {
                text: text.to_owned(),
                kind: kind.to_owned(),
            })?;
        if name.is_empty() {
            return Err(AddressError::EmptyName(text.to_owned()));
        }
        Ok(Address::new(kind, name))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Address {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "The address of another resource: `Kind/name`, e.g. `EclTenant/prod-jp1`.",
            "pattern": "^[A-Za-z]+/.+$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let address: Address = "ArcserveLicense/backup-prod".parse().unwrap();
        assert_eq!(address, Address::new(Kind::ArcserveLicense, "backup-prod"));
        assert_eq!(address.to_string(), "ArcserveLicense/backup-prod");
    }

    #[test]
    fn names_may_not_be_empty_but_kinds_must_be_known() {
        assert!(matches!(
            "EclTenant".parse::<Address>(),
            Err(AddressError::NoSlash(_))
        ));
        assert!(matches!(
            "EclTenant/".parse::<Address>(),
            Err(AddressError::EmptyName(_))
        ));
        assert!(matches!(
            "Tenant/x".parse::<Address>(),
            Err(AddressError::UnknownKind { .. })
        ));
    }

    #[test]
    fn serializes_as_its_text() {
        let address = Address::new(Kind::EclTenant, "prod");
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(json, "\"EclTenant/prod\"");
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
    }

    #[test]
    fn orders_by_kind_name_then_name() {
        let mut addresses = [
            Address::new(Kind::EclTenant, "a"),
            Address::new(Kind::ArcserveLicense, "b"),
            Address::new(Kind::ArcserveLicense, "a"),
        ];
        addresses.sort();
        let text: Vec<_> = addresses.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["ArcserveLicense/a", "ArcserveLicense/b", "EclTenant/a"]
        );
    }
}
