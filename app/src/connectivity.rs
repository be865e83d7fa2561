//! From an [`Analysis`] and a [`Probe`] to the graph both views draw: nodes (endpoints,
//! collapsed groups, outside-address classes), a cell per ordered pair, and edges.
//!
//! Every port set comes from the core, computed once per analysis in [`Reach`]: the
//! engine's exact allowed ports per pair of pod classes and per pod class and address
//! class. A probe only reads those sets — "any port" asks whether a set is empty, a port
//! whether it is in the set, a named port resolves on each destination pod through
//! `netpol_core::named_ports` — so no port is ever probed to stand for the others.
//!
//! This module decides what to *draw*:
//! - **Relations, not meshes.** A pair allowed only because neither side is isolated in
//!   that direction (the core's `Connectivity::open`) is a property of its ends, shown as
//!   their "open ingress"/"open egress" marks; its edge exists only when asked for
//!   ([`GraphOptions::unrestricted`]). Everything a policy decided — allowed by a rule, or
//!   denied — is an edge (denied ones when asked, [`GraphOptions::denied`]).
//! - **Groups.** Pods of one engine class behave identically, so above
//!   [`GROUP_THRESHOLD`] endpoints the classes of a namespace with the same port sets in
//!   every row and column collapse into one group node, named by what its members share
//!   ([`crate::groups`]), and a thousand pods stay a readable picture.
//! - **Counts in pod pairs**: a group edge stands for every pair of its members.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use netpol_core::exposure::{Namespaces, Peer};
use netpol_core::named_ports;
use netpol_core::render;
use netpol_core::{AllowedPorts, Endpoint, Model, PortRef};
use petgraph::graphmap::DiGraphMap;
use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Isolation};
use crate::groups;
use crate::overview::{self, Overview};
use crate::probe::Probe;
use crate::reach::Side;
pub use crate::reach::{Reach, GROUP_THRESHOLD};

/// Up to this many drawn edges, "any port" edges carry port labels.
pub const LABEL_LIMIT: usize = 400;

/// What a drawn node stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// One endpoint (pod index).
    Pod(usize),
    /// Endpoints with identical connectivity (pod indices, sorted, at least two).
    Group(Vec<usize>),
    /// An outside-address class (index into `Analysis::classes`).
    Address(usize),
}

/// A drawn node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// `namespace/name` for endpoints, `group:<first member id>` for groups, the class
    /// label for addresses. Stable across edits that do not rename things.
    pub id: String,
    /// Short text drawn in the node: the workload or pod name, a group's shared labels.
    pub label: String,
    /// The second line: a pod's telling label, a group's size and origin.
    pub detail: String,
    /// Namespace box it belongs to (`None` for outside addresses).
    pub namespace: Option<String>,
    /// What it is.
    pub kind: NodeKind,
    /// Isolation (the engine's, of the representative for groups; `None` for addresses).
    pub isolation: Isolation,
    /// Endpoints it stands for (1, or a group's members).
    pub size: usize,
}

impl Node {
    /// Open ingress: no policy isolates its ingress, so every peer whose own egress lets
    /// it out may connect (those pairs are not drawn one by one).
    pub fn open_ingress(&self) -> bool {
        !matches!(self.kind, NodeKind::Address(_))
            && matches!(self.isolation, Isolation::None | Isolation::Egress)
    }

    /// Open egress: no policy isolates its egress.
    pub fn open_egress(&self) -> bool {
        !matches!(self.kind, NodeKind::Address(_))
            && matches!(self.isolation, Isolation::None | Isolation::Ingress)
    }
}

/// One ordered pair's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    /// The connection is allowed.
    Allowed,
    /// The connection is denied.
    Denied,
    /// Not a question we ask (address to address, or a named port an address cannot have).
    NotApplicable,
}

/// A drawn connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Index into [`Graph::nodes`].
    pub from: usize,
    /// Index into [`Graph::nodes`].
    pub to: usize,
    /// Allowed (solid) or denied (dashed, only with "show denied").
    pub allowed: bool,
    /// Port label in "any port" mode (`TCP 53,3306; UDP 53`), else `None`.
    pub ports: Option<String>,
    /// No policy decided it: neither end is isolated in its direction (only drawn with
    /// "show unrestricted").
    #[serde(default)]
    pub open: bool,
}

/// What the graph shows besides the decided, allowed pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GraphOptions {
    /// Draw denied pairs too (dashed).
    pub denied: bool,
    /// Draw the pairs no policy decided (open on both sides), one edge each.
    pub unrestricted: bool,
    /// Group node ids the user expanded.
    pub expanded: BTreeSet<String>,
    /// Namespaces to show (with the peers their drawn edges reach); empty: all.
    pub namespaces: BTreeSet<String>,
}

/// Ordered pairs of distinct endpoints, by how they were decided (a group edge counts
/// every pair of members; pairs with an outside address are counted apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Pod pairs a rule allows.
    pub allowed: u64,
    /// Pod pairs allowed because neither side is isolated.
    pub open: u64,
    /// Pod pairs denied.
    pub denied: u64,
    /// Pairs of a pod and an outside-address class that are allowed.
    pub address_allowed: u64,
}

/// Edges a view asks for, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Allowed by policy.
    pub allowed: usize,
    /// Allowed, open on both sides (only counted when asked for).
    pub open: usize,
    /// Denied (only counted when asked for).
    pub denied: usize,
}

impl Totals {
    /// Every edge the view asks for.
    pub fn all(&self) -> usize {
        self.allowed + self.open + self.denied
    }
}

/// At most this many edges, the ones touching `focus` first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limit {
    /// Most edges kept (`usize::MAX`: all).
    pub edges: usize,
    /// A node id whose edges come before the others.
    pub focus: Option<String>,
}

/// An expanded group: still a thing the user can select and collapse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The group's node id (`group:<first member id>`).
    pub id: String,
    /// Its name (shared labels, workload).
    pub label: String,
    /// Its description (`12 pods of Deployment api`).
    pub detail: String,
    /// Namespace.
    pub namespace: String,
    /// Member pod indices.
    pub members: Vec<usize>,
}

