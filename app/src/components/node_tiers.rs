//! The node panel's "Cluster policies": the Admin and Baseline policies whose subject
//! selects the pod (the core's `in_subject`), in the order they are evaluated (tier, then
//! priority, then name: `Model::cluster_policies` is kept in that order), each with its
//! tier, priority and directions, and a link that selects its text in the editor.

use leptos::prelude::*;
use netpol_core::{ClusterNetworkPolicy, ClusterPolicyRef, Model, PolicyType, Tier};

use crate::components::ctx::Ctx;
use crate::components::tier_chain::{cluster_policy_link, tier_of};

/// The cluster policies selecting pod `pod` (an index into the model's pods); nothing when
/// the input has no cluster policies.
#[component]
pub fn NodeTiers(
    /// Index of the pod (a group's first member).
    pod: usize,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let a = ctx.analysis.get();
    let model: &Model = &a.model;
    if model.cluster_policies.is_empty() {
        return ().into_any();
    }
    let Some(p) = model.cluster.pods.get(pod) else {
        return ().into_any();
    };
    let selecting: Vec<(usize, &ClusterNetworkPolicy)> = model
        .cluster_policies
        .iter()
        .enumerate()
        .filter(|(_, policy)| netpol_core::in_subject(&model.cluster, policy, p))
        .collect();
    let body = if selecting.is_empty() {
        let why = if p.host_network {
            "none: a host-network pod is never a cluster policy's subject"
        } else {
            "none selects it"
        };
        view! { <p class="muted" data-testid="node-cluster-policies-none">{why}</p> }.into_any()
    } else {
        view! {
            <ol class="node-tiers" data-testid="node-cluster-policies">
                {selecting.into_iter().map(|(index, policy)| item(ctx, index, policy)).collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <h3 class="info__h">"Cluster policies (in evaluation order)"</h3>
        {body}
    }
    .into_any()
}

fn item(ctx: Ctx, index: usize, policy: &ClusterNetworkPolicy) -> impl IntoView {
    let r = ClusterPolicyRef {
        index,
        kind: policy.kind,
        tier: policy.tier,
        name: policy.name.clone(),
        priority: policy.priority,
        span: policy.span,
    };
    let tier = tier_of(&r);
    let tag = match policy.tier {
        Tier::Admin => "Admin",
        Tier::Baseline => "Baseline",
    };
    let directions: Vec<&str> = [
        (PolicyType::Ingress, "ingress"),
        (PolicyType::Egress, "egress"),
    ]
    .into_iter()
    .filter(|(d, _)| !policy.rules(*d).is_empty())
    .map(|(_, w)| w)
    .collect();
    let rules = if directions.is_empty() {
        "no rules".to_string()
    } else {
        format!("rules for {}", directions.join(" and "))
    };
    view! {
        <li class="node-tiers__item" data-testid="node-cluster-policy" data-tier=tier data-policy=policy.name.clone()>
            <span class=format!("tier tier--{tier}")>{tag}</span>
            {cluster_policy_link(ctx, &r, false)}
            <span class="muted small">{format!(" {rules}")}</span>
        </li>
    }
}
