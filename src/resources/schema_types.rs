//! JSON Schema stand-ins for foreign types that schemars does not describe
//! with the features this crate enables.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// Schema of a [`uuid::Uuid`]: a string in the hyphenated form.
/// Use as `#[schemars(with = "UuidSchema")]`.
pub struct UuidSchema;

impl JsonSchema for UuidSchema {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Uuid".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "uuid"
        })
    }
}
