//! The tier chain of one side of the explained pair: the core's steps (Admin rules, the
//! NetworkPolicy tier, Baseline rules, the default) in evaluation order, each cluster rule
//! and policy a link that selects its text in the editor, like NetworkPolicy rules.
//! Shown when a cluster policy took part; the words come from `netpol_core::render`.

use leptos::prelude::*;
use netpol_core::render::{cluster_policy_name, cluster_rule_name};
use netpol_core::{
    ClusterPolicyRef, ClusterRuleRef, DirectionVerdict, PairChain, PairStep, RuleAction, Tier,
    TierChain, TierStep,
};

use crate::components::ctx::Ctx;
use crate::components::explanation::{policy_link_in, rule_link};
use crate::connectivity;

fn tier_key(tier: Tier) -> &'static str {
    match tier {
        Tier::Admin => "admin",
        Tier::Baseline => "baseline",
    }
}

fn tier_tag(key: &'static str, text: &'static str) -> impl IntoView {
    view! { <span class=format!("tier tier--{key}")>{text}</span> }
}

fn action_key(rule: &ClusterRuleRef) -> &'static str {
    match rule.effective_action() {
        RuleAction::Accept => "accept",
        RuleAction::Deny => "deny",
        RuleAction::Pass => "pass",
    }
}

/// A link to a cluster rule (selects its text): `ClusterNetworkPolicy guard (priority 10):
/// Pass, rule delegate (spec.ingress[0], line 9)`.
pub fn cluster_rule_link(ctx: Ctx, rule: &ClusterRuleRef, after: bool) -> impl IntoView {
    let span = rule.span;
    let closed = if rule.fail_closed {
        " (could not be read: fails closed)"
    } else {
        ""
    };
    let text = format!(
        "{}: {}{closed}, {}",
        cluster_policy_name(&rule.policy),
        rule.action.word(rule.policy.kind),
        cluster_rule_name(rule)
    );
    view! {
        <button class="ref ref--cluster" data-testid="cluster-rule-link" data-policy=rule.policy.name.clone()
            data-action=action_key(rule) on:click=move |_| ctx.jump_into(span, after)>
            {text}
        </button>
    }
}

/// A link to a cluster policy (selects its text).
pub fn cluster_policy_link(ctx: Ctx, policy: &ClusterPolicyRef, after: bool) -> impl IntoView {
    let span = policy.span;
    view! {
        <button class="ref ref--cluster" data-testid="cluster-policy-link" data-policy=policy.name.clone()
            on:click=move |_| ctx.jump_into(span, after)>
            {cluster_policy_name(policy)}
        </button>
    }
}

fn step_item(tier: &'static str, tag: &'static str, body: AnyView) -> impl IntoView {
    view! {
        <li class="chain__step" data-testid="chain-step" data-tier=tier>
            {tier_tag(tier, tag)}
            <span class="chain__body">{body}</span>
        </li>
    }
}

fn cluster_tag(tier: Tier) -> (&'static str, &'static str) {
    match tier {
        Tier::Admin => ("admin", "Admin"),
        Tier::Baseline => ("baseline", "Baseline"),
    }
}

fn unknown_view(ctx: Ctx, unknown: &[ClusterRuleRef], after: bool) -> impl IntoView {
    (!unknown.is_empty()).then(|| {
        view! {
            <p class="muted small" data-testid="chain-unknown">
                "Unknown from manifests (domain names): if a name resolves to this address, this rule decides instead: "
                {unknown.iter().map(|r| cluster_rule_link(ctx, r, after)).collect_view()}
            </p>
        }
    })
}

/// The steps as an ordered list; `summary` (the core's one-line form) as its tooltip.
fn chain_list(items: Vec<AnyView>, summary: Option<String>) -> impl IntoView {
    view! {
        <p class="dir__label">"Through the tiers, in order"</p>
        <ol class="chain" data-testid="tier-chain" title=summary>{items}</ol>
    }
}

