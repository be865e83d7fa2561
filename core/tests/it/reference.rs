//! A deliberately simple reference evaluator, written straight from the NetworkPolicy v1
//! spec and the network-policy-api reference (AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy, ClusterNetworkPolicy), sharing nothing with `eval.rs`,
//! `tiers.rs` or `engine/` except the model types. It answers
//! yes/no for one flow by looping over every policy, rule, peer and port; property tests
//! compare the fast engine and the explaining evaluator against it.
//!
//! Choices the spec leaves open (the same ones `eval.rs` documents): an ipBlock matches a pod
//! when any of its IPs is in the block; a peer with an ipBlock is judged by the block alone;
//! absent selectors in a peer mean "all pods" / "the policy's namespace"; a named port
//! resolves against the destination pod (any container port with that name and protocol);
//! an unknown pod index is denied. Host-network pods (ARCHITECTURE.md, "Which pods take
//! part") are never selected by a policy, never matched by a selector peer and have no
//! named ports; ipBlocks match their IPs like any pod's.
//!
//! Tiers (API reference): per side, the Admin tier (policies by ascending priority, then
//! name; the first matching rule decides, Pass skips the rest of the tier), then the
//! NetworkPolicies, then the Baseline tier, then allow. Cluster policies never select
//! host-network pods and their `namespaces`/`pods` peers never match them; `networks` and
//! `nodes` match by address (a pod by any of its IPs); `domainNames` never matches; a rule
//! that fails closed matches nothing when it is an Accept and everything otherwise.

use std::net::IpAddr;

use netpol_core::{
    ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyRule, ClusterPort, ClusterSubject,
    Endpoint, Flow, LabelSelector, Labels, Model, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyPort, Operator, Pod, PolicyType, PortRef, Protocol, RuleAction, Tier,
};

/// What a connection uses: a port of TCP, UDP or SCTP, or another protocol (ICMP, ...),
/// which only a rule without `ports` admits.
#[derive(Clone, Copy, Debug)]
pub enum Probe {
    Port(Protocol, u16),
    OtherProtocol,
}

/// Is `flow` allowed? Egress of the source AND ingress of the destination.
pub fn reference_allowed(model: &Model, flow: &Flow) -> bool {
    reference_admits(
        model,
        flow.src,
        flow.dst,
        Probe::Port(flow.protocol, flow.port),
    )
}

/// Is a connection from `src` to `dst` with `probe` allowed?
pub fn reference_admits(model: &Model, from: Endpoint, to: Endpoint, probe: Probe) -> bool {
    let (egress, ingress) = reference_sides(model, from, to, probe);
    egress && ingress
}

/// Does each side let the connection through: (egress of `from`, ingress of `to`)?
pub fn reference_sides(model: &Model, from: Endpoint, to: Endpoint, probe: Probe) -> (bool, bool) {
    let pod_of = |e: &Endpoint| match e {
        Endpoint::Pod(i) => Some(model.cluster.pods.get(*i)),
        Endpoint::Address(_) => None,
    };
    let src = pod_of(&from);
    let dst = pod_of(&to);
    // Unknown pod index: denied.
    if src == Some(None) || dst == Some(None) {
        return (false, false);
    }
    let src = src.flatten();
    let dst = dst.flatten();

    let egress_ok = match src {
        None => true, // an outside address is never isolated
        Some(pod) => side_allows(model, PolicyType::Egress, pod, &to, dst, probe),
    };
    let ingress_ok = match dst {
        None => true,
        Some(pod) => side_allows(model, PolicyType::Ingress, pod, &from, dst, probe),
    };
    (egress_ok, ingress_ok)
}

/// `subject` is the pod whose policies count; `other` the far end; `dst` the destination
/// pod (for named ports).
fn side_allows(
    model: &Model,
    direction: PolicyType,
    subject: &Pod,
    other: &Endpoint,
    dst: Option<&Pod>,
    probe: Probe,
) -> bool {
    // A host-network pod's traffic is the node's: no policy selects it.
    if subject.host_network {
        return true;
    }
    // Admin tier: the first matching rule, policies by ascending priority then name.
    // Accept and Deny are final; Pass skips the rest of the tier.
    if let Some(verdict) = tier_decides(model, Tier::Admin, direction, subject, other, dst, probe) {
        return verdict;
    }
    // NetworkPolicy tier: if any NetworkPolicy selects the pod for this direction, it
    // decides (allowed by some rule, or denied).
    if let Some(verdict) = network_policies_decide(model, direction, subject, other, dst, probe) {
        return verdict;
    }
    // Baseline tier: the first matching rule decides; a Baseline Pass ends in allow.
    if let Some(verdict) =
        tier_decides(model, Tier::Baseline, direction, subject, other, dst, probe)
    {
        return verdict;
    }
    // Nothing decided: Kubernetes' default, allow.
    true
}

