//! The Admin and Baseline tiers in exposure: each side's cluster rules as peer
//! descriptions in evaluation order, and what they add to, and take out of, what the
//! NetworkPolicies admit (or, where none isolates the endpoint, the Baseline and the
//! default).
//!
//! A side decides each connection by the first match over its Admin rules (Accept and Deny
//! final, Pass on to the next tier), then the NetworkPolicies if any isolates it, else by
//! the first match over its Baseline rules (Accept and Pass allow), else allows
//! (`crate::tiers`). Exposure is a union of descriptions, so the order becomes exceptions,
//! and the union stays exact:
//! - an Admin Accept admits what it matches, except what an earlier Admin Deny or Pass
//!   takes first (an earlier Accept admits it anyway);
//! - what the NetworkPolicies admit is admitted except what an Admin Deny takes, unless an
//!   Admin Pass before that Deny took it first (then it reaches the NetworkPolicies);
//! - where no NetworkPolicy isolates: a Baseline Accept or Pass, and the default
//!   ("everything"), admit what they match, except what an Admin Deny takes (unless passed
//!   first) and what an earlier Baseline Deny takes.
//!
//! A connection is admitted exactly when some exposure covers it and none of that
//! exposure's exceptions does (an exception does not apply where one of its `unless` does);
//! `tests/it/exposure.rs` checks this against the pair verdict on every corpus input.

use super::simplify::peers_meet;
use super::{contains, describe_namespaces, Cx, Exception, Exposure, Found, Origin, Peer};
use crate::chain::{ClusterPolicyRef, ClusterRuleRef};
use crate::cluster_policy::{ClusterPeerKind, ClusterPolicyPeer, ClusterPolicyRule, ClusterPort};
use crate::cluster_policy::{RuleAction, Tier};
use crate::model::{
    IpBlock, LabelSelector, Model, NetworkPolicy, NetworkPolicyRule, PolicyType, Protocol,
};
use crate::pair::NamedPort;
use crate::ports::AllowedPorts;
use crate::tiers::{rule_ports, selecting};

/// What one cluster rule matches with one of its peers, as a description: a step of the
/// side's first-match order.
#[derive(Clone, Debug)]
pub(super) struct Decision {
    pub(super) peer: Peer,
    /// Stands for every pod, host-network pods included (a fail-closed egress rule).
    pub(super) every: bool,
    pub(super) ports: AllowedPorts,
    pub(super) named: Vec<NamedPort>,
    pub(super) rule: ClusterRuleRef,
    pub(super) matches_now: Vec<usize>,
}

impl Decision {
    fn action(&self) -> RuleAction {
        self.rule.effective_action()
    }

    /// Whether the rule lets what it matches through in the end (Accept, a Baseline Pass).
    fn allows(&self) -> bool {
        self.rule.decides() == Some(true)
    }

    fn exception(&self, unless: Vec<Exception>) -> Exception {
        Exception {
            peer: self.peer.clone(),
            ports: self.ports.clone(),
            named: self.named.clone(),
            rule: self.rule.clone(),
            unless,
            matches_now: self.matches_now.clone(),
        }
    }
}

/// A side's cluster rules, Admin and Baseline, in evaluation order.
pub(super) struct Tiers {
    pub(super) policies: Vec<ClusterPolicyRef>,
    admin: Vec<Decision>,
    baseline: Vec<Decision>,
}

