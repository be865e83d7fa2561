//! The tier chain of one side of a flow — plain data, rendered elsewhere.
//!
//! Each direction is decided on its own side (egress at the source, ingress at the
//! destination), through the tiers in order: the Admin tier (cluster policies selecting
//! the pod, by priority; the first matching rule decides, Pass skips the rest of the tier),
//! then the NetworkPolicy tier (if any NetworkPolicy isolates the pod in that direction it
//! decides), then the Baseline tier, then Kubernetes' default, allow. A [`TierChain`] lists
//! the steps one flow took; a [`PairChain`] the same for a pair on every port, each step
//! with the ports it decided.

use serde::Serialize;

use crate::cluster_policy::{ClusterPolicyKind, RuleAction, Tier};
use crate::diagnostic::Span;
use crate::model::PolicyType;
use crate::ports::AllowedPorts;

/// A cluster policy, by index into [`crate::Model::cluster_policies`], with its identity for
/// display.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClusterPolicyRef {
    /// Index into `Model::cluster_policies`.
    pub index: usize,
    /// Which object it is.
    pub kind: ClusterPolicyKind,
    /// Its tier.
    pub tier: Tier,
    /// `metadata.name`.
    pub name: String,
    /// `spec.priority`; `None` for a BaselineAdminNetworkPolicy.
    pub priority: Option<u32>,
    /// The policy document's text.
    pub span: Span,
}

/// One rule of a cluster policy: `spec.ingress[index]` or `spec.egress[index]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClusterRuleRef {
    /// The policy.
    pub policy: ClusterPolicyRef,
    /// Which list the rule is in.
    pub direction: PolicyType,
    /// 0-based index in that list.
    pub index: usize,
    /// The rule's `name`, if it has one.
    pub name: Option<String>,
    /// The action as written.
    pub action: RuleAction,
    /// The rule could not be read whole and fails closed (see
    /// [`crate::ClusterPolicyRule::fail_closed`]): a fail-closed Pass denies.
    pub fail_closed: bool,
    /// The rule's text.
    pub span: Span,
}

impl ClusterRuleRef {
    /// What the rule does when it matches: its action, except that a fail-closed Pass
    /// denies.
    pub fn effective_action(&self) -> RuleAction {
        match (self.fail_closed, self.action) {
            (true, RuleAction::Pass) => RuleAction::Deny,
            (_, action) => action,
        }
    }

    /// Whether the traffic this rule matched is allowed in the end without consulting
    /// anything else: Accept, or a Pass of the Baseline tier (nothing comes after it).
    /// `None` for an Admin Pass, which hands the traffic to the next tier.
    pub fn decides(&self) -> Option<bool> {
        match (self.effective_action(), self.policy.tier) {
            (RuleAction::Accept, _) => Some(true),
            (RuleAction::Deny, _) => Some(false),
            (RuleAction::Pass, Tier::Baseline) => Some(true),
            (RuleAction::Pass, Tier::Admin) => None,
        }
    }
}

/// Why one rule of a selecting cluster policy did not match the flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterRuleMiss {
    /// The rule.
    pub rule: ClusterRuleRef,
    /// Some `from`/`to` entry matched the other end.
    pub peer_matched: bool,
    /// The port and protocol matched `ports` (or the rule has none).
    pub port_matched: bool,
}

/// One step of a side's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TierStep {
    /// A rule of an Admin or Baseline cluster policy matched: its action applies. Accept
    /// and Deny end the chain; an Admin Pass continues at the NetworkPolicy tier; a
    /// Baseline Pass ends in allow.
    Rule {
        /// The matching rule (its policy and tier included).
        rule: ClusterRuleRef,
    },
    /// A cluster policy selects the endpoint and has rules in this direction, but none
    /// matched: evaluation goes on with the next policy or tier.
    NoRuleMatched {
        /// The policy.
        policy: ClusterPolicyRef,
        /// Its rules in this direction, each with what missed.
        misses: Vec<ClusterRuleMiss>,
    },
    /// The NetworkPolicy tier. Isolated: it decided, and the details are the verdict's
    /// `egress`/`ingress` [`crate::DirectionVerdict`]; not isolated: evaluation goes on
    /// with the Baseline tier.
    NetworkPolicy {
        /// Some NetworkPolicy isolates the endpoint in this direction.
        isolated: bool,
        /// What the NetworkPolicies decided (true when not isolated).
        allowed: bool,
    },
    /// No tier decided: Kubernetes' default, allowed.
    Default,
}

