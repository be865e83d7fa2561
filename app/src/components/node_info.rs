//! What a clicked node is: labels, IPs, ports, the policies selecting it, its peers.

use leptos::prelude::*;

use crate::analysis::Analysis;
use crate::components::ctx::{Ctx, Selection};
use crate::components::explanation::policy_link;
use crate::components::node_tiers::NodeTiers;
use crate::connectivity::{GroupInfo, Node, NodeKind};
use netpol_core::{services, Model};

/// Up to this many members of a group are listed.
const MEMBERS_LISTED: usize = 60;

/// Facts about node `id` (an endpoint, a group — open or not — or an address class).
#[component]
pub fn NodeInfo(
    /// The graph node's id.
    id: String,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let a = ctx.analysis.get();
    let g = ctx.graph.get();
    if let Some(group) = g.group(&id) {
        return open_group(ctx, &a, group).into_any();
    }
    let Some(index) = g.index_of(&id) else {
        return view! { <p class="muted">"This node is no longer in the graph."</p> }.into_any();
    };
    let node = g.nodes[index].clone();
    let (ingress, egress) = g.peers(index);
    let rep = match &node.kind {
        NodeKind::Pod(i) => Some(*i),
        NodeKind::Group(m) => m.first().copied(),
        NodeKind::Address(_) => None,
    };
    let details = match rep.and_then(|i| a.model.cluster.pods.get(i).map(|p| (i, p))) {
        Some((pi, pod)) => pod_facts(ctx, &a, &node, pi, pod),
        _ => view! { <p>"An address outside the cluster. Policies reach it only through ipBlock peers."</p> }.into_any(),
    };
    let title = match &node.kind {
        NodeKind::Group(_) => format!("{} — {}", node.label, node.detail),
        _ => node.id.clone(),
    };
    view! {
        <div class="node-info" data-testid="node-info" data-id=node.id.clone()>
            <h3 class="node-info__title">{title}</h3>
            {details}
            <h3 class="info__h">"Can receive from (ingress)"</h3>
            {open_line(&node, true)}
            {peer_list(ctx, ingress, false, node.id.clone())}
            <h3 class="info__h">"Can send to (egress)"</h3>
            {open_line(&node, false)}
            {peer_list(ctx, egress, true, node.id.clone())}
        </div>
    }
    .into_any()
}

