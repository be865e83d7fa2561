//! Exposure: what could reach an endpoint, or be reached from it, beyond the endpoints the
//! input has — "any pod in namespaces labelled team=a", "pods labelled app=x in any
//! namespace", "any address".
//!
//! The engine answers for the pods that exist; policies are written with selectors, and a
//! selector also matches the pods that do not exist yet (the next replica, a pod in a
//! namespace created next week). For each endpoint and direction this lists the peers the
//! endpoint's side admits, described by the selectors of the admitting rules, with exactly
//! the ports admitted (named ports resolved on the endpoint when it is the destination; a
//! name towards a hypothetical destination stays a name, since only that pod could resolve
//! it). An endpoint that no policy isolates in a direction is exposed to everything there.
//!
//! Every tier counts, as in the verdict (`exposure/tiers.rs` says how): an Admin Accept
//! admits the peers its rule describes, an Admin Deny takes its peers out of what the
//! NetworkPolicies admit (as an [`Exception`], unless an earlier Admin Pass hands them on),
//! and where no NetworkPolicy isolates the endpoint the Baseline rules and the default
//! decide. The endpoint's own side stays exact; the other side is assumed as below.
//!
//! The other side is a pod we do not know, so its own policies are unknown. What is known
//! is said, what is not is assumed:
//! - when every pod the peer description covers is in one namespace and some policy there
//!   certainly selects it for the opposite direction (an empty `podSelector`, or one whose
//!   requirements the description's pod selector contains), [`Exposure::peer_side`] names
//!   those policies and the ports they admit towards the endpoint — at least that much,
//!   since other policies may select the new pod too;
//! - otherwise the peer's own policies are assumed to allow the connection, which is what
//!   they do when none selects it.
//!
//! Matching follows [`crate::eval`] and [`crate::tiers`]: the same scope rules, and their
//! `peer_matches` for "matches now" and the peer-side rules.

use std::collections::HashMap;

use serde::Serialize;

use crate::chain::{ClusterPolicyRef, ClusterRuleRef};
use crate::cluster_policy::{ClusterPolicyPeer, ClusterSubject, RuleAction, Tier};
use crate::eval;
use crate::model::{
    Cluster, Endpoint, IpBlock, LabelSelector, Model, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyRule, PolicyType, NAMESPACE_NAME_LABEL,
};
use crate::pair::{rule_ports, NamedPort};
use crate::ports::AllowedPorts;
use crate::tiers::{self as tier_rules, PeerMatch};
use crate::verdict::{PolicyRef, RuleRef};

mod simplify;
mod tiers;

pub(crate) use tiers::admin_decides_first;

/// Which namespaces a peer description covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Namespaces {
    /// Exactly this one: a peer without `namespaceSelector` (the policy's own namespace), or
    /// one selecting `kubernetes.io/metadata.name` alone.
    Named(String),
    /// Every namespace whose labels match, including namespaces that do not exist yet; the
    /// empty selector is every namespace.
    Matching(LabelSelector),
}

/// A peer described by what a rule says, not by an endpoint of the input.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Peer {
    /// Pods whose labels match `pods`, in `namespaces`.
    Pods {
        /// Where.
        namespaces: Namespaces,
        /// Which pods there; empty: any.
        pods: LabelSelector,
    },
    /// Addresses of an `ipBlock` (or one CIDR of a cluster policy's `networks`): outside
    /// the cluster, or pods' IPs.
    Addresses(IpBlock),
    /// Any address at all (a rule without peers, or a side no policy isolates).
    AnyAddress,
    /// The addresses of the nodes whose labels match (a cluster policy's `nodes` peer):
    /// the nodes of the input and any added later; host-network pods have them too.
    Nodes(LabelSelector),
    /// The addresses these names resolve to (a cluster policy's `domainNames`): unknown
    /// from manifests, so no endpoint or address of the input counts as one of them.
    DomainNames(Vec<String>),
}

