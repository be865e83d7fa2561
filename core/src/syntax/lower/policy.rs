//! The NetworkPolicy: spec, policyTypes defaulting and their interplay with the rules, and
//! the rules themselves.

use super::metadata::metadata;
use super::peers::peer;
use super::ports::port;
use super::selectors::selector;
use super::{Cx, Fields, OBJECT_FIELDS};
use crate::model::{LabelSelector, NetworkPolicy, NetworkPolicyRule, PolicyType};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

const SPEC_FIELDS: &[&str] = &["podSelector", "policyTypes", "ingress", "egress"];
const INGRESS_FIELDS: &[&str] = &["from", "ports"];
const EGRESS_FIELDS: &[&str] = &["to", "ports"];

pub(super) fn network_policy(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<NetworkPolicy> {
    cx.fields(node, "NetworkPolicy", Some(OBJECT_FIELDS), "");
    let meta = metadata(cx, node, obj, "NetworkPolicy", true)?;
    let name = meta.name;
    let drop_policy = format!("the policy `{name}`");
    let spec_node = obj.get("spec");
    let empty = Node {
        value: Value::Map(Vec::new()),
        start: node.start,
        end: node.start,
    };
    let spec = match spec_node {
        Some(s) => cx.fields(s, "spec", Some(SPEC_FIELDS), &drop_policy)?,
        None => {
            cx.warning(
                "missing-field",
                node,
                format!("policy `{name}` has no `spec`: it selects every pod of its namespace and denies all their ingress"),
                "add a `spec` with `podSelector` and rules",
            );
            cx.fields(&empty, "spec", None, "")?
        }
    };

    let pod_selector = match spec.get("podSelector") {
        Some(sel) => selector(cx, sel, "podSelector", &drop_policy)?,
        None => {
            // `podSelector: null` is legal and means `{}`; only a missing key is suspicious
            if spec_node.is_some() && spec.key("podSelector").is_none() {
                cx.warning(
                    "missing-field",
                    spec_node.unwrap_or(node),
                    format!("policy `{name}` has no `spec.podSelector`; read as `{{}}`, every pod of the namespace"),
                    "write `podSelector: {}` to select every pod, or give labels to match",
                );
            }
            LabelSelector::default()
        }
    };

    let mut ingress = Vec::new();
    if let Some(list) = spec.get("ingress") {
        let items = cx.list(list, "ingress", &drop_policy)?;
        for item in items {
            if let Some(r) = rule(cx, item, PolicyType::Ingress) {
                ingress.push(r);
            }
        }
    }
    let mut egress = Vec::new();
    let egress_node = spec.get("egress");
    let mut egress_listed = false;
    if let Some(list) = egress_node {
        let items = cx.list(list, "egress", &drop_policy)?;
        egress_listed = !items.is_empty();
        for item in items {
            if let Some(r) = rule(cx, item, PolicyType::Egress) {
                egress.push(r);
            }
        }
    }

    let mut policy_types: Vec<PolicyType> = Vec::new();
    let types_node = spec.get("policyTypes");
    if let Some(tn) = types_node {
        if let Some(items) = cx.list(tn, "policyTypes", "") {
            for item in items {
                let Some(s) = cx.string(item, "policyTypes", "the value") else {
                    continue;
                };
                let t = match s.as_str() {
                    "Ingress" => Some(PolicyType::Ingress),
                    "Egress" => Some(PolicyType::Egress),
                    other => {
                        let near = names::did_you_mean(other, &["Ingress", "Egress"]);
                        let exact_but_case = near.is_some_and(|n| n.eq_ignore_ascii_case(other));
                        if exact_but_case {
                            let n = near.unwrap_or("Ingress");
                            cx.error(
                                "invalid-policy-type",
                                item,
                                format!("policyTypes value `{other}` must be written `{n}` (Kubernetes is case-sensitive); read as `{n}`"),
                                format!("write `{n}`"),
                            );
                            if n == "Ingress" {
                                Some(PolicyType::Ingress)
                            } else {
                                Some(PolicyType::Egress)
                            }
                        } else {
                            let help = near
                                .map_or("use `Ingress` and/or `Egress`".to_owned(), |n| {
                                    format!("did you mean `{n}`?")
                                });
                            cx.error(
                                "invalid-policy-type",
                                item,
                                format!("unknown policyTypes value `{other}`; it was dropped"),
                                help,
                            );
                            None
                        }
                    }
                };
                if let Some(t) = t {
                    if !policy_types.contains(&t) {
                        policy_types.push(t);
                    }
                }
            }
        }
    }
    let explicit_types = !policy_types.is_empty();
    if !explicit_types {
        // Kubernetes' defaulting (SetDefaults_NetworkPolicy): Ingress always, Egress when
        // the policy has at least one egress rule (`len(spec.egress) != 0`).
        policy_types.push(PolicyType::Ingress);
        if egress_listed {
            policy_types.push(PolicyType::Egress);
        } else if let Some(e) = egress_node {
            if matches!(e.value, Value::Seq(_)) {
                cx.warning(
                    "egress-not-isolated",
                    spec.key("egress").unwrap_or(e),
                    format!("`egress: []` without `policyTypes` does not restrict egress: Kubernetes defaults policyTypes of `{name}` to [Ingress]"),
                    "to deny all egress, add `policyTypes: [Ingress, Egress]`",
                );
            }
        }
    }
    policy_types.sort();

    if explicit_types {
        for (dir, rules, key) in [
            (PolicyType::Ingress, &ingress, "ingress"),
            (PolicyType::Egress, &egress, "egress"),
        ] {
            if !rules.is_empty() && !policy_types.contains(&dir) {
                let other = if key == "ingress" {
                    "Egress"
                } else {
                    "Ingress"
                };
                let at = spec.key(key).unwrap_or(node);
                cx.warning(
                    "ignored-rules",
                    at,
                    format!("policy `{name}` has {key} rules but policyTypes lists only {other}; Kubernetes ignores these rules"),
                    format!("add `{}` to policyTypes, or delete the {key} section", if key == "ingress" { "Ingress" } else { "Egress" }),
                );
            }
        }
    }

    Some(NetworkPolicy {
        name,
        namespace: meta.namespace,
        pod_selector,
        policy_types,
        ingress,
        egress,
        span: cx.span(node),
    })
}

fn rule(cx: &mut Cx, node: &Node, dir: PolicyType) -> Option<NetworkPolicyRule> {
    let (what, peers_key, known) = match dir {
        PolicyType::Ingress => ("ingress rule", "from", INGRESS_FIELDS),
        PolicyType::Egress => ("egress rule", "to", EGRESS_FIELDS),
    };
    let drop_rule = format!("the {what}");
    let f = cx.fields(node, what, Some(known), &drop_rule)?;
    let mut peers = Vec::new();
    if let Some(list) = f.get(peers_key) {
        let items = cx.list(list, peers_key, &drop_rule)?;
        for item in items {
            if let Some(p) = peer(cx, item, peers_key) {
                peers.push(p);
            }
        }
        if peers.is_empty() && !items.is_empty() {
            cx.error(
                "rule-dropped",
                node,
                format!("every `{peers_key}` entry of this {what} was invalid; the whole rule was dropped"),
                format!("an empty `{peers_key}` would allow every peer, so the rule is not kept; fix the entries"),
            );
            return None;
        }
    }
    let mut ports = Vec::new();
    if let Some(list) = f.get("ports") {
        let items = cx.list(list, "ports", &drop_rule)?;
        for item in items {
            if let Some(p) = port(cx, item) {
                ports.push(p);
            }
        }
        if ports.is_empty() && !items.is_empty() {
            cx.error(
                "rule-dropped",
                node,
                format!(
                    "every `ports` entry of this {what} was invalid; the whole rule was dropped"
                ),
                "an empty `ports` would allow every port, so the rule is not kept; fix the entries",
            );
            return None;
        }
    }
    Some(NetworkPolicyRule {
        peers,
        ports,
        span: cx.span(node),
    })
}
