//! Per-flow evaluation with explanations: walks every rule of every selecting policy and
//! records why each one admitted or missed the flow.
//!
//! This is the slow, explainable path. Whole matrices come from [`crate::Engine`]; property
//! tests keep the two (and a test-only reference evaluator) in agreement.
//!
//! Decisions that the spec leaves open, fixed here and mirrored by the engine:
//! - An `ipBlock` peer matches a pod when *any* of the pod's IPs is inside `cidr` and outside
//!   every `except`. CNIs check the packet's address; a pod sends from one of its IPs, so
//!   "any" is the answer to "can some connection from this pod get through".
//! - A peer carrying an `ipBlock` is judged by the block alone (the parser drops peers that
//!   also carry selectors). A peer with neither selector nor block, which the parser also
//!   drops, reads as "every pod of the policy's namespace": absent `podSelector` = all pods,
//!   absent `namespaceSelector` = the policy's namespace.
//! - A named port matches when the *destination* pod has a container port with that name
//!   and protocol whose number is the flow's port: the name stands for *every* such
//!   container port ([`crate::Pod::named_ports`], the one named-port rule). An address
//!   outside the cluster has no named ports. A probe by name ([`probe_port`], the matrix)
//!   is allowed when the flow is allowed on any of the numbers.
//! - Host-network pods (ARCHITECTURE.md, "Which pods take part") are never selected by a
//!   policy (not isolated in either direction), never matched by a selector peer
//!   ([`PeerMiss::HostNetwork`]) and resolve no port names; `ipBlock` peers match their
//!   IPs, which are the node's.
//! - A pod index outside [`crate::Cluster::pods`] is an unknown endpoint: the flow is denied
//!   in both directions with no isolating policies and no misses (nothing to explain).
//!   [`crate::Matrix::allowed`] and [`crate::Engine::allowed_ports`] answer the same way.

use crate::chain::{TierChain, TierStep};
use crate::model::{
    Endpoint, Flow, IpBlock, Labels, Model, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicyRule, Pod, PolicyType, PortRef, Protocol,
};
use crate::tiers::{flow_chain, FlowSide};
use crate::verdict::{
    DirectionVerdict, MissReason, PeerMiss, PolicyRef, RuleMiss, RuleRef, Verdict,
};

/// See [`crate::evaluate`].
pub fn evaluate(model: &Model, flow: &Flow) -> Verdict {
    let pods = &model.cluster.pods;
    let unknown = |e: &Endpoint| matches!(e, Endpoint::Pod(i) if *i >= pods.len());
    if unknown(&flow.src) || unknown(&flow.dst) {
        let denied = || DirectionVerdict::Denied {
            isolated_by: Vec::new(),
            misses: Vec::new(),
        };
        let chain = || TierChain {
            steps: vec![TierStep::NetworkPolicy {
                isolated: true,
                allowed: false,
            }],
            unknown: Vec::new(),
        };
        return Verdict {
            egress: denied(),
            ingress: denied(),
            egress_chain: chain(),
            ingress_chain: chain(),
        };
    }
    let dst_pod = match flow.dst {
        Endpoint::Pod(i) => pods.get(i),
        Endpoint::Address(_) => None,
    };
    let query = Query {
        model,
        protocol: flow.protocol,
        port: flow.port,
        dst_pod,
    };
    let egress = direction(&query, PolicyType::Egress, &flow.src, &flow.dst);
    let ingress = direction(&query, PolicyType::Ingress, &flow.dst, &flow.src);
    // Each side through the tiers; the NetworkPolicy tier's verdict is one of its steps.
    let side = |direction, subject, peer| FlowSide {
        direction,
        subject,
        peer,
        protocol: flow.protocol,
        port: flow.port,
        dst_pod,
    };
    let egress_chain = flow_chain(
        model,
        &side(PolicyType::Egress, flow.src, flow.dst),
        &egress,
    );
    let ingress_chain = flow_chain(
        model,
        &side(PolicyType::Ingress, flow.dst, flow.src),
        &ingress,
    );
    Verdict {
        egress,
        ingress,
        egress_chain,
        ingress_chain,
    }
}