/// What the other side's own policies are known to say (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerSide {
    /// Policies that select every pod of the description for the opposite direction.
    pub isolated_by: Vec<PolicyRef>,
    /// What their rules admit towards the endpoint, at least (other policies selecting the
    /// new pod may add more); named ports the endpoint could not resolve are in `named`.
    pub allows: AllowedPorts,
    /// Port names the peer side admits that resolve on the (hypothetical) destination.
    pub named: Vec<NamedPort>,
}

/// One peer description and what the endpoint's side admits with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// Who.
    pub peer: Peer,
    /// The ports the endpoint's side admits, exact (numbers, ranges, and names resolved on
    /// the endpoint when it is the destination), before `except`.
    pub ports: AllowedPorts,
    /// Egress only: port names that resolve on the hypothetical destination, so the model
    /// cannot turn them into numbers.
    pub named: Vec<NamedPort>,
    /// The NetworkPolicy rules admitting it, in policy and rule order.
    pub rules: Vec<RuleRef>,
    /// The cluster policy rules admitting it (an Admin Accept, a Baseline Accept or Pass),
    /// in evaluation order. With `rules` empty too, nothing selects the endpoint in this
    /// tier order: it is admitted by default.
    pub cluster_rules: Vec<ClusterRuleRef>,
    /// What cluster policy rules evaluated first take out of it (see [`Exception`]);
    /// empty without cluster policies.
    pub except: Vec<Exception>,
    /// Endpoints of the input the description matches now (selectors as evaluated, ipBlocks
    /// by pod IP): the rest of what it covers does not exist yet.
    pub matches_now: Vec<usize>,
    /// The peer's own side, when known; `None`: assumed to allow the connection.
    pub peer_side: Option<PeerSide>,
}

/// Connections of an [`Exposure`] that a cluster policy rule decides before the rules
/// admitting it: an Admin Deny (or, before an Admin Accept, an Admin Pass) or a Baseline
/// Deny. Peers it covers are not admitted on its ports by that exposure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// Who it covers.
    pub peer: Peer,
    /// On which ports (names resolved as for [`Exposure::ports`]).
    pub ports: AllowedPorts,
    /// Egress only: port names resolved on the hypothetical destination.
    pub named: Vec<NamedPort>,
    /// The rule deciding first.
    pub rule: ClusterRuleRef,
    /// Admin Passes evaluated before an Admin Deny: what they cover reaches the
    /// NetworkPolicies (or the Baseline) instead, so there the exception does not apply.
    pub unless: Vec<Exception>,
    /// Endpoints of the input the description matches now.
    pub matches_now: Vec<usize>,
}

/// One direction of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectionExposure {
    /// NetworkPolicies isolating the endpoint in this direction; empty: the Baseline tier
    /// and the default decide after the Admin tier.
    pub isolated_by: Vec<PolicyRef>,
    /// Cluster policies selecting the endpoint with rules in this direction, Admin then
    /// Baseline, in evaluation order.
    pub cluster_policies: Vec<ClusterPolicyRef>,
    /// Peer descriptions, each with what is admitted; a description another one contains
    /// with at least its ports is left out.
    pub exposures: Vec<Exposure>,
}

impl DirectionExposure {
    /// Whether no policy of any tier selects the endpoint in this direction: it is exposed
    /// to everything there.
    pub fn is_open(&self) -> bool {
        self.isolated_by.is_empty() && self.cluster_policies.is_empty()
    }
}

/// Both directions of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointExposure {
    /// Pod index.
    pub endpoint: usize,
    /// Who could connect to it.
    pub ingress: DirectionExposure,
    /// What it could connect to.
    pub egress: DirectionExposure,
}

/// The exposure of every endpoint, in pod order.
pub fn exposures(model: &Model) -> Vec<EndpointExposure> {
    each(model).collect()
}

/// The exposure of every endpoint, in pod order, one at a time: what is shared between
/// endpoints (the pods each description matches) is computed once, and a caller that
/// writes each endpoint out never holds them all (10,000 endpoints each exposed to "any
/// pod" would otherwise hold 10,000 lists of 10,000 pods).
pub fn each(model: &Model) -> impl Iterator<Item = EndpointExposure> + '_ {
    let mut cx = Cx::new(model);
    (0..model.cluster.pods.len()).map(move |i| cx.endpoint(i))
}