/// The drawable connectivity for one probe.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Graph {
    /// Nodes: endpoints/groups in pod order (so namespaces are contiguous), then addresses.
    pub nodes: Vec<Node>,
    /// `cells[a * nodes.len() + b]`: from node `a` to node `b`. Empty when the worker left
    /// them out of a very large graph (see [`Graph::cells_omitted`]).
    #[serde(with = "cell_codes")]
    pub cells: Vec<Cell>,
    /// Drawn edges, most important first: allowed by policy, then open (when asked), then
    /// denied (when asked). Self-pairs excluded.
    pub edges: Vec<Edge>,
    /// Whether any group node exists (collapsed or not).
    pub grouped: bool,
    /// Groups the user expanded, so a selected group survives its expansion.
    #[serde(default)]
    pub groups: Vec<GroupInfo>,
    /// Pod pairs by how they were decided, over the whole graph (before a namespace filter).
    #[serde(default)]
    pub counts: Counts,
    /// Open (undecided) allowed edges not drawn because "show unrestricted" is off.
    #[serde(default)]
    pub hidden_open: usize,
    /// Edges of the view by kind before any limit ([`build_limited`]): `edges` may hold
    /// fewer.
    #[serde(default)]
    pub totals: Totals,
    /// Nodes left out by the namespace filter.
    #[serde(default)]
    pub filtered_out: usize,
    /// True when `cells` was left out to keep a huge graph small.
    #[serde(default)]
    pub cells_omitted: bool,
    /// Pod pairs per namespace pair: the overview a big graph opens on.
    #[serde(default)]
    pub overview: Overview,
    /// The connectivity as a petgraph graph over node indices (allowed drawn edges).
    #[serde(skip)]
    pub graph: DiGraphMap<usize, ()>,
}

/// `cells` as one character per cell (`a`llowed, `d`enied, `n`ot applicable): a thousand
/// nodes make a million cells, which JSON arrays would make forty times bigger.
mod cell_codes {
    use super::Cell;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cells: &[Cell], s: S) -> Result<S::Ok, S::Error> {
        let text: String = cells
            .iter()
            .map(|c| match c {
                Cell::Allowed => 'a',
                Cell::Denied => 'd',
                Cell::NotApplicable => 'n',
            })
            .collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cell>, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text
            .bytes()
            .map(|b| match b {
                b'a' => Cell::Allowed,
                b'd' => Cell::Denied,
                _ => Cell::NotApplicable,
            })
            .collect())
    }
}

impl Graph {
    /// State of the pair `from -> to` (node indices); out of range is `NotApplicable`.
    pub fn cell(&self, from: usize, to: usize) -> Cell {
        let n = self.nodes.len();
        if from >= n || to >= n {
            return Cell::NotApplicable;
        }
        self.cells
            .get(from * n + to)
            .copied()
            .unwrap_or(Cell::NotApplicable)
    }

    /// Index of the node with `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// The expanded group with node id `id`.
    pub fn group(&self, id: &str) -> Option<&GroupInfo> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Allowed edges as `(from id, to id)`, for what-if comparisons.
    pub fn allowed_pairs(&self) -> BTreeSet<(String, String)> {
        self.edges
            .iter()
            .filter(|e| e.allowed)
            .filter_map(|e| {
                Some((
                    self.nodes.get(e.from)?.id.clone(),
                    self.nodes.get(e.to)?.id.clone(),
                ))
            })
            .collect()
    }

    /// Rebuilds the petgraph index from `edges` (after the graph crossed from the worker).
    pub fn index_edges(&mut self) {
        let mut graph = DiGraphMap::new();
        for a in 0..self.nodes.len() {
            graph.add_node(a);
        }
        for e in self.edges.iter().filter(|e| e.allowed) {
            graph.add_edge(e.from, e.to, ());
        }
        self.graph = graph;
    }

    /// Peers node `index` may receive from / send to (allowed drawn edges), by id.
    pub fn peers(&self, index: usize) -> (Vec<String>, Vec<String>) {
        if !self.graph.contains_node(index) {
            return (Vec::new(), Vec::new());
        }
        let name = |i: usize| self.nodes.get(i).map(|n| n.id.clone()).unwrap_or_default();
        let mut egress: Vec<String> = self
            .graph
            .neighbors_directed(index, petgraph::Direction::Outgoing)
            .filter(|i| *i != index)
            .map(name)
            .collect();
        let mut ingress: Vec<String> = self
            .graph
            .neighbors_directed(index, petgraph::Direction::Incoming)
            .filter(|i| *i != index)
            .map(name)
            .collect();
        egress.sort();
        ingress.sort();
        (ingress, egress)
    }

    /// Pod pairs an edge stands for: every member of one end with every member of the other.
    pub fn pairs_of(&self, edge: &Edge) -> u64 {
        let size = |i: usize| self.nodes.get(i).map_or(0, |n| n.size as u64);
        size(edge.from) * size(edge.to)
    }
}

/// The endpoint a node stands for when asking the core (a group asks through its first member).
pub fn representative(analysis: &Analysis, node: &Node) -> Option<Endpoint> {
    match &node.kind {
        NodeKind::Pod(i) => Some(Endpoint::Pod(*i)),
        NodeKind::Group(members) => members.first().map(|i| Endpoint::Pod(*i)),
        NodeKind::Address(c) => analysis
            .classes
            .get(*c)
            .map(|c| Endpoint::Address(c.representative)),
    }
}

/// Text for allowed ports: the core's one format (`all ports`, `TCP 53,3306; UDP 53`,
/// `nothing`), so edge labels read like the CLI's output.
pub fn ports_label(ports: &AllowedPorts) -> String {
    ports.to_string()
}

/// Whether the port set `ports` admits `probe` towards a destination whose container ports
/// named by the probe are `named` (`None`: an address, which has no named ports).
fn admits(ports: &AllowedPorts, probe: &Probe, named: Option<&[u16]>) -> Cell {
    match probe {
        Probe::Any => bool_cell(!ports.is_empty()),
        Probe::Port(proto, PortRef::Number(n)) => bool_cell(ports.get(*proto).contains(*n)),
        Probe::Port(proto, PortRef::Name(_)) => match named {
            Some(numbers) => bool_cell(numbers.iter().any(|n| ports.get(*proto).contains(*n))),
            None => Cell::NotApplicable,
        },
    }
}

fn bool_cell(allowed: bool) -> Cell {
    if allowed {
        Cell::Allowed
    } else {
        Cell::Denied
    }
}

/// What a named probe resolves to on pod `pod` (empty for a numeric probe or "any port").
fn probe_numbers(analysis: &Analysis, probe: &Probe, pod: usize) -> Vec<u16> {
    match (probe, analysis.model.cluster.pods.get(pod)) {
        (Probe::Port(proto, PortRef::Name(name)), Some(p)) => named_ports(p, name, *proto),
        _ => Vec::new(),
    }
}

