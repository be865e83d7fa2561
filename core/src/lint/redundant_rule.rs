//! `redundant-rule`: removing the rule changes no connection — because other rules allow
//! the same, because the other end of every connection only it allows denies it anyway, or
//! because a cluster policy decides those connections before the NetworkPolicies. The
//! message says which: the advice differs (delete the rule, fix the other end, or look at
//! the cluster policy).
//!
//! The input is a snapshot, and a rule may be there for pods that do not exist yet (a DNS
//! rule to `namespaceSelector: {}` when the DNS pods are not in the snapshot). So a rule is
//! reported only when its removal also changes nothing for those: the targets' exposure
//! admits the same peer descriptions without it, or every pod it alone describes certainly
//! refuses the connection on its own side.

use std::collections::BTreeSet;

use super::common::{direction_word, finding, policy_name};
use super::redundancy::{
    allows_nothing, beyond, decided_first, rules_mut, side_change, Beyond, RuleGroup, Slices,
};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{Model, NetworkPolicyRule};

/// Reports the redundant rules of `group` that are not `shadowed`, removing each from
/// `working` before judging the next. A rule is reported only when removing it changes
/// nothing both alone (from `model`, unchanged) and together with what was reported
/// before it, so each finding is true on its own.
pub(super) fn check(
    model: &Model,
    slices: &Slices,
    group: &RuleGroup,
    shadowed: &BTreeSet<usize>,
    working: &mut Model,
    out: &mut Vec<Diagnostic>,
) {
    let RuleGroup {
        index,
        policy,
        direction,
        targets,
        ..
    } = *group;
    // Against the unchanged model, so the same for every rule of this policy.
    let before = slices.before(targets, &[direction]);
    for (i, rule) in policy.rules(direction).iter().enumerate() {
        if shadowed.contains(&i)
            || group
                .alone
                .get(&(index, direction, i))
                .is_none_or(|a| allows_nothing(a))
        {
            continue;
        }
        let Some(candidate) = without(working, group, rule) else {
            continue;
        };
        if slices.after(&candidate, targets, &[direction]) != before {
            continue;
        }
        let Some(alone) = without(model, group, rule) else {
            continue;
        };
        if slices.after(&alone, targets, &[direction]) != before {
            continue;
        }
        let reason = beyond(model, &alone, targets, &[direction]);
        if reason == Beyond::Matters {
            continue;
        }
        out.push(redundant(model, &alone, slices, group, i, rule, reason));
        *working = candidate;
    }
}

/// `model` without `rule` of the group's policy.
fn without(model: &Model, group: &RuleGroup, rule: &NetworkPolicyRule) -> Option<Model> {
    let mut candidate = model.clone();
    let list = rules_mut(&mut candidate, group.policy, group.direction)?;
    let pos = list.iter().position(|r| r.span == rule.span)?;
    list.remove(pos);
    Some(candidate)
}

/// The finding, with the reason: this side admits the same without the rule, or what only
/// the rule admits the other end refuses — for the endpoints of the input and for every
/// pod its peers describe (`reason`, from [`beyond`]).
fn redundant(
    model: &Model,
    alone: &Model,
    slices: &Slices,
    group: &RuleGroup,
    i: usize,
    rule: &NetworkPolicyRule,
    reason: Beyond,
) -> Diagnostic {
    let word = direction_word(group.direction);
    let name = policy_name(group.policy);
    let example = match reason {
        Beyond::Same => None,
        _ => side_change(model, alone, slices, group.targets, group.direction),
    };
    let first = match example {
        None => decided_first(model, alone, slices, group.targets, group.direction),
        Some(_) => None,
    };
    let (message, help) = match (example, first) {
        (None, Some(first)) => (
            format!("rule spec.{word}[{i}] of `{name}` changes no connection: what only it allows, a cluster policy decides first (e.g. {first})"),
            "delete the rule, or change the cluster policy if those connections should be left to the NetworkPolicies".to_string(),
        ),
        (None, None) => (
            format!("rule spec.{word}[{i}] of `{name}` is redundant: removing it changes no connection (other rules allow the same)"),
            "delete the rule, or change it if it was meant to allow more".to_string(),
        ),
        (Some(example), _) => (
            format!("rule spec.{word}[{i}] of `{name}` changes no connection: what only it allows, the other end denies (e.g. {example})"),
            "if those connections should work, allow them at the other end too (`netpol explain` shows which side denies); otherwise delete the rule".to_string(),
        ),
    };
    finding(
        "redundant-rule",
        Severity::Warning,
        Some(rule.span),
        message,
        help,
    )
}
