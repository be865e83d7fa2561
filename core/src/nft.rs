//! Compiles one node's share of the engine's decisions into an nftables ruleset.
//!
//! Pure: the agent applies [`Ruleset::text`] with `nft -f`; the playground could show it as
//! "the rules node N would install". Nothing is decided here: the ruleset is rendered
//! from the [`Engine`]'s classes and cells (its crate-internal per-node view), so the
//! kernel enforces exactly what [`crate::evaluate`] and [`Engine`] say. This module matches
//! no selector, resolves no port name and parses no port.
//!
//! # Shape of the ruleset
//!
//! ```text
//! add table inet netpol
//! delete table inet netpol
//! table inet netpol {
//!     set ingress_g0_a0_v4 { type ipv4_addr; flags interval; elements = { 10.99.1.2, 10.99.2.0-10.99.2.9 } }
//!     map ingress_v4 { type ipv4_addr : verdict; elements = { 10.99.1.3 : jump ingress_g0 } }
//!     chain egress  { type filter hook forward priority 0;  policy accept;
//!                     ct state established,related accept; ip saddr vmap @egress_v4 }
//!     chain ingress { type filter hook forward priority 10; policy accept;
//!                     ct state established,related accept; ip daddr vmap @ingress_v4 }
//!     chain ingress_g0 {            # prod/db
//!         ip saddr @ingress_g0_a0_v4 meta l4proto tcp th dport { 5432, 9000-9010 } accept
//!         drop
//!     }
//! }
//! ```
//!
//! - One `table inet netpol`, replaced as a whole: the text starts with `add table` and
//!   `delete table`, so `nft -f` swaps old for new in one atomic transaction.
//! - Two base chains on the `forward` hook (pods live in their own network namespaces
//!   behind a bridge or routes, so every pod-to-pod packet is forwarded by the node):
//!   `egress` (priority 0) then `ingress` (priority 10). In nftables an `accept` ends only
//!   the current base chain, so "this direction allows it" is `accept` in one base chain
//!   and the packet still has to pass the other; `drop` is final.
//! - Each base chain starts with `ct state established,related accept`: replies and packets
//!   of connections that were admitted when they started are never re-judged. Consequence
//!   (same as kube-network-policies): a policy change that denies a flow does not cut
//!   connections already established; new connections follow the new rules at once.
//! - Then one verdict-map lookup per family: every *isolated* local pod address maps to
//!   `jump` to its isolation group's chain. A local pod that is not isolated in that
//!   direction is not in the map and falls through to the chain policy `accept`.
//! - A group chain has one rule per *distinct non-zero mask* in the engine's row for the
//!   group (per family, per protocol): the peer addresses whose peer type has that mask, as
//!   an interval set, and the ports the mask admits; then `drop`. Identical sets are shared
//!   by content.
//!
//! # Why it is exact
//!
//! The engine's cell for (isolation group, peer type) is exact for every pod of the group
//! and every peer of the type: ingress groups are split by how the destination resolves
//! port names, and egress peer types by how the peer does, so a named port needs no special
//! set — a pod whose `http` is 8080 in one container and 9090 in another is admitted on
//! both. Pod IPs stand for their pods' classes, every other address for its address class
//! (ipBlock boundaries), so the sets hold exactly the admitted addresses.
//!
//! A rule without `ports` admits every protocol, ICMP included. The engine keeps that as a
//! port class of its own ("any other protocol") that only port-less rules and sides that
//! are not isolated set; a mask with every class is a bare `accept`, and otherwise the
//! class becomes `meta l4proto != { tcp, udp, sctp } accept`.
//!
//! # What the kernel cannot tell apart
//!
//! Pods whose IPs collide (bad input) and host-network pods (which share their node's
//! address) are one address to the kernel. The ruleset fails closed and stays
//! deterministic: such an address is admitted only on what every class it stands for is
//! admitted, and a local address shared by pods of several groups gets the intersection of
//! their groups. Pods without an IP and host-network pods are never local pods to enforce
//! for (nothing can address them, or their traffic is the node's).
//!
//! Scope (what nftables on the forward hook cannot see): traffic between a pod and its own
//! node (host network) and a pod talking to itself are not filtered; Kubernetes allows the
//! former for kubelet probes and the latter never leaves the pod.
//!
//! Size: one chain per distinct local group, one rule per distinct mask of its row (× family
//! × protocol), and set elements for the address runs of each mask. Pods × pods never
//! appears; contiguous pod IPs with the same treatment merge into one interval.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::node::{address, Admit, LocalRules, NodeRules};
use crate::engine::Engine;
use crate::model::Model;

