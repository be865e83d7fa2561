//! The Admin and Baseline tiers, per flow and per pair: which cluster policies select a
//! pod, which of their rules match, and the side's [`TierChain`] / [`PairChain`].
//!
//! This is the explainable path; the engine computes the same decisions as ordered masks
//! (`engine/tiers.rs`), and property tests keep the two (and the reference evaluator) in
//! agreement. The choices the API leaves open, fixed here and mirrored by the engine:
//! - Policies of a tier are taken in [`crate::Model::cluster_policies`] order: by priority,
//!   then by name (as kube-network-policies does), then by kind. Equal priorities are
//!   implementation-defined upstream; lint `same-priority-overlap` shows where it matters.
//! - A policy without rules in a direction does not affect that direction.
//! - Selector subjects and peers (`namespaces`, `pods`) never select host-network pods, nor
//!   addresses outside the cluster. `networks` match a pod when any of its IPs is inside a
//!   CIDR (as an ipBlock does), and so do `nodes`, by the selected nodes' addresses: a
//!   host-network pod shares its node's.
//! - A named port resolves on the destination pod (in both directions), for whatever
//!   protocol its container port has; an address has none.
//! - `domainNames` cannot be decided from manifests: such a peer never matches, and a rule
//!   that would match the flow if it did is listed in [`TierChain::unknown`].
//! - A rule that could not be read whole fails closed: an Accept matches nothing, a Deny or
//!   Pass denies everything that reaches it.

use std::net::IpAddr;

use crate::chain::{
    ClusterPolicyRef, ClusterRuleMiss, ClusterRuleRef, PairChain, PairStep, TierChain, TierStep,
};
use crate::cluster_policy::{
    ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyPeer, ClusterPolicyPort, ClusterPolicyRule,
    ClusterPort, ClusterSubject, RuleAction, Tier,
};
use crate::model::{Cluster, Endpoint, LabelSelector, Labels, Model, Pod, PolicyType, Protocol};
use crate::pair::PairDirection;
use crate::ports::{AllowedPorts, PortSet};
use crate::verdict::DirectionVerdict;

/// Whether `policy`'s `subject` selects `pod`. Never a host-network pod: the API leaves
/// them out of subject selection.
pub fn in_subject(cluster: &Cluster, policy: &ClusterNetworkPolicy, pod: &Pod) -> bool {
    !pod.host_network && subject_matches(&policy.subject, namespace_labels(cluster, pod), pod)
}

fn subject_matches(subject: &ClusterSubject, namespace: &Labels, pod: &Pod) -> bool {
    match subject {
        ClusterSubject::Namespaces(selector) => selector.matches(namespace),
        ClusterSubject::Pods {
            namespace_selector,
            pod_selector,
        } => namespace_selector.matches(namespace) && pod_selector.matches(&pod.labels),
    }
}

fn namespace_labels<'m>(cluster: &'m Cluster, pod: &Pod) -> &'m Labels {
    static EMPTY: Labels = Labels::new();
    cluster.namespace_labels(&pod.namespace).unwrap_or(&EMPTY)
}

/// A cluster policy of one tier selecting a pod, with rules in one direction: one step of
/// the walk the flow chain, the pair chain and exposure share.
pub(crate) struct Selecting<'m> {
    pub(crate) policy: &'m ClusterNetworkPolicy,
    pub(crate) reference: ClusterPolicyRef,
    direction: PolicyType,
}

impl<'m> Selecting<'m> {
    /// The policy's rules in the walk's direction, in order, each with its reference.
    pub(crate) fn rules(
        &self,
    ) -> impl Iterator<Item = (ClusterRuleRef, &'m ClusterPolicyRule)> + '_ {
        let direction = self.direction;
        self.policy
            .rules(direction)
            .iter()
            .enumerate()
            .map(move |(i, rule)| (rule_ref(&self.reference, direction, i, rule), rule))
    }
}

/// The policies of `tier` that select `pod` and have rules in `direction`, in evaluation
/// order.
pub(crate) fn selecting<'m>(
    model: &'m Model,
    tier: Tier,
    direction: PolicyType,
    pod: &'m Pod,
) -> impl Iterator<Item = Selecting<'m>> + 'm {
    model
        .cluster_policies
        .iter()
        .enumerate()
        .filter(move |(_, p)| {
            p.tier == tier && !p.rules(direction).is_empty() && in_subject(&model.cluster, p, pod)
        })
        .map(move |(index, policy)| Selecting {
            policy,
            reference: policy_ref(index, policy),
            direction,
        })
}

