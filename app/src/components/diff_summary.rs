//! Compare mode's summary: what the change from before to after does to connectivity,
//! grouped by the core's semantic diff (not by the drawn edges, which follow the probe).

use leptos::prelude::*;
use netpol_core::diff::ChangeKind;

use crate::compare;
use crate::components::ctx::Ctx;

/// Longest list shown; the rest is counted.
const MAX_SHOWN: usize = 40;

/// The diff summary panel.
#[component]
pub fn DiffSummary() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let headline = move || {
        ctx.diff
            .with(|d| d.as_ref().map(|d| compare::headline(d)))
            .unwrap_or_default()
    };
    let unplaced = move || ctx.merged.with(|m| m.as_ref().map_or(0, |m| m.unplaced));
    let items = move || {
        let Some(d) = ctx.diff.get() else {
            return Vec::new();
        };
        let mut rows: Vec<_> = d
            .changes
            .iter()
            .take(MAX_SHOWN)
            .map(|c| {
                let kind = match c.kind {
                    ChangeKind::Added => "added",
                    ChangeKind::Removed => "removed",
                    ChangeKind::Changed => "changed",
                };
                let reason = match c.kind {
                    ChangeKind::Added => c.after_reason.summary.clone(),
                    _ => c.before_reason.summary.clone(),
                };
                view! {
                    <li class=format!("change change--{kind}") data-testid="diff-change" data-kind=kind>
                        <span class=format!("change__badge change__badge--{kind}")>{kind}</span>
                        <div class="change__body">
                            <div class="change__line">{compare::change_line(c)}</div>
                            <div class="change__why muted small">{reason}</div>
                        </div>
                    </li>
                }
                .into_any()
            })
            .collect();
        if d.changes.len() > MAX_SHOWN {
            rows.push(
                view! {
                    <li class="change change--more muted small">
                        {format!("and {} more groups (use `netpol diff` for all)", d.changes.len() - MAX_SHOWN)}
                    </li>
                }
                .into_any(),
            );
        }
        rows
    };
    view! {
        <section class="panel diff-panel" aria-label="Changes">
            <header class="panel-head">
                <h2 class="panel-head__title">"Changes"</h2>
                <span class="panel-head__hint">"before → after"</span>
            </header>
            <div class="diff" data-testid="diff-summary">
                <div class="diff__headline" data-testid="diff-headline">{headline}</div>
                {move || {
                    let n = unplaced();
                    (n > 0).then(|| view! {
                        <div class="muted small">
                            {format!("{n} changed edge{} involve endpoints only one side has (not drawn)", if n == 1 { "" } else { "s" })}
                        </div>
                    })
                }}
                <ul class="change-list">{items}</ul>
            </div>
        </section>
    }
}
