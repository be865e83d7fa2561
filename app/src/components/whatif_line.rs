//! What changed since the last edit: a line with the counts, and the connections opened
//! and closed as a list whose entries select the pair (and flash it on the graph again).
//! The graph highlights them by itself for a few seconds after each change.

use leptos::prelude::*;

use crate::components::ctx::{Ctx, Selection};
use crate::whatif::Changes;

/// The what-if line and its list.
#[component]
pub fn WhatIfLine() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    let changes = Memo::new(move |_| {
        gs.scene
            .with(|s| s.as_ref().and_then(|s| s.changes.clone()))
    });
    let item = move |kind: &'static str, (from, to): (String, String), all: Changes| {
        let (f, t) = (from.clone(), to.clone());
        view! {
            <li>
                <button
                    class=format!("whatif__item whatif__item--{kind}")
                    data-testid="whatif-change"
                    data-kind=kind
                    data-from=from.clone()
                    data-to=to.clone()
                    on:click=move |_| {
                        ctx.selection.set(Some(Selection::Pair { from: f.clone(), to: t.clone() }));
                        gs.centre_on(&f);
                        gs.flash(all.clone());
                    }
                >
                    <span class="whatif__badge">{if kind == "opened" { "+" } else { "−" }}</span>
                    {format!("{from} → {to}")}
                </button>
            </li>
        }
    };
    move || {
        changes.get().map(|c| {
            let summary = c.summary();
            let more = (c.opened_total + c.closed_total).saturating_sub(c.opened.len() + c.closed.len());
            let opened: Vec<_> = c.opened.iter().cloned().map(|p| item("opened", p, c.clone())).collect();
            let closed: Vec<_> = c.closed.iter().cloned().map(|p| item("closed", p, c.clone())).collect();
            let empty = c.is_empty();
            view! {
                <div class="whatif" data-testid="whatif" aria-live="polite">
                    <span class="whatif__summary">{summary}</span>
                    {(!empty).then(|| view! {
                        <details class="whatif__details" data-testid="whatif-details">
                            <summary>"which"</summary>
                            <ul class="whatif__list">
                                {opened}
                                {closed}
                                {(more > 0).then(|| view! { <li class="muted small">{format!("and {more} more")}</li> })}
                            </ul>
                        </details>
                    })}
                </div>
            }
        })
    }
}
