//! The connectivity graph as SVG rendered by Leptos: namespace boxes, nodes styled by
//! isolation, edges (solid allowed, dashed denied). Pan by dragging the background, zoom
//! with the wheel or the buttons, drag nodes; click or press Enter on anything to explain it.

use leptos::prelude::*;
use leptos::svg;

use crate::components::ctx::{Ctx, Selection};
use crate::components::legend::Legend;
use crate::connectivity::{NodeKind, GHOST_BOX};
use crate::decided;
use crate::geometry;
use crate::layout::{NODE_H, NODE_W};

/// Beyond this many edges an SVG stops being readable (and fast); the rest are in the
/// matrix and the exports, and the graph says so.
const MAX_DRAWN_EDGES: usize = 3000;

#[derive(Clone, Debug)]
enum Drag {
    Pan {
        from: (f64, f64),
        pan: (f64, f64),
    },
    Node {
        id: String,
        from: (f64, f64),
        pos: (f64, f64),
        moved: bool,
    },
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn activate_key(ev: &leptos::ev::KeyboardEvent) -> bool {
    matches!(ev.key().as_str(), "Enter" | " ")
}

/// The graph view.
#[component]
pub fn GraphView() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let svg_ref = NodeRef::<svg::Svg>::new();
    // Zoom and pan live in the shared state: a link restores the frame it was made in.
    let (zoom, pan) = (ctx.zoom, ctx.pan);
    let drag = StoredValue::new(None::<Drag>);
    // Suppresses the click that ends a drag.
    let dragged_recently = StoredValue::new(false);

    let view_box = Memo::new(move |_| {
        let l = ctx.layout.get();
        let w = (l.width + 40.0).max(760.0);
        let h = (l.height + 40.0).max(400.0);
        (
            -20.0 - (w - 40.0 - l.width) / 2.0,
            -20.0 - (h - 40.0 - l.height) / 2.0,
            w,
            h,
        )
    });
    // Size of one screen pixel in viewBox units (preserveAspectRatio meet).
    let px = move || {
        let (_, _, w, h) = view_box.get_untracked();
        svg_ref
            .get_untracked()
            .map(|el| {
                let r = el.get_bounding_client_rect();
                (w / r.width().max(1.0)).max(h / r.height().max(1.0))
            })
            .unwrap_or(1.0)
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some(d) = drag.get_value() else { return };
        let (cx, cy) = (ev.client_x() as f64, ev.client_y() as f64);
        let k = px();
        match d {
            Drag::Pan { from, pan: p0 } => {
                pan.set((p0.0 + (cx - from.0) * k, p0.1 + (cy - from.1) * k))
            }
            Drag::Node {
                id,
                from,
                pos,
                moved,
            } => {
                let z = zoom.get_untracked();
                let (dx, dy) = ((cx - from.0) * k / z, (cy - from.1) * k / z);
                if moved || dx.abs() + dy.abs() > 3.0 {
                    ctx.dragged.update(|m| {
                        m.insert(id.clone(), (pos.0 + dx, pos.1 + dy));
                    });
                    drag.set_value(Some(Drag::Node {
                        id,
                        from,
                        pos,
                        moved: true,
                    }));
                }
            }
        }
    };
    let end_drag = move |_| {
        if let Some(Drag::Node { moved: true, .. }) = drag.get_value() {
            dragged_recently.set_value(true);
        }
        drag.set_value(None);
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        let Some(el) = svg_ref.get_untracked() else {
            return;
        };
        let r = el.get_bounding_client_rect();
        let k = px();
        let (vx, vy, vw, vh) = view_box.get_untracked();
        // The viewBox is centred in the element (xMidYMid meet).
        let off = ((r.width() - vw / k) / 2.0, (r.height() - vh / k) / 2.0);
        let u = (
            vx + (ev.client_x() as f64 - r.left() - off.0) * k,
            vy + (ev.client_y() as f64 - r.top() - off.1) * k,
        );
        zoom_at(zoom, pan, factor, u);
    };
    let zoom_center = move |factor: f64| {
        let (vx, vy, vw, vh) = view_box.get_untracked();
        zoom_at(zoom, pan, factor, (vx + vw / 2.0, vy + vh / 2.0));
    };

