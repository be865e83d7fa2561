//! `redundant-rule`: removing the rule changes no connection, because other policies allow
//! the same.

use std::collections::BTreeSet;

use super::common::{direction_word, finding, policy_name};
use super::redundancy::{allows_nothing, rules_mut, RuleGroup, Slices};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Model;

/// Reports the redundant rules of `group` that are not `shadowed`, removing each from
/// `working` before judging the next.
pub(super) fn check(
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
    let word = direction_word(direction);
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
        let mut candidate = working.clone();
        let Some(list) = rules_mut(&mut candidate, policy, direction) else {
            continue;
        };
        let Some(pos) = list.iter().position(|r| r.span == rule.span) else {
            continue;
        };
        list.remove(pos);
        if slices.after(&candidate, targets, &[direction]) == before {
            out.push(finding(
                "redundant-rule",
                Severity::Warning,
                Some(rule.span),
                format!(
                    "rule spec.{word}[{i}] of `{}` is redundant: removing it changes no connection (other policies allow the same)",
                    policy_name(policy)
                ),
                "delete the rule, or change it if it was meant to allow more",
            ));
            *working = candidate;
        }
    }
}