impl Cx<'_> {
    /// The cluster rules deciding `endpoint`'s side in `direction`.
    pub(super) fn tiers(&mut self, endpoint: usize, direction: PolicyType) -> Tiers {
        let mut policies = Vec::new();
        let admin = self.decisions(Tier::Admin, endpoint, direction, &mut policies);
        let baseline = self.decisions(Tier::Baseline, endpoint, direction, &mut policies);
        Tiers {
            policies,
            admin,
            baseline,
        }
    }

    /// Every (rule, peer) of the policies of `tier` selecting the endpoint, in order.
    fn decisions(
        &mut self,
        tier: Tier,
        endpoint: usize,
        direction: PolicyType,
        policies: &mut Vec<ClusterPolicyRef>,
    ) -> Vec<Decision> {
        let model = self.model;
        let pod = &model.cluster.pods[endpoint];
        // The destination's named ports: the endpoint's for ingress; for egress a pod that
        // does not exist yet, so names stay names.
        let destination = (direction == PolicyType::Ingress).then_some(pod);
        let mut out = Vec::new();
        for policy in selecting(model, tier, direction, pod) {
            for (rule_ref, rule) in policy.rules() {
                let mut ports = rule_ports(rule.ports.as_deref(), destination);
                let mut named = match direction {
                    PolicyType::Egress => rule_names(rule),
                    PolicyType::Ingress => Vec::new(),
                };
                let peers = if rule.fail_closed {
                    ports = AllowedPorts::all();
                    named.clear();
                    fail_closed_peers(rule, direction)
                } else {
                    rule.peers.iter().flat_map(describe_cluster).collect()
                };
                for (peer, every, origin) in peers {
                    let matches_now = self.matches_now(&peer, every, origin);
                    out.push(Decision {
                        peer,
                        every,
                        ports: ports.clone(),
                        named: named.clone(),
                        rule: rule_ref.clone(),
                        matches_now,
                    });
                }
            }
            policies.push(policy.reference);
        }
        out
    }
}

/// A cluster rule's named ports, resolved on a destination that does not exist yet: one
/// entry per protocol, since a cluster policy's name stands for the container port of that
/// name whatever its protocol.
fn rule_names(rule: &ClusterPolicyRule) -> Vec<NamedPort> {
    let mut out = Vec::new();
    for entry in rule.ports.iter().flatten() {
        if let ClusterPort::Named(name) = &entry.port {
            for protocol in Protocol::ALL {
                let named = NamedPort {
                    name: name.clone(),
                    protocol,
                };
                if !out.contains(&named) {
                    out.push(named);
                }
            }
        }
    }
    out
}

/// What a Deny or Pass that could not be read matches: every peer for egress, every pod
/// not on the host network for ingress (`tiers::fail_closed_matches`). An Accept that
/// could not be read matches nothing.
fn fail_closed_peers(
    rule: &ClusterPolicyRule,
    direction: PolicyType,
) -> Vec<(Peer, bool, Origin<'static>)> {
    if rule.effective_action() == RuleAction::Accept {
        return Vec::new();
    }
    let any_pod = Peer::Pods {
        namespaces: super::Namespaces::Matching(LabelSelector::default()),
        pods: LabelSelector::default(),
    };
    match direction {
        PolicyType::Egress => vec![
            (any_pod, true, Origin::Every),
            (Peer::AnyAddress, true, Origin::Every),
        ],
        PolicyType::Ingress => vec![(any_pod, false, Origin::AnyPod)],
    }
}

/// The descriptions of one cluster policy peer (one per CIDR of `networks`).
fn describe_cluster(peer: &ClusterPolicyPeer) -> Vec<(Peer, bool, Origin<'_>)> {
    let pods = |namespaces: &LabelSelector, pods: &LabelSelector| Peer::Pods {
        namespaces: describe_namespaces(namespaces),
        pods: pods.clone(),
    };
    match &peer.kind {
        ClusterPeerKind::Namespaces(selector) => vec![(
            pods(selector, &LabelSelector::default()),
            false,
            Origin::Cluster(peer),
        )],
        ClusterPeerKind::Pods {
            namespace_selector,
            pod_selector,
        } => vec![(
            pods(namespace_selector, pod_selector),
            false,
            Origin::Cluster(peer),
        )],
        ClusterPeerKind::Nodes(selector) => {
            vec![(Peer::Nodes(selector.clone()), false, Origin::Cluster(peer))]
        }
        ClusterPeerKind::Networks(cidrs) => cidrs
            .iter()
            .map(|cidr| {
                let block = IpBlock {
                    cidr: cidr.clone(),
                    except: Vec::new(),
                };
                (Peer::Addresses(block), false, Origin::Block)
            })
            .collect(),
        ClusterPeerKind::DomainNames(names) => vec![(
            Peer::DomainNames(names.clone()),
            false,
            Origin::Cluster(peer),
        )],
    }
}