/// What every rule is asked about: the port, and the pod whose named ports count.
struct Query<'a> {
    model: &'a Model,
    protocol: Protocol,
    port: u16,
    dst_pod: Option<&'a Pod>,
}

/// One direction: `subject` is the endpoint the policies must select (source for egress,
/// destination for ingress), `peer` the other end.
fn direction(
    query: &Query<'_>,
    direction: PolicyType,
    subject: &Endpoint,
    peer: &Endpoint,
) -> DirectionVerdict {
    // Outside addresses are never selected by a policy: that side is not isolated.
    let Endpoint::Pod(index) = *subject else {
        return DirectionVerdict::NotIsolated;
    };
    let Some(pod) = query.model.cluster.pods.get(index) else {
        return DirectionVerdict::NotIsolated;
    };

    let mut isolated_by = Vec::new();
    let mut by = Vec::new();
    let mut misses = Vec::new();
    for policy in isolating(query.model, direction, pod) {
        for (rule_ref, rule) in policy.rules() {
            match admits(query, policy.policy, rule, peer) {
                Ok(()) => by.push(rule_ref),
                Err(reason) => misses.push(RuleMiss {
                    rule: rule_ref,
                    reason,
                }),
            }
        }
        isolated_by.push(policy.reference);
    }

    if isolated_by.is_empty() {
        DirectionVerdict::NotIsolated
    } else if by.is_empty() {
        // Stable sort: equal distances stay in policy order, then rule order.
        misses.sort_by_key(|miss| miss.reason.distance());
        DirectionVerdict::Denied {
            isolated_by,
            misses,
        }
    } else {
        DirectionVerdict::Allowed { isolated_by, by }
    }
}

/// A policy isolating a pod in one direction, with its reference: one step of the walk
/// every per-endpoint analysis shares ("the policies selecting this pod, then their rules"):
/// [`evaluate`], the pair verdict and exposure.
pub(crate) struct Isolating<'m> {
    pub(crate) policy: &'m NetworkPolicy,
    pub(crate) reference: PolicyRef,
    direction: PolicyType,
}

impl<'m> Isolating<'m> {
    /// The policy's rules in the walk's direction, each with its reference.
    pub(crate) fn rules(&self) -> impl Iterator<Item = (RuleRef, &'m NetworkPolicyRule)> + '_ {
        let policy = self.policy;
        policy
            .rules(self.direction)
            .iter()
            .enumerate()
            .map(move |(index, rule)| {
                let rule_ref = RuleRef {
                    policy: self.reference.clone(),
                    direction: self.direction,
                    index,
                    span: rule.span,
                };
                (rule_ref, rule)
            })
    }
}

/// The policies isolating `pod` in `direction`, in policy order.
pub(crate) fn isolating<'m>(
    model: &'m Model,
    direction: PolicyType,
    pod: &'m Pod,
) -> impl Iterator<Item = Isolating<'m>> + 'm {
    model
        .policies
        .iter()
        .enumerate()
        .filter(move |(_, policy)| selects(policy, direction, pod))
        .map(move |(index, policy)| Isolating {
            policy,
            reference: policy_ref(index, policy),
            direction,
        })
}

/// Whether `policy` isolates `pod` in `direction`: same namespace, `podSelector` matches and
/// `policyTypes` lists the direction.
pub(crate) fn selects(policy: &NetworkPolicy, direction: PolicyType, pod: &Pod) -> bool {
    policy.affects(direction) && in_scope(policy, pod)
}

