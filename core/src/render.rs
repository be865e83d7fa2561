//! Plain-text rendering of verdicts, shared by the CLI and the playground so both say exactly
//! the same thing. Verdict words are fixed: "allowed", "denied", "not isolated".
//!
//! The text is a function of the model, the flow and the verdict only (no colours, no widths),
//! so snapshots agree natively and in wasm. Front-ends add styling around it.

use std::fmt::Write as _;

use crate::model::{Endpoint, Flow, Model, PolicyType};
use crate::verdict::{DirectionVerdict, MissReason, PeerMiss, PolicyRef, RuleRef, Verdict};

/// Multi-line explanation of `verdict` for `flow`, in the fixed verdict words.
///
/// ```text
/// dev/tool -> prod/web on 8080/TCP: denied
/// egress from dev/tool: not isolated
/// ingress to prod/web: denied
///   isolated by prod/api-only
///   no rule admits the flow; closest misses first:
///   - prod/api-only spec.ingress[0] (line 12): namespace dev is not selected by namespaceSelector
/// ```
pub fn explain(model: &Model, flow: &Flow, verdict: &Verdict) -> String {
    let src = endpoint_name(model, &flow.src);
    let dst = endpoint_name(model, &flow.dst);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{src} -> {dst} on {}/{}: {}",
        flow.port,
        flow.protocol,
        if verdict.is_allowed() {
            "allowed"
        } else {
            "denied"
        }
    );
    let ctx = Context { model, flow };
    ctx.direction(
        &mut out,
        PolicyType::Egress,
        &format!("egress from {src}"),
        &flow.src,
        &verdict.egress,
    );
    ctx.direction(
        &mut out,
        PolicyType::Ingress,
        &format!("ingress to {dst}"),
        &flow.dst,
        &verdict.ingress,
    );
    out
}

/// How an endpoint is named in text: the pod id, the address, or a marker for an index
/// that is not in the cluster.
pub fn endpoint_name(model: &Model, endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Pod(i) => match model.cluster.pods.get(*i) {
            Some(pod) => pod.id.clone(),
            None => format!("unknown endpoint #{i}"),
        },
        Endpoint::Address(ip) => ip.to_string(),
    }
}

/// `namespace/name`.
pub fn policy_name(policy: &PolicyRef) -> String {
    format!("{}/{}", policy.namespace, policy.name)
}

/// `namespace/name spec.ingress[1] (line 14)`; the line is left out when unknown.
pub fn rule_name(rule: &RuleRef) -> String {
    let list = match rule.direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    };
    let mut s = format!("{} spec.{list}[{}]", policy_name(&rule.policy), rule.index);
    if rule.span.line > 0 {
        let _ = write!(s, " (line {})", rule.span.line);
    }
    s
}

struct Context<'a> {
    model: &'a Model,
    flow: &'a Flow,
}

