//! The what-if line: which allowed connections appeared or disappeared since the last
//! change, compared by node ids so it survives re-layout. The worker compares every
//! cell of the two graphs (open pairs too: isolating a pod closes them), so a change
//! nobody draws is still listed.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::connectivity::{Cell, Graph};

/// Longest list of changed pairs kept (the counts cover all).
pub const MAX_LISTED: usize = 50;

/// What changed between two graphs of the same view: listed pairs (node ids) and totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Pairs allowed now but not before (at most [`MAX_LISTED`]).
    pub opened: Vec<(String, String)>,
    /// Pairs allowed before but not now (at most [`MAX_LISTED`]).
    pub closed: Vec<(String, String)>,
    /// All opened node pairs.
    pub opened_total: usize,
    /// All closed node pairs.
    pub closed_total: usize,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.opened_total == 0 && self.closed_total == 0
    }

    /// The line above the graph.
    pub fn summary(&self) -> String {
        let count = |n: usize| {
            if n == 1 {
                "1 connection".to_string()
            } else {
                format!("{} connections", crate::scene::thousands(n))
            }
        };
        match (self.opened_total, self.closed_total) {
            (0, 0) => "no connection changed since last change".to_string(),
            (o, 0) => format!("{} opened since last change", count(o)),
            (0, c) => format!("{} closed since last change", count(c)),
            (o, c) => format!("{} opened, {c} closed since last change", count(o)),
        }
    }
}

/// The allowed pairs of a graph, to compare with the next one: node ids and the cells.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    ids: Vec<String>,
    cells: Vec<Cell>,
}

impl Snapshot {
    /// What of `graph` the next comparison needs.
    pub fn of(graph: &Graph) -> Snapshot {
        Snapshot {
            ids: graph.nodes.iter().map(|n| n.id.clone()).collect(),
            cells: graph.cells.clone(),
        }
    }

    fn allowed(&self, a: usize, b: usize) -> bool {
        self.cells.get(a * self.ids.len() + b) == Some(&Cell::Allowed)
    }

    /// Whether `next` is an edit of `self` rather than another input (most nodes kept):
    /// pasting a new cluster is not "what changed".
    pub fn related(&self, next: &Snapshot) -> bool {
        let before: std::collections::HashSet<&str> = self.ids.iter().map(String::as_str).collect();
        let kept = next
            .ids
            .iter()
            .filter(|id| before.contains(id.as_str()))
            .count();
        kept * 2 >= self.ids.len().max(next.ids.len())
    }

    /// What changed from `self` to `next`: pairs of nodes both have, and pairs with a node
    /// only one has (a new pod opens its connections; a removed one closes them).
    pub fn changes(&self, next: &Snapshot) -> Changes {
        let mut out = Changes::default();
        let index: HashMap<&str, usize> = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let old: Vec<Option<usize>> = next
            .ids
            .iter()
            .map(|id| index.get(id.as_str()).copied())
            .collect();
        let mut seen = vec![false; self.ids.len()];
        for o in old.iter().flatten() {
            seen[*o] = true;
        }
        let mut note = |list: bool, a: &str, b: &str, opened: bool| {
            let (total, listed) = if opened {
                (&mut out.opened_total, &mut out.opened)
            } else {
                (&mut out.closed_total, &mut out.closed)
            };
            *total += 1;
            if list && listed.len() < MAX_LISTED {
                listed.push((a.to_string(), b.to_string()));
            }
        };
        for (a, oa) in old.iter().enumerate() {
            for (b, ob) in old.iter().enumerate() {
                if a == b {
                    continue;
                }
                let now = next.allowed(a, b);
                let before = matches!((oa, ob), (Some(x), Some(y)) if self.allowed(*x, *y));
                if now != before {
                    note(true, &next.ids[a], &next.ids[b], now);
                }
            }
        }
        // Pairs with a node the next graph no longer has were allowed before: closed.
        for a in 0..self.ids.len() {
            for b in 0..self.ids.len() {
                if a != b && (!seen[a] || !seen[b]) && self.allowed(a, b) {
                    note(true, &self.ids[a], &self.ids[b], false);
                }
            }
        }
        out
    }
}

/// Opened and closed connections between two results for the same probe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Pairs allowed now but not before.
    pub opened: Vec<(String, String)>,
    /// Pairs allowed before but not now.
    pub closed: Vec<(String, String)>,
}

/// Compares two sets of allowed pairs.
pub fn diff(before: &BTreeSet<(String, String)>, after: &BTreeSet<(String, String)>) -> Change {
    Change {
        opened: after.difference(before).cloned().collect(),
        closed: before.difference(after).cloned().collect(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", crate::scene::thousands(n))
    }
}

/// "3 connections opened, 1 closed since last change", or "no connection changed".
pub fn summary(change: &Change) -> String {
    match (change.opened.len(), change.closed.len()) {
        (0, 0) => "no connection changed since last change".to_string(),
        (o, 0) => format!("{} opened since last change", plural(o, "connection")),
        (0, c) => format!("{} closed since last change", plural(c, "connection")),
        (o, c) => format!(
            "{} opened, {c} closed since last change",
            plural(o, "connection")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn graph(ids: &[&str], allowed: &[(usize, usize)]) -> Snapshot {
        let n = ids.len();
        let mut cells = vec![Cell::Denied; n * n];
        for (a, b) in allowed {
            cells[a * n + b] = Cell::Allowed;
        }
        Snapshot {
            ids: ids.iter().map(|s| s.to_string()).collect(),
            cells,
        }
    }

    #[test]
    fn changes_between_snapshots() {
        let before = graph(&["a", "b", "c"], &[(0, 1), (1, 2), (2, 0)]);
        let after = graph(&["a", "b", "d"], &[(0, 1), (1, 0), (2, 0)]);
        let ch = before.changes(&after);
        assert_eq!(
            ch.opened,
            [
                ("b".to_string(), "a".to_string()),
                ("d".to_string(), "a".to_string())
            ]
        );
        assert_eq!(
            ch.closed,
            [
                ("b".to_string(), "c".to_string()),
                ("c".to_string(), "a".to_string())
            ]
        );
        assert_eq!(
            ch.summary(),
            "2 connections opened, 2 closed since last change"
        );
        assert!(before.changes(&before).is_empty());
        assert!(before.related(&after));
        assert!(!before.related(&graph(&["x", "y", "z"], &[])));
    }

    #[test]
    fn counts_and_words() {
        let before = set(&[("a", "b"), ("a", "c"), ("b", "c")]);
        let after = set(&[("a", "b"), ("c", "a"), ("c", "b"), ("b", "a")]);
        let ch = diff(&before, &after);
        assert_eq!(ch.opened.len(), 3);
        assert_eq!(ch.closed.len(), 2);
        assert_eq!(
            summary(&ch),
            "3 connections opened, 2 closed since last change"
        );
        assert_eq!(
            summary(&diff(&after, &after)),
            "no connection changed since last change"
        );
        assert_eq!(
            summary(&diff(&set(&[]), &set(&[("a", "b")]))),
            "1 connection opened since last change"
        );
        assert_eq!(
            summary(&diff(&set(&[("a", "b")]), &set(&[]))),
            "1 connection closed since last change"
        );
    }
}
