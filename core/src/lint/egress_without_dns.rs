//! `egress-without-dns`: egress-isolated endpoints whose policies allow DNS (UDP or TCP)
//! nowhere, so name resolution fails.
//!
//! Clients ask the cluster DNS Service on port 53, but policies see the DNS pods' port after
//! the Service translated it: 53 for kube-dns/CoreDNS, 5353 for OpenShift's DNS pods. So a
//! rule allows DNS when it allows 53, 5353, or the target port of any Service port 53 of
//! the input (resolved on the pods behind it).
//!
//! An Admin-tier Accept comes before the NetworkPolicies: where one selecting the endpoints
//! (or, without a cluster snapshot, possibly selecting pods of the policies' namespace)
//! allows DNS somewhere, DNS works whatever the NetworkPolicies say, and nothing is
//! reported for that protocol. (An earlier Admin Deny could still take it; not knowing,
//! the check stays silent rather than cry wolf.)

use std::collections::BTreeMap;

use super::common::{finding, list, plural, policy_name};
use super::Cx;
use crate::cluster_policy::{ClusterNetworkPolicy, ClusterPort, ClusterSubject, RuleAction, Tier};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::eval::selects;
use crate::model::{Cluster, NetworkPolicy, NetworkPolicyPort, PolicyType, PortRef, Protocol};
use crate::services;
use crate::tiers::in_subject;

/// The protocols DNS is asked over, in the order findings name them.
const DNS_PROTOCOLS: [Protocol; 2] = [Protocol::UDP, Protocol::TCP];

/// Indices of policies isolating the same endpoints' egress and, per DNS protocol, whether
/// an Admin Accept may allow DNS for them, with those endpoints' ids.
type Groups = BTreeMap<(Vec<usize>, [bool; 2]), Vec<String>>;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let policies = &cx.model.policies;
    for ((group, admin), pods) in isolation_groups(cx) {
        let missing: Vec<&str> = DNS_PROTOCOLS
            .into_iter()
            .zip(admin)
            .filter(|(proto, admin)| {
                !admin
                    && !group
                        .iter()
                        .any(|&j| policies.get(j).is_some_and(|p| allows_dns(cx, p, *proto)))
            })
            .map(|(p, _)| p.as_str())
            .collect();
        if missing.is_empty() {
            continue;
        }
        if let Some(f) = finding_for(cx, &group, &pods, &missing) {
            out.push(f);
        }
    }
}

/// Groups of isolating policies: with a cluster, the set of policies isolating each pod's
/// egress; without one, each egress policy with the policies of its namespace that have the
/// same or an empty podSelector.
fn isolation_groups(cx: &Cx) -> Groups {
    let policies = &cx.model.policies;
    let mut groups = Groups::new();
    if cx.model.cluster.pods.is_empty() {
        for p in policies {
            if !p.affects(PolicyType::Egress) {
                continue;
            }
            let group: Vec<usize> = policies
                .iter()
                .enumerate()
                .filter(|(_, q)| {
                    q.affects(PolicyType::Egress)
                        && q.namespace == p.namespace
                        && (q.pod_selector == p.pod_selector || q.pod_selector.is_empty())
                })
                .map(|(j, _)| j)
                .collect();
            let admin = DNS_PROTOCOLS.map(|proto| {
                admin_may_allow_dns(cx, proto, |policy| {
                    may_select_namespace(&cx.model.cluster, policy, &p.namespace)
                })
            });
            groups.entry((group, admin)).or_default();
        }
    } else {
        for pod in &cx.model.cluster.pods {
            let group: Vec<usize> = policies
                .iter()
                .enumerate()
                .filter(|(_, p)| selects(p, PolicyType::Egress, pod))
                .map(|(j, _)| j)
                .collect();
            if group.is_empty() {
                continue;
            }
            let admin = DNS_PROTOCOLS.map(|proto| {
                admin_may_allow_dns(cx, proto, |policy| {
                    in_subject(&cx.model.cluster, policy, pod)
                })
            });
            groups
                .entry((group, admin))
                .or_default()
                .push(pod.id.clone());
        }
    }
    groups
}

/// Whether an Admin-tier Accept egress rule of a policy `subject` accepts allows DNS over
/// `protocol` to some peer, judged by its ports like the NetworkPolicy rules.
fn admin_may_allow_dns(
    cx: &Cx,
    protocol: Protocol,
    subject: impl Fn(&ClusterNetworkPolicy) -> bool,
) -> bool {
    cx.model
        .cluster_policies
        .iter()
        .filter(|p| p.tier == Tier::Admin && subject(p))
        .flat_map(|p| &p.egress)
        .any(|rule| {
            rule.effective_action() == RuleAction::Accept
                && !rule.fail_closed
                && !rule.peers.is_empty()
                && rule.ports.as_ref().is_none_or(|ports| {
                    ports
                        .iter()
                        .any(|entry| cluster_entry_allows_dns(cx, &entry.port, protocol))
                })
        })
}

