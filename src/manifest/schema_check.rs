//! Checks a document's tree against its kind's JSON Schema and reports every
//! violation with the field path, the position and a fix.
//!
//! It understands the subset of JSON Schema that schemars emits for our types:
//! `$ref` into `$defs`, `type` (one or several), `properties`, `required`,
//! `additionalProperties: false`, `const`, `enum`, `oneOf`/`anyOf`, `items`,
//! `uniqueItems`, `minimum`/`maximum`, `minLength`/`maxLength`, and the formats
//! `uuid` and `int*`/`uint*`. Other keywords (`pattern`, other formats) are for
//! editors; the Rust checks after this one cover them with better messages.

use super::diagnostic::{Diagnostic, Source};
use super::node::{Located, Node, Pos, join};
use super::suggest::{closest, code_list, did_you_mean};
use serde_json::Value;
use std::collections::HashMap;

/// `schema` with every `$ref` replaced by what it names, so that checking
/// a document never follows a pointer. A `$ref` met again below itself (a
/// recursive definition) is inlined once and then left for
/// [`Checker::resolve`]; `$defs` stay for it.
pub fn inline_refs(schema: &Value) -> Value {
    fn inline<'a>(value: &'a Value, root: &'a Value, within: &mut Vec<&'a str>) -> Value {
        let target = value
            .get("$ref")
            .and_then(Value::as_str)
            .filter(|target| !within.contains(target))
            .and_then(|target| Some((target, root.pointer(target.strip_prefix('#')?)?)));
        if let Some((name, target)) = target {
            within.push(name);
            let inlined = inline(target, root, within);
            within.pop();
            return inlined;
        }
        match value {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, field)| (key.clone(), inline(field, root, within)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| inline(item, root, within))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let mut inlined = inline(schema, schema, &mut Vec::new());
    if let (Value::Object(fields), Some(defs)) = (&mut inlined, schema.get("$defs")) {
        fields.entry("$defs").or_insert_with(|| defs.clone());
    }
    inlined
}

/// Every way `document` breaks `schema` (the whole document's schema of
/// `kind`, its `$ref`s inlined by [`inline_refs`]).
pub fn check(
    schema: &Value,
    document: &Located<Node>,
    source: Source<'_>,
    kind: &'static str,
) -> Vec<Diagnostic> {
    let mut checker = Checker {
        root: schema,
        source,
        kind,
        found: Vec::new(),
    };
    checker.value(schema, document, "", document.pos);
    checker.found
}

struct Checker<'a> {
    root: &'a Value,
    source: Source<'a>,
    kind: &'static str,
    found: Vec<Diagnostic>,
}

/// How deep `$ref`s may chain before the schema counts as broken.
const MAX_REF_CHAIN: usize = 16;

