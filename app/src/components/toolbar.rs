//! The line above the graph/matrix: what is shown, the what-if summary, staleness.

use leptos::prelude::*;

use crate::components::ctx::Ctx;
use crate::components::whatif_line::WhatIfLine;
use crate::probe::Probe;

/// Summary line.
#[component]
pub fn Toolbar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let counts = move || {
        // Nothing to count before the first analysis arrives.
        if ctx.graph_state.analysis_id.get() == 0 {
            return "Evaluating the policies…".to_string();
        }
        let a = ctx.analysis.get();
        let g = ctx.graph.get();
        // Counts are ordered pairs of endpoints (a group edge counts all its pod pairs).
        let allowed = |g: &crate::connectivity::Graph| (g.counts.allowed + g.counts.open) as usize;
        let probe = ctx.probe.get();
        let on = match probe {
            Probe::Any => "on any port".to_string(),
            p => format!("on {}", p.label()),
        };
        let plural = |n: usize, one: &str, many: &str| {
            let n_words = crate::scene::thousands(n);
            format!("{n_words} {}", if n == 1 { one } else { many })
        };
        let (pods, policies) = (a.model.cluster.pods.len(), a.model.policies.len());
        // In compare mode every count says both states: what is true now, and after.
        match (ctx.after_analysis.get(), ctx.after_graph.get()) {
            (Some(after), Some(ag)) => {
                let both = |b: usize, a: usize, one: &str, many: &str| {
                    let noun = if a == 1 && b == 1 { one } else { many };
                    if a == b {
                        format!("{b} {noun}")
                    } else {
                        format!("{b} → {a} {noun}")
                    }
                };
                format!(
                    "before → after: {} · {} · {} allowed {on}",
                    both(
                        pods,
                        after.model.cluster.pods.len(),
                        "endpoint",
                        "endpoints"
                    ),
                    both(policies, after.model.policies.len(), "policy", "policies"),
                    both(allowed(&g), allowed(&ag), "connection", "connections"),
                )
            }
            _ => {
                let c = g.counts;
                format!(
                    "{} · {} · {} allowed {on}: {} by policy, {} open",
                    plural(pods, "endpoint", "endpoints"),
                    plural(policies, "policy", "policies"),
                    plural(allowed(&g), "pod pair", "pod pairs"),
                    crate::scene::thousands(c.allowed as usize),
                    crate::scene::thousands(c.open as usize),
                )
            }
        }
    };
    view! {
        <div class="viz-bar">
            <span class="viz-bar__counts" data-testid="summary">{counts}</span>
            {move || {
                ctx.analysis
                    .with(|a| a.stale)
                    .then(|| {
                        view! {
                            <span
                                class="pill pill--stale"
                                data-testid="stale"
                                title="The current text has errors that dropped objects; fix them to update"
                            >
                                "showing last valid result"
                            </span>
                        }
                    })
            }}
            <span class="spacer"></span>
            <WhatIfLine />
        </div>
    }
}
