//! Words for the explanation panel: which flow to ask about for a clicked pair on one port,
//! and plain sentences for the core's miss reasons. Pure, so the phrasing is unit-tested.

use netpol_core::named_ports;
use netpol_core::{
    Endpoint, Flow, MissReason, NamedPort, PairMissReason, PeerMiss, PolicyType, PortRef, Protocol,
};

use crate::analysis::Analysis;

/// The flow to evaluate for a clicked pair on one port, or why there is none (a named port
/// the destination does not have). A named port resolves on the destination pod; if it has
/// several numbers with that name, the first one the pair may use is explained (else the
/// first), so the explanation agrees with the cell.
pub fn flow_for(
    analysis: &Analysis,
    protocol: Protocol,
    port: &PortRef,
    src: Endpoint,
    dst: Endpoint,
) -> Result<Flow, String> {
    let port = match (port, dst) {
        (PortRef::Number(n), _) => *n,
        (PortRef::Name(name), Endpoint::Pod(i)) => {
            let numbers = analysis
                .model
                .cluster
                .pods
                .get(i)
                .map_or_else(Vec::new, |pod| named_ports(pod, name, protocol));
            // The pair verdict's ports are exactly the engine's (a core property test), and
            // cost one pair instead of an engine on the page.
            let allowed = || netpol_core::evaluate_pair(&analysis.model, src, dst).ports();
            let pick = match numbers.as_slice() {
                [] => None,
                [one] => Some(*one),
                many => {
                    let allowed = allowed();
                    many.iter()
                        .copied()
                        .find(|n| allowed.get(protocol).contains(*n))
                        .or(many.first().copied())
                }
            };
            pick.ok_or_else(|| format!(
                "the destination has no container port named \"{name}\" for {protocol}, so no rule naming it can admit this connection"
            ))?
        }
        (PortRef::Name(name), Endpoint::Address(_)) => {
            return Err(format!(
                "\"{name}\" is a container port name: an address outside the cluster has no named ports"
            ))
        }
    };
    Ok(Flow {
        src,
        dst,
        protocol,
        port,
    })
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
        PeerMiss::HostNetwork => "the pod is on the host network, so selectors never match it (only an ipBlock with its node's address can)".into(),
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

/// A sentence for why a rule admits no port at all for a pair ("any port" mode), plus one
/// line per peer when there are several. `to_address`: the destination is outside the
/// cluster.
pub fn pair_miss_reason(reason: &PairMissReason, to_address: bool) -> (String, Vec<String>) {
    match reason {
        PairMissReason::Peers(peers) => peers_sentence("no peer matched", peers),
        PairMissReason::NoPorts(names) => (
            format!("the peer matched, but {}", no_ports(names, to_address)),
            vec![],
        ),
        PairMissReason::PeersAndNoPorts { peers, names } => peers_sentence(
            &format!("{}, and no peer matched", no_ports(names, to_address)),
            peers,
        ),
    }
}

fn no_ports(names: &[NamedPort], to_address: bool) -> String {
    let list: Vec<String> = names
        .iter()
        .map(|n| format!("\"{}\" ({})", n.name, n.protocol))
        .collect();
    if to_address {
        format!(
            "its ports are all named ({}), and an address outside the cluster has no named ports",
            list.join(", ")
        )
    } else {
        format!(
            "the destination pod has no container port named {}",
            list.join(" or ")
        )
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
        let a = Analysis::new("", "pod x/a\npod x/b ports=http:8080\n");
        let http = PortRef::Name("http".into());
        let (pa, pb) = (Endpoint::Pod(0), Endpoint::Pod(1));
        let err = flow_for(&a, Protocol::TCP, &http, pb, pa).unwrap_err();
        assert!(err.contains("\"http\""));
        let f = flow_for(&a, Protocol::TCP, &http, pa, pb).unwrap();
        assert_eq!((f.protocol, f.port), (Protocol::TCP, 8080));
        let outside = Endpoint::Address("8.8.8.8".parse().unwrap());
        assert!(flow_for(&a, Protocol::TCP, &http, pa, outside).is_err());
        let f = flow_for(&a, Protocol::UDP, &PortRef::Number(53), pa, pb).unwrap();
        assert_eq!((f.protocol, f.port), (Protocol::UDP, 53));
    }

    #[test]
    fn pair_sentences() {
        let pg = NamedPort {
            name: "pg".into(),
            protocol: Protocol::TCP,
        };
        let (head, _) = pair_miss_reason(&PairMissReason::NoPorts(vec![pg.clone()]), false);
        assert_eq!(
            head,
            "the peer matched, but the destination pod has no container port named \"pg\" (TCP)"
        );
        let (head, lines) = pair_miss_reason(
            &PairMissReason::PeersAndNoPorts {
                peers: vec![PeerMiss::SelectorVsAddress, PeerMiss::PodSelector],
                names: vec![pg],
            },
            true,
        );
        assert!(
            head.contains("no named ports, and no peer matched:"),
            "{head}"
        );
        assert_eq!(lines.len(), 2);
        let (head, _) =
            pair_miss_reason(&PairMissReason::Peers(vec![PeerMiss::PodSelector]), false);
        assert_eq!(
            head,
            "no peer matched: the podSelector does not match the peer's labels"
        );
    }
}
