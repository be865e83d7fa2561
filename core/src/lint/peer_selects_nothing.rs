//! `peer-selects-nothing`: a from/to peer's selectors match no endpoint.

use super::common::{direction_word, finding, policy_name, selector_peers, selector_text};
use super::{unknown_namespace_label, Cx};
use crate::diagnostic::{Diagnostic, Severity};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for (policy, direction, peer) in selector_peers(&cx.model.policies) {
        // A namespace label key nobody has is the more precise finding; do not repeat it as
        // "selects nothing".
        if unknown_namespace_label::missing_key(cx, peer).is_some() {
            continue;
        }
        if !cx.peer_pods(policy, peer).is_empty() {
            continue;
        }
        let ns = match &peer.namespace_selector {
            None => format!("namespace {}", policy.namespace),
            Some(s) => format!("namespaces matching {}", selector_text(s)),
        };
        let pods = peer
            .pod_selector
            .as_ref()
            .filter(|s| !s.is_empty())
            .map_or("pod".to_string(), |s| {
                format!("pods matching {}", selector_text(s))
            });
        out.push(finding(
            "peer-selects-nothing",
            Severity::Warning,
            Some(peer.span),
            format!(
                "{} peer of `{}` matches no endpoint: no {pods} in {ns}",
                direction_word(direction),
                policy_name(policy)
            ),
            "check the selector labels against the pods and namespaces; without a namespaceSelector a podSelector only looks in the policy's own namespace",
        ));
    }
}
