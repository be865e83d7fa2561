//! The truth table: one row per source, one column per destination, for the chosen probe.
//! Colour *and* symbol: ✓ allowed, ✕ denied, · not applicable.

use leptos::prelude::*;

use crate::components::ctx::{Ctx, Selection};
use crate::connectivity::Cell;

/// The matrix view.
#[component]
pub fn MatrixView() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let table = move || {
        let g = ctx.graph.get();
        let selected = ctx.selection.get();
        let head = g
            .nodes
            .iter()
            .map(|n| {
                view! {
                    <th scope="col" class="matrix__col" title=n.id.clone()>
                        <span>{n.id.clone()}</span>
                    </th>
                }
            })
            .collect_view();
        let rows = g
            .nodes
            .iter()
            .enumerate()
            .map(|(a, src)| {
                let cells = g
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(b, dst)| {
                        let cell = g.cell(a, b);
                        let (class, sym, verdict) = match cell {
                            Cell::Allowed => ("cell cell--allowed", "✓", "allowed"),
                            Cell::Denied => ("cell cell--denied", "✕", "denied"),
                            Cell::NotApplicable => ("cell cell--na", "·", "n/a"),
                        };
                        let is_sel = matches!(&selected, Some(Selection::Pair { from, to }) if *from == src.id && *to == dst.id);
                        let class = if is_sel { format!("{class} cell--selected") } else { class.to_string() };
                        let (f, t) = (src.id.clone(), dst.id.clone());
                        let applicable = cell != Cell::NotApplicable;
                        let pick = move || {
                            if applicable {
                                ctx.selection.set(Some(Selection::Pair { from: f.clone(), to: t.clone() }));
                            }
                        };
                        let pick2 = pick.clone();
                        view! {
                            <td
                                class=class
                                data-testid="cell"
                                data-from=src.id.clone()
                                data-to=dst.id.clone()
                                data-verdict=verdict
                                tabindex=if applicable { "0" } else { "-1" }
                                role="button"
                                aria-label=format!("{} to {}: {verdict}", src.id, dst.id)
                                on:click=move |_| pick()
                                on:keydown=move |ev| {
                                    if matches!(ev.key().as_str(), "Enter" | " ") {
                                        ev.prevent_default();
                                        pick2();
                                    }
                                }
                            >
                                {sym}
                            </td>
                        }
                    })
                    .collect_view();
                view! {
                    <tr>
                        <th scope="row" class="matrix__row" title=src.id.clone()>{src.id.clone()}</th>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="matrix" data-testid="matrix">
                <caption class="sr-only">"Rows: source. Columns: destination."</caption>
                <thead>
                    <tr>
                        <th class="matrix__corner" scope="col">
                            <span class="matrix__from">"from ↓"</span>
                            <span class="matrix__to">"to →"</span>
                        </th>
                        {head}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    };
    view! { <div class="matrix-wrap">{table}</div> }
}
