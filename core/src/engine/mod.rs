//! The bitset engine: whole matrices and connectivity, compiled once per [`Model`].
//!
//! Why it is fast: real clusters have thousands of pods but far fewer *kinds* of pods. The
//! engine works on classes and never on pods × pods × ports. [`Engine::new`] is a pipeline
//! of seven steps, one file each:
//!
//! 1. `rules.rs`: every namespace, selector, ipBlock and port name the policies mention is
//!    interned once.
//! 2. `address.rs`: the boundaries of every `ipBlock` (`cidr` and `except`) cut each address
//!    family into intervals; intervals contained in the same set of blocks form one address
//!    class.
//! 3. `ports.rs`: per protocol, the numbers and ranges the rules mention (and the numbers
//!    named ports resolve to) cut `0..=65535` into atoms; atoms covered by the same entries
//!    form one port class. One more class stands for "any other protocol" (ICMP, ...),
//!    which only port-less rules admit.
//! 4. `pods.rs`: pods are grouped by namespace, by which relevant selectors match them, by
//!    the address classes of their IPs and by how they resolve the port names the policies
//!    mention. Pods of one class are indistinguishable to every rule.
//! 5. `peers.rs`: per direction, columns (pod classes, then address classes) that every
//!    rule's peer set treats alike form one peer type.
//! 6. `cells.rs`: classes isolated by the same policies form a group; for each group and
//!    peer type, a word-parallel mask of the port classes the group's rules admit.
//!
//!    6b. `tiers.rs`: the cluster policies (Admin and Baseline tiers) as ordered masks. A
//!    class's Admin and Baseline lists join its group key (a class no NetworkPolicy isolates
//!    but a cluster policy selects is a group too), first match per port class is resolved
//!    once per (lists, peer type), and the group's mask becomes what every tier together
//!    lets through. Cluster policy peers refine peer types like any rule's (`networks` and
//!    the addresses of `nodes` are address blocks of step 2).
//! 7. `pairs.rs`: the allowed port classes from `s` to `d` are
//!    `egress[group(s)][type(d)] & ingress[group(d)][type(s)]` (all ones when a side is not
//!    isolated): [`Engine::matrix`] and [`Engine::connectivity`].
//!
//! `outside.rs` adds two tables read from those: pod classes against outside-address
//! classes ([`Engine::address_connectivity`]) and families of classes no table tells apart
//! ([`Connectivity::families`]).
//!
//! `node.rs` is a crate-internal view of the same cells for one node's pods, from which
//! [`crate::nft`] compiles the node's ruleset; it decides nothing the cells do not say.
//! `hash.rs` and `bits.rs` are the interning tables and bitsets the steps share.
//!
//! Semantics follow [`crate::eval`] (and, for the tiers, `crate::tiers`) exactly, including
//! their documented choices: an ipBlock
//! matches a pod when any of its IPs does; a port name matches every container port of the
//! destination with that name ([`crate::Pod::named_ports`]); host-network pods are never
//! selected, never matched by selector peers and resolve no port names (step 4 puts them
//! in a pseudo-namespace of their own); unknown pod indices are denied. Property tests
//! compare the engine with the evaluator and with a test-only reference evaluator.

mod address;
mod bits;
mod cells;
mod hash;
pub(crate) mod node;
mod outside;
mod pairs;
mod peers;
mod pods;
mod ports;
mod rules;
mod tiers;

use crate::model::{ContainerPort, Endpoint, Model};
use crate::ports::AllowedPorts;

pub use address::AddressClass;
pub use outside::AddressConnectivity;
pub use pairs::{Connectivity, Matrix};

use address::AddressSpace;
use cells::{Cells, CompiledRules, Inputs, Isolation};
use peers::{Columns, PeerSets, PeerTypes};
use pods::{PodClasses, Scopes};
use ports::PortSpace;
use rules::Interned;
use tiers::Tiers;

/// Index of ingress in the engine's `[ingress, egress]` pairs.
const INGRESS: usize = 0;
/// Index of egress in the engine's `[ingress, egress]` pairs.
const EGRESS: usize = 1;

