//! The truth table: one row per source, one column per destination, for the chosen probe.
//! Colour *and* symbol: ✓ allowed, ✕ denied, · not applicable. In compare mode every cell
//! shows both states (`✓→✕`) over the union of both states' endpoints.
//!
//! The table is one tab stop (the selected cell, else the first): the arrow keys move
//! between cells, Enter or Space explains the focused one.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::compare::{self, PairStates, Table};
use crate::components::ctx::{Ctx, Selection};
use crate::connectivity::{Cell, Graph};

fn symbol(cell: Option<Cell>) -> &'static str {
    match cell {
        Some(Cell::Allowed) => "✓",
        Some(Cell::Denied) => "✕",
        Some(Cell::NotApplicable) => "·",
        None => "—",
    }
}

fn class_of(cell: Option<Cell>) -> &'static str {
    match cell {
        Some(Cell::Allowed) => "cell--allowed",
        Some(Cell::Denied) => "cell--denied",
        _ => "cell--na",
    }
}

/// One cell's attributes: what it shows and what tests and screen readers read.
struct CellView {
    class: String,
    text: String,
    verdict: &'static str,
    before: Option<&'static str>,
    after: Option<&'static str>,
    change: Option<&'static str>,
    applicable: bool,
}

fn plain_cell(cell: Cell) -> CellView {
    CellView {
        class: format!("cell {}", class_of(Some(cell))),
        text: symbol(Some(cell)).to_string(),
        verdict: compare::cell_word(Some(cell)),
        before: None,
        after: None,
        change: None,
        applicable: cell != Cell::NotApplicable,
    }
}

/// A compare-mode cell: `data-verdict` is the After state (what the change leads to).
fn compared_cell(states: PairStates) -> CellView {
    let change = states.change();
    let (class, text) = if change == "same" {
        (
            format!("cell {}", class_of(states.after)),
            symbol(states.after).to_string(),
        )
    } else {
        (
            format!("cell cell--{change}"),
            format!("{}→{}", symbol(states.before), symbol(states.after)),
        )
    };
    let applicable = [states.before, states.after]
        .iter()
        .any(|c| matches!(c, Some(Cell::Allowed | Cell::Denied)));
    CellView {
        class,
        text,
        verdict: compare::cell_word(states.after),
        before: Some(compare::cell_word(states.before)),
        after: Some(compare::cell_word(states.after)),
        change: Some(change),
        applicable,
    }
}

/// The table's rows: ids and, per pair, the cell to draw.
struct Rows {
    ids: Vec<String>,
    only: Vec<Option<&'static str>>,
    cells: Vec<CellView>,
}

fn rows(before: &Graph, after: Option<&Graph>) -> Rows {
    let Some(after) = after else {
        let k = before.nodes.len();
        let cells = (0..k * k)
            .map(|i| plain_cell(before.cell(i / k, i % k)))
            .collect();
        return Rows {
            ids: before.nodes.iter().map(|n| n.id.clone()).collect(),
            only: vec![None; k],
            cells,
        };
    };
    let table = Table::new(before, after);
    let k = table.ids.len();
    let only = (0..k)
        .map(|i| match (table.before[i], table.after[i]) {
            (None, _) => Some("after only"),
            (_, None) => Some("before only"),
            _ => None,
        })
        .collect();
    let cells = (0..k * k)
        .map(|i| compared_cell(table.pair(before, after, i / k, i % k)))
        .collect();
    Rows {
        ids: table.ids,
        only,
        cells,
    }
}