/// Whether a peer matches the other end of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerMatch {
    /// It matches.
    Yes,
    /// It does not.
    No,
    /// Cannot be known from manifests (`domainNames` against an address).
    Unknown,
}

/// Whether one `from`/`to` entry matches `other`.
pub(crate) fn peer_matches(model: &Model, peer: &ClusterPolicyPeer, other: Endpoint) -> PeerMatch {
    let yes = |b: bool| if b { PeerMatch::Yes } else { PeerMatch::No };
    let pod = match other {
        Endpoint::Pod(i) => match model.cluster.pods.get(i) {
            Some(pod) => Some(pod),
            None => return PeerMatch::No,
        },
        Endpoint::Address(_) => None,
    };
    match &peer.kind {
        ClusterPeerKind::Namespaces(selector) => yes(pod.is_some_and(|pod| {
            !pod.host_network && selector.matches(namespace_labels(&model.cluster, pod))
        })),
        ClusterPeerKind::Pods {
            namespace_selector,
            pod_selector,
        } => yes(pod.is_some_and(|pod| {
            !pod.host_network
                && namespace_selector.matches(namespace_labels(&model.cluster, pod))
                && pod_selector.matches(&pod.labels)
        })),
        ClusterPeerKind::Nodes(selector) => {
            let addresses = node_addresses(&model.cluster, selector);
            yes(endpoint_ips(other, pod).any(|ip| addresses.contains(&ip)))
        }
        ClusterPeerKind::Networks(cidrs) => {
            yes(endpoint_ips(other, pod).any(|ip| cidrs.iter().any(|c| c.contains(ip))))
        }
        ClusterPeerKind::DomainNames(_) => match other {
            Endpoint::Address(_) => PeerMatch::Unknown,
            Endpoint::Pod(_) => PeerMatch::No,
        },
    }
}

/// The addresses of the nodes `selector` selects (`InternalIP` and `ExternalIP`).
pub(crate) fn node_addresses(cluster: &Cluster, selector: &LabelSelector) -> Vec<IpAddr> {
    cluster
        .nodes
        .iter()
        .filter(|n| selector.matches(&n.labels))
        .flat_map(|n| n.addresses.iter().copied())
        .collect()
}

/// The IPs an endpoint is seen with: an address, or every IP of a pod.
fn endpoint_ips<'a>(other: Endpoint, pod: Option<&'a Pod>) -> impl Iterator<Item = IpAddr> + 'a {
    let own = match other {
        Endpoint::Address(ip) => Some(ip),
        Endpoint::Pod(_) => None,
    };
    own.into_iter()
        .chain(pod.into_iter().flat_map(|p| p.ips.iter().copied()))
}

/// Whether a Deny or Pass rule that fails closed matches `other`: everything it could have
/// matched, which for egress is every peer and for ingress every pod not on the host
/// network (ingress peers are `namespaces` and `pods`).
fn fail_closed_matches(model: &Model, direction: PolicyType, other: Endpoint) -> bool {
    match (direction, other) {
        (PolicyType::Egress, _) => true,
        (PolicyType::Ingress, Endpoint::Pod(i)) => {
            model.cluster.pods.get(i).is_some_and(|p| !p.host_network)
        }
        (PolicyType::Ingress, Endpoint::Address(_)) => false,
    }
}

/// Whether a rule's peers match `other`: any entry matching is enough.
fn peers_match(model: &Model, rule: &ClusterPolicyRule, other: Endpoint) -> PeerMatch {
    let mut result = PeerMatch::No;
    for peer in &rule.peers {
        match peer_matches(model, peer, other) {
            PeerMatch::Yes => return PeerMatch::Yes,
            PeerMatch::Unknown => result = PeerMatch::Unknown,
            PeerMatch::No => {}
        }
    }
    result
}

