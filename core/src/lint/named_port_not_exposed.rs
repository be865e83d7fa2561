//! `named-port-not-exposed`: a named port that no destination the entry applies to exposes
//! with that protocol, so the entry matches nothing.

use std::collections::BTreeSet;

use super::common::{finding, plural, policy_name};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::eval::peer_matches;
use crate::model::{
    Endpoint, NetworkPolicy, NetworkPolicyPort, NetworkPolicyRule, PolicyType, PortRef, Protocol,
};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                let names: Vec<_> = rule
                    .ports
                    .iter()
                    .filter_map(|p| match &p.port {
                        Some(PortRef::Name(n)) => Some((p, n.as_str())),
                        _ => None,
                    })
                    .collect();
                if names.is_empty() {
                    continue;
                }
                let dests = destinations(cx, policy, direction, rule);
                if dests.is_empty() {
                    continue; // selects-nothing findings say why
                }
                let at = Destinations {
                    policy,
                    direction,
                    dests: &dests,
                };
                for (entry, name) in names {
                    out.extend(at.unexposed(cx, entry, name));
                }
            }
        }
    }
}

/// Where named ports resolve: the selected pods for ingress, the pods the peers match for
/// egress.
fn destinations(
    cx: &Cx,
    policy: &NetworkPolicy,
    direction: PolicyType,
    rule: &NetworkPolicyRule,
) -> Vec<usize> {
    let pods = &cx.model.cluster.pods;
    match direction {
        PolicyType::Ingress => cx.targets(policy),
        PolicyType::Egress if rule.peers.is_empty() => (0..pods.len()).collect(),
        PolicyType::Egress => (0..pods.len())
            .filter(|i| {
                rule.peers
                    .iter()
                    .any(|peer| peer_matches(cx.model, policy, peer, &Endpoint::Pod(*i)).is_ok())
            })
            .collect(),
    }
}

/// A rule's policy and direction, and the destinations its named ports resolve on.
struct Destinations<'a> {
    policy: &'a NetworkPolicy,
    direction: PolicyType,
    dests: &'a [usize],
}

impl Destinations<'_> {
    /// The finding for `entry` (port `name`), unless a destination exposes it.
    fn unexposed(&self, cx: &Cx, entry: &NetworkPolicyPort, name: &str) -> Option<Diagnostic> {
        let pods = &cx.model.cluster.pods;
        let exposing = |proto: Option<Protocol>| {
            self.dests.iter().any(|&i| {
                pods.get(i).is_some_and(|p| {
                    p.ports.iter().any(|c| {
                        c.name.as_deref() == Some(name) && proto.is_none_or(|x| x == c.protocol)
                    })
                })
            })
        };
        if exposing(Some(entry.protocol)) {
            return None;
        }
        let other: BTreeSet<&str> = self
            .dests
            .iter()
            .filter_map(|&i| pods.get(i))
            .flat_map(|p| p.ports.iter())
            .filter(|c| c.name.as_deref() == Some(name))
            .map(|c| c.protocol.as_str())
            .collect();
        let whose = match self.direction {
            PolicyType::Ingress => "the pods the policy selects",
            PolicyType::Egress => "the pods the rule's peers match",
        };
        let message = if exposing(None) {
            format!(
                "named port `{name}`/{} of `{}`: {whose} expose `{name}` only as {}, so the entry matches nothing",
                entry.protocol,
                policy_name(self.policy),
                other.into_iter().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "named port `{name}`/{} of `{}`: none of {whose} ({}) has a container port named `{name}`, so the entry matches nothing",
                entry.protocol,
                policy_name(self.policy),
                plural(self.dests.len(), "endpoint")
            )
        };
        Some(finding(
            "named-port-not-exposed",
            Severity::Warning,
            Some(entry.span),
            message,
            "use the name and protocol of a containerPort of the destination pods, or a port number",
        ))
    }
}
