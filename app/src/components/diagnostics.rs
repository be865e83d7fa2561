//! The Problems panel: parse diagnostics of both editors, then lint findings of the model
//! (both the core's `Diagnostic`). Each entry jumps to its place in the editor that owns it.

use leptos::prelude::*;
use netpol_core::{Diagnostic, Related, Severity, Span};

use crate::analysis::CLUSTER;
use crate::components::ctx::Ctx;

/// Longest list drawn: thousands of rows would slow every keystroke; the CLI lists them all.
const MAX_ROWS: usize = 200;

/// One row: a core diagnostic, and whether it came from the parser (`diagnostic`) or from
/// lint (`finding`), which tests tell apart by `data-testid`.
struct Row<'a> {
    testid: &'static str,
    diagnostic: &'a Diagnostic,
}

fn place_of(span: Option<Span>) -> (&'static str, u32, String) {
    match span {
        Some(s) if s.line > 0 => {
            let (editor, title) = if s.file == CLUSTER {
                ("cluster", "Cluster")
            } else {
                ("policies", "Policies")
            };
            (editor, s.line, format!("{title} {}:{}", s.line, s.column))
        }
        Some(s) => (
            if s.file == CLUSTER {
                "cluster"
            } else {
                "policies"
            },
            0,
            "input".to_string(),
        ),
        None => ("", 0, "whole model".to_string()),
    }
}

fn row_view(ctx: Ctx, row: Row) -> impl IntoView {
    let d = row.diagnostic;
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
    let (editor, line, place) = place_of(span);
    let related = d
        .related
        .iter()
        .map(|r| related_view(ctx, r))
        .collect_view();
    view! {
        <li
            class=format!("diag diag--{sev}")
            data-testid=row.testid
            data-code=d.code
            data-severity=sev
            data-editor=editor
            data-line=line.to_string()
        >
            <span class="diag__icon" aria-hidden="true">{icon}</span>
            <div class="diag__body">
                <div class="diag__msg">{d.message.clone()}</div>
                {d.help.clone().map(|h| view! { <div class="diag__help">{h}</div> })}
                <div class="diag__meta">
                    <button
                        class="link"
                        data-testid="jump"
                        disabled=span.is_none()
                        on:click=move |_| {
                            if let Some(s) = span {
                                ctx.jump_to(s);
                            }
                        }
                    >
                        {place}
                    </button>
                    {(!d.related.is_empty()).then(|| view! { <span class="muted small">"see also"</span> })}
                    {related}
                    <code class="diag__code">{d.code}</code>
                </div>
            </div>
        </li>
    }
}

/// A "see also" place: its position, and its label when it has one.
fn related_view(ctx: Ctx, related: &Related) -> impl IntoView {
    let span = related.span;
    let (_, _, place) = place_of(Some(span));
    let text = match &related.label {
        Some(label) => format!("{place} ({label})"),
        None => place,
    };
    view! {
        <button class="link diag__related" data-testid="finding-related" on:click=move |_| ctx.jump_to(span)>
            {text}
        </button>
    }
}

/// The Problems panel.
#[component]
pub fn Diagnostics() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let items = move || {
        let a = ctx.analysis.get();
        let findings = ctx.lint.get();
        // Before the first analysis arrives nothing has been checked yet.
        if ctx.graph_state.analysis_id.get() == 0 {
            return view! {
                <li class="diag diag--empty" data-testid="diagnostics-pending">"Checking…"</li>
            }
            .into_any();
        }
        if a.model.diagnostics.is_empty() && findings.is_empty() {
            return view! {
                <li class="diag diag--empty" data-testid="diagnostics-empty">
                    <span class="diag__ok" aria-hidden="true">"✓"</span>
                    "No problems found in either editor"
                </li>
            }
            .into_any();
        }
        let diagnostics = a.model.diagnostics.iter().map(|diagnostic| Row {
            testid: "diagnostic",
            diagnostic,
        });
        let lint = findings.iter().map(|diagnostic| Row {
            testid: "finding",
            diagnostic,
        });
        let total = a.model.diagnostics.len() + findings.len();
        let rows = diagnostics
            .chain(lint)
            .take(MAX_ROWS)
            .map(|row| row_view(ctx, row).into_any())
            .collect_view();
        let more = (total > MAX_ROWS).then(|| {
            view! {
                <li class="diag diag--more muted small" data-testid="problems-more">
                    {format!("and {} more (run `netpol lint` for the full list)", total - MAX_ROWS)}
                </li>
            }
        });
        view! { {rows} {more} }.into_any()
    };
    let count =
        move || ctx.analysis.with(|a| a.model.diagnostics.len()) + ctx.lint.with(|f| f.len());
    view! {
        <section class="panel diagnostics-panel" aria-label="Problems">
            <header class="panel-head">
                <h2 class="panel-head__title">"Problems"</h2>
                <span class="spacer"></span>
                <span class="pill" data-testid="problems-count">{count}</span>
            </header>
            <ul class="diag-list" data-testid="diagnostics">
                {items}
            </ul>
        </section>
    }
}
