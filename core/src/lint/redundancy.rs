//! The engine comparisons behind `redundant-policy`, `shadowed-rule` and `redundant-rule`:
//! a policy or rule is redundant when the model without it has the same connections.
//!
//! Only the connections a policy can change are compared: into its targets (ingress) and
//! out of them (egress); everything else is the same with or without it. Removals are
//! greedy and cumulative (`working`): once something is reported it is judged gone, so of
//! two equivalent policies or rules only one is reported.

use std::collections::BTreeMap;

use super::{redundancy_skipped, redundant_policy, redundant_rule, shadowed_rule, Cx};
use crate::chain::PairStep;
use crate::diagnostic::Diagnostic;
use crate::engine::{Connectivity, Engine};
use crate::exposure;
use crate::model::{Endpoint, Model, NetworkPolicy, NetworkPolicyRule, PolicyType};
use crate::pair;
use crate::ports::AllowedPorts;
use crate::render;

/// What each live rule allows on its own, by (policy index, direction, rule index).
pub(super) type Alone = BTreeMap<(usize, PolicyType, usize), Vec<AllowedPorts>>;

/// Runs the three checks, unless the model is too large (`redundancy-skipped`).
pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    if redundancy_skipped::check(cx, out) {
        return;
    }
    let model = cx.model;
    let slices = Slices::new(model);
    // Each policy's targets, computed once for the three passes below.
    let targets_of: Vec<Vec<usize>> = model.policies.iter().map(|p| cx.targets(p)).collect();
    let mut working = model.clone();
    let redundant_policies =
        redundant_policy::check(model, &slices, &targets_of, &mut working, out);
    let live = |q: usize| !redundant_policies.contains(&q);
    let alone = rules_alone(model, &slices, &targets_of, &live);
    for (index, policy) in model.policies.iter().enumerate() {
        let targets = &targets_of[index];
        if !live(index) || targets.is_empty() {
            continue;
        }
        for &direction in &policy.policy_types {
            let group = RuleGroup {
                index,
                policy,
                direction,
                targets,
                same_targets: same_targets(model, policy, direction, &live),
                alone: &alone,
            };
            let shadowed = shadowed_rule::check(model, &group, &mut working, out);
            redundant_rule::check(model, &slices, &group, &shadowed, &mut working, out);
        }
    }
}

/// The connections of a model that a policy can change, as comparable vectors.
pub(super) struct Slices {
    base: Engine,
    base_table: Connectivity,
    /// Every endpoint, then one representative per outside-address class.
    pub(super) peers: Vec<Endpoint>,
}

impl Slices {
    fn new(model: &Model) -> Slices {
        let base = Engine::new(model);
        let addresses: Vec<Endpoint> = base
            .address_classes()
            .iter()
            .map(|c| Endpoint::Address(c.representative))
            .collect();
        let pods = model.cluster.pods.len();
        let peers: Vec<Endpoint> = (0..pods).map(Endpoint::Pod).chain(addresses).collect();
        // The unchanged model's class-level table, computed once.
        let base_table = base.connectivity();
        Slices {
            base,
            base_table,
            peers,
        }
    }

    /// The unchanged model's connections into (ingress) and out of (egress) `targets`.
    pub(super) fn before(&self, targets: &[usize], dirs: &[PolicyType]) -> Vec<AllowedPorts> {
        self.slice(&self.base, &self.base_table, targets, dirs)
    }

    /// The same connections in `candidate` (one engine compilation).
    pub(super) fn after(
        &self,
        candidate: &Model,
        targets: &[usize],
        dirs: &[PolicyType],
    ) -> Vec<AllowedPorts> {
        let engine = Engine::new(candidate);
        self.slice(&engine, &engine.connectivity(), targets, dirs)
    }

    /// Pod pairs come from the class-level table (a lookup each); addresses are asked one
    /// by one.
    fn slice(
        &self,
        engine: &Engine,
        table: &Connectivity,
        targets: &[usize],
        dirs: &[PolicyType],
    ) -> Vec<AllowedPorts> {
        let get = |src: Endpoint, dst: Endpoint| match (src, dst) {
            (Endpoint::Pod(s), Endpoint::Pod(d)) => table.ports(s, d).cloned().unwrap_or_default(),
            _ => engine.allowed_ports(src, dst),
        };
        let mut v: Vec<AllowedPorts> = Vec::new();
        for &t in targets {
            for peer in &self.peers {
                if dirs.contains(&PolicyType::Ingress) {
                    v.push(get(*peer, Endpoint::Pod(t)));
                }
                if dirs.contains(&PolicyType::Egress) {
                    v.push(get(Endpoint::Pod(t), *peer));
                }
            }
        }
        v
    }
}

