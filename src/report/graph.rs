//! The resource graph of the manifests (references and `dependsOn`) as
//! Graphviz DOT or a Mermaid flowchart, for reviews and documentation.
//! An edge points from a resource to what it depends on. Names are shown
//! through [`crate::escape`], then quoted for the language.

use std::fmt::Write;

use crate::escape;
use crate::manifest::Address;
use crate::manifest::Desired;
use crate::plan::planner::dependencies;

/// Graphviz DOT.
pub fn dot(desired: &Desired) -> String {
    let mut out = String::from("digraph entitle {\n  rankdir=LR;\n  node [shape=box];\n");
    for (resource, deps) in dependencies(desired) {
        let resource = resource.to_string();
        let _ = writeln!(out, "  {};", quote(&resource));
        for dep in deps {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(&resource),
                quote(&dep.to_string())
            );
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart (renders in GitHub Markdown).
pub fn mermaid(desired: &Desired) -> String {
    let deps = dependencies(desired);
    let ids: Vec<&Address> = deps.keys().collect();
    let id_of = |address: &Address| {
        ids.iter()
            .position(|a| *a == address)
            .map(|i| format!("n{i}"))
            .unwrap_or_else(|| "missing".into())
    };
    let mut out = String::from("flowchart LR\n");
    for (i, address) in ids.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_label(&address.to_string()));
    }
    for (resource, targets) in &deps {
        for dep in targets {
            let _ = writeln!(out, "  {} --> {}", id_of(resource), id_of(dep));
        }
    }
    out
}

/// A DOT string: the name as [`escape::text`] shows it, quoted.
fn quote(text: &str) -> String {
    let shown = escape::text(text);
    format!("\"{}\"", shown.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Mermaid label: the name as [`escape::text`] shows it, with Mermaid's
/// entity codes for what would end the label or be read as markup.
fn mermaid_label(text: &str) -> String {
    escape::text(text)
        .replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('`', "#96;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_end_its_dot_string_or_hide_behind_an_override() {
        assert_eq!(quote("a\"b\\c\u{202e}d"), "\"a\\\"b\\\\\\\\c\\\\u{202e}d\"");
    }

    #[test]
    fn a_name_cannot_end_its_mermaid_label_or_add_markup() {
        let label = mermaid_label("x\"]; click n0 href \"#\" <b>`md`</b>\u{2066}");
        assert!(!label.contains(['"', '<', '>', '`', '\u{2066}']), "{label}");
        assert_eq!(
            label,
            "x#quot;]; click n0 href #quot;#35;#quot; #lt;b#gt;#96;md#96;#lt;/b#gt;\\u{2066}"
        );
    }
}