/// Whether a rule's `ports` match `protocol`/`port` at the destination `dst_pod`.
pub(crate) fn port_matches(
    ports: Option<&[ClusterPolicyPort]>,
    protocol: Protocol,
    port: u16,
    dst_pod: Option<&Pod>,
) -> bool {
    let Some(entries) = ports else {
        return true;
    };
    entries.iter().any(|entry| match &entry.port {
        ClusterPort::Number {
            protocol: p,
            port: n,
        } => *p == protocol && *n == port,
        ClusterPort::Range {
            protocol: p,
            start,
            end,
        } => *p == protocol && *start <= port && port <= *end,
        ClusterPort::Named(name) => {
            dst_pod.is_some_and(|pod| pod.named_ports(name, protocol).any(|n| n == port))
        }
    })
}

/// Every port a rule's `ports` match at the destination `dst_pod` (`None`: an address).
pub(crate) fn rule_ports(
    ports: Option<&[ClusterPolicyPort]>,
    dst_pod: Option<&Pod>,
) -> AllowedPorts {
    let Some(entries) = ports else {
        return AllowedPorts::all();
    };
    let mut out = AllowedPorts::default();
    for entry in entries {
        match &entry.port {
            ClusterPort::Number { protocol, port } => {
                add(&mut out, *protocol, *port, *port);
            }
            ClusterPort::Range {
                protocol,
                start,
                end,
            } => add(&mut out, *protocol, *start, *end),
            ClusterPort::Named(name) => {
                for protocol in Protocol::ALL {
                    for n in dst_pod
                        .into_iter()
                        .flat_map(|p| p.named_ports(name, protocol))
                    {
                        add(&mut out, protocol, n, n);
                    }
                }
            }
        }
    }
    out
}

fn add(ports: &mut AllowedPorts, protocol: Protocol, first: u16, last: u16) {
    if first.max(1) <= last {
        let set = ports.get_mut(protocol);
        *set = set.union(&PortSet::from_ranges([(first.max(1), last)]));
    }
}

pub(crate) fn policy_ref(index: usize, policy: &ClusterNetworkPolicy) -> ClusterPolicyRef {
    ClusterPolicyRef {
        index,
        kind: policy.kind,
        tier: policy.tier,
        name: policy.name.clone(),
        priority: policy.priority,
        span: policy.span,
    }
}

pub(crate) fn rule_ref(
    policy: &ClusterPolicyRef,
    direction: PolicyType,
    index: usize,
    rule: &ClusterPolicyRule,
) -> ClusterRuleRef {
    ClusterRuleRef {
        policy: policy.clone(),
        direction,
        index,
        name: rule.name.clone(),
        action: rule.action,
        fail_closed: rule.fail_closed,
        span: rule.span,
    }
}

/// One side of a flow: the endpoint the policies must select, the other end, and the
/// question (protocol, port, the pod whose named ports count).
pub(crate) struct FlowSide<'a> {
    pub(crate) direction: PolicyType,
    pub(crate) subject: Endpoint,
    pub(crate) peer: Endpoint,
    pub(crate) protocol: Protocol,
    pub(crate) port: u16,
    pub(crate) dst_pod: Option<&'a Pod>,
}

/// How one rule meets one flow.
enum RuleOutcome {
    Matched,
    Missed(ClusterRuleMiss),
}

fn rule_outcome(
    model: &Model,
    side: &FlowSide<'_>,
    rule_ref: ClusterRuleRef,
    rule: &ClusterPolicyRule,
    unknown: &mut Vec<ClusterRuleRef>,
) -> RuleOutcome {
    if rule.fail_closed {
        // Accept: matches no traffic; Deny or Pass: denies everything it could have
        // matched (the API's fail-closed reading of a rule it cannot understand).
        return match (
            rule.action,
            fail_closed_matches(model, side.direction, side.peer),
        ) {
            (RuleAction::Deny | RuleAction::Pass, true) => RuleOutcome::Matched,
            _ => RuleOutcome::Missed(ClusterRuleMiss {
                rule: rule_ref,
                peer_matched: false,
                port_matched: false,
            }),
        };
    }
    let peer = peers_match(model, rule, side.peer);
    let port = port_matches(
        rule.ports.as_deref(),
        side.protocol,
        side.port,
        side.dst_pod,
    );
    match (peer, port) {
        (PeerMatch::Yes, true) => RuleOutcome::Matched,
        (peer, port) => {
            if peer == PeerMatch::Unknown && port {
                unknown.push(rule_ref.clone());
            }
            RuleOutcome::Missed(ClusterRuleMiss {
                rule: rule_ref,
                peer_matched: peer == PeerMatch::Yes,
                port_matched: port,
            })
        }
    }
}