impl Context<'_> {
    fn direction(
        &self,
        out: &mut String,
        direction: PolicyType,
        title: &str,
        subject: &Endpoint,
        verdict: &DirectionVerdict,
    ) {
        // The far end of the flow, as seen from the subject's rules.
        let peer = match direction {
            PolicyType::Egress => &self.flow.dst,
            PolicyType::Ingress => &self.flow.src,
        };
        match verdict {
            DirectionVerdict::NotIsolated => {
                let host_network = |i: &usize| {
                    self.model
                        .cluster
                        .pods
                        .get(*i)
                        .is_some_and(|p| p.host_network)
                };
                let why = match subject {
                    Endpoint::Address(_) => " (outside the cluster)",
                    Endpoint::Pod(i) if host_network(i) => {
                        " (a host-network pod: policies never select it)"
                    }
                    Endpoint::Pod(_) => " (no policy selects it for this direction)",
                };
                let _ = writeln!(out, "{title}: not isolated{why}");
            }
            DirectionVerdict::Allowed { isolated_by, by } => {
                let _ = writeln!(out, "{title}: allowed");
                let _ = writeln!(out, "  isolated by {}", policy_list(isolated_by));
                for rule in by {
                    let _ = writeln!(out, "  allowed by {}", rule_name(rule));
                }
            }
            DirectionVerdict::Denied {
                isolated_by,
                misses,
            } => {
                let _ = writeln!(out, "{title}: denied");
                if isolated_by.is_empty() {
                    let _ = writeln!(
                        out,
                        "  {} is not in the cluster",
                        endpoint_name(self.model, subject)
                    );
                    return;
                }
                let _ = writeln!(out, "  isolated by {}", policy_list(isolated_by));
                if misses.is_empty() {
                    let list = match direction {
                        PolicyType::Ingress => "ingress",
                        PolicyType::Egress => "egress",
                    };
                    let _ = writeln!(out, "  no {list} rules: default deny");
                    return;
                }
                let _ = writeln!(out, "  no rule admits the flow; closest misses first:");
                for miss in misses {
                    let _ = writeln!(
                        out,
                        "  - {}: {}",
                        rule_name(&miss.rule),
                        self.reason(direction, peer, &miss.reason)
                    );
                }
            }
        }
    }

    fn reason(&self, direction: PolicyType, peer: &Endpoint, reason: &MissReason) -> String {
        let port = format!("{}/{}", self.flow.port, self.flow.protocol);
        match reason {
            MissReason::Port { .. } => format!("peer matched but port {port} is not in ports"),
            MissReason::NamedPortNotOnPod { name } => format!(
                "peer matched but {} has no {} container port named {name}",
                endpoint_name(self.model, &self.flow.dst),
                self.flow.protocol
            ),
            MissReason::Peers(peers) => self.peers(direction, peer, peers),
            MissReason::PeersAndPort { peers, .. } => format!(
                "port {port} is not in ports, and {}",
                self.peers(direction, peer, peers)
            ),
        }
    }

    fn peers(&self, direction: PolicyType, peer: &Endpoint, peers: &[PeerMiss]) -> String {
        let list = match direction {
            PolicyType::Ingress => "from",
            PolicyType::Egress => "to",
        };
        match peers {
            [one] => self.peer(peer, one),
            _ => {
                let parts: Vec<String> = peers
                    .iter()
                    .enumerate()
                    .map(|(i, miss)| format!("{list}[{i}]: {}", self.peer(peer, miss)))
                    .collect();
                format!("no peer matched ({})", parts.join("; "))
            }
        }
    }

    fn peer(&self, peer: &Endpoint, miss: &PeerMiss) -> String {
        let name = endpoint_name(self.model, peer);
        let pod = match peer {
            Endpoint::Pod(i) => self.model.cluster.pods.get(*i),
            Endpoint::Address(_) => None,
        };
        let ips = || {
            let ips: Vec<String> = pod.map_or_else(Vec::new, |p| {
                p.ips.iter().map(|ip| ip.to_string()).collect()
            });
            ips.join(", ")
        };
        match miss {
            PeerMiss::SelectorVsAddress => {
                format!("{name} is outside the cluster, and pod or namespace selectors only match pods")
            }
            PeerMiss::NotInPolicyNamespace {
                policy_namespace,
                pod_namespace,
            } => format!(
                "{name} is in namespace {pod_namespace}, but a peer without namespaceSelector only matches namespace {policy_namespace}"
            ),
            PeerMiss::NamespaceSelector { namespace } => {
                format!("namespace {namespace} is not selected by namespaceSelector")
            }
            PeerMiss::PodSelector => {
                let labels = pod.map_or_else(String::new, |p| {
                    p.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                });
                if labels.is_empty() {
                    format!("podSelector does not match {name}, which has no labels")
                } else {
                    format!("podSelector does not match labels {labels}")
                }
            }
            PeerMiss::OutsideCidr { cidr } => match peer {
                Endpoint::Address(ip) => format!("{ip} is outside {cidr}"),
                Endpoint::Pod(_) => format!("{name} ({}) is outside {cidr}", ips()),
            },
            PeerMiss::Excepted { except } => match peer {
                Endpoint::Address(ip) => format!("{ip} is inside except {except}"),
                Endpoint::Pod(_) => {
                    let inside = pod
                        .and_then(|p| p.ips.iter().find(|ip| except.contains(**ip)))
                        .map_or_else(ips, |ip| ip.to_string());
                    format!("{name} ({inside}) is inside except {except}")
                }
            },
            PeerMiss::NoIp => format!("{name} has no known IP, so an ipBlock cannot match it"),
            PeerMiss::HostNetwork => format!(
                "{name} is on the host network, so a pod or namespace selector cannot match it (only an ipBlock with its node's address can)"
            ),
        }
    }
}

