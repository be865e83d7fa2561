//! `missing-default-deny`: a namespace without a default-deny ingress policy.

use std::collections::BTreeSet;

use super::common::finding;
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::PolicyType;

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
        let has = cx.model.policies.iter().any(|p| {
            p.namespace == ns
                && p.pod_selector.is_empty()
                && p.affects(PolicyType::Ingress)
                && p.ingress.is_empty()
        });
        if has {
            continue;
        }
        let span = cx
            .model
            .cluster
            .namespace(ns)
            .and_then(|n| n.span)
            .or_else(|| {
                cx.model
                    .policies
                    .iter()
                    .find(|p| p.namespace == ns)
                    .map(|p| p.span)
            });
        out.push(finding(
            "missing-default-deny",
            Severity::Info,
            span,
            format!("namespace {ns} has no default-deny ingress policy, so new pods there accept every connection"),
            format!("add a policy in {ns} with `podSelector: {{}}`, `policyTypes: [Ingress]` and no ingress rules, then allow what is needed"),
        ));
    }
}
