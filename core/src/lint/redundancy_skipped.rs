//! `redundancy-skipped`: the model is too large for the semantic redundancy checks (one
//! engine compilation per policy and rule), so they did not run.

use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};

/// Whether the redundancy checks must be skipped; if so, says so in `out`.
pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) -> bool {
    let model = cx.model;
    let rules: usize = model
        .policies
        .iter()
        .map(|p| p.ingress.len() + p.egress.len())
        .sum();
    let variants = model.policies.len() + rules;
    let (max_pods, max_variants) = (cx.options.max_pods, cx.options.max_variants);
    if model.cluster.pods.len() <= max_pods && variants <= max_variants {
        return false;
    }
    let message = format!(
        "redundant-policy, redundant-rule and shadowed-rule were not checked: {} endpoints and {variants} policies plus rules exceed the bound of {max_pods} endpoints and {max_variants} policies plus rules",
        model.cluster.pods.len()
    );
    out.push(
        Diagnostic::new("redundancy-skipped", Severity::Info, None, message)
            .with_help("lint a smaller part of the cluster (one namespace) to get these checks"),
    );
    true
}
