//! Cycles among the declared dependencies (the specs' references and
//! `metadata.dependsOn`), which the planner cannot order: each reported
//! offline, at the field that starts it, with the fields that close it.

use super::diagnostic::{Diagnostic, SourceLocation};
use super::document::Declared;
use super::refs::{Key, key};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// One dependency of a declared resource on another declared one.
struct Edge<'a> {
    to: usize,
    /// The field that makes it.
    field: Field<'a>,
    at: &'a SourceLocation,
}

/// A field that makes a dependency, written out (`spec.parent`,
/// `metadata.dependsOn[0]`) only for a diagnostic.
#[derive(Clone, Copy)]
enum Field<'a> {
    Spec(&'a str),
    DependsOn(usize),
}

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::Spec(field) => write!(f, "spec.{field}"),
            Field::DependsOn(index) => write!(f, "metadata.dependsOn[{index}]"),
        }
    }
}

/// The cycles among `declared` (each address once): a resource naming
/// itself, and every group of resources that depend on each other.
pub fn check(declared: &[&Declared]) -> Vec<Diagnostic> {
    let edges = edges(declared);
    let mut found: Vec<Diagnostic> = edges
        .iter()
        .enumerate()
        .flat_map(|(from, out)| out.iter().filter(move |edge| edge.to == from))
        .map(|edge| names_itself(declared, edge))
        .collect();
    let mut graph: DiGraph<(), ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = declared.iter().map(|_| graph.add_node(())).collect();
    for (from, out) in edges.iter().enumerate() {
        for edge in out.iter().filter(|edge| edge.to != from) {
            graph.add_edge(nodes[from], nodes[edge.to], ());
        }
    }
    for group in tarjan_scc(&graph) {
        let members: Vec<usize> = group.iter().map(|node| node.index()).collect();
        if members.len() > 1 {
            found.push(cycle(declared, &edges, &members));
        }
    }
    found
}

/// Each resource's dependencies on declared resources (the first field
/// that names each), references first.
fn edges<'a>(declared: &[&'a Declared]) -> Vec<Vec<Edge<'a>>> {
    let index: HashMap<Key<'_>, usize> = declared
        .iter()
        .enumerate()
        .map(|(at, declaration)| (key(&declaration.address), at))
        .collect();
    declared
        .iter()
        .map(|declaration| {
            let references = declaration.references.iter().map(|(reference, at)| {
                let target = (reference.kind, reference.name.as_str());
                (target, Field::Spec(&reference.field), at)
            });
            let depends_on = declaration
                .depends_on
                .iter()
                .map(|entry| (key(&entry.target), Field::DependsOn(entry.index), &entry.at));
            let mut out: Vec<Edge<'a>> = Vec::new();
            for (target, field, at) in references.chain(depends_on) {
                if let Some(&to) = index.get(&target)
                    && !out.iter().any(|edge| edge.to == to)
                {
                    out.push(Edge { to, field, at });
                }
            }
            out
        })
        .collect()
}

fn names_itself(declared: &[&Declared], edge: &Edge<'_>) -> Diagnostic {
    let address = &declared[edge.to].address;
    let field = edge.field.to_string();
    let name = field.rsplit('.').next().unwrap_or(&field);
    Diagnostic::error(format!(
        "`{name}` names `{address}`, which is this resource itself"
    ))
    .at(edge.at.clone())
    .field(field.clone())
    .hint(format!(
        "a resource cannot depend on itself: `{name}` must name another {}",
        address.kind
    ))
}