/// Policies compiled against one cluster, ready to answer many questions fast.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Number of pods in the cluster.
    pods: usize,
    /// Pod class of each pod.
    pod_class: Vec<u32>,
    /// Pods of each class, in index order.
    class_pods: Vec<Vec<u32>>,
    /// Container ports per pod, to resolve names nobody's policy mentions (matrix probes);
    /// empty for host-network pods, on which names never resolve.
    pod_ports: Vec<Vec<ContainerPort>>,
    /// Outside address space.
    addresses: AddressSpace,
    /// Port classes.
    ports: PortSpace,
    /// Words per port-class mask.
    words: usize,
    /// `[ingress, egress]`: the peer type of each column (pod classes, then address
    /// classes).
    peer_type: [Vec<u32>; 2],
    /// `[ingress, egress]`: number of peer types.
    type_count: [usize; 2],
    /// Groups and masks.
    cells: Cells,
    /// Every port class: the mask of a side that is not isolated.
    all: Vec<u64>,
}

/// One end of a pair, as the engine sees it.
#[derive(Clone, Copy, Debug)]
enum Side {
    Pod(usize),
    Address(usize),
}

impl Engine {
    /// Compiles `model`'s policies against its cluster: the seven steps of the module
    /// docs, each a named intermediate result.
    pub fn new(model: &Model) -> Engine {
        let interned = Interned::new(model);
        let addresses = AddressSpace::new(&interned.blocks, &pod_ips(model));
        let ports = PortSpace::new(&interned.numeric_ranges, &named_numbers(model, &interned));
        let words = ports.classes().div_ceil(64);
        let scopes = Scopes::new(model, &interned);
        let classes = PodClasses::new(model, &interned, &scopes, &addresses);
        let columns = Columns::new(&interned, &classes, &addresses);
        let peers = PeerSets::new(&interned, &scopes, &columns);
        let types = PeerTypes::for_directions(&classes, &columns, &peers, interned.names.len());
        let rules = CompiledRules::new(&interned, &peers, &ports, words);
        let isolation = Isolation::new(&interned, &columns, &classes);
        let tiers = Tiers::new(
            &interned,
            &peers,
            &ports,
            words,
            (&scopes, &columns, &classes),
        );
        let cells = Cells::compute(&Inputs {
            rules: &rules,
            isolation: &isolation,
            types: &types,
            classes: &classes,
            ports: &ports,
            words,
            tiers: &tiers,
        });
        let [ingress, egress] = types;
        Engine {
            pods: model.cluster.pods.len(),
            pod_class: classes.pod_class,
            class_pods: classes.class_pods,
            pod_ports: pod_ports(model),
            all: ports.all(words),
            addresses,
            ports,
            words,
            peer_type: [ingress.of, egress.of],
            type_count: [ingress.count, egress.count],
            cells,
        }
    }

    /// Every allowed port per protocol from `src` to `dst` (pods or addresses). An unknown
    /// pod index gets nothing, as in [`crate::evaluate`].
    pub fn allowed_ports(&self, src: Endpoint, dst: Endpoint) -> AllowedPorts {
        let (Some(src), Some(dst)) = (self.side(src), self.side(dst)) else {
            return AllowedPorts::default();
        };
        let mut mask = vec![0u64; self.words];
        self.pair_mask(src, dst, &mut mask);
        self.ports.to_allowed(&mask)
    }

    /// The outside-address classes the policies distinguish, sorted, ending with
    /// "any other address" (v4 and, if any policy mentions v6, v6). A class whose every
    /// address is a pod IP is left out: it has no representative.
    pub fn address_classes(&self) -> Vec<AddressClass> {
        self.addresses.listed.clone()
    }

    /// The cut address space, both families, as inclusive intervals with the class of
    /// [`Engine::address_classes`] each belongs to: what a class label stands for.
    pub(crate) fn address_intervals(&self) -> Vec<address::Interval> {
        self.addresses.listed_intervals()
    }

    /// The sizes of the compiled form, one line (for benchmarks and tuning).
    pub fn describe(&self) -> String {
        format!(
            "{} pod classes, {} address classes, {} port classes; egress: {} groups x {} peer types; ingress: {} groups x {} peer types",
            self.class_pods.len(),
            self.addresses.classes(),
            self.ports.classes(),
            self.cells.groups[EGRESS],
            self.type_count[EGRESS],
            self.cells.groups[INGRESS],
            self.type_count[INGRESS],
        )
    }

