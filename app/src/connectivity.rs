//! From an [`Analysis`] and a [`Probe`] to the graph both views draw: nodes (endpoints,
//! collapsed groups, outside-address classes), a cell per ordered pair, and edges.
//!
//! Every port set comes from the core, computed once per analysis in [`Reach`]: the
//! engine's exact allowed ports per pair of pod classes (`Engine::connectivity`) and per
//! pod class and address class (`Engine::allowed_ports` on the engine's class
//! representatives). A probe only reads those sets — "any port" asks whether a set is
//! empty, a port whether it is in the set, a named port resolves on each destination pod
//! through `netpol_core::named_ports` — so no port is ever probed to stand for the
//! others. This module decides what to *draw*: pods of one engine class behave identically,
//! so above [`GROUP_THRESHOLD`] endpoints the classes of a namespace with the same port sets
//! in every row and column collapse into one group node, and a thousand pods stay a
//! readable picture with a small DOM.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use netpol_core::exposure::{Namespaces, Peer};
use netpol_core::named_ports;
use netpol_core::render;
use netpol_core::Connectivity;
use netpol_core::{AddressClass, AllowedPorts, Endpoint, Engine, Model, PortRef};
use petgraph::graphmap::DiGraphMap;

use crate::analysis::{Analysis, Isolation};
use crate::probe::Probe;

/// Above this many endpoints, identical endpoints collapse into groups.
pub const GROUP_THRESHOLD: usize = 60;
/// Up to this many drawn edges, "any port" edges carry port labels.
pub const LABEL_LIMIT: usize = 400;

/// What a drawn node stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// One endpoint (pod index).
    Pod(usize),
    /// Endpoints with identical connectivity (pod indices, sorted, at least two).
    Group(Vec<usize>),
    /// An outside-address class (index into `Analysis::classes`).
    Address(usize),
}

/// A drawn node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `namespace/name` for endpoints, `group:<first member id>` for groups, the class
    /// label for addresses. Stable across edits that do not rename things.
    pub id: String,
    /// Short text drawn in the node.
    pub label: String,
    /// Namespace box it belongs to (`None` for outside addresses).
    pub namespace: Option<String>,
    /// What it is.
    pub kind: NodeKind,
    /// Isolation (of the representative for groups; `None` for addresses).
    pub isolation: Isolation,
}

/// One ordered pair's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The connection is allowed.
    Allowed,
    /// The connection is denied.
    Denied,
    /// Not a question we ask (address to address, or a named port an address cannot have).
    NotApplicable,
}

/// A drawn connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Index into [`Graph::nodes`].
    pub from: usize,
    /// Index into [`Graph::nodes`].
    pub to: usize,
    /// Allowed (solid) or denied (dashed, only with "show denied").
    pub allowed: bool,
    /// Port label in "any port" mode (`TCP 53,3306 · UDP 53`), else `None`.
    pub ports: Option<String>,
}

/// The drawable connectivity for one probe.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Nodes: endpoints/groups in pod order (so namespaces are contiguous), then addresses.
    pub nodes: Vec<Node>,
    /// `cells[a * nodes.len() + b]`: from node `a` to node `b`.
    pub cells: Vec<Cell>,
    /// Allowed edges (and denied ones when asked), self-pairs excluded.
    pub edges: Vec<Edge>,
    /// Whether any group node exists (collapsed or not).
    pub grouped: bool,
    /// The connectivity as a petgraph graph over node indices (allowed edges only).
    pub graph: DiGraphMap<usize, ()>,
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

    /// Peers node `index` may send to / receive from (allowed edges), by id.
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

/// One end of a pair as the engine's tables know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// A pod class of the engine.
    Class(usize),
    /// An outside-address class (index into `Analysis::classes`).
    Address(usize),
}

