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
//! Matching follows [`crate::eval`]: the same scope rule, and `peer_matches` for the
//! peer-side rules.

use std::collections::HashMap;

use serde::Serialize;

use crate::eval;
use crate::model::{
    Cluster, Endpoint, IpBlock, LabelSelector, Model, NetworkPolicy, NetworkPolicyPeer,
    NetworkPolicyRule, PolicyType, NAMESPACE_NAME_LABEL,
};
use crate::pair::{rule_ports, NamedPort};
use crate::ports::AllowedPorts;
use crate::verdict::{PolicyRef, RuleRef};

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
    /// Addresses of an `ipBlock`: outside the cluster, or pods' IPs.
    Addresses(IpBlock),
    /// Any address at all (a rule without peers, or a side no policy isolates).
    AnyAddress,
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
    /// the endpoint when it is the destination).
    pub ports: AllowedPorts,
    /// Egress only: port names that resolve on the hypothetical destination, so the model
    /// cannot turn them into numbers.
    pub named: Vec<NamedPort>,
    /// The rules admitting it, in policy and rule order; empty when the endpoint is not
    /// isolated in this direction.
    pub rules: Vec<RuleRef>,
    /// Endpoints of the input the description matches now (selectors as evaluated, ipBlocks
    /// by pod IP): the rest of what it covers does not exist yet.
    pub matches_now: Vec<usize>,
    /// The peer's own side, when known; `None`: assumed to allow the connection.
    pub peer_side: Option<PeerSide>,
}

/// One direction of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectionExposure {
    /// Policies isolating the endpoint in this direction; empty: not isolated, and exposed
    /// to everything.
    pub isolated_by: Vec<PolicyRef>,
    /// Peer descriptions, each with what is admitted; a description another one contains
    /// with at least its ports is left out.
    pub exposures: Vec<Exposure>,
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

/// The computation, with the pods each description matches now remembered (many
/// endpoints share descriptions), and for each description a `from`/`to` entry it came
/// from, so that "matches now" is `eval`'s own peer matching.
struct Cx<'m> {
    model: &'m Model,
    /// By description, and whether it stands for every pod (a rule without peers, or no
    /// isolation: every source, host-network pods included) rather than a selector entry.
    matches: HashMap<(Peer, bool), Vec<usize>>,
    origins: HashMap<Peer, (&'m NetworkPolicy, &'m NetworkPolicyPeer)>,
}

impl<'m> Cx<'m> {
    fn new(model: &'m Model) -> Self {
        Cx {
            model,
            matches: HashMap::new(),
            origins: HashMap::new(),
        }
    }

    fn endpoint(&mut self, endpoint: usize) -> EndpointExposure {
        EndpointExposure {
            endpoint,
            ingress: self.direction(endpoint, PolicyType::Ingress),
            egress: self.direction(endpoint, PolicyType::Egress),
        }
    }

    /// The admitting rules of the policies selecting `endpoint`, grouped by description.
    fn direction(&mut self, endpoint: usize, direction: PolicyType) -> DirectionExposure {
        let model = self.model;
        let pod = &model.cluster.pods[endpoint];
        let mut isolated_by = Vec::new();
        let mut found: Vec<Exposure> = Vec::new();
        // Descriptions that came (also) from a rule without peers: they match every pod.
        let mut every: Vec<Peer> = Vec::new();
        for (index, policy) in model.policies.iter().enumerate() {
            if !eval::selects(policy, direction, pod) {
                continue;
            }
            let policy_ref = eval::policy_ref(index, policy);
            for (rule_index, rule) in policy.rules(direction).iter().enumerate() {
                let rule_ref = RuleRef {
                    policy: policy_ref.clone(),
                    direction,
                    index: rule_index,
                    span: rule.span,
                };
                for (exposure, entry) in rule_exposures(model, policy, rule, endpoint, direction) {
                    match entry {
                        Some(entry) => {
                            self.origins
                                .entry(exposure.peer.clone())
                                .or_insert((policy, entry));
                        }
                        None => every.push(exposure.peer.clone()),
                    }
                    add(&mut found, exposure, &rule_ref);
                }
            }
            isolated_by.push(policy_ref);
        }
        if isolated_by.is_empty() {
            found = everything();
            every = found.iter().map(|e| e.peer.clone()).collect();
        }
        let mut exposures = keep_widest(found, &model.cluster);
        for e in &mut exposures {
            e.matches_now = self.matches_now(&e.peer, every.contains(&e.peer));
            e.peer_side = peer_side(model, &e.peer, endpoint, direction);
        }
        DirectionExposure {
            isolated_by,
            exposures,
        }
    }