/// The tier steps of one tier for a flow; `Some(rule)` when a rule matched.
fn tier_steps(
    model: &Model,
    side: &FlowSide<'_>,
    tier: Tier,
    pod: &Pod,
    chain: &mut TierChain,
) -> Option<ClusterRuleRef> {
    for policy in selecting(model, tier, side.direction, pod) {
        let mut misses = Vec::new();
        for (reference, rule) in policy.rules() {
            match rule_outcome(model, side, reference.clone(), rule, &mut chain.unknown) {
                RuleOutcome::Matched => {
                    chain.steps.push(TierStep::Rule {
                        rule: reference.clone(),
                    });
                    return Some(reference);
                }
                RuleOutcome::Missed(miss) => misses.push(miss),
            }
        }
        chain.steps.push(TierStep::NoRuleMatched {
            policy: policy.reference,
            misses,
        });
    }
    None
}

/// The chain of one side of a flow, given the NetworkPolicy tier's verdict for it.
pub(crate) fn flow_chain(model: &Model, side: &FlowSide<'_>, np: &DirectionVerdict) -> TierChain {
    let mut chain = TierChain::default();
    let np_step = TierStep::NetworkPolicy {
        isolated: np.is_isolated(),
        allowed: np.is_allowed(),
    };
    let pod = match side.subject {
        Endpoint::Pod(i) => model.cluster.pods.get(i),
        Endpoint::Address(_) => None,
    };
    let Some(pod) = pod else {
        // An address (never selected) or an unknown pod (denied, as `np` says).
        chain.steps.push(np_step);
        if !np.is_isolated() {
            chain.steps.push(TierStep::Default);
        }
        return chain;
    };
    if let Some(rule) = tier_steps(model, side, Tier::Admin, pod, &mut chain) {
        if rule.decides().is_some() {
            return chain;
        }
    }
    chain.steps.push(np_step);
    if np.is_isolated() {
        return chain;
    }
    if tier_steps(model, side, Tier::Baseline, pod, &mut chain).is_none() {
        chain.steps.push(TierStep::Default);
    }
    chain
}

/// One side of a pair on every port.
pub(crate) struct PairSide<'a> {
    pub(crate) direction: PolicyType,
    pub(crate) subject: Endpoint,
    pub(crate) peer: Endpoint,
    pub(crate) dst_pod: Option<&'a Pod>,
}

/// What a rule matches for a pair, as ports, and whether its peers match the other end.
fn rule_pair_match(
    model: &Model,
    side: &PairSide<'_>,
    rule: &ClusterPolicyRule,
) -> (AllowedPorts, PeerMatch) {
    if rule.fail_closed {
        return match (
            rule.action,
            fail_closed_matches(model, side.direction, side.peer),
        ) {
            (RuleAction::Deny | RuleAction::Pass, true) => (AllowedPorts::all(), PeerMatch::Yes),
            _ => (AllowedPorts::default(), PeerMatch::No),
        };
    }
    let ports = rule_ports(rule.ports.as_deref(), side.dst_pod);
    (ports, peers_match(model, rule, side.peer))
}

/// The ports `rule` matches for one side of a pair, on its own (no earlier rule taking
/// any): empty when its peers miss, every port for a rule failing closed as a Deny.
pub(crate) fn rule_match_ports(
    model: &Model,
    side: &PairSide<'_>,
    rule: &ClusterPolicyRule,
) -> AllowedPorts {
    match rule_pair_match(model, side, rule) {
        (ports, PeerMatch::Yes) => ports,
        _ => AllowedPorts::default(),
    }
}

