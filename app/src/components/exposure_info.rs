//! Why a ghost edge or a ghost node: what a pod that does not exist yet may do with a drawn
//! endpoint, by which rules, on which ports — the core's exposure, explained like an edge.

use leptos::prelude::*;
use netpol_core::exposure::{self, Exposure};
use netpol_core::{render, Endpoint, PolicyType};

use crate::analysis::Analysis;
use crate::components::ctx::{Ctx, Selection};
use crate::components::explanation::{plain_text, rule_link};
use crate::connectivity::{self, Ghost, Graph};

/// The drawn node and the core's exposure entry a ghost edge stands for.
fn entry(
    a: &Analysis,
    g: &Graph,
    ghost: &Ghost,
    node: &str,
    incoming: bool,
) -> Option<(Endpoint, Exposure, String)> {
    let index = g.index_of(node)?;
    let endpoint = connectivity::representative(a, &g.nodes[index])?;
    let Endpoint::Pod(pod) = endpoint else {
        return None;
    };
    let e = exposure::exposure(&a.model, pod)?;
    let side = if incoming { &e.ingress } else { &e.egress };
    let x = side
        .exposures
        .iter()
        .find(|x| render::exposure_peer(&x.peer) == ghost.description)?
        .clone();
    Some((endpoint, x, render::exposure(&a.model, &e)))
}

/// A ghost edge (`data-testid="exposure-explanation"`).
#[component]
pub fn ExposureInfo(
    /// The ghost's id.
    ghost: String,
    /// The drawn node's id.
    node: String,
    /// The ghost connects to the node (else the node to the ghost).
    incoming: bool,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let a = ctx.analysis.get();
    let g = ctx.graph.get();
    let overlay = ctx.exposure.get().unwrap_or_default();
    let Some(ghost) = overlay.index_of(&ghost).map(|i| overlay.ghosts[i].clone()) else {
        return view! { <p class="muted">"Turn on Exposure to see this."</p> }.into_any();
    };
    let Some((endpoint, x, text)) = entry(&a, &g, &ghost, &node, incoming) else {
        return view! { <p class="muted">"This exposure is no longer in the graph."</p> }
            .into_any();
    };
    let me = render::endpoint_name(&a.model, &endpoint);
    let title = if incoming {
        format!("{} → {me}", ghost.description)
    } else {
        format!("{me} → {}", ghost.description)
    };
    let ports = render::exposure_label(&x);
    let direction = if incoming {
        PolicyType::Ingress
    } else {
        PolicyType::Egress
    };
    let side_word = if incoming { "ingress" } else { "egress" };
    let peer_side = render::peer_side_text(direction, x.peer_side.as_ref());
    view! {
        <div class="pair exposure" data-testid="exposure-explanation">
            <h3 class="pair__title" data-testid="pair-title">{title}</h3>
            <div class="verdict verdict--exposure" data-testid="exposure-verdict">
                <span class="verdict__icon" aria-hidden="true">"◌"</span>
                <span class="verdict__word">"could connect"</span>
                <span class="verdict__flow" data-testid="exposure-ports">{ports}</span>
            </div>
            <p>{format!("Any pod matching the description — one that exists now, or one created later — is admitted by the {side_word} of {me}:")}</p>
            <p class="dir__label">"Admitted by"</p>
            <div class="refs">{x.rules.iter().map(|r| rule_link(ctx, r, false)).collect_view()}</div>
            <ul class="peers">{x.cluster_rules.iter().map(|r| view! { <li>{render::tier_rule(r)}</li> }).collect_view()}</ul>
            <p class="dir__label">"Matches now"</p>
            <p data-testid="exposure-now">{now_words(&ghost)}</p>
            <p class="dir__label">"The other side"</p>
            <p data-testid="exposure-peer-side">{peer_side.unwrap_or_else(|| "Its own policies are unknown: assumed to allow the connection (true when no policy selects it).".to_string())}</p>
            <p class="muted small">{format!("Exposure: {}.", render::EXPOSURE_ASSUMPTION)}</p>
            {plain_text(text)}
        </div>
    }
    .into_any()
}

fn now_words(ghost: &Ghost) -> String {
    if ghost.matches_now.is_empty() {
        "No endpoint of the input matches it yet.".to_string()
    } else {
        format!(
            "{} (and any pod like them created later).",
            ghost.matches_now.join(", ")
        )
    }
}

/// A ghost node: its description and the drawn endpoints it may reach or be reached from.
#[component]
pub fn GhostInfo(
    /// The ghost's id.
    id: String,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let g = ctx.graph.get();
    let overlay = ctx.exposure.get().unwrap_or_default();
    let Some(index) = overlay.index_of(&id) else {
        return view! { <p class="muted">"Turn on Exposure to see this."</p> }.into_any();
    };
    let ghost = overlay.ghosts[index].clone();
    let links = |incoming: bool| {
        let items: Vec<_> = overlay
            .edges
            .iter()
            .filter(|e| e.ghost == index && e.incoming == incoming)
            .filter_map(|e| g.nodes.get(e.node).map(|n| (n.id.clone(), e.ports.clone())))
            .collect();
        if items.is_empty() {
            return view! { <p class="muted">"none"</p> }.into_any();
        }
        let ghost_id = ghost.id.clone();
        view! {
            <ul class="peers">
                {items.into_iter().map(|(node, ports)| {
                    let select = Selection::Exposure { ghost: ghost_id.clone(), node: node.clone(), incoming };
                    view! {
                        <li>
                            <button class="link" on:click=move |_| ctx.selection.set(Some(select.clone()))>
                                {format!("{node}: {ports}")}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <div class="node-info" data-testid="ghost-info" data-id=ghost.id.clone()>
            <h3 class="node-info__title">{ghost.description.clone()}</h3>
            <p>"Not an endpoint of the input: any pod matching this description, now or later. The rules below admit it."</p>
            <p class="dir__label">"Matches now"</p>
            <p>{now_words(&ghost)}</p>
            <h3 class="info__h">"Could connect to"</h3>
            {links(true)}
            <h3 class="info__h">"Could be connected to from"</h3>
            {links(false)}
        </div>
    }
    .into_any()
}
