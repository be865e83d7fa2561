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
        let a = ctx.analysis.get();
        let g = ctx.graph.get();
        let probe = ctx.probe.get();
        let on = match probe {
            Probe::Any => "on any port".to_string(),
            p => format!("on {}", p.label()),
        };
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        // Counts are ordered pairs of endpoints (a group edge counts all its pod pairs).
        let c = g.counts;
        format!(
            "{} · {} · {} allowed {on}: {} by policy, {} open",
            plural(a.model.cluster.pods.len(), "endpoint", "endpoints"),
            plural(a.model.policies.len(), "policy", "policies"),
            plural((c.allowed + c.open) as usize, "pod pair", "pod pairs"),
            c.allowed,
            c.open,
        )
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