/// Name of the nftables table the agent owns (family `inet`).
pub const TABLE: &str = "netpol";

/// A complete ruleset for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    /// Input for `nft -f`: replaces `table inet netpol` atomically.
    pub text: String,
    /// Number of rules in all chains.
    pub rules: usize,
    /// Number of elements in all sets and maps.
    pub set_elements: usize,
}

/// Indices (into `model.cluster.pods`) of the pods whose `spec.nodeName` is `node`.
/// [`compile`] leaves out those it has nothing to enforce for (no IP, host network).
pub fn local_pods(model: &Model, node: &str) -> Vec<usize> {
    model
        .cluster
        .pods
        .iter()
        .enumerate()
        .filter(|(_, pod)| pod.node.as_deref() == Some(node))
        .map(|(i, _)| i)
        .collect()
}

/// Compiles the ruleset for a node whose local pods are `node_pods` (indices into
/// `model.cluster.pods`; out-of-range and duplicate indices are ignored), from `engine`,
/// which must be [`Engine::new`] of `model` (one engine serves every node of a state; an
/// engine of another cluster is replaced by a fresh one). Deterministic: the same model
/// and pods always give the same text.
pub fn compile(model: &Model, engine: &Engine, node_pods: &[usize]) -> Ruleset {
    let mut local: Vec<usize> = node_pods
        .iter()
        .copied()
        .filter(|i| *i < model.cluster.pods.len())
        .collect();
    local.sort_unstable();
    local.dedup();
    let rules = if engine.pods_len() == model.cluster.pods.len() {
        engine.node_rules(model, &local)
    } else {
        Engine::new(model).node_rules(model, &local)
    };
    let names = pod_names(model, &local);
    let mut b = Builder::default();
    let NodeRules {
        directions: [ingress, egress],
    } = rules;
    let base = [
        b.direction(Direction::Egress, &egress, &names),
        b.direction(Direction::Ingress, &ingress, &names),
    ];
    b.render(base)
}

/// The ids of the local pods behind each local address (for the chains' comments).
fn pod_names(model: &Model, local: &[usize]) -> BTreeMap<std::net::IpAddr, Vec<String>> {
    let mut names: BTreeMap<std::net::IpAddr, Vec<String>> = BTreeMap::new();
    for pod in local.iter().filter_map(|i| model.cluster.pods.get(*i)) {
        for ip in &pod.ips {
            names
                .entry(*ip)
                .or_default()
                .push(pod.id.replace(['"', '\n', '\r'], "_"));
        }
    }
    names
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The address of the local pod in a packet.
    fn local_key(self) -> &'static str {
        match self {
            Direction::Ingress => "daddr",
            Direction::Egress => "saddr",
        }
    }

    /// The address of the peer in a packet.
    fn peer_key(self) -> &'static str {
        match self {
            Direction::Ingress => "saddr",
            Direction::Egress => "daddr",
        }
    }

    /// Egress first: a packet from a local pod to a local pod needs both checks.
    fn priority(self) -> u8 {
        match self {
            Direction::Egress => 0,
            Direction::Ingress => 10,
        }
    }
}

/// The nftables words of the two families.
const FAMILIES: [(&str, &str, bool); 2] = [("ip", "ipv4_addr", false), ("ip6", "ipv6_addr", true)];