/// Probe-independent connectivity, computed once per analysis: the engine's exact allowed
/// ports for every pair of pod classes and between pod classes and address classes, with
/// identical sets stored once.
#[derive(Clone, Debug)]
pub struct Reach {
    connectivity: Connectivity,
    /// Distinct port sets: the connectivity's results, then those only addresses reach.
    sets: Vec<AllowedPorts>,
    addresses: usize,
    /// `[class * addresses + a]`: index into `sets` from the class to address class `a`.
    to_address: Vec<u32>,
    /// `[class * addresses + a]`: index into `sets` from address class `a` to the class.
    from_address: Vec<u32>,
    /// Per class: classes with the same namespace, isolation and port sets in every row
    /// and column share a family, which is what a group node draws.
    family: Vec<u32>,
}

impl Reach {
    /// Everything the graph reads, from the engine. `isolation` is per pod.
    pub fn new(
        model: &Model,
        engine: &Engine,
        classes: &[AddressClass],
        isolation: &[Isolation],
    ) -> Reach {
        let connectivity = engine.connectivity();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); connectivity.classes()];
        for pod in 0..model.cluster.pods.len() {
            if let Some(c) = connectivity.pod_class(pod).filter(|c| *c < members.len()) {
                members[c].push(pod);
            }
        }
        let mut sets = connectivity.results().to_vec();
        let (to_address, from_address) = address_sets(engine, &members, classes, &mut sets);
        let mut reach = Reach {
            connectivity,
            sets,
            addresses: classes.len(),
            to_address,
            from_address,
            family: Vec::new(),
        };
        reach.family = if model.cluster.pods.len() > GROUP_THRESHOLD {
            reach.families(model, &members, isolation)
        } else {
            (0..members.len() as u32).collect()
        };
        reach
    }

    /// Families of classes: same namespace, isolation and address sets, and the same port
    /// set in every row and column. Rows and columns are hashed first and then compared
    /// with the family's first class, so a hash collision splits a family instead of
    /// merging classes that differ (exact, and no per-class copies of whole rows).
    fn families(&self, model: &Model, members: &[Vec<usize>], isolation: &[Isolation]) -> Vec<u32> {
        let classes = members.len();
        let a = self.addresses;
        let addresses = |c: usize| {
            (
                &self.to_address[c * a..(c + 1) * a],
                &self.from_address[c * a..(c + 1) * a],
            )
        };
        let key = |c: usize| {
            let first = members[c].first().copied();
            let namespace = first
                .and_then(|p| model.cluster.pods.get(p))
                .map(|p| p.namespace.as_str());
            let iso = first
                .and_then(|p| isolation.get(p))
                .copied()
                .unwrap_or_default();
            let mut hash = std::hash::DefaultHasher::new();
            for d in 0..classes {
                (self.class_set(c, d), self.class_set(d, c)).hash(&mut hash);
            }
            (namespace, iso, addresses(c), hash.finish())
        };
        let same = |c: usize, r: usize| {
            (0..classes).all(|d| {
                self.class_set(c, d) == self.class_set(r, d)
                    && self.class_set(d, c) == self.class_set(d, r)
            })
        };
        // Per key, the first class of each family with that key (usually one).
        let mut firsts: HashMap<_, Vec<usize>> = HashMap::new();
        let mut family = vec![0u32; classes];
        let mut count = 0u32;
        for c in 0..classes {
            let candidates = firsts.entry(key(c)).or_default();
            match candidates.iter().find(|r| same(c, **r)) {
                Some(r) => family[c] = family[*r],
                None => {
                    candidates.push(c);
                    family[c] = count;
                    count += 1;
                }
            }
        }
        family
    }

    fn class_set(&self, src: usize, dst: usize) -> u32 {
        self.connectivity
            .class_pair(src, dst)
            .map_or(u32::MAX, |r| r as u32)
    }

    /// The port set id for a pair of sides; `None` between two addresses (not a question
    /// the policies answer).
    fn set_between(&self, src: Side, dst: Side) -> Option<u32> {
        let a = self.addresses;
        match (src, dst) {
            (Side::Class(s), Side::Class(d)) => {
                self.connectivity.class_pair(s, d).map(|r| r as u32)
            }
            (Side::Class(s), Side::Address(x)) => self.to_address.get(s * a + x).copied(),
            (Side::Address(x), Side::Class(d)) => self.from_address.get(d * a + x).copied(),
            (Side::Address(_), Side::Address(_)) => None,
        }
    }

    /// The engine class of pod `pod`.
    fn class_of(&self, pod: usize) -> Option<usize> {
        self.connectivity.pod_class(pod)
    }
}

