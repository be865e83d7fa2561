//! The namespace overview: what a big graph says before anyone zooms in. Each namespace
//! (and the outside addresses) is one *area* with its pod count and how many of its pods
//! are isolated; each ordered pair of areas that a policy connects is one *link* with the
//! pod pairs it stands for, so a thousand namespaces read as a map, not a mosaic.
//!
//! Nothing here decides a connection: it sums the cells the graph already holds (the
//! engine's verdicts) per namespace pair, with the same split as the graph's counts —
//! allowed by policy, open (neither end isolated in its direction), denied — so the
//! overview's totals are the header's totals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::connectivity::{Cell, GraphOptions, Node, NodeKind};

/// Most links an overview keeps (the busiest; a namespace's panel lists all of its
/// connections from the graph).
pub const LINKS_CAP: usize = 2000;

/// The key that stands for the outside addresses where a namespace name is expected (not a
/// valid namespace name, so it cannot clash with one).
pub const OUTSIDE: &str = "(outside the cluster)";

/// Pod pairs by how they were decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Allowed because a policy's rule admits them.
    pub allowed: u64,
    /// Allowed because nothing isolates them (no policy decided).
    pub open: u64,
    /// Denied by isolation.
    pub denied: u64,
    /// Drawn-node pairs allowed by policy (the connections a panel lists).
    pub connections: usize,
}

impl Tally {
    fn add(&mut self, kind: Kind, pairs: u64) {
        match kind {
            Kind::Allowed => {
                self.allowed += pairs;
                self.connections += 1;
            }
            Kind::Open => self.open += pairs,
            Kind::Denied => self.denied += pairs,
        }
    }

    fn sum(&mut self, other: &Tally) {
        self.allowed += other.allowed;
        self.open += other.open;
        self.denied += other.denied;
        self.connections += other.connections;
    }

    /// Whether the view draws anything for it: policy-allowed pairs always, open and
    /// denied ones when asked.
    pub fn shown(&self, options: &GraphOptions) -> bool {
        self.allowed > 0
            || (options.unrestricted && self.open > 0)
            || (options.denied && self.denied > 0)
    }
}

/// One namespace, or the outside addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// The namespace (`None`: outside the cluster).
    pub namespace: Option<String>,
    /// Pods in it (for the outside: address classes).
    pub pods: u64,
    /// Drawn nodes in it.
    pub nodes: usize,
    /// Pods whose ingress a policy isolates.
    pub isolated_ingress: u64,
    /// Pods whose egress a policy isolates.
    pub isolated_egress: u64,
    /// Pods a policy isolates in either direction.
    pub isolated: u64,
    /// Pairs with both ends in it.
    pub inside: Tally,
}

impl Area {
    /// The namespace name, or [`OUTSIDE`].
    pub fn key(&self) -> &str {
        key(self.namespace.as_deref())
    }
}

/// "1 pod pair", "1,234 pod pairs".
pub fn pairs(n: u64) -> String {
    match n {
        1 => "1 pod pair".into(),
        n => format!("{} pod pairs", crate::scene::thousands(n as usize)),
    }
}

/// The area key of a namespace (or of the outside addresses).
pub fn key(namespace: Option<&str>) -> &str {
    namespace.unwrap_or(OUTSIDE)
}

/// Pairs from one area to another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Index into [`Overview::areas`].
    pub from: usize,
    /// Index into [`Overview::areas`].
    pub to: usize,
    /// The pairs.
    pub tally: Tally,
}

/// Areas and the links the view shows between them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// In the order of the graph's nodes (namespaces as laid out, then the outside).
    pub areas: Vec<Area>,
    /// Links the view shows (see [`Tally::shown`]), busiest first: allowed by policy, then
    /// open, then denied pod pairs. At most [`LINKS_CAP`].
    pub links: Vec<Link>,
    /// Links the view shows before the cap.
    pub links_total: usize,
}

impl Overview {
    /// The area of `key` (a namespace name or [`OUTSIDE`]).
    pub fn area(&self, key: &str) -> Option<usize> {
        self.areas.iter().position(|a| a.key() == key)
    }

