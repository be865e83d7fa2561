//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy: the object,
//! its tier, priority and subject. Rules are in `cluster_rules`.
//!
//! What the API server refuses at the object level (no subject, a priority out of range,
//! an unknown tier) drops the policy, as for a NetworkPolicy with an invalid podSelector:
//! such an object never exists in a cluster. What it refuses inside a rule keeps the
//! policy and makes the rule fail closed (see `cluster_rules`).

use super::cluster_rules::{rule, Limits};
use super::metadata::metadata;
use super::selectors::selector;
use super::{Cx, Fields, OBJECT_FIELDS};
use crate::cluster_policy::{ClusterNetworkPolicy, ClusterPolicyKind, ClusterSubject, Tier};
use crate::model::{LabelSelector, PolicyType};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

/// The API group of the three kinds.
pub(super) const GROUP: &str = "policy.networking.k8s.io";

/// `spec` fields per kind.
fn spec_fields(kind: ClusterPolicyKind) -> &'static [&'static str] {
    match kind {
        ClusterPolicyKind::AdminNetworkPolicy => &["priority", "subject", "ingress", "egress"],
        ClusterPolicyKind::BaselineAdminNetworkPolicy => &["subject", "ingress", "egress"],
        ClusterPolicyKind::ClusterNetworkPolicy => {
            &["tier", "priority", "subject", "ingress", "egress"]
        }
    }
}

/// The versions each kind is served in.
fn versions(kind: ClusterPolicyKind) -> &'static [&'static str] {
    match kind {
        ClusterPolicyKind::ClusterNetworkPolicy => &["v1alpha2", "v1beta1"],
        _ => &["v1alpha1"],
    }
}

/// Whether `api_version` belongs to the policy.networking.k8s.io group (anything else, such
/// as Antrea's `crd.antrea.io` ClusterNetworkPolicy, is another product's schema).
pub(super) fn in_group(api_version: Option<&str>) -> bool {
    api_version.is_none_or(|v| v.rsplit_once('/').is_some_and(|(g, _)| g == GROUP))
}

/// Checks `apiVersion` (the object's, or its typed list's): a wrong version of the right
/// group is an error, and the object is read as the served version anyway (the schema is
/// the same idea).
fn check_version(
    cx: &mut Cx,
    at: &Node,
    api_version: Option<&str>,
    kind: ClusterPolicyKind,
) -> String {
    let served = versions(kind);
    let wanted = format!("{GROUP}/{}", served[served.len() - 1]);
    let Some(written) = api_version else {
        cx.error(
            "wrong-api-version",
            at,
            format!(
                "the {} has no `apiVersion`; read as {wanted}",
                kind.as_str()
            ),
            format!("add `apiVersion: {wanted}`"),
        );
        return wanted;
    };
    let version = written.rsplit_once('/').map_or("", |(_, v)| v);
    if !served.contains(&version) {
        let also = match kind {
            ClusterPolicyKind::ClusterNetworkPolicy => " (v1alpha2 is served too)",
            _ => " (the v1alpha1 kinds were removed upstream: `netpol convert` rewrites them as ClusterNetworkPolicy)",
        };
        cx.error(
            "wrong-api-version",
            at,
            format!(
                "apiVersion `{written}` does not serve {}; read as {wanted}",
                kind.as_str()
            ),
            format!("write `apiVersion: {wanted}`{also}"),
        );
    }
    written.to_owned()
}

/// Where a cluster policy's version problems point (its `apiVersion`, else its `kind`) and
/// the version it is read as (its own, or its typed list's).
pub(super) struct Version<'n, 'v> {
    pub(super) at: &'n Node,
    pub(super) api_version: Option<&'v str>,
}

