//! A pair on every port: the "any port" question. For `(src, dst)` — pods or addresses —
//! which rules admit which ports in each direction, or why nothing gets through.
//!
//! [`crate::evaluate`] answers one port; a front-end that shows "any port" needs the answer
//! for every port at once, without picking a port to explain (an unrelated one misleads).
//! This walks the same rules as [`crate::eval`] with the same matching functions
//! (`selects`, `peer_matches`), but turns each rule's `ports` into the exact set it admits
//! towards this destination (named ports resolved on the destination pod by
//! [`named_ports`]), so the pair's allowed ports are
//! `egress ∩ ingress` and equal [`crate::Engine::allowed_ports`] (a property test keeps
//! the three in agreement).

use serde::Serialize;

use crate::chain::{PairChain, PairStep};
use crate::eval;
use crate::model::{Endpoint, Model, NetworkPolicyPort, NetworkPolicyRule, Pod, PolicyType};
use crate::model::{PortRef, Protocol};
use crate::ports::{AllowedPorts, PortSet};
use crate::tiers::{pair_chain, PairSide};
use crate::verdict::{PeerMiss, PolicyRef, RuleRef};

/// The decision for a pair on every port. The pair is allowed on
/// [`PairVerdict::ports`], the intersection of what each direction allows; every field is
/// the reason, nothing is stored twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairVerdict {
    /// Egress of the source: the NetworkPolicy tier.
    pub egress: PairDirection,
    /// Ingress of the destination: the NetworkPolicy tier.
    pub ingress: PairDirection,
    /// Egress of the source through every tier, with the ports each step decides.
    pub egress_chain: PairChain,
    /// Ingress of the destination through every tier.
    pub ingress_chain: PairChain,
}

/// One direction of a pair on every port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PairDirection {
    /// No policy selects this endpoint for this direction, or the endpoint is outside the
    /// cluster: every port passes this side.
    NotIsolated,
    /// Rules of the selecting policies admit some ports.
    Allowed {
        /// Policies isolating the endpoint in this direction.
        isolated_by: Vec<PolicyRef>,
        /// Every rule admitting something, with what it admits, in policy then rule order.
        by: Vec<RulePorts>,
    },
    /// Policies select the endpoint, and no rule of theirs admits any port.
    Denied {
        /// Policies isolating the endpoint in this direction (empty for an unknown pod).
        isolated_by: Vec<PolicyRef>,
        /// Every rule of those policies with why it admits nothing, closest first. Empty
        /// when the policies have no rules in this direction (default deny).
        misses: Vec<PairMiss>,
    },
}

/// A rule that admits something for the pair, and exactly what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RulePorts {
    /// The rule.
    pub rule: RuleRef,
    /// The ports it admits towards this destination (named ports resolved on it).
    pub ports: AllowedPorts,
}

/// A rule that admits nothing for the pair, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PairMiss {
    /// The rule.
    pub rule: RuleRef,
    /// Why.
    pub reason: PairMissReason,
}

/// Why a rule admits no port at all for a pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PairMissReason {
    /// No peer matched the other end; one reason per peer, in source order (the reasons
    /// [`crate::evaluate`] gives).
    Peers(Vec<PeerMiss>),
    /// A peer matched, but every `ports` entry names a port the destination does not have
    /// (an address outside the cluster has no named ports).
    NoPorts(Vec<NamedPort>),
    /// Neither: no peer matched, and the ports resolve to nothing on the destination.
    PeersAndNoPorts {
        /// Per-peer reasons, in source order.
        peers: Vec<PeerMiss>,
        /// The names the destination lacks.
        names: Vec<NamedPort>,
    },
}

impl PairMissReason {
    /// Closeness for sorting: 1 = one part missed, 2 = both missed.
    pub fn distance(&self) -> u8 {
        match self {
            PairMissReason::PeersAndNoPorts { .. } => 2,
            _ => 1,
        }
    }
}

/// A port name with its protocol, as a `ports` entry gives it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NamedPort {
    /// The container port name.
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
}

impl PairDirection {
    /// Whether some port passes this side.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, PairDirection::Denied { .. })
    }

    /// The ports this side lets through: every port when not isolated, the union of the
    /// admitting rules' ports when allowed, nothing when denied.
    pub fn ports(&self) -> AllowedPorts {
        match self {
            PairDirection::NotIsolated => AllowedPorts::all(),
            PairDirection::Allowed { by, .. } => by
                .iter()
                .fold(AllowedPorts::default(), |all, rule| all.union(&rule.ports)),
            PairDirection::Denied { .. } => AllowedPorts::default(),
        }
    }
}

impl PairVerdict {
    /// The ports the pair may use: what egress allows and ingress allows, all tiers
    /// considered (without cluster policies, exactly what the NetworkPolicies allow).
    pub fn ports(&self) -> AllowedPorts {
        self.egress_ports().intersection(&self.ingress_ports())
    }