/// The exposure of pod `endpoint` (`None` for an index outside the model).
pub fn exposure(model: &Model, endpoint: usize) -> Option<EndpointExposure> {
    (endpoint < model.cluster.pods.len()).then(|| Cx::new(model).endpoint(endpoint))
}

/// What decides which pods a description matches now.
#[derive(Clone, Copy, Debug)]
enum Origin<'m> {
    /// A NetworkPolicy's `from`/`to` entry: `eval`'s own peer matching.
    Policy(&'m NetworkPolicy, &'m NetworkPolicyPeer),
    /// A cluster policy's peer: `tiers`' own peer matching.
    Cluster(&'m ClusterPolicyPeer),
    /// Every pod, host-network pods included (a rule without peers, no isolation, an
    /// egress rule failing closed).
    Every,
    /// Every pod not on the host network (an ingress rule failing closed).
    AnyPod,
    /// The description's own addresses (one CIDR of `networks`): pods with an IP inside.
    Block,
}

/// An exposure being built, with what its "matches now" is decided by.
#[derive(Clone, Debug)]
struct Found<'m> {
    exposure: Exposure,
    /// It stands for every pod, host-network pods included, not a selector's pods.
    every: bool,
    /// `None` when `matches_now` is known already.
    origin: Option<Origin<'m>>,
}

/// The computation, with the pods each description matches now remembered (many
/// endpoints share descriptions).
struct Cx<'m> {
    model: &'m Model,
    /// By description, and whether it stands for every pod rather than a selector's.
    matches: HashMap<(Peer, bool), Vec<usize>>,
}

impl<'m> Cx<'m> {
    fn new(model: &'m Model) -> Self {
        Cx {
            model,
            matches: HashMap::new(),
        }
    }

    fn endpoint(&mut self, endpoint: usize) -> EndpointExposure {
        EndpointExposure {
            endpoint,
            ingress: self.direction(endpoint, PolicyType::Ingress),
            egress: self.direction(endpoint, PolicyType::Egress),
        }
    }

    /// What `endpoint`'s side admits in `direction`, through every tier.
    fn direction(&mut self, endpoint: usize, direction: PolicyType) -> DirectionExposure {
        let model = self.model;
        let (isolated_by, networkpolicies) = self.networkpolicies(endpoint, direction);
        let tiers = self.tiers(endpoint, direction);
        let mut found = tiers.admin_accepts();
        if isolated_by.is_empty() {
            found.extend(tiers.baseline_and_default(everything()));
        } else {
            let denies = tiers.admin_denies();
            found.extend(networkpolicies.into_iter().map(|mut f| {
                f.exposure.except = denies.clone();
                f
            }));
        }
        let found = simplify::simplify(found, &model.cluster);
        let mut exposures = Vec::with_capacity(found.len());
        for f in keep_widest(found, &model.cluster) {
            let mut e = f.exposure;
            if let Some(origin) = f.origin {
                e.matches_now = self.matches_now(&e.peer, f.every, origin);
            }
            e.peer_side = peer_side(model, &e.peer, endpoint, direction);
            exposures.push(e);
        }
        DirectionExposure {
            isolated_by,
            cluster_policies: tiers.policies,
            exposures,
        }
    }

    /// The NetworkPolicies isolating `endpoint` in `direction`, and what their rules admit,
    /// grouped by description.
    fn networkpolicies(
        &mut self,
        endpoint: usize,
        direction: PolicyType,
    ) -> (Vec<PolicyRef>, Vec<Found<'m>>) {
        let model = self.model;
        let pod = &model.cluster.pods[endpoint];
        let mut isolated_by = Vec::new();
        let mut found: Vec<Found<'m>> = Vec::new();
        for policy in eval::isolating(model, direction, pod) {
            for (rule_ref, rule) in policy.rules() {
                for f in rule_exposures(model, policy.policy, rule, endpoint, direction) {
                    add(&mut found, f, &rule_ref);
                }
            }
            isolated_by.push(policy.reference);
        }
        (isolated_by, found)
    }