/// Pods drawn together: one per pod on small clusters; above [`GROUP_THRESHOLD`], the pods
/// of one class family, split by what a named probe resolves to on each (classes only
/// promise the same answer for the names the policies mention). Sorted by first member.
fn units(analysis: &Analysis, probe: &Probe) -> Vec<Vec<usize>> {
    let n = analysis.model.cluster.pods.len();
    if n <= GROUP_THRESHOLD {
        return (0..n).map(|i| vec![i]).collect();
    }
    let reach = analysis.reach();
    let mut by_key: BTreeMap<(u32, Vec<u16>), Vec<usize>> = BTreeMap::new();
    for pod in 0..n {
        let family = reach
            .class_of(pod)
            .and_then(|c| reach.family.get(c))
            .copied();
        // A pod the engine has no class for (not expected) is drawn alone.
        let key = (
            family.unwrap_or(u32::MAX - pod as u32),
            probe_numbers(analysis, probe, pod),
        );
        by_key.entry(key).or_default().push(pod);
    }
    let mut units: Vec<Vec<usize>> = by_key.into_values().collect();
    units.sort_by_key(|u| u.first().copied().unwrap_or(0));
    units
}

/// Nodes for `units` (a unit of several pods is a group node unless expanded), then one
/// per address class; and the expanded groups.
fn nodes(
    analysis: &Analysis,
    units: Vec<Vec<usize>>,
    expanded: &BTreeSet<String>,
) -> (Vec<Node>, bool, Vec<GroupInfo>) {
    let pods = &analysis.model.cluster.pods;
    let mut nodes = Vec::new();
    let mut grouped = false;
    let mut groups = Vec::new();
    for members in units {
        let Some(pod) = members.first().and_then(|i| pods.get(*i)) else {
            continue;
        };
        let isolation = analysis
            .isolation
            .get(members[0])
            .copied()
            .unwrap_or_default();
        if members.len() > 1 {
            grouped = true;
            let id = format!("group:{}", pod.id);
            let name = groups::name(
                &members
                    .iter()
                    .filter_map(|i| pods.get(*i))
                    .collect::<Vec<_>>(),
            );
            if expanded.contains(&id) {
                groups.push(GroupInfo {
                    id,
                    label: name.label,
                    detail: name.detail,
                    namespace: pod.namespace.clone(),
                    members: members.clone(),
                });
            } else {
                nodes.push(Node {
                    id,
                    label: name.label,
                    detail: name.detail,
                    namespace: Some(pod.namespace.clone()),
                    isolation,
                    size: members.len(),
                    kind: NodeKind::Group(members),
                });
                continue;
            }
        }
        for i in members {
            let pod = &pods[i];
            nodes.push(Node {
                id: pod.id.clone(),
                label: pod_label(pod),
                detail: pod_detail(pod),
                namespace: Some(pod.namespace.clone()),
                isolation: analysis.isolation.get(i).copied().unwrap_or_default(),
                size: 1,
                kind: NodeKind::Pod(i),
            });
        }
    }
    for (c, class) in analysis.classes.iter().enumerate() {
        nodes.push(Node {
            id: class.label.clone(),
            label: class.label.clone(),
            detail: "outside address".into(),
            namespace: None,
            isolation: Isolation::None,
            size: 1,
            kind: NodeKind::Address(c),
        });
    }
    (nodes, grouped, groups)
}

/// The engine side of a node (its first member's class for a group).
fn side(analysis: &Analysis, node: &Node) -> Option<Side> {
    let reach = analysis.reach();
    match &node.kind {
        NodeKind::Pod(i) => reach.class_of(*i).map(Side::Class),
        NodeKind::Group(members) => members
            .first()
            .and_then(|i| reach.class_of(*i))
            .map(Side::Class),
        NodeKind::Address(c) => Some(Side::Address(*c)),
    }
}

/// Builds the graph for `probe` with every allowed pair drawn (open ones included), and
/// denied ones when `with_denied`: the graph compare mode unions. `expanded` holds group
/// ids the user opened.
pub fn build(
    analysis: &Analysis,
    probe: &Probe,
    with_denied: bool,
    expanded: &BTreeSet<String>,
) -> Graph {
    let options = GraphOptions {
        denied: with_denied,
        unrestricted: true,
        expanded: expanded.clone(),
        namespaces: BTreeSet::new(),
    };
    build_with(analysis, probe, &options)
}

/// Builds the graph for `probe` as `options` ask: the relations policies decided, and
/// open or denied pairs only when asked, limited to some namespaces when asked.
pub fn build_with(analysis: &Analysis, probe: &Probe, options: &GraphOptions) -> Graph {
    let all = Limit {
        edges: usize::MAX,
        focus: None,
    };
    build_limited(analysis, probe, options, &all)
}

/// [`build_with`] keeping at most `limit.edges` edges, in order of importance (the focused
/// node's, then allowed by policy, open, denied); [`Graph::totals`] counts them all.
pub fn build_limited(
    analysis: &Analysis,
    probe: &Probe,
    options: &GraphOptions,
    limit: &Limit,
) -> Graph {
    let (nodes, grouped, groups) = nodes(analysis, units(analysis, probe), &options.expanded);
    let sides: Vec<Option<Side>> = nodes.iter().map(|n| side(analysis, n)).collect();
    let cells = cells(analysis, probe, &nodes, &sides);
    // One pass over the cells sums them per namespace pair (the overview) and over the
    // whole graph (the header's counts).
    let (overview, sums) = overview::build(
        &nodes,
        &cells,
        |a, b| is_open(analysis.reach(), &sides, a, b),
        options,
    );
    let counts = Counts {
        allowed: sums.pods.allowed,
        open: sums.pods.open,
        denied: sums.pods.denied,
        address_allowed: sums.address.allowed + sums.address.open,
    };
    let inside: Vec<bool> = nodes
        .iter()
        .map(|n| {
            options.namespaces.is_empty()
                || n.namespace
                    .as_ref()
                    .is_some_and(|ns| options.namespaces.contains(ns))
        })
        .collect();
    let focus = limit
        .focus
        .as_deref()
        .and_then(|id| nodes.iter().position(|n| n.id == id));
    let wanted = Wanted {
        options,
        inside: &inside,
        focus,
        limit: limit.edges,
    };
    let (mut edges, totals, hidden_open) = edges(analysis.reach(), &cells, &sides, &wanted);
    // Labels are free (one per distinct set) but only readable on small graphs; large
    // graphs show the ports in the explanation of the clicked edge instead.
    if *probe == Probe::Any && edges.len() <= LABEL_LIMIT {
        label_edges(analysis.reach(), &mut edges, &sides);
    }
    let mut graph = Graph {
        nodes,
        cells,
        edges,
        grouped,
        groups,
        counts,
        hidden_open,
        totals,
        overview,
        ..Graph::default()
    };
    if !options.namespaces.is_empty() {
        graph = restrict(graph, &inside);
        let present: BTreeSet<Option<&str>> =
            graph.nodes.iter().map(|n| n.namespace.as_deref()).collect();
        let asked = |a: &overview::Area| {
            a.namespace
                .as_ref()
                .is_some_and(|ns| options.namespaces.contains(ns))
        };
        graph.overview = std::mem::take(&mut graph.overview).restrict(
            |a| present.contains(&a.namespace.as_deref()),
            |a, b| asked(a) || asked(b),
        );
    }
    graph.index_edges();
    graph
}