pub(super) fn cluster_policy(
    cx: &mut Cx,
    node: &Node,
    obj: &Fields,
    kind: ClusterPolicyKind,
    version: Version,
) -> Option<ClusterNetworkPolicy> {
    cx.fields(node, kind.as_str(), Some(OBJECT_FIELDS), "");
    let api_version = check_version(cx, version.at, version.api_version, kind);
    let meta = metadata(cx, node, obj, kind.as_str(), true)?;
    if let Some(ns) = meta.namespace_at {
        cx.warning(
            "ignored-field",
            ns,
            format!(
                "the {} `{}` is cluster-scoped; its `metadata.namespace` is ignored",
                kind.as_str(),
                meta.name
            ),
            "delete `metadata.namespace`",
        );
    }
    let name = meta.name;
    let drop = format!("the {} `{name}`", kind.as_str());
    let Some(spec_node) = obj.get("spec") else {
        cx.error(
            "missing-field",
            node,
            format!("{drop} has no `spec`; it was dropped"),
            "add a `spec` with `subject` and rules",
        );
        return None;
    };
    let spec = cx.fields(spec_node, "spec", Some(spec_fields(kind)), &drop)?;
    let tier = tier(cx, spec_node, &spec, kind, &drop)?;
    let priority = priority(cx, spec_node, &spec, kind, &drop)?;
    let subject = subject(cx, spec_node, &spec, kind, &drop)?;
    let limits = Limits::of(kind);
    let mut rules = [Vec::new(), Vec::new()];
    for (slot, key, direction) in [
        (0, "ingress", PolicyType::Ingress),
        (1, "egress", PolicyType::Egress),
    ] {
        let Some(list) = spec.get(key) else { continue };
        let Some(items) = cx.list(list, key, &format!("every {key} rule of {drop}")) else {
            continue;
        };
        limits.check(cx, list, key, items.len(), limits.rules);
        for item in items {
            if let Some(r) = rule(cx, item, kind, direction, &limits) {
                rules[slot].push(r);
            }
        }
    }
    let [ingress, egress] = rules;
    Some(ClusterNetworkPolicy {
        kind,
        api_version,
        name,
        tier,
        priority,
        subject,
        ingress,
        egress,
        span: cx.span(node),
    })
}

/// The tier: fixed by the v1alpha1 kinds, `spec.tier` of a ClusterNetworkPolicy.
fn tier(
    cx: &mut Cx,
    spec_node: &Node,
    spec: &Fields,
    kind: ClusterPolicyKind,
    drop: &str,
) -> Option<Tier> {
    match kind {
        ClusterPolicyKind::AdminNetworkPolicy => return Some(Tier::Admin),
        ClusterPolicyKind::BaselineAdminNetworkPolicy => return Some(Tier::Baseline),
        ClusterPolicyKind::ClusterNetworkPolicy => {}
    }
    let Some(at) = spec.get("tier") else {
        cx.error(
            "missing-field",
            spec_node,
            format!("{drop} has no `spec.tier`; it was dropped"),
            "add `tier: Admin` (before NetworkPolicies) or `tier: Baseline` (after them)",
        );
        return None;
    };
    let text = cx.text(at, "tier", drop)?;
    match text.as_str() {
        "Admin" => Some(Tier::Admin),
        "Baseline" => Some(Tier::Baseline),
        other => {
            let help = match names::did_you_mean(other, &["Admin", "Baseline"]) {
                Some(near) => format!("did you mean `{near}`? (tiers are case-sensitive)"),
                None => "the tiers are `Admin` and `Baseline`".to_string(),
            };
            cx.error(
                "invalid-tier",
                at,
                format!("unknown tier `{other}`; {drop} was dropped"),
                help,
            );
            None
        }
    }
}