impl<'a> Checker<'a> {
    /// Follows `$ref`s to the schema that says something.
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..MAX_REF_CHAIN {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(found) = target
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
            else {
                break;
            };
            schema = found;
        }
        schema
    }

    fn report(&mut self, pos: Pos, path: &str, message: String, hint: Option<String>) {
        let diagnostic = Diagnostic::error(message)
            .at(self.source.at(pos))
            .field(path)
            .maybe_hint(hint);
        self.found.push(diagnostic);
    }

    /// `item` (at `path`, whose key is at `key_pos`) against `schema`.
    fn value(&mut self, schema: &'a Value, item: &Located<Node>, path: &str, key_pos: Pos) {
        let schema = self.resolve(schema);
        if let Some(choices) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            self.choice(choices, item, path, key_pos);
            return;
        }
        let at = item.pos_or_key(key_pos);
        if let Some(types) = schema.get("type")
            && !type_matches(types, &item.value)
            && !self.whole_out_of_range(schema, types, item)
        {
            let (message, hint) = self.type_mismatch(schema, types, item, path);
            self.report(at, path, message, hint);
            return;
        }
        if let Some(constant) = schema.get("const")
            && item.value.to_json() != *constant
        {
            let expected = scalar_text(constant);
            let message = format!(
                "`{}` must be `{expected}`, found {}",
                label(path),
                self.describe(item)
            );
            self.report(
                at,
                path,
                message,
                Some(format!("write `{}`", written(path, &expected))),
            );
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            self.one_of_values(allowed, item, path, at);
            return;
        }
        match &item.value {
            Node::String(text) => self.string(schema, text, path, at),
            Node::Int(_) | Node::Float(_) => self.number(schema, item, path, at),
            Node::Seq(items) => self.list(schema, items, path),
            Node::Map(entries) => self.mapping(schema, entries, path, key_pos),
            Node::Null | Node::Bool(_) => {}
        }
    }

    /// `oneOf`/`anyOf`: an enumeration of constants, or alternatives of which
    /// the one matching the value's type explains what is wrong.
    fn choice(&mut self, choices: &'a [Value], item: &Located<Node>, path: &str, key_pos: Pos) {
        let at = item.pos_or_key(key_pos);
        let constants: Option<Vec<Value>> = choices
            .iter()
            .map(|choice| self.resolve(choice).get("const").cloned())
            .collect();
        if let Some(constants) = constants {
            self.one_of_values(&constants, item, path, at);
            return;
        }
        let mut closest = None;
        for choice in choices {
            let mut attempt = Checker {
                root: self.root,
                source: self.source,
                kind: self.kind,
                found: Vec::new(),
            };
            attempt.value(choice, item, path, key_pos);
            if attempt.found.is_empty() {
                return;
            }
            let same_type = self
                .resolve(choice)
                .get("type")
                .is_some_and(|types| type_matches(types, &item.value));
            if same_type && closest.is_none() {
                closest = Some(attempt.found);
            }
        }
        if let Some(found) = closest {
            self.found.extend(found);
            return;
        }
        let types: Vec<Value> = choices
            .iter()
            .filter_map(|choice| self.resolve(choice).get("type").cloned())
            .flat_map(|types| match types {
                Value::Array(types) => types,
                single => vec![single],
            })
            .collect();
        let (message, hint) = self.type_mismatch(&Value::Null, &Value::Array(types), item, path);
        self.report(at, path, message, hint);
    }

    fn one_of_values(&mut self, allowed: &[Value], item: &Located<Node>, path: &str, at: Pos) {
        let value = item.value.to_json();
        if allowed.contains(&value) {
            return;
        }
        let names: Vec<String> = allowed.iter().map(scalar_text).collect();
        let message = format!(
            "`{}` must be one of {}, found {}",
            label(path),
            code_list(&names),
            self.describe(item)
        );
        let hint = match &item.value {
            Node::String(text) => did_you_mean(text, &names),
            _ => None,
        };
        self.report(at, path, message, hint);
    }

    fn type_mismatch(
        &self,
        schema: &Value,
        types: &Value,
        item: &Located<Node>,
        path: &str,
    ) -> (String, Option<String>) {
        let names: Vec<&str> = match types {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| *name != "null")
                .collect(),
            _ => Vec::new(),
        };
        let mut expected: Vec<&str> = names.iter().map(|name| type_phrase(name)).collect();
        expected.dedup();
        let expected = expected.join(" or ");
        let field = label(path);
        if let (Node::Null, ["object"]) = (&item.value, names.as_slice()) {
            let required = string_list(schema.get("required"));
            let hint =
                (!required.is_empty()).then(|| format!("add its fields: {}", code_list(&required)));
            return (format!("`{field}` is empty; it must be {expected}"), hint);
        }
        let message = format!(
            "`{field}` must be {expected}, found {}",
            self.describe(item)
        );
        if let Some(constant) = schema.get("const") {
            // The one value there is: quoting what was written is no fix.
            let hint = format!("write `{}`", written(path, &scalar_text(constant)));
            return (message, Some(hint));
        }
        let raw = self.raw_text(item);
        let hint = match (names.as_slice(), &item.value) {
            (["string"], Node::Int(_) | Node::Float(_) | Node::Bool(_)) => Some(format!(
                "quote it: `{}`",
                written(path, &format!("\"{raw}\""))
            )),
            (["integer"] | ["number"], Node::String(text))
                if text.trim().parse::<i128>().is_ok() =>
            {
                Some(format!(
                    "remove the quotes: `{}`",
                    written(path, text.trim())
                ))
            }
            (["integer"], Node::Float(_)) => Some("write a whole number".to_owned()),
            (["boolean"], Node::String(_)) => {
                Some(format!("write `{}` or `false`", written(path, "true")))
            }
            (["array"], Node::Null) => Some(format!("write `{}` for none", written(path, "[]"))),
            (["array"], Node::String(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_)) => {
                Some(format!(
                    "write a list, even of one item: `{}`, or one `- item` per line",
                    written(path, &format!("[{raw}]"))
                ))
            }
            _ => None,
        };
        (message, hint)
    }

    fn string(&mut self, schema: &Value, text: &str, path: &str, at: Pos) {
        let length = text.chars().count();
        let field = label(path);
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (length as u64) < min
        {
            let message = if length == 0 {
                format!("`{field}` must not be empty")
            } else {
                format!("`{field}` must be at least {min} characters long, found {length}")
            };
            self.report(at, path, message, None);
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && (length as u64) > max
        {
            let message =
                format!("`{field}` is {length} characters long; at most {max} are allowed");
            self.report(at, path, message, None);
        }
        if schema.get("format").and_then(Value::as_str) == Some("uuid") && !is_uuid(text) {
            let message = format!(
                "`{field}` must be a UUID such as `123e4567-e89b-12d3-a456-426614174000`, found \"{}\"",
                shorten(text)
            );
            let hint = uuid::Uuid::try_parse(text.trim()).ok().map(|uuid| {
                format!(
                    "write it in the hyphenated form: `{}`",
                    written(path, &uuid.to_string())
                )
            });
            self.report(at, path, message, hint);
        }
    }

    fn number(&mut self, schema: &Value, item: &Located<Node>, path: &str, at: Pos) {
        let value = match item.value {
            Node::Int(i) => Number::Int(i),
            Node::Float(f) => Number::Float(f),
            _ => return,
        };
        let (min, max) = bounds(schema);
        let field = label(path);
        let shown = self.raw_text(item);
        if let Some(min) = min
            && value.less_than(min)
        {
            self.report(
                at,
                path,
                format!("`{field}` must be at least {min}, found {shown}"),
                None,
            );
        }
        if let Some(max) = max
            && max.less_than(value)
        {
            self.report(
                at,
                path,
                format!("`{field}` must be at most {max}, found {shown}"),
                None,
            );
        }
    }

    /// A whole number too large (or too small) to be read as an integer,
    /// where an integer is expected: it is out of range (which `number`
    /// says), not "not a whole number".
    fn whole_out_of_range(&self, schema: &Value, types: &Value, item: &Located<Node>) -> bool {
        let Node::Float(value) = item.value else {
            return false;
        };
        let wants_integer = match types {
            Value::String(name) => name == "integer",
            Value::Array(names) => names.iter().any(|name| name == "integer"),
            _ => false,
        };
        let written_whole = self
            .raw_text(item)
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit());
        let (min, max) = bounds(schema);
        let value = Number::Float(value);
        wants_integer
            && written_whole
            && (min.is_some_and(|min| value.less_than(min))
                || max.is_some_and(|max| max.less_than(value)))
    }

    fn list(&mut self, schema: &'a Value, items: &[Located<Node>], path: &str) {
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter().enumerate() {
                self.value(item_schema, item, &format!("{path}[{index}]"), item.pos);
            }
        }
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            let mut first_at: HashMap<String, usize> = HashMap::new();
            for (index, item) in items.iter().enumerate() {
                let first = *first_at
                    .entry(item.value.to_json().to_string())
                    .or_insert(index);
                if first == index {
                    continue;
                }
                let message = format!("`{}` lists {} twice", label(path), self.describe(item));
                let diagnostic = Diagnostic::error(message)
                    .at(self.source.at(item.pos))
                    .field(format!("{path}[{index}]"))
                    .related(self.source.at(items[first].pos), "first listed here")
                    .hint("list each entry once");
                self.found.push(diagnostic);
            }
        }
    }

    fn mapping(
        &mut self,
        schema: &'a Value,
        entries: &[(Located<String>, Located<Node>)],
        path: &str,
        key_pos: Pos,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        let known = || -> Vec<&str> {
            properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default()
        };
        // A misspelt field is reported once, as unknown with its correction,
        // not again as the missing field it was meant to be.
        let mut meant = Vec::new();
        for (key, value) in entries {
            let field_path = join(path, &key.value);
            match properties.and_then(|p| p.get(&key.value)) {
                Some(property) => self.value(property, value, &field_path, key.pos),
                None if closed => {
                    let place = self.place(path);
                    let known = known();
                    let correction = closest(&key.value, known.iter().copied());
                    meant.extend(correction);
                    let hint = correction
                        .map(|name| format!("did you mean `{name}`?"))
                        .or_else(|| self.belongs_elsewhere(&key.value, path))
                        .unwrap_or_else(|| {
                            format!("the fields of {place} are {}", code_list(&known))
                        });
                    let message = format!("unknown field `{}` in {place}", key.value);
                    self.report(key.pos, &field_path, message, Some(hint));
                }
                None => {}
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if entries.iter().any(|(key, _)| key.value == name) || meant.contains(&name) {
                continue;
            }
            let property = properties
                .and_then(|p| p.get(name))
                .map(|p| self.resolve(p));
            let message = format!("missing field `{name}` in {}", self.place(path));
            let hint = property.map(|property| self.how_to_add(name, property));
            self.report(key_pos, &join(path, name), message, hint);
        }
    }

    /// "the EclTenant document", "EclTenant spec", "`metadata.lifecycle`".
    fn place(&self, path: &str) -> String {
        match path {
            "" => format!("the {} document", self.kind),
            "spec" => format!("{} spec", self.kind),
            other => format!("`{other}`"),
        }
    }

    /// A field written at the top, in `metadata` or in `spec` that belongs in another of them.
    fn belongs_elsewhere(&self, key: &str, path: &str) -> Option<String> {
        let sections = [
            ("", self.root),
            ("metadata", self.section("metadata")?),
            ("spec", self.section("spec")?),
        ];
        sections
            .iter()
            .filter(|(section, _)| *section != path)
            .find(|(_, schema)| schema.get("properties").and_then(|p| p.get(key)).is_some())
            .map(|(section, _)| match *section {
                "" => format!("`{key}` belongs at the top level of the document, not in `{path}`"),
                section => format!("`{key}` belongs under `{section}:`"),
            })
    }

    fn section(&self, name: &str) -> Option<&'a Value> {
        self.root
            .get("properties")?
            .get(name)
            .map(|schema| self.resolve(schema))
    }

    fn how_to_add(&self, name: &str, property: &Value) -> String {
        if let Some(constant) = property.get("const") {
            return format!("add `{name}: {}`", scalar_text(constant));
        }
        if let Some(allowed) = property.get("enum").and_then(Value::as_array) {
            let names: Vec<String> = allowed.iter().map(scalar_text).collect();
            return format!("add `{name}:` with one of {}", code_list(&names));
        }
        let required = string_list(property.get("required"));
        if !required.is_empty() {
            return format!("add `{name}:` with its fields {}", code_list(&required));
        }
        match property.get("description").and_then(Value::as_str) {
            Some(description) => format!("add `{name}:` — {}", first_sentence(description)),
            None => format!("add `{name}:`"),
        }
    }

    /// The scalar as written, or as read when it came from an alias.
    fn raw_text(&self, item: &Located<Node>) -> String {
        match (&item.value, item.raw(self.source.text)) {
            (Node::Int(_) | Node::Float(_) | Node::Bool(_), Some(raw)) => raw.to_owned(),
            (Node::Float(f), None) => format!("{f:?}"),
            (Node::Int(i), None) => i.to_string(),
            (Node::Bool(b), None) => b.to_string(),
            (Node::String(text), _) => text.clone(),
            _ => String::new(),
        }
    }

    /// "the number `9.0`", "the string \"abc\"", "a list".
    fn describe(&self, item: &Located<Node>) -> String {
        match &item.value {
            Node::Null => "nothing".to_owned(),
            Node::Bool(_) => format!("`{}`", self.raw_text(item)),
            Node::Int(_) | Node::Float(_) => format!("the number `{}`", self.raw_text(item)),
            Node::String(text) => format!("the string \"{}\"", shorten(text)),
            Node::Seq(_) => "a list".to_owned(),
            Node::Map(_) => "a mapping".to_owned(),
        }
    }
}

