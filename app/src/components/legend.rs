//! The graph legend: isolation styles and edge styles (colour *and* shape/line style).

use leptos::prelude::*;

use crate::components::ctx::Ctx;

/// Legend box in the graph's corner.
#[component]
pub fn Legend() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
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
    view! {
        <div class="legend" aria-label="Legend">
            <ul>
                {swatch("none", "not isolated")}
                {swatch("ingress", "ingress-isolated")}
                {swatch("egress", "egress-isolated")}
                {swatch("both", "both")}
                <li class="legend__item">
                    <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                        <line class="legend__allowed" x1="2" y1="9" x2="32" y2="9"></line>
                    </svg>
                    "allowed"
                </li>
                <li class="legend__item">
                    <svg class="legend__swatch" viewBox="0 0 34 18" aria-hidden="true">
                        <line class="legend__denied" x1="2" y1="9" x2="32" y2="9"></line>
                    </svg>
                    "denied"
                </li>
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
                <li class="legend__item legend__note">"no label = all ports"</li>
            </ul>
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
