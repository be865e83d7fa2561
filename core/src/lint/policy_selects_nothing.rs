//! `policy-selects-nothing`: no pod of the policy's namespace matches its podSelector.

use super::common::{finding, list, policy_name, selector_text};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.policies {
        if !cx.targets(policy).is_empty() {
            continue;
        }
        // Host-network pods whose labels match: the selector is right, the pods are never
        // selected (ARCHITECTURE.md, "Which pods take part"); say that instead of "a typo".
        let host: Vec<String> = cx
            .model
            .cluster
            .pods
            .iter()
            .filter(|p| {
                p.host_network
                    && p.namespace == policy.namespace
                    && policy.pod_selector.matches(&p.labels)
            })
            .map(|p| p.id.clone())
            .collect();
        let (why, help) = if host.is_empty() {
            (
                format!(
                    "no pod in namespace {} matches podSelector {}",
                    policy.namespace,
                    selector_text(&policy.pod_selector)
                ),
                "check the podSelector labels against the pods' labels (a typo, or the wrong namespace)",
            )
        } else {
            (
                format!(
                    "the pods matching podSelector {} ({}) use their node's network, which policies never select",
                    selector_text(&policy.pod_selector),
                    list(&host)
                ),
                "host-network traffic is the node's: allow or deny it with ipBlocks of the node addresses in the other pods' policies",
            )
        };
        out.push(finding(
            "policy-selects-nothing",
            Severity::Warning,
            Some(policy.span),
            format!(
                "policy `{}` selects no endpoint: {why}",
                policy_name(policy)
            ),
            help,
        ));
    }
}
