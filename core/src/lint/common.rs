//! Helpers the checks share: making a finding, and the words findings use for policies,
//! selectors and lists.

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::model::{LabelSelector, NetworkPolicy, NetworkPolicyPeer, Operator, PolicyType};

pub(super) fn finding(
    code: &'static str,
    severity: Severity,
    span: Option<Span>,
    message: String,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(code, severity, span, message).with_help(help)
}

pub(super) fn direction_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}

/// `a, b, c and 4 more`.
pub(super) fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// `{app: web, tier in (a, b)}`.
pub fn selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    for r in &selector.match_expressions {
        parts.push(match r.operator {
            Operator::In => format!("{} in ({})", r.key, r.values.join(", ")),
            Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(", ")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
        });
    }
    format!("{{{}}}", parts.join(", "))
}

pub(super) fn policy_name(policy: &NetworkPolicy) -> String {
    format!("{}/{}", policy.namespace, policy.name)
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Label keys a selector requires to be present (matchLabels, In, Exists).
pub(super) fn required_keys(selector: &LabelSelector) -> impl Iterator<Item = &str> {
    selector.match_labels.keys().map(String::as_str).chain(
        selector
            .match_expressions
            .iter()
            .filter(|r| matches!(r.operator, Operator::In | Operator::Exists))
            .map(|r| r.key.as_str()),
    )
}

/// Every selector peer (not ipBlock) of every rule, in policy, direction and rule order.
pub(super) fn selector_peers(
    policies: &[NetworkPolicy],
) -> impl Iterator<Item = (&NetworkPolicy, PolicyType, &NetworkPolicyPeer)> {
    policies.iter().flat_map(|policy| {
        [PolicyType::Ingress, PolicyType::Egress]
            .into_iter()
            .flat_map(move |direction| {
                policy
                    .rules(direction)
                    .iter()
                    .flat_map(|rule| &rule.peers)
                    .filter(|peer| peer.ip_block.is_none())
                    .map(move |peer| (policy, direction, peer))
            })
    })
}
