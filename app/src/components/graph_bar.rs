//! The bar above the graph: the search box (pods, workloads, labels; Enter picks the
//! first result, opening its group if it is in one, and centres it), the namespace
//! filter, and what the graph leaves out (open pairs, capped edges) or why it waits.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::components::ctx::{Ctx, Selection};
use crate::components::graph_state::Status;
use crate::scene::thousands;
use crate::search::{self, Hit};

/// Results listed under the search box.
const RESULTS: usize = 8;

/// Selects a search result: opens its group if needed, selects and centres it.
fn pick(ctx: Ctx, hit: &Hit) {
    let gs = ctx.graph_state;
    if let Some(group) = &hit.expand {
        ctx.expanded.update(|e| {
            e.insert(group.clone());
        });
    }
    ctx.selection.set(Some(Selection::Node(hit.node.clone())));
    gs.centre_on(&hit.node);
}

/// The graph's bar.
#[component]
pub fn GraphBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    let open = RwSignal::new(false);
    let results = Memo::new(move |_| {
        let query = gs.search.get();
        if query.trim().is_empty() {
            return Vec::new();
        }
        let a = ctx.analysis.get();
        let g = ctx.graph.get();
        search::find(&a, &g, &query, RESULTS)
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            if let Some(hit) = results.get_untracked().first() {
                pick(ctx, hit);
                open.set(false);
            }
        }
        "Escape" => {
            gs.search.set(String::new());
            open.set(false);
        }
        _ => {}
    };
    let namespaces = move || {
        ctx.analysis.with(|a| {
            a.model
                .cluster
                .namespaces
                .iter()
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
        })
    };
    let chosen = move || {
        gs.namespaces
            .with(|n| n.iter().next().cloned().unwrap_or_default())
    };
    let notes = move || {
        let mut out = Vec::new();
        let g = ctx.graph.get();
        if g.hidden_open > 0 && !gs.show_unrestricted.get() {
            out.push(view! {
                <span class="graph-note" data-testid="open-hidden" title="Pairs where neither side is isolated are allowed on every port without any policy deciding it; the dashed side of a node says so. Show unrestricted draws each.">
                    {format!("{} open connection{} not drawn", thousands(g.hidden_open), if g.hidden_open == 1 { "" } else { "s" })}
                    <button class="link" on:click=move |_| gs.show_unrestricted.set(true)>"show"</button>
                </span>
            }.into_any());
        }
        if g.filtered_out > 0 {
            out.push(
                view! {
                    <span class="graph-note" data-testid="filtered">
                        {format!("{} nodes of other namespaces hidden", thousands(g.filtered_out))}
                    </span>
                }
                .into_any(),
            );
        }
        if let Some(cap) = gs.scene.with(|s| s.as_ref().and_then(|s| s.cap.clone())) {
            out.push(view! { <span class="graph-note graph-note--warn" data-testid="edges-capped">{cap.words()}</span> }.into_any());
        }
        out
    };
    view! {
        <div class="graph-bar">
            <div class="search" role="search">
                <input
                    type="search"
                    class="search__input"
                    data-testid="search"
                    placeholder="Find a pod, workload or label (app=api)"
                    aria-label="Find a pod, workload or label"
                    prop:value=move || gs.search.get()
                    on:input=move |ev| {
                        gs.search.set(event_target_value(&ev));
                        open.set(true);
                    }
                    on:focus=move |_| open.set(true)
                    on:blur=move |_| set_timeout(move || open.set(false), std::time::Duration::from_millis(200))
                    on:keydown=on_key
                />
                {move || (open.get() && !gs.search.with(|s| s.trim().is_empty())).then(|| {
                    let list = results.get();
                    view! {
                        <ul class="search__results" role="listbox" data-testid="search-results">
                            {if list.is_empty() {
                                view! { <li class="search__none muted">"No pod, workload or label matches"</li> }.into_any()
                            } else {
                                list.into_iter().map(|hit| {
                                    let text = if hit.count > 1 { format!("{} · {} matches", hit.text, hit.count) } else { hit.text.clone() };
                                    view! {
                                        <li>
                                            <button class="search__result" data-testid="search-result" data-node=hit.node.clone()
                                                on:mousedown=move |ev| { ev.prevent_default(); pick(ctx, &hit); open.set(false); }>
                                                {text}
                                            </button>
                                        </li>
                                    }
                                }).collect_view().into_any()
                            }}
                        </ul>
                    }
                })}
            </div>
            <label class="field field--inline">
                <span class="field__label">"Namespace"</span>
                <select
                    data-testid="namespace-filter"
                    prop:value=chosen
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        gs.namespaces.set(if v.is_empty() { BTreeSet::new() } else { [v].into() });
                    }
                >
                    <option value="">"All namespaces"</option>
                    {move || namespaces().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                </select>
            </label>
            <span class="graph-bar__notes">{notes}</span>
            <span class="spacer"></span>
            {move || match gs.status.get() {
                Status::Working => Some(view! { <span class="pill pill--busy" data-testid="evaluating" aria-live="polite">"evaluating…"</span> }.into_any()),
                Status::Failed(why) => Some(view! { <span class="pill pill--stale" data-testid="worker-failed">{why}</span> }.into_any()),
                _ => None,
            }}
        </div>
        {move || match gs.status.get() {
            Status::TooLarge(message) => Some(view! {
                <div class="too-large" data-testid="too-large" role="alert">
                    <strong>"Too large to evaluate here. "</strong>
                    {message}
                </div>
            }),
            _ => None,
        }}
    }
}
