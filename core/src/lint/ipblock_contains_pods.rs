//! `ipblock-contains-pods`: an ipBlock that contains pod IPs, where network plugins disagree.

use super::common::{finding, list, policy_name};
use super::Cx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    // Host-network pods carry their node's address: matching node traffic is what ipBlocks
    // are for, and every plugin agrees on it, so only pod-network IPs are worth a warning.
    let pods: Vec<_> = cx
        .model
        .cluster
        .pods
        .iter()
        .filter(|p| !p.host_network)
        .collect();
    let with_ips = pods.iter().filter(|p| !p.ips.is_empty()).count();
    for policy in &cx.model.policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                for peer in &rule.peers {
                    let Some(block) = &peer.ip_block else {
                        continue;
                    };
                    let inside: Vec<String> = pods
                        .iter()
                        .filter(|p| p.ips.iter().any(|ip| block.contains(*ip)))
                        .map(|p| p.id.clone())
                        .collect();
                    if inside.is_empty() {
                        continue;
                    }
                    let what = if inside.len() == with_ips && with_ips > 1 {
                        format!(
                            "every pod IP of the cluster (the whole pod range, {} endpoints)",
                            inside.len()
                        )
                    } else {
                        format!("the IPs of {}", list(&inside))
                    };
                    out.push(finding(
                        "ipblock-contains-pods",
                        Severity::Warning,
                        Some(peer.span),
                        format!(
                            "ipBlock {} in `{}` contains {what}; whether ipBlock matches pod traffic differs between network plugins",
                            block.cidr,
                            policy_name(policy)
                        ),
                        "select pods with podSelector/namespaceSelector, and exclude the pod range from the block with `except`",
                    ));
                }
            }
        }
    }
}