/// Whether `pod` is one of the pods `policy` applies to (its namespace, its podSelector),
/// whatever its policyTypes. Never a host-network pod: its traffic is the node's.
pub fn in_scope(policy: &NetworkPolicy, pod: &Pod) -> bool {
    !pod.host_network
        && policy.namespace == pod.namespace
        && policy.pod_selector.matches(&pod.labels)
}

pub(crate) fn policy_ref(index: usize, policy: &NetworkPolicy) -> PolicyRef {
    PolicyRef {
        index,
        namespace: policy.namespace.clone(),
        name: policy.name.clone(),
        span: policy.span,
    }
}

/// A rule admits a flow when it matches on peers *and* on ports.
///
/// Spec: "If this field is empty or missing, this rule matches all sources (traffic not
/// restricted by source)." The same holds for `ports` and all ports.
fn admits(
    query: &Query<'_>,
    policy: &NetworkPolicy,
    rule: &NetworkPolicyRule,
    peer: &Endpoint,
) -> Result<(), MissReason> {
    let peers = peers_match(query, policy, rule, peer);
    let ports = ports_match(query, &rule.ports);
    match (peers, ports) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(peers), Ok(())) => Err(MissReason::Peers(peers)),
        (Ok(()), Err(reason)) => Err(reason),
        (Err(peers), Err(_)) => Err(MissReason::PeersAndPort {
            peers,
            port: query.port,
            protocol: query.protocol,
        }),
    }
}