/// Per pod class and address class, the ports each way, as indices into `sets` (identical
/// sets stored once). A class answers like any of its pods: the engine is asked with the
/// first one and the class's representative address.
fn address_sets(
    engine: &Engine,
    members: &[Vec<usize>],
    classes: &[AddressClass],
    sets: &mut Vec<AllowedPorts>,
) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<AllowedPorts, u32> = sets
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32))
        .collect();
    let mut intern = |ports: AllowedPorts| {
        *ids.entry(ports.clone()).or_insert_with(|| {
            sets.push(ports);
            sets.len() as u32 - 1
        })
    };
    let mut to_address = Vec::with_capacity(members.len() * classes.len());
    let mut from_address = Vec::with_capacity(members.len() * classes.len());
    for pods in members {
        for class in classes {
            let address = Endpoint::Address(class.representative);
            let (out, inn) = match pods.first() {
                Some(&pod) => (
                    engine.allowed_ports(Endpoint::Pod(pod), address),
                    engine.allowed_ports(address, Endpoint::Pod(pod)),
                ),
                None => (AllowedPorts::default(), AllowedPorts::default()),
            };
            to_address.push(intern(out));
            from_address.push(intern(inn));
        }
    }
    (to_address, from_address)
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
    let reach = &analysis.reach;
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
/// per address class.
fn nodes(
    analysis: &Analysis,
    units: Vec<Vec<usize>>,
    expanded: &BTreeSet<String>,
) -> (Vec<Node>, bool) {
    let pods = &analysis.model.cluster.pods;
    let mut nodes = Vec::new();
    let mut grouped = false;
    for members in units {
        let Some(pod) = members.first().and_then(|i| pods.get(*i)) else {
            continue;
        };
        let first = members[0];
        let group_id = format!("group:{}", pod.id);
        grouped |= members.len() > 1;
        if members.len() > 1 && !expanded.contains(&group_id) {
            nodes.push(Node {
                id: group_id,
                label: format!("{} +{}", pod_label(pod), members.len() - 1),
                namespace: Some(pod.namespace.clone()),
                isolation: analysis.isolation[first],
                kind: NodeKind::Group(members),
            });
            continue;
        }
        for i in members {
            let pod = &pods[i];
            nodes.push(Node {
                id: pod.id.clone(),
                label: pod_label(pod),
                namespace: Some(pod.namespace.clone()),
                isolation: analysis.isolation[i],
                kind: NodeKind::Pod(i),
            });
        }
    }
    for (c, class) in analysis.classes.iter().enumerate() {
        nodes.push(Node {
            id: class.label.clone(),
            label: class.label.clone(),
            namespace: None,
            isolation: Isolation::None,
            kind: NodeKind::Address(c),
        });
    }
    (nodes, grouped)
}

/// The engine side of a node (its first member's class for a group).
fn side(analysis: &Analysis, node: &Node) -> Option<Side> {
    match &node.kind {
        NodeKind::Pod(i) => analysis.reach.class_of(*i).map(Side::Class),
        NodeKind::Group(members) => members
            .first()
            .and_then(|i| analysis.reach.class_of(*i))
            .map(Side::Class),
        NodeKind::Address(c) => Some(Side::Address(*c)),
    }
}

