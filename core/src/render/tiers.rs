//! Text for the tier chain of a side: one line per step, in evaluation order.
//!
//! ```text
//! egress from prod/api: denied
//!   [Admin] AdminNetworkPolicy cluster-guardrails (priority 10): Deny, rule no-dev (spec.egress[0], line 12)
//! ingress to prod/db: allowed
//!   [Admin] ClusterNetworkPolicy tenants (priority 20): Pass, rule delegate-tenant-blue (spec.ingress[0], line 9)
//!   [NetworkPolicy] allowed
//!     isolated by prod/db-ingress
//!     allowed by prod/db-ingress spec.ingress[0] (line 7)
//! ```

use std::fmt::Write as _;

use super::ports_text;
use crate::chain::{
    ClusterPolicyRef, ClusterRuleMiss, ClusterRuleRef, PairChain, PairStep, TierChain, TierStep,
};
use crate::cluster_policy::{RuleAction, Tier};
use crate::model::PolicyType;
use crate::verdict::DirectionVerdict;

/// `AdminNetworkPolicy cluster-guardrails (priority 10)`; a BaselineAdminNetworkPolicy
/// has no priority.
pub fn cluster_policy_name(policy: &ClusterPolicyRef) -> String {
    match policy.priority {
        Some(p) => format!("{} {} (priority {p})", policy.kind.as_str(), policy.name),
        None => format!("{} {}", policy.kind.as_str(), policy.name),
    }
}

/// `rule delegate-tenant-blue (spec.egress[0], line 9)`, or `spec.egress[0] (line 9)` for a
/// rule without a name.
pub fn cluster_rule_name(rule: &ClusterRuleRef) -> String {
    let list = match rule.direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    };
    let place = if rule.span.line > 0 {
        format!("spec.{list}[{}], line {}", rule.index, rule.span.line)
    } else {
        format!("spec.{list}[{}]", rule.index)
    };
    match &rule.name {
        Some(name) => format!("rule {name} ({place})"),
        None => format!("rule {place}"),
    }
}

/// `[Admin] ClusterNetworkPolicy guardrails (priority 10): Deny, rule no-dev (spec.ingress[1],
/// line 14)`: a cluster rule with its tier, policy and action.
pub fn tier_rule(rule: &ClusterRuleRef) -> String {
    format!(
        "{} {}: {}",
        tier_tag(rule.policy.tier),
        cluster_policy_name(&rule.policy),
        action_text(rule)
    )
}

/// `[Admin]` or `[Baseline]`.
pub(super) fn tier_tag(tier: Tier) -> &'static str {
    match tier {
        Tier::Admin => "[Admin]",
        Tier::Baseline => "[Baseline]",
    }
}

/// `Deny, rule x (...)`; a rule that fails closed says so.
fn action_text(rule: &ClusterRuleRef) -> String {
    let word = rule.action.word(rule.policy.kind);
    let closed = match (rule.fail_closed, rule.action) {
        (false, _) => "",
        (true, RuleAction::Pass) => " (could not be read: fails closed, denies)",
        (true, _) => " (could not be read: fails closed)",
    };
    format!("{word}{closed}, {}", cluster_rule_name(rule))
}

/// What missed, for one rule of a policy that matched nothing.
fn miss_text(miss: &ClusterRuleMiss) -> String {
    let why = match (miss.rule.fail_closed, miss.peer_matched, miss.port_matched) {
        (true, _, _) => "could not be read and fails closed: matches nothing",
        (_, false, false) => "neither peer nor port matches",
        (_, false, true) => "no peer matches",
        (_, true, false) => "peer matches, port does not",
        (_, true, true) => "matches",
    };
    format!("{}: {why}", cluster_rule_name(&miss.rule))
}

/// The one-line summary of a side's chain, for edges and tooltips:
/// `[Admin] cluster-guardrails: Pass (rule delegate-tenant-blue) → [NetworkPolicy] allowed by
/// prod/allow-web spec.ingress[0]`.
pub fn chain_summary(chain: &TierChain, np: &DirectionVerdict) -> String {
    let mut parts = Vec::new();
    for step in &chain.steps {
        parts.push(match step {
            TierStep::Rule { rule } => {
                let name = rule.name.as_deref().map_or_else(
                    || format!("spec.{}[{}]", list_word(rule.direction), rule.index),
                    |n| format!("rule {n}"),
                );
                format!(
                    "{} {}: {} ({name})",
                    tier_tag(rule.policy.tier),
                    rule.policy.name,
                    rule.action.word(rule.policy.kind)
                )
            }
            TierStep::NoRuleMatched { policy, .. } => {
                format!("{} {}: no rule matched", tier_tag(policy.tier), policy.name)
            }
            TierStep::NetworkPolicy {
                isolated: false, ..
            } => "[NetworkPolicy] not isolated".to_string(),
            TierStep::NetworkPolicy { isolated: true, .. } => match np {
                DirectionVerdict::Allowed { by, .. } => {
                    let rules: Vec<String> = by.iter().map(short_rule).collect();
                    format!("[NetworkPolicy] allowed by {}", rules.join(", "))
                }
                _ => "[NetworkPolicy] denied".to_string(),
            },
            TierStep::Default => "[Default] allowed".to_string(),
        });
    }
    parts.join(" → ")
}

