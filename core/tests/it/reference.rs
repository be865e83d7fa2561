//! A deliberately simple reference evaluator, written straight from the NetworkPolicy v1
//! spec and sharing nothing with `eval.rs` or `engine.rs` except the model types. It answers
//! yes/no for one flow by looping over every policy, rule, peer and port; property tests
//! compare the fast engine and the explaining evaluator against it.
//!
//! Choices the spec leaves open (the same ones `eval.rs` documents): an ipBlock matches a pod
//! when any of its IPs is in the block; a peer with an ipBlock is judged by the block alone;
//! absent selectors in a peer mean "all pods" / "the policy's namespace"; a named port
//! resolves against the destination pod (any container port with that name and protocol);
//! an unknown pod index is denied.

use std::net::IpAddr;

use netpol_core::{
    Endpoint, Flow, LabelSelector, Labels, Model, NetworkPolicy, NetworkPolicyPeer, Operator, Pod,
    PolicyType, PortRef,
};

/// Is `flow` allowed? Egress of the source AND ingress of the destination.
pub fn reference_allowed(model: &Model, flow: &Flow) -> bool {
    let pod_of = |e: &Endpoint| match e {
        Endpoint::Pod(i) => Some(model.cluster.pods.get(*i)),
        Endpoint::Address(_) => None,
    };
    let src = pod_of(&flow.src);
    let dst = pod_of(&flow.dst);
    // Unknown pod index: denied.
    if src == Some(None) || dst == Some(None) {
        return false;
    }
    let src = src.flatten();
    let dst = dst.flatten();

    let egress_ok = match src {
        None => true, // an outside address is never isolated
        Some(pod) => side_allows(model, PolicyType::Egress, pod, &flow.dst, dst, flow),
    };
    let ingress_ok = match dst {
        None => true,
        Some(pod) => side_allows(model, PolicyType::Ingress, pod, &flow.src, dst, flow),
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
    flow: &Flow,
) -> bool {
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
            let port_ok = rule.ports.is_empty()
                || rule.ports.iter().any(|p| {
                    if p.protocol != flow.protocol {
                        return false;
                    }
                    match &p.port {
                        None => true,
                        Some(PortRef::Number(n)) => {
                            let end = p.end_port.unwrap_or(*n);
                            *n <= flow.port && flow.port <= end
                        }
                        Some(PortRef::Name(name)) => match dst {
                            None => false,
                            Some(d) => d.ports.iter().any(|cp| {
                                cp.name.as_ref() == Some(name)
                                    && cp.protocol == p.protocol
                                    && cp.port == flow.port
                            }),
                        },
                    }
                });
            if peer_ok && port_ok {
                allowed = true;
            }
        }
    }
    !isolated || allowed
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