/// The decision of one side, step by step. `is_allowed` is derived from the last step,
/// never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TierChain {
    /// The steps, in evaluation order; the last one decided.
    pub steps: Vec<TierStep>,
    /// Rules with `domainNames` peers that were reached with an address as the other end
    /// before the deciding step: whether a domain name resolves to that address cannot be
    /// known from manifests, so if it does, that rule (an Accept) decides instead. The
    /// verdict is the answer for an address no such name resolves to.
    pub unknown: Vec<ClusterRuleRef>,
}

impl TierChain {
    /// Whether this side lets the flow through: what the last step decided.
    pub fn is_allowed(&self) -> bool {
        match self.steps.last() {
            Some(TierStep::Rule { rule }) => rule.decides().unwrap_or(true),
            Some(TierStep::NetworkPolicy { allowed, .. }) => *allowed,
            Some(TierStep::NoRuleMatched { .. } | TierStep::Default) => true,
            // No step at all is never produced; read it as nothing known, nothing allowed.
            None => false,
        }
    }

    /// The tier of the step that decided: `None` for the default allow.
    pub fn decided_by(&self) -> Option<DecidingTier> {
        match self.steps.last() {
            Some(TierStep::Rule { rule }) => Some(match rule.policy.tier {
                Tier::Admin => DecidingTier::Admin,
                Tier::Baseline => DecidingTier::Baseline,
            }),
            Some(TierStep::NetworkPolicy { isolated: true, .. }) => {
                Some(DecidingTier::NetworkPolicy)
            }
            _ => None,
        }
    }

    /// Whether any cluster policy took part (a step other than the NetworkPolicy tier and
    /// the default): when not, the chain says nothing the NetworkPolicy verdict does not.
    pub fn has_cluster_policies(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, TierStep::Rule { .. } | TierStep::NoRuleMatched { .. }))
    }
}

/// The tier that decided a side (or, through [`connection_tier`] and
/// [`pair_connection_tier`], a whole connection). Ordered as evaluated: Admin, then
/// NetworkPolicy, then Baseline; `None` where a tier is expected means Kubernetes' default
/// allow, after all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DecidingTier {
    /// An Admin-tier rule (Accept or Deny).
    Admin,
    /// The NetworkPolicies isolating the endpoint.
    NetworkPolicy,
    /// A Baseline-tier rule.
    Baseline,
}

/// One step of a side's chain for a pair on every port: what each step decided, as ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PairStep {
    /// A cluster policy rule matched these ports (those it matches that no earlier rule of
    /// the tier decided, or passed): its action applies to them.
    Rule {
        /// The rule.
        rule: ClusterRuleRef,
        /// The ports it decides for this pair.
        ports: AllowedPorts,
    },
    /// A cluster policy selects the endpoint, but none of its rules decides a port still
    /// open for this pair.
    NoRuleMatched {
        /// The policy.
        policy: ClusterPolicyRef,
    },
    /// The NetworkPolicy tier, for the ports that reach it. Isolated: it allows `allowed`
    /// of them and denies the rest (details in the pair verdict's `egress`/`ingress`); not
    /// isolated: they go on to the Baseline tier.
    NetworkPolicy {
        /// Some NetworkPolicy isolates the endpoint in this direction.
        isolated: bool,
        /// The ports no Admin rule decided.
        reaching: AllowedPorts,
        /// Of those, what the NetworkPolicies allow (when isolated).
        allowed: AllowedPorts,
    },
    /// Ports no tier decided: allowed by Kubernetes' default.
    Default {
        /// The ports.
        ports: AllowedPorts,
    },
}