    /// The address ranges `(first, last)` of the outside-address class containing `ip`, as
    /// numbers of its family, in address order (for the authoring tools, which write a
    /// class back as an ipBlock).
    pub(crate) fn address_ranges(&self, ip: std::net::IpAddr) -> Vec<(u128, u128)> {
        let class = self.addresses.class_of(ip);
        self.addresses
            .intervals(ip.is_ipv6())
            .filter(|(_, _, c)| *c == class)
            .map(|(first, last, _)| (first, last))
            .collect()
    }

    /// Number of pods of the model the engine was built from.
    pub(crate) fn pods_len(&self) -> usize {
        self.pods
    }

    /// Number of pod classes (for benchmarks and curiosity).
    pub fn pod_classes(&self) -> usize {
        self.class_pods.len()
    }

    fn side(&self, endpoint: Endpoint) -> Option<Side> {
        match endpoint {
            Endpoint::Pod(i) => self.pod_class.get(i).map(|c| Side::Pod(*c as usize)),
            Endpoint::Address(ip) => Some(Side::Address(self.addresses.class_of(ip))),
        }
    }

    /// The column of a side: pod classes first, then address classes.
    fn column(&self, side: Side) -> usize {
        match side {
            Side::Pod(c) => c,
            Side::Address(a) => self.class_pods.len() + a,
        }
    }

    /// The port classes allowed from `src` to `dst`, into `out`: the egress cell AND the
    /// ingress cell (every class for a side that is not isolated).
    fn pair_mask(&self, src: Side, dst: Side, out: &mut [u64]) {
        out.copy_from_slice(&self.all);
        if let Side::Pod(s) = src {
            self.and_cell(EGRESS, s, self.column(dst), out);
        }
        if let Side::Pod(d) = dst {
            self.and_cell(INGRESS, d, self.column(src), out);
        }
    }

    /// ANDs into `out` what `direction`'s policies of pod class `class` admit for the peer
    /// in `column`; nothing changes when the class is not isolated that way.
    fn and_cell(&self, direction: usize, class: usize, column: usize, out: &mut [u64]) {
        let Some(&group) = self.cells.group[direction].get(class) else {
            return;
        };
        if group != hash::NONE {
            let peer_type = self.peer_type[direction][column];
            let types = self.type_count[direction];
            self.cells
                .and_into(direction, group, peer_type, types, self.words, out);
        }
    }
}

/// Every pod IP (for the address classes' representatives, which avoid them).
fn pod_ips(model: &Model) -> Vec<std::net::IpAddr> {
    model
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ips.iter().copied())
        .collect()
}

/// Per protocol, the numbers the port names the rules use resolve to on some pod (any
/// container port with that name and protocol, never on the host network): each is its
/// own port class.
fn named_numbers(model: &Model, interned: &Interned) -> [Vec<u16>; 3] {
    let mut named: [Vec<u16>; 3] = Default::default();
    if interned.names.is_empty() {
        return named;
    }
    for pod in model.cluster.pods.iter().filter(|p| !p.host_network) {
        for port in &pod.ports {
            let Some(name) = &port.name else { continue };
            if interned
                .name_index
                .contains_key(&(name.as_str(), port.protocol))
            {
                named[ports::proto_index(port.protocol)].push(port.port);
            }
        }
    }
    named
}