    /// The pods a description matches now, by what it came from; none for "any address"
    /// (addresses outside the cluster) and for domain names.
    fn matches_now(&mut self, peer: &Peer, every: bool, origin: Origin) -> Vec<usize> {
        let key = (peer.clone(), every);
        if let Some(known) = self.matches.get(&key) {
            return known.clone();
        }
        let model = self.model;
        let pods = &model.cluster.pods;
        let all = 0..pods.len();
        let pods: Vec<usize> = match (peer, origin) {
            (Peer::AnyAddress | Peer::DomainNames(_), _) => Vec::new(),
            (_, Origin::Every) => all.collect(),
            (_, Origin::AnyPod) => all.filter(|i| !pods[*i].host_network).collect(),
            (Peer::Addresses(block), Origin::Block) => all
                .filter(|i| pods[*i].ips.iter().any(|ip| block.contains(*ip)))
                .collect(),
            (_, Origin::Block) => Vec::new(),
            (_, Origin::Policy(policy, entry)) => all
                .filter(|i| eval::peer_matches(model, policy, entry, &Endpoint::Pod(*i)).is_ok())
                .collect(),
            (_, Origin::Cluster(entry)) => all
                .filter(|i| {
                    tier_rules::peer_matches(model, entry, Endpoint::Pod(*i)) == PeerMatch::Yes
                })
                .collect(),
        };
        self.matches.insert(key, pods.clone());
        pods
    }
}

/// A side no policy isolates admits every peer on every port.
fn everything() -> Vec<Found<'static>> {
    let any_pod = Peer::Pods {
        namespaces: Namespaces::Matching(LabelSelector::default()),
        pods: LabelSelector::default(),
    };
    [any_pod, Peer::AnyAddress]
        .into_iter()
        .map(|peer| Found {
            exposure: exposure_of(peer, AllowedPorts::all(), Vec::new()),
            every: true,
            origin: Some(Origin::Every),
        })
        .collect()
}

/// An exposure of `peer` on these ports, with nothing else known yet.
fn exposure_of(peer: Peer, ports: AllowedPorts, named: Vec<NamedPort>) -> Exposure {
    Exposure {
        peer,
        ports,
        named,
        rules: Vec::new(),
        cluster_rules: Vec::new(),
        except: Vec::new(),
        matches_now: Vec::new(),
        peer_side: None,
    }
}

/// What one rule admits, per peer description: its ports towards the destination (the
/// endpoint for ingress; for egress a hypothetical pod, so names stay names). A rule
/// without peers admits everything, every pod included.
fn rule_exposures<'m>(
    model: &Model,
    policy: &'m NetworkPolicy,
    rule: &'m NetworkPolicyRule,
    endpoint: usize,
    direction: PolicyType,
) -> Vec<Found<'m>> {
    let destination = match direction {
        PolicyType::Ingress => model.cluster.pods.get(endpoint),
        PolicyType::Egress => None,
    };
    let (ports, missing) = rule_ports(&rule.ports, destination);
    // Ingress names the endpoint lacks admit nothing; egress names are resolved later.
    let named = match direction {
        PolicyType::Ingress => Vec::new(),
        PolicyType::Egress => missing,
    };
    if ports.is_empty() && named.is_empty() {
        return Vec::new();
    }
    let mut found = if rule.peers.is_empty() {
        everything()
    } else {
        rule.peers
            .iter()
            .map(|entry| Found {
                exposure: exposure_of(describe(policy, entry), AllowedPorts::default(), Vec::new()),
                every: false,
                origin: Some(Origin::Policy(policy, entry)),
            })
            .collect()
    };
    for f in &mut found {
        f.exposure.ports = ports.clone();
        f.exposure.named = named.clone();
    }
    found
}

/// The description of one `from`/`to` entry of `policy`.
fn describe(policy: &NetworkPolicy, entry: &NetworkPolicyPeer) -> Peer {
    if let Some(block) = &entry.ip_block {
        return Peer::Addresses(block.clone());
    }
    let namespaces = match &entry.namespace_selector {
        None => Namespaces::Named(policy.namespace.clone()),
        Some(selector) => describe_namespaces(selector),
    };
    Peer::Pods {
        namespaces,
        pods: entry.pod_selector.clone().unwrap_or_default(),
    }
}