fn peers_match(
    query: &Query<'_>,
    policy: &NetworkPolicy,
    rule: &NetworkPolicyRule,
    peer: &Endpoint,
) -> Result<(), Vec<PeerMiss>> {
    if rule.peers.is_empty() {
        return Ok(());
    }
    let mut reasons = Vec::with_capacity(rule.peers.len());
    for entry in &rule.peers {
        match peer_matches(query.model, policy, entry, peer) {
            Ok(()) => return Ok(()),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(reasons)
}

/// Whether one `from`/`to` entry matches the other end of the flow.
pub(crate) fn peer_matches(
    model: &Model,
    policy: &NetworkPolicy,
    entry: &NetworkPolicyPeer,
    peer: &Endpoint,
) -> Result<(), PeerMiss> {
    if let Some(block) = &entry.ip_block {
        return match *peer {
            Endpoint::Address(ip) => block_admits(block, ip),
            Endpoint::Pod(i) => match model.cluster.pods.get(i) {
                None => Err(PeerMiss::NoIp),
                Some(pod) => pod_in_block(block, pod),
            },
        };
    }
    let pod = match *peer {
        Endpoint::Address(_) => return Err(PeerMiss::SelectorVsAddress),
        Endpoint::Pod(i) => match model.cluster.pods.get(i) {
            Some(pod) if pod.host_network => return Err(PeerMiss::HostNetwork),
            Some(pod) => pod,
            None => return Err(PeerMiss::PodSelector),
        },
    };
    match &entry.namespace_selector {
        None if pod.namespace != policy.namespace => {
            return Err(PeerMiss::NotInPolicyNamespace {
                policy_namespace: policy.namespace.clone(),
                pod_namespace: pod.namespace.clone(),
            })
        }
        None => {}
        Some(selector) => {
            let empty = Labels::new();
            let labels = model
                .cluster
                .namespace_labels(&pod.namespace)
                .unwrap_or(&empty);
            if !selector.matches(labels) {
                return Err(PeerMiss::NamespaceSelector {
                    namespace: pod.namespace.clone(),
                });
            }
        }
    }
    match &entry.pod_selector {
        Some(selector) if !selector.matches(&pod.labels) => Err(PeerMiss::PodSelector),
        _ => Ok(()),
    }
}

fn block_admits(block: &IpBlock, ip: std::net::IpAddr) -> Result<(), PeerMiss> {
    if !block.cidr.contains(ip) {
        return Err(PeerMiss::OutsideCidr {
            cidr: block.cidr.clone(),
        });
    }
    match block.except.iter().find(|e| e.contains(ip)) {
        Some(except) => Err(PeerMiss::Excepted {
            except: except.clone(),
        }),
        None => Ok(()),
    }
}

/// A pod matches a block when any of its IPs does; otherwise report the closest miss (an
/// IP inside `cidr` but excepted beats an IP outside `cidr`).
fn pod_in_block(block: &IpBlock, pod: &Pod) -> Result<(), PeerMiss> {
    if pod.ips.is_empty() {
        return Err(PeerMiss::NoIp);
    }
    let mut closest = None;
    for ip in &pod.ips {
        match block_admits(block, *ip) {
            Ok(()) => return Ok(()),
            Err(miss @ PeerMiss::Excepted { .. }) => closest = Some(miss),
            Err(miss) => {
                closest.get_or_insert(miss);
            }
        }
    }
    Err(closest.unwrap_or(PeerMiss::NoIp))
}

fn ports_match(query: &Query<'_>, ports: &[NetworkPolicyPort]) -> Result<(), MissReason> {
    if ports.is_empty() || ports.iter().any(|p| port_matches(query, p)) {
        return Ok(());
    }
    // A name the destination lacks is the most useful thing to say, if there is one.
    let missing_name = ports.iter().find_map(|p| match &p.port {
        Some(PortRef::Name(name))
            if p.protocol == query.protocol
                && !query
                    .dst_pod
                    .is_some_and(|pod| has_named(pod, name, p.protocol)) =>
        {
            Some(name.clone())
        }
        _ => None,
    });
    Err(match missing_name {
        Some(name) => MissReason::NamedPortNotOnPod { name },
        None => MissReason::Port {
            port: query.port,
            protocol: query.protocol,
        },
    })
}

fn port_matches(query: &Query<'_>, entry: &NetworkPolicyPort) -> bool {
    if entry.protocol != query.protocol {
        return false;
    }
    match &entry.port {
        None => true,
        Some(PortRef::Number(first)) => match entry.end_port {
            Some(last) => *first <= query.port && query.port <= last,
            None => *first == query.port,
        },
        Some(PortRef::Name(name)) => query.dst_pod.is_some_and(|pod| {
            pod.named_ports(name, entry.protocol)
                .any(|number| number == query.port)
        }),
    }
}

fn has_named(pod: &Pod, name: &str, protocol: Protocol) -> bool {
    pod.named_ports(name, protocol).next().is_some()
}

/// The port number to ask [`crate::evaluate`] about for a probe from `src` to `dst`: a
/// number is itself. A name stands for every number of [`Pod::named_ports`] on the
/// destination, and the probe is allowed when the flow is allowed on any of them (as in
/// [`crate::Engine::matrix`]); this returns the first number that is allowed, else the
/// first number, so that explaining the returned flow explains the probe. `None` when the
/// destination is an address or a pod without that name for `protocol`: nothing can
/// connect by that name.
pub fn probe_port(
    model: &Model,
    src: Endpoint,
    dst: Endpoint,
    protocol: Protocol,
    port: &PortRef,
) -> Option<u16> {
    let name = match port {
        PortRef::Number(n) => return Some(*n),
        PortRef::Name(name) => name,
    };
    let Endpoint::Pod(index) = dst else {
        return None;
    };
    let numbers: Vec<u16> = model
        .cluster
        .pods
        .get(index)?
        .named_ports(name, protocol)
        .collect();
    let allowed = |port: u16| {
        let flow = Flow {
            src,
            dst,
            protocol,
            port,
        };
        evaluate(model, &flow).is_allowed()
    };
    numbers
        .iter()
        .copied()
        .find(|n| allowed(*n))
        .or(numbers.first().copied())
}

#[cfg(test)]
pub(crate) mod tests {
    //! Table-driven checks of the tricky corners, on models built in Rust.

    use super::*;
    use crate::cidr::Cidr;
    use crate::diagnostic::Span;
    use crate::model::{
        Cluster, ContainerPort, LabelSelector, LabelSelectorRequirement, Namespace, Operator,
        NAMESPACE_NAME_LABEL,
    };

    pub(crate) fn labels(s: &str) -> Labels {
        s.split(',')
            .filter(|kv| !kv.is_empty())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(crate) fn sel(s: &str) -> LabelSelector {
        LabelSelector {
            match_labels: labels(s),
            match_expressions: Vec::new(),
        }
    }

    pub(crate) fn ns(name: &str, extra: &str) -> Namespace {
        let mut l = labels(extra);
        l.insert(NAMESPACE_NAME_LABEL.into(), name.into());
        Namespace {
            name: name.into(),
            labels: l,
            span: None,
        }
    }

    pub(crate) fn pod(ns: &str, name: &str, l: &str, ip: &str, ports: &[(&str, u16)]) -> Pod {
        Pod {
            id: format!("{ns}/{name}"),
            namespace: ns.into(),
            name: name.into(),
            workload: None,
            labels: labels(l),
            ips: ip.split(',').filter_map(|s| s.parse().ok()).collect(),
            ports: ports
                .iter()
                .map(|(n, p)| ContainerPort {
                    name: Some(n.to_string()),
                    port: *p,
                    protocol: Protocol::TCP,
                })
                .collect(),
            node: None,
            host_network: false,
            span: None,
        }
    }

    pub(crate) fn peer_sel(pods: Option<&str>, nss: Option<&str>) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: pods.map(sel),
            namespace_selector: nss.map(sel),
            ip_block: None,
            span: Span::default(),
        }
    }

    pub(crate) fn peer_block(cidr: &str, except: &[&str]) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: None,
            namespace_selector: None,
            ip_block: Some(IpBlock {
                cidr: cidr.parse().unwrap(),
                except: except.iter().map(|e| e.parse::<Cidr>().unwrap()).collect(),
            }),
            span: Span::default(),
        }
    }

    pub(crate) fn port(
        protocol: Protocol,
        port: Option<PortRef>,
        end: Option<u16>,
    ) -> NetworkPolicyPort {
        NetworkPolicyPort {
            protocol,
            port,
            end_port: end,
            span: Span::default(),
        }
    }

    pub(crate) fn rule(
        peers: Vec<NetworkPolicyPeer>,
        ports: Vec<NetworkPolicyPort>,
    ) -> NetworkPolicyRule {
        NetworkPolicyRule {
            peers,
            ports,
            span: Span::default(),
        }
    }

    pub(crate) fn policy(
        ns: &str,
        name: &str,
        select: &str,
        types: &[PolicyType],
        ingress: Vec<NetworkPolicyRule>,
        egress: Vec<NetworkPolicyRule>,
    ) -> NetworkPolicy {
        NetworkPolicy {
            name: name.into(),
            namespace: ns.into(),
            pod_selector: sel(select),
            policy_types: types.to_vec(),
            ingress,
            egress,
            span: Span::default(),
        }
    }

    /// prod (team=a): web (app=web, 10.0.0.1, http:8080), db (app=db, 10.0.0.2);
    /// dev (team=b): tool (app=tool, 10.1.0.1, http:9090).
    pub(crate) fn cluster() -> Cluster {
        Cluster {
            namespaces: vec![ns("dev", "team=b"), ns("prod", "team=a")],
            pods: vec![
                pod("dev", "tool", "app=tool", "10.1.0.1", &[("http", 9090)]),
                pod("prod", "db", "app=db", "10.0.0.2", &[]),
                pod("prod", "web", "app=web", "10.0.0.1", &[("http", 8080)]),
            ],
            ..Default::default()
        }
    }

    const TOOL: Endpoint = Endpoint::Pod(0);
    const DB: Endpoint = Endpoint::Pod(1);
    const WEB: Endpoint = Endpoint::Pod(2);

    fn addr(s: &str) -> Endpoint {
        Endpoint::Address(s.parse().unwrap())
    }

    fn flow(src: Endpoint, dst: Endpoint, protocol: Protocol, port: u16) -> Flow {
        Flow {
            src,
            dst,
            protocol,
            port,
        }
    }

    use PolicyType::{Egress as E, Ingress as I};
    use Protocol::{SCTP, TCP, UDP};

    #[test]
    fn semantics_table() {
        let named = |n: &str| Some(PortRef::Name(n.into()));
        let num = |n: u16| Some(PortRef::Number(n));
        // (what, policies, flow, allowed)
        let cases: Vec<(&str, Vec<NetworkPolicy>, Flow, bool)> = vec![
            ("no policies", vec![], flow(TOOL, WEB, TCP, 80), true),
            (
                "ingress: [] isolates",
                vec![policy("prod", "deny", "", &[I], vec![], vec![])],
                flow(TOOL, WEB, TCP, 80),
                false,
            ),
            (
                "ingress: [{}] allows all",
                vec![policy(
                    "prod",
                    "all",
                    "",
                    &[I],
                    vec![rule(vec![], vec![])],
                    vec![],
                )],
                flow(addr("8.8.8.8"), WEB, TCP, 80),
                true,
            ),
            (
                "rules of an unlisted direction are ignored",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[E],
                    vec![rule(vec![], vec![])],
                    vec![],
                )],
                flow(WEB, DB, TCP, 80),
                false,
            ),
            (
                "podSelector only: policy namespace",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![peer_sel(Some("app=tool"), None)], vec![])],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 80),
                false,
            ),
            (
                "namespaceSelector + podSelector AND",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(
                        vec![peer_sel(Some("app=tool"), Some("team=b"))],
                        vec![],
                    )],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 80),
                true,
            ),
            (
                "namespaceSelector and podSelector as two peers OR",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(
                        vec![
                            peer_sel(Some("app=web"), None),
                            peer_sel(None, Some("team=b")),
                        ],
                        vec![],
                    )],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 80),
                true,
            ),
            (
                "selector never matches an address",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![peer_sel(None, Some(""))], vec![])],
                    vec![],
                )],
                flow(addr("10.1.0.1"), WEB, TCP, 80),
                false,
            ),
            (
                "ipBlock matches pod ip",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![peer_block("10.1.0.0/16", &[])], vec![])],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 80),
                true,
            ),
            (
                "ipBlock except",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[E],
                    vec![],
                    vec![rule(
                        vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])],
                        vec![],
                    )],
                )],
                flow(WEB, addr("10.1.2.3"), TCP, 80),
                false,
            ),
            (
                "named port on destination",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![], vec![port(TCP, named("http"), None)])],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 8080),
                true,
            ),
            (
                "named port resolves against destination for egress too",
                vec![policy(
                    "dev",
                    "p",
                    "",
                    &[E],
                    vec![],
                    vec![rule(vec![], vec![port(TCP, named("http"), None)])],
                )],
                flow(TOOL, WEB, TCP, 9090),
                false,
            ),
            (
                "named port never matches an address",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[E],
                    vec![],
                    vec![rule(vec![], vec![port(TCP, named("http"), None)])],
                )],
                flow(WEB, addr("1.1.1.1"), TCP, 8080),
                false,
            ),
            (
                "endPort range inclusive",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![], vec![port(TCP, num(8000), Some(8080))])],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 8080),
                true,
            ),
            (
                "protocol must match",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![], vec![port(UDP, num(53), None)])],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 53),
                false,
            ),
            (
                "port None: every port of that protocol",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(vec![], vec![port(SCTP, None, None)])],
                    vec![],
                )],
                flow(TOOL, WEB, SCTP, 1),
                true,
            ),
            (
                "union: a second policy allows",
                vec![
                    policy("prod", "a", "", &[I], vec![], vec![]),
                    policy(
                        "prod",
                        "b",
                        "app=web",
                        &[I],
                        vec![rule(vec![peer_sel(None, Some("team=b"))], vec![])],
                        vec![],
                    ),
                ],
                flow(TOOL, WEB, TCP, 80),
                true,
            ),
            (
                "egress and ingress both needed",
                vec![
                    policy("dev", "e", "", &[E], vec![], vec![]),
                    policy("prod", "i", "", &[I], vec![rule(vec![], vec![])], vec![]),
                ],
                flow(TOOL, WEB, TCP, 80),
                false,
            ),
            (
                "self traffic uses the same rules",
                vec![policy(
                    "prod",
                    "p",
                    "app=web",
                    &[I],
                    vec![rule(vec![peer_sel(Some("app=db"), None)], vec![])],
                    vec![],
                )],
                flow(WEB, WEB, TCP, 80),
                false,
            ),
            (
                "matchExpressions NotIn admits absent key",
                vec![policy(
                    "prod",
                    "p",
                    "",
                    &[I],
                    vec![rule(
                        vec![NetworkPolicyPeer {
                            pod_selector: Some(LabelSelector {
                                match_labels: Labels::new(),
                                match_expressions: vec![LabelSelectorRequirement {
                                    key: "tier".into(),
                                    operator: Operator::NotIn,
                                    values: vec!["x".into()],
                                }],
                            }),
                            namespace_selector: Some(sel("")),
                            ip_block: None,
                            span: Span::default(),
                        }],
                        vec![],
                    )],
                    vec![],
                )],
                flow(TOOL, WEB, TCP, 80),
                true,
            ),
            (
                "unknown pod index is denied",
                vec![],
                flow(Endpoint::Pod(99), WEB, TCP, 80),
                false,
            ),
        ];
        for (what, policies, flow, want) in cases {
            let model = Model {
                cluster: cluster(),
                policies,
                ..Model::default()
            };
            let verdict = evaluate(&model, &flow);
            assert_eq!(verdict.is_allowed(), want, "{what}: {verdict:?}");
        }
    }

    /// A host-network pod is never selected, never matched by a selector and has no named
    /// ports; an ipBlock matches its address. A name on two containers stands for both.
    #[test]
    fn host_network_pods_and_names_on_two_containers() {
        let mut c = cluster();
        let mut node = pod("prod", "node-agent", "app=web", "10.9.0.1", &[("http", 80)]);
        node.host_network = true;
        c.pods.push(node); // index 3
        c.pods[2].ports.push(crate::model::ContainerPort {
            name: Some("http".into()),
            port: 9443,
            protocol: TCP,
        });
        let http = || vec![port(TCP, Some(PortRef::Name("http".into())), None)];
        let model = Model {
            cluster: c,
            policies: vec![
                // Selects app=web in prod: web, never the host-network pod.
                policy(
                    "prod",
                    "web",
                    "app=web",
                    &[I, E],
                    vec![
                        rule(vec![peer_sel(Some("app=web"), None)], vec![]),
                        rule(vec![peer_block("10.9.0.0/16", &[])], http()),
                    ],
                    vec![],
                ),
            ],
            ..Model::default()
        };
        let host = Endpoint::Pod(3);
        let allowed = |f: Flow| evaluate(&model, &f).is_allowed();
        // Not selected: not isolated either way, although its labels match.
        let v = evaluate(&model, &flow(TOOL, host, TCP, 1));
        assert_eq!(v.ingress, DirectionVerdict::NotIsolated);
        assert_eq!(
            evaluate(&model, &flow(host, TOOL, TCP, 1)).egress,
            DirectionVerdict::NotIsolated
        );
        // web's http is 8080 and 9443: the block's rule admits both, nothing else.
        assert!(allowed(flow(host, WEB, TCP, 8080)));
        assert!(allowed(flow(host, WEB, TCP, 9443)));
        assert!(!allowed(flow(host, WEB, TCP, 80)));
        // The selector peer does not match the host-network pod, and says why.
        let DirectionVerdict::Denied { misses, .. } =
            evaluate(&model, &flow(host, WEB, TCP, 80)).ingress
        else {
            panic!("expected denied");
        };
        assert_eq!(
            misses[0].reason,
            MissReason::Peers(vec![PeerMiss::HostNetwork])
        );
        // A probe by name is explained with the first allowed number.
        let http = PortRef::Name("http".into());
        assert_eq!(probe_port(&model, host, WEB, TCP, &http), Some(8080));
        assert_eq!(probe_port(&model, TOOL, WEB, TCP, &http), Some(8080));
        // Names never resolve on the host network.
        assert_eq!(probe_port(&model, WEB, host, TCP, &http), None);
        assert_eq!(probe_port(&model, WEB, addr("10.9.0.1"), TCP, &http), None);
    }

    #[test]
    fn misses_are_sorted_closest_first_and_say_why() {
        let model = Model {
            cluster: cluster(),
            policies: vec![policy(
                "prod",
                "p",
                "app=web",
                &[I],
                vec![
                    rule(
                        vec![peer_sel(Some("app=x"), None)],
                        vec![port(TCP, Some(PortRef::Number(1)), None)],
                    ),
                    rule(vec![peer_sel(None, Some("team=a"))], vec![]),
                    rule(
                        vec![],
                        vec![port(TCP, Some(PortRef::Name("metrics".into())), None)],
                    ),
                ],
                vec![],
            )],
            ..Model::default()
        };
        let verdict = evaluate(&model, &flow(TOOL, WEB, TCP, 8080));
        let DirectionVerdict::Denied {
            isolated_by,
            misses,
        } = verdict.ingress
        else {
            panic!("expected denied: {verdict:?}");
        };
        assert_eq!(isolated_by.len(), 1);
        let got: Vec<(usize, MissReason)> = misses
            .into_iter()
            .map(|m| (m.rule.index, m.reason))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    1,
                    MissReason::Peers(vec![PeerMiss::NamespaceSelector {
                        namespace: "dev".into()
                    }])
                ),
                (
                    2,
                    MissReason::NamedPortNotOnPod {
                        name: "metrics".into()
                    }
                ),
                (
                    0,
                    MissReason::PeersAndPort {
                        peers: vec![PeerMiss::NotInPolicyNamespace {
                            policy_namespace: "prod".into(),
                            pod_namespace: "dev".into()
                        }],
                        port: 8080,
                        protocol: TCP
                    }
                ),
            ]
        );
        assert_eq!(verdict.egress, DirectionVerdict::NotIsolated);
    }

    #[test]
    fn allowed_lists_every_admitting_rule() {
        let model = Model {
            cluster: cluster(),
            policies: vec![
                policy(
                    "prod",
                    "a",
                    "",
                    &[I],
                    vec![
                        rule(vec![], vec![]),
                        rule(vec![peer_block("10.9.0.0/16", &[])], vec![]),
                    ],
                    vec![],
                ),
                policy(
                    "prod",
                    "b",
                    "app=web",
                    &[I],
                    vec![
                        rule(vec![peer_block("10.1.0.0/16", &["10.1.0.1/32"])], vec![]),
                        rule(vec![], vec![]),
                    ],
                    vec![],
                ),
            ],
            ..Model::default()
        };
        let verdict = evaluate(&model, &flow(TOOL, WEB, TCP, 1));
        let DirectionVerdict::Allowed { isolated_by, by } = verdict.ingress else {
            panic!("expected allowed: {verdict:?}");
        };
        assert_eq!(
            isolated_by
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            by.iter()
                .map(|r| (r.policy.index, r.index))
                .collect::<Vec<_>>(),
            [(0, 0), (1, 1)]
        );
    }
}
