//! The tree built straight from the YAML parser's events, for the plain
//! YAML manifests are written in: mappings, lists, quoted and block text,
//! and plain scalars whose type is certain (`null`, `true`, `12`, `-3`,
//! `9.0`, words).
//!
//! It reads the same parser serde-saphyr reads (its `granit_parser`) and
//! gives the same tree, values and positions, without serde-saphyr's
//! per-node span machinery. Anything outside that plain subset is left to
//! [`super::parse_documents`]'s full reading: tags, anchors and aliases,
//! merge keys, a list or mapping as a key, scalars whose type would need
//! YAML's finer rules (`0x1F`, `+1`, `1e5`, `.inf`, `007`), a document that
//! is a lone scalar, anything near the limits, and every syntax error.
//! `None` means "read it the full way", never "the text is wrong".

use serde_saphyr::Budget;
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use super::{Located, MAX_DEPTH, MAX_DOCUMENTS, MAX_NODES, Node, Pos, budget};

/// The documents of `text`, when it is plain YAML (see the module's doc).
pub(super) fn documents(text: &str) -> Option<Vec<Located<Node>>> {
    let budget = budget();
    // Its text values cannot add up to more than the text itself.
    if text.len() >= budget.max_total_scalar_bytes / 2 {
        return None;
    }
    let mut tree = Tree::default();
    for next in Parser::new_from_str_with_options(text, parser_options(&budget)) {
        let (event, span) = next.ok()?;
        tree.take(event, &span)?;
    }
    tree.open.is_empty().then_some(tree.documents)
}

/// The parser's own limits as serde-saphyr sets them from `budget`, so
/// that both read the same texts.
fn parser_options(budget: &Budget) -> Options {
    let mut options = Options::default();
    options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    options.flow_nesting_limit = budget.flow_nesting_limit;
    options.block_nesting_limit = options
        .block_nesting_limit
        .max(budget.max_depth.saturating_add(1));
    options
}

/// Below these, the full reading would not refuse the text either: the
/// plain reading stops well before the limits it enforces.
const PLAIN_DEPTH: usize = MAX_DEPTH / 2;
const PLAIN_NODES: usize = MAX_NODES / 2;
const PLAIN_DOCUMENTS: usize = MAX_DOCUMENTS / 2;

#[derive(Default)]
struct Tree {
    documents: Vec<Located<Node>>,
    /// The lists and mappings being read, outermost first.
    open: Vec<Open>,
    nodes: usize,
    document_starts: usize,
}

enum Open {
    Seq(Pos, Vec<Located<Node>>),
    /// A mapping, and the key read whose value comes next.
    Map(
        Pos,
        Vec<(Located<String>, Located<Node>)>,
        Option<Located<String>>,
    ),
}