fn policy_list(policies: &[PolicyRef]) -> String {
    policies
        .iter()
        .map(policy_name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{cluster, peer_block, peer_sel, policy, port, rule};
    use crate::model::{PortRef, Protocol};

    fn render(policies: Vec<crate::model::NetworkPolicy>, flow: Flow) -> String {
        let mut model = Model {
            cluster: cluster(),
            policies,
            diagnostics: Vec::new(),
        };
        // Give rules a line so the rendering shows it.
        for (i, p) in model.policies.iter_mut().enumerate() {
            p.name = format!("np{i}");
            for (j, r) in p.ingress.iter_mut().chain(p.egress.iter_mut()).enumerate() {
                r.span.line = 10 * (i as u32 + 1) + j as u32;
            }
        }
        let verdict = crate::eval::evaluate(&model, &flow);
        explain(&model, &flow, &verdict)
    }

    const TOOL: Endpoint = Endpoint::Pod(0);
    const WEB: Endpoint = Endpoint::Pod(2);

    #[test]
    fn denied_with_near_misses() {
        let text = render(
            vec![policy(
                "prod",
                "x",
                "app=web",
                &[PolicyType::Ingress],
                vec![
                    rule(vec![peer_sel(None, Some("team=a"))], vec![]),
                    rule(
                        vec![],
                        vec![port(Protocol::TCP, Some(PortRef::Number(80)), None)],
                    ),
                    rule(vec![peer_sel(Some("app=db"), Some(""))], vec![]),
                ],
                vec![],
            )],
            Flow {
                src: TOOL,
                dst: WEB,
                protocol: Protocol::TCP,
                port: 8080,
            },
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on 8080/TCP: denied\n\
             egress from dev/tool: not isolated (no policy selects it for this direction)\n\
             ingress to prod/web: denied\n  \
             isolated by prod/np0\n  \
             no rule admits the flow; closest misses first:\n  \
             - prod/np0 spec.ingress[0] (line 10): namespace dev is not selected by namespaceSelector\n  \
             - prod/np0 spec.ingress[1] (line 11): peer matched but port 8080/TCP is not in ports\n  \
             - prod/np0 spec.ingress[2] (line 12): podSelector does not match labels app=tool\n"
        );
    }

    #[test]
    fn allowed_and_address_misses() {
        let text = render(
            vec![policy(
                "prod",
                "x",
                "",
                &[PolicyType::Egress],
                vec![],
                vec![
                    rule(vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])], vec![]),
                    rule(vec![peer_sel(Some(""), None)], vec![]),
                ],
            )],
            Flow {
                src: WEB,
                dst: Endpoint::Address("10.1.2.3".parse().unwrap()),
                protocol: Protocol::UDP,
                port: 53,
            },
        );
        assert_eq!(
            text,
            "prod/web -> 10.1.2.3 on 53/UDP: denied\n\
             egress from prod/web: denied\n  \
             isolated by prod/np0\n  \
             no rule admits the flow; closest misses first:\n  \
             - prod/np0 spec.egress[0] (line 10): 10.1.2.3 is inside except 10.1.0.0/16\n  \
             - prod/np0 spec.egress[1] (line 11): 10.1.2.3 is outside the cluster, and pod or namespace selectors only match pods\n\
             ingress to 10.1.2.3: not isolated (outside the cluster)\n"
        );
        let text = render(
            vec![
                policy(
                    "prod",
                    "x",
                    "",
                    &[PolicyType::Ingress],
                    vec![rule(vec![], vec![])],
                    vec![],
                ),
                policy("dev", "y", "", &[PolicyType::Egress], vec![], vec![]),
            ],
            Flow {
                src: TOOL,
                dst: WEB,
                protocol: Protocol::TCP,
                port: 80,
            },
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on 80/TCP: denied\n\
             egress from dev/tool: denied\n  \
             isolated by dev/np1\n  \
             no egress rules: default deny\n\
             ingress to prod/web: allowed\n  \
             isolated by prod/np0\n  \
             allowed by prod/np0 spec.ingress[0] (line 10)\n"
        );
    }
}
