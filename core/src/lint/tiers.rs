//! The semantic checks of cluster policies: `cluster-rule-shadowed`, `pass-allows` and
//! `same-priority-overlap`. Each looks at the tier chains of concrete pairs — every pod a
//! cluster policy applies to, against every pod and one address per outside-address class —
//! so a finding always comes with a pair as evidence. The scan costs one pair chain per
//! (subject, peer, direction), so it runs up to the redundancy bounds and says so with
//! `tier-checks-skipped` otherwise.

use super::{cluster_rule_shadowed, pass_allows, same_priority_overlap, Cx};
use crate::chain::PairChain;
use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::Engine;
use crate::model::{Endpoint, Model, PolicyType};
use crate::pair::evaluate_pair;
use crate::tiers::{in_subject, PairSide};

/// Every endpoint a chain is asked about: the pods, then one address per outside class.
pub(super) fn peers(model: &Model) -> Vec<Endpoint> {
    let mut peers: Vec<Endpoint> = (0..model.cluster.pods.len()).map(Endpoint::Pod).collect();
    peers.extend(
        Engine::new(model)
            .address_classes()
            .into_iter()
            .map(|c| Endpoint::Address(c.representative)),
    );
    peers
}

/// The pods some cluster policy applies to in `direction`.
pub(super) fn subjects(model: &Model, direction: PolicyType) -> Vec<usize> {
    (0..model.cluster.pods.len())
        .filter(|i| {
            let pod = &model.cluster.pods[*i];
            model
                .cluster_policies
                .iter()
                .any(|p| !p.rules(direction).is_empty() && in_subject(&model.cluster, p, pod))
        })
        .collect()
}

/// One side of a pair: the subject pod, the other end and the direction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pair {
    pub(super) direction: PolicyType,
    pub(super) subject: usize,
    pub(super) peer: Endpoint,
}

impl Pair {
    /// The side as the tiers module asks about it (named ports at the destination).
    pub(super) fn side<'m>(&self, model: &'m Model) -> PairSide<'m> {
        let pods = &model.cluster.pods;
        let dst_pod = match (self.direction, self.peer) {
            (PolicyType::Ingress, _) => pods.get(self.subject),
            (PolicyType::Egress, Endpoint::Pod(i)) => pods.get(i),
            (PolicyType::Egress, Endpoint::Address(_)) => None,
        };
        PairSide {
            direction: self.direction,
            subject: Endpoint::Pod(self.subject),
            peer: self.peer,
            dst_pod,
        }
    }

    /// `prod/web -> 10.0.0.5` in the flow's direction.
    pub(super) fn text(&self, model: &Model) -> String {
        let subject = crate::render::endpoint_name(model, &Endpoint::Pod(self.subject));
        let peer = crate::render::endpoint_name(model, &self.peer);
        match self.direction {
            PolicyType::Egress => format!("{subject} -> {peer}"),
            PolicyType::Ingress => format!("{peer} -> {subject}"),
        }
    }

    /// This side's chain, from the pair verdict.
    fn chain(&self, model: &Model) -> PairChain {
        let subject = Endpoint::Pod(self.subject);
        match self.direction {
            PolicyType::Egress => evaluate_pair(model, subject, self.peer).egress_chain,
            PolicyType::Ingress => evaluate_pair(model, self.peer, subject).ingress_chain,
        }
    }
}

/// Runs the three checks, unless the model is too large.
pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let model = cx.model;
    if model.cluster_policies.is_empty() {
        return;
    }
    if model.cluster.pods.len() > cx.options.max_pods {
        out.push(
            Diagnostic::new(
                "tier-checks-skipped",
                Severity::Info,
                None,
                format!(
                    "cluster-rule-shadowed, pass-allows and same-priority-overlap were not checked: {} endpoints exceed the bound of {}",
                    model.cluster.pods.len(),
                    cx.options.max_pods
                ),
            )
            .with_help("lint a smaller part of the cluster to get these checks"),
        );
        return;
    }
    let peers = peers(model);
    let mut shadowed = cluster_rule_shadowed::Tracker::new(model);
    let mut passes = pass_allows::Tracker::new(model);
    for direction in [PolicyType::Ingress, PolicyType::Egress] {
        for subject in subjects(model, direction) {
            for &peer in &peers {
                let pair = Pair {
                    direction,
                    subject,
                    peer,
                };
                let chain = pair.chain(model);
                shadowed.see(model, &pair, &chain);
                passes.see(&pair, &chain);
            }
        }
    }
    shadowed.report(model, out);
    passes.report(model, out);
    same_priority_overlap::check(model, &peers, out);
}
