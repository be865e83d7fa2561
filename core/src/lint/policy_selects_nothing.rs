//! `policy-selects-nothing`: no pod of the policy's namespace matches its podSelector.

use super::common::{finding, policy_name, selector_text};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.policies {
        if cx.targets(policy).is_empty() {
            out.push(finding(
                "policy-selects-nothing",
                Severity::Warning,
                Some(policy.span),
                format!(
                    "policy `{}` selects no endpoint: no pod in namespace {} matches podSelector {}",
                    policy_name(policy),
                    policy.namespace,
                    selector_text(&policy.pod_selector)
                ),
                "check the podSelector labels against the pods' labels (a typo, or the wrong namespace)",
            ));
        }
    }
}