/// One side on one port: [`TierChain`], the NetworkPolicy step detailed by `np`.
pub fn tier_chain(ctx: Ctx, chain: &TierChain, np: &DirectionVerdict, after: bool) -> AnyView {
    let items = chain
        .steps
        .iter()
        .map(|step| match step {
            TierStep::Rule { rule } => {
                let (key, tag) = cluster_tag(rule.policy.tier);
                step_item(key, tag, cluster_rule_link(ctx, rule, after).into_any()).into_any()
            }
            TierStep::NoRuleMatched { policy, .. } => {
                let (key, tag) = cluster_tag(policy.tier);
                let body = view! { {cluster_policy_link(ctx, policy, after)} " no rule matched" };
                step_item(key, tag, body.into_any()).into_any()
            }
            TierStep::NetworkPolicy { isolated, .. } => step_item(
                "networkpolicy",
                "NetworkPolicy",
                np_words(ctx, *isolated, np, after),
            )
            .into_any(),
            TierStep::Default => step_item(
                "default",
                "Default",
                view! { "allowed: no tier decided" }.into_any(),
            )
            .into_any(),
        })
        .collect();
    let summary = netpol_core::render::chain_summary(chain, np);
    view! {
        {chain_list(items, Some(summary))}
        {unknown_view(ctx, &chain.unknown, after)}
    }
    .into_any()
}

fn np_words(ctx: Ctx, isolated: bool, np: &DirectionVerdict, after: bool) -> AnyView {
    match (isolated, np) {
        (false, _) | (_, DirectionVerdict::NotIsolated) => {
            view! { "not isolated: no NetworkPolicy selects it for this direction" }.into_any()
        }
        (true, DirectionVerdict::Allowed { by, .. }) => view! {
            "allowed by " {by.iter().map(|r| rule_link(ctx, r, after)).collect_view()}
        }
        .into_any(),
        (true, DirectionVerdict::Denied { isolated_by, .. }) => view! {
            "denied: isolated by " {isolated_by.iter().map(|p| policy_link_in(ctx, p, after)).collect_view()} " and no rule admits it"
        }
        .into_any(),
    }
}

/// One side on every port: [`PairChain`], each step with the ports it decides.
pub fn pair_chain(ctx: Ctx, chain: &PairChain, after: bool) -> AnyView {
    let label = |p: &netpol_core::AllowedPorts| connectivity::ports_label(p);
    let items = chain
        .steps
        .iter()
        .map(|step| match step {
            PairStep::Rule { rule, ports } => {
                let (key, tag) = cluster_tag(rule.policy.tier);
                let body = view! {
                    {cluster_rule_link(ctx, rule, after)}
                    <span class="chain__ports">{format!(" on {}", label(ports))}</span>
                };
                step_item(key, tag, body.into_any()).into_any()
            }
            PairStep::NoRuleMatched { policy } => {
                let (key, tag) = cluster_tag(policy.tier);
                let body =
                    view! { {cluster_policy_link(ctx, policy, after)} " no rule decides a port" };
                step_item(key, tag, body.into_any()).into_any()
            }
            PairStep::NetworkPolicy {
                isolated,
                reaching,
                allowed,
            } => {
                let words = if *isolated {
                    format!("of {}, allows {}", label(reaching), label(allowed))
                } else {
                    format!("not isolated: {} go on", label(reaching))
                };
                step_item(
                    "networkpolicy",
                    "NetworkPolicy",
                    view! { {words} }.into_any(),
                )
                .into_any()
            }
            PairStep::Default { ports } => step_item(
                "default",
                "Default",
                view! { {format!("allows {}: no tier decided", label(ports))} }.into_any(),
            )
            .into_any(),
        })
        .collect();
    view! {
        {chain_list(items, None)}
        {unknown_view(ctx, &chain.unknown, after)}
    }
    .into_any()
}

/// The tier key (`admin`, `baseline`) of a cluster policy, for `data-tier`.
pub fn tier_of(policy: &ClusterPolicyRef) -> &'static str {
    tier_key(policy.tier)
}
