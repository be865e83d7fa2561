//! What cluster policies change for the checks that reason about NetworkPolicy isolation
//! (`unprotected-endpoint`, `missing-default-deny` and their egress variants): a pod that
//! no NetworkPolicy isolates is not open to everything when an Admin or Baseline policy
//! selecting it denies something in that direction (a Baseline "deny all" is the usual
//! guard of namespaces without a default-deny NetworkPolicy). Those checks say "every
//! connection is allowed"; where a cluster policy denies some, that would be false, so they
//! stay silent there (they may then miss a namespace whose guard is narrow: never wolf).

use crate::cluster_policy::{ClusterNetworkPolicy, ClusterSubject, RuleAction};
use crate::model::{Cluster, Model, Pod, PolicyType};
use crate::tiers::in_subject;

/// Whether `policy` has a rule in `direction` that denies what it matches (a Deny, or a
/// Deny or Pass that fails closed).
fn denies_some(policy: &ClusterNetworkPolicy, direction: PolicyType) -> bool {
    policy
        .rules(direction)
        .iter()
        .any(|rule| rule.effective_action() == RuleAction::Deny)
}

/// Whether a cluster policy selecting `pod` denies something in `direction`.
pub(super) fn guards_pod(model: &Model, pod: &Pod, direction: PolicyType) -> bool {
    model
        .cluster_policies
        .iter()
        .any(|p| denies_some(p, direction) && in_subject(&model.cluster, p, pod))
}

/// Whether a cluster policy that certainly selects every pod created in `namespace` (its
/// subject is the namespace, or pods of it with an empty pod selector) denies something
/// in `direction`.
pub(super) fn guards_new_pods(model: &Model, namespace: &str, direction: PolicyType) -> bool {
    model
        .cluster_policies
        .iter()
        .any(|p| denies_some(p, direction) && selects_new_pods(&model.cluster, p, namespace))
}

/// Whether `policy`'s subject certainly selects a pod created in `namespace` tomorrow,
/// whatever its labels. A namespace the input does not declare has labels we cannot see
/// (its `kubernetes.io/metadata.name` at least), so then only an empty namespace selector
/// is certain to match it.
fn selects_new_pods(cluster: &Cluster, policy: &ClusterNetworkPolicy, namespace: &str) -> bool {
    let (namespace_selector, pod_selector) = match &policy.subject {
        ClusterSubject::Namespaces(selector) => (selector, None),
        ClusterSubject::Pods {
            namespace_selector,
            pod_selector,
        } => (namespace_selector, Some(pod_selector)),
    };
    let namespace_matches = match cluster.namespace_labels(namespace) {
        Some(labels) => namespace_selector.matches(labels),
        None => namespace_selector.is_empty(),
    };
    namespace_matches && pod_selector.is_none_or(|s| s.is_empty())
}
