//! `unprotected-endpoint`: endpoints no policy isolates for ingress, in a namespace where
//! others are isolated.

use std::collections::BTreeMap;

use super::common::{direction_word, finding, list, plural};
use super::Cx;
use crate::diagnostic::{Diagnostic, Related, Severity, Span};
use crate::eval::selects;
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let pods = &cx.model.cluster.pods;
    // Ingress only: isolating the egress of a few pods (the internal-policy example) is a
    // common, deliberate pattern; an ingress gap is what exposes a service.
    for direction in [PolicyType::Ingress] {
        let mut by_ns: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, pod) in pods.iter().enumerate() {
            let isolated = cx.model.policies.iter().any(|p| selects(p, direction, pod));
            let entry = by_ns.entry(pod.namespace.as_str()).or_default();
            if isolated {
                entry.0.push(i);
            } else {
                entry.1.push(i);
            }
        }
        for (ns, (isolated, open)) in by_ns {
            if isolated.is_empty() || open.is_empty() {
                continue;
            }
            let names: Vec<String> = open
                .iter()
                .filter_map(|&i| pods.get(i).map(|p| p.id.clone()))
                .collect();
            let spans: Vec<Span> = open
                .iter()
                .filter_map(|&i| pods.get(i).and_then(|p| p.span))
                .collect();
            let word = direction_word(direction);
            let mut f = finding(
                "unprotected-endpoint",
                Severity::Warning,
                spans.first().copied(),
                format!(
                    "{} in namespace {ns} not isolated for {word} ({}) while {} {}: every {word} connection to or from them is allowed",
                    plural(open.len(), "endpoint"),
                    list(&names),
                    isolated.len(),
                    if isolated.len() == 1 { "other is" } else { "others are" },
                ),
                format!("add a default-deny {word} policy for namespace {ns} (`podSelector: {{}}`), or widen a podSelector to cover these endpoints"),
            );
            f.related = spans.into_iter().skip(1).map(Related::at).collect();
            out.push(f);
        }
    }
}
