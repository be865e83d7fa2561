//! `pass-allows`: a Pass that in effect allows. An Admin-tier Pass hands its traffic to the
//! NetworkPolicies and then the Baseline tier; when no NetworkPolicy isolates the pods it
//! applies to and no Baseline rule denies the traffic, the Pass ends in Kubernetes' default
//! allow everywhere it matches — an Accept in disguise, or a delegation to policies that do
//! not exist. A Pass of the Baseline tier always allows: nothing comes after it.

use std::collections::BTreeMap;

use super::common::finding;
use super::tiers::Pair;
use crate::chain::{ClusterRuleRef, PairChain, PairStep};
use crate::cluster_policy::{RuleAction, Tier};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{Model, PolicyType};
use crate::ports::AllowedPorts;
use crate::render::{cluster_policy_name, cluster_rule_name, ports_text};

type RuleKey = (usize, PolicyType, usize);

/// What one Pass rule did over every pair.
struct Seen {
    rule: ClusterRuleRef,
    /// Every pair where it passed something ended allowed on all of it.
    always_allowed: bool,
    example: Option<(Pair, AllowedPorts)>,
}

pub(super) struct Tracker {
    passes: BTreeMap<RuleKey, Seen>,
}

impl Tracker {
    pub(super) fn new(_model: &Model) -> Tracker {
        Tracker {
            passes: BTreeMap::new(),
        }
    }

    pub(super) fn see(&mut self, pair: &Pair, chain: &PairChain) {
        for (at, step) in chain.steps.iter().enumerate() {
            let PairStep::Rule { rule, ports } = step else {
                continue;
            };
            if rule.effective_action() != RuleAction::Pass {
                continue;
            }
            let allowed =
                rule.policy.tier == Tier::Baseline || ends_allowed(&chain.steps[at + 1..], ports);
            let key = (rule.policy.index, rule.direction, rule.index);
            let seen = self.passes.entry(key).or_insert_with(|| Seen {
                rule: rule.clone(),
                always_allowed: true,
                example: None,
            });
            seen.always_allowed &= allowed;
            if seen.example.is_none() {
                seen.example = Some((*pair, ports.clone()));
            }
        }
    }

    pub(super) fn report(&self, model: &Model, out: &mut Vec<Diagnostic>) {
        for seen in self.passes.values() {
            let Some((pair, ports)) = &seen.example else {
                continue;
            };
            if !seen.always_allowed {
                continue;
            }
            let rule = &seen.rule;
            let (message, help) = match rule.policy.tier {
                Tier::Baseline => (
                    format!(
                        "the Pass in {} of {} allows: nothing comes after the Baseline tier but the default allow (e.g. {} on {})",
                        cluster_rule_name(rule),
                        cluster_policy_name(&rule.policy),
                        pair.text(model),
                        ports_text(ports)
                    ),
                    "write `action: Accept` to say so",
                ),
                Tier::Admin => (
                    format!(
                        "the Pass in {} of {} in effect allows: wherever it matches, no NetworkPolicy isolates the pod and no Baseline rule denies the traffic (e.g. {} on {})",
                        cluster_rule_name(rule),
                        cluster_policy_name(&rule.policy),
                        pair.text(model),
                        ports_text(ports)
                    ),
                    "write `action: Accept` if allowing is meant; otherwise add the NetworkPolicy or Baseline rule the Pass should hand the traffic to",
                ),
            };
            out.push(finding(
                "pass-allows",
                Severity::Warning,
                Some(rule.span),
                message,
                help,
            ));
        }
    }
}

/// Whether the steps after an Admin Pass allow all of `passed`: the NetworkPolicies do not
/// isolate the pod, and no Baseline rule denies any of it.
fn ends_allowed(after: &[PairStep], passed: &AllowedPorts) -> bool {
    for step in after {
        match step {
            PairStep::NetworkPolicy { isolated: true, .. } => return false,
            PairStep::Rule { rule, ports }
                if rule.policy.tier == Tier::Baseline
                    && rule.effective_action() == RuleAction::Deny
                    && !ports.intersection(passed).is_empty() =>
            {
                return false
            }
            _ => {}
        }
    }
    true
}
