//! A deliberately simple reference evaluator, written straight from the NetworkPolicy v1
//! spec and sharing nothing with `eval.rs` or `engine.rs` except the model types. It answers
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

use std::net::IpAddr;

use netpol_core::{
    Endpoint, Flow, LabelSelector, Labels, Model, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyPort, Operator, Pod, PolicyType, PortRef, Protocol,
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
    let pod_of = |e: &Endpoint| match e {
        Endpoint::Pod(i) => Some(model.cluster.pods.get(*i)),
        Endpoint::Address(_) => None,
    };
    let src = pod_of(&from);
    let dst = pod_of(&to);
    // Unknown pod index: denied.
    if src == Some(None) || dst == Some(None) {
        return false;
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
    egress_ok && ingress_ok
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
    !isolated || allowed
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