/// The drawn peers of a node, each selecting the pair.
fn peer_list(ctx: Ctx, peers: Vec<String>, outgoing: bool, me: String) -> AnyView {
    if peers.is_empty() {
        return view! { <p class="muted">"no connection decided by a policy"</p> }.into_any();
    }
    view! {
        <ul class="peers">
            {peers
                .into_iter()
                .map(|p| {
                    let (from, to) = if outgoing { (me.clone(), p.clone()) } else { (p.clone(), me.clone()) };
                    view! {
                        <li>
                            <button class="link" data-testid="peer-link" on:click=move |_| ctx.selection.set(Some(Selection::Pair { from: from.clone(), to: to.clone() }))>
                                {p}
                            </button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// What an open side means for this node: the pairs not drawn one by one.
fn open_line(node: &Node, ingress: bool) -> Option<AnyView> {
    let open = if ingress {
        node.open_ingress()
    } else {
        node.open_egress()
    };
    open.then(|| {
        let text = if ingress {
            "Open ingress: no policy isolates it, so every pod and address whose own egress lets it out may connect (not drawn one by one; Show unrestricted draws them)."
        } else {
            "Open egress: no policy isolates it, so it may connect to every pod whose ingress admits it, and to any address."
        };
        view! { <p class="open-note" data-testid=if ingress { "open-ingress" } else { "open-egress" }>{text}</p> }.into_any()
    })
}

fn pod_facts(ctx: Ctx, a: &Analysis, node: &Node, pi: usize, pod: &netpol_core::Pod) -> AnyView {
    let labels = pod
        .labels
        .iter()
        .map(|(k, v)| view! { <span class="chip">{format!("{k}={v}")}</span> })
        .collect_view();
    let ips = if pod.ips.is_empty() {
        "none known".to_string()
    } else {
        pod.ips
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ports = if pod.ports.is_empty() {
        "none declared".to_string()
    } else {
        pod.ports
            .iter()
            .map(|p| match &p.name {
                Some(n) => format!("{n} {}/{}", p.port, p.protocol),
                None => format!("{}/{}", p.port, p.protocol),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let selecting = a.selecting(pi);
    let policies = if selecting.is_empty() {
        view! { <p class="muted">"no NetworkPolicy selects it"</p> }.into_any()
    } else {
        view! {
            <div class="refs">
                {selecting
                    .iter()
                    .filter_map(|&i| a.model.policies.get(i))
                    .map(|p| {
                        let r = netpol_core::PolicyRef { index: 0, namespace: p.namespace.clone(), name: p.name.clone(), span: p.span };
                        policy_link(ctx, &r)
                    })
                    .collect_view()}
            </div>
        }
        .into_any()
    };
    let services = services_view(&a.model, pi);
    let members = match &node.kind {
        NodeKind::Group(m) => Some(members(ctx, a, &node.id, m, true)),
        _ => None,
    };
    let is_group = matches!(node.kind, NodeKind::Group(_));
    view! {
        {members}
        {is_group.then(|| view! { <p class="muted small">"Every member behaves the same: the facts below are the first member's; pod pairs count every member."</p> })}
        <dl class="facts">
            <dt>"Namespace"</dt><dd>{pod.namespace.clone()}</dd>
            <dt>"Kind"</dt><dd>{pod.workload.clone().unwrap_or_else(|| "Pod".into())}</dd>
            <dt>"IPs"</dt><dd>{ips}</dd>
            <dt>"Ports"</dt><dd>{ports}</dd>
            <dt>"Isolation"</dt><dd>{node.isolation.words()}</dd>
        </dl>
        <h3 class="info__h">"Labels"</h3>
        <div class="chips">{labels}</div>
        <h3 class="info__h">"Selected by"</h3>
        {policies}
        <NodeTiers pod=pi />
        <h3 class="info__h">"Services"</h3>
        {services}
    }
    .into_any()
}

/// A group's members, each selectable, and the button that opens (or closes) it in place.
fn members(ctx: Ctx, a: &Analysis, id: &str, m: &[usize], collapsed: bool) -> AnyView {
    let gid = id.to_string();
    let listed = m
        .iter()
        .take(MEMBERS_LISTED)
        .filter_map(|i| a.model.cluster.pods.get(*i))
        .map(|p| {
            let pid = p.id.clone();
            let gid = gid.clone();
            view! {
                <li>
                    <button class="link" data-testid="member-link" on:click=move |_| {
                        if collapsed {
                            ctx.expanded.update(|e| { e.insert(gid.clone()); });
                        }
                        ctx.selection.set(Some(Selection::Node(pid.clone())));
                        ctx.graph_state.centre_on(&pid);
                    }>{p.id.clone()}</button>
                </li>
            }
        })
        .collect_view();
    let more = m.len().saturating_sub(MEMBERS_LISTED);
    let toggle = {
        let gid = gid.clone();
        move |_| {
            ctx.expanded.update(|e| {
                if collapsed {
                    e.insert(gid.clone());
                } else {
                    e.remove(&gid);
                }
            })
        }
    };
    view! {
        <button class="button" data-testid=if collapsed { "expand-group" } else { "collapse-group" } on:click=toggle>
            {if collapsed { "Open the group in place" } else { "Close the group" }}
        </button>
        <h3 class="info__h">{format!("Members ({})", m.len())}</h3>
        <ul class="peers">{listed}</ul>
        {(more > 0).then(|| view! { <p class="muted small">{format!("and {more} more (search finds any of them)")}</p> })}
    }
    .into_any()
}

/// An open group: still selected, its members drawn one by one and focused together.
fn open_group(ctx: Ctx, a: &Analysis, group: &GroupInfo) -> impl IntoView {
    view! {
        <div class="node-info" data-testid="node-info" data-id=group.id.clone()>
            <h3 class="node-info__title">{format!("{} — {}", group.label, group.detail)}</h3>
            <p class="muted small">"Open in place: its members are drawn one by one (highlighted). They all behave the same."</p>
            {members(ctx, a, &group.id, &group.members, false)}
        </div>
    }
}

/// The Services this pod is behind, each port with the port this pod receives it on (the
/// core's resolution of `targetPort`): what policies must allow, never the Service's port.
fn services_view(model: &Model, pod: usize) -> AnyView {
    let behind = services::services_of(&model.cluster, pod);
    let Some(p) = model.cluster.pods.get(pod) else {
        return ().into_any();
    };
    if behind.is_empty() {
        return view! { <p class="muted" data-testid="node-services">"not behind any Service"</p> }
            .into_any();
    }
    let items = behind
        .into_iter()
        .filter_map(|s| model.cluster.services.get(s))
        .map(|service| {
            let ports: Vec<String> = service
                .ports
                .iter()
                .map(|port| match services::target_port(p, port) {
                    Some(n) => format!("{}/{} → {n}", port.port, port.protocol),
                    None => format!(
                        "{}/{} → {} (no such port here: it receives nothing)",
                        port.port, port.protocol, port.target_port
                    ),
                })
                .collect();
            let text = if ports.is_empty() {
                format!("{} (no ports)", service.id)
            } else {
                format!("{}: {}", service.id, ports.join(", "))
            };
            view! { <li data-testid="node-service" data-service=service.id.clone()>{text}</li> }
        })
        .collect_view();
    view! {
        <ul class="node-services" data-testid="node-services">{items}</ul>
        <p class="muted small">"Policies see the port on the right: the Service's address and port are translated before any policy applies."</p>
    }
    .into_any()
}