/// `Some(allowed)` when a rule of `tier` decides the flow; `None` when no rule matches, or
/// (Admin) a Pass hands it to the next tier.
fn tier_decides(
    model: &Model,
    tier: Tier,
    direction: PolicyType,
    subject: &Pod,
    other: &Endpoint,
    dst: Option<&Pod>,
    probe: Probe,
) -> Option<bool> {
    let mut policies: Vec<&ClusterNetworkPolicy> = model
        .cluster_policies
        .iter()
        .filter(|p| p.tier == tier && subject_ok(model, p, subject))
        .collect();
    // Ascending priority (a BaselineAdminNetworkPolicy has none: last), then name, then
    // kind (the order of the enum: AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    // ClusterNetworkPolicy).
    policies.sort_by_key(|p| {
        (
            p.priority.map_or(u64::MAX, u64::from),
            p.name.clone(),
            p.kind,
        )
    });
    for policy in policies {
        let rules = match direction {
            PolicyType::Ingress => &policy.ingress,
            PolicyType::Egress => &policy.egress,
        };
        for rule in rules {
            if !tier_rule_matches(model, direction, rule, other, dst, probe) {
                continue;
            }
            // A rule that fails closed and is not an Accept denies.
            let action = if rule.fail_closed {
                RuleAction::Deny
            } else {
                rule.action
            };
            return match (action, tier) {
                (RuleAction::Accept, _) => Some(true),
                (RuleAction::Deny, _) => Some(false),
                (RuleAction::Pass, Tier::Admin) => None,
                (RuleAction::Pass, Tier::Baseline) => Some(true),
            };
        }
    }
    None
}

fn subject_ok(model: &Model, policy: &ClusterNetworkPolicy, pod: &Pod) -> bool {
    let namespace = namespace_labels(model, &pod.namespace);
    match &policy.subject {
        ClusterSubject::Namespaces(selector) => label_selector_matches(selector, &namespace),
        ClusterSubject::Pods {
            namespace_selector,
            pod_selector,
        } => {
            label_selector_matches(namespace_selector, &namespace)
                && label_selector_matches(pod_selector, &pod.labels)
        }
    }
}

fn namespace_labels(model: &Model, name: &str) -> Labels {
    model
        .cluster
        .namespaces
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.labels.clone())
        .unwrap_or_default()
}

fn tier_rule_matches(
    model: &Model,
    direction: PolicyType,
    rule: &ClusterPolicyRule,
    other: &Endpoint,
    dst: Option<&Pod>,
    probe: Probe,
) -> bool {
    if rule.fail_closed {
        // Fail closed: an Accept matches nothing, a Deny or Pass everything it could have
        // matched (egress: every peer; ingress: every pod not on the host network, as
        // ingress peers are pods).
        let could = match (direction, other) {
            (PolicyType::Egress, _) => true,
            (PolicyType::Ingress, Endpoint::Pod(i)) => !model.cluster.pods[*i].host_network,
            (PolicyType::Ingress, Endpoint::Address(_)) => false,
        };
        return rule.action != RuleAction::Accept && could;
    }
    let peer_ok = rule
        .peers
        .iter()
        .any(|p| tier_peer_ok(model, &p.kind, other));
    let port_ok = match &rule.ports {
        None => true,
        Some(entries) => entries.iter().any(|e| tier_port_ok(&e.port, dst, probe)),
    };
    peer_ok && port_ok
}

fn tier_peer_ok(model: &Model, peer: &ClusterPeerKind, other: &Endpoint) -> bool {
    let addresses: Vec<IpAddr> = match other {
        Endpoint::Address(ip) => vec![*ip],
        Endpoint::Pod(i) => model.cluster.pods[*i].ips.clone(),
    };
    let pod = match other {
        Endpoint::Pod(i) if !model.cluster.pods[*i].host_network => Some(&model.cluster.pods[*i]),
        _ => None,
    };
    match peer {
        ClusterPeerKind::Namespaces(selector) => pod.is_some_and(|pod| {
            label_selector_matches(selector, &namespace_labels(model, &pod.namespace))
        }),
        ClusterPeerKind::Pods {
            namespace_selector,
            pod_selector,
        } => pod.is_some_and(|pod| {
            label_selector_matches(namespace_selector, &namespace_labels(model, &pod.namespace))
                && label_selector_matches(pod_selector, &pod.labels)
        }),
        ClusterPeerKind::Nodes(selector) => model.cluster.nodes.iter().any(|node| {
            label_selector_matches(selector, &node.labels)
                && node.addresses.iter().any(|a| addresses.contains(a))
        }),
        ClusterPeerKind::Networks(cidrs) => cidrs
            .iter()
            .any(|c| addresses.iter().any(|ip| c.contains(*ip))),
        // Cannot be known from manifests: never matches here (the verdict says so).
        ClusterPeerKind::DomainNames(_) => false,
    }
}

