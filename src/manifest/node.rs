//! The span-carrying YAML tree: every value and every mapping key keeps the
//! line and column it was written at, so that any later check can point at it.
//!
//! Plain YAML, which manifests are written in, is built straight from the
//! parser's events ([`plain`]); anything else (tags, anchors, merge keys,
//! scalars of uncertain type, errors) goes through serde-saphyr with a
//! [`serde_saphyr::Budget`] (against alias bombs and oversized inputs),
//! into the same tree. Duplicate mapping keys are passed through
//! to the tree, so that they are reported with both positions, by
//! [`Located::duplicate_keys`], along with every other problem in the file.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, MessageFormatter, Spanned};
use std::collections::HashMap;
use std::fmt;

mod plain;

/// A position in a source text: 1-based line and column, and the byte range
/// of the node's own text (absent when the node came from an alias).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
    pub bytes: Option<(usize, usize)>,
}

impl Pos {
    fn of(spanned_at: &Location, defined_at: &Location) -> Self {
        let span = spanned_at.span();
        let written_here =
            spanned_at.line() == defined_at.line() && spanned_at.column() == defined_at.column();
        let bytes = match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) if written_here => {
                usize::try_from(offset).ok().zip(usize::try_from(len).ok())
            }
            _ => None,
        };
        Pos {
            line: spanned_at.line(),
            column: spanned_at.column(),
            bytes,
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Located<T> {
    fn from_spanned(spanned: Spanned<T>) -> Self {
        let pos = Pos::of(&spanned.referenced, &spanned.defined);
        Located {
            value: spanned.value,
            pos,
        }
    }
}

/// A YAML value. Mapping keys are text (scalar keys are read as written).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<Located<Node>>),
    Map(Vec<(Located<String>, Located<Node>)>),
}

/// Why a text could not be read into trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

/// Limits that keep a hostile or accidental input from eating time or memory.
/// Real manifests stay far below them: a file holds at most 4 MiB, which is
/// about 20,000 licenses; these bound what such a file can expand to.
const MAX_NODES: usize = 1_000_000;
const MAX_DEPTH: usize = 32;
const MAX_DOCUMENTS: usize = 50_000;
const MAX_ALIASES: usize = 1_000;
const MAX_ALIAS_EXPANSION: usize = 20_000;
const LIMITS_HINT: &str = "manifests are small; these limits protect against inputs that \
    expand without end, such as alias bombs (\"billion laughs\")";

/// The limits serde-saphyr reads with; the plain reading stays inside them.
fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 2 * MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_nodes = MAX_NODES;
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_recorded_anchor_events = MAX_ALIAS_EXPANSION;
    budget
}

fn parse_options() -> serde_saphyr::Options {
    let budget = Some(budget());
    let alias_limits = serde_saphyr::alias_limits! {
        max_total_replayed_events: MAX_ALIAS_EXPANSION,
        max_replay_stack_depth: 16,
    };
    serde_saphyr::options! {
        budget: budget,
        alias_limits: alias_limits,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        with_snippet: false,
    }
}

/// Every document of a YAML stream. Empty documents (and a text with only
/// comments) yield nothing.
///
/// Plain YAML, which manifests are, is built straight from the parser's
/// events ([`plain`]); the rest, and every error, is read by serde-saphyr
/// into the same tree.
pub fn parse_documents(text: &str) -> Result<Vec<Located<Node>>, ParseFailure> {
    match plain::documents(text) {
        Some(documents) => Ok(documents),
        None => parse_documents_fully(text),
    }
}

/// Every document of a YAML stream, read by serde-saphyr.
fn parse_documents_fully(text: &str) -> Result<Vec<Located<Node>>, ParseFailure> {
    serde_saphyr::from_multiple_with_options::<Spanned<Node>>(text, parse_options())
        .map(|documents| documents.into_iter().map(Located::from_spanned).collect())
        .map_err(|error| ParseFailure::from_yaml_error(&error))
}

impl ParseFailure {
    fn from_yaml_error(error: &serde_saphyr::Error) -> Self {
        use serde_saphyr::Error;
        let mut error = error;
        while let Error::AliasError { error: inner, .. } | Error::WithSnippet { error: inner, .. } =
            error
        {
            error = inner;
        }
        let pos = error
            .location()
            .filter(|location| location.line() > 0)
            .map(|location| Pos {
                line: location.line(),
                column: location.column(),
                bytes: None,
            });
        let refused = |what: String| ParseFailure {
            pos,
            message: format!("refused to read this YAML: {what}"),
            hint: Some(LIMITS_HINT.to_owned()),
        };
        match error {
            Error::Budget { breach, .. } => refused(budget_breach_text(breach)),
            Error::AliasReplayLimitExceeded { .. }
            | Error::AliasExpansionLimitExceeded { .. }
            | Error::AliasReplayStackDepthExceeded { .. } => refused(alias_expansion_text()),
            _ => {
                let text: String = serde_saphyr::DefaultMessageFormatter
                    .format_message(error)
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let hint = text.to_lowercase().contains("tab").then(|| {
                    "indent with spaces: YAML does not allow tabs for indentation".to_owned()
                });
                ParseFailure {
                    pos,
                    message: format!("invalid YAML: {text}"),
                    hint,
                }
            }
        }
    }
}

