//! The overview's panels: a namespace (its pods, how many are isolated, the namespaces it
//! talks to) and the connections from one namespace to another, each one a click away from
//! its explanation.

use leptos::prelude::*;

use crate::components::ctx::{Ctx, Selection};
use crate::components::graph_view::node_name;
use crate::overview::{self, Overview, Tally, OUTSIDE};
use crate::scene::thousands;

/// Namespaces listed per direction before "and N more".
const LINKS_LISTED: usize = 40;

/// "namespace ns1", or "outside the cluster".
pub fn area_title(key: &str) -> String {
    if key == OUTSIDE {
        "outside the cluster".into()
    } else {
        format!("namespace {key}")
    }
}

/// "312 pod pairs allowed by policy · 40 denied", only the kinds the view shows.
fn tally_words(t: &Tally, denied: bool, unrestricted: bool) -> String {
    let mut parts = vec![format!("{} allowed by policy", overview::pairs(t.allowed))];
    if unrestricted && t.open > 0 {
        parts.push(format!("{} open", thousands(t.open as usize)));
    }
    if denied && t.denied > 0 {
        parts.push(format!("{} denied", thousands(t.denied as usize)));
    }
    parts.join(" · ")
}

/// Facts about one namespace of the overview.
#[component]
pub fn NamespaceInfo(
    /// Namespace name or [`OUTSIDE`].
    key: String,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let g = ctx.graph.get();
    let o = &g.overview;
    let Some(i) = o.area(&key) else {
        return view! { <p class="muted">"This namespace is no longer in the graph."</p> }
            .into_any();
    };
    let a = &o.areas[i];
    let (denied, unrestricted) = (
        ctx.show_denied.get(),
        ctx.graph_state.show_unrestricted.get(),
    );
    let pods = if key == OUTSIDE {
        format!("{} address classes", thousands(a.pods as usize))
    } else {
        format!(
            "{} pods in {} nodes · ingress isolated: {} · egress isolated: {}",
            thousands(a.pods as usize),
            thousands(a.nodes),
            thousands(a.isolated_ingress as usize),
            thousands(a.isolated_egress as usize)
        )
    };
    let inside = tally_words(&a.inside, denied, unrestricted);
    let zoom = {
        let key = key.clone();
        move |_| ctx.graph_state.show_namespace(&key)
    };
    view! {
        <div class="node-info" data-testid="namespace-info" data-ns=key.clone()>
            <h3 class="node-info__title">{area_title(&key)}</h3>
            <p data-testid="namespace-pods">{pods}</p>
            <p class="muted">"Inside: " {inside}</p>
            <button class="button" data-testid="zoom-namespace" on:click=zoom>"Zoom in to its pods"</button>
            <h3 class="info__h">"Sends to (egress)"</h3>
            {link_list(ctx, o, i, true)}
            <h3 class="info__h">"Receives from (ingress)"</h3>
            {link_list(ctx, o, i, false)}
        </div>
    }
    .into_any()
}

/// The namespaces area `i` sends to (`outgoing`) or receives from, busiest first.
fn link_list(ctx: Ctx, o: &Overview, i: usize, outgoing: bool) -> AnyView {
    let links: Vec<_> = o
        .links
        .iter()
        .filter(|l| if outgoing { l.from == i } else { l.to == i })
        .collect();
    if links.is_empty() {
        return view! { <p class="muted">"no other namespace, by policy"</p> }.into_any();
    }
    let more = links.len().saturating_sub(LINKS_LISTED);
    let items = links
        .into_iter()
        .take(LINKS_LISTED)
        .map(|l| {
            let (from, to) = (o.areas[l.from].key().to_string(), o.areas[l.to].key().to_string());
            let other = if outgoing { to.clone() } else { from.clone() };
            let pairs = format!(" · {}", overview::pairs(l.tally.allowed));
            view! {
                <li>
                    <button class="link" data-testid="namespace-link" data-from-ns=from.clone() data-to-ns=to.clone()
                        on:click=move |_| ctx.selection.set(Some(Selection::Namespaces { from: from.clone(), to: to.clone() }))>
                        {area_title(&other)}
                    </button>
                    <span class="muted">{pairs}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="peers">{items}</ul>
        {(more > 0).then(|| view! { <p class="muted">{format!("and {} more", thousands(more))}</p> })}
    }
    .into_any()
}

/// Every drawn connection from one namespace to another.
#[component]
pub fn NamespacesInfo(
    /// Source namespace (or [`OUTSIDE`]).
    from: String,
    /// Destination namespace (or [`OUTSIDE`]).
    to: String,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let g = ctx.graph.get();
    let o = &g.overview;
    let tally = o
        .area(&from)
        .zip(o.area(&to))
        .and_then(|(f, t)| o.links.iter().find(|l| l.from == f && l.to == t))
        .map(|l| l.tally)
        .unwrap_or_default();
    let (denied, unrestricted) = (
        ctx.show_denied.get(),
        ctx.graph_state.show_unrestricted.get(),
    );
    let in_area = |ns: &Option<String>, key: &str| overview::key(ns.as_deref()) == key;
    let edges: Vec<(String, String, String, bool)> = g
        .edges
        .iter()
        .filter(|e| {
            in_area(&g.nodes[e.from].namespace, &from) && in_area(&g.nodes[e.to].namespace, &to)
        })
        .map(|e| {
            let (f, t) = (&g.nodes[e.from], &g.nodes[e.to]);
            let words = format!("{} → {}", node_name(f), node_name(t));
            (f.id.clone(), t.id.clone(), words, e.allowed)
        })
        .collect();
    let listed = edges.iter().filter(|e| e.3).count();
    let note = (listed < tally.connections).then(|| {
        format!(
            "{} of its {} connections are drawn (the graph's cap left the rest out); a node's panel lists all of its own.",
            thousands(listed),
            thousands(tally.connections)
        )
    });
    let title = format!("{} → {}", area_title(&from), area_title(&to));
    let words = tally_words(&tally, denied, unrestricted);
    let items = edges
        .into_iter()
        .map(|(f, t, words, allowed)| {
            let verdict = if allowed { "allowed" } else { "denied" };
            view! {
                <li>
                    <button class="link" data-testid="peer-link" data-from=f.clone() data-to=t.clone() data-verdict=verdict
                        on:click=move |_| ctx.selection.set(Some(Selection::Pair { from: f.clone(), to: t.clone() }))>
                        {words}
                    </button>
                    {(!allowed).then(|| view! { <span class="muted">" · denied"</span> })}
                </li>
            }
        })
        .collect_view();
    let (zoom_from, zoom_to) = (from.clone(), to.clone());
    view! {
        <div class="node-info" data-testid="namespaces-info" data-from-ns=from.clone() data-to-ns=to.clone()>
            <h3 class="node-info__title">{title}</h3>
            <p data-testid="namespaces-pairs">{words}</p>
            <p class="muted">{format!("{} connections decided by policy", thousands(tally.connections))}</p>
            <div class="button-row">
                <button class="button" data-testid="select-from-ns" on:click=move |_| ctx.selection.set(Some(Selection::Namespace(zoom_from.clone())))>{area_title(&from)}</button>
                <button class="button" data-testid="select-to-ns" on:click=move |_| ctx.selection.set(Some(Selection::Namespace(zoom_to.clone())))>{area_title(&to)}</button>
            </div>
            <h3 class="info__h">"Connections"</h3>
            <ul class="peers">{items}</ul>
            {note.map(|n| view! { <p class="muted" data-testid="namespaces-capped">{n}</p> })}
        </div>
    }
}
