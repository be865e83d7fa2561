//! Keyboard walking of the graph: the graph is one tab stop, and the arrow keys move the
//! selection — left and right through the endpoints in drawing order, up and down through
//! the connections leaving the current endpoint, or arriving at it when none leaves (a
//! selected pair's source is the anchor). Pure, so it is tested natively.

use crate::compare::Merged;
use crate::connectivity::Graph;
use crate::share::Selection;

/// The drawn connections as `(from, to)` node indices: the compare union when there is one,
/// else the graph's own edges.
pub fn drawn_edges(graph: &Graph, merged: Option<&Merged>) -> Vec<(usize, usize)> {
    match merged {
        Some(m) => m.edges.iter().map(|e| (e.from, e.to)).collect(),
        None => graph.edges.iter().map(|e| (e.from, e.to)).collect(),
    }
}

/// The selection after pressing `key`, or `None` when the key does not move it.
pub fn step(
    current: Option<&Selection>,
    graph: &Graph,
    edges: &[(usize, usize)],
    key: &str,
) -> Option<Selection> {
    let count = graph.nodes.len();
    if count == 0 {
        return None;
    }
    let node_id = |i: usize| Selection::Node(graph.nodes[i].id.clone());
    // The endpoint the keys start from: the selected node, or the source of a selected pair.
    let (anchor, pair) = match current {
        Some(Selection::Node(id)) => (graph.index_of(id), None),
        Some(Selection::Pair { from, to }) => {
            let pair = graph.index_of(from).zip(graph.index_of(to));
            (graph.index_of(from), pair)
        }
        // From a ghost edge, the keys walk on from its drawn node.
        Some(Selection::Exposure { node, .. }) => (graph.index_of(node), None),
        Some(Selection::Namespace(_) | Selection::Namespaces { .. }) | None => (None, None),
    };
    match key {
        "ArrowRight" => Some(node_id(anchor.map_or(0, |a| (a + 1) % count))),
        "ArrowLeft" => Some(node_id(
            anchor.map_or(count - 1, |a| (a + count - 1) % count),
        )),
        "Home" => Some(node_id(0)),
        "End" => Some(node_id(count - 1)),
        "ArrowDown" | "ArrowUp" => {
            let anchor = anchor.unwrap_or(0);
            // The connections leaving it; for an endpoint none leaves (only relations a
            // policy decided are drawn), those arriving at it.
            let leaving: Vec<(usize, usize)> = edges
                .iter()
                .copied()
                .filter(|(f, _)| *f == anchor)
                .collect();
            let own = if leaving.is_empty() {
                edges
                    .iter()
                    .copied()
                    .filter(|(_, t)| *t == anchor)
                    .collect()
            } else {
                leaving
            };
            if own.is_empty() {
                return None;
            }
            let at = pair.and_then(|p| own.iter().position(|e| *e == p));
            let next = match (key, at) {
                ("ArrowDown", Some(i)) => (i + 1) % own.len(),
                ("ArrowDown", None) => 0,
                (_, Some(i)) => (i + own.len() - 1) % own.len(),
                (_, None) => own.len() - 1,
            };
            let (f, t) = own[next];
            Some(Selection::Pair {
                from: graph.nodes[f].id.clone(),
                to: graph.nodes[t].id.clone(),
            })
        }
        _ => None,
    }
}

/// What a screen reader hears for the selection.
pub fn describe(graph: &Graph, selection: &Selection) -> String {
    match selection {
        Selection::Node(id) => match graph.index_of(id) {
            Some(i) => format!("{id}, {}", graph.nodes[i].isolation.words()),
            None => id.clone(),
        },
        Selection::Pair { from, to } => {
            let verdict = match graph.index_of(from).zip(graph.index_of(to)) {
                Some((a, b)) => match graph.cell(a, b) {
                    crate::connectivity::Cell::Allowed => "allowed",
                    crate::connectivity::Cell::Denied => "denied",
                    crate::connectivity::Cell::NotApplicable => "not applicable",
                },
                None => "not in the graph",
            };
            format!("{from} to {to}: {verdict}")
        }
        Selection::Exposure {
            ghost,
            node,
            incoming,
        } => {
            let (from, to) = if *incoming {
                (ghost, node)
            } else {
                (node, ghost)
            };
            format!("{from} to {to}: what a pod that does not exist yet may do")
        }
        Selection::Namespace(ns) => format!("namespace {ns}"),
        Selection::Namespaces { from, to } => {
            format!("connections from namespace {from} to namespace {to}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::connectivity;
    use crate::probe::Probe;

    fn graph() -> Graph {
        let a = Analysis::new("", "pod x/a app=a\npod x/b app=b\npod x/c app=c\n");
        connectivity::build(&a, &Probe::Any, false, &Default::default())
    }

    fn node(id: &str) -> Selection {
        Selection::Node(id.into())
    }

    #[test]
    fn left_and_right_walk_the_endpoints_and_wrap() {
        let g = graph();
        let e = drawn_edges(&g, None);
        let first = g.nodes[0].id.clone();
        let last = g.nodes[g.nodes.len() - 1].id.clone();
        assert_eq!(step(None, &g, &e, "ArrowRight"), Some(node(&first)));
        assert_eq!(step(None, &g, &e, "ArrowLeft"), Some(node(&last)));
        assert_eq!(
            step(Some(&node(&first)), &g, &e, "ArrowRight"),
            Some(node(&g.nodes[1].id))
        );
        assert_eq!(
            step(Some(&node(&last)), &g, &e, "ArrowRight"),
            Some(node(&first))
        );
        assert_eq!(step(Some(&node(&first)), &g, &e, "x"), None);
    }

    #[test]
    fn up_and_down_walk_the_connections_of_the_endpoint() {
        let g = graph();
        let e = drawn_edges(&g, None);
        let a = node("x/a");
        let Some(Selection::Pair { from, to }) = step(Some(&a), &g, &e, "ArrowDown") else {
            panic!("a pair");
        };
        assert_eq!(from, "x/a");
        let pair = Selection::Pair { from, to };
        let next = step(Some(&pair), &g, &e, "ArrowDown").expect("next");
        assert_ne!(next, pair);
        assert_eq!(step(Some(&next), &g, &e, "ArrowUp"), Some(pair.clone()));
        assert!(
            describe(&g, &pair).ends_with(": allowed"),
            "{}",
            describe(&g, &pair)
        );
    }

    /// Only relations a policy decided are drawn, so an endpoint may have no connection
    /// leaving it: the keys then walk the ones arriving.
    #[test]
    fn an_endpoint_nothing_leaves_walks_what_arrives() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = connectivity::build_with(&a, &Probe::Any, &Default::default());
        let e = drawn_edges(&g, None);
        let (_, to) = e[0];
        assert!(
            e.iter().all(|(f, _)| *f != to),
            "nothing leaves {}",
            g.nodes[to].id
        );
        let Some(Selection::Pair { to: reached, .. }) =
            step(Some(&node(&g.nodes[to].id)), &g, &e, "ArrowDown")
        else {
            panic!("a pair");
        };
        assert_eq!(reached, g.nodes[to].id);
    }
}