fn alias_expansion_text() -> String {
    format!("its aliases (`*name`) expand to more than {MAX_ALIAS_EXPANSION} values")
}

fn budget_breach_text(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach;
    match breach {
        BudgetBreach::Events { .. } | BudgetBreach::Nodes { .. } => {
            format!("it has more than {MAX_NODES} values")
        }
        BudgetBreach::Depth { .. } => format!("it is nested more than {MAX_DEPTH} levels deep"),
        BudgetBreach::Documents { .. } => format!("it has more than {MAX_DOCUMENTS} documents"),
        BudgetBreach::Aliases { .. } => format!("it has more than {MAX_ALIASES} aliases (`*name`)"),
        BudgetBreach::Anchors { .. } => format!("it has more than {MAX_ALIASES} anchors (`&name`)"),
        BudgetBreach::ScalarBytes { .. } => "its text values are too long".to_owned(),
        BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. }
        | BudgetBreach::AliasAnchorRatio { .. } => alias_expansion_text(),
        _ => "it exceeds the parser's limits".to_owned(),
    }
}

impl Located<Node> {
    /// The node at a field path such as `spec.upgradeContact.email` or
    /// `spec.keyTypes[2]` (the first entry, when a key is written twice).
    pub fn find(&self, path: &str) -> Option<&Located<Node>> {
        let mut node = self;
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (key, indexes) = match segment.find('[') {
                Some(at) => segment.split_at(at),
                None => (segment, ""),
            };
            if !key.is_empty() {
                node = node.get(key)?;
            }
            for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
                let Node::Seq(items) = &node.value else {
                    return None;
                };
                node = items.get(index.parse::<usize>().ok()?)?;
            }
        }
        Some(node)
    }

    /// The value of `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Located<Node>> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key and value of `key`, when this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<(&Located<String>, &Located<Node>)> {
        match &self.value {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Where to point at this value: at it, or at its key (at `key_pos`)
    /// when the value is empty.
    pub fn pos_or_key(&self, key_pos: Pos) -> Pos {
        match self.value {
            Node::Null => key_pos,
            _ => self.pos,
        }
    }

    /// The text as written in the source, for scalars that were not aliases.
    pub fn raw<'t>(&self, text: &'t str) -> Option<&'t str> {
        let (offset, len) = self.pos.bytes?;
        text.get(offset..offset.checked_add(len)?)
    }

    /// Every key written twice in the same mapping, anywhere below this node:
    /// `(path of the mapping, first key, repeated key)`.
    pub fn duplicate_keys(&self) -> Vec<(String, &Located<String>, &Located<String>)> {
        let mut found = Vec::new();
        self.collect_duplicate_keys(&String::new, &mut found);
        found
    }

    /// Paths are built only on the way to a mapping that has a duplicate:
    /// most documents have none, and then nothing is allocated.
    fn collect_duplicate_keys<'a>(
        &'a self,
        path: &dyn Fn() -> String,
        found: &mut Vec<(String, &'a Located<String>, &'a Located<String>)>,
    ) {
        match &self.value {
            Node::Map(entries) => {
                for ((key, value), earlier) in entries.iter().zip(earlier_writings(entries)) {
                    if let Some(first) = earlier {
                        found.push((path(), first, key));
                    }
                    value.collect_duplicate_keys(&|| join(&path(), &key.value), found);
                }
            }
            Node::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    item.collect_duplicate_keys(&|| format!("{}[{index}]", path()), found);
                }
            }
            _ => {}
        }
    }
}

/// For each entry of a mapping, the earlier writing of its key, if any.
/// Small mappings (every real one) are scanned; large ones hashed.
fn earlier_writings(entries: &[(Located<String>, Located<Node>)]) -> Vec<Option<&Located<String>>> {
    const SCANNED: usize = 16;
    if entries.len() <= SCANNED {
        return entries
            .iter()
            .enumerate()
            .map(|(at, (key, _))| {
                let (first, _) = entries[..at]
                    .iter()
                    .find(|(first, _)| first.value == key.value)?;
                Some(first)
            })
            .collect();
    }
    let mut first: HashMap<&str, &Located<String>> = HashMap::new();
    entries
        .iter()
        .map(|(key, _)| {
            let first = *first.entry(&key.value).or_insert(key);
            (!std::ptr::eq(first, key)).then_some(first)
        })
        .collect()
}

