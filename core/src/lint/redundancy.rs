//! The engine comparisons behind `redundant-policy`, `shadowed-rule` and `redundant-rule`:
//! a policy or rule is redundant when the model without it has the same connections.
//!
//! Only the connections a policy can change are compared: into its targets (ingress) and
//! out of them (egress); everything else is the same with or without it. Removals are
//! greedy and cumulative (`working`): once something is reported it is judged gone, so of
//! two equivalent policies or rules only one is reported.

use std::collections::BTreeMap;

use super::{redundancy_skipped, redundant_policy, redundant_rule, shadowed_rule, Cx};
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
        diagnostics: Vec::new(),
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
/// it does not in `after` (the pair verdict of each side, not the connection), worded as
/// `x/a -> y/b on TCP 80, denied by the ingress of y/b`; `None` when that side allows the
/// same everywhere. Used when a removal changes no connection, to tell "other rules allow
/// the same" from "the other end denies it anyway".
pub(super) fn side_change(
    before: &Model,
    after: &Model,
    slices: &Slices,
    targets: &[usize],
    direction: PolicyType,
) -> Option<String> {
    let side = |model: &Model, t: usize, peer: Endpoint| match direction {
        PolicyType::Egress => pair::evaluate_pair(model, Endpoint::Pod(t), peer)
            .egress
            .ports(),
        PolicyType::Ingress => pair::evaluate_pair(model, peer, Endpoint::Pod(t))
            .ingress
            .ports(),
    };
    for &t in targets {
        for &peer in &slices.peers {
            let (was, is) = (side(before, t, peer), side(after, t, peer));
            if was == is {
                continue;
            }
            let lost = render::ports_text(&difference(&was, &is));
            let (me, other) = (
                render::endpoint_name(before, &Endpoint::Pod(t)),
                render::endpoint_name(before, &peer),
            );
            return Some(match direction {
                PolicyType::Egress => {
                    format!("{me} -> {other} on {lost}, denied by the ingress of {other}")
                }
                PolicyType::Ingress => {
                    format!("{other} -> {me} on {lost}, denied by the egress of {other}")
                }
            });
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
            let lost = was.exposures.iter().filter(|x| {
                !is.exposures
                    .iter()
                    .any(|y| y.peer == x.peer && y.ports == x.ports && y.named == x.named)
            });
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

/// Per protocol, the ports of `a` not in `b`.
fn difference(a: &AllowedPorts, b: &AllowedPorts) -> AllowedPorts {
    let mut out = AllowedPorts::default();
    for p in crate::model::Protocol::ALL {
        let keep = a
            .get(p)
            .ranges
            .iter()
            .flat_map(|&(x, y)| (x..=y).filter(|n| !b.get(p).contains(*n)))
            .map(|n| (n, n));
        *out.get_mut(p) = crate::ports::PortSet::from_ranges(keep);
    }
    out
}

/// Whether a rule allows nothing on its own (then the selector and named-port findings say
/// why, and redundancy has nothing to add).
pub(super) fn allows_nothing(allowed: &[AllowedPorts]) -> bool {
    allowed.iter().all(AllowedPorts::is_empty)
}
