//! `and-or-trap`: a namespaceSelector-only peer next to a podSelector-only peer in one rule,
//! which Kubernetes ORs where the author probably meant AND.

use super::common::{finding, policy_name, selector_text};
use super::Cx;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                let ns_only = rule.peers.iter().find(|p| {
                    p.ip_block.is_none()
                        && p.namespace_selector.is_some()
                        && p.pod_selector.is_none()
                });
                let pod_only = rule.peers.iter().find(|p| {
                    p.ip_block.is_none()
                        && p.pod_selector.is_some()
                        && p.namespace_selector.is_none()
                });
                let (Some(ns), Some(pod)) = (ns_only, pod_only) else {
                    continue;
                };
                let list_word = if direction == PolicyType::Ingress {
                    "from"
                } else {
                    "to"
                };
                let (Some(ns_sel), Some(pod_sel)) = (&ns.namespace_selector, &pod.pod_selector)
                else {
                    continue;
                };
                let mut f = finding(
                    "and-or-trap",
                    Severity::Warning,
                    Some(rule.span),
                    format!(
                        "`{list_word}` of `{}` has two peers, namespaceSelector {} and podSelector {}: they are ORed, so every pod of those namespaces and the matching pods of {} are allowed",
                        policy_name(policy),
                        selector_text(ns_sel),
                        selector_text(pod_sel),
                        policy.namespace
                    ),
                    "to allow only the matching pods in those namespaces, put both selectors in ONE list item (`- namespaceSelector: ...` with `podSelector:` on the next line, no dash); two items mean OR, one item with both selectors means AND",
                );
                f.related = vec![Related::at(ns.span), Related::at(pod.span)];
                out.push(f);
            }
        }
    }
}
