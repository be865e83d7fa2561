//! `named-port-not-exposed`: a named port that no destination the entry applies to exposes
//! with that protocol, so the entry matches nothing.

use std::collections::BTreeSet;

use super::common::{finding, plural, policy_name};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::eval::peer_matches;
use crate::model::{Endpoint, PolicyType, PortRef, Protocol};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let pods = &cx.model.cluster.pods;
    for policy in &cx.model.policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                let names: Vec<_> = rule
                    .ports
                    .iter()
                    .filter_map(|p| match &p.port {
                        Some(PortRef::Name(n)) => Some((p, n)),
                        _ => None,
                    })
                    .collect();
                if names.is_empty() {
                    continue;
                }
                // Named ports resolve at the destination: the selected pods for ingress,
                // the pods the peers match for egress.
                let dests: Vec<usize> = match direction {
                    PolicyType::Ingress => cx.targets(policy),
                    PolicyType::Egress if rule.peers.is_empty() => (0..pods.len()).collect(),
                    PolicyType::Egress => (0..pods.len())
                        .filter(|i| {
                            rule.peers.iter().any(|peer| {
                                peer_matches(cx.model, policy, peer, &Endpoint::Pod(*i)).is_ok()
                            })
                        })
                        .collect(),
                };
                if dests.is_empty() {
                    continue; // selects-nothing findings say why
                }
                for (entry, name) in names {
                    let exposing = |proto: Option<Protocol>| {
                        dests.iter().any(|&i| {
                            pods.get(i).is_some_and(|p| {
                                p.ports.iter().any(|c| {
                                    c.name.as_deref() == Some(name.as_str())
                                        && proto.is_none_or(|x| x == c.protocol)
                                })
                            })
                        })
                    };
                    if exposing(Some(entry.protocol)) {
                        continue;
                    }
                    let other: BTreeSet<&str> = dests
                        .iter()
                        .filter_map(|&i| pods.get(i))
                        .flat_map(|p| p.ports.iter())
                        .filter(|c| c.name.as_deref() == Some(name.as_str()))
                        .map(|c| c.protocol.as_str())
                        .collect();
                    let whose = match direction {
                        PolicyType::Ingress => "the pods the policy selects",
                        PolicyType::Egress => "the pods the rule's peers match",
                    };
                    let message = if exposing(None) {
                        format!(
                            "named port `{name}`/{} of `{}`: {whose} expose `{name}` only as {}, so the entry matches nothing",
                            entry.protocol,
                            policy_name(policy),
                            other.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    } else {
                        format!(
                            "named port `{name}`/{} of `{}`: none of {whose} ({}) has a container port named `{name}`, so the entry matches nothing",
                            entry.protocol,
                            policy_name(policy),
                            plural(dests.len(), "endpoint")
                        )
                    };
                    out.push(finding(
                        "named-port-not-exposed",
                        Severity::Warning,
                        Some(entry.span),
                        message,
                        "use the name and protocol of a containerPort of the destination pods, or a port number",
                    ));
                }
            }
        }
    }
}
