//! How text that entitle did not write is shown: names, fields and
//! messages read from the vendor servers, the state or the manifests. Every
//! renderer goes through here, so that such text can neither drive the
//! reader's terminal nor change the shape of a Markdown comment.
//!
//! - Terminal text ([`text`]): control characters (C0, DEL, C1) and the
//!   bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
//!   which reorder what a reviewer sees) are written visibly, Rust-style
//!   (`\u{1b}`, `\n`), and a backslash is doubled, so the shown form reads
//!   back unambiguously. Other Unicode (日本語 names) stays as it is.
//! - Messages made of several lines ([`lines`]): the same characters, but a
//!   line break stays one; backslashes stay single, since the parts quoted
//!   in a message are escaped where they are quoted. The CLI passes all of
//!   stderr through it. [`line`] is the same for what must stay one line
//!   of such a message, line breaks shown too.
//! - JSON ([`json`], [`json_pretty`]): the exact value; besides what JSON
//!   always escapes, DEL, C1 and the bidi controls are written `\u202e`, so
//!   the document parses back to the same bytes and still shows nothing
//!   hidden on a terminal.
//! - Markdown ([`md_text`], [`md_code`], [`md_json`], [`md_fence`]): the
//!   terminal escaping first, then what Markdown would read as syntax:
//!   table pipes, emphasis, links, HTML, code-span and fence delimiters.

use std::borrow::Cow;
use std::fmt::Write;

use serde_json::Value;