/// An exposure admitted by one cluster rule (an Accept, or a Baseline Pass).
fn admitted(d: &Decision) -> Found<'static> {
    Found {
        exposure: Exposure {
            peer: d.peer.clone(),
            ports: d.ports.clone(),
            named: d.named.clone(),
            rules: Vec::new(),
            cluster_rules: vec![d.rule.clone()],
            except: Vec::new(),
            matches_now: d.matches_now.clone(),
            peer_side: None,
        },
        every: d.every,
        origin: None,
    }
}

impl Tiers {
    /// What the Admin Accepts admit, each except what an earlier Admin Deny or Pass takes.
    pub(super) fn admin_accepts(&self) -> Vec<Found<'static>> {
        let mut out = Vec::new();
        for (k, d) in self.admin.iter().enumerate() {
            if d.action() != RuleAction::Accept {
                continue;
            }
            let earlier = self.admin[..k].iter().filter(|e| !e.allows());
            let mut found = admitted(d);
            found.exposure.except = earlier.map(|e| e.exception(Vec::new())).collect();
            out.push(found);
        }
        out
    }

    /// What the Admin Denies take, each unless an earlier Admin Pass takes it first: the
    /// exceptions of everything admitted after the Admin tier.
    pub(super) fn admin_denies(&self) -> Vec<Exception> {
        let mut out = Vec::new();
        for (k, d) in self.admin.iter().enumerate() {
            if d.action() != RuleAction::Deny {
                continue;
            }
            let passes = self.admin[..k]
                .iter()
                .filter(|e| e.action() == RuleAction::Pass)
                .map(|e| e.exception(Vec::new()))
                .collect();
            out.push(d.exception(passes));
        }
        out
    }

    /// Where no NetworkPolicy isolates the endpoint: what the Baseline Accepts and Passes
    /// admit, each except what an Admin Deny and an earlier Baseline Deny take, and the
    /// default, everything, except what any Deny takes.
    pub(super) fn baseline_and_default(&self, default: Vec<Found<'static>>) -> Vec<Found<'static>> {
        let admin_denies = self.admin_denies();
        let denies_before = |k: usize| -> Vec<Exception> {
            let baseline = self.baseline[..k]
                .iter()
                .filter(|e| !e.allows())
                .map(|e| e.exception(Vec::new()));
            admin_denies.iter().cloned().chain(baseline).collect()
        };
        let mut out = Vec::new();
        for (k, d) in self.baseline.iter().enumerate() {
            if d.allows() {
                let mut found = admitted(d);
                found.exposure.except = denies_before(k);
                out.push(found);
            }
        }
        let every_deny = denies_before(self.baseline.len());
        for mut found in default {
            found.exposure.except = every_deny.clone();
            out.push(found);
        }
        out
    }
}

/// Whether the Admin tier decides `protocol`/`port` at `endpoint`'s side in `direction`
/// (accepts or denies it, final) for every peer `rule` of `policy` describes, pods that do
/// not exist yet included, so that the NetworkPolicy rule never decides that port. A Pass
/// that may match first hands the connection on, so then it does not.
pub(crate) fn admin_decides_first(
    model: &Model,
    endpoint: usize,
    direction: PolicyType,
    (policy, rule): (&NetworkPolicy, &NetworkPolicyRule),
    (protocol, port): (Protocol, u16),
) -> bool {
    let mut cx = Cx::new(model);
    let tiers = cx.tiers(endpoint, direction);
    let described = super::rule_exposures(model, policy, rule, endpoint, direction);
    !described.is_empty()
        && described.iter().all(|f| {
            for d in tiers
                .admin
                .iter()
                .filter(|d| d.ports.get(protocol).contains(port))
            {
                let peer = &f.exposure.peer;
                if d.action() == RuleAction::Pass {
                    if peers_meet(&model.cluster, &d.peer, peer) {
                        return false;
                    }
                } else if contains(&model.cluster, &d.peer, peer) && (d.every || !f.every) {
                    return true;
                }
            }
            false
        })
}
