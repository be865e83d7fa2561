//! Why: the core's verdict for the selected pair as structured HTML, with links that select
//! the responsible policy or rule in the editor; or the selected node's facts.

use leptos::prelude::*;
use netpol_core::{DirectionVerdict, Endpoint, PolicyRef, RuleRef};

use crate::components::ctx::{Ctx, Selection};
use crate::components::node_info::NodeInfo;
use crate::connectivity::{self, NodeKind};
use crate::words;

/// The explanation panel (`data-testid="explanation"`).
#[component]
pub fn Explanation() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let body = move || {
        match ctx.selection.get() {
        None => view! {
            <div class="hint">
                <p class="hint__title">"Ask why"</p>
                <p>"Click an edge or a matrix cell to see which policies and rules decide it. Click a node for its labels, the policies selecting it and its peers."</p>
                <p class="hint__keys">"Keyboard: Tab to an edge, node or cell, then Enter."</p>
            </div>
        }
        .into_any(),
        Some(Selection::Node(id)) => view! { <NodeInfo id=id /> }.into_any(),
        Some(Selection::Pair { from, to }) => pair(ctx, &from, &to).into_any(),
    }
    };
    view! {
        <section class="panel explanation-panel" aria-label="Explanation">
            <header class="panel-head">
                <h2 class="panel-head__title">"Explanation"</h2>
                <span class="spacer"></span>
                {move || ctx.selection.with(|s| s.is_some()).then(|| view! {
                    <button class="link" on:click=move |_| ctx.selection.set(None)>"Clear"</button>
                })}
            </header>
            <div class="explanation" data-testid="explanation" aria-live="polite">{body}</div>
        </section>
    }
}

/// A link to a policy (selects its text).
pub fn policy_link(ctx: Ctx, p: &PolicyRef) -> impl IntoView {
    let span = p.span;
    view! {
        <button class="ref" data-testid="policy-link" data-policy=p.name.clone() on:click=move |_| ctx.jump_to(span)>
            {format!("{}/{}", p.namespace, p.name)}
        </button>
    }
}

fn rule_link(ctx: Ctx, r: &RuleRef) -> impl IntoView {
    let span = r.span;
    view! {
        <button class="ref" data-testid="rule-link" data-policy=r.policy.name.clone() on:click=move |_| ctx.jump_to(span)>
            {format!("{}/{} · {}", r.policy.namespace, r.policy.name, words::rule_name(r.direction, r.index))}
            <span class="ref__line">{format!("line {}", r.span.line)}</span>
        </button>
    }
}