impl Tree {
    /// Takes one event; `None` leaves the text to the full reading.
    fn take(&mut self, event: Event<'_>, span: &Span) -> Option<()> {
        self.nodes += 1;
        if self.nodes > PLAIN_NODES {
            return None;
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Some(()),
            Event::DocumentStart(..) => {
                self.document_starts += 1;
                (self.document_starts <= PLAIN_DOCUMENTS).then_some(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                let value = match style {
                    ScalarStyle::Plain => plain_scalar(&text)?,
                    ScalarStyle::SingleQuoted
                    | ScalarStyle::DoubleQuoted
                    | ScalarStyle::Literal
                    | ScalarStyle::Folded => Node::String(text.into_owned()),
                };
                self.add(Located {
                    value,
                    pos: pos(span),
                })
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.open_with(anchor, tag.is_some(), Open::Seq(pos(span), Vec::new()))
            }
            Event::MappingStart(_, anchor, tag) => self.open_with(
                anchor,
                tag.is_some(),
                Open::Map(pos(span), Vec::new(), None),
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.open.pop()? {
                    Open::Seq(pos, items) => Located {
                        value: Node::Seq(items),
                        pos,
                    },
                    Open::Map(pos, entries, None) => Located {
                        value: Node::Map(entries),
                        pos,
                    },
                    Open::Map(_, _, Some(_)) => return None,
                };
                self.add(node)
            }
            // Aliases, anchors, and whatever a later parser adds.
            _ => None,
        }
    }

    fn open_with(&mut self, anchor: usize, tagged: bool, open: Open) -> Option<()> {
        if anchor != 0 || tagged || self.open.len() >= PLAIN_DEPTH {
            return None;
        }
        self.open.push(open);
        Some(())
    }

    /// Puts a finished node where it belongs: a document, a list item, a
    /// key, or a key's value.
    fn add(&mut self, node: Located<Node>) -> Option<()> {
        match self.open.last_mut() {
            None => match node.value {
                // An empty document, as the full reading skips it.
                Node::Null => Some(()),
                Node::Seq(_) | Node::Map(_) => {
                    self.documents.push(node);
                    Some(())
                }
                Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::String(_) => None,
            },
            Some(Open::Seq(_, items)) => {
                items.push(node);
                Some(())
            }
            Some(Open::Map(_, entries, key)) => {
                match key.take() {
                    Some(key) => entries.push((key, node)),
                    None => *key = Some(plain_key(node)?),
                }
                Some(())
            }
        }
    }
}

/// A key's text, unless it is a list, a mapping or a merge key.
fn plain_key(node: Located<Node>) -> Option<Located<String>> {
    let text = node.value.into_key_text()?;
    (text != "<<").then_some(Located {
        value: text,
        pos: node.pos,
    })
}

/// The position serde-saphyr gives a node read from `span`: 1-based line
/// and column, and the bytes it spans.
fn pos(span: &Span) -> Pos {
    let bytes = span
        .start
        .byte_offset()
        .zip(span.end.byte_offset())
        .map(|(start, end)| (start, end.saturating_sub(start)));
    Pos {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
        bytes,
    }
}

/// The value of a plain (unquoted) scalar, when its type is certain
/// without YAML's finer rules: null and the YAML 1.2 booleans, decimal
/// integers and decimals without a leading zero, words, and text that
/// starts with a digit but has a character no number has (`2zone Plan`).
/// `None` for the rest (other numbers, and text shaped like one).
fn plain_scalar(text: &str) -> Option<Node> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Node::Null),
        "true" | "True" | "TRUE" => return Some(Node::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Node::Bool(false)),
        _ => {}
    }
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Some(Node::String(text.to_owned()));
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // At most 18 digits: every such integer fits in an i64.
    let whole_ok = digits(whole) && (whole == "0" || !whole.starts_with('0')) && whole.len() <= 18;
    match fraction {
        None if whole_ok => text.parse::<i64>().ok().map(|i| Node::Int(i.into())),
        Some(fraction) if whole_ok && digits(fraction) => text.parse::<f64>().ok().map(Node::Float),
        _ if unsigned.starts_with(|c: char| c.is_ascii_digit()) && !number_shaped(text) => {
            Some(Node::String(text.to_owned()))
        }
        _ => None,
    }
}