fn tier_port_ok(port: &ClusterPort, dst: Option<&Pod>, probe: Probe) -> bool {
    let Probe::Port(protocol, n) = probe else {
        return false; // a port entry always names TCP, UDP or SCTP
    };
    match port {
        ClusterPort::Number { protocol: p, port } => *p == protocol && *port == n,
        ClusterPort::Range {
            protocol: p,
            start,
            end,
        } => *p == protocol && *start <= n && n <= *end,
        ClusterPort::Named(name) => {
            dst.is_some_and(|d| named_numbers(d, name, protocol).contains(&n))
        }
    }
}

/// `Some(allowed)` when NetworkPolicies isolate `subject` in `direction`.
fn network_policies_decide(
    model: &Model,
    direction: PolicyType,
    subject: &Pod,
    other: &Endpoint,
    dst: Option<&Pod>,
    probe: Probe,
) -> Option<bool> {
    let mut isolated = false;
    let mut allowed = false;
    for policy in &model.policies {
        if policy.namespace != subject.namespace {
            continue;
        }
        if !label_selector_matches(&policy.pod_selector, &subject.labels) {
            continue;
        }
        if !policy.policy_types.contains(&direction) {
            continue;
        }
        isolated = true;
        let rules = match direction {
            PolicyType::Ingress => &policy.ingress,
            PolicyType::Egress => &policy.egress,
        };
        for rule in rules {
            let peer_ok = rule.peers.is_empty()
                || rule.peers.iter().any(|p| peer_ok(model, policy, p, other));
            let port_ok =
                rule.ports.is_empty() || rule.ports.iter().any(|p| port_ok(p, dst, probe));
            if peer_ok && port_ok {
                allowed = true;
            }
        }
    }
    isolated.then_some(allowed)
}

/// Whether one `ports` entry admits the probe towards `dst`.
fn port_ok(p: &NetworkPolicyPort, dst: Option<&Pod>, probe: Probe) -> bool {
    let Probe::Port(protocol, port) = probe else {
        return false; // a ports entry always names TCP, UDP or SCTP
    };
    if p.protocol != protocol {
        return false;
    }
    match &p.port {
        None => true,
        Some(PortRef::Number(n)) => {
            let end = p.end_port.unwrap_or(*n);
            *n <= port && port <= end
        }
        Some(PortRef::Name(name)) => match dst {
            None => false,
            Some(d) => named_numbers(d, name, protocol).contains(&port),
        },
    }
}

/// Every number a port name stands for on `pod`: each container port with that name and
/// protocol; none on the host network.
pub fn named_numbers(pod: &Pod, name: &str, protocol: Protocol) -> Vec<u16> {
    if pod.host_network {
        return Vec::new();
    }
    pod.ports
        .iter()
        .filter(|cp| cp.name.as_deref() == Some(name) && cp.protocol == protocol)
        .map(|cp| cp.port)
        .collect()
}

fn peer_ok(
    model: &Model,
    policy: &NetworkPolicy,
    peer: &NetworkPolicyPeer,
    other: &Endpoint,
) -> bool {
    if let Some(block) = &peer.ip_block {
        let in_block =
            |ip: &IpAddr| block.cidr.contains(*ip) && block.except.iter().all(|e| !e.contains(*ip));
        return match other {
            Endpoint::Address(ip) => in_block(ip),
            Endpoint::Pod(i) => model.cluster.pods[*i].ips.iter().any(in_block),
        };
    }
    let Endpoint::Pod(i) = other else {
        return false;
    };
    let pod = &model.cluster.pods[*i];
    if pod.host_network {
        return false; // selectors never match a host-network pod
    }
    let namespace_ok = match &peer.namespace_selector {
        None => pod.namespace == policy.namespace,
        Some(selector) => {
            let no_labels = Labels::new();
            let labels = model
                .cluster
                .namespaces
                .iter()
                .find(|n| n.name == pod.namespace)
                .map(|n| &n.labels)
                .unwrap_or(&no_labels);
            label_selector_matches(selector, labels)
        }
    };
    let pod_ok = match &peer.pod_selector {
        None => true,
        Some(selector) => label_selector_matches(selector, &pod.labels),
    };
    namespace_ok && pod_ok
}

/// Written out again on purpose (not `LabelSelector::matches`): the reference must not
/// share logic with the code under test.
fn label_selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    for (key, value) in &selector.match_labels {
        if labels.get(key) != Some(value) {
            return false;
        }
    }
    for requirement in &selector.match_expressions {
        let value = labels.get(&requirement.key);
        let ok = match requirement.operator {
            Operator::In => match value {
                Some(v) => requirement.values.iter().any(|x| x == v),
                None => false,
            },
            Operator::NotIn => match value {
                Some(v) => requirement.values.iter().all(|x| x != v),
                None => true,
            },
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        };
        if !ok {
            return false;
        }
    }
    true
}