/// What a rule matches for a pair (before earlier rules take their share); a rule that
/// would match if a domain name resolved to the address goes to `unknown`.
fn pair_rule_ports(
    model: &Model,
    side: &PairSide<'_>,
    rule: &ClusterPolicyRule,
    reference: &ClusterRuleRef,
    open: &AllowedPorts,
    unknown: &mut Vec<ClusterRuleRef>,
) -> AllowedPorts {
    match rule_pair_match(model, side, rule) {
        (ports, PeerMatch::Yes) => ports,
        (ports, PeerMatch::Unknown) => {
            if !ports.intersection(open).is_empty() {
                unknown.push(reference.clone());
            }
            AllowedPorts::default()
        }
        (_, PeerMatch::No) => AllowedPorts::default(),
    }
}

/// One tier for a pair: first match per port over the tier's rules, for the ports in
/// `open`. Returns the ports an Admin Pass handed on; `open` keeps the undecided ones.
fn pair_tier(
    model: &Model,
    side: &PairSide<'_>,
    tier: Tier,
    pod: &Pod,
    open: &mut AllowedPorts,
    chain: &mut PairChain,
) -> AllowedPorts {
    let mut passed = AllowedPorts::default();
    for policy in selecting(model, tier, side.direction, pod) {
        let mut decided_any = false;
        for (reference, rule) in policy.rules() {
            if open.is_empty() {
                break;
            }
            let matched = pair_rule_ports(model, side, rule, &reference, open, &mut chain.unknown)
                .intersection(open);
            if matched.is_empty() {
                continue;
            }
            *open = open.difference(&matched);
            if reference.decides().is_none() {
                passed = passed.union(&matched);
            }
            chain.steps.push(PairStep::Rule {
                rule: reference,
                ports: matched,
            });
            decided_any = true;
        }
        if !decided_any {
            chain.steps.push(PairStep::NoRuleMatched {
                policy: policy.reference,
            });
        }
    }
    passed
}

/// The chain of one side of a pair on every port, given the NetworkPolicy tier's view.
pub(crate) fn pair_chain(model: &Model, side: &PairSide<'_>, np: &PairDirection) -> PairChain {
    let mut chain = PairChain::default();
    let pod = match side.subject {
        Endpoint::Pod(i) => model.cluster.pods.get(i),
        Endpoint::Address(_) => None,
    };
    let isolated = !matches!(np, PairDirection::NotIsolated);
    let Some(pod) = pod else {
        let reaching = AllowedPorts::all();
        let allowed = np.ports();
        chain.steps.push(PairStep::NetworkPolicy {
            isolated,
            reaching: reaching.clone(),
            allowed,
        });
        if !isolated {
            chain.steps.push(PairStep::Default { ports: reaching });
        }
        return chain;
    };
    let mut open = AllowedPorts::all();
    let passed = pair_tier(model, side, Tier::Admin, pod, &mut open, &mut chain);
    let reaching = open.union(&passed);
    let allowed = if isolated {
        reaching.intersection(&np.ports())
    } else {
        reaching.clone()
    };
    chain.steps.push(PairStep::NetworkPolicy {
        isolated,
        reaching: reaching.clone(),
        allowed,
    });
    if isolated {
        return chain;
    }
    let mut open = reaching;
    pair_tier(model, side, Tier::Baseline, pod, &mut open, &mut chain);
    if !open.is_empty() {
        chain.steps.push(PairStep::Default { ports: open });
    }
    chain
}

/// What one policy alone decides for a pair, by first match over its rules: the ports each
/// action takes (a fail-closed Pass counts as a Deny).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decisions {
    pub(crate) accept: AllowedPorts,
    pub(crate) deny: AllowedPorts,
    pub(crate) pass: AllowedPorts,
}

/// First match within `policy` alone for one side of a pair.
pub(crate) fn policy_decisions(
    model: &Model,
    policy: &ClusterNetworkPolicy,
    side: &PairSide<'_>,
) -> Decisions {
    let mut open = AllowedPorts::all();
    let mut out = Decisions::default();
    for rule in policy.rules(side.direction) {
        let matched = rule_match_ports(model, side, rule).intersection(&open);
        if matched.is_empty() {
            continue;
        }
        open = open.difference(&matched);
        let slot = match rule.effective_action() {
            RuleAction::Accept => &mut out.accept,
            RuleAction::Deny => &mut out.deny,
            RuleAction::Pass => &mut out.pass,
        };
        *slot = slot.union(&matched);
    }
    out
}