    /// Keeps the areas for which `keep` holds, and the links between two of them for
    /// which `keep_link` holds.
    pub fn restrict(
        self,
        keep: impl Fn(&Area) -> bool,
        keep_link: impl Fn(&Area, &Area) -> bool,
    ) -> Overview {
        let mut index = vec![None; self.areas.len()];
        let mut areas = Vec::new();
        for (i, a) in self.areas.iter().enumerate() {
            if keep(a) {
                index[i] = Some(areas.len());
                areas.push(a.clone());
            }
        }
        let links: Vec<Link> = self
            .links
            .into_iter()
            .filter(|l| keep_link(&self.areas[l.from], &self.areas[l.to]))
            .filter_map(|l| {
                Some(Link {
                    from: index[l.from]?,
                    to: index[l.to]?,
                    tally: l.tally,
                })
            })
            .collect();
        Overview {
            links_total: links.len(),
            areas,
            links,
        }
    }
}

/// Every pair of the graph by kind, before the view's filters and cap: between pods, and
/// between a pod and an outside address (the graph's header counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    /// Both ends pods.
    pub pods: Tally,
    /// One end an outside address.
    pub address: Tally,
}

#[derive(Clone, Copy)]
enum Kind {
    Allowed,
    Open,
    Denied,
}

/// Sums `cells` (`cells[a * k + b]` for the `k` nodes) per pair of areas, and over the
/// whole graph. `open(a, b)` says whether nodes `a` and `b` are an open pair (the graph's
/// own test for its edges). A group's own cell counts the pairs of distinct members.
pub fn build(
    nodes: &[Node],
    cells: &[Cell],
    open: impl Fn(usize, usize) -> bool,
    options: &GraphOptions,
) -> (Overview, Sums) {
    let (mut areas, area_of) = areas(nodes);
    let k = nodes.len();
    // Sources area by area, each area's row of tallies dense (one slot per area): no map
    // lookup per cell, and a million cells stay a few milliseconds.
    let mut sources: Vec<usize> = (0..k).collect();
    sources.sort_by_key(|&a| area_of[a]);
    let mut links: Vec<((usize, usize), Tally)> = Vec::new();
    let mut sums = Sums::default();
    let outside = areas.iter().position(|a| a.namespace.is_none());
    let mut row = vec![Tally::default(); areas.len()];
    for (n, &a) in sources.iter().enumerate() {
        let x = area_of[a];
        for b in 0..k {
            let kind = match cells.get(a * k + b) {
                Some(Cell::Allowed) if open(a, b) => Kind::Open,
                Some(Cell::Allowed) => Kind::Allowed,
                Some(Cell::Denied) => Kind::Denied,
                _ => continue,
            };
            let (sa, sb) = (nodes[a].size as u64, nodes[b].size as u64);
            let pairs = if a == b {
                sa * sa.saturating_sub(1)
            } else {
                sa * sb
            };
            if pairs > 0 {
                row[area_of[b]].add(kind, pairs);
            }
        }
        let last = sources.get(n + 1).is_none_or(|&next| area_of[next] != x);
        if last {
            for (y, t) in row.iter_mut().enumerate() {
                let t = std::mem::take(t);
                if outside == Some(x) || outside == Some(y) {
                    sums.address.sum(&t);
                } else {
                    sums.pods.sum(&t);
                }
                if y == x {
                    areas[x].inside = t;
                } else if t != Tally::default() {
                    links.push(((x, y), t));
                }
            }
        }
    }
    let mut links: Vec<Link> = links
        .into_iter()
        .filter(|(_, t)| t.shown(options))
        .map(|((from, to), tally)| Link { from, to, tally })
        .collect();
    links.sort_by(|p, q| {
        let weight = |l: &Link| (l.tally.allowed, l.tally.open, l.tally.denied);
        weight(q).cmp(&weight(p))
    });
    let links_total = links.len();
    links.truncate(LINKS_CAP);
    let overview = Overview {
        areas,
        links,
        links_total,
    };
    (overview, sums)
}