fn list_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}

/// `prod/allow-web spec.ingress[0]`.
fn short_rule(rule: &crate::verdict::RuleRef) -> String {
    format!(
        "{}/{} spec.{}[{}]",
        rule.policy.namespace,
        rule.policy.name,
        list_word(rule.direction),
        rule.index
    )
}

/// Writes a side's chain after its title line. `np` writes the NetworkPolicy tier's own
/// lines (with the indentation it is given) when that tier decided.
pub(super) fn write_chain(
    out: &mut String,
    chain: &TierChain,
    np_lines: &mut dyn FnMut(&mut String, &str),
) {
    for step in &chain.steps {
        match step {
            TierStep::Rule { rule } => {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    tier_tag(rule.policy.tier),
                    cluster_policy_name(&rule.policy),
                    action_text(rule)
                );
            }
            TierStep::NoRuleMatched { policy, misses } => {
                let _ = writeln!(
                    out,
                    "  {} {}: no rule matched",
                    tier_tag(policy.tier),
                    cluster_policy_name(policy)
                );
                for miss in misses {
                    let _ = writeln!(out, "    - {}", miss_text(miss));
                }
            }
            TierStep::NetworkPolicy {
                isolated: false, ..
            } => {
                let _ = writeln!(
                    out,
                    "  [NetworkPolicy] not isolated (no NetworkPolicy selects it for this direction)"
                );
            }
            TierStep::NetworkPolicy { allowed, .. } => {
                let word = if *allowed { "allowed" } else { "denied" };
                let _ = writeln!(out, "  [NetworkPolicy] {word}");
                np_lines(out, "    ");
            }
            TierStep::Default => {
                let _ = writeln!(out, "  [Default] allowed: no tier decided");
            }
        }
    }
    write_unknown(out, &chain.unknown);
}

/// The rules `domainNames` make undecidable for this flow or pair.
fn write_unknown(out: &mut String, unknown: &[ClusterRuleRef]) {
    for rule in unknown {
        let _ = writeln!(
            out,
            "  unknown: {} of {} has domainNames peers, which cannot be decided from manifests; if one of the names resolves to this address, that rule ({}) decides instead",
            cluster_rule_name(rule),
            cluster_policy_name(&rule.policy),
            rule.action.word(rule.policy.kind)
        );
    }
}

/// Writes a side's chain for a pair on every port.
pub(super) fn write_pair_chain(
    out: &mut String,
    chain: &PairChain,
    np_lines: &mut dyn FnMut(&mut String, &str),
) {
    for step in &chain.steps {
        match step {
            PairStep::Rule { rule, ports } => {
                let _ = writeln!(
                    out,
                    "  {} {}: {} on {}, {}",
                    tier_tag(rule.policy.tier),
                    cluster_policy_name(&rule.policy),
                    rule.action.word(rule.policy.kind),
                    ports_text(ports),
                    cluster_rule_name(rule)
                );
            }
            PairStep::NoRuleMatched { policy } => {
                let _ = writeln!(
                    out,
                    "  {} {}: no rule matches a port still open",
                    tier_tag(policy.tier),
                    cluster_policy_name(policy)
                );
            }
            PairStep::NetworkPolicy {
                isolated: false,
                reaching,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  [NetworkPolicy] not isolated: {} go on",
                    ports_text(reaching)
                );
            }
            PairStep::NetworkPolicy {
                reaching, allowed, ..
            } => {
                let _ = writeln!(
                    out,
                    "  [NetworkPolicy] of {}, allows {}",
                    ports_text(reaching),
                    ports_text(allowed)
                );
                np_lines(out, "    ");
            }
            PairStep::Default { ports } => {
                let _ = writeln!(
                    out,
                    "  [Default] allowed on {}: no tier decided",
                    ports_text(ports)
                );
            }
        }
    }
    write_unknown(out, &chain.unknown);
}