/// Each pair's state for `probe`, read from its port set (a named probe resolves on the
/// destination node's pod).
fn cells(analysis: &Analysis, probe: &Probe, nodes: &[Node], sides: &[Option<Side>]) -> Vec<Cell> {
    let reach = analysis.reach();
    let named: Vec<Option<Vec<u16>>> = nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::Pod(i) => Some(probe_numbers(analysis, probe, *i)),
            NodeKind::Group(m) => Some(
                m.first()
                    .map_or_else(Vec::new, |i| probe_numbers(analysis, probe, *i)),
            ),
            NodeKind::Address(_) => None,
        })
        .collect();
    let mut cells = Vec::with_capacity(nodes.len() * nodes.len());
    for src in sides {
        for (dst, named) in sides.iter().zip(&named) {
            let ports = src
                .zip(*dst)
                .and_then(|(s, d)| reach.set_between(s, d))
                .and_then(|id| reach.set(id));
            cells.push(match ports {
                Some(ports) => admits(ports, probe, named.as_deref()),
                None => Cell::NotApplicable,
            });
        }
    }
    cells
}

/// Which edges to keep.
struct Wanted<'a> {
    options: &'a GraphOptions,
    /// Per node: in the namespaces asked for (edges need one such end).
    inside: &'a [bool],
    focus: Option<usize>,
    limit: usize,
}

/// The drawn edges, most important first — the focused node's, allowed by policy, then
/// open ones when asked, then denied ones when asked — at most `limit`, with the totals
/// by kind and how many open ones were left out.
fn edges(
    reach: &Reach,
    cells: &[Cell],
    sides: &[Option<Side>],
    wanted: &Wanted,
) -> (Vec<Edge>, Totals, usize) {
    let k = sides.len();
    // [focus, decided, open, denied]; none needs more than `limit`.
    let mut kinds: [Vec<Edge>; 4] = Default::default();
    let mut totals = Totals::default();
    let mut hidden_open = 0;
    let keep = |slot: usize, edge: Edge, kinds: &mut [Vec<Edge>; 4]| {
        let focused = wanted.focus.is_some_and(|f| edge.from == f || edge.to == f);
        let slot = if focused { 0 } else { slot };
        if kinds[slot].len() < wanted.limit {
            kinds[slot].push(edge);
        }
    };
    for a in 0..k {
        for b in (0..k).filter(|b| *b != a && (wanted.inside[a] || wanted.inside[*b])) {
            let is_open = is_open(reach, sides, a, b);
            let edge = |allowed| Edge {
                from: a,
                to: b,
                allowed,
                ports: None,
                open: is_open,
            };
            match cells[a * k + b] {
                Cell::Allowed if !is_open => {
                    totals.allowed += 1;
                    keep(1, edge(true), &mut kinds);
                }
                Cell::Allowed if wanted.options.unrestricted => {
                    totals.open += 1;
                    keep(2, edge(true), &mut kinds);
                }
                Cell::Allowed => hidden_open += 1,
                Cell::Denied if wanted.options.denied => {
                    totals.denied += 1;
                    keep(3, edge(false), &mut kinds);
                }
                _ => {}
            }
        }
    }
    let [focus, decided, open, denied] = kinds;
    // The focused node's edges, allowed ones first there too.
    let (mut out, focus_denied): (Vec<Edge>, Vec<Edge>) =
        focus.into_iter().partition(|e| e.allowed);
    out.extend(focus_denied);
    out.extend(decided);
    out.extend(open);
    out.extend(denied);
    out.truncate(wanted.limit);
    (out, totals, hidden_open)
}

/// Whether nodes `a` and `b` are an open pair: allowed because neither end is isolated in
/// its direction (the core's `Connectivity::open`).
fn is_open(reach: &Reach, sides: &[Option<Side>], a: usize, b: usize) -> bool {
    match (sides[a], sides[b]) {
        (Some(s), Some(d)) => reach.open(s, d),
        _ => false,
    }
}

/// "Any port" labels on allowed edges: the port set of the pair, worded once per set.
fn label_edges(reach: &Reach, edges: &mut [Edge], sides: &[Option<Side>]) {
    let mut labels: BTreeMap<u32, String> = BTreeMap::new();
    for e in edges.iter_mut().filter(|e| e.allowed) {
        let id = match (sides[e.from], sides[e.to]) {
            (Some(s), Some(d)) => reach.set_between(s, d),
            _ => None,
        };
        if let Some(id) = id {
            let label = labels
                .entry(id)
                .or_insert_with(|| reach.set(id).map(ports_label).unwrap_or_default());
            e.ports = Some(label.clone());
        }
    }
}

