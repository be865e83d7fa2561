//! `networks-contain-pods`: a `networks` peer whose CIDRs contain pod IPs. The API means
//! `networks` for entities outside the cluster, but it matches pod (and node) traffic too:
//! a Deny or Accept of `0.0.0.0/0` decides every IPv4 pod-to-pod connection it reaches.

use super::common::{finding, list};
use super::Cx;
use crate::cluster_policy::ClusterPeerKind;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::PolicyType;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let pods = &cx.model.cluster.pods;
    let with_ips = pods.iter().filter(|p| !p.ips.is_empty()).count();
    for policy in &cx.model.cluster_policies {
        for direction in [PolicyType::Ingress, PolicyType::Egress] {
            for rule in policy.rules(direction) {
                for peer in &rule.peers {
                    let ClusterPeerKind::Networks(cidrs) = &peer.kind else {
                        continue;
                    };
                    let inside: Vec<String> = pods
                        .iter()
                        .filter(|p| p.ips.iter().any(|ip| cidrs.iter().any(|c| c.contains(*ip))))
                        .map(|p| p.id.clone())
                        .collect();
                    if inside.is_empty() {
                        continue;
                    }
                    let what = if inside.len() == with_ips && with_ips > 1 {
                        format!("every pod IP of the cluster ({} endpoints)", inside.len())
                    } else {
                        format!("the IPs of {}", list(&inside))
                    };
                    let cidrs: Vec<String> = cidrs.iter().map(|c| c.to_string()).collect();
                    out.push(finding(
                        "networks-contain-pods",
                        Severity::Warning,
                        Some(peer.span),
                        format!(
                            "networks {} of {} `{}` contain {what}: the rule decides their traffic too, not only outside addresses",
                            cidrs.join(", "),
                            policy.kind.as_str(),
                            policy.name
                        ),
                        "if the rule is meant for outside addresses, pass or accept pod traffic in an earlier rule (`namespaces: {}`), or narrow the CIDRs",
                    ));
                }
            }
        }
    }
}