/// The namespaces a namespace selector covers: one by name when it selects
/// `kubernetes.io/metadata.name` alone (the API server sets that label to the name, so
/// nothing else can match), else every namespace it matches.
fn describe_namespaces(selector: &LabelSelector) -> Namespaces {
    let by_name = match (
        selector.match_labels.len(),
        selector.match_expressions.is_empty(),
    ) {
        (1, true) => selector.match_labels.get(NAMESPACE_NAME_LABEL).cloned(),
        _ => None,
    };
    match by_name {
        Some(name) => Namespaces::Named(name),
        None => Namespaces::Matching(selector.clone()),
    }
}

/// Adds what `rule` admits for a description to the entry for it (one entry per
/// description and kind of "matches now").
fn add<'m>(found: &mut Vec<Found<'m>>, new: Found<'m>, rule: &RuleRef) {
    let same = |f: &Found| f.exposure.peer == new.exposure.peer && f.every == new.every;
    let Some(entry) = found.iter_mut().find(|f| same(f)) else {
        let mut new = new;
        new.exposure.rules.push(rule.clone());
        found.push(new);
        return;
    };
    let entry = &mut entry.exposure;
    entry.ports = entry.ports.union(&new.exposure.ports);
    for name in new.exposure.named {
        if !entry.named.contains(&name) {
            entry.named.push(name);
        }
    }
    if !entry.rules.contains(rule) {
        entry.rules.push(rule.clone());
    }
}

/// Leaves out each description another one contains with at least its ports and no
/// exception of its own (the wider one says everything the narrower does), then sorts:
/// pods before addresses.
fn keep_widest<'m>(found: Vec<Found<'m>>, cluster: &Cluster) -> Vec<Found<'m>> {
    let wider = |b: &Found, a: &Found| {
        let (b, a) = (&b.exposure, &a.exposure);
        contains(cluster, &b.peer, &a.peer)
            && a.ports.union(&b.ports) == b.ports
            && a.named.iter().all(|n| b.named.contains(n))
            && (b.except.is_empty() || b.except == a.except)
    };
    // A selector's pods never include host-network pods, which "every pod" does.
    let wider = |b: &Found, a: &Found| wider(b, a) && (b.every || !a.every);
    let subsumed = |i: usize| {
        let a = &found[i];
        found.iter().enumerate().any(|(j, b)| {
            // of two equal ones, keep the first
            j != i && wider(b, a) && !(wider(a, b) && j > i)
        })
    };
    let keep: Vec<bool> = (0..found.len()).map(|i| !subsumed(i)).collect();
    let mut out: Vec<Found> = found
        .into_iter()
        .zip(keep)
        .filter_map(|(f, keep)| keep.then_some(f))
        .collect();
    out.iter_mut().for_each(|f| f.exposure.named.sort());
    out.sort_by(|a, b| a.exposure.peer.cmp(&b.exposure.peer));
    out
}

/// Whether description `outer` covers every peer `inner` covers. Only what can be told
/// from the selectors themselves: equal or fewer requirements, the empty selector, a
/// named namespace whose labels a selector matches, an ipBlock inside another.
fn contains(cluster: &Cluster, outer: &Peer, inner: &Peer) -> bool {
    match (outer, inner) {
        (Peer::AnyAddress, Peer::Addresses(_) | Peer::AnyAddress) => true,
        (Peer::Addresses(a), Peer::Addresses(b)) => block_contains(a, b),
        (Peer::Nodes(a), Peer::Nodes(b)) => implies(b, a),
        (Peer::DomainNames(a), Peer::DomainNames(b)) => b.iter().all(|n| a.contains(n)),
        (
            Peer::Pods {
                namespaces: on,
                pods: op,
            },
            Peer::Pods {
                namespaces: inn,
                pods: ip,
            },
        ) => namespaces_contain(cluster, on, inn) && implies(ip, op),
        _ => false,
    }
}

