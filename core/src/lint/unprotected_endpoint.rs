//! `unprotected-endpoint` (ingress) and `unprotected-endpoint-egress`: endpoints no policy
//! isolates in a direction, in a namespace where others are isolated in that direction.
//!
//! Ingress is a warning: an ingress gap is what exposes a service. Egress is an info:
//! isolating the egress of a few pods (the internal-policy example) is a common,
//! deliberate pattern, but the others' open egress is still worth seeing.
//!
//! An endpoint an Admin or Baseline policy guards in a direction (one selecting it denies
//! something there) is not open to everything, so it is not reported (`cluster_guard`).

use std::collections::BTreeMap;

use super::cluster_guard::guards_pod;
use super::common::{direction_word, finding, list, plural};
use super::Cx;
use crate::diagnostic::{Diagnostic, Related, Severity, Span};
use crate::eval::in_scope;
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let sides = by_namespace(cx);
    for (d, direction) in [PolicyType::Ingress, PolicyType::Egress]
        .into_iter()
        .enumerate()
    {
        for (ns, split) in &sides {
            let (isolated, open) = &split[d];
            if !isolated.is_empty() && !open.is_empty() {
                out.push(gap(cx, direction, ns, isolated.len(), open));
            }
        }
    }
}

/// Endpoints isolated and not isolated, per namespace, for ingress (`[0]`) and egress
/// (`[1]`), in one pass over the pods and the policies of their namespace.
type Split = [(Vec<usize>, Vec<usize>); 2];

fn by_namespace<'m>(cx: &Cx<'m>) -> BTreeMap<&'m str, Split> {
    let mut by_ns: BTreeMap<&str, Split> = BTreeMap::new();
    for (i, pod) in cx.model.cluster.pods.iter().enumerate() {
        // No policy can select a host-network pod (ARCHITECTURE.md, "Which pods take
        // part"): advising to cover it would be advice nobody can follow.
        if pod.host_network {
            continue;
        }
        // `eval::selects` is the scope rule and `affects`; the scope is asked once for both.
        let mut isolated = [false, false];
        for p in cx.model.policies.iter().filter(|p| in_scope(p, pod)) {
            isolated[0] |= p.affects(PolicyType::Ingress);
            isolated[1] |= p.affects(PolicyType::Egress);
            if isolated == [true, true] {
                break;
            }
        }
        let entry = by_ns.entry(pod.namespace.as_str()).or_default();
        for (d, direction) in [PolicyType::Ingress, PolicyType::Egress]
            .into_iter()
            .enumerate()
        {
            if isolated[d] {
                entry[d].0.push(i);
            } else if !guards_pod(cx.model, pod, direction) {
                entry[d].1.push(i);
            }
        }
    }
    by_ns
}

fn gap(cx: &Cx, direction: PolicyType, ns: &str, isolated: usize, open: &[usize]) -> Diagnostic {
    let pods = &cx.model.cluster.pods;
    let names: Vec<String> = open
        .iter()
        .filter_map(|&i| pods.get(i).map(|p| p.id.clone()))
        .collect();
    let spans: Vec<Span> = open
        .iter()
        .filter_map(|&i| pods.get(i).and_then(|p| p.span))
        .collect();
    let word = direction_word(direction);
    let (code, severity, consequence) = match direction {
        PolicyType::Ingress => (
            "unprotected-endpoint",
            Severity::Warning,
            "every connection to them is allowed",
        ),
        PolicyType::Egress => (
            "unprotected-endpoint-egress",
            Severity::Info,
            "they may connect anywhere",
        ),
    };
    let mut f = finding(
        code,
        severity,
        spans.first().copied(),
        format!(
            "{} in namespace {ns} not isolated for {word} ({}) while {isolated} {}: {consequence}",
            plural(open.len(), "endpoint"),
            list(&names),
            if isolated == 1 { "other is" } else { "others are" },
        ),
        format!("add a policy isolating {word} for namespace {ns} (`podSelector: {{}}`), or widen a podSelector to cover these endpoints"),
    );
    f.related = spans.into_iter().skip(1).map(Related::at).collect();
    f
}