    /// The ports the source's egress lets out, all tiers considered.
    pub fn egress_ports(&self) -> AllowedPorts {
        self.egress_chain.ports()
    }

    /// The ports the destination's ingress lets in, all tiers considered.
    pub fn ingress_ports(&self) -> AllowedPorts {
        self.ingress_chain.ports()
    }

    /// Whether the pair may connect on some port.
    pub fn is_allowed(&self) -> bool {
        !self.ports().is_empty()
    }

    /// The tier the pair is attributed to ([`crate::chain::pair_connection_tier`]); `None`
    /// for Kubernetes' default.
    pub fn deciding_tier(&self) -> Option<crate::chain::DecidingTier> {
        crate::chain::pair_connection_tier(&self.egress_chain, &self.ingress_chain)
    }

    /// Both sides allow something, but nothing in common: the case where each side's
    /// explanation alone reads "allowed" and the pair is still denied on every port.
    pub fn is_disjoint(&self) -> bool {
        !self.egress_ports().is_empty() && !self.ingress_ports().is_empty() && !self.is_allowed()
    }
}

/// Every container port number of `pod` with this name and protocol, in container order
/// without repeats: [`Pod::named_ports`], the one named-port rule (none on a host-network
/// pod), as a vector for the CLI, the playground and the pair verdict. `evaluate` admits a
/// named-port flow when any of these numbers is the flow's port.
pub fn named_ports(pod: &Pod, name: &str, protocol: Protocol) -> Vec<u16> {
    pod.named_ports(name, protocol).collect()
}

/// See [`crate::evaluate_pair`].
pub fn evaluate_pair(model: &Model, src: Endpoint, dst: Endpoint) -> PairVerdict {
    let pods = &model.cluster.pods;
    let unknown = |e: &Endpoint| matches!(e, Endpoint::Pod(i) if *i >= pods.len());
    if unknown(&src) || unknown(&dst) {
        // As `evaluate`: an unknown endpoint is denied with nothing to explain.
        let denied = || PairDirection::Denied {
            isolated_by: Vec::new(),
            misses: Vec::new(),
        };
        let chain = || PairChain {
            steps: vec![PairStep::NetworkPolicy {
                isolated: true,
                reaching: AllowedPorts::all(),
                allowed: AllowedPorts::default(),
            }],
            unknown: Vec::new(),
        };
        return PairVerdict {
            egress: denied(),
            ingress: denied(),
            egress_chain: chain(),
            ingress_chain: chain(),
        };
    }
    let dst_pod = match dst {
        Endpoint::Pod(i) => pods.get(i),
        Endpoint::Address(_) => None,
    };
    let egress = direction(model, PolicyType::Egress, src, dst, dst_pod);
    let ingress = direction(model, PolicyType::Ingress, dst, src, dst_pod);
    let side = |direction, subject, peer| PairSide {
        direction,
        subject,
        peer,
        dst_pod,
    };
    let egress_chain = pair_chain(model, &side(PolicyType::Egress, src, dst), &egress);
    let ingress_chain = pair_chain(model, &side(PolicyType::Ingress, dst, src), &ingress);
    PairVerdict {
        egress,
        ingress,
        egress_chain,
        ingress_chain,
    }
}

/// One direction: `subject` is the endpoint the policies must select, `peer` the other
/// end, `dst_pod` the pod whose named ports count (the destination, in both directions).
fn direction(
    model: &Model,
    direction: PolicyType,
    subject: Endpoint,
    peer: Endpoint,
    dst_pod: Option<&Pod>,
) -> PairDirection {
    // Outside addresses are never selected by a policy: that side is not isolated.
    let Some(pod) = (match subject {
        Endpoint::Pod(i) => model.cluster.pods.get(i),
        Endpoint::Address(_) => None,
    }) else {
        return PairDirection::NotIsolated;
    };
    let mut isolated_by = Vec::new();
    let mut by = Vec::new();
    let mut misses = Vec::new();
    for policy in eval::isolating(model, direction, pod) {
        for (rule_ref, rule) in policy.rules() {
            match rule_admits(model, policy.policy, rule, peer, dst_pod) {
                Ok(ports) => by.push(RulePorts {
                    rule: rule_ref,
                    ports,
                }),
                Err(reason) => misses.push(PairMiss {
                    rule: rule_ref,
                    reason,
                }),
            }
        }
        isolated_by.push(policy.reference);
    }
    if isolated_by.is_empty() {
        PairDirection::NotIsolated
    } else if by.is_empty() {
        // Stable sort: equal distances stay in policy order, then rule order.
        misses.sort_by_key(|miss| miss.reason.distance());
        PairDirection::Denied {
            isolated_by,
            misses,
        }
    } else {
        PairDirection::Allowed { isolated_by, by }
    }
}