/// Each pod's container ports, as the named-port rule sees them: none on the host network.
fn pod_ports(model: &Model) -> Vec<Vec<ContainerPort>> {
    model
        .cluster
        .pods
        .iter()
        .map(|p| {
            if p.host_network {
                Vec::new()
            } else {
                p.ports.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{cluster, peer_block, peer_sel, policy, port, rule};
    use crate::model::PolicyType::{Egress as E, Ingress as I};
    use crate::model::{PortRef, Protocol};
    use crate::ports::PortSet;

    fn model(policies: Vec<crate::model::NetworkPolicy>) -> Model {
        Model {
            cluster: cluster(),
            policies,
            ..Model::default()
        }
    }

    #[test]
    fn address_classes_are_labelled_and_represented() {
        let engine = Engine::new(&model(vec![policy(
            "prod",
            "p",
            "",
            &[E],
            vec![],
            vec![
                rule(vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])], vec![]),
                rule(vec![peer_block("fd00::/8", &[])], vec![]),
            ],
        )]));
        let got: Vec<(String, String)> = engine
            .address_classes()
            .into_iter()
            .map(|c| (c.label, c.representative.to_string()))
            .collect();
        let want = [
            ("10.0.0.0/8 except 10.1.0.0/16", "10.0.0.3"),
            ("any other address", "8.8.8.8"),
            ("fd00::/8", "fd00::1"),
            ("any other IPv6 address", "2001:4860:4860::8888"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        // 10.0.0.1 and 10.0.0.2 are pod IPs, so the representative skips them.
        assert_eq!(got, want);
    }

    #[test]
    fn pods_alike_share_a_class_and_ranges_merge() {
        let mut m = model(vec![policy(
            "prod",
            "p",
            "app=web",
            &[I],
            vec![
                rule(
                    vec![peer_sel(None, Some(""))],
                    vec![port(Protocol::TCP, Some(PortRef::Number(80)), Some(90))],
                ),
                rule(
                    vec![],
                    vec![
                        port(Protocol::TCP, Some(PortRef::Number(91)), None),
                        port(Protocol::UDP, None, None),
                    ],
                ),
            ],
            vec![],
        )]);
        // A second web pod, identical to the policies.
        let mut twin = m.cluster.pods[2].clone();
        twin.id = "prod/web2".into();
        twin.ips = vec!["10.0.0.9".parse().unwrap()];
        m.cluster.pods.push(twin);
        let engine = Engine::new(&m);
        assert_eq!(engine.pod_classes(), 3);
        let ports = engine.allowed_ports(Endpoint::Pod(0), Endpoint::Pod(3));
        assert_eq!(ports.tcp.to_string(), "80-91");
        assert_eq!(ports.udp, PortSet::all());
        assert!(ports.sctp.is_empty());
        let outside = engine.allowed_ports(
            Endpoint::Address("1.2.3.4".parse().unwrap()),
            Endpoint::Pod(2),
        );
        assert_eq!(outside.tcp.to_string(), "91");
        // Unknown pods get nothing, like `evaluate`.
        assert!(engine
            .allowed_ports(Endpoint::Pod(9), Endpoint::Pod(2))
            .is_empty());
        let c = engine.connectivity();
        assert_eq!(c.ports(0, 3), Some(&ports));
        assert_eq!(c.ports(9, 3), None);
    }

    #[test]
    fn empty_model_is_fine() {
        let engine = Engine::new(&Model::default());
        let labels: Vec<String> = engine
            .address_classes()
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["any other address"]);
        let c = engine.connectivity();
        assert_eq!((c.classes(), c.kinds(), c.results().len()), (0, (0, 0), 0));
        assert!(!engine
            .matrix(Protocol::TCP, &PortRef::Number(80))
            .allowed(0, 0));
        let anywhere = Endpoint::Address("1.1.1.1".parse().unwrap());
        assert_eq!(
            engine.allowed_ports(anywhere, anywhere),
            AllowedPorts::all()
        );
    }

    #[test]
    fn named_port_matrix_resolves_per_destination() {
        let engine = Engine::new(&model(vec![policy(
            "dev",
            "p",
            "",
            &[E],
            vec![],
            vec![rule(
                vec![],
                vec![port(
                    Protocol::TCP,
                    Some(PortRef::Name("http".into())),
                    None,
                )],
            )],
        )]));
        let m = engine.matrix(Protocol::TCP, &PortRef::Name("http".into()));
        // tool (dev) -> web: http is 8080 there; -> db: no such port; -> itself: 9090.
        assert!(m.allowed(0, 2));
        assert!(!m.allowed(0, 1));
        assert!(m.allowed(0, 0));
        assert!(!m.allowed(0, 99));
        let m = engine.matrix(Protocol::TCP, &PortRef::Number(9090));
        assert!(m.allowed(0, 0) && !m.allowed(0, 2));
    }

    /// The named-port rule in a matrix: a name stands for every number it has on the
    /// destination, and the probe is allowed when one of them is.
    #[test]
    fn named_probe_is_allowed_when_any_number_is() {
        let mut m = model(vec![policy(
            "prod",
            "p",
            "app=web",
            &[I],
            vec![rule(
                vec![],
                vec![port(Protocol::TCP, Some(PortRef::Number(9091)), None)],
            )],
            vec![],
        )]);
        let web = m.cluster.pod_index("prod/web").unwrap();
        for number in [9091, 9092] {
            m.cluster.pods[web].ports.push(ContainerPort {
                name: Some("http".into()),
                port: number,
                protocol: Protocol::TCP,
            });
        }
        // web's http: 8080, 9091 and 9092; only 9091 is admitted.
        let engine = Engine::new(&m);
        let tool = m.cluster.pod_index("dev/tool").unwrap();
        assert!(engine
            .matrix(Protocol::TCP, &PortRef::Name("http".into()))
            .allowed(tool, web));
        assert_eq!(
            crate::eval::probe_port(
                &m,
                Endpoint::Pod(tool),
                Endpoint::Pod(web),
                Protocol::TCP,
                &PortRef::Name("http".into())
            ),
            Some(9091)
        );
        // On the host network, names never resolve: nothing to connect to by name.
        m.cluster.pods[web].host_network = true;
        let engine = Engine::new(&m);
        assert!(!engine
            .matrix(Protocol::TCP, &PortRef::Name("http".into()))
            .allowed(tool, web));
        // ... and no policy selects it: every port is open.
        assert_eq!(
            engine.allowed_ports(Endpoint::Pod(tool), Endpoint::Pod(web)),
            AllowedPorts::all()
        );
    }

    /// Every cell width (`u32` cells up to 32 port classes, one `u64` up to 64, several
    /// words beyond) gives the evaluator's answers, in `connectivity` and `allowed_ports`.
    #[test]
    fn every_cell_width_agrees_with_evaluate() {
        for rules in [5u16, 20, 40] {
            let ingress: Vec<_> = (0..rules)
                .map(|k| {
                    let peers = match k % 3 {
                        0 => vec![peer_sel(None, Some("team=b"))],
                        1 => vec![peer_sel(Some("app=db"), None)],
                        _ => vec![],
                    };
                    let ports = vec![port(
                        Protocol::TCP,
                        Some(PortRef::Number(1000 + 3 * k)),
                        None,
                    )];
                    rule(peers, ports)
                })
                .collect();
            let egress: Vec<_> = (0..rules)
                .map(|k| {
                    let peers = match k % 2 {
                        0 => vec![peer_sel(Some("app=web"), Some(""))],
                        _ => vec![peer_block("10.0.0.0/24", &[])],
                    };
                    let ports = match k % 4 {
                        3 => vec![port(
                            Protocol::TCP,
                            Some(PortRef::Name("http".into())),
                            None,
                        )],
                        _ => vec![port(
                            Protocol::TCP,
                            Some(PortRef::Number(1001 + 3 * k)),
                            None,
                        )],
                    };
                    rule(peers, ports)
                })
                .collect();
            let m = model(vec![
                policy("prod", "in", "app=web", &[I], ingress, vec![]),
                policy("dev", "out", "", &[E], vec![], egress),
            ]);
            let engine = Engine::new(&m);
            let connectivity = engine.connectivity();
            let mut probes: Vec<u16> = (0..3 * rules + 3).map(|k| 999 + k).collect();
            probes.extend([1, 8080, 9090, 65535]);
            for src in 0..m.cluster.pods.len() {
                for dst in 0..m.cluster.pods.len() {
                    let (s, d) = (Endpoint::Pod(src), Endpoint::Pod(dst));
                    let ports = engine.allowed_ports(s, d);
                    assert_eq!(connectivity.ports(src, dst), Some(&ports));
                    for &n in &probes {
                        let flow = crate::model::Flow {
                            src: s,
                            dst: d,
                            protocol: Protocol::TCP,
                            port: n,
                        };
                        let want = crate::evaluate(&m, &flow).is_allowed();
                        assert_eq!(
                            ports.tcp.contains(n),
                            want,
                            "{rules} rules, {src}->{dst}:{n}"
                        );
                    }
                }
            }
        }
    }
}