/// One live policy's rules in one direction, with what both rule checks need.
pub(super) struct RuleGroup<'a> {
    /// The policy's index in the model.
    pub index: usize,
    pub policy: &'a NetworkPolicy,
    pub direction: PolicyType,
    /// The pods the policy selects.
    pub targets: &'a [usize],
    /// (policy index, rule index) of every rule for the same targets: this policy's and
    /// those of live policies with the same namespace and podSelector isolating the same
    /// direction.
    pub same_targets: Vec<(usize, usize)>,
    pub alone: &'a Alone,
}

fn same_targets(
    model: &Model,
    policy: &NetworkPolicy,
    direction: PolicyType,
    live: &dyn Fn(usize) -> bool,
) -> Vec<(usize, usize)> {
    model
        .policies
        .iter()
        .enumerate()
        .filter(|(q, other)| {
            live(*q)
                && other.namespace == policy.namespace
                && other.pod_selector == policy.pod_selector
                && other.affects(direction)
        })
        .flat_map(|(q, other)| (0..other.rules(direction).len()).map(move |j| (q, j)))
        .collect()
}

/// What each rule of a live policy allows on its own (one policy, one rule, other side
/// open), over its policy's targets; computed once per rule.
fn rules_alone(
    model: &Model,
    slices: &Slices,
    targets_of: &[Vec<usize>],
    live: &dyn Fn(usize) -> bool,
) -> Alone {
    let mut alone = Alone::new();
    for (index, policy) in model.policies.iter().enumerate() {
        let targets = &targets_of[index];
        if !live(index) || targets.is_empty() {
            continue;
        }
        for &direction in &policy.policy_types {
            for (i, rule) in policy.rules(direction).iter().enumerate() {
                let single = single_rule_model(model, policy, direction, rule);
                let allowed = slices.after(&single, targets, &[direction]);
                alone.insert((index, direction, i), allowed);
            }
        }
    }
    alone
}

/// The model with only `rule` of `policy`, in `direction`.
fn single_rule_model(
    model: &Model,
    policy: &NetworkPolicy,
    direction: PolicyType,
    rule: &NetworkPolicyRule,
) -> Model {
    let mut p = policy.clone();
    p.policy_types = vec![direction];
    p.ingress = Vec::new();
    p.egress = Vec::new();
    match direction {
        PolicyType::Ingress => p.ingress.push(rule.clone()),
        PolicyType::Egress => p.egress.push(rule.clone()),
    }
    Model {
        cluster: model.cluster.clone(),
        policies: vec![p],
        ..Model::default()
    }
}

/// The rule list of `policy` (found by its span and name) in `model`.
pub(super) fn rules_mut<'m>(
    model: &'m mut Model,
    policy: &NetworkPolicy,
    direction: PolicyType,
) -> Option<&'m mut Vec<NetworkPolicyRule>> {
    let p = model.policies.iter_mut().find(|p| {
        p.span == policy.span && p.name == policy.name && p.namespace == policy.namespace
    })?;
    Some(match direction {
        PolicyType::Ingress => &mut p.ingress,
        PolicyType::Egress => &mut p.egress,
    })
}

/// The first pair where `direction`'s side of a target allows something in `before` that
/// it does not in `after` (the pair verdict of each side through every tier, not the
/// connection), worded as `x/a -> y/b on TCP 80, denied by the ingress of y/b`; `None` when
/// that side allows the same everywhere. Used when a removal changes no connection, to
/// tell "other rules allow the same" from "the other end denies it anyway".
pub(super) fn side_change(
    before: &Model,
    after: &Model,
    slices: &Slices,
    targets: &[usize],
    direction: PolicyType,
) -> Option<String> {
    let (pair, lost) = first_change(before, after, slices, targets, direction, Tiers::All)?;
    let (me, other) = pair.names(before);
    Some(match direction {
        PolicyType::Egress => {
            format!("{me} -> {other} on {lost}, denied by the ingress of {other}")
        }
        PolicyType::Ingress => {
            format!("{other} -> {me} on {lost}, denied by the egress of {other}")
        }
    })
}