/// What one rule admits for the pair: its ports on this destination when a peer matches.
fn rule_admits(
    model: &Model,
    policy: &crate::model::NetworkPolicy,
    rule: &NetworkPolicyRule,
    peer: Endpoint,
    dst_pod: Option<&Pod>,
) -> Result<AllowedPorts, PairMissReason> {
    // Spec: an empty `from`/`to` matches every peer.
    let peers: Result<(), Vec<PeerMiss>> = if rule.peers.is_empty() {
        Ok(())
    } else {
        let mut reasons = Vec::with_capacity(rule.peers.len());
        let matched =
            rule.peers.iter().any(
                |entry| match eval::peer_matches(model, policy, entry, &peer) {
                    Ok(()) => true,
                    Err(reason) => {
                        reasons.push(reason);
                        false
                    }
                },
            );
        if matched {
            Ok(())
        } else {
            Err(reasons)
        }
    };
    let (ports, missing) = rule_ports(&rule.ports, dst_pod);
    match (peers, ports.is_empty()) {
        (Ok(()), false) => Ok(ports),
        (Ok(()), true) => Err(PairMissReason::NoPorts(missing)),
        (Err(peers), false) => Err(PairMissReason::Peers(peers)),
        (Err(peers), true) => Err(PairMissReason::PeersAndNoPorts {
            peers,
            names: missing,
        }),
    }
}

/// The ports a rule's `ports` list admits towards `dst_pod` (`None`: an address), and the
/// named entries that resolved to nothing there.
///
/// Spec: an empty `ports` matches every port and protocol; an entry without `port`
/// matches every port of its protocol; `endPort` makes an inclusive range.
pub(crate) fn rule_ports(
    entries: &[NetworkPolicyPort],
    dst_pod: Option<&Pod>,
) -> (AllowedPorts, Vec<NamedPort>) {
    if entries.is_empty() {
        return (AllowedPorts::all(), Vec::new());
    }
    let mut ranges: [Vec<(u16, u16)>; 3] = Default::default();
    let mut missing = Vec::new();
    for entry in entries {
        let slot = &mut ranges[protocol_slot(entry.protocol)];
        match &entry.port {
            None => slot.push((1, 65535)),
            Some(PortRef::Number(first)) => {
                // Port 0 is not a port a connection can target (as `PortSet::all`).
                slot.push(((*first).max(1), entry.end_port.unwrap_or(*first)))
            }
            Some(PortRef::Name(name)) => {
                let numbers =
                    dst_pod.map_or_else(Vec::new, |pod| named_ports(pod, name, entry.protocol));
                if numbers.is_empty() {
                    let named = NamedPort {
                        name: name.clone(),
                        protocol: entry.protocol,
                    };
                    if !missing.contains(&named) {
                        missing.push(named);
                    }
                }
                slot.extend(numbers.into_iter().filter(|n| *n > 0).map(|n| (n, n)));
            }
        }
    }
    let [tcp, udp, sctp] = ranges.map(PortSet::from_ranges);
    (AllowedPorts { tcp, udp, sctp }, missing)
}

