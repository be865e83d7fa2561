//! What a clicked node is: labels, IPs, ports, the policies selecting it, its peers.

use leptos::prelude::*;

use crate::components::ctx::{Ctx, Selection};
use crate::components::explanation::policy_link;
use crate::components::node_tiers::NodeTiers;
use crate::connectivity::NodeKind;
use netpol_core::{services, Model};

/// Facts about node `id`.
#[component]
pub fn NodeInfo(
    /// The graph node's id.
    id: String,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let a = ctx.analysis.get();
    let g = ctx.graph.get();
    let Some(index) = g.index_of(&id) else {
        return view! { <p class="muted">"This node is no longer in the graph."</p> }.into_any();
    };
    let node = g.nodes[index].clone();
    let (ingress, egress) = g.peers(index);
    let peer_list = move |peers: Vec<String>, outgoing: bool, me: String| {
        if peers.is_empty() {
            return view! { <p class="muted">"none"</p> }.into_any();
        }
        view! {
            <ul class="peers">
                {peers
                    .into_iter()
                    .map(|p| {
                        let (from, to) = if outgoing { (me.clone(), p.clone()) } else { (p.clone(), me.clone()) };
                        view! {
                            <li>
                                <button class="link" on:click=move |_| ctx.selection.set(Some(Selection::Pair { from: from.clone(), to: to.clone() }))>
                                    {p}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    let rep = match &node.kind {
        NodeKind::Pod(i) => Some(*i),
        NodeKind::Group(m) => m.first().copied(),
        NodeKind::Address(_) => None,
    };
    let details = match rep.and_then(|i| a.model.cluster.pods.get(i).map(|p| (i, p))) {
        Some((pi, pod)) => {
            let labels = pod.labels.iter().map(|(k, v)| view! { <span class="chip">{format!("{k}={v}")}</span> }).collect_view();
            let ips = if pod.ips.is_empty() { "none known".to_string() } else { pod.ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ") };
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
            let selecting: Vec<_> = a.selecting.get(pi).cloned().unwrap_or_default();
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
                NodeKind::Group(m) => Some(view! {
                    <h3 class="info__h">{format!("Members ({})", m.len())}</h3>
                    <ul class="peers">
                        {m.iter().filter_map(|i| a.model.cluster.pods.get(*i)).map(|p| view! { <li>{p.id.clone()}</li> }).collect_view()}
                    </ul>
                    <button class="button" on:click={
                        let gid = node.id.clone();
                        move |_| ctx.expanded.update(|e| { e.insert(gid.clone()); })
                    }>"Expand group"</button>
                }),
                _ => None,
            };
            view! {
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
                {members}
            }
            .into_any()
        }
        _ => view! { <p>"An address outside the cluster. Policies reach it only through ipBlock peers."</p> }.into_any(),
    };
    view! {
        <div class="node-info" data-testid="node-info" data-id=node.id.clone()>
            <h3 class="node-info__title">{node.id.clone()}</h3>
            {details}
            <h3 class="info__h">"Can receive from (ingress)"</h3>
            {peer_list(ingress, false, node.id.clone())}
            <h3 class="info__h">"Can send to (egress)"</h3>
            {peer_list(egress, true, node.id.clone())}
        </div>
    }
    .into_any()
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
