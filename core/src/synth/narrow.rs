//! Narrowing a rule so it stops admitting one peer on some ports, and nothing else.
//!
//! A rule admits (its peers) × (its ports). To close `(G, C)` — an excluded peer `G` on the
//! closing ports `C` — the rule becomes two: (peers − G) × ports, and (peers ∩ G) ×
//! (ports − C) when anything is left of the ports. Each peer is cut exactly:
//! - a selector peer that can match `G`'s pods (pods of one namespace with one identity
//!   label) gets `NotIn` for the label (and, when it spans namespaces, is split into
//!   "other namespaces" and "that namespace without those pods");
//! - an ipBlock gets the excluded addresses (an outside address, or the pods' IPs, which
//!   ipBlocks match too) as `except`;
//! - a rule without peers stands for every pod and every address: it is written out as
//!   such peers first.
//!
//! A pod without a stable label cannot be told from its namespace by a selector; then the
//! whole namespace is excluded, which the caller's diff reports.

use std::net::IpAddr;

use super::plan::namespace_named;
use super::synthesize::{everything, host_block};
use crate::cidr::Cidr;
use crate::model::{
    Endpoint, IpBlock, LabelSelector, LabelSelectorRequirement, Model, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicyRule, Operator, PortRef, Protocol, NAMESPACE_NAME_LABEL,
};
use crate::ports::{AllowedPorts, PortSet};

/// The peer to exclude.
#[derive(Clone, Debug)]
pub(crate) struct Excluded {
    /// Pods: their namespace and the label naming them (`None`: the whole namespace).
    pub pods: Option<(String, Option<(String, String)>)>,
    /// Addresses to except from ipBlocks: an outside address, or the excluded pods' IPs.
    pub ips: Vec<IpAddr>,
}

impl Excluded {
    /// The excluded end of a pair: a pod (with its workload's most preferred label, and
    /// the IPs of every pod that label names in its namespace), or an address.
    pub fn of(model: &Model, end: Endpoint, label: Option<(String, String)>) -> Excluded {
        match end {
            Endpoint::Address(ip) => Excluded {
                pods: None,
                ips: vec![ip],
            },
            Endpoint::Pod(i) => {
                let pod = &model.cluster.pods[i];
                let ips = model
                    .cluster
                    .pods
                    .iter()
                    .filter(|p| p.namespace == pod.namespace)
                    .filter(|p| {
                        label
                            .as_ref()
                            .is_none_or(|(k, v)| p.labels.get(k) == Some(v))
                    })
                    .flat_map(|p| p.ips.iter().copied())
                    .collect();
                Excluded {
                    pods: Some((pod.namespace.clone(), label)),
                    ips,
                }
            }
        }
    }
}

/// `rule` without `excluded` on `closing`: the rules to write instead (possibly none).
pub(crate) fn rewrite(
    model: &Model,
    rule: &NetworkPolicyRule,
    policy_namespace: &str,
    excluded: &Excluded,
    closing: &AllowedPorts,
    dst: Endpoint,
) -> Vec<NetworkPolicyRule> {
    let peers = if rule.peers.is_empty() {
        every_peer()
    } else {
        rule.peers.clone()
    };
    let mut minus = Vec::new();
    let mut inter = Vec::new();
    for peer in &peers {
        let (m, i) = cut(model, peer, policy_namespace, excluded);
        minus.extend(m);
        inter.extend(i);
    }
    let mut out = Vec::new();
    if !minus.is_empty() {
        out.push(NetworkPolicyRule {
            peers: minus,
            ports: rule.ports.clone(),
            span: Default::default(),
        });
    }
    if !inter.is_empty() {
        if let Some(ports) = ports_without(model, &rule.ports, closing, dst) {
            out.push(NetworkPolicyRule {
                peers: inter,
                ports,
                span: Default::default(),
            });
        }
    }
    out
}

/// Every pod and every address, as peers.
fn every_peer() -> Vec<NetworkPolicyPeer> {
    let mut all = vec![selector_peer(None, Some(LabelSelector::default()))];
    for v6 in [false, true] {
        all.push(block_peer(everything(v6)));
    }
    all
}

fn selector_peer(
    pod: Option<LabelSelector>,
    namespace: Option<LabelSelector>,
) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: pod,
        namespace_selector: namespace,
        ip_block: None,
        span: Default::default(),
    }
}

fn block_peer(block: IpBlock) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(block),
        ..selector_peer(None, None)
    }
}

