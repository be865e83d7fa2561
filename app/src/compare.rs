//! Compare mode: the union of the "before" and "after" graphs for one probe, and the short
//! summary of the core's semantic diff.
//!
//! The graph draws on the before graph's nodes (its layout is what the user has been looking
//! at); edges are matched by node id, so they line up as long as the after state keeps the
//! endpoints. Which connections changed on *which ports* is the core's job
//! (`netpol_core::diff`); this module only decides how to draw and word it.

use std::collections::{BTreeMap, HashMap};

use netpol_core::diff::{Change, ChangeKind, Diff, Party};

use crate::connectivity::{ports_label, Cell, Graph};

/// How a merged edge compares between the two states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Allowed before and after.
    Both,
    /// Allowed only after.
    Added,
    /// Allowed only before.
    Removed,
}

impl Status {
    /// `data-verdict` value and CSS modifier.
    pub fn verdict(self) -> &'static str {
        match self {
            Status::Both => "allowed",
            Status::Added => "added",
            Status::Removed => "removed",
        }
    }
}

/// One drawn edge of the union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedEdge {
    /// Index into the before graph's nodes.
    pub from: usize,
    /// Index into the before graph's nodes.
    pub to: usize,
    /// Both, added or removed.
    pub status: Status,
    /// Port label (the after side's when allowed after, else the before side's).
    pub ports: Option<String>,
}

/// The union drawn in compare mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Edges on the before graph's nodes.
    pub edges: Vec<MergedEdge>,
    /// Changed or kept edges with an end the before graph does not have (not drawn).
    pub unplaced: usize,
}

/// The union of the allowed edges of `before` and `after`, on `before`'s node indices.
/// Edges touching a node the before graph does not have are counted in `unplaced` (they
/// appear in the diff summary, which names the endpoints).
pub fn merge(before: &Graph, after: &Graph) -> Merged {
    let allowed = |g: &Graph| -> BTreeMap<(String, String), Option<String>> {
        g.edges
            .iter()
            .filter(|e| e.allowed)
            .filter_map(|e| {
                Some((
                    (
                        g.nodes.get(e.from)?.id.clone(),
                        g.nodes.get(e.to)?.id.clone(),
                    ),
                    e.ports.clone(),
                ))
            })
            .collect()
    };
    let (b, a) = (allowed(before), allowed(after));
    let mut keys: Vec<&(String, String)> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    let mut unplaced = 0;
    for key in keys {
        let (status, ports) = match (b.get(key), a.get(key)) {
            (Some(_), Some(p)) => (Status::Both, p.clone()),
            (None, Some(p)) => (Status::Added, p.clone()),
            (Some(p), None) => (Status::Removed, p.clone()),
            (None, None) => continue,
        };
        match (before.index_of(&key.0), before.index_of(&key.1)) {
            (Some(from), Some(to)) => out.push(MergedEdge {
                from,
                to,
                status,
                ports,
            }),
            _ => unplaced += 1,
        }
    }
    Merged {
        edges: out,
        unplaced,
    }
}

/// Both states of one ordered pair; `None` where that state has no such endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairStates {
    /// Before.
    pub before: Option<Cell>,
    /// After.
    pub after: Option<Cell>,
}

impl PairStates {
    /// `same`, `added` (allowed only after), `removed` (allowed only before) or `changed`
    /// (an endpoint only one side has, or n/a on one side).
    pub fn change(&self) -> &'static str {
        match (self.before, self.after) {
            (a, b) if a == b => "same",
            (Some(Cell::Allowed), _) => "removed",
            (_, Some(Cell::Allowed)) => "added",
            _ => "changed",
        }
    }
}

/// The word for one side of a pair: `allowed`, `denied`, `n/a`, or `absent` when that state
/// has no such endpoint.
pub fn cell_word(cell: Option<Cell>) -> &'static str {
    match cell {
        Some(Cell::Allowed) => "allowed",
        Some(Cell::Denied) => "denied",
        Some(Cell::NotApplicable) => "n/a",
        None => "absent",
    }
}

/// The rows and columns of a before/after matrix: the before graph's nodes, then the nodes
/// only the after graph has, each with its index on either side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Node ids, before's first.
    pub ids: Vec<String>,
    /// Per id: index in the before graph.
    pub before: Vec<Option<usize>>,
    /// Per id: index in the after graph.
    pub after: Vec<Option<usize>>,
}

