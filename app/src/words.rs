//! Words for the explanation panel: which flow to ask about for a clicked pair, and plain
//! sentences for the core's miss reasons. Pure, so the phrasing is unit-tested.

use netpol_core::{Endpoint, Flow, MissReason, PeerMiss, PolicyType, PortRef, PortSpec, Protocol};

use crate::analysis::Analysis;
use crate::probe::Probe;

/// The flow to evaluate for a clicked pair, or why there is none (a named port the
/// destination does not have). In "any port" mode the first allowed port is explained, or,
/// if nothing is allowed, the first port the policies mention (TCP 80 without any).
pub fn flow_for(
    analysis: &Analysis,
    probe: &Probe,
    src: Endpoint,
    dst: Endpoint,
) -> Result<Flow, String> {
    let (protocol, port) = match probe {
        Probe::Port(proto, PortRef::Number(n)) => (*proto, *n),
        Probe::Port(proto, port @ PortRef::Name(name)) => match dst {
            Endpoint::Pod(_) => match PortSpec::new(port.clone(), *proto).resolve(&analysis.model, dst) {
                Some(n) => (*proto, n),
                None => {
                    return Err(format!(
                        "the destination has no container port named \"{name}\" for {proto}, so no rule naming it can admit this connection"
                    ))
                }
            },
            Endpoint::Address(_) => {
                return Err(format!(
                    "\"{name}\" is a container port name: an address outside the cluster has no named ports"
                ))
            }
        },
        Probe::Any => {
            // Prefer a port a person recognises: one the policies mention, then 80/TCP,
            // then the lowest allowed port.
            let allowed = analysis.engine.allowed_ports(src, dst);
            let mentioned = mentioned_ports(analysis);
            let pick = mentioned
                .iter()
                .copied()
                .chain([(Protocol::TCP, 80)])
                .find(|(p, n)| allowed.get(*p).contains(*n))
                .or_else(|| Protocol::ALL.iter().find_map(|p| allowed.get(*p).ranges.first().map(|r| (*p, r.0))));
            match pick {
                Some(found) => found,
                None => mentioned.first().copied().unwrap_or((Protocol::TCP, 80)),
            }
        }
    };
    Ok(Flow {
        src,
        dst,
        protocol,
        port,
    })
}

/// Numeric ports the policies mention, in source order.
fn mentioned_ports(analysis: &Analysis) -> Vec<(Protocol, u16)> {
    analysis
        .model
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| r.ports.iter())
        .filter_map(|p| match p.port {
            Some(PortRef::Number(n)) => Some((p.protocol, n)),
            _ => None,
        })
        .collect()
}

/// `spec.ingress[0]` / `spec.egress[1]`: the path into the policy, exactly as the CLI and
/// `netpol_core::render` name a rule, so a reviewer can match the two outputs.
pub fn rule_name(direction: PolicyType, index: usize) -> String {
    let dir = match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    };
    format!("spec.{dir}[{index}]")
}

/// One sentence per peer miss.
pub fn peer_miss(miss: &PeerMiss) -> String {
    match miss {
        PeerMiss::SelectorVsAddress => "a pod/namespace selector never matches an address outside the cluster".into(),
        PeerMiss::NotInPolicyNamespace { policy_namespace, pod_namespace } => format!(
            "no namespaceSelector, so only pods in {policy_namespace} match, and the peer is in {pod_namespace}"
        ),
        PeerMiss::NamespaceSelector { namespace } => {
            format!("the namespaceSelector does not match namespace {namespace}")
        }
        PeerMiss::PodSelector => "the podSelector does not match the peer's labels".into(),
        PeerMiss::OutsideCidr { cidr } => format!("the address is outside {cidr}"),
        PeerMiss::Excepted { except } => format!("the address is inside the exception {except}"),
        PeerMiss::NoIp => "the pod has no known IP, so an ipBlock cannot match it".into(),
    }
}

/// A sentence for a rule's miss reason, plus one line per peer when there are several.
pub fn miss_reason(reason: &MissReason) -> (String, Vec<String>) {
    match reason {
        MissReason::Port { port, protocol } => (
            format!("the peer matched, but no port entry allows {port}/{protocol}"),
            vec![],
        ),
        MissReason::NamedPortNotOnPod { name } => (
            format!("the port named \"{name}\" does not exist on the destination pod"),
            vec![],
        ),
        MissReason::Peers(peers) => peers_sentence("the port matched, but no peer matched", peers),
        MissReason::PeersAndPort {
            peers,
            port,
            protocol,
        } => peers_sentence(
            &format!("no port entry allows {port}/{protocol}, and no peer matched"),
            peers,
        ),
    }
}

fn peers_sentence(head: &str, peers: &[PeerMiss]) -> (String, Vec<String>) {
    match peers {
        [one] => (format!("{head}: {}", peer_miss(one)), vec![]),
        many => (
            format!("{head}:"),
            many.iter()
                .enumerate()
                .map(|(i, p)| format!("peer {}: {}", i + 1, peer_miss(p)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        assert_eq!(rule_name(PolicyType::Egress, 0), "spec.egress[0]");
        let (head, lines) = miss_reason(&MissReason::Port {
            port: 8080,
            protocol: Protocol::TCP,
        });
        assert_eq!(head, "the peer matched, but no port entry allows 8080/TCP");
        assert!(lines.is_empty());
        let (head, lines) = miss_reason(&MissReason::Peers(vec![
            PeerMiss::PodSelector,
            PeerMiss::NoIp,
        ]));
        assert!(head.ends_with(':'));
        assert_eq!(lines.len(), 2);
        let (head, _) = miss_reason(&MissReason::Peers(vec![PeerMiss::NamespaceSelector {
            namespace: "dev".into(),
        }]));
        assert!(head.contains("namespace dev"));
    }

    #[test]
    fn named_port_missing_is_explained() {
        let a = Analysis::new("", "");
        let probe = Probe::Port(Protocol::TCP, PortRef::Name("http".into()));
        let err = flow_for(&a, &probe, Endpoint::Pod(0), Endpoint::Pod(1)).unwrap_err();
        assert!(err.contains("\"http\""));
        let f = flow_for(
            &a,
            &Probe::Port(Protocol::UDP, PortRef::Number(53)),
            Endpoint::Pod(0),
            Endpoint::Pod(1),
        )
        .unwrap();
        assert_eq!((f.protocol, f.port), (Protocol::UDP, 53));
    }
}
