//! `missing-default-deny` and `missing-default-deny-egress`: a namespace where no policy
//! isolates every pod (an empty `podSelector`) for a direction, so a pod created there
//! tomorrow that no policy selects is open in that direction.
//!
//! A namespace is protected in a direction when *some* policy with `podSelector: {}`
//! isolates that direction, whatever its rules allow: the rules only decide what the
//! isolated pods accept, and a new pod is isolated all the same. (The first version of
//! this check wanted a policy without rules, and called the playground's default example,
//! whose `podSelector: {}` policy allows only the frontend, unprotected.)
//!
//! Ingress is checked in every namespace with endpoints or policies. Egress only where
//! some policy already isolates the egress of some pods: leaving egress open is the norm,
//! and saying so for every namespace would be noise, but a namespace whose author
//! restricts egress for some pods and not for new ones is worth a note.
//!
//! A namespace whose new pods an Admin or Baseline policy certainly selects and guards in
//! the direction (it denies something there; a Baseline "deny all" is the usual guard of
//! namespaces without a default-deny NetworkPolicy) is not reported: its new pods do not
//! accept every connection (`cluster_guard`).

use std::collections::BTreeSet;

use super::cluster_guard::guards_new_pods;
use super::common::{direction_word, finding, list, policy_name};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::model::{NetworkPolicy, PolicyType};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let mut namespaces: BTreeSet<&str> = cx
        .model
        .cluster
        .pods
        .iter()
        .map(|p| p.namespace.as_str())
        .collect();
    namespaces.extend(cx.model.policies.iter().map(|p| p.namespace.as_str()));
    for ns in namespaces {
        ingress(cx, ns, out);
        egress(cx, ns, out);
    }
}

/// The policies of `ns` that isolate `direction` for some pods.
fn isolating<'m>(cx: &Cx<'m>, ns: &str, direction: PolicyType) -> Vec<&'m NetworkPolicy> {
    cx.model
        .policies
        .iter()
        .filter(|p| p.namespace == ns && p.affects(direction))
        .collect()
}

fn protected(policies: &[&NetworkPolicy]) -> bool {
    policies.iter().any(|p| p.pod_selector.is_empty())
}

fn ingress(cx: &Cx, ns: &str, out: &mut Vec<Diagnostic>) {
    if protected(&isolating(cx, ns, PolicyType::Ingress))
        || guards_new_pods(cx.model, ns, PolicyType::Ingress)
    {
        return;
    }
    out.push(finding(
        "missing-default-deny",
        Severity::Info,
        namespace_span(cx, ns),
        format!("namespace {ns} has no policy isolating the ingress of all its pods, so a new pod there that no policy selects accepts every connection"),
        help(ns, PolicyType::Ingress),
    ));
}

fn egress(cx: &Cx, ns: &str, out: &mut Vec<Diagnostic>) {
    let policies = isolating(cx, ns, PolicyType::Egress);
    if policies.is_empty()
        || protected(&policies)
        || guards_new_pods(cx.model, ns, PolicyType::Egress)
    {
        return;
    }
    let names: Vec<String> = policies.iter().map(|p| policy_name(p)).collect();
    out.push(finding(
        "missing-default-deny-egress",
        Severity::Info,
        namespace_span(cx, ns),
        format!(
            "namespace {ns} isolates egress with {} but no policy there isolates the egress of all its pods, so a new pod there that no policy selects can connect anywhere",
            list(&names)
        ),
        help(ns, PolicyType::Egress),
    ));
}

fn help(ns: &str, direction: PolicyType) -> String {
    let word = direction_word(direction);
    let kind = if direction == PolicyType::Ingress {
        "Ingress"
    } else {
        "Egress"
    };
    format!("add a policy in {ns} with `podSelector: {{}}` and `policyTypes: [{kind}]` (its rules may allow what every pod needs, such as DNS), so that new pods start {word}-isolated")
}

/// The namespace's declaration, else its first policy.
fn namespace_span(cx: &Cx, ns: &str) -> Option<Span> {
    cx.model
        .cluster
        .namespace(ns)
        .and_then(|n| n.span)
        .or_else(|| {
            cx.model
                .policies
                .iter()
                .find(|p| p.namespace == ns)
                .map(|p| p.span)
        })
}
