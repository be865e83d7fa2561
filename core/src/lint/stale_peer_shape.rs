//! `stale-peer-shape`: a cluster policy peer written in the v0.1.x shape,
//! `namespaces: {namespaceSelector: ...}` or `pods: {namespaces: {namespaceSelector: ...},
//! podSelector: ...}`. Since v0.1.5 `namespaces` is the selector itself and `pods` has a
//! `namespaceSelector`: a current API server refuses the old field with strict field
//! validation, or prunes it without, which leaves `namespaces: {}` — every namespace. netpol
//! reads the peer the way v0.1.x meant it.

use super::common::finding;
use super::Cx;
use crate::cluster_policy::ClusterPeerKind;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.cluster_policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                for peer in rule.peers.iter().filter(|p| p.legacy_shape) {
                    let (now, fix) = match &peer.kind {
                        ClusterPeerKind::Pods { .. } => (
                            "`pods: {namespaces: ...}` is gone: a current API server refuses `pods.namespaces`, or prunes it so the peer selects its podSelector in every namespace",
                            "write `pods: {namespaceSelector: {...}, podSelector: {...}}`",
                        ),
                        _ => (
                            "`namespaces: {namespaceSelector: ...}` is gone: a current API server refuses `namespaceSelector` here, or prunes it, leaving `namespaces: {}`, which selects every namespace",
                            "write the selector directly: `namespaces: {matchLabels: {...}}`",
                        ),
                    };
                    out.push(finding(
                        "stale-peer-shape",
                        Severity::Warning,
                        Some(peer.span),
                        format!(
                            "this peer of {} `{}` is in the v0.1.x shape; {now} (netpol reads it as v0.1.x meant)",
                            policy.kind.as_str(),
                            policy.name
                        ),
                        fix,
                    ));
                }
            }
        }
    }
}
