//! Compiles the model plus one node's local pods into an nftables ruleset.
//!
//! Pure: the agent applies [`Ruleset::text`] with `nft -f`; the playground could show it as
//! "the rules node N would install". Every policy decision is made here, from the model,
//! so the kernel enforces exactly what [`crate::evaluate`] and [`crate::Engine`] say.
//!
//! # Shape of the ruleset
//!
//! One `table inet netpol`, replaced as a whole: the text starts with `add table` and
//! `delete table`, so `nft -f` swaps old for new in one atomic transaction.
//!
//! - Two base chains on the `forward` hook (pods live in their own network namespaces
//!   behind a bridge or routes, so every pod-to-pod packet is forwarded by the node):
//!   `egress` (priority 0) then `ingress` (priority 10). In nftables an `accept` ends only
//!   the current base chain, so "this direction allows it" is `accept` in one base chain
//!   and the packet still has to pass the other; `drop` is final.
//! - Each base chain starts with `ct state established,related accept`: replies and packets
//!   of connections that were admitted when they started are never re-judged. Consequence
//!   (same as kube-network-policies): a policy change that denies a flow does not cut
//!   connections already established; new connections follow the new rules at once.
//! - Then one dispatch rule per policy that selects a local pod in that direction:
//!   `ip daddr @p3_sel_v4 jump p3_ingress`. The per-policy chain holds one `accept` per
//!   rule × port entry (× address family); when nothing matches, the chain returns and the
//!   next policy is tried, which is exactly the union of all selecting policies.
//! - Last, `drop` for local pods isolated in that direction (`@ingress_isolated_v4`, ...).
//!   Non-isolated pods fall through to the chain policy `accept`.
//!
//! Peers become interval sets of addresses: the IPs of the pods a selector peer matches and
//! the ranges of `ipBlock.cidr` minus every `except` (the subtraction is done here, so the
//! set holds exactly the admitted addresses). All peers of one rule are one set, identical
//! sets are shared. Named ports are resolved per destination pod into concatenated sets of
//! `address . protocol . port`. No rule ever mentions a pair of pods: the number of rules
//! grows with the policies that select local pods and their rules × ports, and set elements
//! with the pods each *distinct* peer matches (identical sets are shared). Pods × pods
//! never appears; the worst case, many different selectors each matching most pods, is
//! distinct peers × pods.
//!
//! Scope (what nftables on the forward hook cannot see): traffic between a pod and its own
//! node (host network) and a pod talking to itself are not filtered; Kubernetes allows the
//! former for kubelet probes and the latter never leaves the pod.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    Endpoint, IpBlock, LabelSelector, Labels, Model, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicyRule, Pod, PolicyType, PortRef, Protocol,
};

/// Name of the nftables table the agent owns (family `inet`).
pub const TABLE: &str = "netpol";

/// A complete ruleset for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    /// Input for `nft -f`: replaces `table inet netpol` atomically.
    pub text: String,
    /// Number of rules in all chains.
    pub rules: usize,
    /// Number of elements in all sets.
    pub set_elements: usize,
}

/// Indices (into `model.cluster.pods`) of the pods whose `spec.nodeName` is `node`.
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

/// Whether `peer` (an entry of a rule of `policy`) matches the pod at `index`: the
/// evaluator's own peer matching, so the kernel and [`crate::evaluate`] cannot disagree.
fn peer_admits(
    model: &Model,
    policy: &NetworkPolicy,
    peer: &NetworkPolicyPeer,
    index: usize,
) -> bool {
    crate::eval::peer_matches(model, policy, peer, &Endpoint::Pod(index)).is_ok()
}

/// Pod indices grouped by namespace. Compiling a 5,000-policy cluster asks "which pods
/// does this peer match" thousands of times; looking only at the namespaces a peer can
/// match (its own, or those its `namespaceSelector` selects) makes that cheap.
/// [`peer_admits`] still decides every candidate.
struct PodIndex<'a> {
    by_namespace: BTreeMap<&'a str, Vec<usize>>,
    len: usize,
    /// Pods each distinct peer matched: real clusters repeat the same few peers (same
    /// namespace, same selectors) across many policies.
    matched: BTreeMap<PeerKey, Vec<usize>>,
}