/// Whether `c` must not reach a terminal or a review as it is: a C0
/// control, DEL, a C1 control, or a bidirectional override or isolate.
pub fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line of terminal text: every hazard written visibly (`\n`, `\r`,
/// `\t`, else `\u{1b}`), a backslash doubled.
pub fn text(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(|c| is_hazard(c) || c == '\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_hazard(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A message of several lines, for stderr: line breaks stay, every other
/// hazard is written as [`text`] writes it; backslashes are left alone.
pub fn lines(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(|c| is_hazard(c) && c != '\n') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '\n' => out.push('\n'),
            c if is_hazard(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One line of a message, for stderr: every hazard, line breaks too,
/// written as [`text`] writes it; backslashes are left alone, as in
/// [`lines`]. For what quotes text entitle did not write into a message
/// that must stay one line (a manifest's field name in a diagnostic).
pub fn line(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(is_hazard) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            c if is_hazard(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `value` as compact JSON, with the hazards JSON leaves raw escaped.
pub fn json(value: &Value) -> String {
    json_escaped(value.to_string())
}

/// `value` as indented JSON, with the hazards JSON leaves raw escaped.
pub fn json_pretty(value: &Value) -> String {
    json_escaped(format!("{value:#}"))
}

/// Escapes DEL, C1 and the bidi controls of serialised JSON as `\uXXXX`
/// (JSON escapes C0 in strings itself; its line breaks outside strings
/// stay). Outside its strings JSON is ASCII without them, so every one
/// found is inside a string, where the escape means the same character.
fn json_escaped(serialised: String) -> String {
    let left_raw = |c: char| is_hazard(c) && c >= '\u{7f}';
    if !serialised.chars().any(left_raw) {
        return serialised;
    }
    let mut out = String::with_capacity(serialised.len() + 8);
    for c in serialised.chars() {
        if left_raw(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// The ASCII punctuation Markdown (CommonMark, GitHub's extensions) could
/// read as syntax inline: escapes, code spans, emphasis and strikethrough,
/// links and images, HTML and entities, table pipes, references and
/// mentions, math.
const MARKDOWN_SYNTAX: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '|', '&', '~', '#', '@', '$', '!',
];

/// Inline Markdown text, safe in a table cell: shown as [`text`] shows it,
/// then every Markdown delimiter backslash-escaped. What renders is what
/// [`text`] prints.
pub fn md_text(raw: &str) -> String {
    let shown = text(raw);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        if MARKDOWN_SYNTAX.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span, safe in a table cell, showing what [`text`] prints.
pub fn md_code(raw: &str) -> String {
    code_span(&text(raw))
}

/// A code span, safe in a table cell, showing `value` as [`json`] does.
pub fn md_json(value: &Value) -> String {
    code_span(&json(value))
}

/// `shown` (one line, without hazards) in a code span: delimited by more
/// backticks than any run inside it, padded when it starts or ends with
/// one, its pipes escaped (GitHub splits table cells before code spans,
/// and takes `\|` as a pipe inside them).
fn code_span(shown: &str) -> String {
    if shown.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(shown, '`') + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    let body = lines(shown).replace('|', "\\|");
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A fenced code block of `body` (text as the renderers print it) with
/// `info` after the opening fence: the fence is longer than any run of
/// backticks in the body, so no line of it can close the block.
pub fn md_fence(info: &str, body: &str) -> String {
    let body = lines(body);
    let fence = md_fence_delimiter(&body);
    let newline = if body.is_empty() || body.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}{info}\n{body}{newline}{fence}\n")
}

/// The fence for a code block whose body is `body` or any part of it
/// (the lines of one section, say, of which only some may be shown):
/// longer than any run of backticks in it, and at least three.
pub fn md_fence_delimiter(body: &str) -> String {
    "`".repeat((longest_run(body, '`') + 1).max(3))
}

fn longest_run(text: &str, of: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == of { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// The cell separators of a Markdown table row: its `|`s not escaped with
/// a backslash. For the renderers' tests.
#[cfg(test)]
pub(crate) fn table_pipes(row: &str) -> usize {
    let mut previous = ' ';
    let mut pipes = 0;
    for c in row.chars() {
        pipes += usize::from(c == '|' && previous != '\\');
        previous = c;
    }
    pipes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_text_shows_controls_and_bidi_visibly() {
        assert_eq!(text("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(text("a\nb\r\tc\0"), "a\\nb\\r\\tc\\u{0}");
        assert_eq!(text("del\u{7f} csi\u{9b}"), "del\\u{7f} csi\\u{9b}");
        assert_eq!(
            text("admin\u{202e}fdp.exe\u{2066}"),
            "admin\\u{202e}fdp.exe\\u{2066}"
        );
    }

    #[test]
    fn terminal_text_is_unambiguous_about_backslashes() {
        assert_eq!(text("\\u{1b}"), "\\\\u{1b}");
        assert_ne!(text("\\u{1b}"), text("\u{1b}"));
    }

    #[test]
    fn ordinary_unicode_and_punctuation_stay_as_they_are() {
        let name = "株式会社サンプル | `Acme` <b>*Ltd*</b> — ü";
        assert!(matches!(text(name), Cow::Borrowed(_)));
        assert_eq!(text(name), name);
    }

    #[test]
    fn message_lines_keep_their_breaks_and_lose_their_controls() {
        assert_eq!(
            lines("error: \u{1b}]0;title\u{7}\n   = hint: C:\\x"),
            "error: \\u{1b}]0;title\\u{7}\n   = hint: C:\\x"
        );
    }

    #[test]
    fn json_escapes_what_it_leaves_raw_and_parses_back_exactly() {
        let value = serde_json::json!({"name": "a\u{1b}b\u{7f}c\u{85}d\u{202e}e\\f\"g日本"});
        let shown = json(&value);
        assert!(!shown.chars().any(is_hazard), "{shown}");
        assert!(shown.contains("\\u202e") && shown.contains("\\u007f"));
        assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), value);
        let pretty = json_pretty(&value);
        assert!(
            !pretty.chars().any(|c| is_hazard(c) && c != '\n'),
            "{pretty}"
        );
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
    }

    #[test]
    fn markdown_text_escapes_table_pipes_html_and_emphasis() {
        assert_eq!(
            md_text("a|b <img src=x> *c* [d](e) `f`\ng"),
            "a\\|b \\<img src=x\\> \\*c\\* \\[d\\](e) \\`f\\`\\\\ng"
        );
    }

    #[test]
    fn code_spans_outlast_the_backticks_inside() {
        assert_eq!(md_code("plain"), "`plain`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x``"), "``` `x`` ```");
        assert_eq!(md_code("a|b"), "`a\\|b`");
        assert_eq!(md_code(""), "");
    }

    #[test]
    fn a_fence_cannot_be_closed_from_inside() {
        let block = md_fence("diff", "name: ```\n````\n");
        assert!(block.starts_with("`````diff\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
        assert_eq!(md_fence("text", "x"), "```text\nx\n```\n");
    }

    /// Strings with a good share of what can hurt: controls, bidi,
    /// Markdown delimiters, backslashes and Japanese text.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "\u{1b}",
            "\u{1b}[2J",
            "\n",
            "\r",
            "\t",
            "\0",
            "\u{7f}",
            "\u{9b}",
            "\u{85}",
            "\u{202e}",
            "\u{2066}",
            "|",
            "`",
            "```",
            "\\",
            "\\|",
            "<",
            ">",
            "*",
            "_",
            "[",
            "]",
            "&",
            "#",
            "@",
            "a",
            " ",
            "名前",
        ]);
        prop::collection::vec(
            prop_oneof![
                pieces.prop_map(String::from),
                any::<char>().prop_map(String::from)
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    /// The cells of one Markdown table row, split on every `|` that is
    /// not escaped: by GitHub's rule (any backslash before it, cmark-gfm's
    /// longest match) or by CommonMark's (an odd run of backslashes).
    fn cells(row: &str) -> (usize, usize) {
        let (mut github, mut commonmark) = (0, 0);
        let (mut previous, mut run) = (' ', 0);
        for c in row.chars() {
            if c == '|' {
                github += usize::from(previous != '\\');
                commonmark += usize::from(run % 2 == 0);
            }
            run = if c == '\\' { run + 1 } else { 0 };
            previous = c;
        }
        (github.saturating_sub(1), commonmark.saturating_sub(1))
    }

    proptest! {
        #[test]
        fn escaped_terminal_text_never_holds_a_control(raw in hostile()) {
            prop_assert!(!text(&raw).chars().any(is_hazard));
            prop_assert!(!lines(&raw).chars().any(|c| is_hazard(c) && c != '\n'));
        }

        #[test]
        fn escaped_text_keeps_everything_else(raw in hostile()) {
            let kept: String = raw.chars().filter(|c| !is_hazard(*c) && *c != '\\').collect();
            let shown: String = text(&raw).chars().filter(|c| *c != '\\').collect();
            // What is not escaped appears in order in what is shown.
            let mut rest = shown.chars();
            prop_assert!(kept.chars().all(|c| rest.any(|s| s == c)));
        }

        #[test]
        fn markdown_cells_never_break_their_row(raw in hostile()) {
            for cell in [md_text(&raw), md_code(&raw)] {
                prop_assert!(!cell.chars().any(is_hazard), "{cell:?}");
                let row = format!("| {cell} | x |");
                prop_assert_eq!(cells(&row), (2, 2), "{:?}", row);
            }
        }

        #[test]
        fn json_round_trips_and_shows_no_control(raw in hostile()) {
            let value = serde_json::json!({ raw.clone(): [raw] });
            let shown = json(&value);
            prop_assert!(!shown.chars().any(is_hazard));
            prop_assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), value.clone());
            let pretty = json_pretty(&value);
            prop_assert!(!pretty.chars().any(|c| is_hazard(c) && c != '\n'));
            prop_assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
        }

        #[test]
        fn a_fenced_block_ends_only_at_its_own_fence(raw in hostile()) {
            let block = md_fence("diff", &text(&raw));
            let fence: String = block.chars().take_while(|c| *c == '`').collect();
            let closing = block
                .lines()
                .skip(1)
                .position(|line| line.trim_start().starts_with(fence.as_str()));
            prop_assert_eq!(closing, Some(block.lines().count() - 2), "{:?}", block);
        }
    }
}
