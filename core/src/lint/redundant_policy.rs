//! `redundant-policy`: removing the policy changes no connection of the endpoints it
//! selects.

use std::collections::BTreeSet;

use super::common::{finding, plural, policy_name};
use super::redundancy::{beyond, Beyond, Slices};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Model;

/// Greedy, from the last policy back: of two equivalent policies the later one is reported,
/// and the earlier one is then judged without it (so not both). Reported policies are
/// removed from `working`; returns their indices.
///
/// A policy is reported only when removing it changes nothing both alone (from the
/// unchanged model) and together with the policies reported before it: each finding is
/// true on its own, and deleting all of them at once is safe too. (Judged only
/// cumulatively, an allow-all egress policy next to a port-80 one was called redundant
/// once the port-80 one was gone, though deleting it alone would cut egress to port 80.)
pub(super) fn check(
    model: &Model,
    slices: &Slices,
    targets_of: &[Vec<usize>],
    working: &mut Model,
    out: &mut Vec<Diagnostic>,
) -> BTreeSet<usize> {
    let mut redundant_policies: BTreeSet<usize> = BTreeSet::new();
    for index in (0..model.policies.len()).rev() {
        let Some(policy) = model.policies.get(index) else {
            continue;
        };
        // A default-deny (`podSelector: {}`, no rules) is there for the pods that do not
        // exist yet; the snapshot cannot show that, so it is never called redundant.
        let default_deny = policy.pod_selector.is_empty()
            && policy
                .policy_types
                .iter()
                .all(|d| policy.rules(*d).is_empty());
        let targets = &targets_of[index];
        if targets.is_empty() || default_deny {
            continue; // policy-selects-nothing
        }
        let before = slices.before(targets, &policy.policy_types);
        let mut candidate = working.clone();
        let Some(pos) = candidate.policies.iter().position(|p| {
            p.span == policy.span && p.name == policy.name && p.namespace == policy.namespace
        }) else {
            continue;
        };
        candidate.policies.remove(pos);
        let alone = || {
            let mut alone = model.clone();
            alone.policies.remove(index);
            slices.after(&alone, targets, &policy.policy_types) == before
        };
        let cumulative = slices.after(&candidate, targets, &policy.policy_types) == before;
        // Nothing removed yet: the cumulative check was the check alone.
        let in_snapshot = cumulative && (working.policies.len() == model.policies.len() || alone());
        // ... and for the pods that do not exist yet: the targets admit the same peer
        // descriptions without it (an ipBlock 0.0.0.0/0 policy allows every pod of an
        // IPv4 snapshot, yet refuses IPv6 peers and pods without an IP).
        let beyond_snapshot = || {
            let mut without = model.clone();
            without.policies.remove(index);
            beyond(model, &without, targets, &policy.policy_types) == Beyond::Same
        };
        if in_snapshot && beyond_snapshot() {
            out.push(finding(
                "redundant-policy",
                Severity::Warning,
                Some(policy.span),
                format!(
                    "policy `{}` is redundant: removing it changes no connection of its {}",
                    policy_name(policy),
                    plural(targets.len(), "endpoint")
                ),
                "delete the policy, or change it if it was meant to allow or isolate more",
            ));
            redundant_policies.insert(index);
            *working = candidate;
        }
    }
    redundant_policies
}
