//! From an [`Analysis`] and a [`Probe`] to the graph both views draw: nodes (endpoints,
//! collapsed groups, outside-address classes), a cell per ordered pair, and edges.
//!
//! Every yes/no comes from the core (`Engine::matrix`, `Engine::allowed_ports`); this module
//! only decides what to *draw*. Above [`GROUP_THRESHOLD`] endpoints, endpoints of one
//! namespace whose rows and columns are identical collapse into one group node, so a
//! thousand pods stay a readable picture and the DOM stays small.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use netpol_core::{AllowedPorts, Endpoint, PortRef, PortSpec, Protocol};
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
    /// Port label in "any port" mode (`TCP 53,3306; UDP 53`), else `None`.
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

/// Whether `ports` admits `probe` towards `dst` (named ports resolve on a destination pod).
fn admits(analysis: &Analysis, ports: &AllowedPorts, probe: &Probe, dst: Endpoint) -> Cell {
    match probe {
        Probe::Any => bool_cell(!ports.is_empty()),
        Probe::Port(proto, PortRef::Number(n)) => bool_cell(ports.get(*proto).contains(*n)),
        Probe::Port(proto, name @ PortRef::Name(_)) => match dst {
            Endpoint::Pod(_) => {
                match PortSpec::new(name.clone(), *proto).resolve(&analysis.model, dst) {
                    Some(n) => bool_cell(ports.get(*proto).contains(n)),
                    None => Cell::Denied,
                }
            }
            Endpoint::Address(_) => Cell::NotApplicable,
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

/// Pod-to-pod truth for the probe, as a dense `n * n` vector. "Any port" on a large
/// cluster takes the union of the matrices of every port the policies mention plus one
/// unmentioned port per protocol (what `allowed_ports` per pair would cost a million calls).
fn pod_matrix(analysis: &Analysis, probe: &Probe) -> Vec<bool> {
    let n = analysis.model.cluster.pods.len();
    let mut out = vec![false; n * n];
    let mut fill = |proto: Protocol, port: &PortRef| {
        let m = analysis.engine.matrix(proto, port);
        for (s, row) in out.chunks_mut(n.max(1)).enumerate() {
            for (d, cell) in row.iter_mut().enumerate() {
                // Skip pairs another probe already allowed: most of them on open clusters.
                if !*cell && m.allowed(s, d) {
                    *cell = true;
                }
            }
        }
    };
    match probe {
        Probe::Port(proto, port) => fill(*proto, port),
        Probe::Any if n <= GROUP_THRESHOLD => {
            for s in 0..n {
                for d in 0..n {
                    out[s * n + d] = !analysis
                        .engine
                        .allowed_ports(Endpoint::Pod(s), Endpoint::Pod(d))
                        .is_empty();
                }
            }
        }
        Probe::Any => {
            for (proto, port) in mentioned_ports(analysis) {
                fill(proto, &port);
            }
        }
    }
    out
}

/// Every (protocol, port) the policies mention (start and end of ranges), plus a port no
/// policy mentions for each protocol, so "everything else" is probed too.
fn mentioned_ports(analysis: &Analysis) -> BTreeSet<(Protocol, PortRef)> {
    let mut set = BTreeSet::new();
    let mut numbers: BTreeMap<Protocol, BTreeSet<u16>> = BTreeMap::new();
    for policy in &analysis.model.policies {
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for p in &rule.ports {
                match &p.port {
                    Some(PortRef::Number(n)) => {
                        numbers.entry(p.protocol).or_default().insert(*n);
                        set.insert((p.protocol, PortRef::Number(*n)));
                        if let Some(e) = p.end_port {
                            set.insert((p.protocol, PortRef::Number(e)));
                        }
                    }
                    Some(PortRef::Name(s)) => {
                        set.insert((p.protocol, PortRef::Name(s.clone())));
                    }
                    None => {}
                }
            }
        }
    }
    for proto in Protocol::ALL {
        let used = numbers.get(&proto);
        let free = (1..=65535u16)
            .rev()
            .find(|p| used.is_none_or(|u| !u.contains(p)))
            .unwrap_or(65535);
        set.insert((proto, PortRef::Number(free)));
    }
    set
}

/// Builds the graph for `probe`. `expanded` holds group ids the user opened; `with_denied`
/// adds dashed edges for denied pairs.
pub fn build(
    analysis: &Analysis,
    probe: &Probe,
    with_denied: bool,
    expanded: &BTreeSet<String>,
) -> Graph {
    let pods = &analysis.model.cluster.pods;
    let n = pods.len();
    let classes = &analysis.classes;
    let pm = pod_matrix(analysis, probe);

    // Pod <-> address truth: out[i][c] and inn[c][i].
    let addr_cell = |src: Endpoint, dst: Endpoint| {
        let ports = analysis.engine.allowed_ports(src, dst);
        admits(analysis, &ports, probe, dst)
    };
    let mut out = vec![Cell::NotApplicable; n * classes.len()];
    let mut inn = vec![Cell::NotApplicable; n * classes.len()];
    for (c, class) in classes.iter().enumerate() {
        let a = Endpoint::Address(class.representative);
        for i in 0..n {
            out[i * classes.len() + c] = addr_cell(Endpoint::Pod(i), a);
            inn[i * classes.len() + c] = addr_cell(a, Endpoint::Pod(i));
        }
    }

    // Grouping: identical namespace, isolation, row and column (pods and addresses).
    let mut members_of: Vec<Vec<usize>> = Vec::new();
    if n > GROUP_THRESHOLD {
        let mut by_sig: BTreeMap<(String, Isolation, Vec<u64>), Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let mut bits = Vec::with_capacity((2 * n).div_ceil(64) + 1);
            let mut word = 0u64;
            let mut k = 0;
            let mut push = |b: bool, bits: &mut Vec<u64>| {
                if b {
                    word |= 1 << (k % 64);
                }
                k += 1;
                if k % 64 == 0 {
                    bits.push(word);
                    word = 0;
                }
            };
            for d in 0..n {
                push(pm[i * n + d], &mut bits);
            }
            for s in 0..n {
                push(pm[s * n + i], &mut bits);
            }
            for c in 0..classes.len() {
                push(out[i * classes.len() + c] == Cell::Allowed, &mut bits);
                push(inn[i * classes.len() + c] == Cell::Allowed, &mut bits);
            }
            bits.push(word);
            by_sig
                .entry((pods[i].namespace.clone(), analysis.isolation[i], bits))
                .or_default()
                .push(i);
        }
        let mut groups: Vec<Vec<usize>> = by_sig.into_values().collect();
        groups.sort_by_key(|g| g.first().copied().unwrap_or(0));
        members_of = groups;
    } else {
        members_of.extend((0..n).map(|i| vec![i]));
    }

    let mut nodes = Vec::new();
    let mut grouped = false;
    for members in members_of {
        let Some(&first) = members.first() else {
            continue;
        };
        let pod = &pods[first];
        let group_id = format!("group:{}", pod.id);
        if members.len() > 1 {
            grouped = true;
        }
        if members.len() > 1 && !expanded.contains(&group_id) {
            nodes.push(Node {
                id: group_id,
                label: format!("{} +{}", pod_label(pod), members.len() - 1),
                namespace: Some(pod.namespace.clone()),
                isolation: analysis.isolation[first],
                kind: NodeKind::Group(members),
            });
        } else {
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
    }
    for (c, class) in classes.iter().enumerate() {
        nodes.push(Node {
            id: class.label.clone(),
            label: class.label.clone(),
            namespace: None,
            isolation: Isolation::None,
            kind: NodeKind::Address(c),
        });
    }

    let k = nodes.len();
    let rep_pod = |node: &Node| match &node.kind {
        NodeKind::Pod(i) => Some(*i),
        NodeKind::Group(m) => m.first().copied(),
        NodeKind::Address(_) => None,
    };
    let mut cells = vec![Cell::NotApplicable; k * k];
    for a in 0..k {
        for b in 0..k {
            cells[a * k + b] = match (
                rep_pod(&nodes[a]),
                rep_pod(&nodes[b]),
                &nodes[a].kind,
                &nodes[b].kind,
            ) {
                (Some(s), Some(d), _, _) => bool_cell(pm[s * n + d]),
                (Some(s), None, _, NodeKind::Address(c)) => out[s * classes.len() + c],
                (None, Some(d), NodeKind::Address(c), _) => inn[d * classes.len() + c],
                _ => Cell::NotApplicable,
            };
        }
    }

    let mut edges = Vec::new();
    let mut graph = DiGraphMap::new();
    for a in 0..k {
        graph.add_node(a);
    }
    for a in 0..k {
        for b in 0..k {
            if a == b {
                continue;
            }
            match cells[a * k + b] {
                Cell::Allowed => {
                    graph.add_edge(a, b, ());
                    edges.push(Edge {
                        from: a,
                        to: b,
                        allowed: true,
                        ports: None,
                    });
                }
                Cell::Denied if with_denied => edges.push(Edge {
                    from: a,
                    to: b,
                    allowed: false,
                    ports: None,
                }),
                _ => {}
            }
        }
    }
    // Port labels cost one `allowed_ports` per edge and are only readable on small graphs;
    // large graphs show them in the explanation of the clicked edge instead.
    if *probe == Probe::Any && edges.len() <= LABEL_LIMIT {
        for e in edges.iter_mut().filter(|e| e.allowed) {
            if let (Some(s), Some(d)) = (
                representative(analysis, &nodes[e.from]),
                representative(analysis, &nodes[e.to]),
            ) {
                e.ports = Some(ports_label(&analysis.engine.allowed_ports(s, d)));
            }
        }
    }
    Graph {
        nodes,
        cells,
        edges,
        grouped,
        graph,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use netpol_core::PortSet;

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
