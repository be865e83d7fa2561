//! `shadowed-rule`: everything the rule allows, another rule for the same endpoints (same
//! policy, or same namespace and podSelector) allows too.

use std::collections::BTreeSet;

use super::common::{direction_word, finding, policy_name};
use super::redundancy::{allows_nothing, rules_mut, RuleGroup};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::model::{Model, Protocol};
use crate::ports::AllowedPorts;

/// Reports the shadowed rules of `group` and removes them from `working`; returns their
/// indices.
pub(super) fn check(
    model: &Model,
    group: &RuleGroup,
    working: &mut Model,
    out: &mut Vec<Diagnostic>,
) -> BTreeSet<usize> {
    let RuleGroup {
        index,
        policy,
        direction,
        ..
    } = *group;
    let word = direction_word(direction);
    let mut shadowed: BTreeSet<usize> = BTreeSet::new();
    for (i, rule) in policy.rules(direction).iter().enumerate() {
        let Some(mine) = group.alone.get(&(index, direction, i)) else {
            continue;
        };
        if allows_nothing(mine) {
            continue; // allows nothing: selector and named-port findings say why
        }
        // Equal rules: the later one (by policy, then rule index) is reported.
        let by = group.same_targets.iter().find(|&&(q, j)| {
            (q, j) != (index, i)
                && group.alone.get(&(q, direction, j)).is_some_and(|theirs| {
                    subset_all(mine, theirs) && (!subset_all(theirs, mine) || (q, j) < (index, i))
                })
        });
        let Some(&(q, j)) = by else { continue };
        let Some(other_policy) = model.policies.get(q) else {
            continue;
        };
        let Some(other) = other_policy.rules(direction).get(j) else {
            continue;
        };
        let whose = if q == index {
            String::new()
        } else {
            format!("`{}` ", policy_name(other_policy))
        };
        let mut f = finding(
            "shadowed-rule",
            Severity::Warning,
            Some(rule.span),
            format!(
                "rule spec.{word}[{i}] of `{}` is shadowed by {whose}spec.{word}[{j}] (line {}): everything it allows, that rule allows too",
                policy_name(policy),
                other.span.line
            ),
            "delete the shadowed rule, or make it allow what it was meant to",
        );
        f.related = vec![Related::at(other.span)];
        out.push(f);
        shadowed.insert(i);
        // Removable, so later redundancy questions are asked without it (else two equal
        // rules could each look redundant thanks to the other).
        if let Some(list) = rules_mut(working, policy, direction) {
            list.retain(|r| r.span != rule.span);
        }
    }
    shadowed
}

/// Whether every port set of `a` lies inside the matching one of `b`.
fn subset_all(a: &[AllowedPorts], b: &[AllowedPorts]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            Protocol::ALL
                .iter()
                .all(|p| x.get(*p).union(y.get(*p)) == *y.get(*p))
        })
}