fn protocol_slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::TCP => 0,
        Protocol::UDP => 1,
        Protocol::SCTP => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{cluster, peer_block, peer_sel, policy, port, rule};
    use crate::model::PolicyType::{Egress as E, Ingress as I};
    use crate::model::{NetworkPolicy, PortRef};

    const TOOL: Endpoint = Endpoint::Pod(0);
    const DB: Endpoint = Endpoint::Pod(1);
    const WEB: Endpoint = Endpoint::Pod(2);

    fn model(policies: Vec<NetworkPolicy>) -> Model {
        Model {
            cluster: cluster(),
            policies,
            ..Model::default()
        }
    }

    fn tcp(n: u16) -> NetworkPolicyPort {
        port(Protocol::TCP, Some(PortRef::Number(n)), None)
    }

    fn named(n: &str) -> NetworkPolicyPort {
        port(Protocol::TCP, Some(PortRef::Name(n.into())), None)
    }

    #[test]
    fn allowed_rules_carry_their_ports_and_the_pair_intersects() {
        let m = model(vec![
            policy(
                "dev",
                "out",
                "",
                &[E],
                vec![],
                vec![
                    rule(vec![], vec![tcp(53), port(Protocol::UDP, None, None)]),
                    rule(vec![peer_sel(None, Some("team=a"))], vec![named("http")]),
                ],
            ),
            policy(
                "prod",
                "in",
                "app=web",
                &[I],
                vec![rule(vec![], vec![tcp(8080), tcp(53)])],
                vec![],
            ),
        ]);
        let v = evaluate_pair(&m, TOOL, WEB);
        let PairDirection::Allowed { by, .. } = &v.egress else {
            panic!("egress allowed: {v:?}");
        };
        let got: Vec<(usize, String)> = by
            .iter()
            .map(|r| (r.rule.index, format!("{}|{}", r.ports.tcp, r.ports.udp)))
            .collect();
        // spec.egress[1] names "http", which is 8080 on prod/web.
        assert_eq!(
            got,
            [(0, "53|1-65535".to_string()), (1, "8080|-".to_string())]
        );
        assert_eq!(v.ports().tcp.to_string(), "53,8080");
        assert!(v.ports().udp.is_empty());
        assert!(v.is_allowed() && !v.is_disjoint());
    }

    #[test]
    fn denied_on_every_port_says_why_per_rule() {
        let m = model(vec![policy(
            "prod",
            "in",
            "app=db",
            &[I],
            vec![
                rule(vec![peer_sel(Some("app=web"), None)], vec![tcp(5432)]),
                rule(vec![], vec![named("http")]),
                rule(vec![peer_block("10.9.0.0/16", &[])], vec![named("metrics")]),
            ],
            vec![],
        )]);
        let v = evaluate_pair(&m, TOOL, DB);
        assert_eq!(v.egress, PairDirection::NotIsolated);
        let PairDirection::Denied {
            isolated_by,
            misses,
        } = &v.ingress
        else {
            panic!("ingress denied: {v:?}");
        };
        assert_eq!(isolated_by.len(), 1);
        let http = NamedPort {
            name: "http".into(),
            protocol: Protocol::TCP,
        };
        let metrics = NamedPort {
            name: "metrics".into(),
            protocol: Protocol::TCP,
        };
        let got: Vec<(usize, &PairMissReason)> =
            misses.iter().map(|m| (m.rule.index, &m.reason)).collect();
        assert_eq!(
            got,
            [
                (
                    0,
                    &PairMissReason::Peers(vec![PeerMiss::NotInPolicyNamespace {
                        policy_namespace: "prod".into(),
                        pod_namespace: "dev".into()
                    }])
                ),
                (1, &PairMissReason::NoPorts(vec![http])),
                (
                    2,
                    &PairMissReason::PeersAndNoPorts {
                        peers: vec![PeerMiss::OutsideCidr {
                            cidr: "10.9.0.0/16".parse().unwrap()
                        }],
                        names: vec![metrics]
                    }
                ),
            ]
        );
        assert!(v.ports().is_empty() && !v.is_disjoint());
    }

    #[test]
    fn both_sides_allowed_on_disjoint_ports() {
        let m = model(vec![
            policy(
                "dev",
                "out",
                "",
                &[E],
                vec![],
                vec![rule(vec![], vec![tcp(53)])],
            ),
            policy(
                "prod",
                "in",
                "",
                &[I],
                vec![rule(vec![], vec![tcp(8080)])],
                vec![],
            ),
        ]);
        let v = evaluate_pair(&m, TOOL, WEB);
        assert!(v.egress.is_allowed() && v.ingress.is_allowed());
        assert!(v.is_disjoint() && !v.is_allowed());
        assert_eq!(v.egress.ports().tcp.to_string(), "53");
        assert_eq!(v.ingress.ports().tcp.to_string(), "8080");
    }

    #[test]
    fn addresses_have_no_named_ports_and_unknown_pods_get_nothing() {
        let m = model(vec![policy(
            "prod",
            "out",
            "app=web",
            &[E],
            vec![],
            vec![rule(
                vec![peer_block("0.0.0.0/0", &[])],
                vec![named("http")],
            )],
        )]);
        let outside = Endpoint::Address("8.8.8.8".parse().unwrap());
        let v = evaluate_pair(&m, WEB, outside);
        assert_eq!(v.ingress, PairDirection::NotIsolated);
        assert!(
            matches!(&v.egress, PairDirection::Denied { misses, .. } if misses[0].reason == PairMissReason::NoPorts(vec![NamedPort { name: "http".into(), protocol: Protocol::TCP }]))
        );
        let v = evaluate_pair(&m, Endpoint::Pod(9), WEB);
        assert!(!v.egress.is_allowed() && !v.ingress.is_allowed());
        assert_eq!(
            evaluate_pair(&Model::default(), outside, outside).ports(),
            AllowedPorts::all()
        );
    }

    #[test]
    fn named_ports_are_every_number_in_container_order() {
        let mut pod = cluster().pods[2].clone();
        pod.ports.push(crate::model::ContainerPort {
            name: Some("http".into()),
            port: 80,
            protocol: Protocol::TCP,
        });
        pod.ports.push(pod.ports[0].clone());
        assert_eq!(named_ports(&pod, "http", Protocol::TCP), [8080, 80]);
        assert!(named_ports(&pod, "http", Protocol::UDP).is_empty());
        assert!(named_ports(&pod, "dns", Protocol::TCP).is_empty());
    }
}