fn namespaces_contain(cluster: &Cluster, outer: &Namespaces, inner: &Namespaces) -> bool {
    match (outer, inner) {
        (Namespaces::Named(a), Namespaces::Named(b)) => a == b,
        (Namespaces::Named(_), Namespaces::Matching(_)) => false,
        (Namespaces::Matching(sel), Namespaces::Named(name)) => {
            sel.is_empty()
                || cluster
                    .namespace_labels(name)
                    .is_some_and(|l| sel.matches(l))
        }
        (Namespaces::Matching(a), Namespaces::Matching(b)) => implies(b, a),
    }
}

/// Whether every label set `strict` matches is also matched by `loose`: `loose`'s
/// requirements are a subset of `strict`'s (told from the selectors, not evaluated).
fn implies(strict: &LabelSelector, loose: &LabelSelector) -> bool {
    loose
        .match_labels
        .iter()
        .all(|(k, v)| strict.match_labels.get(k) == Some(v))
        && loose
            .match_expressions
            .iter()
            .all(|r| strict.match_expressions.contains(r))
}

/// `inner` inside `outer`: its cidr inside, and every hole of `outer` that overlaps it is
/// also a hole of `inner` (or inside one).
fn block_contains(outer: &IpBlock, inner: &IpBlock) -> bool {
    if outer.cidr.is_v6() != inner.cidr.is_v6() || !outer.cidr.contains_cidr(&inner.cidr) {
        return false;
    }
    let (lo, hi) = inner.cidr.range();
    outer.except.iter().all(|hole| {
        let (a, z) = hole.range();
        let overlaps = a <= hi && lo <= z;
        !overlaps || inner.except.iter().any(|h| h.contains_cidr(hole))
    })
}

/// The policies that certainly select every pod of a one-namespace description for the
/// opposite direction, and what their rules admit towards `endpoint`.
fn peer_side(
    model: &Model,
    peer: &Peer,
    endpoint: usize,
    direction: PolicyType,
) -> Option<PeerSide> {
    let Peer::Pods {
        namespaces: Namespaces::Named(namespace),
        pods,
    } = peer
    else {
        return None;
    };
    let mut side = PeerSide {
        isolated_by: Vec::new(),
        allows: AllowedPorts::default(),
        named: Vec::new(),
    };
    for other in other_side(model, namespace, endpoint, direction) {
        if !implies(pods, &other.policy.pod_selector) {
            continue;
        }
        side.isolated_by
            .push(eval::policy_ref(other.index, other.policy));
        side.allows = side.allows.union(&other.allows);
        for name in other.named {
            if !side.named.contains(&name) {
                side.named.push(name);
            }
        }
    }
    side.named.sort();
    (!side.isolated_by.is_empty()).then_some(side)
}

/// One policy of the peer's namespace that isolates the opposite direction, with what its
/// rules admit towards the endpoint.
struct OtherSide<'m> {
    index: usize,
    policy: &'m NetworkPolicy,
    allows: AllowedPorts,
    named: Vec<NamedPort>,
}

/// Every policy of `namespace` isolating the direction opposite to `direction`, whatever
/// its podSelector, with the ports its rules admit towards `endpoint`.
fn other_side<'m>(
    model: &'m Model,
    namespace: &str,
    endpoint: usize,
    direction: PolicyType,
) -> Vec<OtherSide<'m>> {
    let opposite = match direction {
        PolicyType::Ingress => PolicyType::Egress,
        PolicyType::Egress => PolicyType::Ingress,
    };
    // For ingress exposure the peer is the source and its egress ports resolve on the
    // endpoint; for egress exposure the peer is the destination and resolves its own names.
    let destination = match direction {
        PolicyType::Ingress => model.cluster.pods.get(endpoint),
        PolicyType::Egress => None,
    };
    let mut out = Vec::new();
    for (index, policy) in model.policies.iter().enumerate() {
        if policy.namespace != namespace || !policy.affects(opposite) {
            continue;
        }
        let mut side = OtherSide {
            index,
            policy,
            allows: AllowedPorts::default(),
            named: Vec::new(),
        };
        for rule in policy.rules(opposite) {
            let matches = rule.peers.is_empty()
                || rule.peers.iter().any(|p| {
                    eval::peer_matches(model, policy, p, &Endpoint::Pod(endpoint)).is_ok()
                });
            if !matches {
                continue;
            }
            let (ports, missing) = rule_ports(&rule.ports, destination);
            side.allows = side.allows.union(&ports);
            if direction == PolicyType::Egress {
                side.named.extend(missing);
            }
        }
        out.push(side);
    }
    out
}

