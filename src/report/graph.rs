//! The resource graph of the manifests (references and `dependsOn`) as
//! Graphviz DOT or a Mermaid flowchart, for reviews and documentation.
//! An edge points from a resource to what it depends on.

use std::fmt::Write;

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
        let _ = writeln!(
            out,
            "  n{i}[\"{}\"]",
            address.to_string().replace('"', "#quot;")
        );
    }
    for (resource, targets) in &deps {
        for dep in targets {
            let _ = writeln!(out, "  {} --> {}", id_of(resource), id_of(dep));
        }
    }
    out
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