fn direction(
    ctx: Ctx,
    title: String,
    who: &str,
    dir: &'static str,
    v: &DirectionVerdict,
    outside: bool,
) -> impl IntoView {
    let (state, class) = match v {
        DirectionVerdict::NotIsolated => ("not isolated", "dir dir--open"),
        DirectionVerdict::Allowed { .. } => ("allowed", "dir dir--allowed"),
        DirectionVerdict::Denied { .. } => ("denied", "dir dir--denied"),
    };
    let content = match v {
        DirectionVerdict::NotIsolated => {
            let text = if outside {
                format!("{who} is outside the cluster: policies do not restrict its {dir}.")
            } else {
                format!("No policy selects {who} for {dir}, so its {dir} is unrestricted.")
            };
            view! { <p>{text}</p> }.into_any()
        }
        DirectionVerdict::Allowed { isolated_by, by } => view! {
            <p class="dir__label">"Isolated by"</p>
            <div class="refs">{isolated_by.iter().map(|p| policy_link(ctx, p)).collect_view()}</div>
            <p class="dir__label">"Allowed by"</p>
            <div class="refs">{by.iter().map(|r| rule_link(ctx, r)).collect_view()}</div>
        }
        .into_any(),
        DirectionVerdict::Denied {
            isolated_by,
            misses,
        } => {
            let misses_view = if misses.is_empty() {
                view! { <p>{format!("These policies have no {dir} rules: all {dir} is denied (default deny).")}</p> }.into_any()
            } else {
                let shown = misses.iter().take(6).map(|m| {
                    let (head, lines) = words::miss_reason(&m.reason);
                    view! {
                        <li class="miss">
                            {rule_link(ctx, &m.rule)}
                            <div class="miss__why">{head}</div>
                            {(!lines.is_empty()).then(|| view! {
                                <ul class="miss__peers">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                            })}
                        </li>
                    }
                }).collect_view();
                let more = misses.len().saturating_sub(6);
                view! {
                    <p class="dir__label">"No rule admits it. Closest misses"</p>
                    <ul class="misses">{shown}</ul>
                    {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
                }
                .into_any()
            };
            view! {
                <p class="dir__label">"Isolated by"</p>
                <div class="refs">{isolated_by.iter().map(|p| policy_link(ctx, p)).collect_view()}</div>
                {misses_view}
            }
            .into_any()
        }
    };
    view! {
        <section class=class data-testid=format!("explanation-{dir}") data-state=state>
            <h3 class="dir__title">
                <span>{title}</span>
                <span class="dir__state">{state}</span>
            </h3>
            {content}
        </section>
    }
}

fn pair(ctx: Ctx, from: &str, to: &str) -> impl IntoView {
    let a = ctx.analysis.get();
    let g = ctx.graph.get();
    let probe = ctx.probe.get();
    let (Some(fi), Some(ti)) = (g.index_of(from), g.index_of(to)) else {
        return view! { <p class="muted">"This pair is no longer in the graph."</p> }.into_any();
    };
    let (Some(src), Some(dst)) = (
        connectivity::representative(&a, &g.nodes[fi]),
        connectivity::representative(&a, &g.nodes[ti]),
    ) else {
        return view! { <p class="muted">"Nothing to explain for this pair."</p> }.into_any();
    };
    let group_note = [&g.nodes[fi], &g.nodes[ti]].iter().any(|n| matches!(n.kind, NodeKind::Group(_))).then(|| {
        view! { <p class="muted">"Groups are explained through their first member; every member behaves the same."</p> }
    });
    let any_ports = (probe == crate::probe::Probe::Any).then(|| {
        let text = connectivity::ports_label(&a.engine.allowed_ports(src, dst));
        view! { <p class="ports">"Allowed ports: " <strong data-testid="allowed-ports">{text}</strong></p> }
    });
    let flow = match words::flow_for(&a, &probe, src, dst) {
        Ok(f) => f,
        Err(why) => {
            return view! {
                <h3 class="pair">{format!("{from} → {to}")}</h3>
                <p>{why}</p>
            }
            .into_any()
        }
    };
    let verdict = netpol_core::evaluate(&a.model, &flow);
    let allowed = verdict.is_allowed();
    let src_name = connectivity::endpoint_name(&a, src);
    let dst_name = connectivity::endpoint_name(&a, dst);
    let text = netpol_core::render::explain(&a.model, &flow, &verdict);
    let stale = a.stale;
    view! {
        <div class="pair" data-testid="pair" data-verdict=if allowed { "allowed" } else { "denied" }>
            <div class=if allowed { "verdict verdict--allowed" } else { "verdict verdict--denied" }>
                <span class="verdict__icon" aria-hidden="true">{if allowed { "✓" } else { "✕" }}</span>
                <span class="verdict__word">{if allowed { "allowed" } else { "denied" }}</span>
                <span class="verdict__flow" title="The port this explanation evaluates">
                    {format!("{}/{}", flow.port, flow.protocol)}
                </span>
            </div>
            <p class="pair__ends">
                <strong>{src_name.clone()}</strong>
                " → "
                <strong>{dst_name.clone()}</strong>
            </p>
            {stale.then(|| view! { <p class="muted">"Explaining the last valid result (the text has errors)."</p> })}
            {any_ports}
            {group_note}
            <p class="muted small">"A connection needs the source's egress and the destination's ingress to allow it."</p>
            {direction(ctx, format!("Egress of {src_name}"), &src_name, "egress", &verdict.egress, matches!(src, Endpoint::Address(_)))}
            {direction(ctx, format!("Ingress of {dst_name}"), &dst_name, "ingress", &verdict.ingress, matches!(dst, Endpoint::Address(_)))}
            {(!text.trim().is_empty()).then(|| view! {
                <details class="plain">
                    <summary>"As text (same as the CLI)"</summary>
                    <pre>{text}</pre>
                </details>
            })}
        </div>
    }
    .into_any()
}
