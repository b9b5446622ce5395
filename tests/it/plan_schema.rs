//! The plan JSON against `schemas/plan.json`: the committed schema is the
//! one the types generate, real plans (`plan --format json`, a saved plan's
//! `plan`, `show --format json`) validate against it, and the README's
//! section on the format names what the schema names.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::rendering::{mixed_plan, redstor_plan};
use crate::support::*;

fn committed() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or_default()
}

#[test]
fn the_committed_plan_schema_is_current() {
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.json"),
    )
    .unwrap_or_default();
    assert_eq!(
        committed,
        entitle::manifest::schema_text(&entitle::plan::render::schema()),
        "schemas/plan.json differs from the types; run `entitle schema --out schemas/`"
    );
}

/// Where `value` breaks `schema` (within `root`), for the keywords
/// schemars writes here: `$ref` (with what sits beside it), `anyOf`,
/// `oneOf`, `type`, `const`, `enum`, `properties`, `required`,
/// `additionalProperties`, `items`, `minimum` and the `uuid` format.
/// (`pattern` is left to the Rust types, which wrote the value.)
fn violations(root: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let found = target.strip_prefix('#').and_then(|p| root.pointer(p));
        match found {
            Some(found) => violations(root, found, value, path, out),
            None => out.push(format!("{path}: no schema at {target}")),
        }
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(choices) = schema.get(keyword).and_then(Value::as_array) {
            let matching = choices
                .iter()
                .filter(|choice| {
                    let mut found = Vec::new();
                    violations(root, choice, value, path, &mut found);
                    found.is_empty()
                })
                .count();
            if matching == 0 || (exactly_one && matching > 1) {
                out.push(format!(
                    "{path}: {matching} of the {keyword} choices match {value}"
                ));
            }
        }
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !names.iter().any(|name| type_matches(name, value)) {
            out.push(format!("{path}: {value} is not of type {types}"));
            return;
        }
    }
    if let Some(constant) = schema.get("const").filter(|c| *c != value) {
        out.push(format!("{path}: {value} is not {constant}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && number < minimum
    {
        out.push(format!("{path}: {number} is below {minimum}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("uuid")
        && let Some(text) = value.as_str()
        && text.parse::<uuid::Uuid>().is_err()
    {
        out.push(format!("{path}: {text} is not a UUID"));
    }
    if let Some(items) = schema.get("items")
        && let Some(list) = value.as_array()
    {
        for (i, item) in list.iter().enumerate() {
            violations(root, items, item, &format!("{path}[{i}]"), out);
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap_or_default();
        if !object.contains_key(name) {
            out.push(format!("{path}: `{name}` is missing"));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (key, item) in object {
        let at = format!("{path}.{key}");
        match (
            properties.and_then(|p| p.get(key)),
            schema.get("additionalProperties"),
        ) {
            (Some(property), _) => violations(root, property, item, &at, out),
            (None, Some(Value::Bool(false))) => out.push(format!("{at}: not allowed")),
            (None, Some(extra)) if extra.is_object() => violations(root, extra, item, &at, out),
            (None, _) => {}
        }
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("the schema names a type this check does not know: {other}"),
    }
}

#[track_caller]
fn assert_valid(what: &str, value: &Value) {
    let schema = committed();
    let mut found = Vec::new();
    violations(&schema, &schema, value, "plan", &mut found);
    assert!(found.is_empty(), "{what}:\n{}\n{value:#}", found.join("\n"));
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// Every `op` a plan holds.
fn ops(plan: &Value) -> BTreeSet<String> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["operation"]["op"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn real_plans_validate_against_the_plan_schema() {
    let sim = TestSim::start();
    let mut seen = BTreeSet::new();
    for (name, make) in [
        ("licenses", mixed_plan as fn(&Project<'_>)),
        ("redstor", redstor_plan as fn(&Project<'_>)),
    ] {
        let project = Project::new(&sim);
        make(&project);
        let printed = json(&project.plan_as("json").expect(0).stdout);
        assert_valid(&format!("{name}: plan --format json"), &printed);
        project
            .run(&["plan", "manifests", "--out", "plan.json"])
            .expect(0);
        let file = json(&std::fs::read_to_string(project.dir.path().join("plan.json")).unwrap());
        assert_valid(&format!("{name}: the saved plan's plan"), &file["plan"]);
        let shown = json(
            &project
                .run(&["show", "plan.json", "--format", "json"])
                .expect(0)
                .stdout,
        );
        assert_valid(&format!("{name}: show --format json"), &shown);
        seen.extend(ops(&printed));
        project.apply_with(&["--allow-replace"]).expect(0);
        sim.control(reqwest::Method::POST, "reset", None);
    }
    // The plans cover the operations of both providers, and the state's own.
    for op in [
        "create-license",
        "replace-license",
        "delete-license",
        "bulk-upgrade",
        "forget",
        "create-company",
        "replace-company",
        "delete-company",
        "delete-subscription",
    ] {
        assert!(seen.contains(op), "{op} in {seen:?}");
    }
}

#[test]
fn the_check_refuses_a_plan_the_schema_does_not_describe() {
    let sim = TestSim::start();
    let project = Project::new(&sim);
    redstor_plan(&project);
    let plan = json(&project.plan_as("json").expect(0).stdout);
    let schema = committed();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut value = plan.clone();
        edit(&mut value);
        let mut found = Vec::new();
        violations(&schema, &schema, &value, "plan", &mut found);
        found
    };
    assert!(broken(&|_| {}).is_empty());
    assert!(!broken(&|v| v["actions"][0]["kind"] = "explode".into()).is_empty());
    assert!(!broken(&|v| v["actions"][0]["operation"]["op"] = "launch".into()).is_empty());
    assert!(
        !broken(&|v| {
            v["actions"][0].as_object_mut().unwrap().remove("reason");
        })
        .is_empty()
    );
    assert!(!broken(&|v| v["summary"]["create"] = (-1).into()).is_empty());
    assert!(!broken(&|v| v["format_version"] = "1".into()).is_empty());
}

/// The README's section on the plan JSON format.
fn readme_section() -> String {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme.find("## The plan JSON format").expect("the section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |at| at + 3);
    rest[..end].to_string()
}

/// The property names of a schema object (following its `$ref`).
fn properties(root: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => root.pointer(target.trim_start_matches('#')).unwrap(),
        None => schema,
    };
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Every `op` constant the schema allows.
fn schema_ops(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(op) = map
                .get("properties")
                .and_then(|p| p["op"]["const"].as_str())
            {
                out.insert(op.to_string());
            }
            map.values().for_each(|v| schema_ops(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| schema_ops(v, out)),
        _ => {}
    }
}

/// The strings an enumeration allows: its `enum`, or the `const` or `enum`
/// of each `oneOf` choice (schemars writes those when variants have docs).
fn constants(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |s: &Value| {
        let values = s["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(s.get("const"));
        out.extend(values.filter_map(|v| v.as_str().map(str::to_string)));
    };
    add(schema);
    schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .for_each(add);
    out
}

/// The backticked words of the README bullet that starts with `starts`.
fn bullet_words(section: &str, starts: &str) -> BTreeSet<String> {
    let at = section
        .find(starts)
        .unwrap_or_else(|| panic!("no bullet {starts}"));
    let bullet = &section[at..];
    let end = bullet[2..].find("\n- ").map_or(bullet.len(), |e| e + 2);
    bullet[..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_names_what_the_plan_schema_names() {
    let schema = committed();
    let section = readme_section();
    let defs = &schema["$defs"];
    // The example: its keys are the schema's, and the schema's are in it.
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .unwrap();
    let example = json(block);
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let parts = [
        ("the plan", keys(&example), properties(&schema, &schema)),
        (
            "an action",
            keys(&example["actions"][0]),
            properties(&schema, &defs["Action"]),
        ),
        (
            "a change",
            keys(&example["actions"][0]["changes"][0]),
            properties(&schema, &defs["Change"]),
        ),
        (
            "a deferred change",
            keys(&example["deferred"][0]),
            properties(&schema, &defs["Deferred"]),
        ),
        (
            "the summary",
            keys(&example["summary"]),
            properties(&schema, &defs["Summary"]),
        ),
    ];
    for (what, example, schema_names) in parts {
        for key in &example {
            assert!(
                schema_names.contains(key),
                "the README's {what} has `{key}`, the schema does not"
            );
        }
        for name in &schema_names {
            let named = example.contains(name) || section.contains(&format!("`{name}`"));
            assert!(
                named,
                "the schema's {what} has `{name}`, the README's section does not name it"
            );
        }
    }
    // The kinds and the operations, both ways.
    let kinds = constants(&defs["ActionKind"]);
    assert!(kinds.contains("bulk-upgrade"), "{kinds:?}");
    assert_eq!(
        bullet_words(&section, "- `kind`:"),
        kinds.iter().cloned().chain(["kind".to_string()]).collect()
    );
    let mut ops = BTreeSet::new();
    schema_ops(&schema, &mut ops);
    let listed: BTreeSet<String> = bullet_words(&section, "- `operation`:")
        .into_iter()
        .filter(|w| w.contains('-') || ops.contains(w))
        .filter(|w| !w.starts_with("--"))
        .collect();
    assert_eq!(listed, ops);
}