/// `spec.priority`, 0 to 1000; `Some(None)` for a BaselineAdminNetworkPolicy, which has
/// none.
fn priority(
    cx: &mut Cx,
    spec_node: &Node,
    spec: &Fields,
    kind: ClusterPolicyKind,
    drop: &str,
) -> Option<Option<u32>> {
    if kind == ClusterPolicyKind::BaselineAdminNetworkPolicy {
        return Some(None);
    }
    let Some(at) = spec.get("priority") else {
        cx.error(
            "missing-field",
            spec_node,
            format!("{drop} has no `spec.priority`; it was dropped"),
            "add `priority:` 0 to 1000 (lower values are evaluated first)",
        );
        return None;
    };
    let number = match &at.value {
        Value::Scalar { text, plain: true } => text.parse::<i64>().ok(),
        _ => None,
    };
    match number {
        Some(n @ 0..=1000) => Some(Some(n as u32)),
        Some(n) => {
            cx.error(
                "invalid-priority",
                at,
                format!("priority {n} is out of range; {drop} was dropped"),
                "priorities are 0 to 1000 (lower values are evaluated first)",
            );
            None
        }
        None => {
            cx.error(
                "invalid-priority",
                at,
                format!(
                    "priority must be a whole number, found {}; {drop} was dropped",
                    at.describe()
                ),
                "write a number 0 to 1000 without quotes",
            );
            None
        }
    }
}

const SUBJECT_FIELDS: &[&str] = &["namespaces", "pods"];
const NAMESPACED_POD_FIELDS: &[&str] = &["namespaceSelector", "podSelector"];

/// `spec.subject`: exactly one of `namespaces` and `pods`.
fn subject(
    cx: &mut Cx,
    spec_node: &Node,
    spec: &Fields,
    kind: ClusterPolicyKind,
    drop: &str,
) -> Option<ClusterSubject> {
    let Some(at) = spec.get("subject") else {
        cx.error(
            "missing-field",
            spec_node,
            format!("{drop} has no `spec.subject`; it was dropped"),
            "add `subject: {namespaces: {}}` for every pod, or a selector",
        );
        return None;
    };
    let f = cx.fields(at, "subject", Some(SUBJECT_FIELDS), drop)?;
    match (f.get("namespaces"), f.get("pods")) {
        (Some(n), None) => Some(ClusterSubject::Namespaces(selector(
            cx,
            n,
            "subject.namespaces",
            drop,
        )?)),
        (None, Some(p)) => {
            let optional = kind == ClusterPolicyKind::ClusterNetworkPolicy;
            let (namespace_selector, pod_selector) =
                namespaced_pod(cx, p, "subject.pods", drop, optional)?;
            Some(ClusterSubject::Pods {
                namespace_selector,
                pod_selector,
            })
        }
        (Some(_), Some(_)) => {
            cx.error(
                "invalid-subject",
                at,
                format!("`subject` has both `namespaces` and `pods`; {drop} was dropped"),
                "give exactly one: `namespaces` for whole namespaces, `pods` for some pods of them",
            );
            None
        }
        (None, None) => {
            cx.error(
                "invalid-subject",
                at,
                format!("`subject` has neither `namespaces` nor `pods`; {drop} was dropped"),
                "give exactly one: `namespaces: {}` selects every pod",
            );
            None
        }
    }
}

/// `{namespaceSelector, podSelector}` (a subject's or a peer's `pods`). A missing selector
/// reads as `{}`: ClusterNetworkPolicy makes `namespaceSelector` optional (`optional`);
/// otherwise the CRDs require it, so it is warned about, and implementations read a
/// missing one as empty.
pub(super) fn namespaced_pod(
    cx: &mut Cx,
    node: &Node,
    what: &str,
    drop: &str,
    optional: bool,
) -> Option<(LabelSelector, LabelSelector)> {
    let f = cx.fields(node, what, Some(NAMESPACED_POD_FIELDS), drop)?;
    let part = |cx: &mut Cx, key: &str| -> Option<LabelSelector> {
        match f.get(key) {
            Some(n) => selector(cx, n, &format!("{what}.{key}"), drop),
            None if optional && key == "namespaceSelector" => Some(LabelSelector::default()),
            None => {
                cx.warning(
                    "missing-field",
                    node,
                    format!("`{what}` has no `{key}`; read as `{{}}`, which selects everything"),
                    format!("write `{key}: {{}}` to select everything, or give labels to match"),
                );
                Some(LabelSelector::default())
            }
        }
    };
    let namespace_selector = part(cx, "namespaceSelector")?;
    let pod_selector = part(cx, "podSelector")?;
    Some((namespace_selector, pod_selector))
}