fn type_matches(types: &Value, node: &Node) -> bool {
    match types {
        Value::String(name) => type_accepts(name, node),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .any(|name| type_accepts(name, node)),
        _ => true,
    }
}

fn type_accepts(name: &str, node: &Node) -> bool {
    matches!(
        (name, node),
        ("null", Node::Null)
            | ("boolean", Node::Bool(_))
            | ("integer", Node::Int(_))
            | ("number", Node::Int(_) | Node::Float(_))
            | ("string", Node::String(_))
            | ("array", Node::Seq(_))
            | ("object", Node::Map(_))
    )
}

fn type_phrase(name: &str) -> &'static str {
    match name {
        "boolean" => "`true` or `false`",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "empty",
        _ => "something else",
    }
}

/// The last segment of a path, as the field's name in messages.
fn label(path: &str) -> &str {
    match path.rsplit('.').next() {
        Some("") | None => "document",
        Some(last) => last,
    }
}

/// How a value is written at `path`: `key: value`, or `- value` in a list.
fn written(path: &str, value: &str) -> String {
    let last = label(path);
    if last.ends_with(']') {
        format!("- {value}")
    } else {
        format!("{last}: {value}")
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn first_sentence(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = flat[..sentence_end(&flat)].trim_end_matches('.');
    let mut chars = sentence.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Where the first sentence of `text` ends: at the first `. ` outside
/// brackets, quotes and code, that does not end an abbreviation (`e.g.`).
fn sentence_end(text: &str) -> usize {
    const ABBREVIATIONS: [&str; 4] = ["e.g", "i.e", "etc", "cf"];
    let mut depth = 0usize;
    let mut quoted = false;
    for (at, c) in text.char_indices() {
        match c {
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            '`' | '"' => quoted = !quoted,
            '.' if depth == 0 && !quoted && text[at..].starts_with(". ") => {
                let word = text[..at].rsplit(' ').next().unwrap_or_default();
                if !ABBREVIATIONS.contains(&word.to_ascii_lowercase().as_str()) {
                    return at;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// Long texts are cut in messages.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// A UUID in the hyphenated form, either case.
fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn from_json(value: &Value) -> Option<Number> {
        value
            .as_i64()
            .map(|i| Number::Int(i.into()))
            .or_else(|| value.as_u64().map(|u| Number::Int(u.into())))
            .or_else(|| value.as_f64().map(Number::Float))
    }

    fn less_than(self, other: Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a < b,
            (Number::Int(a), Number::Float(b)) => (a as f64) < b,
            (Number::Float(a), Number::Int(b)) => a < b as f64,
            (Number::Float(a), Number::Float(b)) => a < b,
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// The range a number must be in: the schema's `minimum` / `maximum`, else
/// its integer format's.
fn bounds(schema: &Value) -> (Option<Number>, Option<Number>) {
    let (format_min, format_max) =
        integer_format_bounds(schema.get("format").and_then(Value::as_str));
    let min = schema
        .get("minimum")
        .and_then(Number::from_json)
        .or(format_min);
    let max = schema
        .get("maximum")
        .and_then(Number::from_json)
        .or(format_max);
    (min, max)
}

/// The range of schemars' integer formats (`uint32` for a `u32`, …).
fn integer_format_bounds(format: Option<&str>) -> (Option<Number>, Option<Number>) {
    let range = |min: i128, max: i128| (Some(Number::Int(min)), Some(Number::Int(max)));
    match format {
        Some("uint8") => range(0, u8::MAX.into()),
        Some("uint16") => range(0, u16::MAX.into()),
        Some("uint32" | "uint") => range(0, u32::MAX.into()),
        Some("uint64") => range(0, u64::MAX.into()),
        Some("int8") => range(i8::MIN.into(), i8::MAX.into()),
        Some("int16") => range(i16::MIN.into(), i16::MAX.into()),
        Some("int32" | "int") => range(i32::MIN.into(), i32::MAX.into()),
        Some("int64") => range(i64::MIN.into(), i64::MAX.into()),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::node::parse_documents;
    use crate::manifest::schema::KindSchemas;
    use crate::resources::Kind;
    use std::path::Path;

    const TENANT: &str = "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: prod\nspec:\n  region: jp1\n  tenantId: 0036a14ad8f4482ba0102a06c5bd0c8f\n";
    const LICENSE: &str = "apiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: backup\nspec:\n  tenant: prod\n  plan: 8f120957-b50d-445e-8dab-00b1eab5407d\n  standaloneKeys: 1\n  version: \"9.0\"\n";

    /// (field, line, column, message, hint) of every violation in `text`.
    fn violations(kind: Kind, text: &str) -> Vec<(String, u64, u64, String, Option<String>)> {
        let schemas = KindSchemas::generate();
        let document = &parse_documents(text).unwrap()[0];
        let source = Source {
            path: Path::new("m.yaml"),
            text,
        };
        check(
            &schemas.get(kind).unwrap().document,
            document,
            source,
            kind.name(),
        )
        .into_iter()
        .map(|d| {
            let location = d.location.unwrap();
            (
                d.field.unwrap_or_default(),
                location.line,
                location.column,
                d.message,
                d.hint,
            )
        })
        .collect()
    }

    #[test]
    fn valid_documents_pass() {
        assert_eq!(violations(Kind::EclTenant, TENANT), vec![]);
        assert_eq!(violations(Kind::ArcserveLicense, LICENSE), vec![]);
        let optional = format!(
            "{TENANT}  endpoint: ~\n  upgradeContact:\n    email: a@b.jp\n    companyName: X\n"
        );
        assert_eq!(violations(Kind::EclTenant, &optional), vec![]);
    }

    #[test]
    fn unknown_fields_point_at_the_key_with_a_correction() {
        let text = LICENSE.replace("standaloneKeys", "standaloneKey");
        let found = violations(Kind::ArcserveLicense, &text);
        assert_eq!(found.len(), 1, "{found:?}");
        let (field, line, column, message, hint) = &found[0];
        assert_eq!(
            (field.as_str(), *line, *column),
            ("spec.standaloneKey", 8, 3)
        );
        assert_eq!(
            message,
            "unknown field `standaloneKey` in ArcserveLicense spec"
        );
        assert_eq!(hint.as_deref(), Some("did you mean `standaloneKeys`?"));
    }

    #[test]
    fn unknown_fields_without_a_close_match_list_the_fields() {
        let text = TENANT.replace("  name: prod\n", "  name: prod\n  colour: red\n");
        let (_, _, _, _, hint) = &violations(Kind::EclTenant, &text)[0];
        assert_eq!(
            hint.as_deref(),
            Some("the fields of `metadata` are `dependsOn`, `lifecycle`, `name`")
        );
    }

    #[test]
    fn missing_fields_point_at_the_parent_key() {
        let text = TENANT.replace("  region: jp1\n", "");
        let found = violations(Kind::EclTenant, &text);
        let (field, line, column, message, hint) = &found[0];
        assert_eq!((field.as_str(), *line, *column), ("spec.region", 5, 1));
        assert_eq!(message, "missing field `region` in EclTenant spec");
        assert!(
            hint.as_deref()
                .unwrap()
                .starts_with("add `region:` with one of `jp1`"),
            "{hint:?}"
        );
    }

    #[test]
    fn enum_misses_list_the_values_and_suggest_the_closest() {
        let found = violations(Kind::EclTenant, &TENANT.replace("jp1", "JP1"));
        assert_eq!(found[0].4.as_deref(), Some("did you mean `jp1`?"));
        assert!(found[0].3.contains("`jp1`, `jp2`"), "{found:?}");
    }

    #[test]
    fn one_of_constants_is_an_enumeration() {
        let text = TENANT.replace(
            "  name: prod\n",
            "  name: prod\n  lifecycle:\n    deletionPolicy: orphan\n",
        );
        let found = violations(Kind::EclTenant, &text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].3,
            "`deletionPolicy` must be one of `Delete`, `Orphan`, found the string \"orphan\""
        );
        assert_eq!(found[0].4.as_deref(), Some("did you mean `Orphan`?"));
    }

    #[test]
    fn optional_objects_report_the_problem_inside() {
        let text = format!("{TENANT}  upgradeContact:\n    email: a@b.jp\n    company: X\n");
        let fields: Vec<String> = violations(Kind::EclTenant, &text)
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert_eq!(fields, ["spec.upgradeContact.company"]);
        let text = format!("{TENANT}  upgradeContact: a@b.jp\n");
        let found = violations(Kind::EclTenant, &text);
        assert_eq!(
            found[0].3,
            "`upgradeContact` must be a mapping, found the string \"a@b.jp\""
        );
    }

    #[test]
    fn numbers_for_strings_are_quoted_as_written() {
        let found = violations(Kind::ArcserveLicense, &LICENSE.replace("\"9.0\"", "10.0"));
        assert_eq!(
            found[0].3,
            "`version` must be a string, found the number `10.0`"
        );
        assert_eq!(found[0].4.as_deref(), Some("quote it: `version: \"10.0\"`"));
    }

    #[test]
    fn integers_are_checked_for_range_and_type() {
        let keys = |value: &str| {
            let text = LICENSE.replace("Keys: 1", &format!("Keys: {value}"));
            violations(Kind::ArcserveLicense, &text).remove(0)
        };
        assert_eq!(
            keys("-1").3,
            "`standaloneKeys` must be at least 0, found -1"
        );
        assert_eq!(
            keys("2147483648").3,
            "`standaloneKeys` must be at most 2147483647, found 2147483648"
        );
        assert_eq!(
            keys("\"1\"").4.as_deref(),
            Some("remove the quotes: `standaloneKeys: 1`")
        );
        assert_eq!(keys("1.5").4.as_deref(), Some("write a whole number"));
    }

    #[test]
    fn whole_numbers_beyond_any_integer_are_out_of_range() {
        let keys = |value: &str| {
            let text = LICENSE.replace("Keys: 1", &format!("Keys: {value}"));
            violations(Kind::ArcserveLicense, &text)
        };
        let huge = "9".repeat(41);
        let found = keys(&huge);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].3,
            format!("`standaloneKeys` must be at most 2147483647, found {huge}")
        );
        let found = keys(&format!("-{huge}"));
        assert_eq!(
            found[0].3,
            format!("`standaloneKeys` must be at least 0, found -{huge}")
        );
        assert_eq!(
            keys("1e50")[0].3,
            "`standaloneKeys` must be a whole number, found the number `1e50`"
        );
    }

    #[test]
    fn a_constant_of_the_wrong_type_is_given_its_value() {
        let found = violations(
            Kind::EclTenant,
            &TENANT.replace("apiVersion: entitle/v1", "apiVersion: 1"),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].4.as_deref(),
            Some("write `apiVersion: entitle/v1`")
        );
    }

    #[test]
    fn first_sentences_do_not_end_at_abbreviations_or_inside_brackets() {
        assert_eq!(
            first_sentence("A version (e.g. \"9.0\"). Raising it upgrades."),
            "a version (e.g. \"9.0\")"
        );
        assert_eq!(
            first_sentence("The product, e.g. `HULFT8 for Windows-Server`."),
            "the product, e.g. `HULFT8 for Windows-Server`"
        );
        assert_eq!(first_sentence("One. Two. Three."), "one");
        assert_eq!(
            first_sentence("Names (`a. b`) here. Next."),
            "names (`a. b`) here"
        );
    }

    #[test]
    fn uuids_must_be_hyphenated() {
        let text = LICENSE.replace(
            "8f120957-b50d-445e-8dab-00b1eab5407d",
            "8f120957b50d445e8dab00b1eab5407d",
        );
        let found = violations(Kind::ArcserveLicense, &text);
        assert_eq!(
            found[0].4.as_deref(),
            Some("write it in the hyphenated form: `plan: 8f120957-b50d-445e-8dab-00b1eab5407d`")
        );
    }

    #[test]
    fn repeated_list_items_point_at_both() {
        let text = format!(
            "{LICENSE}  keyTypes: [{0}, {0}]\n",
            "8f120957-b50d-445e-8dab-00b1eab5407d"
        );
        let schemas = KindSchemas::generate();
        let document = &parse_documents(&text).unwrap()[0];
        let source = Source {
            path: Path::new("m.yaml"),
            text: &text,
        };
        let found = check(
            &schemas.get(Kind::ArcserveLicense).unwrap().document,
            document,
            source,
            Kind::ArcserveLicense.name(),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field.as_deref(), Some("spec.keyTypes[1]"));
        assert_eq!(found[0].related[0].0.column, 14);
    }

    #[test]
    fn empty_sections_name_the_fields_to_add() {
        let text = "apiVersion: entitle/v1\nkind: EclTenant\nmetadata:\n  name: prod\nspec:\n";
        let found = violations(Kind::EclTenant, text);
        assert_eq!(found[0].3, "`spec` is empty; it must be a mapping");
        assert_eq!(
            found[0].4.as_deref(),
            Some("add its fields: `region`, `tenantId`")
        );
        assert_eq!((found[0].1, found[0].2), (5, 1));
    }

    #[test]
    fn lists_where_a_list_is_expected() {
        let text = format!("{LICENSE}  keyTypes:\n");
        let found = violations(Kind::ArcserveLicense, &text);
        assert_eq!(found[0].4.as_deref(), Some("write `keyTypes: []` for none"));
    }

    #[test]
    fn fields_in_the_wrong_section_are_pointed_to_the_right_one() {
        let text = TENANT.replace("  region: jp1\n", "  region: jp1\n  name: x\n");
        let found = violations(Kind::EclTenant, &text);
        assert_eq!(
            found[0].4.as_deref(),
            Some("`name` belongs under `metadata:`")
        );
    }

    #[test]
    fn recursive_definitions_are_inlined_once_and_still_checked() {
        let schema = serde_json::json!({
            "$defs": {"node": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"left": {"$ref": "#/$defs/node"}, "right": {"$ref": "#/$defs/node"}}
            }},
            "$ref": "#/$defs/node"
        });
        let inlined = inline_refs(&schema);
        assert_eq!(inlined["properties"]["left"]["$ref"], "#/$defs/node");
        assert!(inlined.to_string().len() < 4 * schema.to_string().len());
        let text = "left:\n  right:\n    left: {}\n    wrong: 1\n";
        let documents = crate::manifest::node::parse_documents(text).unwrap();
        let source = Source {
            path: std::path::Path::new("tree.yaml"),
            text,
        };
        let found = check(&inlined, &documents[0], source, "Tree");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field.as_deref(), Some("left.right.wrong"));
    }
}