/// `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Node {
    /// The same value as JSON, for typed deserialization. Integers beyond 64
    /// bits and non-finite floats, which no field accepts, become floats and nulls.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(i), _) => Value::from(i),
                (_, Ok(u)) => Value::from(u),
                _ => Value::from(*i as f64),
            },
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::String(s) => Value::String(s.clone()),
            Node::Seq(items) => {
                Value::Array(items.iter().map(|item| item.value.to_json()).collect())
            }
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.value.clone(), value.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text of a scalar used as a mapping key.
    fn into_key_text(self) -> Option<String> {
        match self {
            Node::Null => Some(String::new()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::String(s) => Some(s),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(i128::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::String(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        // A hint from the input is not trusted for more than a little.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(Located::from_spanned(item));
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let key = Located::from_spanned(key);
            let Some(text) = key.value.into_key_text() else {
                return Err(de::Error::custom(
                    "a mapping key must be a plain word such as `name`, not a list or a mapping",
                ));
            };
            let value = Located::from_spanned(map.next_value::<Spanned<Node>>()?);
            entries.push((
                Located {
                    value: text,
                    pos: key.pos,
                },
                value,
            ));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &Located<Node>) -> (u64, u64) {
        (node.pos.line, node.pos.column)
    }

    #[test]
    fn keys_and_values_keep_their_positions() {
        let text = "a: 1\nb:\n  c: [x, 9.0]\n  d: \"q\"\n";
        let docs = parse_documents(text).unwrap();
        let doc = &docs[0];
        let (key, value) = doc.entry("a").unwrap();
        assert_eq!((key.pos.line, key.pos.column), (1, 1));
        assert_eq!(at(value), (1, 4));
        let (key_c, _) = doc.get("b").unwrap().entry("c").unwrap();
        assert_eq!((key_c.pos.line, key_c.pos.column), (3, 3));
        let float = doc.find("b.c[1]").unwrap();
        assert_eq!(float.value, Node::Float(9.0));
        assert_eq!(at(float), (3, 10));
        assert_eq!(float.raw(text), Some("9.0"));
        assert_eq!(doc.find("b.d").unwrap().raw(text), Some("\"q\""));
    }

    #[test]
    fn documents_positions_count_from_the_start_of_the_file() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n# only a comment\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(at(docs[1].get("b").unwrap()), (3, 4));
    }

    #[test]
    fn empty_and_comment_only_texts_have_no_documents() {
        assert_eq!(parse_documents("").unwrap(), vec![]);
        assert_eq!(parse_documents("# nothing\n\n").unwrap(), vec![]);
        assert_eq!(parse_documents("---\n---\n").unwrap(), vec![]);
    }

    #[test]
    fn duplicate_keys_are_kept_and_found_with_both_positions() {
        let docs = parse_documents("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").unwrap();
        let found: Vec<_> = docs[0]
            .duplicate_keys()
            .into_iter()
            .map(|(path, first, second)| (path, first.pos.line, second.pos.line))
            .collect();
        assert_eq!(found, [("b".to_owned(), 3, 4), (String::new(), 1, 5)]);
    }

    #[test]
    fn duplicate_keys_of_large_mappings_are_found_in_order() {
        let mut text: String = (0..20).map(|k| format!("k{k}: {k}\n")).collect();
        text.push_str("k3: again\nk7: again\n");
        let docs = parse_documents(&text).unwrap();
        let found: Vec<_> = docs[0]
            .duplicate_keys()
            .into_iter()
            .map(|(path, first, second)| (path, first.pos.line, second.pos.line))
            .collect();
        assert_eq!(found, [(String::new(), 4, 21), (String::new(), 8, 22)]);
    }

    #[test]
    fn aliases_point_at_the_alias_and_have_no_raw_text() {
        let text = "a: &x 9.0\nb: *x\n";
        let doc = &parse_documents(text).unwrap()[0];
        let b = doc.get("b").unwrap();
        assert_eq!(at(b), (2, 4));
        assert_eq!(b.raw(text), None);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let failure = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(failure.pos.is_some(), "{failure:?}");
        assert!(failure.message.starts_with("invalid YAML: "), "{failure:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = level - 1;
            let refs = vec![format!("*a{prev}"); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        let failure = parse_documents(&text).unwrap_err();
        assert!(failure.message.starts_with("refused"), "{failure:?}");
    }

    #[test]
    fn json_conversion_keeps_scalars() {
        let doc = &parse_documents("n: ~\nb: true\ni: -3\nf: 1.5\ns: x\nl: [1]\n").unwrap()[0];
        assert_eq!(
            doc.value.to_json(),
            serde_json::json!({"n": null, "b": true, "i": -3, "f": 1.5, "s": "x", "l": [1]})
        );
    }

    #[test]
    fn yaml_1_1_booleans_stay_text() {
        let doc = &parse_documents("a: yes\nb: no\n").unwrap()[0];
        assert_eq!(doc.get("a").unwrap().value, Node::String("yes".into()));
    }

    #[test]
    fn find_walks_keys_and_indexes() {
        let doc = &parse_documents("a:\n  b: [x, {c: y}]\n").unwrap()[0];
        assert_eq!(
            doc.find("a.b[1].c").unwrap().value,
            Node::String("y".into())
        );
        assert!(doc.find("a.b[2]").is_none());
        assert!(doc.find("a.z").is_none());
        assert_eq!(doc.find("").unwrap(), doc);
    }
}