/// The first pair where the NetworkPolicy tier of `direction`'s side admits something in
/// `before` that it does not in `after`, while the side through every tier does not
/// change (see [`side_change`]): a cluster policy decides it first. Worded as `x/a -> y/b
/// on TCP 80, decided first by [Admin] ...`.
pub(super) fn decided_first(
    before: &Model,
    after: &Model,
    slices: &Slices,
    targets: &[usize],
    direction: PolicyType,
) -> Option<String> {
    let (pair, lost) = first_change(before, after, slices, targets, direction, Tiers::None)?;
    let (me, other) = pair.names(before);
    let (src, dst) = match direction {
        PolicyType::Egress => (Endpoint::Pod(pair.target), pair.peer),
        PolicyType::Ingress => (pair.peer, Endpoint::Pod(pair.target)),
    };
    let verdict = pair::evaluate_pair(before, src, dst);
    let chain = match direction {
        PolicyType::Egress => verdict.egress_chain,
        PolicyType::Ingress => verdict.ingress_chain,
    };
    let by = chain.steps.iter().find_map(|step| match step {
        PairStep::Rule { rule, ports }
            if rule.decides().is_some() && !ports.intersection(&lost).is_empty() =>
        {
            Some(render::tier_rule(rule))
        }
        _ => None,
    })?;
    let lost = render::ports_text(&lost);
    Some(match direction {
        PolicyType::Egress => format!("{me} -> {other} on {lost}, decided first by {by}"),
        PolicyType::Ingress => format!("{other} -> {me} on {lost}, decided first by {by}"),
    })
}

/// Which side verdict [`first_change`] compares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tiers {
    /// Through every tier.
    All,
    /// The NetworkPolicy tier alone.
    None,
}

/// A target and one of its peers.
struct Pair {
    target: usize,
    peer: Endpoint,
}

impl Pair {
    fn names(&self, model: &Model) -> (String, String) {
        (
            render::endpoint_name(model, &Endpoint::Pod(self.target)),
            render::endpoint_name(model, &self.peer),
        )
    }
}

/// The first (target, peer) whose side allows something in `before` that it does not in
/// `after`, with what it lost.
fn first_change(
    before: &Model,
    after: &Model,
    slices: &Slices,
    targets: &[usize],
    direction: PolicyType,
    tiers: Tiers,
) -> Option<(Pair, AllowedPorts)> {
    let side = |model: &Model, t: usize, peer: Endpoint| {
        let (src, dst) = match direction {
            PolicyType::Egress => (Endpoint::Pod(t), peer),
            PolicyType::Ingress => (peer, Endpoint::Pod(t)),
        };
        let verdict = pair::evaluate_pair(model, src, dst);
        match (direction, tiers) {
            (PolicyType::Egress, Tiers::All) => verdict.egress_ports(),
            (PolicyType::Ingress, Tiers::All) => verdict.ingress_ports(),
            (PolicyType::Egress, Tiers::None) => verdict.egress.ports(),
            (PolicyType::Ingress, Tiers::None) => verdict.ingress.ports(),
        }
    };
    for &target in targets {
        for &peer in &slices.peers {
            let (was, is) = (side(before, target, peer), side(after, target, peer));
            if was != is {
                return Some((Pair { target, peer }, was.difference(&is)));
            }
        }
    }
    None
}

/// Whether a removal that changes no connection of the input also changes nothing for the
/// pods that do not exist yet, judged on the exposure of each target (`crate::exposure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Beyond {
    /// The targets admit the same peer descriptions with the same ports either way.
    Same,
    /// What only the removed part admits, every pod it describes refuses on its own side.
    Refused,
    /// Some pod that does not exist yet would be affected: not reported.
    Matters,
}

/// See [`Beyond`]; `after` is `before` without the removed policy or rule.
pub(super) fn beyond(
    before: &Model,
    after: &Model,
    targets: &[usize],
    directions: &[PolicyType],
) -> Beyond {
    let mut verdict = Beyond::Same;
    for &t in targets {
        let (Some(was), Some(is)) = (exposure::exposure(before, t), exposure::exposure(after, t))
        else {
            return Beyond::Matters;
        };
        for &d in directions {
            let side = |e: &exposure::EndpointExposure| match d {
                PolicyType::Ingress => e.ingress.clone(),
                PolicyType::Egress => e.egress.clone(),
            };
            let (was, is) = (side(&was), side(&is));
            if was.same_admissions(&is) {
                continue;
            }
            let lost = was
                .exposures
                .iter()
                .filter(|x| !is.exposures.iter().any(|y| y.same_admission(x)));
            for x in lost {
                if !exposure::certainly_refused(before, x, t, d) {
                    return Beyond::Matters;
                }
            }
            verdict = Beyond::Refused;
        }
    }
    verdict
}

/// Whether a rule allows nothing on its own (then the selector and named-port findings say
/// why, and redundancy has nothing to add).
pub(super) fn allows_nothing(allowed: &[AllowedPorts]) -> bool {
    allowed.iter().all(AllowedPorts::is_empty)
}