/// The match expressions (without `accept`) of the ports a mask admits; an empty string
/// matches everything.
fn port_matches(admit: &Admit) -> Vec<String> {
    let ports = &admit.ports;
    let whole = |ranges: &[(u16, u16)]| ranges == [(0, 65535)];
    if ports.any_protocol && ports.per_protocol.iter().all(|r| whole(r)) {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    for (protocol, ranges) in ["tcp", "udp", "sctp"].iter().zip(&ports.per_protocol) {
        if ranges.is_empty() {
            continue;
        }
        if whole(ranges) {
            out.push(format!("meta l4proto {protocol}"));
            continue;
        }
        let elements: Vec<String> = ranges
            .iter()
            .map(|(a, b)| {
                if a == b {
                    format!("{a}")
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        let dport = match elements.as_slice() {
            [one] => one.clone(),
            many => format!("{{ {} }}", many.join(", ")),
        };
        out.push(format!("meta l4proto {protocol} th dport {dport}"));
    }
    if ports.any_protocol {
        out.push("meta l4proto != { tcp, udp, sctp }".to_string());
    }
    out
}

/// The last address of a family, as a number.
fn family_max(v6: bool) -> u128 {
    if v6 {
        u128::MAX
    } else {
        u32::MAX as u128
    }
}

/// `10.0.0.1` or `10.0.0.0-10.0.0.255`.
fn interval(lo: u128, hi: u128, v6: bool) -> String {
    if lo == hi {
        address(lo, v6).to_string()
    } else {
        format!("{}-{}", address(lo, v6), address(hi, v6))
    }
}

struct Chain {
    name: String,
    comment: String,
    rules: Vec<String>,
}

/// A named set or map.
struct SetDef {
    keyword: &'static str,
    name: String,
    kind: String,
    interval: bool,
    elements: Vec<String>,
}

/// Collects sets (deduplicated by content), maps and chains, then renders the text.
#[derive(Default)]
struct Builder {
    sets: Vec<SetDef>,
    /// (type, elements) → name of the interval set that already holds exactly these.
    by_content: BTreeMap<(String, Vec<String>), String>,
    chains: Vec<Chain>,
}

impl Builder {
    /// The base chain of one direction, after adding its map, group chains and sets.
    fn direction(
        &mut self,
        direction: Direction,
        rules: &LocalRules,
        names: &BTreeMap<std::net::IpAddr, Vec<String>>,
    ) -> (Direction, Vec<String>) {
        let word = direction.word();
        let mut base = vec!["ct state established,related accept".to_string()];
        for (family, kind, v6) in FAMILIES {
            let elements: Vec<String> = rules
                .addresses
                .iter()
                .filter(|(ip, _)| ip.is_ipv6() == v6)
                .map(|(ip, group)| format!("{ip} : jump {word}_g{group}"))
                .collect();
            if elements.is_empty() {
                continue;
            }
            let name = format!("{word}_{}", if v6 { "v6" } else { "v4" });
            base.push(format!("{family} {} vmap @{name}", direction.local_key()));
            self.sets.push(SetDef {
                keyword: "map",
                name,
                kind: format!("{kind} : verdict"),
                interval: false,
                elements,
            });
        }
        for (group, admits) in rules.groups.iter().enumerate() {
            let pods = group_pods(rules, group, names);
            self.group_chain(direction, group, admits, pods);
        }
        (direction, base)
    }

    /// The chain of one local group: an `accept` per admitted (addresses, ports), then
    /// `drop`.
    fn group_chain(&mut self, direction: Direction, group: usize, admits: &[Admit], pods: String) {
        let word = direction.word();
        let mut rules = Vec::new();
        for (k, admit) in admits.iter().enumerate() {
            let matches = port_matches(admit);
            for (family, kind, v6) in FAMILIES {
                let ranges = if v6 { &admit.v6 } else { &admit.v4 };
                if ranges.is_empty() {
                    continue;
                }
                // Every address of the family: no set needed.
                let peers = if ranges == &[(0, family_max(v6))] {
                    format!("meta nfproto {}", if v6 { "ipv6" } else { "ipv4" })
                } else {
                    let elements = ranges.iter().map(|(a, b)| interval(*a, *b, v6)).collect();
                    let name = format!("{word}_g{group}_a{k}");
                    let set = self.interval_set(&name, v6, kind, elements);
                    format!("{family} {} @{set}", direction.peer_key())
                };
                for m in &matches {
                    let rule = format!("{peers} {m} accept");
                    rules.push(rule.replace("  ", " "));
                }
            }
        }
        rules.push("drop".to_string());
        self.chains.push(Chain {
            name: format!("{word}_g{group}"),
            comment: format!("{word} of {pods}"),
            rules,
        });
    }

    /// An interval set named `{name}_v4`/`_v6` holding `elements`, or the name of an
    /// identical set made earlier.
    fn interval_set(&mut self, name: &str, v6: bool, kind: &str, elements: Vec<String>) -> String {
        let key = (kind.to_string(), elements);
        if let Some(existing) = self.by_content.get(&key) {
            return existing.clone();
        }
        let name = format!("{name}_{}", if v6 { "v6" } else { "v4" });
        self.sets.push(SetDef {
            keyword: "set",
            name: name.clone(),
            kind: kind.to_string(),
            interval: true,
            elements: key.1.clone(),
        });
        self.by_content.insert(key, name.clone());
        name
    }

    fn render(self, base: [(Direction, Vec<String>); 2]) -> Ruleset {
        let mut text = String::new();
        let mut rules = 0;
        let mut set_elements = 0;
        // `add` then `delete` makes the delete valid whether or not the table exists; the
        // whole file is one transaction, so the old table is replaced atomically.
        let _ = writeln!(text, "add table inet {TABLE}");
        let _ = writeln!(text, "delete table inet {TABLE}");
        let _ = writeln!(text, "table inet {TABLE} {{");
        for set in &self.sets {
            set_elements += set.elements.len();
            let _ = writeln!(text, "\t{} {} {{", set.keyword, set.name);
            let _ = writeln!(text, "\t\ttype {}", set.kind);
            if set.interval {
                let _ = writeln!(text, "\t\tflags interval");
            }
            let _ = writeln!(text, "\t\telements = {{ {} }}", set.elements.join(", "));
            let _ = writeln!(text, "\t}}");
        }
        for (direction, chain_rules) in &base {
            let word = direction.word();
            let priority = direction.priority();
            let _ = writeln!(text, "\t# {word} checks for local pods");
            let _ = writeln!(text, "\tchain {word} {{");
            let _ = writeln!(
                text,
                "\t\ttype filter hook forward priority {priority}; policy accept;"
            );
            for rule in chain_rules {
                rules += 1;
                let _ = writeln!(text, "\t\t{rule}");
            }
            let _ = writeln!(text, "\t}}");
        }
        for chain in &self.chains {
            let _ = writeln!(text, "\t# {}", chain.comment);
            let _ = writeln!(text, "\tchain {} {{", chain.name);
            for rule in &chain.rules {
                rules += 1;
                let _ = writeln!(text, "\t\t{rule}");
            }
            let _ = writeln!(text, "\t}}");
        }
        let _ = writeln!(text, "}}");
        Ruleset {
            text,
            rules,
            set_elements,
        }
    }
}

/// The pod ids of one local group, for its chain's comment (the first few).
fn group_pods(
    rules: &LocalRules,
    group: usize,
    names: &BTreeMap<std::net::IpAddr, Vec<String>>,
) -> String {
    let mut pods: Vec<&str> = rules
        .addresses
        .iter()
        .filter(|(_, g)| *g == group)
        .flat_map(|(ip, _)| names.get(ip).into_iter().flatten())
        .map(String::as_str)
        .collect();
    pods.sort_unstable();
    pods.dedup();
    const SHOWN: usize = 4;
    let mut text = pods
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if pods.len() > SHOWN {
        let _ = write!(text, " and {} more", pods.len() - SHOWN);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::Cidr;
    use crate::diagnostic::Span;
    use crate::model::{
        Cluster, ContainerPort, IpBlock, LabelSelector, Labels, Namespace, NetworkPolicy,
        NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Pod, PolicyType, PortRef,
        Protocol, NAMESPACE_NAME_LABEL,
    };

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selector(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: labels(pairs),
            match_expressions: Vec::new(),
        }
    }

    fn pod(ns: &str, name: &str, app: &str, ip: &str, node: &str) -> Pod {
        Pod {
            id: format!("{ns}/{name}"),
            namespace: ns.to_string(),
            name: name.to_string(),
            workload: None,
            labels: labels(&[("app", app)]),
            ips: ip.split(',').filter_map(|s| s.parse().ok()).collect(),
            ports: vec![ContainerPort {
                name: Some("http".to_string()),
                port: 8080,
                protocol: Protocol::TCP,
            }],
            node: Some(node.to_string()),
            host_network: false,
            span: None,
        }
    }

    fn namespace(name: &str) -> Namespace {
        Namespace {
            name: name.to_string(),
            labels: labels(&[(NAMESPACE_NAME_LABEL, name)]),
            span: None,
        }
    }

    fn policy(ns: &str, name: &str, app: &str, types: &[PolicyType]) -> NetworkPolicy {
        NetworkPolicy {
            name: name.to_string(),
            namespace: ns.to_string(),
            pod_selector: selector(&[("app", app)]),
            policy_types: types.to_vec(),
            ingress: Vec::new(),
            egress: Vec::new(),
            span: Span::default(),
        }
    }

    fn peer_pods(app: &str) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: Some(selector(&[("app", app)])),
            namespace_selector: None,
            ip_block: None,
            span: Span::default(),
        }
    }

    fn peer_block(cidr: &str, except: &[&str]) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: None,
            namespace_selector: None,
            ip_block: Some(IpBlock {
                cidr: cidr.parse::<Cidr>().unwrap(),
                except: except.iter().map(|e| e.parse().unwrap()).collect(),
            }),
            span: Span::default(),
        }
    }

    fn port(protocol: Protocol, port: Option<PortRef>, end_port: Option<u16>) -> NetworkPolicyPort {
        NetworkPolicyPort {
            protocol,
            port,
            end_port,
            span: Span::default(),
        }
    }

    fn named(name: &str) -> NetworkPolicyPort {
        port(Protocol::TCP, Some(PortRef::Name(name.into())), None)
    }

    fn rule(peers: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>) -> NetworkPolicyRule {
        NetworkPolicyRule {
            peers,
            ports,
            span: Span::default(),
        }
    }

    fn model(pods: Vec<Pod>, policies: Vec<NetworkPolicy>) -> Model {
        let mut namespaces: Vec<Namespace> = pods.iter().map(|p| namespace(&p.namespace)).collect();
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        namespaces.dedup_by(|a, b| a.name == b.name);
        let mut pods = pods;
        pods.sort_by(|a, b| a.id.cmp(&b.id));
        Model {
            cluster: Cluster {
                namespaces,
                pods,
                ..Default::default()
            },
            policies,
            ..Model::default()
        }
    }

    /// The ruleset of `node`, from a fresh engine.
    fn ruleset(m: &Model, node: &str) -> Ruleset {
        compile(m, &Engine::new(m), &local_pods(m, node))
    }

    /// The rules of one chain, without the braces.
    fn chain<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        let start = text
            .find(&format!("\tchain {name} {{\n"))
            .unwrap_or_else(|| panic!("no chain {name} in\n{text}"));
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| *l != "\t}")
            .map(str::trim)
            .collect()
    }

    /// The elements of a set or map.
    fn elements<'t>(text: &'t str, name: &str) -> &'t str {
        let start = text
            .find(&format!(" {name} {{\n"))
            .unwrap_or_else(|| panic!("no set {name} in\n{text}"));
        let line = text[start..]
            .lines()
            .find(|l| l.trim_start().starts_with("elements = {"))
            .unwrap();
        line.trim()
            .trim_start_matches("elements = { ")
            .trim_end_matches(" }")
    }

    fn two_nodes() -> Vec<Pod> {
        vec![
            pod("prod", "api", "api", "10.99.1.2", "node-a"),
            pod("prod", "db", "db", "10.99.1.3", "node-a"),
            pod("prod", "web", "web", "10.99.2.2", "node-b"),
        ]
    }

    #[test]
    fn no_policies_installs_only_the_fast_path() {
        let m = model(two_nodes(), Vec::new());
        let rs = ruleset(&m, "node-a");
        assert!(rs
            .text
            .starts_with("add table inet netpol\ndelete table inet netpol\n"));
        assert_eq!(rs.rules, 2, "{}", rs.text);
        assert_eq!(rs.set_elements, 0);
        assert!(!rs.text.contains("drop"));
        assert_eq!(
            chain(&rs.text, "ingress"),
            [
                "type filter hook forward priority 10; policy accept;",
                "ct state established,related accept"
            ]
        );
    }

    #[test]
    fn default_deny_drops_only_isolated_local_pods() {
        let m = model(
            two_nodes(),
            vec![policy("prod", "deny-db", "db", &[PolicyType::Ingress])],
        );
        let a = ruleset(&m, "node-a");
        assert_eq!(
            elements(&a.text, "ingress_v4"),
            "10.99.1.3 : jump ingress_g0"
        );
        assert!(
            a.text.contains("\t\tip daddr vmap @ingress_v4\n"),
            "{}",
            a.text
        );
        assert_eq!(chain(&a.text, "ingress_g0"), ["drop"]);
        assert!(a.text.contains("\t# ingress of prod/db\n"), "{}", a.text);
        assert!(!a.text.contains("saddr"), "no egress isolation: {}", a.text);
        // The db pod is not on node-b: nothing to enforce there.
        let b = ruleset(&m, "node-b");
        assert!(!b.text.contains("drop"), "{}", b.text);
        assert_eq!(b.rules, 2);
    }

    #[test]
    fn rules_become_set_lookups_with_ports() {
        let mut p = policy(
            "prod",
            "db",
            "db",
            &[PolicyType::Ingress, PolicyType::Egress],
        );
        p.ingress.push(rule(
            vec![peer_pods("api")],
            vec![
                port(Protocol::TCP, Some(PortRef::Number(5432)), None),
                port(Protocol::TCP, Some(PortRef::Number(9000)), Some(9010)),
                port(Protocol::UDP, None, None),
            ],
        ));
        p.egress.push(rule(
            Vec::new(),
            vec![port(Protocol::UDP, Some(PortRef::Number(53)), None)],
        ));
        let m = model(two_nodes(), vec![p]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(elements(&t, "ingress_g0_a0_v4"), "10.99.1.2");
        assert_eq!(
            chain(&t, "ingress_g0"),
            [
                "ip saddr @ingress_g0_a0_v4 meta l4proto tcp th dport { 5432, 9000-9010 } accept",
                "ip saddr @ingress_g0_a0_v4 meta l4proto udp accept",
                "drop"
            ]
        );
        // Every address of both families: no set, just the family.
        assert_eq!(
            chain(&t, "egress_g0"),
            [
                "meta nfproto ipv4 meta l4proto udp th dport 53 accept",
                "meta nfproto ipv6 meta l4proto udp th dport 53 accept",
                "drop"
            ]
        );
        assert_eq!(elements(&t, "egress_v4"), "10.99.1.3 : jump egress_g0");
        assert!(t.contains("\t\tip saddr vmap @egress_v4\n"));
    }

    #[test]
    fn ip_block_except_is_subtracted_into_intervals() {
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress.push(rule(
            vec![peer_block(
                "10.99.0.0/16",
                &["10.99.1.0/24", "10.99.3.128/25"],
            )],
            Vec::new(),
        ));
        let m = model(two_nodes(), vec![p]);
        let t = ruleset(&m, "node-a").text;
        // web's IP (10.99.2.2) is inside the block and admitted like it: one interval.
        assert_eq!(
            elements(&t, "ingress_g0_a0_v4"),
            "10.99.0.0-10.99.0.255, 10.99.2.0-10.99.3.127, 10.99.4.0-10.99.255.255"
        );
        assert_eq!(
            chain(&t, "ingress_g0"),
            ["ip saddr @ingress_g0_a0_v4 accept", "drop"]
        );
    }

    /// The issue's case: `http` is 8080 in one container and 9090 in the other; a policy
    /// admitting `http` admits both, as `evaluate` and the engine say.
    #[test]
    fn a_named_port_on_two_containers_admits_both_numbers() {
        let mut pods = two_nodes();
        pods[1].ports.push(ContainerPort {
            name: Some("http".into()),
            port: 9090,
            protocol: Protocol::TCP,
        });
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress
            .push(rule(vec![peer_pods("api")], vec![named("http")]));
        let m = model(pods, vec![p]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(
            chain(&t, "ingress_g0"),
            [
                "ip saddr @ingress_g0_a0_v4 meta l4proto tcp th dport { 8080, 9090 } accept",
                "drop"
            ]
        );
        let db = m.cluster.pod_index("prod/db").unwrap();
        let api = m.cluster.pod_index("prod/api").unwrap();
        for port in [8080, 9090] {
            let flow = crate::model::Flow {
                src: crate::model::Endpoint::Pod(api),
                dst: crate::model::Endpoint::Pod(db),
                protocol: Protocol::TCP,
                port,
            };
            assert!(crate::evaluate(&m, &flow).is_allowed(), "{port}");
        }
    }

    /// Named ports need no special sets: ingress groups split by how the destination
    /// resolves the name, so each group's chain carries its own numbers.
    #[test]
    fn named_ports_split_ingress_groups_by_destination() {
        let mut pods = two_nodes();
        pods[1].ports[0].port = 5432; // db calls its port "http" too, with another number
        let mut p = policy("prod", "all", "", &[PolicyType::Ingress]);
        p.pod_selector = LabelSelector::default();
        p.ingress.push(rule(Vec::new(), vec![named("http")]));
        let m = model(pods, vec![p]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(
            elements(&t, "ingress_v4"),
            "10.99.1.2 : jump ingress_g0, 10.99.1.3 : jump ingress_g1"
        );
        assert_eq!(
            chain(&t, "ingress_g0")[0],
            "meta nfproto ipv4 meta l4proto tcp th dport 8080 accept"
        );
        assert_eq!(
            chain(&t, "ingress_g1")[0],
            "meta nfproto ipv4 meta l4proto tcp th dport 5432 accept"
        );
    }

    /// Egress named ports resolve at each destination: one rule per distinct number set.
    #[test]
    fn named_ports_in_egress_resolve_per_destination() {
        let mut pods = two_nodes();
        pods[2].ports[0].port = 8443; // web's http is 8443
        let mut p = policy("prod", "api", "api", &[PolicyType::Egress]);
        p.egress.push(rule(
            vec![peer_pods("db"), peer_pods("web")],
            vec![named("http")],
        ));
        let m = model(pods, vec![p]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(
            chain(&t, "egress_g0"),
            [
                "ip daddr @egress_g0_a0_v4 meta l4proto tcp th dport 8080 accept",
                "ip daddr @egress_g0_a1_v4 meta l4proto tcp th dport 8443 accept",
                "drop"
            ]
        );
        assert_eq!(elements(&t, "egress_g0_a0_v4"), "10.99.1.3");
        assert_eq!(elements(&t, "egress_g0_a1_v4"), "10.99.2.2");
    }

    #[test]
    fn selectors_follow_namespaces() {
        let mut pods = two_nodes();
        pods.push(pod("dev", "api", "api", "10.99.2.9", "node-b"));
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress.push(rule(vec![peer_pods("api")], Vec::new()));
        let mut both = peer_pods("api");
        both.namespace_selector = Some(selector(&[(NAMESPACE_NAME_LABEL, "dev")]));
        let mut q = policy("prod", "db2", "db", &[PolicyType::Ingress]);
        q.ingress
            .push(rule(vec![both], vec![port(Protocol::UDP, None, None)]));
        let m = model(pods, vec![p, q]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(
            chain(&t, "ingress_g0"),
            [
                "ip saddr @ingress_g0_a0_v4 accept",
                "ip saddr @ingress_g0_a1_v4 meta l4proto udp accept",
                "drop"
            ]
        );
        assert_eq!(elements(&t, "ingress_g0_a0_v4"), "10.99.1.2");
        assert_eq!(elements(&t, "ingress_g0_a1_v4"), "10.99.2.9");
    }

    /// A rule without ports admits ICMP too; a rule naming every port of every protocol
    /// does not.
    #[test]
    fn only_port_less_rules_admit_other_protocols() {
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress.push(rule(vec![peer_pods("api")], Vec::new()));
        p.ingress.push(rule(
            vec![peer_pods("web")],
            vec![
                port(Protocol::TCP, None, None),
                port(Protocol::UDP, None, None),
                port(Protocol::SCTP, None, None),
            ],
        ));
        let m = model(two_nodes(), vec![p]);
        let t = ruleset(&m, "node-a").text;
        assert_eq!(
            chain(&t, "ingress_g0"),
            [
                "ip saddr @ingress_g0_a0_v4 accept",
                "ip saddr @ingress_g0_a1_v4 meta l4proto tcp accept",
                "ip saddr @ingress_g0_a1_v4 meta l4proto udp accept",
                "ip saddr @ingress_g0_a1_v4 meta l4proto sctp accept",
                "drop"
            ]
        );
        assert_eq!(elements(&t, "ingress_g0_a0_v4"), "10.99.1.2");
        assert_eq!(elements(&t, "ingress_g0_a1_v4"), "10.99.2.2");
    }

    /// Host-network pods and pods without an IP are never local pods; selectors never
    /// match a host-network pod, an ipBlock matches its (the node's) address.
    #[test]
    fn host_network_pods_are_matched_only_by_ip_blocks() {
        let mut pods = two_nodes();
        let mut agent = pod("prod", "agent", "api", "10.99.0.1", "node-a");
        agent.host_network = true;
        pods.push(agent);
        pods.push(pod("prod", "pending", "db", "", "node-a"));
        let mut p = policy("prod", "all", "", &[PolicyType::Ingress]);
        p.pod_selector = LabelSelector::default();
        p.ingress.push(rule(vec![peer_pods("api")], Vec::new()));
        p.ingress.push(rule(
            vec![peer_block("10.99.0.0/24", &[])],
            vec![port(Protocol::TCP, Some(PortRef::Number(10250)), None)],
        ));
        let m = model(pods, vec![p]);
        let t = ruleset(&m, "node-a").text;
        // api and db, not the host-network pod, not the pod without an IP.
        assert_eq!(
            elements(&t, "ingress_v4"),
            "10.99.1.2 : jump ingress_g0, 10.99.1.3 : jump ingress_g0"
        );
        // app=api selects prod/api only; the block admits the host-network pod's address.
        assert_eq!(elements(&t, "ingress_g0_a0_v4"), "10.99.0.0-10.99.0.255");
        assert_eq!(elements(&t, "ingress_g0_a1_v4"), "10.99.1.2");
        assert_eq!(
            chain(&t, "ingress_g0"),
            [
                "ip saddr @ingress_g0_a0_v4 meta l4proto tcp th dport 10250 accept",
                "ip saddr @ingress_g0_a1_v4 accept",
                "drop"
            ]
        );
    }

    /// Two pods with one IP (bad input): the address gets only what both get, on the
    /// peer side and on the local side.
    #[test]
    fn colliding_ips_fail_closed() {
        let mut pods = two_nodes();
        pods.push(pod("prod", "web2", "web2", "10.99.2.2", "node-b"));
        pods.push(pod("prod", "db2", "db2", "10.99.1.3", "node-a"));
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress.push(rule(
            vec![peer_pods("web"), peer_pods("api")],
            vec![port(Protocol::TCP, Some(PortRef::Number(80)), None)],
        ));
        let m = model(pods, vec![p]);
        let t = ruleset(&m, "node-a").text;
        // web2 shares web's IP and is not admitted: only api's address remains.
        assert_eq!(elements(&t, "ingress_g0_a0_v4"), "10.99.1.2");
        // db2 (not isolated) shares db's IP: the address is isolated like db.
        assert_eq!(elements(&t, "ingress_v4"), "10.99.1.3 : jump ingress_g0");
    }

    #[test]
    fn deterministic_and_order_independent() {
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress
            .push(rule(vec![peer_pods("api"), peer_pods("web")], Vec::new()));
        let m = model(two_nodes(), vec![p]);
        let engine = Engine::new(&m);
        let a = compile(&m, &engine, &[0, 1]);
        let b = compile(&m, &engine, &[1, 0, 1, 99]);
        assert_eq!(a, b);
        // An engine of another model is not used.
        let c = compile(&m, &Engine::new(&Model::default()), &[0, 1]);
        assert_eq!(a, c);
        assert_eq!(
            elements(&a.text, "ingress_g0_a0_v4"),
            "10.99.1.2, 10.99.2.2"
        );
    }

    /// `n` pods in `n / 10` apps, one policy per app admitting the next app: the ruleset must
    /// grow linearly, not with pods × pods.
    fn scaled(n: usize) -> Ruleset {
        let apps = n / 10;
        let pods = (0..n)
            .map(|i| {
                let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
                pod(
                    "prod",
                    &format!("p{i:05}"),
                    &format!("a{}", i % apps),
                    &ip,
                    "node-a",
                )
            })
            .collect();
        let policies = (0..apps)
            .map(|a| {
                let mut p = policy(
                    "prod",
                    &format!("pol{a:04}"),
                    &format!("a{a}"),
                    &[PolicyType::Ingress],
                );
                p.ingress.push(rule(
                    vec![peer_pods(&format!("a{}", (a + 1) % apps))],
                    vec![port(Protocol::TCP, Some(PortRef::Number(80)), None)],
                ));
                p
            })
            .collect();
        let m = model(pods, policies);
        let local: Vec<usize> = (0..n).collect();
        compile(&m, &Engine::new(&m), &local)
    }

    #[test]
    fn size_grows_linearly() {
        let small = scaled(200);
        let large = scaled(800);
        // 2 fast-path rules, 1 map lookup; per app group 1 accept and 1 drop.
        assert_eq!(small.rules, 3 + 2 * 20);
        assert_eq!(large.rules, 3 + 2 * 80);
        // Each pod's IP is in the map and in one peer set (its apps' IPs are not adjacent).
        assert_eq!(small.set_elements, 2 * 200);
        assert_eq!(large.set_elements, 2 * 800);
    }
}