/// The graph limited to the nodes `inside` the namespaces asked for and the nodes their
/// edges reach (every edge kept has an end inside).
fn restrict(graph: Graph, inside: &[bool]) -> Graph {
    let mut keep: Vec<bool> = inside.to_vec();
    for e in &graph.edges {
        keep[e.from] = true;
        keep[e.to] = true;
    }
    let old: Vec<usize> = (0..graph.nodes.len()).filter(|i| keep[*i]).collect();
    let mut new_index = vec![usize::MAX; graph.nodes.len()];
    for (n, o) in old.iter().enumerate() {
        new_index[*o] = n;
    }
    let k = graph.nodes.len();
    let cells = old
        .iter()
        .flat_map(|a| old.iter().map(move |b| (*a, *b)))
        .map(|(a, b)| {
            graph
                .cells
                .get(a * k + b)
                .copied()
                .unwrap_or(Cell::NotApplicable)
        })
        .collect();
    let edges = graph
        .edges
        .iter()
        .map(|e| Edge {
            from: new_index[e.from],
            to: new_index[e.to],
            ..e.clone()
        })
        .collect();
    let nodes: Vec<Node> = old.iter().map(|i| graph.nodes[*i].clone()).collect();
    Graph {
        filtered_out: k - nodes.len(),
        nodes,
        cells,
        edges,
        ..graph
    }
}

/// `name` for pods, `Kind/name` for workloads (the namespace is the box around it).
fn pod_label(pod: &netpol_core::Pod) -> String {
    match &pod.workload {
        Some(kind) => format!("{kind}/{}", pod.name),
        None => pod.name.clone(),
    }
}

/// A pod's telling label (`app=api`), or "no labels".
fn pod_detail(pod: &netpol_core::Pod) -> String {
    pod.labels
        .iter()
        .find(|(k, _)| !k.contains('/'))
        .or(pod.labels.iter().next())
        .map(|(k, v)| format!("{k}={v}"))
        .unwrap_or_else(|| "no labels".into())
}

/// Display name of an endpoint: the pod id, or the address class / IP.
pub fn endpoint_name(analysis: &Analysis, endpoint: Endpoint) -> String {
    match endpoint {
        Endpoint::Pod(i) => analysis
            .model
            .cluster
            .pods
            .get(i)
            .map(|p| p.id.clone())
            .unwrap_or_default(),
        Endpoint::Address(ip) => analysis
            .classes
            .iter()
            .find(|c| c.representative == ip)
            .map(|c| format!("{} ({ip})", c.label))
            .unwrap_or_else(|| ip.to_string()),
    }
}

/// The address of an endpoint, if it is one.
pub fn address_of(endpoint: Endpoint) -> Option<IpAddr> {
    match endpoint {
        Endpoint::Address(ip) => Some(ip),
        Endpoint::Pod(_) => None,
    }
}

// ---------------------------------------------------------------------------------------
// Exposure: ghost nodes for pods that do not exist yet

/// The layout box of ghosts whose namespaces are chosen by a selector (any namespace, or
/// namespaces labelled so): not a namespace name (`*` is not a DNS label), so it never
/// collides with one. Ghosts of one named namespace sit in that namespace's box.
pub const GHOST_BOX: &str = "*";

/// Prefix of ghost node ids, so a selection tells ghosts from endpoints.
pub const GHOST_PREFIX: &str = "exposure:";

/// A peer that does not exist yet, described by the selectors of the rules admitting it
/// (`netpol_core::exposure`): drawn as a ghost node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ghost {
    /// `exposure:` + the description; stable across edits that keep the selectors.
    pub id: String,
    /// Short text in the node: the pod selector (`app=web`) or `any pod`.
    pub label: String,
    /// The whole description, `pods labelled app=web in namespace shop`.
    pub description: String,
    /// The layout box: its namespace when it names one, else [`GHOST_BOX`].
    pub namespace: String,
    /// Endpoints of the input the description matches now, by id.
    pub matches_now: Vec<String>,
}

/// What a ghost may do with a drawn endpoint, by the endpoint's own policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostEdge {
    /// Index into [`Exposure::ghosts`].
    pub ghost: usize,
    /// Index into [`Graph::nodes`] (an endpoint or a group).
    pub node: usize,
    /// `true`: the ghost may connect to the node (the node's ingress); `false`: the node may
    /// connect to the ghost (its egress).
    pub incoming: bool,
    /// The ports admitted, in the core's words (`TCP 80`, `all ports`).
    pub ports: String,
}

/// The exposure overlay of a graph: ghosts and their edges. Only sides some policy (of any
/// tier) selects get edges — a side no policy isolates is open to every pod and address, which
/// the node's style already says, and drawing that for each would bury the rest — and only
/// pod descriptions (addresses are drawn as outside-address nodes already).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// Ghost nodes, in order of first use.
    pub ghosts: Vec<Ghost>,
    /// Ghost edges, in node then direction order.
    pub edges: Vec<GhostEdge>,
}

impl Exposure {
    /// Index of the ghost with `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ghosts.iter().position(|g| g.id == id)
    }

    /// The layout keys of the ghosts, after the graph's nodes.
    pub fn layout_keys(&self) -> impl Iterator<Item = Option<&str>> {
        self.ghosts.iter().map(|g| Some(g.namespace.as_str()))
    }
}

/// The exposure overlay of `graph` (its endpoints and groups, a group through its first
/// member: every member has the same policies and the same named ports).
pub fn exposure(analysis: &Analysis, graph: &Graph) -> Exposure {
    let model = &analysis.model;
    let mut out = Exposure::default();
    for (node, n) in graph.nodes.iter().enumerate() {
        let Some(Endpoint::Pod(pod)) = representative(analysis, n) else {
            continue;
        };
        let Some(e) = netpol_core::exposure::exposure(model, pod) else {
            continue;
        };
        for (incoming, side) in [(true, &e.ingress), (false, &e.egress)] {
            if side.is_open() {
                continue;
            }
            for x in &side.exposures {
                let Some(ghost) = ghost_index(&mut out.ghosts, model, x) else {
                    continue;
                };
                out.edges.push(GhostEdge {
                    ghost,
                    node,
                    incoming,
                    ports: render::exposure_label(x),
                });
            }
        }
    }
    out
}

