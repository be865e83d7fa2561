//! The list of problems in both editors; each entry jumps to its place.

use leptos::prelude::*;
use netpol_core::Severity;

use crate::analysis::CLUSTER;
use crate::components::ctx::Ctx;

/// The diagnostics panel.
#[component]
pub fn Diagnostics() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let items = move || {
        let a = ctx.analysis.get();
        if a.model.diagnostics.is_empty() {
            return view! {
                <li class="diag diag--empty" data-testid="diagnostics-empty">
                    <span class="diag__ok" aria-hidden="true">"✓"</span>
                    "No problems found in either editor"
                </li>
            }
            .into_any();
        }
        a.model
            .diagnostics
            .iter()
            .map(|d| {
                let sev = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let icon = match d.severity {
                    Severity::Error => "✕",
                    Severity::Warning => "!",
                    Severity::Info => "i",
                };
                let span = d.span;
                let (editor, line, col) = match span {
                    Some(s) if s.file == CLUSTER => ("cluster", s.line, s.column),
                    Some(s) => ("policies", s.line, s.column),
                    None => ("", 0, 0),
                };
                let place = if line > 0 {
                    format!(
                        "{} {}:{}",
                        if editor == "cluster" {
                            "Cluster"
                        } else {
                            "Policies"
                        },
                        line,
                        col
                    )
                } else {
                    "input".to_string()
                };
                let help = d.help.clone();
                view! {
                    <li
                        class=format!("diag diag--{sev}")
                        data-testid="diagnostic"
                        data-severity=sev
                        data-editor=editor
                        data-line=line.to_string()
                    >
                        <span class="diag__icon" aria-hidden="true">{icon}</span>
                        <div class="diag__body">
                            <div class="diag__msg">{d.message.clone()}</div>
                            {help.map(|h| view! { <div class="diag__help">{h}</div> })}
                            <div class="diag__meta">
                                <button
                                    class="link"
                                    disabled=span.is_none()
                                    on:click=move |_| {
                                        if let Some(s) = span {
                                            ctx.jump_to(s);
                                        }
                                    }
                                >
                                    {place}
                                </button>
                                <code class="diag__code">{d.code}</code>
                            </div>
                        </div>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    let count = move || ctx.analysis.with(|a| a.model.diagnostics.len());
    view! {
        <section class="panel diagnostics-panel" aria-label="Problems">
            <header class="panel-head">
                <h2 class="panel-head__title">"Problems"</h2>
                <span class="spacer"></span>
                <span class="pill">{count}</span>
            </header>
            <ul class="diag-list" data-testid="diagnostics">
                {items}
            </ul>
        </section>
    }
}