/// Arrow keys move the focus from cell to cell (`data-row`/`data-col`).
fn move_focus(ev: &leptos::ev::KeyboardEvent) {
    let (dr, dc) = match ev.key().as_str() {
        "ArrowUp" => (-1, 0),
        "ArrowDown" => (1, 0),
        "ArrowLeft" => (0, -1),
        "ArrowRight" => (0, 1),
        _ => return,
    };
    let Some(cell) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let at = |name: &str| {
        cell.get_attribute(name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (row, col) = (at("data-row") + dr, at("data-col") + dc);
    let selector = format!("[data-testid=\"cell\"][data-row=\"{row}\"][data-col=\"{col}\"]");
    let next = cell
        .closest("table")
        .ok()
        .flatten()
        .and_then(|t| t.query_selector(&selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(next) = next {
        ev.prevent_default();
        let _ = next.focus();
    }
}

/// The matrix view.
#[component]
pub fn MatrixView() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let table = move || {
        let g = ctx.graph.get();
        let after = ctx.after_graph.get();
        let selected = ctx.selection.get();
        let Rows { ids, only, cells } = rows(&g, after.as_deref());
        let k = ids.len();
        // The one tab stop: the selected cell, else the first cell that can be explained.
        let is_selected = |a: usize, b: usize| matches!(&selected, Some(Selection::Pair { from, to }) if *from == ids[a] && *to == ids[b]);
        let stop = (0..k * k)
            .find(|i| is_selected(i / k, i % k))
            .or_else(|| cells.iter().position(|c| c.applicable));
        let head = ids
            .iter()
            .zip(&only)
            .map(|(id, only)| {
                let title = match only {
                    Some(o) => format!("{id} ({o})"),
                    None => id.clone(),
                };
                view! {
                    <th scope="col" class="matrix__col" title=title>
                        <span>{id.clone()}</span>
                    </th>
                }
            })
            .collect_view();
        let mut cells = cells.into_iter();
        let body = (0..k)
            .map(|a| {
                let row: Vec<_> = (0..k)
                    .map(|b| {
                        let c = cells
                            .next()
                            .unwrap_or_else(|| plain_cell(Cell::NotApplicable));
                        let class = if is_selected(a, b) {
                            format!("{} cell--selected", c.class)
                        } else {
                            c.class
                        };
                        let (f, t) = (ids[a].clone(), ids[b].clone());
                        let applicable = c.applicable;
                        let pick = move || {
                            if applicable {
                                ctx.selection.set(Some(Selection::Pair {
                                    from: f.clone(),
                                    to: t.clone(),
                                }));
                            }
                        };
                        let pick2 = pick.clone();
                        let label = match (c.before, c.after) {
                            (Some(x), Some(y)) if x != y => {
                                format!("{} to {}: {x} before, {y} after", ids[a], ids[b])
                            }
                            _ => format!("{} to {}: {}", ids[a], ids[b], c.verdict),
                        };
                        view! {
                            <td
                                class=class
                                data-testid="cell"
                                data-from=ids[a].clone()
                                data-to=ids[b].clone()
                                data-verdict=c.verdict
                                data-before=c.before
                                data-after=c.after
                                data-change=c.change
                                data-row=a.to_string()
                                data-col=b.to_string()
                                tabindex=if stop == Some(a * k + b) { "0" } else { "-1" }
                                role="button"
                                aria-label=label
                                on:click=move |_| pick()
                                on:keydown=move |ev| {
                                    if matches!(ev.key().as_str(), "Enter" | " ") {
                                        ev.prevent_default();
                                        pick2();
                                    } else {
                                        move_focus(&ev);
                                    }
                                }
                            >
                                {c.text}
                            </td>
                        }
                    })
                    .collect();
                let title = match only[a] {
                    Some(o) => format!("{} ({o})", ids[a]),
                    None => ids[a].clone(),
                };
                view! {
                    <tr>
                        <th scope="row" class="matrix__row" title=title>{ids[a].clone()}</th>
                        {row}
                    </tr>
                }
            })
            .collect_view();
        let compare = after.is_some();
        view! {
            <table class=if compare { "matrix matrix--compare" } else { "matrix" } data-testid="matrix" data-compare=compare.to_string()>
                <caption class="sr-only">
                    {if compare { "Rows: source. Columns: destination. Each cell: before → after." } else { "Rows: source. Columns: destination." }}
                </caption>
                <thead>
                    <tr>
                        <th class="matrix__corner" scope="col">
                            <span class="matrix__from">"from ↓"</span>
                            <span class="matrix__to">"to →"</span>
                        </th>
                        {head}
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        }
    };
    view! { <div class="matrix-wrap">{table}</div> }
}