fn cluster_entry_allows_dns(cx: &Cx, port: &ClusterPort, protocol: Protocol) -> bool {
    let dns = dns_ports(cx, protocol);
    match port {
        ClusterPort::Number { protocol: p, port } => *p == protocol && dns.contains(port),
        ClusterPort::Range {
            protocol: p,
            start,
            end,
        } => *p == protocol && dns.iter().any(|d| start <= d && d <= end),
        ClusterPort::Named(name) => cx
            .model
            .cluster
            .pods
            .iter()
            .any(|pod| pod.named_ports(name, protocol).any(|x| dns.contains(&x))),
    }
}

/// Whether `policy` may select pods of `namespace`, as far as a snapshot without pods can
/// tell: its namespace selector matches the namespace's labels (or the namespace is not
/// in the input); any pod selector may match some pod.
fn may_select_namespace(cluster: &Cluster, policy: &ClusterNetworkPolicy, namespace: &str) -> bool {
    let selector = match &policy.subject {
        ClusterSubject::Namespaces(selector) => selector,
        ClusterSubject::Pods {
            namespace_selector, ..
        } => namespace_selector,
    };
    cluster
        .namespace_labels(namespace)
        .is_none_or(|labels| selector.matches(labels))
}

/// Whether an egress rule of `policy` allows 53/`protocol` to some peer, judged by its
/// ports (the DNS server may not be in the snapshot, so peers count as "somewhere").
fn allows_dns(cx: &Cx, policy: &NetworkPolicy, protocol: Protocol) -> bool {
    policy.egress.iter().any(|rule| {
        rule.ports.is_empty()
            || rule
                .ports
                .iter()
                .any(|p| p.protocol == protocol && entry_allows_53(cx, p, protocol))
    })
}

fn entry_allows_53(cx: &Cx, p: &NetworkPolicyPort, protocol: Protocol) -> bool {
    let dns = dns_ports(cx, protocol);
    match &p.port {
        None => true,
        Some(PortRef::Number(n)) => {
            let last = p.end_port.unwrap_or(*n);
            dns.iter().any(|d| *n <= *d && *d <= last)
        }
        // Resolved at the destination; accept a name any pod resolves to a DNS port
        // (kube-dns calls it `dns`/`dns-tcp`).
        Some(PortRef::Name(n)) => cx
            .model
            .cluster
            .pods
            .iter()
            .any(|pod| pod.named_ports(n, protocol).any(|x| dns.contains(&x))),
    }
}

/// The ports DNS pods may receive 53 on: 53, 5353 (OpenShift), and the target ports of the
/// input's Service ports 53.
fn dns_ports(cx: &Cx, protocol: Protocol) -> Vec<u16> {
    let mut ports = vec![53, 5353];
    let cluster = &cx.model.cluster;
    for service in &cluster.services {
        for port in service
            .ports
            .iter()
            .filter(|p| p.port == 53 && p.protocol == protocol)
        {
            for pod in services::backends(cluster, service) {
                ports.extend(services::target_port(&cluster.pods[pod], port));
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The finding for one group of isolating policies that misses DNS on `missing` protocols.
fn finding_for(cx: &Cx, group: &[usize], pods: &[String], missing: &[&str]) -> Option<Diagnostic> {
    let policies = &cx.model.policies;
    let names: Vec<String> = group
        .iter()
        .filter_map(|&j| policies.get(j).map(policy_name))
        .collect();
    let first = group.first().and_then(|&j| policies.get(j))?;
    let who = if pods.is_empty() {
        "the selected endpoints".to_string()
    } else {
        format!("{} ({})", plural(pods.len(), "endpoint"), list(pods))
    };
    let protocols = missing.join(" or ");
    let mut f = finding(
        "egress-without-dns",
        Severity::Warning,
        Some(first.span),
        format!(
            "egress of {who} is isolated by {} but no rule allows DNS over {protocols} (port 53, or 5353 where the DNS pods listen on it) anywhere, so {}",
            list(&names),
            consequence(missing)
        ),
        "add an egress rule allowing DNS, e.g. `- to: [{namespaceSelector: {}}]` with `ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]` (narrow the peer to kube-dns if you can)",
    );
    f.related = group
        .iter()
        .skip(1)
        .filter_map(|&j| policies.get(j).map(|p| Related::at(p.span)))
        .collect();
    Some(f)
}

/// What a missing DNS protocol breaks: resolvers ask over UDP and retry over TCP only when
/// an answer is too large for UDP, so TCP alone missing breaks only those.
fn consequence(missing: &[&str]) -> &'static str {
    if missing == ["TCP"] {
        "DNS answers too large for UDP (which resolvers then ask again over TCP) fail"
    } else {
        "name resolution fails"
    }
}