/// Whether `text` could be some YAML number: a radix prefix (`0x1F`,
/// `0o17`, `0b101`), or only what decimals are written with (`1_000`,
/// `-1.5e+3`). A UUID such as `7f5a3c1e-…` is not.
fn number_shaped(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let radix = ["0x", "0X", "0o", "0O", "0b", "0B"]
        .iter()
        .any(|prefix| unsigned.starts_with(prefix));
    radix
        || unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE+-._".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::super::parse_documents_fully;
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    /// Whether the plain reading took `text`; when it did, its tree must be
    /// the full reading's, values and positions.
    fn read_plainly(text: &str) -> bool {
        let Some(plain) = documents(text) else {
            return false;
        };
        assert_eq!(Ok(plain), parse_documents_fully(text), "text:\n{text}");
        true
    }

    fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                yaml_files(&path, found);
            } else if kind.is_file()
                && path
                    .extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                found.push(path);
            }
        }
    }

    fn files_under(dir: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        yaml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut found);
        assert!(!found.is_empty(), "no YAML under {dir}");
        found
    }

    #[test]
    fn every_example_is_read_plainly_as_the_full_reading_reads_it() {
        let manifests = files_under("examples")
            .into_iter()
            .filter(|file| !file.components().any(|part| part.as_os_str() == "ci"));
        for file in manifests {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                read_plainly(&text),
                "{} was not read plainly",
                file.display()
            );
        }
    }

    /// The test inputs, the hostile ones included: whatever the plain
    /// reading takes, it reads as the full reading does.
    #[test]
    fn every_test_input_it_takes_is_read_as_the_full_reading_reads_it() {
        let (mut taken, mut left) = (0, 0);
        for file in files_under("tests") {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            if read_plainly(&text) {
                taken += 1;
            } else {
                left += 1;
            }
        }
        assert!(taken > 100 && left > 10, "taken {taken}, left {left}");
    }

    #[test]
    fn scalars_of_certain_type_are_read_plainly() {
        for scalar in [
            "",
            "~",
            "null",
            "NULL",
            "true",
            "False",
            "0",
            "12",
            "-3",
            "-0",
            "9.0",
            "0.25",
            "-1.50",
            "999999999999999999",
            "FastDNS",
            "2zone Plan",
            "a@b.co.jp",
            "yes",
            "no",
            "inf",
            "nan",
            "on",
            "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b",
            "12:30",
            "'0x1F'",
            "\"9.0\"",
            "'~'",
            "\"\"",
            "|\n  text\n",
            ">\n  a\n  b\n",
        ] {
            assert!(read_plainly(&format!("k: {scalar}\n")), "{scalar:?}");
        }
    }

    #[test]
    fn what_needs_yaml_s_finer_rules_is_left_to_the_full_reading() {
        for text in [
            "k: 0x1F\n",
            "k: 0o17\n",
            "k: +1\n",
            "k: 1e5\n",
            "k: .inf\n",
            "k: -.nan\n",
            "k: 007\n",
            "k: 1_000\n",
            "k: 9999999999999999999\n",
            "k: 2026-11-30\n",
            "k: -\n",
            "k: !!str 12\n",
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nk:\n  <<: *b\n",
            "<<: {x: 1}\n",
            "? [a]\n: 1\n",
            "just text\n",
            "12\n",
            "a: [1, 2\n",
            "a:\n\t- 1\n",
        ] {
            assert!(!read_plainly(text), "{text:?}");
        }
    }

    #[test]
    fn positions_are_the_full_reading_s_in_every_layout() {
        for text in [
            "a: 1\nb:\n  c: [x, 9.0]\n  d: \"q\"\n",
            "---\na: 1\n---\n---\nb: {c: [1, {d: e}], f: ''}\n...\n",
            "- a\n- - b\n  - c\n- k: v\n  l:\n    - 1\n",
            "a:\nb: ~\nc:\n  - \nd: |\n  x\n  y\ne: >-\n  z\n",
            "\u{feff}a: 1\r\nb: 2\r\n",
            "# only\n# comments\n",
            "a: 1 # trailing\n\n\nb:    spaced   \n",
            "k: 日本語\nl: \"é\"\nm: [ü, 1]\n",
            "a: 1\na: 2\n",
            "\"quoted key\": 1\n'single': 2\n3: three\ntrue: t\n~: n\n",
        ] {
            assert!(read_plainly(text), "{text:?}");
        }
    }

    /// Scalars the plain reading takes.
    const PLAIN: [&str; 17] = [
        "",
        "~",
        "null",
        "true",
        "FALSE",
        "0",
        "7",
        "-42",
        "3.5",
        "-0.0",
        "x",
        "a b",
        "é",
        "'q'",
        "\"d\\n\"",
        "12:30",
        "7f5a3c1e-2b4d",
    ];

    /// Scalars that need YAML's finer rules.
    const FINER: [&str; 15] = [
        "010",
        "0x10",
        "+3",
        "1e3",
        ".5",
        "5.",
        ".inf",
        "1_0",
        "-x",
        "'0'",
        "yes",
        "2026-01-01",
        "1e5x",
        "0xZZ",
        "1.2.3",
    ];

    fn any_scalar() -> BoxedStrategy<String> {
        prop::sample::select([PLAIN.as_slice(), FINER.as_slice()].concat())
            .prop_map(str::to_owned)
            .boxed()
    }

    fn plain_scalar() -> BoxedStrategy<String> {
        prop::sample::select(PLAIN.as_slice())
            .prop_map(str::to_owned)
            .boxed()
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "spec", "1", "true", "~", "'k'", "\"q k\""])
            .prop_map(str::to_owned)
    }

    /// A YAML value whose scalars come from `scalars`.
    fn value(depth: u32, scalars: fn() -> BoxedStrategy<String>) -> BoxedStrategy<Value> {
        let leaf = scalars().prop_map(Value::Scalar).boxed();
        if depth == 0 {
            return leaf;
        }
        prop_oneof![
            2 => leaf,
            1 => prop::collection::vec(value(depth - 1, scalars), 0..4).prop_map(Value::Seq),
            1 => prop::collection::vec((key(), value(depth - 1, scalars)), 0..4)
                .prop_map(Value::Map),
        ]
        .boxed()
    }

    /// Documents of top-level entries, each in block or in flow style.
    fn stream(scalars: fn() -> BoxedStrategy<String>) -> impl Strategy<Value = String> {
        let document = (
            prop::collection::vec((key(), value(3, scalars)), 1..5),
            any::<bool>(),
        );
        prop::collection::vec(document, 1..4).prop_map(|documents| {
            let mut text = String::new();
            for (entries, flow) in documents {
                text.push_str("---\n");
                for (k, v) in entries {
                    text.push_str(&format!("{k}:"));
                    v.block(2, flow, &mut text);
                }
            }
            text
        })
    }

    #[derive(Debug, Clone)]
    enum Value {
        Scalar(String),
        Seq(Vec<Value>),
        Map(Vec<(String, Value)>),
    }

    impl Value {
        fn flow(&self) -> String {
            match self {
                Value::Scalar(s) if s.is_empty() => "''".to_owned(),
                Value::Scalar(s) => s.clone(),
                Value::Seq(items) => {
                    let items: Vec<String> = items.iter().map(Value::flow).collect();
                    format!("[{}]", items.join(", "))
                }
                Value::Map(entries) => {
                    let entries: Vec<String> = entries
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.flow()))
                        .collect();
                    format!("{{{}}}", entries.join(", "))
                }
            }
        }

        /// Block style below a key or a list dash, at `indent`.
        fn block(&self, indent: usize, flow: bool, out: &mut String) {
            let pad = " ".repeat(indent);
            match self {
                Value::Seq(items) if !flow && !items.is_empty() => {
                    out.push('\n');
                    for item in items {
                        out.push_str(&format!("{pad}-"));
                        item.block(indent + 2, flow, out);
                    }
                }
                Value::Map(entries) if !flow && !entries.is_empty() => {
                    out.push('\n');
                    for (k, v) in entries {
                        out.push_str(&format!("{pad}{k}:"));
                        v.block(indent + 2, flow, out);
                    }
                }
                // An empty value, as written by hand.
                Value::Scalar(s) if s.is_empty() && !flow => out.push('\n'),
                other => out.push_str(&format!(" {}\n", other.flow())),
            }
        }
    }

    proptest! {
        #[test]
        fn generated_documents_read_plainly_read_as_fully(text in stream(any_scalar)) {
            read_plainly(&text);
        }

        #[test]
        fn generated_plain_documents_are_read_plainly(text in stream(plain_scalar)) {
            prop_assert!(read_plainly(&text), "not read plainly:\n{}", text);
        }
    }
}
