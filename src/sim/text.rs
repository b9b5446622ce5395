//! The text rule the simulated APIs share for names and free text: no
//! control characters.
//!
//! The vendor documents type these fields as plain strings and say nothing
//! about control characters; a name with a NUL or a line break in it is
//! refused here (400) rather than kept, so that a client which would send
//! one finds out. "Control character" is Unicode's `Cc` category, the same
//! rule as the manifest checks (`char::is_control`): C0 (U+0000 to U+001F,
//! TAB, CR, LF and ESC included), DEL (U+007F) and C1 (U+0080 to U+009F).
//! Format characters such as the bidi overrides (U+202E), and any printable
//! punctuation (`|`, quotes, `<`), are accepted.

/// `Err` naming the field (`what`, as the message should show it) and the
/// first control character in `text`.
pub fn printable(what: &str, text: &str) -> Result<(), String> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "{what} contains the control character U+{:04X}; control characters (U+0000 to U+001F, U+007F to U+009F) are not allowed",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_printable_text_is_not() {
        for bad in [
            "a\0b",
            "line\nbreak",
            "cr\r",
            "tab\there",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "csi\u{9b}",
        ] {
            let err = printable("`name`", bad).unwrap_err();
            assert!(err.contains("`name`"), "{err}");
        }
        for good in [
            "plain",
            "pipe | pipe",
            "bidi \u{202e}txet",
            "日本語",
            "<&>\"'",
        ] {
            assert_eq!(printable("`name`", good), Ok(()), "{good:?}");
        }
        let err = printable("`name`", "x\ny").unwrap_err();
        assert!(err.contains("U+000A"), "{err}");
    }
}