/// A side of a pair on every port, step by step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PairChain {
    /// The steps, in evaluation order.
    pub steps: Vec<PairStep>,
    /// Rules with `domainNames` peers reached with an address as the other end (see
    /// [`TierChain::unknown`]).
    pub unknown: Vec<ClusterRuleRef>,
}

impl PairChain {
    /// The ports this side lets through: those allowed by an Accept (or a Baseline Pass),
    /// by the isolating NetworkPolicies, or by the default.
    pub fn ports(&self) -> AllowedPorts {
        self.steps
            .iter()
            .fold(AllowedPorts::default(), |all, step| match step {
                PairStep::Rule { rule, ports } if rule.decides() == Some(true) => all.union(ports),
                PairStep::NetworkPolicy {
                    isolated: true,
                    allowed,
                    ..
                } => all.union(allowed),
                PairStep::Default { ports } => all.union(ports),
                _ => all,
            })
    }

    /// Whether any cluster policy took part.
    pub fn has_cluster_policies(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, PairStep::Rule { .. } | PairStep::NoRuleMatched { .. }))
    }
}

/// The earliest tier in evaluation order, the default (`None`) last.
fn earliest(tiers: impl Iterator<Item = Option<DecidingTier>>) -> Option<DecidingTier> {
    tiers
        .min_by_key(|t| t.map_or(u8::MAX, |t| t as u8))
        .flatten()
}

/// The tier a connection on one port is attributed to, from its two sides' chains (the
/// source's egress, the destination's ingress): when denied, the tier that denied it (the
/// earliest when both sides deny); when allowed, the earliest tier that decided either side
/// (an Admin Accept before a NetworkPolicy allow, before a Baseline rule, before the
/// default). `None`: nothing decided, Kubernetes' default.
pub(crate) fn connection_tier(egress: &TierChain, ingress: &TierChain) -> Option<DecidingTier> {
    let allowed = egress.is_allowed() && ingress.is_allowed();
    earliest(
        [egress, ingress]
            .into_iter()
            .filter(|chain| allowed || !chain.is_allowed())
            .map(TierChain::decided_by),
    )
}

/// The tier a pair on every port is attributed to: when allowed, the earliest tier of the
/// steps that let some port through on either side; when denied, of the steps that closed a
/// side admitting nothing (or, when each side admits something but nothing in common, of
/// every closing step).
pub(crate) fn pair_connection_tier(
    egress: &PairChain,
    ingress: &PairChain,
) -> Option<DecidingTier> {
    let (out, inn) = (egress.ports(), ingress.ports());
    let allowed = !out.intersection(&inn).is_empty();
    let closed_side = out.is_empty() || inn.is_empty();
    let tiers = [(egress, &out), (ingress, &inn)]
        .into_iter()
        .filter(|(_, ports)| allowed || !closed_side || ports.is_empty())
        .flat_map(|(chain, _)| chain.deciding_steps(allowed));
    earliest(tiers)
}

impl PairChain {
    /// The tier of each step that allows ports (`allowing`) or denies some, in order;
    /// `None` for the default's.
    fn deciding_steps(&self, allowing: bool) -> Vec<Option<DecidingTier>> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                PairStep::Rule { rule, ports } if !ports.is_empty() => match rule.decides() {
                    Some(allows) if allows == allowing => Some(Some(match rule.policy.tier {
                        Tier::Admin => DecidingTier::Admin,
                        Tier::Baseline => DecidingTier::Baseline,
                    })),
                    _ => None,
                },
                PairStep::NetworkPolicy {
                    isolated: true,
                    reaching,
                    allowed,
                } => {
                    let decided = if allowing {
                        !allowed.is_empty()
                    } else {
                        !reaching.difference(allowed).is_empty()
                    };
                    decided.then_some(Some(DecidingTier::NetworkPolicy))
                }
                PairStep::Default { ports } if allowing && !ports.is_empty() => Some(None),
                _ => None,
            })
            .collect()
    }
}
