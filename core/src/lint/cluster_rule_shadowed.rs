//! `cluster-rule-shadowed`: a rule of an Admin or Baseline cluster policy that matches
//! traffic but never decides any: an earlier rule of its tier (a higher-precedence policy,
//! or an earlier rule of its own) takes all of it first, or — for the Baseline tier — the
//! Admin tier or the NetworkPolicies decide it before the Baseline is reached.

use std::collections::BTreeMap;

use super::common::finding;
use super::tiers::Pair;
use crate::chain::{PairChain, PairStep};
use crate::diagnostic::{Diagnostic, Related, Severity, Span};
use crate::model::{Model, PolicyType};
use crate::ports::AllowedPorts;
use crate::render::{cluster_policy_name, cluster_rule_name, ports_text};
use crate::tiers::{in_subject, policy_ref, rule_match_ports, rule_ref};

/// A rule: (cluster policy index, direction, rule index).
type RuleKey = (usize, PolicyType, usize);

/// The first pair where a rule matched without deciding, and what took its traffic.
struct Example {
    pair: Pair,
    ports: AllowedPorts,
    by: String,
    by_span: Option<Span>,
}

/// Collects, over every pair, which rules matched and which decided something.
pub(super) struct Tracker {
    decided: BTreeMap<RuleKey, bool>,
    examples: BTreeMap<RuleKey, Example>,
}

impl Tracker {
    pub(super) fn new(_model: &Model) -> Tracker {
        Tracker {
            decided: BTreeMap::new(),
            examples: BTreeMap::new(),
        }
    }

    /// One side of one pair: marks the rules its chain shows deciding, and remembers the
    /// first pair where a rule matches but something else decided.
    pub(super) fn see(&mut self, model: &Model, pair: &Pair, chain: &PairChain) {
        for step in &chain.steps {
            if let PairStep::Rule { rule, .. } = step {
                self.decided
                    .insert((rule.policy.index, rule.direction, rule.index), true);
            }
        }
        let pod = &model.cluster.pods[pair.subject];
        let side = pair.side(model);
        for (p, policy) in model.cluster_policies.iter().enumerate() {
            if !in_subject(&model.cluster, policy, pod) {
                continue;
            }
            for (i, rule) in policy.rules(pair.direction).iter().enumerate() {
                let key = (p, pair.direction, i);
                if self.decided.get(&key) == Some(&true) || self.examples.contains_key(&key) {
                    continue;
                }
                let own = rule_match_ports(model, &side, rule);
                if own.is_empty() {
                    continue;
                }
                let (by, by_span) = taker(chain, &own);
                self.examples.insert(
                    key,
                    Example {
                        pair: *pair,
                        ports: own,
                        by,
                        by_span,
                    },
                );
            }
        }
    }

    pub(super) fn report(&self, model: &Model, out: &mut Vec<Diagnostic>) {
        for (key, example) in &self.examples {
            if self.decided.get(key) == Some(&true) {
                continue;
            }
            let (p, direction, i) = *key;
            let policy = &model.cluster_policies[p];
            let rule = &policy.rules(direction)[i];
            let reference = rule_ref(&policy_ref(p, policy), direction, i, rule);
            let mut f = finding(
                "cluster-rule-shadowed",
                Severity::Warning,
                Some(rule.span),
                format!(
                    "{} of {} never decides anything: what it matches is decided before it, e.g. {} on {} by {}",
                    cluster_rule_name(&reference),
                    cluster_policy_name(&reference.policy),
                    example.pair.text(model),
                    ports_text(&example.ports),
                    example.by
                ),
                "delete the rule, or move it (or its policy, by priority) before what takes its traffic",
            );
            if let Some(span) = example.by_span {
                f.related = vec![Related {
                    span,
                    label: Some("decides first".into()),
                }];
            }
            out.push(f);
        }
    }
}

/// The first step of a chain that decided some of `ports`: a rule (earlier in the tier,
/// or the Admin tier) or the NetworkPolicies.
fn taker(chain: &PairChain, ports: &AllowedPorts) -> (String, Option<Span>) {
    for step in &chain.steps {
        match step {
            PairStep::Rule { rule, ports: taken } if !taken.intersection(ports).is_empty() => {
                return (
                    format!(
                        "{} of {}",
                        cluster_rule_name(rule),
                        cluster_policy_name(&rule.policy)
                    ),
                    Some(rule.span),
                );
            }
            PairStep::NetworkPolicy { isolated: true, .. } => {
                return (
                    "the NetworkPolicies isolating it (the Baseline tier is never reached)".into(),
                    None,
                );
            }
            _ => {}
        }
    }
    ("an earlier step".into(), None)
}