impl Table {
    /// The union of both graphs' nodes.
    pub fn new(before: &Graph, after: &Graph) -> Table {
        let in_after: HashMap<&str, usize> = after
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut table = Table::default();
        for (i, n) in before.nodes.iter().enumerate() {
            table.ids.push(n.id.clone());
            table.before.push(Some(i));
            table.after.push(in_after.get(n.id.as_str()).copied());
        }
        for (i, n) in after.nodes.iter().enumerate() {
            if before.index_of(&n.id).is_none() {
                table.ids.push(n.id.clone());
                table.before.push(None);
                table.after.push(Some(i));
            }
        }
        table
    }

    /// Both states of the pair of rows `a` → `b`.
    pub fn pair(&self, before: &Graph, after: &Graph, a: usize, b: usize) -> PairStates {
        let side = |g: &Graph, idx: &[Option<usize>]| match (idx.get(a), idx.get(b)) {
            (Some(Some(x)), Some(Some(y))) => Some(g.cell(*x, *y)),
            _ => None,
        };
        PairStates {
            before: side(before, &self.before),
            after: side(after, &self.after),
        }
    }
}

/// The core's change for the pair of node ids `from` → `to` (on every port), if the diff has
/// one: its group lists the endpoint or the address class.
pub fn change_for<'d>(diff: &'d Diff, from: &str, to: &str) -> Option<&'d Change> {
    let is = |p: &Party, id: &str| match p {
        Party::Endpoint(e) => e == id,
        Party::Address { label, .. } => label == id,
    };
    diff.changes
        .iter()
        .find(|c| c.sources.iter().any(|p| is(p, from)) && c.destinations.iter().any(|p| is(p, to)))
}

/// `+TCP 443 −TCP 80`: what a change adds and removes.
pub fn ports_change(change: &Change) -> String {
    let mut ports = Vec::new();
    // `ports_label` says "all ports" instead of three full ranges.
    if change.added != netpol_core::AllowedPorts::default() {
        ports.push(format!("+{}", ports_label(&change.added)));
    }
    if change.removed != netpol_core::AllowedPorts::default() {
        ports.push(format!("−{}", ports_label(&change.removed)));
    }
    ports.join(" ")
}