    /// The pods a description matches now: `eval`'s matching of the entry it came from;
    /// every pod for "any pod in any namespace" (a rule without peers, or no isolation),
    /// none for "any address" (addresses outside the cluster).
    fn matches_now(&mut self, peer: &Peer, every: bool) -> Vec<usize> {
        let key = (peer.clone(), every);
        if let Some(known) = self.matches.get(&key) {
            return known.clone();
        }
        let model = self.model;
        let all = 0..model.cluster.pods.len();
        let origin = self.origins.get(peer).filter(|_| !every);
        let pods: Vec<usize> = match (peer, origin) {
            (Peer::AnyAddress, _) => Vec::new(),
            (_, Some((policy, entry))) => all
                .filter(|i| eval::peer_matches(model, policy, entry, &Endpoint::Pod(*i)).is_ok())
                .collect(),
            (_, None) => all.collect(),
        };
        self.matches.insert(key, pods.clone());
        pods
    }
}

/// A side no policy isolates admits every peer on every port.
fn everything() -> Vec<Exposure> {
    let any_pod = Peer::Pods {
        namespaces: Namespaces::Matching(LabelSelector::default()),
        pods: LabelSelector::default(),
    };
    [any_pod, Peer::AnyAddress]
        .into_iter()
        .map(|peer| Exposure {
            peer,
            ports: AllowedPorts::all(),
            named: Vec::new(),
            rules: Vec::new(),
            matches_now: Vec::new(),
            peer_side: None,
        })
        .collect()
}

/// What one rule admits, per peer description (with the entry it describes; none for a
/// rule without peers): its ports towards the destination (the endpoint for ingress; for
/// egress a hypothetical pod, so names stay names).
fn rule_exposures<'m>(
    model: &Model,
    policy: &NetworkPolicy,
    rule: &'m NetworkPolicyRule,
    endpoint: usize,
    direction: PolicyType,
) -> Vec<(Exposure, Option<&'m NetworkPolicyPeer>)> {
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
    let peers: Vec<(Peer, Option<&NetworkPolicyPeer>)> = if rule.peers.is_empty() {
        everything().into_iter().map(|e| (e.peer, None)).collect()
    } else {
        rule.peers
            .iter()
            .map(|p| (describe(policy, p), Some(p)))
            .collect()
    };
    peers
        .into_iter()
        .map(|(peer, entry)| {
            let exposure = Exposure {
                peer,
                ports: ports.clone(),
                named: named.clone(),
                rules: Vec::new(),
                matches_now: Vec::new(),
                peer_side: None,
            };
            (exposure, entry)
        })
        .collect()
}

/// The description of one `from`/`to` entry of `policy`.
fn describe(policy: &NetworkPolicy, entry: &NetworkPolicyPeer) -> Peer {
    if let Some(block) = &entry.ip_block {
        return Peer::Addresses(block.clone());
    }
    let namespaces = match &entry.namespace_selector {
        None => Namespaces::Named(policy.namespace.clone()),
        Some(selector) => match named_by_label(selector) {
            Some(name) => Namespaces::Named(name),
            None => Namespaces::Matching(selector.clone()),
        },
    };
    Peer::Pods {
        namespaces,
        pods: entry.pod_selector.clone().unwrap_or_default(),
    }
}