/// One cycle through the group `members`, from its smallest address and
/// back: reported at the field that leaves it, with the fields after.
fn cycle(declared: &[&Declared], edges: &[Vec<Edge<'_>>], members: &[usize]) -> Diagnostic {
    let start = members
        .iter()
        .copied()
        .min_by_key(|&member| &declared[member].address)
        .unwrap_or_default();
    let path = shortest_way_back(edges, members, start);
    let steps: Vec<&Edge<'_>> = path
        .windows(2)
        .filter_map(|pair| edges[pair[0]].iter().find(|edge| edge.to == pair[1]))
        .collect();
    let names: Vec<String> = path
        .iter()
        .map(|&at| declared[at].address.to_string())
        .collect();
    let mut diagnostic = Diagnostic::error(format!(
        "the resources depend on each other in a cycle: {}",
        names.join(" -> ")
    ));
    if let Some(first) = steps.first() {
        diagnostic = diagnostic
            .at(first.at.clone())
            .field(first.field.to_string());
    }
    for (from, step) in path.iter().zip(&steps).skip(1) {
        diagnostic = diagnostic.related(
            step.at.clone(),
            format!(
                "then `{}` depends on `{}` through `{}`",
                declared[*from].address, declared[step.to].address, step.field
            ),
        );
    }
    diagnostic.hint(
        "no order can make them all: remove or change one of these references or dependsOn entries",
    )
}

/// The shortest path from `start` back to it within `members` (a strongly
/// connected group, so there is one), both ends included.
fn shortest_way_back(edges: &[Vec<Edge<'_>>], members: &[usize], start: usize) -> Vec<usize> {
    let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for edge in edges[node].iter().filter(|edge| edge.to != node) {
            if edge.to == start {
                let mut path = vec![node];
                while let Some(&before) = came_from.get(path.last().unwrap_or(&start)) {
                    path.push(before);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if members.contains(&edge.to) && !came_from.contains_key(&edge.to) {
                came_from.insert(edge.to, node);
                queue.push_back(edge.to);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Address;
    use crate::manifest::document::DependsOn;
    use crate::resources::{Kind, Reference};

    fn at(line: u64) -> SourceLocation {
        SourceLocation {
            file: "m.yaml".into(),
            line,
            column: 3,
        }
    }

    fn company(name: &str, line: u64, parent: Option<&str>, depends_on: &[&str]) -> Declared {
        Declared {
            address: Address::new(Kind::RedstorCompany, name),
            name_at: at(line),
            depends_on: depends_on
                .iter()
                .enumerate()
                .map(|(index, target)| DependsOn {
                    target: target.parse().unwrap(),
                    index,
                    at: at(line + 1),
                })
                .collect(),
            references: parent
                .map(|parent| {
                    let reference = Reference {
                        field: "parent".into(),
                        kind: Kind::RedstorCompany,
                        name: parent.into(),
                    };
                    (reference, at(line + 2))
                })
                .into_iter()
                .collect(),
            spec_fields: Vec::new(),
            spec: None,
            resource: None,
        }
    }

    fn found(declared: &[Declared]) -> Vec<Diagnostic> {
        check(&declared.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_tree_has_no_cycle() {
        let declared = [
            company("root-partner", 1, None, &[]),
            company(
                "child",
                10,
                Some("root-partner"),
                &["RedstorCompany/root-partner"],
            ),
            company("grandchild", 20, Some("child"), &[]),
        ];
        assert_eq!(found(&declared), vec![]);
    }

    #[test]
    fn a_cycle_is_reported_once_from_its_smallest_address() {
        let declared = [
            company("c", 30, Some("a"), &[]),
            company("b", 20, Some("c"), &[]),
            company("a", 10, None, &["RedstorCompany/b"]),
        ];
        let found = found(&declared);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "the resources depend on each other in a cycle: RedstorCompany/a -> RedstorCompany/b -> RedstorCompany/c -> RedstorCompany/a"
        );
        assert_eq!(found[0].location, Some(at(11)));
        assert_eq!(found[0].field.as_deref(), Some("metadata.dependsOn[0]"));
        let related: Vec<_> = found[0].related.iter().map(|(l, _)| l.line).collect();
        assert_eq!(related, [22, 32]);
    }

    #[test]
    fn naming_itself_is_reported_at_the_field() {
        let found = found(&[company("a", 1, Some("a"), &[])]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "`parent` names `RedstorCompany/a`, which is this resource itself"
        );
        assert_eq!(found[0].field.as_deref(), Some("spec.parent"));
    }

    #[test]
    fn the_shortest_way_back_is_shown() {
        // a -> b -> a and a -> c -> d -> a: one group, the short cycle shown.
        let declared = [
            company("a", 1, Some("b"), &["RedstorCompany/c"]),
            company("b", 10, Some("a"), &[]),
            company("c", 20, Some("d"), &[]),
            company("d", 30, Some("a"), &[]),
        ];
        let found = found(&declared);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .ends_with("RedstorCompany/a -> RedstorCompany/b -> RedstorCompany/a"),
            "{}",
            found[0].message
        );
    }
}