/// "2 connections added, 1 removed, 1 changed" (ordered endpoint pairs, not groups), or
/// "no connection changes".
pub fn headline(diff: &Diff) -> String {
    let count = |k: ChangeKind| -> usize {
        diff.changes
            .iter()
            .filter(|c| c.kind == k)
            .map(|c| c.sources.len() * c.destinations.len())
            .sum()
    };
    let (added, removed, changed) = (
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
        count(ChangeKind::Changed),
    );
    let noun = |n: usize| if n == 1 { "connection" } else { "connections" };
    let mut parts: Vec<String> = Vec::new();
    for (n, word) in [(added, "added"), (removed, "removed"), (changed, "changed")] {
        if n == 0 {
            continue;
        }
        // The noun only once: "2 connections added, 1 removed".
        if parts.is_empty() {
            parts.push(format!("{n} {} {word}", noun(n)));
        } else {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut text = if parts.is_empty() {
        "no connection changes".to_string()
    } else {
        parts.join(", ")
    };
    let endpoints = diff.added_endpoints.len() + diff.removed_endpoints.len();
    if endpoints > 0 {
        text.push_str(&format!(
            " · {} endpoint{} added, {} removed",
            diff.added_endpoints.len(),
            if diff.added_endpoints.len() == 1 {
                ""
            } else {
                "s"
            },
            diff.removed_endpoints.len()
        ));
    }
    text
}

/// One line per change group: `x/a, x/b → y/c: +TCP 443` / `−TCP 80`.
pub fn change_line(change: &Change) -> String {
    let side = |parties: &[netpol_core::diff::Party]| -> String {
        let names: Vec<String> = parties.iter().map(|p| p.to_string()).collect();
        if names.len() > 3 {
            format!("{} and {} more", names[..3].join(", "), names.len() - 3)
        } else {
            names.join(", ")
        }
    };
    format!(
        "{} → {}: {}",
        side(&change.sources),
        side(&change.destinations),
        ports_change(change)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::connectivity;
    use crate::probe::Probe;
    use std::collections::BTreeSet;

    const CLUSTER: &str = "pod x/a app=a\npod x/b app=b\npod x/c app=c\n";
    const ALLOW_A: &str = "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: a}}\n";
    const ALLOW_C: &str = "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: c}}\n";

    fn graph(p: &str, c: &str) -> (Analysis, Graph) {
        let a = Analysis::new(p, c);
        let g = connectivity::build(&a, &Probe::Any, false, &BTreeSet::new());
        (a, g)
    }

    fn find<'a>(g: &Graph, m: &'a [MergedEdge], from: &str, to: &str) -> Option<&'a MergedEdge> {
        let (f, t) = (g.index_of(from)?, g.index_of(to)?);
        m.iter().find(|e| e.from == f && e.to == t)
    }

    #[test]
    fn merge_marks_added_removed_and_kept_edges() {
        let (_, before) = graph(ALLOW_A, CLUSTER);
        let (_, after) = graph(ALLOW_C, CLUSTER);
        let Merged {
            edges: merged,
            unplaced,
        } = merge(&before, &after);
        assert_eq!(unplaced, 0);
        assert_eq!(
            find(&before, &merged, "x/a", "x/b").map(|e| e.status),
            Some(Status::Removed)
        );
        assert_eq!(
            find(&before, &merged, "x/c", "x/b").map(|e| e.status),
            Some(Status::Added)
        );
        // Not selected by the policy: allowed on both sides.
        assert_eq!(
            find(&before, &merged, "x/b", "x/a").map(|e| e.status),
            Some(Status::Both)
        );
    }

    #[test]
    fn identical_states_have_only_kept_edges() {
        let (_, before) = graph(ALLOW_A, CLUSTER);
        let merged = merge(&before, &before).edges;
        assert!(!merged.is_empty());
        assert!(merged.iter().all(|e| e.status == Status::Both));
    }

    #[test]
    fn edges_to_new_endpoints_are_counted_not_drawn() {
        let (_, before) = graph("", "pod x/a app=a\n");
        let (_, after) = graph("", "pod x/a app=a\npod x/d app=d\n");
        let Merged {
            edges: merged,
            unplaced,
        } = merge(&before, &after);
        // x/a and the outside addresses keep their edges; x/d's four (to and from x/a and
        // the outside) have no node in the before graph.
        assert!(merged.iter().all(|e| e.status == Status::Both));
        assert!(!merged.is_empty());
        assert_eq!(unplaced, 4);
    }

    #[test]
    fn the_table_pairs_both_states_and_keeps_new_endpoints() {
        let (_, before) = graph(ALLOW_A, CLUSTER);
        let (_, after) = graph(
            ALLOW_C,
            "pod x/a app=a\npod x/b app=b\npod x/c app=c\npod x/d app=d\n",
        );
        let t = Table::new(&before, &after);
        let row = |id: &str| t.ids.iter().position(|i| i == id).expect(id);
        assert_eq!(t.ids.last().map(String::as_str), Some("x/d"));
        let ab = t.pair(&before, &after, row("x/a"), row("x/b"));
        assert_eq!(
            (ab.before, ab.after),
            (Some(Cell::Allowed), Some(Cell::Denied))
        );
        assert_eq!(ab.change(), "removed");
        assert_eq!(
            t.pair(&before, &after, row("x/c"), row("x/b")).change(),
            "added"
        );
        assert_eq!(
            t.pair(&before, &after, row("x/b"), row("x/a")).change(),
            "same"
        );
        let new = t.pair(&before, &after, row("x/d"), row("x/a"));
        assert_eq!(
            (cell_word(new.before), cell_word(new.after)),
            ("absent", "allowed")
        );
        assert_eq!(new.change(), "added");
    }

    #[test]
    fn the_change_of_a_pair_comes_from_the_core_diff() {
        let (b, _) = graph(ALLOW_A, CLUSTER);
        let (a, _) = graph(ALLOW_C, CLUSTER);
        let d = netpol_core::diff::diff(&b.model, &a.model);
        let removed = change_for(&d, "x/a", "x/b").expect("a change");
        assert_eq!(removed.kind, ChangeKind::Removed);
        assert_eq!(ports_change(removed), "−all ports");
        assert!(change_for(&d, "x/b", "x/a").is_none());
    }

    #[test]
    fn headline_counts_groups() {
        let (b, _) = graph(ALLOW_A, CLUSTER);
        let (a, _) = graph(ALLOW_C, CLUSTER);
        let d = netpol_core::diff::diff(&b.model, &a.model);
        let text = headline(&d);
        assert!(text.contains("added"), "{text}");
        assert!(text.contains("removed"), "{text}");
        let same = netpol_core::diff::diff(&b.model, &b.model);
        assert_eq!(headline(&same), "no connection changes");
        let removed = d
            .changes
            .iter()
            .find(|c| c.kind == ChangeKind::Removed)
            .map(change_line)
            .unwrap_or_default();
        assert_eq!(removed, "x/a → x/b: −all ports");
        assert_eq!(text, "1 connection added, 1 removed");
    }
}