/// Everything [`peer_admits`] looks at: the peer, and the policy's namespace when the peer
/// has no `namespaceSelector` (and no `ipBlock`).
type PeerKey = (
    Option<String>,
    Option<LabelSelector>,
    Option<LabelSelector>,
    Option<IpBlock>,
);

impl<'a> PodIndex<'a> {
    fn new(model: &'a Model, pods: impl Iterator<Item = usize>) -> PodIndex<'a> {
        let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in pods {
            if let Some(pod) = model.cluster.pods.get(i) {
                by_namespace
                    .entry(pod.namespace.as_str())
                    .or_default()
                    .push(i);
            }
        }
        PodIndex {
            by_namespace,
            len: model.cluster.pods.len(),
            matched: BTreeMap::new(),
        }
    }

    /// The pods of `namespace`.
    fn in_namespace(&self, namespace: &str) -> &[usize] {
        self.by_namespace.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// The pods `peer` (of `policy`) matches, in index order.
    fn matched(
        &mut self,
        model: &Model,
        policy: &NetworkPolicy,
        peer: &NetworkPolicyPeer,
    ) -> &[usize] {
        let own_namespace = peer.namespace_selector.is_none() && peer.ip_block.is_none();
        let key: PeerKey = (
            own_namespace.then(|| policy.namespace.clone()),
            peer.pod_selector.clone(),
            peer.namespace_selector.clone(),
            peer.ip_block.clone(),
        );
        if !self.matched.contains_key(&key) {
            let pods: Vec<usize> = self
                .candidates(model, policy, peer)
                .into_iter()
                .filter(|i| peer_admits(model, policy, peer, *i))
                .collect();
            self.matched.insert(key.clone(), pods);
        }
        self.matched.get(&key).map_or(&[], Vec::as_slice)
    }

    /// A superset of the pods `peer` (of `policy`) matches, in index order.
    fn candidates(
        &self,
        model: &Model,
        policy: &NetworkPolicy,
        peer: &NetworkPolicyPeer,
    ) -> Vec<usize> {
        if peer.ip_block.is_some() {
            return (0..self.len).collect();
        }
        match &peer.namespace_selector {
            None => self.in_namespace(&policy.namespace).to_vec(),
            Some(selector) => {
                let empty = Labels::new();
                let mut out: Vec<usize> = self
                    .by_namespace
                    .iter()
                    .filter(|(namespace, _)| {
                        selector
                            .matches(model.cluster.namespace_labels(namespace).unwrap_or(&empty))
                    })
                    .flat_map(|(_, pods)| pods.iter().copied())
                    .collect();
                out.sort_unstable();
                out
            }
        }
    }
}

/// Compiles the ruleset for a node whose local pods are `node_pods` (indices into
/// `model.cluster.pods`; out-of-range and duplicate indices are ignored). Deterministic:
/// the same model and pods always give the same text.
pub fn compile(model: &Model, node_pods: &[usize]) -> Ruleset {
    let mut local: Vec<usize> = node_pods
        .iter()
        .copied()
        .filter(|i| *i < model.cluster.pods.len())
        .collect();
    local.sort_unstable();
    local.dedup();

    let mut everyone = PodIndex::new(model, 0..model.cluster.pods.len());
    let on_node = PodIndex::new(model, local.iter().copied());
    let mut b = Builder::default();
    let mut isolated: [Vec<IpAddr>; 2] = [Vec::new(), Vec::new()];
    // Base chain rules per direction (index 0 = ingress, 1 = egress).
    let mut dispatch: [Vec<String>; 2] = [Vec::new(), Vec::new()];

    for (pi, policy) in model.policies.iter().enumerate() {
        let selected: Vec<&Pod> = on_node
            .in_namespace(&policy.namespace)
            .iter()
            .filter_map(|i| model.cluster.pods.get(*i))
            .filter(|pod| {
                crate::eval::selects(policy, PolicyType::Ingress, pod)
                    || crate::eval::selects(policy, PolicyType::Egress, pod)
            })
            .collect();
        let ips: Vec<IpAddr> = selected
            .iter()
            .flat_map(|p| p.ips.iter().copied())
            .collect();
        if ips.is_empty() {
            continue;
        }
        for (di, direction) in [PolicyType::Ingress, PolicyType::Egress]
            .into_iter()
            .enumerate()
        {
            if !policy.affects(direction) {
                continue;
            }
            isolated[di].extend(ips.iter().copied());
            let sel = b.addr_sets(&format!("p{pi}_sel"), &ips);
            let chain = format!("p{pi}_{}", dir_word(direction));
            let mut rules = Vec::new();
            for (ri, rule) in policy.rules(direction).iter().enumerate() {
                compile_rule(
                    &mut b,
                    model,
                    &mut everyone,
                    policy,
                    direction,
                    &format!("p{pi}_{}{ri}", short(direction)),
                    rule,
                    &selected,
                    &mut rules,
                );
            }
            let comment = format!(
                "{} {}/{}",
                dir_word(direction),
                policy.namespace,
                policy.name.replace(['"', '\n'], "_")
            );
            b.chains.push(Chain {
                name: chain.clone(),
                comment,
                rules,
            });
            let key = match direction {
                PolicyType::Ingress => "daddr",
                PolicyType::Egress => "saddr",
            };
            for (family, set) in [("ip", &sel.v4), ("ip6", &sel.v6)] {
                if let Some(set) = set {
                    dispatch[di].push(format!("{family} {key} @{set} jump {chain}"));
                }
            }
        }
    }

    let mut base = Vec::new();
    for (di, direction) in [PolicyType::Ingress, PolicyType::Egress]
        .into_iter()
        .enumerate()
    {
        let word = dir_word(direction);
        let key = match direction {
            PolicyType::Ingress => "daddr",
            PolicyType::Egress => "saddr",
        };
        let mut rules = vec!["ct state established,related accept".to_string()];
        rules.append(&mut dispatch[di]);
        let iso = b.addr_sets(&format!("{word}_isolated"), &isolated[di]);
        for (family, set) in [("ip", &iso.v4), ("ip6", &iso.v6)] {
            if let Some(set) = set {
                rules.push(format!("{family} {key} @{set} drop"));
            }
        }
        base.push(Chain {
            name: word.to_string(),
            comment: format!("{word} checks for local pods"),
            rules,
        });
    }
    b.render(base)
}

fn dir_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}

fn short(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "in",
        PolicyType::Egress => "eg",
    }
}