/// One area per namespace (in node order) and the outside, with each node's area.
fn areas(nodes: &[Node]) -> (Vec<Area>, Vec<usize>) {
    let mut areas: Vec<Area> = Vec::new();
    let mut index: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut area_of = Vec::with_capacity(nodes.len());
    for n in nodes {
        let i = *index.entry(n.namespace.as_deref()).or_insert_with(|| {
            areas.push(Area {
                namespace: n.namespace.clone(),
                ..Area::default()
            });
            areas.len() - 1
        });
        let area = &mut areas[i];
        area.nodes += 1;
        area.pods += n.size as u64;
        if !matches!(n.kind, NodeKind::Address(_)) {
            let size = n.size as u64;
            if !n.open_ingress() {
                area.isolated_ingress += size;
            }
            if !n.open_egress() {
                area.isolated_egress += size;
            }
            if !n.open_ingress() || !n.open_egress() {
                area.isolated += size;
            }
        }
        area_of.push(i);
    }
    (areas, area_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Isolation;

    fn node(ns: Option<&str>, size: usize, isolation: Isolation) -> Node {
        Node {
            id: format!("{ns:?}/{size}"),
            label: String::new(),
            detail: String::new(),
            namespace: ns.map(str::to_string),
            kind: if ns.is_some() {
                NodeKind::Pod(0)
            } else {
                NodeKind::Address(0)
            },
            isolation,
            size,
        }
    }

    #[test]
    fn sums_pairs_per_namespace_pair_by_kind() {
        use Cell::{Allowed as A, Denied as D, NotApplicable as N};
        let nodes = vec![
            node(Some("a"), 3, Isolation::Ingress),
            node(Some("a"), 1, Isolation::None),
            node(Some("b"), 2, Isolation::Both),
            node(None, 1, Isolation::None),
        ];
        #[rustfmt::skip]
        let cells = vec![
            A, A, D, A,
            A, A, A, N,
            A, D, A, A,
            N, N, D, N,
        ];
        // Pairs into node 1 (not isolated) from a non-egress-isolated node are open.
        let open = |a: usize, b: usize| b == 1 && a != 2;
        let options = GraphOptions {
            denied: true,
            ..GraphOptions::default()
        };
        let (o, sums) = build(&nodes, &cells, open, &options);
        assert_eq!(o.areas.len(), 3);
        let a = &o.areas[0];
        assert_eq!(
            (
                a.pods,
                a.nodes,
                a.isolated_ingress,
                a.isolated_egress,
                a.isolated
            ),
            (4, 2, 3, 0, 3)
        );
        assert_eq!(o.areas[1].isolated, 2);
        // a→a: node 0 with itself 3·2 = 6 allowed; 0→1 open 3; 1→0 allowed 3; 1→1 none.
        assert_eq!(a.inside.allowed, 9);
        assert_eq!(a.inside.open, 3);
        let find = |f: usize, t: usize| o.links.iter().find(|l| l.from == f && l.to == t);
        // a→b: 0→2 denied 3·2 = 6; 1→2 allowed 2.
        let ab = find(0, 1).expect("a→b");
        assert_eq!(
            (ab.tally.allowed, ab.tally.denied, ab.tally.connections),
            (2, 6, 1)
        );
        // b→a: 2→0 allowed 6; 2→1 denied 2 (node 2's egress is isolated: not open).
        let ba = find(1, 0).expect("b→a");
        assert_eq!((ba.tally.allowed, ba.tally.denied), (6, 2));
        // The busiest first.
        assert_eq!((o.links[0].from, o.links[0].to), (1, 0));
        // b→outside allowed 2; a→outside allowed 3; outside→b denied 2.
        assert_eq!(find(0, 2).map(|l| l.tally.allowed), Some(3));
        assert_eq!(find(2, 1).map(|l| l.tally.denied), Some(2));
        // Between pods: allowed 9 + 2 + 6 + 2 (b inside), open 3, denied 6 + 2; with the
        // outside: allowed 3 + 2, denied 2.
        assert_eq!(
            (sums.pods.allowed, sums.pods.open, sums.pods.denied),
            (19, 3, 8)
        );
        assert_eq!((sums.address.allowed, sums.address.denied), (5, 2));
    }

    #[test]
    fn denied_links_are_left_out_unless_asked() {
        let nodes = vec![
            node(Some("a"), 1, Isolation::Both),
            node(Some("b"), 1, Isolation::Both),
        ];
        let cells = vec![Cell::Allowed, Cell::Denied, Cell::Denied, Cell::Allowed];
        let (o, _) = build(&nodes, &cells, |_, _| false, &GraphOptions::default());
        assert!(o.links.is_empty());
        assert_eq!(o.links_total, 0);
        let restricted = build(
            &nodes,
            &cells,
            |_, _| false,
            &GraphOptions {
                denied: true,
                ..GraphOptions::default()
            },
        )
        .0
        .restrict(|a| a.key() == "a", |_, _| true);
        assert_eq!(restricted.areas.len(), 1);
        assert!(restricted.links.is_empty());
    }
}
