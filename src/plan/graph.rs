//! Ordering by dependency: a deterministic topological order over a petgraph
//! graph, and a cycle reported as the path that closes it.
//!
//! Among the nodes that are ready at the same time the one with the smallest
//! label goes first, so the same graph always gives the same order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// A dependency cycle, as the labels along it, the first repeated at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" -> "))
    }
}

/// A graph of labelled nodes where an edge `a -> b` means "a before b".
#[derive(Clone, Debug, Default)]
pub struct OrderGraph {
    graph: DiGraph<String, ()>,
    /// The edges, to keep each once without scanning a node's edges (a
    /// tenant is a dependency of every one of its licenses).
    edges: HashSet<(usize, usize)>,
}

impl OrderGraph {
    pub fn new() -> Self {
        OrderGraph::default()
    }

    /// Adds a node and returns its index (indices count from 0 in order).
    pub fn add(&mut self, label: impl Into<String>) -> usize {
        self.graph.add_node(label.into()).index()
    }

    /// `first` must come before `then`. Repeated edges are kept once.
    pub fn before(&mut self, first: usize, then: usize) {
        if self.edges.insert((first, then)) {
            self.graph
                .add_edge(NodeIndex::new(first), NodeIndex::new(then), ());
        }
    }

    /// `first` before `then`, unless `then` already comes before `first`
    /// (directly or not), which would close a cycle. Whether it was added.
    pub fn before_unless_cycle(&mut self, first: usize, then: usize) -> bool {
        let closes = first == then
            || petgraph::algo::has_path_connecting(
                &self.graph,
                NodeIndex::new(then),
                NodeIndex::new(first),
                None,
            );
        if !closes {
            self.before(first, then);
        }
        !closes
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The nodes that must come before `node`, directly.
    pub fn predecessors(&self, node: usize) -> Vec<usize> {
        let mut list: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(node), Direction::Incoming)
            .map(NodeIndex::index)
            .collect();
        list.sort_unstable();
        list.dedup();
        list
    }

    /// Every node in an order that respects every edge; ties go to the
    /// smallest label. A cycle is an error naming it.
    pub fn order(&self) -> Result<Vec<usize>, Cycle> {
        let mut waiting: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| {
                self.graph
                    .neighbors_directed(n, Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<(&str, usize)>> = self
            .graph
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .map(|n| Reverse((self.graph[n].as_str(), n.index())))
            .collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some(Reverse((_, node))) = ready.pop() {
            order.push(node);
            for next in self
                .graph
                .neighbors_directed(NodeIndex::new(node), Direction::Outgoing)
            {
                waiting[next.index()] -= 1;
                if waiting[next.index()] == 0 {
                    ready.push(Reverse((self.graph[next].as_str(), next.index())));
                }
            }
        }
        if order.len() == self.graph.node_count() {
            Ok(order)
        } else {
            Err(self.find_cycle())
        }
    }

    /// A concrete cycle: inside the strongly connected component with the
    /// smallest label, walk from that label until a node repeats.
    fn find_cycle(&self) -> Cycle {
        let components = petgraph::algo::tarjan_scc(&self.graph);
        let cyclic = components
            .into_iter()
            .filter(|c| c.len() > 1 || self.graph.find_edge(c[0], c[0]).is_some())
            .min_by(|a, b| self.smallest_label(a).cmp(self.smallest_label(b)));
        let Some(component) = cyclic else {
            return Cycle(Vec::new());
        };
        let members: HashSet<NodeIndex> = component.iter().copied().collect();
        let start = component
            .iter()
            .copied()
            .min_by(|a, b| self.graph[*a].cmp(&self.graph[*b]))
            .unwrap_or(component[0]);
        let mut path = vec![start];
        let mut current = start;
        loop {
            let next = self
                .graph
                .neighbors_directed(current, Direction::Outgoing)
                .filter(|n| members.contains(n))
                .min_by(|a, b| self.graph[*a].cmp(&self.graph[*b]));
            let Some(next) = next else { break };
            if let Some(at) = path.iter().position(|n| *n == next) {
                let mut labels: Vec<String> =
                    path[at..].iter().map(|n| self.graph[*n].clone()).collect();
                labels.push(self.graph[next].clone());
                return Cycle(labels);
            }
            path.push(next);
            current = next;
        }
        Cycle(path.iter().map(|n| self.graph[*n].clone()).collect())
    }

    fn smallest_label<'a>(&'a self, nodes: &[NodeIndex]) -> &'a str {
        nodes
            .iter()
            .map(|n| self.graph[*n].as_str())
            .min()
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(graph: &OrderGraph, order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|n| graph.graph[NodeIndex::new(*n)].clone())
            .collect()
    }

    #[test]
    fn ties_go_to_the_smallest_label_and_edges_are_respected() {
        let mut g = OrderGraph::new();
        let c = g.add("c");
        let a = g.add("a");
        let b = g.add("b");
        let d = g.add("d");
        g.before(d, a);
        g.before(c, b);
        let order = g.order().unwrap();
        assert_eq!(labels(&g, &order), ["c", "b", "d", "a"]);
        assert_eq!(g.predecessors(a), vec![d]);
    }

    #[test]
    fn a_cycle_is_reported_as_its_path() {
        let mut g = OrderGraph::new();
        let x = g.add("x");
        let a = g.add("a");
        let b = g.add("b");
        let c = g.add("c");
        g.before(x, a);
        g.before(a, b);
        g.before(b, c);
        g.before(c, a);
        let cycle = g.order().unwrap_err();
        assert_eq!(cycle.to_string(), "a -> b -> c -> a");
    }

    #[test]
    fn repeated_edges_are_kept_once_even_from_a_node_with_many() {
        let mut g = OrderGraph::new();
        let hub = g.add("hub");
        let leaves: Vec<usize> = (0..1000).map(|i| g.add(format!("leaf{i:04}"))).collect();
        for _ in 0..2 {
            for &leaf in &leaves {
                g.before(hub, leaf);
            }
        }
        assert_eq!(g.graph.edge_count(), 1000);
        assert_eq!(g.predecessors(leaves[7]), vec![hub]);
        assert_eq!(g.order().unwrap()[0], hub);
    }

    #[test]
    fn a_self_loop_is_a_cycle() {
        let mut g = OrderGraph::new();
        let a = g.add("a");
        g.before(a, a);
        assert_eq!(g.order().unwrap_err().to_string(), "a -> a");
    }

    #[test]
    fn an_edge_that_would_close_a_cycle_is_left_out() {
        let mut graph = OrderGraph::new();
        let (a, b, c) = (graph.add("a"), graph.add("b"), graph.add("c"));
        graph.before(a, b);
        graph.before(b, c);
        assert!(
            !graph.before_unless_cycle(c, a),
            "c -> a closes a -> b -> c"
        );
        assert!(!graph.before_unless_cycle(b, b));
        assert!(graph.before_unless_cycle(a, c));
        assert_eq!(labels(&graph, &graph.order().unwrap()), ["a", "b", "c"]);
    }
}