fn proto_word(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::TCP => "tcp",
        Protocol::UDP => "udp",
        Protocol::SCTP => "sctp",
    }
}

/// How one `ports` entry is matched.
enum PortMatch {
    /// No `ports`: every protocol and port.
    Any,
    /// `meta l4proto tcp th dport 80-90` (or no dport for "every port of the protocol").
    Expr(String),
    /// Named port, resolved per destination pod: `address . protocol . port` sets.
    Named(Sets),
}

/// Names of the IPv4 and IPv6 variant of one set; `None` when that family has no element
/// (the set is then not emitted, and neither is any rule that would need it).
#[derive(Clone, Default)]
struct Sets {
    v4: Option<String>,
    v6: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn compile_rule(
    b: &mut Builder,
    model: &Model,
    pods: &mut PodIndex<'_>,
    policy: &NetworkPolicy,
    direction: PolicyType,
    prefix: &str,
    rule: &NetworkPolicyRule,
    selected: &[&Pod],
    out: &mut Vec<String>,
) {
    let peer_key = match direction {
        PolicyType::Ingress => "saddr",
        PolicyType::Egress => "daddr",
    };
    // Peers: `None` = every peer; otherwise one interval set per family.
    let peer_sets: Option<Sets> = if rule.peers.is_empty() {
        None
    } else {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for peer in &rule.peers {
            if let Some(block) = &peer.ip_block {
                let (lo, hi) = block.cidr.range();
                let mut ranges = vec![(lo, hi)];
                for except in block
                    .except
                    .iter()
                    .filter(|e| e.is_v6() == block.cidr.is_v6())
                {
                    let (elo, ehi) = except.range();
                    ranges = subtract(&ranges, elo, ehi);
                }
                if block.cidr.is_v6() {
                    v6.extend(ranges);
                } else {
                    v4.extend(ranges);
                }
                continue;
            }
            for index in pods.matched(model, policy, peer) {
                let Some(pod) = model.cluster.pods.get(*index) else {
                    continue;
                };
                for ip in &pod.ips {
                    match ip {
                        IpAddr::V4(a) => v4.push((u32::from(*a) as u128, u32::from(*a) as u128)),
                        IpAddr::V6(a) => v6.push((u128::from(*a), u128::from(*a))),
                    }
                }
            }
        }
        // Pod IPs matched by an ipBlock peer are inside the block's ranges already.
        Some(b.interval_sets(&format!("{prefix}_peer"), v4, v6))
    };
    if let Some(sets) = &peer_sets {
        if sets.v4.is_none() && sets.v6.is_none() {
            out.push(format!(
                "# {prefix}: no peer address matches; the rule admits nothing"
            ));
            return;
        }
    }

    let mut ports = Vec::new();
    if rule.ports.is_empty() {
        ports.push(PortMatch::Any);
    }
    for (k, port) in rule.ports.iter().enumerate() {
        ports.push(port_match(
            b,
            model,
            pods,
            policy,
            direction,
            &format!("{prefix}_port{k}"),
            rule,
            port,
            selected,
        ));
    }

    for port in &ports {
        match (&peer_sets, port) {
            (None, PortMatch::Any) => out.push("accept".to_string()),
            (None, PortMatch::Expr(e)) => out.push(format!("{e} accept")),
            (None, PortMatch::Named(named)) => {
                for (family, set) in [("ip", &named.v4), ("ip6", &named.v6)] {
                    if let Some(set) = set {
                        out.push(format!(
                            "{family} daddr . meta l4proto . th dport @{set} accept"
                        ));
                    }
                }
            }
            (Some(peers), PortMatch::Any) => {
                for (family, set) in [("ip", &peers.v4), ("ip6", &peers.v6)] {
                    if let Some(set) = set {
                        out.push(format!("{family} {peer_key} @{set} accept"));
                    }
                }
            }
            (Some(peers), PortMatch::Expr(e)) => {
                for (family, set) in [("ip", &peers.v4), ("ip6", &peers.v6)] {
                    if let Some(set) = set {
                        out.push(format!("{family} {peer_key} @{set} {e} accept"));
                    }
                }
            }
            (Some(peers), PortMatch::Named(named)) => {
                for (family, peer, set) in
                    [("ip", &peers.v4, &named.v4), ("ip6", &peers.v6, &named.v6)]
                {
                    if let (Some(peer), Some(set)) = (peer, set) {
                        out.push(format!(
                            "{family} {peer_key} @{peer} {family} daddr . meta l4proto . th dport @{set} accept"
                        ));
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn port_match(
    b: &mut Builder,
    model: &Model,
    pods: &mut PodIndex<'_>,
    policy: &NetworkPolicy,
    direction: PolicyType,
    name: &str,
    rule: &NetworkPolicyRule,
    port: &NetworkPolicyPort,
    selected: &[&Pod],
) -> PortMatch {
    let proto = proto_word(port.protocol);
    match &port.port {
        None => PortMatch::Expr(format!("meta l4proto {proto}")),
        Some(PortRef::Number(n)) => match port.end_port {
            Some(end) if end > *n => {
                PortMatch::Expr(format!("meta l4proto {proto} th dport {n}-{end}"))
            }
            _ => PortMatch::Expr(format!("meta l4proto {proto} th dport {n}")),
        },
        Some(PortRef::Name(port_name)) => {
            // The destination pods whose container port of that name counts: for ingress the
            // selected local pods, for egress every pod the rule's peers match.
            let destinations: Vec<&Pod> = match direction {
                PolicyType::Ingress => selected.to_vec(),
                PolicyType::Egress if rule.peers.is_empty() => model.cluster.pods.iter().collect(),
                PolicyType::Egress => {
                    let mut indices: Vec<usize> = Vec::new();
                    for peer in &rule.peers {
                        indices.extend_from_slice(pods.matched(model, policy, peer));
                    }
                    indices.sort_unstable();
                    indices.dedup();
                    indices
                        .into_iter()
                        .filter_map(|i| model.cluster.pods.get(i))
                        .collect()
                }
            };
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for pod in destinations {
                let Some(number) = pod.resolve_port(port_name, port.protocol) else {
                    continue;
                };
                for ip in &pod.ips {
                    let element = format!("{ip} . {proto} . {number}");
                    match ip {
                        IpAddr::V4(_) => v4.push(element),
                        IpAddr::V6(_) => v6.push(element),
                    }
                }
            }
            PortMatch::Named(Sets {
                v4: b.set(
                    name,
                    "v4",
                    "ipv4_addr . inet_proto . inet_service",
                    false,
                    v4,
                ),
                v6: b.set(
                    name,
                    "v6",
                    "ipv6_addr . inet_proto . inet_service",
                    false,
                    v6,
                ),
            })
        }
    }
}

/// `ranges` minus `[lo, hi]`, all inclusive.
fn subtract(ranges: &[(u128, u128)], lo: u128, hi: u128) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(a, b) in ranges {
        if hi < a || lo > b {
            out.push((a, b));
            continue;
        }
        if lo > a {
            out.push((a, lo - 1));
        }
        if hi < b {
            out.push((hi + 1, b));
        }
    }
    out
}

/// Sorts and merges overlapping or adjacent inclusive ranges.
fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

struct Chain {
    name: String,
    comment: String,
    rules: Vec<String>,
}

struct SetDef {
    name: String,
    kind: String,
    interval: bool,
    elements: Vec<String>,
}

/// Collects sets (deduplicated by content) and chains, then renders the text.
#[derive(Default)]
struct Builder {
    sets: Vec<SetDef>,
    /// (type, interval, elements) → name of the set that already holds exactly these.
    by_content: BTreeMap<(String, bool, Vec<String>), String>,
    chains: Vec<Chain>,
}

impl Builder {
    /// A set named `{name}_{family}` with `elements` (sorted, deduplicated), or the name of
    /// an identical set made earlier. `None` for no elements.
    fn set(
        &mut self,
        name: &str,
        family: &str,
        kind: &str,
        interval: bool,
        mut elements: Vec<String>,
    ) -> Option<String> {
        if elements.is_empty() {
            return None;
        }
        if !interval {
            elements.sort();
            elements.dedup();
        }
        let key = (kind.to_string(), interval, elements);
        if let Some(existing) = self.by_content.get(&key) {
            return Some(existing.clone());
        }
        let name = format!("{name}_{family}");
        self.sets.push(SetDef {
            name: name.clone(),
            kind: kind.to_string(),
            interval,
            elements: key.2.clone(),
        });
        self.by_content.insert(key, name.clone());
        Some(name)
    }

    /// Plain address sets (one element per address) for both families.
    fn addr_sets(&mut self, name: &str, ips: &[IpAddr]) -> Sets {
        let mut v4: Vec<Ipv4Addr> = Vec::new();
        let mut v6: Vec<Ipv6Addr> = Vec::new();
        for ip in ips {
            match ip {
                IpAddr::V4(a) => v4.push(*a),
                IpAddr::V6(a) => v6.push(*a),
            }
        }
        v4.sort_unstable();
        v4.dedup();
        v6.sort_unstable();
        v6.dedup();
        Sets {
            v4: self.set(
                name,
                "v4",
                "ipv4_addr",
                false,
                v4.iter().map(|a| a.to_string()).collect(),
            ),
            v6: self.set(
                name,
                "v6",
                "ipv6_addr",
                false,
                v6.iter().map(|a| a.to_string()).collect(),
            ),
        }
    }

    /// Interval sets from inclusive address ranges (merged here, so the kernel never sees
    /// overlapping intervals).
    fn interval_sets(&mut self, name: &str, v4: Vec<(u128, u128)>, v6: Vec<(u128, u128)>) -> Sets {
        let render = |ranges: Vec<(u128, u128)>, v6: bool| -> Vec<String> {
            merge(ranges)
                .into_iter()
                .map(|(a, b)| {
                    let (a, b) = if v6 {
                        (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))
                    } else {
                        (
                            IpAddr::V4(Ipv4Addr::from(a as u32)),
                            IpAddr::V4(Ipv4Addr::from(b as u32)),
                        )
                    };
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect()
        };
        Sets {
            v4: self.set(name, "v4", "ipv4_addr", true, render(v4, false)),
            v6: self.set(name, "v6", "ipv6_addr", true, render(v6, true)),
        }
    }

    fn render(self, base: Vec<Chain>) -> Ruleset {
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
            let _ = writeln!(text, "\tset {} {{", set.name);
            let _ = writeln!(text, "\t\ttype {}", set.kind);
            if set.interval {
                let _ = writeln!(text, "\t\tflags interval");
            }
            let _ = writeln!(text, "\t\telements = {{ {} }}", set.elements.join(", "));
            let _ = writeln!(text, "\t}}");
        }
        for chain in &base {
            // Egress first: a packet from a local pod to a local pod needs both checks.
            let priority = if chain.name == "egress" { 0 } else { 10 };
            let _ = writeln!(text, "\t# {}", chain.comment);
            let _ = writeln!(text, "\tchain {} {{", chain.name);
            let _ = writeln!(
                text,
                "\t\ttype filter hook forward priority {priority}; policy accept;"
            );
            for rule in &chain.rules {
                rules += usize::from(!rule.starts_with('#'));
                let _ = writeln!(text, "\t\t{rule}");
            }
            let _ = writeln!(text, "\t}}");
        }
        for chain in &self.chains {
            let _ = writeln!(text, "\t# {}", chain.comment);
            let _ = writeln!(text, "\tchain {} {{", chain.name);
            for rule in &chain.rules {
                rules += usize::from(!rule.starts_with('#'));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::Cidr;
    use crate::diagnostic::Span;
    use crate::model::{
        Cluster, ContainerPort, IpBlock, LabelSelector, Labels, Namespace, NAMESPACE_NAME_LABEL,
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
            ips: vec![ip.parse().unwrap()],
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

    fn port(protocol: Protocol, port: Option<PortRef>, end_port: Option<u16>) -> NetworkPolicyPort {
        NetworkPolicyPort {
            protocol,
            port,
            end_port,
            span: Span::default(),
        }
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
            diagnostics: Vec::new(),
        }
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
        let rs = compile(&m, &local_pods(&m, "node-a"));
        assert!(rs
            .text
            .starts_with("add table inet netpol\ndelete table inet netpol\n"));
        assert_eq!(rs.rules, 2, "{}", rs.text);
        assert_eq!(rs.set_elements, 0);
        assert!(!rs.text.contains("drop"));
        let ingress = rs.text.find("chain ingress").unwrap();
        assert!(rs.text[ingress..]
            .lines()
            .nth(2)
            .unwrap()
            .contains("ct state established,related accept"));
    }

    #[test]
    fn default_deny_drops_only_isolated_local_pods() {
        let m = model(
            two_nodes(),
            vec![policy("prod", "deny-db", "db", &[PolicyType::Ingress])],
        );
        let a = compile(&m, &local_pods(&m, "node-a"));
        assert!(
            a.text
                .contains("set p0_sel_v4 {\n\t\ttype ipv4_addr\n\t\telements = { 10.99.1.3 }"),
            "{}",
            a.text
        );
        // The isolated set has the same content as the policy's selection: shared.
        assert!(a.text.contains("ip daddr @p0_sel_v4 drop"));
        assert!(!a.text.contains("ingress_isolated"));
        assert!(a.text.contains("ip daddr @p0_sel_v4 jump p0_ingress"));
        assert!(!a.text.contains("saddr"), "no egress isolation: {}", a.text);
        // The db pod is not on node-b: nothing to enforce there.
        let b = compile(&m, &local_pods(&m, "node-b"));
        assert!(!b.text.contains("drop"), "{}", b.text);
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
        let rs = compile(&m, &local_pods(&m, "node-a"));
        let t = &rs.text;
        assert!(t.contains("set p0_in0_peer_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.99.1.2 }"), "{t}");
        assert!(t.contains("ip saddr @p0_in0_peer_v4 meta l4proto tcp th dport 5432 accept"));
        assert!(t.contains("ip saddr @p0_in0_peer_v4 meta l4proto tcp th dport 9000-9010 accept"));
        assert!(t.contains("ip saddr @p0_in0_peer_v4 meta l4proto udp accept"));
        assert!(
            t.contains("chain p0_egress {\n\t\tmeta l4proto udp th dport 53 accept\n\t}"),
            "{t}"
        );
        assert!(t.contains("ip saddr @p0_sel_v4 jump p0_egress"));
        assert!(t.contains("ip saddr @p0_sel_v4 drop"));
    }

    #[test]
    fn ip_block_except_is_subtracted_into_intervals() {
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress.push(rule(
            vec![NetworkPolicyPeer {
                pod_selector: None,
                namespace_selector: None,
                ip_block: Some(IpBlock {
                    cidr: "10.99.0.0/16".parse::<Cidr>().unwrap(),
                    except: vec![
                        "10.99.1.0/24".parse().unwrap(),
                        "10.99.3.128/25".parse().unwrap(),
                    ],
                }),
                span: Span::default(),
            }],
            Vec::new(),
        ));
        let m = model(two_nodes(), vec![p]);
        let rs = compile(&m, &local_pods(&m, "node-a"));
        assert!(
            rs.text.contains("elements = { 10.99.0.0-10.99.0.255, 10.99.2.0-10.99.3.127, 10.99.4.0-10.99.255.255 }"),
            "{}",
            rs.text
        );
        assert!(rs.text.contains("ip saddr @p0_in0_peer_v4 accept"));
    }

    #[test]
    fn named_ports_resolve_per_destination_pod() {
        let mut pods = two_nodes();
        pods[1].ports[0].port = 5432; // db calls its port "http" too, with another number
        let mut p = policy("prod", "all", "", &[PolicyType::Ingress]);
        p.pod_selector = LabelSelector::default();
        p.ingress.push(rule(
            Vec::new(),
            vec![port(
                Protocol::TCP,
                Some(PortRef::Name("http".into())),
                None,
            )],
        ));
        let m = model(pods, vec![p]);
        let rs = compile(&m, &local_pods(&m, "node-a"));
        assert!(rs
            .text
            .contains("type ipv4_addr . inet_proto . inet_service"));
        assert!(
            rs.text
                .contains("elements = { 10.99.1.2 . tcp . 8080, 10.99.1.3 . tcp . 5432 }"),
            "{}",
            rs.text
        );
        assert!(rs
            .text
            .contains("ip daddr . meta l4proto . th dport @p0_in0_port0_v4 accept"));
    }

    #[test]
    fn peer_matching_follows_namespace_and_pod_selectors() {
        let mut pods = two_nodes();
        pods.push(pod("dev", "api", "api", "10.99.2.9", "node-b"));
        let m = model(pods, Vec::new());
        let api_prod = m.cluster.pod_index("prod/api").unwrap();
        let api_dev = m.cluster.pod_index("dev/api").unwrap();
        let same_ns = peer_pods("api");
        let p = policy("prod", "p", "db", &[PolicyType::Ingress]);
        assert!(peer_admits(&m, &p, &same_ns, api_prod));
        assert!(!peer_admits(&m, &p, &same_ns, api_dev));
        let both = NetworkPolicyPeer {
            namespace_selector: Some(selector(&[(NAMESPACE_NAME_LABEL, "dev")])),
            ..peer_pods("api")
        };
        assert!(!peer_admits(&m, &p, &both, api_prod));
        assert!(peer_admits(&m, &p, &both, api_dev));
    }

    #[test]
    fn deterministic_and_order_independent() {
        let mut p = policy("prod", "db", "db", &[PolicyType::Ingress]);
        p.ingress
            .push(rule(vec![peer_pods("api"), peer_pods("web")], Vec::new()));
        let m = model(two_nodes(), vec![p]);
        let a = compile(&m, &[0, 1]);
        let b = compile(&m, &[1, 0, 1, 99]);
        assert_eq!(a, b);
        assert!(
            a.text.contains("elements = { 10.99.1.2, 10.99.2.2 }"),
            "{}",
            a.text
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
        compile(&m, &local)
    }

    #[test]
    fn size_grows_linearly() {
        let small = scaled(200);
        let large = scaled(800);
        // 2 fast-path rules, 1 drop; per policy 1 dispatch rule and 1 rule in its chain.
        assert_eq!(small.rules, 3 + 2 * 20);
        assert_eq!(large.rules, 3 + 2 * 80);
        // Each pod's IP is in its policy's selection, in the isolated set and in one peer set.
        assert_eq!(small.set_elements, 3 * 200);
        assert_eq!(large.set_elements, 3 * 800);
    }

    #[test]
    fn range_arithmetic() {
        assert_eq!(subtract(&[(0, 10)], 3, 5), vec![(0, 2), (6, 10)]);
        assert_eq!(subtract(&[(0, 10)], 0, 10), vec![]);
        assert_eq!(subtract(&[(0, 10)], 11, 20), vec![(0, 10)]);
        assert_eq!(
            merge(vec![(5, 6), (0, 2), (3, 4), (9, 9)]),
            vec![(0, 6), (9, 9)]
        );
        assert_eq!(merge(vec![(0, u128::MAX), (1, 1)]), vec![(0, u128::MAX)]);
    }
}