/// `{kubernetes.io/metadata.name: prod}` alone names one namespace (the API server sets
/// that label to the name, so nothing else can match).
fn named_by_label(selector: &LabelSelector) -> Option<String> {
    match (
        selector.match_labels.len(),
        selector.match_expressions.is_empty(),
    ) {
        (1, true) => selector.match_labels.get(NAMESPACE_NAME_LABEL).cloned(),
        _ => None,
    }
}

/// Adds what `rule` admits for a description to the entry for it.
fn add(found: &mut Vec<Exposure>, exposure: Exposure, rule: &RuleRef) {
    let entry = match found.iter_mut().position(|e| e.peer == exposure.peer) {
        Some(i) => &mut found[i],
        None => {
            found.push(exposure);
            let last = found.len() - 1;
            found[last].rules.push(rule.clone());
            return;
        }
    };
    entry.ports = entry.ports.union(&exposure.ports);
    for name in exposure.named {
        if !entry.named.contains(&name) {
            entry.named.push(name);
        }
    }
    if !entry.rules.contains(rule) {
        entry.rules.push(rule.clone());
    }
}

/// Leaves out each description another one contains with at least its ports (the wider
/// one says everything the narrower does), then sorts: pods before addresses.
fn keep_widest(found: Vec<Exposure>, cluster: &Cluster) -> Vec<Exposure> {
    let subsumed = |i: usize| {
        let a = &found[i];
        found.iter().enumerate().any(|(j, b)| {
            j != i
                && contains(cluster, &b.peer, &a.peer)
                && a.ports.union(&b.ports) == b.ports
                && a.named.iter().all(|n| b.named.contains(n))
                // of two equal ones, keep the first
                && !(contains(cluster, &a.peer, &b.peer)
                    && b.ports.union(&a.ports) == a.ports
                    && b.named.iter().all(|n| a.named.contains(n))
                    && j > i)
        })
    };
    let keep: Vec<bool> = (0..found.len()).map(|i| !subsumed(i)).collect();
    let mut out: Vec<Exposure> = found
        .into_iter()
        .zip(keep)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect();
    out.iter_mut().for_each(|e| e.named.sort());
    out.sort_by(|a, b| a.peer.cmp(&b.peer));
    out
}

/// Whether description `outer` covers every peer `inner` covers. Only what can be told
/// from the selectors themselves: equal or fewer requirements, the empty selector, a
/// named namespace whose labels a selector matches, an ipBlock inside another.
fn contains(cluster: &Cluster, outer: &Peer, inner: &Peer) -> bool {
    match (outer, inner) {
        (Peer::AnyAddress, Peer::Addresses(_) | Peer::AnyAddress) => true,
        (Peer::Addresses(a), Peer::Addresses(b)) => block_contains(a, b),
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
/// in the opposite direction (`peer_side`), and no policy of that namespace — whatever
/// its podSelector, since a new pod may carry more labels — admits `endpoint` on any of
/// the exposure's ports. Lint uses this before saying "the other end denies it anyway".
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
    other_side(model, namespace, endpoint, direction)
        .iter()
        .all(|other| {
            let numbers = other.allows.intersection(&exposure.ports).is_empty();
            // Names resolve on the unknown pod: any number may be one of them.
            let names =
                other.named.is_empty() && (exposure.named.is_empty() || other.allows.is_empty());
            numbers && names
        })
}

impl DirectionExposure {
    /// Whether both admit the same peer descriptions with the same ports (rules, isolation
    /// and "matches now" aside): then what one allows more, if anything, concerns no pod,
    /// existing or future.
    pub fn same_admissions(&self, other: &DirectionExposure) -> bool {
        self.exposures.len() == other.exposures.len()
            && self
                .exposures
                .iter()
                .zip(&other.exposures)
                .all(|(a, b)| a.peer == b.peer && a.ports == b.ports && a.named == b.named)
    }
}