/// The ghost for a pod description (added when new); `None` for address descriptions.
fn ghost_index(
    ghosts: &mut Vec<Ghost>,
    model: &Model,
    x: &netpol_core::exposure::Exposure,
) -> Option<usize> {
    let Peer::Pods { namespaces, pods } = &x.peer else {
        return None;
    };
    let description = render::exposure_peer(&x.peer);
    let id = format!("{GHOST_PREFIX}{description}");
    if let Some(i) = ghosts.iter().position(|g| g.id == id) {
        return Some(i);
    }
    let namespace = match namespaces {
        Namespaces::Named(name) => name.clone(),
        Namespaces::Matching(_) => GHOST_BOX.to_string(),
    };
    let label = if pods.is_empty() {
        "any pod".to_string()
    } else {
        render::selector_words(pods)
    };
    let matches_now = x
        .matches_now
        .iter()
        .filter_map(|i| model.cluster.pods.get(*i).map(|p| p.id.clone()))
        .collect();
    ghosts.push(Ghost {
        id,
        label,
        description,
        namespace,
        matches_now,
    });
    Some(ghosts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpol_core::PortSet;
    use netpol_core::Protocol;

    #[test]
    fn ports_label_forms() {
        assert_eq!(ports_label(&AllowedPorts::all()), "all ports");
        let mut p = AllowedPorts {
            tcp: PortSet::from_ranges([(53, 53), (3306, 3306)]),
            udp: PortSet::from_ranges([(53, 53)]),
            ..AllowedPorts::default()
        };
        assert_eq!(ports_label(&p), "TCP 53,3306; UDP 53");
        p.tcp = PortSet::all();
        assert_eq!(ports_label(&p), "TCP 1-65535; UDP 53");
        assert_eq!(ports_label(&AllowedPorts::default()), "nothing");
    }

    #[test]
    fn empty_analysis_gives_empty_graph() {
        let a = Analysis::new("", "");
        let g = build(&a, &Probe::Any, true, &BTreeSet::new());
        assert!(g
            .edges
            .iter()
            .all(|e| g.nodes.get(e.from).is_some() && g.nodes.get(e.to).is_some()));
        assert_eq!(g.cell(99, 0), Cell::NotApplicable);
    }

    fn allowed_edges(g: &Graph) -> Vec<String> {
        let mut v: Vec<String> = g
            .edges
            .iter()
            .filter(|e| e.allowed)
            .map(|e| format!("{} -> {}", g.nodes[e.from].id, g.nodes[e.to].id))
            .filter(|s| s.matches('/').count() == 2)
            .collect();
        v.sort();
        v
    }

    /// The overview sums the same verdicts as the header: per example, its pod pairs by
    /// kind (between pods; pairs with an outside address apart) are the graph's counts.
    #[test]
    fn overview_totals_are_the_graphs_counts() {
        for ex in crate::examples::EXAMPLES {
            let a = Analysis::new(ex.policies, ex.cluster);
            let options = GraphOptions {
                denied: true,
                unrestricted: true,
                ..GraphOptions::default()
            };
            let g = build_with(&a, &Probe::Any, &options);
            let o = &g.overview;
            let outside = o.area(crate::overview::OUTSIDE);
            let mut pods = crate::overview::Tally::default();
            let mut address = 0;
            let tallies = o.areas.iter().enumerate().map(|(i, a)| (i, i, a.inside));
            let links = o.links.iter().map(|l| (l.from, l.to, l.tally));
            for (from, to, t) in tallies.chain(links) {
                if outside.is_some_and(|x| x == from || x == to) {
                    address += t.allowed + t.open;
                } else {
                    pods.allowed += t.allowed;
                    pods.open += t.open;
                    pods.denied += t.denied;
                }
            }
            let c = &g.counts;
            assert_eq!(
                (pods.allowed, pods.open, pods.denied, address),
                (c.allowed, c.open, c.denied, c.address_allowed),
                "{}",
                ex.key
            );
            let pod_total: u64 = o
                .areas
                .iter()
                .filter(|a| a.namespace.is_some())
                .map(|a| a.pods)
                .sum();
            assert_eq!(pod_total, a.model.cluster.pods.len() as u64, "{}", ex.key);
        }
    }

    #[test]
    fn default_example_edges() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        assert_eq!(
            allowed_edges(&g),
            vec![
                "default/backend -> monitoring/prober",
                "default/db -> monitoring/prober",
                "default/frontend -> default/backend",
                "default/frontend -> default/db",
                "default/frontend -> monitoring/prober",
            ]
        );
        let backend = g.index_of("default/backend").unwrap();
        assert_eq!(g.nodes[backend].isolation, Isolation::Ingress);
        // denied pairs appear only when asked for
        let with_denied = build(&a, &Probe::Any, true, &BTreeSet::new());
        assert!(with_denied.edges.iter().any(|e| !e.allowed));
        assert!(g.edges.iter().all(|e| e.allowed));
    }

    #[test]
    fn internal_example_ports() {
        let ex = crate::examples::find("internal-egress").unwrap();
        let a = Analysis::new(ex.policies, ex.cluster);
        let probe = Probe::Port(Protocol::TCP, PortRef::Number(3306));
        let g = build(&a, &probe, false, &BTreeSet::new());
        let (internal, mysql, payroll) = (
            g.index_of("default/internal").unwrap(),
            g.index_of("default/mysql").unwrap(),
            g.index_of("default/payroll").unwrap(),
        );
        assert_eq!(g.cell(internal, mysql), Cell::Allowed);
        assert_eq!(g.cell(internal, payroll), Cell::Denied);
        assert_eq!(g.nodes[internal].isolation, Isolation::Egress);
        // "any port" labels the edge with exactly the allowed ports
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        let e = g
            .edges
            .iter()
            .find(|e| e.from == internal && e.to == mysql)
            .unwrap();
        assert_eq!(e.ports.as_deref(), Some("TCP 53,3306; UDP 53"));
    }

    #[test]
    fn large_clusters_collapse_identical_endpoints() {
        let mut cluster = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for i in 0..70 {
            let app = if i < 50 { "web" } else { "db" };
            cluster.push_str(&format!(
                "- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i:02}, namespace: shop, labels: {{app: {app}}}}}}}\n"
            ));
        }
        let policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: []\n";
        let a = Analysis::new(policy, &cluster);
        assert_eq!(a.model.cluster.pods.len(), 70);
        let g = build(
            &a,
            &Probe::Port(Protocol::TCP, PortRef::Number(80)),
            false,
            &BTreeSet::new(),
        );
        assert!(g.grouped);
        let groups: Vec<&Node> = g
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Group(_)))
            .collect();
        assert_eq!(
            groups.len(),
            2,
            "{:?}",
            g.nodes.iter().map(|n| &n.id).collect::<Vec<_>>()
        );
        let web = g.index_of("group:shop/p00").unwrap();
        let db = g.index_of("group:shop/p50").unwrap();
        assert_eq!(g.cell(web, db), Cell::Denied);
        assert_eq!(g.cell(db, web), Cell::Allowed);
        // expanding a group draws its members again
        let open: BTreeSet<String> = ["group:shop/p50".to_string()].into();
        let g = build(
            &a,
            &Probe::Port(Protocol::TCP, PortRef::Number(80)),
            false,
            &open,
        );
        assert!(g.index_of("shop/p69").is_some());
        assert!(g.index_of("group:shop/p00").is_some());
    }

    /// The truth for one ordered pair of endpoints, straight from the engine and the one
    /// named-port helper: what every drawn cell must say for each pair of its members.
    fn engine_cell(a: &Analysis, probe: &Probe, src: Endpoint, dst: Endpoint) -> Cell {
        if matches!((src, dst), (Endpoint::Address(_), Endpoint::Address(_))) {
            return Cell::NotApplicable;
        }
        let ports = a.engine().allowed_ports(src, dst);
        let named = match dst {
            Endpoint::Pod(i) => Some(probe_numbers(a, probe, i)),
            Endpoint::Address(_) => None,
        };
        admits(&ports, probe, named.as_deref())
    }

    fn members(a: &Analysis, node: &Node) -> Vec<Endpoint> {
        match &node.kind {
            NodeKind::Pod(i) => vec![Endpoint::Pod(*i)],
            NodeKind::Group(m) => m.iter().map(|i| Endpoint::Pod(*i)).collect(),
            NodeKind::Address(c) => vec![Endpoint::Address(a.classes[*c].representative)],
        }
    }

    /// Every cell of the graph, for every probe the chooser offers, equals the engine's
    /// answer for *every* pair of members (so a group really behaves as one), and "any
    /// port" labels are exactly the engine's port sets.
    fn check_against_engine(a: &Analysis) {
        for probe in crate::probe::options(&a.model, &Probe::Any) {
            let g = build(a, &probe, true, &BTreeSet::new());
            for (x, from) in g.nodes.iter().enumerate() {
                for (y, to) in g.nodes.iter().enumerate() {
                    for &s in &members(a, from) {
                        for &d in &members(a, to) {
                            assert_eq!(
                                g.cell(x, y),
                                engine_cell(a, &probe, s, d),
                                "{} -> {} ({s:?} -> {d:?}) on {}",
                                from.id,
                                to.id,
                                probe.key()
                            );
                        }
                    }
                }
            }
            for e in g.edges.iter().filter(|e| e.ports.is_some()) {
                let (s, d) = (
                    representative(a, &g.nodes[e.from]).unwrap(),
                    representative(a, &g.nodes[e.to]).unwrap(),
                );
                assert_eq!(e.ports, Some(ports_label(&a.engine().allowed_ports(s, d))));
            }
        }
    }

    #[test]
    fn graphs_of_the_examples_equal_the_engine() {
        for ex in crate::examples::EXAMPLES {
            check_against_engine(&Analysis::new(ex.policies, ex.cluster));
        }
    }

    #[test]
    fn grouped_graph_of_a_generated_cluster_equals_the_engine() {
        let text = netpol_core::generate::generate(150, 60, 3);
        let a = Analysis::new(&text, "");
        assert!(a.model.cluster.pods.len() > GROUP_THRESHOLD);
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        assert!(g.grouped, "150 generated pods collapse into groups");
        assert!(g.nodes.len() < a.model.cluster.pods.len());
        check_against_engine(&a);
    }

    /// The case probing got wrong: a pair allowed only on a port no policy names by number
    /// (a named port that resolves to 9100 on the destination) is an edge labelled with it,
    /// and a probe of that name allows it there.
    #[test]
    fn a_port_nobody_mentions_by_number_is_still_drawn() {
        let policy = "kind: NetworkPolicy\nmetadata: {name: metrics, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - ports: [{port: metrics}]\n";
        let cluster = "pod x/web app=web\npod x/db app=db ports=metrics:9100\n";
        let a = Analysis::new(policy, cluster);
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        let (web, db) = (g.index_of("x/web").unwrap(), g.index_of("x/db").unwrap());
        let e = g
            .edges
            .iter()
            .find(|e| e.from == web && e.to == db)
            .unwrap();
        assert_eq!(e.ports.as_deref(), Some("TCP 9100"));
        let named = Probe::Port(Protocol::TCP, PortRef::Name("metrics".into()));
        let g = build(&a, &named, false, &BTreeSet::new());
        assert_eq!(g.cell(web, db), Cell::Allowed);
        // web has no such port: a probe of the name cannot reach it.
        assert_eq!(g.cell(db, web), Cell::Denied);
    }

    /// Exposure on the Services example: one ghost per pod description of the api's
    /// ingress rules, in its namespace's box or in the ghost box for a namespace selector,
    /// with the rule's exact ports; sides no policy isolates get no ghost edges.
    #[test]
    fn exposure_ghosts_of_the_services_example() {
        let ex = crate::examples::find("services").unwrap();
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        let x = exposure(&a, &g);
        let ghosts: Vec<(&str, &str, &str)> = x
            .ghosts
            .iter()
            .map(|g| {
                (
                    g.description.as_str(),
                    g.namespace.as_str(),
                    g.label.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ghosts,
            [
                ("pods labelled app=web in namespace shop", "shop", "app=web"),
                (
                    "pods labelled app=prometheus in namespaces labelled team=ops",
                    GHOST_BOX,
                    "app=prometheus"
                ),
            ]
        );
        let api = g.index_of("shop/Deployment/api").unwrap();
        let edges: Vec<(usize, usize, bool, &str)> = x
            .edges
            .iter()
            .map(|e| (e.ghost, e.node, e.incoming, e.ports.as_str()))
            .collect();
        assert_eq!(
            edges,
            [(0, api, true, "TCP 80"), (1, api, true, "TCP 9100")]
        );
        assert_eq!(
            x.ghosts[1].matches_now,
            ["monitoring/Deployment/prometheus"]
        );
        assert_eq!(x.layout_keys().count(), 2);
        assert_eq!(x.index_of(&x.ghosts[1].id), Some(1));
        // Nothing is isolated in the default example's monitoring namespace, and default's
        // pods only for ingress from app=frontend.
        let first = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(first.policies, first.cluster);
        let g = build(&a, &Probe::Any, false, &BTreeSet::new());
        let x = exposure(&a, &g);
        assert_eq!(x.ghosts.len(), 1);
        assert!(x.edges.iter().all(|e| e.incoming && e.ports == "all ports"));
    }

    fn options() -> GraphOptions {
        GraphOptions::default()
    }

    /// The seed example's one egress policy: the default view draws what the policy
    /// decides (internal may reach mysql and DNS, nothing else), not the mesh of pairs no
    /// policy isolates; those are drawn only with "show unrestricted", and every pair
    /// keeps its cell either way.
    #[test]
    fn relations_not_meshes() {
        let ex = crate::examples::find("internal-egress").unwrap();
        let a = Analysis::new(ex.policies, ex.cluster);
        let probe = Probe::Port(netpol_core::Protocol::TCP, PortRef::Number(3306));
        let all = build(&a, &probe, false, &BTreeSet::new());
        let relations = build_with(&a, &probe, &options());
        assert!(relations.edges.len() < all.edges.len());
        assert!(relations.edges.iter().all(|e| !e.open && e.allowed));
        assert_eq!(
            relations.hidden_open,
            all.edges.iter().filter(|e| e.open).count()
        );
        assert_eq!(relations.cells, all.cells);
        let internal = relations.index_of("default/internal").unwrap();
        assert!(
            relations.edges.iter().all(|e| e.from == internal),
            "only the isolated side's relations"
        );
        let shown = build_with(
            &a,
            &probe,
            &GraphOptions {
                unrestricted: true,
                ..options()
            },
        );
        assert_eq!(shown.edges.len(), all.edges.len());
        // with denied: every decided pair is drawn, open ones still are not
        let denied = build_with(
            &a,
            &probe,
            &GraphOptions {
                denied: true,
                ..options()
            },
        );
        assert!(denied.edges.iter().any(|e| !e.allowed));
        assert!(denied.edges.iter().all(|e| !e.open));
        // allowed edges come first
        let first_denied = denied.edges.iter().position(|e| !e.allowed).unwrap();
        assert!(denied.edges[first_denied..].iter().all(|e| !e.allowed));
    }

    /// 60 pods and no policy: nothing is decided, so nothing is drawn by default, and the
    /// counts say every pair is open.
    #[test]
    fn no_policies_draw_no_edges() {
        let cluster: String = (0..60)
            .map(|i| format!("pod ns{}/p{i} app=a{i}\n", i % 4))
            .collect();
        let a = Analysis::new("", &cluster);
        let g = build_with(&a, &Probe::Any, &options());
        assert!(g.edges.is_empty());
        assert_eq!(g.counts.open, 60 * 59);
        assert_eq!(g.counts.allowed + g.counts.denied, 0);
        assert!(g
            .nodes
            .iter()
            .filter(|n| n.namespace.is_some())
            .all(|n| n.open_ingress() && n.open_egress()));
    }

    #[test]
    fn namespace_filter_keeps_peers_of_the_namespace() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let all = build_with(
            &a,
            &Probe::Any,
            &GraphOptions {
                denied: true,
                ..options()
            },
        );
        let only: BTreeSet<String> = ["monitoring".to_string()].into();
        let g = build_with(
            &a,
            &Probe::Any,
            &GraphOptions {
                denied: true,
                namespaces: only,
                ..options()
            },
        );
        assert!(g.nodes.len() < all.nodes.len());
        assert_eq!(g.filtered_out, all.nodes.len() - g.nodes.len());
        for e in &g.edges {
            let (f, t) = (&g.nodes[e.from], &g.nodes[e.to]);
            assert!(
                f.namespace.as_deref() == Some("monitoring")
                    || t.namespace.as_deref() == Some("monitoring")
            );
            let (fa, ta) = (all.index_of(&f.id).unwrap(), all.index_of(&t.id).unwrap());
            assert_eq!(g.cell(e.from, e.to), all.cell(fa, ta));
        }
    }

    /// Groups are named by what their members share, an expanded group stays known, and
    /// counts are pod pairs.
    #[test]
    fn groups_are_named_and_counted_in_pod_pairs() {
        let mut cluster = String::new();
        for i in 0..70 {
            let app = if i < 50 { "web" } else { "db" };
            cluster.push_str(&format!(
                "pod shop/{app}-5f6d-{i:02} app={app} pod-template-hash=5f6d\n"
            ));
        }
        let policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: []\n";
        let a = Analysis::new(policy, &cluster);
        let g = build_with(
            &a,
            &Probe::Any,
            &GraphOptions {
                denied: true,
                ..options()
            },
        );
        let web = &g.nodes[g.index_of("group:shop/web-5f6d-00").unwrap()];
        assert_eq!(web.label, "app=web");
        assert_eq!(web.detail, "50 pods of Deployment web");
        assert_eq!(web.size, 50);
        let e = g.edges.iter().find(|e| !e.allowed).unwrap();
        assert_eq!(g.pairs_of(e), 50 * 20);
        // db admits nobody: web->db and db->db pairs are denied, the rest open
        assert_eq!(g.counts.denied, 50 * 20 + 20 * 19);
        assert_eq!(g.counts.open, 50 * 49 + 20 * 50);
        let open: BTreeSet<String> = ["group:shop/web-5f6d-00".to_string()].into();
        let g = build_with(
            &a,
            &Probe::Any,
            &GraphOptions {
                expanded: open,
                ..options()
            },
        );
        let info = g.group("group:shop/web-5f6d-00").unwrap();
        assert_eq!(info.members.len(), 50);
        assert!(g.index_of("shop/web-5f6d-07").is_some());
    }

    #[test]
    fn a_graph_crosses_to_the_page_intact() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = build_with(
            &a,
            &Probe::Any,
            &GraphOptions {
                denied: true,
                ..options()
            },
        );
        let text = serde_json::to_string(&g).unwrap();
        let mut back: Graph = serde_json::from_str(&text).unwrap();
        back.index_edges();
        assert_eq!(back.nodes, g.nodes);
        assert_eq!(back.cells, g.cells);
        assert_eq!(back.edges, g.edges);
        assert_eq!(back.peers(0), g.peers(0));
    }

    #[test]
    fn stale_result_is_kept_while_text_is_broken() {
        let ex = &crate::examples::EXAMPLES[0];
        let good = Analysis::new(ex.policies, ex.cluster);
        let broken = Analysis::new(ex.policies, "apiVersion: v1\nkind: List\nitems: [\n");
        assert!(broken.errors() > 0);
        assert!(good.keeps_over(&broken));
        let kept = good.stale_with(&broken);
        assert!(kept.stale);
        assert_eq!(kept.model.cluster.pods.len(), good.model.cluster.pods.len());
        assert_eq!(kept.model.diagnostics, broken.model.diagnostics);
    }
}
