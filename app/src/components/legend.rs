//! Under the graph: the legend (isolation styles, open sides, edge styles — colour *and*
//! shape or line style) and the zoom buttons. Below the drawing, never over it, so no
//! control hides an edge.

use leptos::prelude::*;

use crate::components::ctx::Ctx;
use crate::components::graph_view::Viewport;

/// Legend and zoom controls.
#[component]
pub fn Legend() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let vp = expect_context::<Viewport>();
    let swatch = |iso: &'static str, text: &'static str| {
        view! {
            <li class="legend__item">
                <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                    <g class=format!("node node--pod node--iso-{iso}")>
                        <rect class="node__box" x="1" y="1" width="32" height="16" rx="4"></rect>
                        {matches!(iso, "ingress" | "both").then(|| view! { <rect class="node__bar node__bar--in" x="1" y="1" width="4" height="16" rx="2"></rect> })}
                        {matches!(iso, "egress" | "both").then(|| view! { <rect class="node__bar node__bar--out" x="29" y="1" width="4" height="16" rx="2"></rect> })}
                    </g>
                </svg>
                {text}
            </li>
        }
    };
    let line = |class: &'static str, text: &'static str| {
        view! {
            <li class="legend__item">
                <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                    <line class=class x1="2" y1="9" x2="32" y2="9"></line>
                </svg>
                {text}
            </li>
        }
    };
    let centre = move |factor: f64| {
        let (vx, vy, vw, vh) = crate::components::graph_view::view_box(&ctx.layout.get_untracked());
        vp.zoom_at(factor, (vx + vw / 2.0, vy + vh / 2.0));
    };
    view! {
        <div class="graph-foot">
            <div class="legend" aria-label="Legend">
                <ul>
                    {swatch("none", "not isolated")}
                    {swatch("ingress", "ingress-isolated")}
                    {swatch("egress", "egress-isolated")}
                    {swatch("both", "both")}
                    <li class="legend__item" title="A side no policy isolates: every peer the other side lets through may connect. Those pairs are not drawn one by one (Show unrestricted draws them).">
                        <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                            <rect class="legend__node" x="6" y="1" width="22" height="16" rx="4"></rect>
                            <line class="node__open" x1="3" y1="4" x2="3" y2="14"></line>
                            <line class="node__open" x1="31" y1="4" x2="31" y2="14"></line>
                        </svg>
                        "open side (pairs not drawn)"
                    </li>
                    {line("legend__allowed", "allowed by policy")}
                    {move || ctx.graph_state.show_unrestricted.get().then(|| line("legend__open", "open: no policy decided"))}
                    {line("legend__denied", "denied")}
                    {move || ctx.compare.get().then(|| view! {
                        <li class="legend__item" data-testid="legend-added">
                            <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                                <line class="legend__added" x1="2" y1="9" x2="32" y2="9"></line>
                            </svg>
                            "added (after only)"
                        </li>
                        <li class="legend__item" data-testid="legend-removed">
                            <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                                <line class="legend__removed" x1="2" y1="9" x2="32" y2="9"></line>
                            </svg>
                            "removed (before only)"
                        </li>
                    })}
                    {move || ctx.show_exposure.get().then(|| view! {
                        <li class="legend__item" data-testid="legend-exposure">
                            <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                                <line class="legend__exposure" x1="2" y1="9" x2="32" y2="9"></line>
                            </svg>
                            "could connect: pods not in the input (isolated sides only)"
                        </li>
                    })}
                    {move || ctx.analysis.with(|a| !a.model.cluster_policies.is_empty()).then(tier_entries)}
                    <li class="legend__item legend__note">"no label = all ports · groups: pods that behave alike"</li>
                </ul>
            </div>
            <div class="zoom" role="group" aria-label="Zoom">
                {move || (!ctx.expanded.with(|e| e.is_empty())).then(|| view! {
                    <button class="zoom__wide" data-testid="collapse-groups" on:click=move |_| ctx.expanded.set(Default::default())>
                        "Collapse groups"
                    </button>
                })}
                <button data-testid="zoom-out" aria-label="Zoom out" on:click=move |_| centre(0.8)>"−"</button>
                <button data-testid="zoom-in" aria-label="Zoom in" on:click=move |_| centre(1.25)>"+"</button>
                <button data-testid="zoom-reset" aria-label="Fit to view" title="Fit the whole graph" on:click=move |_| vp.reset()>"⤢"</button>
            </div>
        </div>
    }
}

/// The edge styles of the cluster policy tiers, shown when the input has cluster policies.
fn tier_entries() -> impl IntoView {
    let line = |key: &'static str, text: &'static str| {
        view! {
            <li class="legend__item" data-testid=format!("legend-{key}")>
                <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                    <line class=format!("legend__{key}") x1="2" y1="9" x2="32" y2="9"></line>
                </svg>
                {text}
            </li>
        }
    };
    view! {
        {line("admin-denied", "denied by an Admin rule")}
        {line("baseline-denied", "denied by a Baseline rule")}
        {line("admin-allowed", "allowed by an Admin rule")}
    }
}
