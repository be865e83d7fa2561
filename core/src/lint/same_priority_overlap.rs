//! `same-priority-overlap`: two cluster policies of one tier with the same priority whose
//! rules both match a connection and decide it differently. The API leaves the order of
//! equal priorities to the implementation; netpol, like kube-network-policies, takes them
//! by name, and another implementation may not. The finding names a concrete pair.

use super::common::finding;
use super::tiers::Pair;
use crate::cluster_policy::{ClusterNetworkPolicy, RuleAction};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::model::{Endpoint, Model, PolicyType};
use crate::ports::AllowedPorts;
use crate::render::ports_text;
use crate::tiers::{in_subject, policy_decisions, Decisions};

pub(super) fn check(model: &Model, peers: &[Endpoint], out: &mut Vec<Diagnostic>) {
    let policies = &model.cluster_policies;
    for (a, first) in policies.iter().enumerate() {
        for second in policies.iter().skip(a + 1) {
            if first.tier != second.tier
                || first.priority.is_none()
                || first.priority != second.priority
            {
                continue;
            }
            if let Some(evidence) = conflict(model, first, second, peers) {
                out.push(report(model, first, second, &evidence));
            }
        }
    }
}

/// A pair both policies decide differently, with the ports and the two actions.
struct Evidence {
    pair: Pair,
    ports: AllowedPorts,
    actions: (RuleAction, RuleAction),
}

fn conflict(
    model: &Model,
    first: &ClusterNetworkPolicy,
    second: &ClusterNetworkPolicy,
    peers: &[Endpoint],
) -> Option<Evidence> {
    for direction in [PolicyType::Ingress, PolicyType::Egress] {
        if first.rules(direction).is_empty() || second.rules(direction).is_empty() {
            continue;
        }
        for (subject, pod) in model.cluster.pods.iter().enumerate() {
            if !in_subject(&model.cluster, first, pod) || !in_subject(&model.cluster, second, pod) {
                continue;
            }
            for &peer in peers {
                let pair = Pair {
                    direction,
                    subject,
                    peer,
                };
                let side = pair.side(model);
                let a = policy_decisions(model, first, &side);
                let b = policy_decisions(model, second, &side);
                if let Some((ports, actions)) = disagreement(&a, &b) {
                    return Some(Evidence {
                        pair,
                        ports,
                        actions,
                    });
                }
            }
        }
    }
    None
}

/// Ports on which the two policies take different actions.
fn disagreement(a: &Decisions, b: &Decisions) -> Option<(AllowedPorts, (RuleAction, RuleAction))> {
    let sets = |d: &Decisions| {
        [
            (RuleAction::Accept, d.accept.clone()),
            (RuleAction::Deny, d.deny.clone()),
            (RuleAction::Pass, d.pass.clone()),
        ]
    };
    for (x, xs) in sets(a) {
        for (y, ys) in sets(b) {
            let both = xs.intersection(&ys);
            if x != y && !both.is_empty() {
                return Some((both, (x, y)));
            }
        }
    }
    None
}

fn report(
    model: &Model,
    first: &ClusterNetworkPolicy,
    second: &ClusterNetworkPolicy,
    evidence: &Evidence,
) -> Diagnostic {
    let priority = first.priority.unwrap_or_default();
    let (x, y) = evidence.actions;
    let mut f = finding(
        "same-priority-overlap",
        Severity::Warning,
        Some(second.span),
        format!(
            "same priority {priority} for {} {} and {} {}, which disagree on {} on {}: {} says {}, {} says {}; netpol (like kube-network-policies) applies {} first, by name, but the API lets an implementation apply either",
            first.kind.as_str(),
            first.name,
            second.kind.as_str(),
            second.name,
            evidence.pair.text(model),
            ports_text(&evidence.ports),
            first.name,
            x.word(first.kind),
            second.name,
            y.word(second.kind),
            first.name,
        ),
        "give the two policies different priorities, so every implementation decides alike",
    );
    f.related = vec![Related {
        span: first.span,
        label: Some(format!("{} (same priority)", first.name)),
    }];
    f
}