/// `peer` minus the excluded end, and `peer` ∩ the excluded end.
fn cut(
    model: &Model,
    peer: &NetworkPolicyPeer,
    policy_namespace: &str,
    excluded: &Excluded,
) -> (Vec<NetworkPolicyPeer>, Vec<NetworkPolicyPeer>) {
    if let Some(block) = &peer.ip_block {
        return cut_block(block, &excluded.ips);
    }
    let Some((ns, label)) = &excluded.pods else {
        return (vec![peer.clone()], Vec::new());
    };
    if !reaches(model, peer, policy_namespace, ns, label.as_ref()) {
        return (vec![peer.clone()], Vec::new());
    }
    let pod = peer.pod_selector.clone().unwrap_or_default();
    // A selector that already requires `k=v` selects nothing once `k` may not be `v`: no
    // peer is written for it (rather than one that can never match).
    let without = label
        .as_ref()
        .filter(|(k, v)| !requires(&pod, k, v))
        .map(|(k, v)| with_requirement(&pod, k, Operator::NotIn, v));
    let within = match label {
        Some((k, v)) => match pod.match_labels.get(k) {
            Some(have) if have != v => None,
            _ => {
                let mut s = pod.clone();
                s.match_labels.insert(k.clone(), v.clone());
                Some(s)
            }
        },
        None => Some(pod.clone()),
    };
    let Some(namespace) = &peer.namespace_selector else {
        // The policy's own namespace, which is the excluded pods' namespace.
        let minus = without
            .map(|s| selector_peer(Some(s), None))
            .into_iter()
            .collect();
        let inter = within
            .map(|s| selector_peer(Some(s), None))
            .into_iter()
            .collect();
        return (minus, inter);
    };
    let mut minus = Vec::new();
    let pinned = namespace.match_labels.get(NAMESPACE_NAME_LABEL) == Some(ns);
    if !pinned {
        let others = with_requirement(namespace, NAMESPACE_NAME_LABEL, Operator::NotIn, ns);
        minus.push(selector_peer(peer.pod_selector.clone(), Some(others)));
    }
    let here = namespace_named(ns);
    minus.extend(without.map(|s| selector_peer(Some(s), Some(here.clone()))));
    let inter = within
        .map(|s| selector_peer(Some(s), Some(here)))
        .into_iter()
        .collect();
    (minus, inter)
}

/// Whether a selector peer of a policy in `policy_namespace` can match pods of `ns`
/// carrying `label` (any pod of `ns` when `None`).
fn reaches(
    model: &Model,
    peer: &NetworkPolicyPeer,
    policy_namespace: &str,
    ns: &str,
    label: Option<&(String, String)>,
) -> bool {
    let namespace_ok = match &peer.namespace_selector {
        None => policy_namespace == ns,
        Some(sel) => model
            .cluster
            .namespace_labels(ns)
            .is_some_and(|labels| sel.matches(labels)),
    };
    let pod = peer.pod_selector.clone().unwrap_or_default();
    namespace_ok
        && model.cluster.pods.iter().any(|p| {
            p.namespace == ns
                && !p.host_network
                && label.is_none_or(|(k, v)| p.labels.get(k) == Some(v))
                && pod.matches(&p.labels)
        })
}

/// Whether `selector` only matches labels with `key=value`.
fn requires(selector: &LabelSelector, key: &str, value: &str) -> bool {
    selector.match_labels.get(key).is_some_and(|v| v == value)
        || selector.match_expressions.iter().any(|e| {
            e.key == key && e.operator == Operator::In && e.values.iter().all(|v| v == value)
        })
}

/// `selector` with one more requirement `key op [value]`.
fn with_requirement(
    selector: &LabelSelector,
    key: &str,
    op: Operator,
    value: &str,
) -> LabelSelector {
    let mut s = selector.clone();
    s.match_expressions.push(LabelSelectorRequirement {
        key: key.to_string(),
        operator: op,
        values: vec![value.to_string()],
    });
    s
}

/// A block minus the excluded addresses inside it, and those addresses as blocks.
fn cut_block(block: &IpBlock, ips: &[IpAddr]) -> (Vec<NetworkPolicyPeer>, Vec<NetworkPolicyPeer>) {
    let inside: Vec<IpAddr> = ips
        .iter()
        .copied()
        .filter(|ip| block.contains(*ip))
        .collect();
    if inside.is_empty() {
        return (vec![block_peer(block.clone())], Vec::new());
    }
    let inter = inside
        .iter()
        .map(|ip| block_peer(host_block(*ip)))
        .collect();
    let host = |ip: &IpAddr| host_block(*ip).cidr;
    if inside.len() == 1 && block.cidr == host(&inside[0]) {
        return (Vec::new(), inter);
    }
    let mut except: Vec<Cidr> = block.except.clone();
    except.extend(inside.iter().map(host));
    except.sort();
    except.dedup();
    let minus = vec![block_peer(IpBlock {
        cidr: block.cidr.clone(),
        except,
    })];
    (minus, inter)
}

/// `ports` (a rule's entries, towards `dst`) without the `closing` ports; `None` when
/// nothing is left. Entries naming a port that resolves to a closing number on `dst` are
/// dropped whole; a rule without ports becomes every port of each protocol but those.
fn ports_without(
    model: &Model,
    ports: &[NetworkPolicyPort],
    closing: &AllowedPorts,
    dst: Endpoint,
) -> Option<Vec<NetworkPolicyPort>> {
    let entries: Vec<NetworkPolicyPort> = if ports.is_empty() {
        Protocol::ALL
            .into_iter()
            .map(|p| entry(p, None, None))
            .collect()
    } else {
        ports.to_vec()
    };
    let mut out = Vec::new();
    for e in entries {
        let closed = closing.get(e.protocol);
        match &e.port {
            Some(PortRef::Name(name)) => {
                let numbers = crate::PortSpec::new(PortRef::Name(name.clone()), e.protocol)
                    .numbers(model, dst);
                if !numbers.iter().any(|n| closed.contains(*n)) {
                    out.push(e);
                }
            }
            port => {
                let (first, last) = match port {
                    Some(PortRef::Number(n)) => (*n, e.end_port.unwrap_or(*n)),
                    _ => (1, 65535),
                };
                let left = PortSet::from_ranges([(first, last)]).difference(closed);
                if left == PortSet::from_ranges([(first, last)]) {
                    out.push(e);
                    continue;
                }
                for (a, b) in left.ranges {
                    out.push(entry(
                        e.protocol,
                        Some(PortRef::Number(a)),
                        (a != b).then_some(b),
                    ));
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn entry(protocol: Protocol, port: Option<PortRef>, end: Option<u16>) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol,
        port,
        end_port: end,
        span: Default::default(),
    }
}