/// Builds the graph for `probe`. `expanded` holds group ids the user opened; `with_denied`
/// adds dashed edges for denied pairs.
pub fn build(
    analysis: &Analysis,
    probe: &Probe,
    with_denied: bool,
    expanded: &BTreeSet<String>,
) -> Graph {
    let (nodes, grouped) = nodes(analysis, units(analysis, probe), expanded);
    let set_ids = pair_sets(analysis, &nodes);
    let cells = cells(analysis, probe, &nodes, &set_ids);
    let k = nodes.len();
    let mut edges = edges(&cells, k, with_denied);
    // Labels are free (one per distinct set) but only readable on small graphs; large
    // graphs show the ports in the explanation of the clicked edge instead.
    if *probe == Probe::Any && edges.len() <= LABEL_LIMIT {
        label_edges(&analysis.reach, &mut edges, &set_ids, k);
    }
    let mut graph = DiGraphMap::new();
    for a in 0..k {
        graph.add_node(a);
    }
    for e in edges.iter().filter(|e| e.allowed) {
        graph.add_edge(e.from, e.to, ());
    }
    Graph {
        nodes,
        cells,
        edges,
        grouped,
        graph,
    }
}

/// `[a * k + b]`: the index of the engine's port set from node `a` to node `b` (`None`
/// between two addresses).
fn pair_sets(analysis: &Analysis, nodes: &[Node]) -> Vec<Option<u32>> {
    let sides: Vec<Option<Side>> = nodes.iter().map(|n| side(analysis, n)).collect();
    let mut ids = Vec::with_capacity(nodes.len() * nodes.len());
    for src in &sides {
        for dst in &sides {
            ids.push(
                src.zip(*dst)
                    .and_then(|(s, d)| analysis.reach.set_between(s, d)),
            );
        }
    }
    ids
}

/// Each pair's state for `probe`, read from its port set (a named probe resolves on the
/// destination node's pod).
fn cells(analysis: &Analysis, probe: &Probe, nodes: &[Node], set_ids: &[Option<u32>]) -> Vec<Cell> {
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
    let k = nodes.len();
    set_ids
        .iter()
        .enumerate()
        .map(
            |(at, id)| match id.and_then(|id| analysis.reach.sets.get(id as usize)) {
                Some(ports) => admits(ports, probe, named[at % k].as_deref()),
                None => Cell::NotApplicable,
            },
        )
        .collect()
}

/// "Any port" labels on allowed edges: the port set of the pair, worded once per set.
fn label_edges(reach: &Reach, edges: &mut [Edge], set_ids: &[Option<u32>], k: usize) {
    let mut labels: HashMap<u32, String> = HashMap::new();
    for e in edges.iter_mut().filter(|e| e.allowed) {
        if let Some(id) = set_ids[e.from * k + e.to] {
            let label = labels.entry(id).or_insert_with(|| {
                reach
                    .sets
                    .get(id as usize)
                    .map(ports_label)
                    .unwrap_or_default()
            });
            e.ports = Some(label.clone());
        }
    }
}

/// Allowed edges, and denied ones when asked, self-pairs excluded.
fn edges(cells: &[Cell], k: usize, with_denied: bool) -> Vec<Edge> {
    let mut edges = Vec::new();
    for a in 0..k {
        for b in (0..k).filter(|b| *b != a) {
            let allowed = match cells[a * k + b] {
                Cell::Allowed => true,
                Cell::Denied if with_denied => false,
                _ => continue,
            };
            edges.push(Edge {
                from: a,
                to: b,
                allowed,
                ports: None,
            });
        }
    }
    edges
}

/// `name` for pods, `Kind/name` for workloads (the namespace is the box around it).
fn pod_label(pod: &netpol_core::Pod) -> String {
    match &pod.workload {
        Some(kind) => format!("{kind}/{}", pod.name),
        None => pod.name.clone(),
    }
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        let ports = a.engine.allowed_ports(src, dst);
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
                assert_eq!(e.ports, Some(ports_label(&a.engine.allowed_ports(s, d))));
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