    let boxes = move || {
        ctx.layout
            .get()
            .boxes
            .iter()
            .map(|b| {
                let name = b
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "outside the cluster".into());
                let outside = b.namespace.is_none();
                let ghosts = b.namespace.as_deref() == Some(GHOST_BOX);
                let data_name = name.clone();
                let title = match (outside, ghosts) {
                    (true, _) => name,
                    (_, true) => "not in the input".to_string(),
                    _ => format!("namespace {name}"),
                };
                let class = match (outside, ghosts) {
                    (true, _) => "ns ns--outside",
                    (_, true) => "ns ns--ghosts",
                    _ => "ns",
                };
                view! {
                    <g class=class data-testid="namespace" data-name=data_name>
                        <rect class="ns__box" x=b.x y=b.y width=b.w height=b.h rx="12"></rect>
                        <text class="ns__title" x=b.x + 14.0 y=b.y + 21.0>
                            {title}
                        </text>
                    </g>
                }
            })
            .collect_view()
    };

    // The tier that decided each edge (`data-decided-by`), with the graph, not on every drag.
    let decided_by = Memo::new(move |_| {
        let (a, g, probe) = (ctx.analysis.get(), ctx.graph.get(), ctx.probe.get());
        decided::for_graph(&a, &g, decided::probe_parts(&probe), MAX_DRAWN_EDGES)
    });

    let edges = move || {
        let g = ctx.graph.get();
        let decided_by = decided_by.get();
        ctx.layout.track();
        ctx.dragged.track();
        let selected = ctx.selection.get();
        // In compare mode the union of before and after is drawn (on the before nodes);
        // otherwise the graph's own edges.
        type Drawn = (
            usize,
            usize,
            &'static str,
            Option<String>,
            Option<&'static str>,
        );
        let drawn: Vec<Drawn> = match ctx.merged.get() {
            Some(m) => m
                .edges
                .iter()
                .map(|e| (e.from, e.to, e.status.verdict(), e.ports.clone(), None))
                .collect(),
            None => g
                .edges
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let verdict = if e.allowed { "allowed" } else { "denied" };
                    let by = decided_by
                        .get(i)
                        .copied()
                        .flatten()
                        .map(decided::DecidedBy::as_str);
                    (e.from, e.to, verdict, e.ports.clone(), by)
                })
                .collect(),
        };
        let show_labels = drawn.len() <= 80;
        drawn
            .into_iter()
            .take(MAX_DRAWN_EDGES)
            .filter_map(|(e_from, e_to, verdict, ports, by)| {
                let from = g.nodes.get(e_from)?;
                let to = g.nodes.get(e_to)?;
                let a = ctx.position(e_from, &from.id);
                let b = ctx.position(e_to, &to.id);
                let (d, (mx, my)) = geometry::edge_path(a, b);
                let is_selected =
                    matches!(&selected, Some(Selection::Pair { from: f, to: t }) if *f == from.id && *t == to.id);
                let class = format!(
                    "edge edge--{verdict}{}{}",
                    by.map(|b| format!(" edge--by-{b}")).unwrap_or_default(),
                    if is_selected { " edge--selected" } else { "" }
                );
                let marker = format!("url(#arrow-{verdict})");
                let (fid, tid) = (from.id.clone(), to.id.clone());
                let select = move || ctx.selection.set(Some(Selection::Pair { from: fid.clone(), to: tid.clone() }));
                let select2 = select.clone();
                let aria = format!(
                    "{} to {}: {verdict}{}",
                    from.id,
                    to.id,
                    ports.as_ref().map(|p| format!(" ({p})")).unwrap_or_default()
                );
                // "all ports" is the unlabelled default (see the legend); label only restrictions.
                let label = ports.clone().filter(|p| (show_labels || is_selected) && p != "all ports").map(|p| {
                    view! {
                        <text class="edge__label" x=mx y=my - 4.0 text-anchor="middle">
                            {p}
                        </text>
                    }
                });
                Some(view! {
                    <g
                        class=class
                        data-testid="edge"
                        data-from=from.id.clone()
                        data-to=to.id.clone()
                        data-verdict=verdict
                        data-decided-by=by
                        data-ports=ports.clone().unwrap_or_default()
                        tabindex="-1"
                        role="button"
                        aria-label=aria
                        on:click=move |_| select()
                        on:keydown=move |ev| {
                            if activate_key(&ev) {
                                ev.prevent_default();
                                select2();
                            }
                        }
                    >
                        <path class="edge__hit" d=d.clone()></path>
                        <path class="edge__line" d=d marker-end=marker></path>
                        {label}
                    </g>
                })
            })
            .collect_view()
    };

    let nodes = move || {
        let g = ctx.graph.get();
        let a = ctx.analysis.get();
        ctx.layout.track();
        ctx.dragged.track();
        let selected = ctx.selection.get();
        g.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (x, y) = ctx.position(i, &n.id);
                let (kind, sub) = match &n.kind {
                    NodeKind::Pod(p) => {
                        let pod = a.model.cluster.pods.get(*p);
                        let sub = pod
                            .and_then(|p| p.labels.iter().find(|(k, _)| !k.contains('/')).or(p.labels.iter().next()))
                            .map(|(k, v)| format!("{k}={v}"))
                            .unwrap_or_else(|| "no labels".into());
                        ("pod", sub)
                    }
                    NodeKind::Group(m) => ("group", format!("{} endpoints · click to expand", m.len())),
                    NodeKind::Address(_) => ("address", "outside address".into()),
                };
                let is_selected = match &selected {
                    Some(Selection::Node(id)) => *id == n.id,
                    Some(Selection::Pair { from, to }) => *from == n.id || *to == n.id,
                    Some(Selection::Exposure { node, .. }) => *node == n.id,
                    None => false,
                };
                let iso = n.isolation.class();
                let class = format!(
                    "node node--{kind} node--iso-{iso}{}",
                    if is_selected { " node--selected" } else { "" }
                );
                let id = n.id.clone();
                let id_for_key = n.id.clone();
                let is_group = matches!(n.kind, NodeKind::Group(_));
                let activate = move |id: &str| {
                    if is_group {
                        ctx.expanded.update(|e| {
                            e.insert(id.to_string());
                        });
                    }
                    ctx.selection.set(Some(Selection::Node(id.to_string())));
                };
                let id_click = id.clone();
                let id_down = id.clone();
                let in_badge = matches!(n.isolation, crate::analysis::Isolation::Ingress | crate::analysis::Isolation::Both);
                let out_badge = matches!(n.isolation, crate::analysis::Isolation::Egress | crate::analysis::Isolation::Both);
                view! {
                    <g
                        class=class
                        data-testid="node"
                        data-id=id.clone()
                        data-kind=kind
                        data-isolation=iso
                        transform=format!("translate({x:.1},{y:.1})")
                        tabindex="-1"
                        role="button"
                        aria-label=format!("{} ({})", n.id, n.isolation.words())
                        on:mousedown=move |ev| {
                            ev.stop_propagation();
                            drag.set_value(Some(Drag::Node {
                                id: id_down.clone(),
                                from: (ev.client_x() as f64, ev.client_y() as f64),
                                pos: (x, y),
                                moved: false,
                            }));
                        }
                        on:click=move |_| {
                            if dragged_recently.get_value() {
                                dragged_recently.set_value(false);
                                return;
                            }
                            activate(&id_click);
                        }
                        on:keydown=move |ev| {
                            if activate_key(&ev) {
                                ev.prevent_default();
                                activate(&id_for_key);
                            }
                        }
                    >
                        <title>{format!("{} — {}", n.id, n.isolation.words())}</title>
                        {is_group.then(|| view! {
                            <rect class="node__stack" x=-NODE_W / 2.0 + 5.0 y=-NODE_H / 2.0 - 5.0 width=NODE_W height=NODE_H rx="8"></rect>
                        })}
                        <rect class="node__box" x=-NODE_W / 2.0 y=-NODE_H / 2.0 width=NODE_W height=NODE_H rx="8"></rect>
                        {in_badge.then(|| view! { <rect class="node__bar node__bar--in" x=-NODE_W / 2.0 y=-NODE_H / 2.0 width="6" height=NODE_H rx="3"></rect> })}
                        {out_badge.then(|| view! { <rect class="node__bar node__bar--out" x=NODE_W / 2.0 - 6.0 y=-NODE_H / 2.0 width="6" height=NODE_H rx="3"></rect> })}
                        <text class="node__label" x="0" y="-3" text-anchor="middle">{truncate(&n.label, 19)}</text>
                        <text class="node__sub" x="0" y="12" text-anchor="middle">{truncate(&sub, 24)}</text>
                    </g>
                }
            })
            .collect_view()
    };

    let ghost_edges = move || {
        let g = ctx.graph.get();
        let Some(x) = ctx.exposure.get() else {
            return Vec::new();
        };
        ctx.layout.track();
        ctx.dragged.track();
        let selected = ctx.selection.get();
        let first_ghost = g.nodes.len();
        x.edges
            .iter()
            .take(MAX_DRAWN_EDGES)
            .filter_map(|e| {
                let ghost = x.ghosts.get(e.ghost)?;
                let node = g.nodes.get(e.node)?;
                let gp = ctx.position(first_ghost + e.ghost, &ghost.id);
                let np = ctx.position(e.node, &node.id);
                let (a, b) = if e.incoming { (gp, np) } else { (np, gp) };
                let (from, to) = if e.incoming {
                    (ghost.id.clone(), node.id.clone())
                } else {
                    (node.id.clone(), ghost.id.clone())
                };
                let (d, (mx, my)) = geometry::edge_path(a, b);
                let is_selected = matches!(&selected, Some(Selection::Exposure { ghost: gid, node: nid, incoming })
                    if *gid == ghost.id && *nid == node.id && *incoming == e.incoming);
                let class = format!("edge edge--exposure{}", if is_selected { " edge--selected" } else { "" });
                let select = Selection::Exposure { ghost: ghost.id.clone(), node: node.id.clone(), incoming: e.incoming };
                let select2 = select.clone();
                let aria = format!("{from} to {to}: could connect ({})", e.ports);
                let label = (e.ports != "all ports").then(|| view! {
                    <text class="edge__label" x=mx y=my - 4.0 text-anchor="middle">{e.ports.clone()}</text>
                });
                Some(view! {
                    <g
                        class=class
                        data-testid="ghost-edge"
                        data-from=from
                        data-to=to
                        data-ports=e.ports.clone()
                        tabindex="0"
                        role="button"
                        aria-label=aria
                        on:click=move |_| ctx.selection.set(Some(select.clone()))
                        on:keydown=move |ev| {
                            if activate_key(&ev) {
                                ev.prevent_default();
                                ctx.selection.set(Some(select2.clone()));
                            }
                        }
                    >
                        <path class="edge__hit" d=d.clone()></path>
                        <path class="edge__line" d=d marker-end="url(#arrow-exposure)"></path>
                        {label}
                    </g>
                })
            })
            .collect::<Vec<_>>()
    };

    let ghosts = move || {
        let g = ctx.graph.get();
        let Some(x) = ctx.exposure.get() else {
            return Vec::new();
        };
        ctx.layout.track();
        ctx.dragged.track();
        let selected = ctx.selection.get();
        x.ghosts
            .iter()
            .enumerate()
            .map(|(i, ghost)| {
                let (px, py) = ctx.position(g.nodes.len() + i, &ghost.id);
                let is_selected = match &selected {
                    Some(Selection::Node(id)) => *id == ghost.id,
                    Some(Selection::Exposure { ghost: gid, .. }) => *gid == ghost.id,
                    _ => false,
                };
                let class = format!("node node--ghost{}", if is_selected { " node--selected" } else { "" });
                let id = ghost.id.clone();
                let id2 = ghost.id.clone();
                let sub = if ghost.matches_now.is_empty() {
                    "none yet".to_string()
                } else {
                    format!("now: {}", ghost.matches_now.len())
                };
                view! {
                    <g
                        class=class
                        data-testid="ghost"
                        data-id=ghost.id.clone()
                        transform=format!("translate({px:.1},{py:.1})")
                        tabindex="0"
                        role="button"
                        aria-label=format!("{} (not in the input)", ghost.description)
                        on:click=move |_| ctx.selection.set(Some(Selection::Node(id.clone())))
                        on:keydown=move |ev| {
                            if activate_key(&ev) {
                                ev.prevent_default();
                                ctx.selection.set(Some(Selection::Node(id2.clone())));
                            }
                        }
                    >
                        <title>{format!("{} — not in the input", ghost.description)}</title>
                        <rect class="node__box" x=-NODE_W / 2.0 y=-NODE_H / 2.0 width=NODE_W height=NODE_H rx="8"></rect>
                        <text class="node__label" x="0" y="-3" text-anchor="middle">{truncate(&ghost.label, 19)}</text>
                        <text class="node__sub" x="0" y="12" text-anchor="middle">{sub}</text>
                    </g>
                }
            })
            .collect::<Vec<_>>()
    };

    let empty = move || ctx.graph.with(|g| g.nodes.is_empty());

    view! {
        <div class="graph-wrap">
            <svg
                class="graph"
                data-testid="graph"
                node_ref=svg_ref
                role="img"
                aria-label="Connectivity graph"
                viewBox=move || {
                    let (x, y, w, h) = view_box.get();
                    format!("{x} {y} {w} {h}")
                }
                preserveAspectRatio="xMidYMid meet"
                on:mousedown=move |ev| {
                    drag.set_value(Some(Drag::Pan {
                        from: (ev.client_x() as f64, ev.client_y() as f64),
                        pan: pan.get_untracked(),
                    }));
                }
                on:mousemove=on_move
                on:mouseup=end_drag
                on:mouseleave=move |_| drag.set_value(None)
                on:wheel=on_wheel
            >
                <defs>
                    <marker id="arrow-allowed" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                    <marker id="arrow-denied" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                    <marker id="arrow-added" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                    <marker id="arrow-removed" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                    <marker id="arrow-exposure" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                </defs>
                <g transform=move || {
                    let (x, y) = pan.get();
                    format!("translate({x:.1},{y:.1}) scale({:.3})", zoom.get())
                }>
                    <g class="layer-boxes">{boxes}</g>
                    <g class="layer-edges">{edges}</g>
                    <g class="layer-ghost-edges">{ghost_edges}</g>
                    <g class="layer-nodes">{nodes}</g>
                    <g class="layer-ghosts">{ghosts}</g>
                </g>
            </svg>
            {move || {
                let total = ctx.graph.with(|g| g.edges.len());
                (total > MAX_DRAWN_EDGES).then(|| view! {
                    <div class="graph-note" data-testid="edges-capped">
                        {format!("Drawing the first {MAX_DRAWN_EDGES} of {total} edges: use the matrix or the exports for all of them.")}
                    </div>
                })
            }}
            {move || empty().then(|| view! {
                <div class="graph-empty">
                    <div class="graph-empty__title">"No endpoints yet"</div>
                    <div>"Add namespaces and pods in the Cluster editor, or load an example."</div>
                </div>
            })}
            <div class="zoom" role="group" aria-label="Zoom">
                <button data-testid="zoom-in" aria-label="Zoom in" on:click=move |_| zoom_center(1.25)>"+"</button>
                <button data-testid="zoom-out" aria-label="Zoom out" on:click=move |_| zoom_center(0.8)>"−"</button>
                <button
                    data-testid="zoom-reset"
                    aria-label="Fit to view"
                    title="Fit to view and reset dragged nodes"
                    on:click=move |_| {
                        zoom.set(1.0);
                        pan.set((0.0, 0.0));
                        ctx.dragged.set(Default::default());
                    }
                >
                    "⤢"
                </button>
                {move || (!ctx.expanded.with(|e| e.is_empty())).then(|| view! {
                    <button class="zoom__wide" data-testid="collapse-groups" on:click=move |_| ctx.expanded.set(Default::default())>
                        "Collapse groups"
                    </button>
                })}
            </div>
            <Legend />
        </div>
    }
}

fn zoom_at(zoom: RwSignal<f64>, pan: RwSignal<(f64, f64)>, factor: f64, u: (f64, f64)) {
    let z0 = zoom.get_untracked();
    let z1 = (z0 * factor).clamp(0.2, 5.0);
    let (px, py) = pan.get_untracked();
    // Keep the layout point under `u` fixed: u = pan + z * p.
    let p = ((u.0 - px) / z0, (u.1 - py) / z0);
    pan.set((u.0 - z1 * p.0, u.1 - z1 * p.1));
    zoom.set(z1);
}