/// Whether every pod `exposure` describes, now or later, certainly refuses it on its own
/// side: the description names one namespace, policies there certainly isolate such pods
/// in the opposite direction (`peer_side`), no policy of that namespace — whatever
/// its podSelector, since a new pod may carry more labels — admits `endpoint` on any of
/// the exposure's ports, and no Admin-tier Accept that might select such a pod could take
/// the connection before those policies. Lint uses this before saying "the other end denies
/// it anyway".
pub(crate) fn certainly_refused(
    model: &Model,
    exposure: &Exposure,
    endpoint: usize,
    direction: PolicyType,
) -> bool {
    let Peer::Pods {
        namespaces: Namespaces::Named(namespace),
        ..
    } = &exposure.peer
    else {
        return false;
    };
    if peer_side(model, &exposure.peer, endpoint, direction).is_none() {
        return false;
    }
    let refused_by_networkpolicies = other_side(model, namespace, endpoint, direction)
        .iter()
        .all(|other| {
            let numbers = other.allows.intersection(&exposure.ports).is_empty();
            // Names resolve on the unknown pod: any number may be one of them.
            let names =
                other.named.is_empty() && (exposure.named.is_empty() || other.allows.is_empty());
            numbers && names
        });
    refused_by_networkpolicies && !admin_may_accept(model, namespace, endpoint, direction)
}

/// Whether an Admin-tier Accept might admit `endpoint` on the side of a pod of `namespace`
/// that does not exist yet, in the direction opposite to `direction`: a policy whose
/// subject may select such a pod (its namespace selector matches the namespace, or the
/// namespace is not in the input; any pod selector may match a new pod's labels) with an
/// Accept rule whose peers may match the endpoint.
fn admin_may_accept(
    model: &Model,
    namespace: &str,
    endpoint: usize,
    direction: PolicyType,
) -> bool {
    let opposite = match direction {
        PolicyType::Ingress => PolicyType::Egress,
        PolicyType::Egress => PolicyType::Ingress,
    };
    let labels = model.cluster.namespace_labels(namespace);
    let in_namespace = |selector: &LabelSelector| labels.is_none_or(|l| selector.matches(l));
    model
        .cluster_policies
        .iter()
        .filter(|p| p.tier == Tier::Admin)
        .filter(|p| match &p.subject {
            ClusterSubject::Namespaces(selector) => in_namespace(selector),
            ClusterSubject::Pods {
                namespace_selector, ..
            } => in_namespace(namespace_selector),
        })
        .flat_map(|p| p.rules(opposite))
        .any(|rule| {
            rule.effective_action() == RuleAction::Accept
                && !rule.fail_closed
                && rule.peers.iter().any(|peer| {
                    tier_rules::peer_matches(model, peer, Endpoint::Pod(endpoint)) != PeerMatch::No
                })
        })
}

impl DirectionExposure {
    /// Whether both admit the same peer descriptions with the same ports and the same
    /// exceptions (rules, isolation and "matches now" aside): then what one allows more, if
    /// anything, concerns no pod, existing or future.
    pub fn same_admissions(&self, other: &DirectionExposure) -> bool {
        self.exposures.len() == other.exposures.len()
            && self
                .exposures
                .iter()
                .zip(&other.exposures)
                .all(|(a, b)| a.same_admission(b))
    }
}

impl Exposure {
    /// Whether both admit the same peers on the same ports, with the same exceptions.
    pub fn same_admission(&self, other: &Exposure) -> bool {
        self.peer == other.peer
            && self.ports == other.ports
            && self.named == other.named
            && self.except == other.except
    }
}
