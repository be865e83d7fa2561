//! The line above the graph/matrix: what is shown, the what-if summary, staleness.

use leptos::prelude::*;

use crate::components::ctx::Ctx;
use crate::probe::Probe;

/// Summary line.
#[component]
pub fn Toolbar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let counts = move || {
        let a = ctx.analysis.get();
        let g = ctx.graph.get();
        let allowed = g.edges.iter().filter(|e| e.allowed).count();
        let probe = ctx.probe.get();
        let on = match probe {
            Probe::Any => "on any port".to_string(),
            p => format!("on {}", p.label()),
        };
        format!(
            "{} endpoint{} · {} polic{} · {} connection{} allowed {on}",
            a.model.cluster.pods.len(),
            if a.model.cluster.pods.len() == 1 {
                ""
            } else {
                "s"
            },
            a.model.policies.len(),
            if a.model.policies.len() == 1 {
                "y"
            } else {
                "ies"
            },
            allowed,
            if allowed == 1 { "" } else { "s" },
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
            {move || {
                ctx.whatif
                    .with(|w| w.summary.clone())
                    .map(|s| {
                        view! {
                            <span class="whatif" data-testid="whatif" aria-live="polite">
                                {s}
                            </span>
                        }
                    })
            }}
        </div>
    }
}
