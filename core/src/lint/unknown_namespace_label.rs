//! `unknown-namespace-label`: a peer's namespaceSelector requires a label key that no
//! namespace has. The more precise finding for such a peer, so `peer-selects-nothing` stays
//! quiet about it.

use std::collections::BTreeSet;

use super::common::{finding, policy_name, required_keys, selector_peers};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::NetworkPolicyPeer;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for (policy, _, peer) in selector_peers(&cx.model.policies) {
        let Some(key) = missing_key(cx, peer) else {
            continue;
        };
        let known: BTreeSet<&str> = cx
            .model
            .cluster
            .namespaces
            .iter()
            .flat_map(|n| n.labels.keys().map(String::as_str))
            .collect();
        out.push(finding(
            "unknown-namespace-label",
            Severity::Warning,
            Some(peer.span),
            format!(
                "namespaceSelector of `{}` requires label `{key}`, which no namespace has",
                policy_name(policy)
            ),
            format!(
                "label the namespaces, or use a key they have: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

/// The first label key the peer's namespaceSelector requires that no namespace has.
pub(super) fn missing_key<'p>(cx: &Cx, peer: &'p NetworkPolicyPeer) -> Option<&'p str> {
    let has_key = |key: &str| {
        cx.model
            .cluster
            .namespaces
            .iter()
            .any(|n| n.labels.contains_key(key))
    };
    peer.namespace_selector
        .iter()
        .flat_map(required_keys)
        .find(|k| !has_key(k))
}
