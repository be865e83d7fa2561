//! The connectivity graph: a bar (search, namespace filter, what is left out), the drawing
//! — SVG elements for graphs up to a few hundred nodes, a canvas with an accessible list
//! beyond ([`crate::components::graph_canvas`]) — and the legend with the zoom buttons
//! below it, so nothing floats over the drawing and every edge's middle can be clicked.
//!
//! Edges follow the routes the worker computed ([`crate::route`]): around nodes, on tracks
//! of their own, drawn in an order where nothing covers the middle of an edge. Clicking a
//! node focuses it (its peers highlighted, the rest dimmed; Escape clears); double-click
//! or the panel's button opens a group in place. Pan by dragging the background, zoom with
//! the wheel or the buttons.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::svg;

use crate::components::ctx::{Ctx, Selection};
use crate::components::graph_bar::GraphBar;
use crate::components::graph_canvas::CanvasGraph;
use crate::components::graph_state::GraphState;
use crate::components::legend::Legend;
use crate::connectivity::{Graph, NodeKind, GHOST_BOX};
use crate::decided;
use crate::layout::{Layout, NODE_H, NODE_W};
use crate::route::{self, Route};
use crate::scene::Renderer;
use crate::search;

/// Edge labels are drawn up to this many drawn edges.
const LABELS_UP_TO: usize = 80;

/// Pan and zoom, shared by both renderers and the controls that centre a node.
#[derive(Clone, Copy)]
pub struct Viewport {
    /// Scale on top of fitting the whole layout.
    pub zoom: RwSignal<f64>,
    /// Offset in view units.
    pub pan: RwSignal<(f64, f64)>,
    /// The drawing's size on screen, in CSS pixels.
    pub size: RwSignal<(f64, f64)>,
}

impl Viewport {
    /// Back to the whole graph.
    pub fn reset(&self) {
        self.zoom.set(1.0);
        self.pan.set((0.0, 0.0));
    }

    /// Zooms by `factor` keeping the view point `u` where it is.
    pub fn zoom_at(&self, factor: f64, u: (f64, f64)) {
        let z0 = self.zoom.get_untracked();
        let z1 = (z0 * factor).clamp(0.2, 40.0);
        let (px, py) = self.pan.get_untracked();
        let p = ((u.0 - px) / z0, (u.1 - py) / z0);
        self.pan.set((u.0 - z1 * p.0, u.1 - z1 * p.1));
        self.zoom.set(z1);
    }

    /// Fits layout rectangle `r` (x, y, w, h) to the view, with a margin.
    pub fn fit(&self, layout: &Layout, r: (f64, f64, f64, f64)) {
        let (vx, vy, vw, vh) = view_box(layout);
        let zoom = (vw / (r.2 * 1.1)).min(vh / (r.3 * 1.1)).clamp(0.2, 40.0);
        let centre = (vx + vw / 2.0, vy + vh / 2.0);
        let p = (r.0 + r.2 / 2.0, r.1 + r.3 / 2.0);
        self.zoom.set(zoom);
        self.pan.set((centre.0 - zoom * p.0, centre.1 - zoom * p.1));
    }

    /// Puts layout point `p` in the middle, zoomed in so that a node reads well.
    pub fn centre(&self, layout: &Layout, p: (f64, f64)) {
        let (vx, vy, vw, vh) = view_box(layout);
        let (sw, sh) = self.size.get_untracked();
        let fit = (sw / vw).min(sh / vh).max(1e-6);
        // At least 150 screen pixels per node width.
        let zoom = self.zoom.get_untracked().max(150.0 / (NODE_W * fit));
        let centre = (vx + vw / 2.0, vy + vh / 2.0);
        self.zoom.set(zoom);
        self.pan.set((centre.0 - zoom * p.0, centre.1 - zoom * p.1));
    }
}

/// The view box fitting a layout (with a margin, and a minimum size so a tiny graph is
/// not blown up).
pub fn view_box(l: &Layout) -> (f64, f64, f64, f64) {
    let w = (l.width + 40.0).max(760.0);
    let h = (l.height + 40.0).max(400.0);
    (
        -20.0 - (w - 40.0 - l.width) / 2.0,
        -20.0 - (h - 40.0 - l.height) / 2.0,
        w,
        h,
    )
}

/// What is highlighted: the focused node(s) and their peers, search matches, changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Marks {
    /// The focus, when something is selected.
    pub focus: Option<Focus>,
    /// Nodes the search matches.
    pub matches: BTreeSet<usize>,
    /// Edges (from id, to id) that just opened.
    pub opened: BTreeSet<(String, String)>,
    /// Edges that just closed (drawn as fading overlays).
    pub closed: Vec<(String, String)>,
}

/// The selected node(s), their peers by drawn edges, and those edges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Focus {
    /// Selected nodes (a pair's two ends, an open group's members).
    pub selves: BTreeSet<usize>,
    /// Nodes at the other end of a drawn edge.
    pub peers: BTreeSet<usize>,
    /// Drawn edges touching the selection (indices into the graph's edges).
    pub edges: BTreeSet<usize>,
    /// The selected pair, if a pair is selected.
    pub pair: Option<(usize, usize)>,
}

impl Marks {
    /// `self`, `peer`, `dim` or nothing, for a node.
    pub fn node_state(&self, index: usize) -> Option<&'static str> {
        let f = self.focus.as_ref()?;
        Some(if f.selves.contains(&index) {
            "self"
        } else if f.peers.contains(&index) {
            "peer"
        } else {
            "dim"
        })
    }

    /// `focus` or `dim` for an edge, when something is focused.
    pub fn edge_state(&self, index: usize) -> Option<&'static str> {
        let f = self.focus.as_ref()?;
        Some(if f.edges.contains(&index) {
            "focus"
        } else {
            "dim"
        })
    }
}

/// The focus a selection makes on `graph` (`drawn` edges).
fn focus(graph: &Graph, drawn: usize, selection: &Selection) -> Option<Focus> {
    let mut f = Focus::default();
    match selection {
        Selection::Node(id) | Selection::Exposure { node: id, .. } => {
            if let Some(i) = graph.index_of(id) {
                f.selves.insert(i);
            } else if let Some(group) = graph.group(id) {
                for (i, n) in graph.nodes.iter().enumerate() {
                    if matches!(n.kind, NodeKind::Pod(p) if group.members.contains(&p)) {
                        f.selves.insert(i);
                    }
                }
            }
        }
        Selection::Pair { from, to } => {
            let (a, b) = (graph.index_of(from)?, graph.index_of(to)?);
            f.selves.extend([a, b]);
            f.pair = Some((a, b));
        }
        // Namespaces are the overview's; their nodes stay as they are.
        Selection::Namespace(_) | Selection::Namespaces { .. } => return None,
    }
    if f.selves.is_empty() {
        return None;
    }
    for (i, e) in graph.edges.iter().take(drawn).enumerate() {
        let touches = match f.pair {
            Some((a, b)) => e.from == a && e.to == b,
            None => f.selves.contains(&e.from) || f.selves.contains(&e.to),
        };
        if touches {
            f.edges.insert(i);
            for end in [e.from, e.to] {
                if !f.selves.contains(&end) {
                    f.peers.insert(end);
                }
            }
        }
    }
    Some(f)
}

/// Tooltip text and where (relative to the drawing's wrapper).
#[derive(Clone, Debug, PartialEq)]
pub struct Tip {
    /// Left, in CSS pixels.
    pub x: f64,
    /// Top, in CSS pixels.
    pub y: f64,
    /// Lines.
    pub lines: Vec<String>,
}

/// The tooltip of drawn edge `index`: the pair, the verdict, ports and pod pairs.
pub fn edge_tip(graph: &Graph, index: usize) -> Vec<String> {
    let Some(e) = graph.edges.get(index) else {
        return Vec::new();
    };
    let name = |i: usize| graph.nodes.get(i).map_or(String::new(), node_name);
    let verdict = match (e.allowed, e.open) {
        (true, false) => "allowed by policy",
        (true, true) => "allowed: no policy isolates either side",
        (false, _) => "denied",
    };
    let pairs = graph.pairs_of(e);
    let mut lines = vec![
        format!("{} → {}", name(e.from), name(e.to)),
        format!(
            "{verdict}{}",
            e.ports
                .as_ref()
                .map(|p| format!(" · {p}"))
                .unwrap_or_default()
        ),
    ];
    if pairs > 1 {
        lines.push(format!("{pairs} pod pairs"));
    }
    lines.push("click to explain".into());
    lines
}

/// A node's name in words: its id, or a group's label and size.
pub fn node_name(n: &crate::connectivity::Node) -> String {
    match n.kind {
        NodeKind::Group(_) => format!("{} ({} pods)", n.label, crate::scene::thousands(n.size)),
        _ => n.id.clone(),
    }
}

/// The graph view.
#[component]
pub fn GraphView() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    // Zoom and pan live in the shared state: a link restores the frame it was made in.
    let vp = Viewport {
        zoom: ctx.zoom,
        pan: ctx.pan,
        size: RwSignal::new((800.0, 500.0)),
    };
    provide_context(vp);
    let tip = RwSignal::new(None::<Tip>);
    provide_context(tip);
    let marks = Memo::new(move |_| {
        let g = ctx.graph.get();
        let drawn = gs.scene.with(|s| s.as_ref().map_or(0, |s| s.drawn));
        let focus = ctx
            .selection
            .with(|s| s.as_ref().and_then(|s| focus(&g, drawn, s)));
        let query = gs.search.get();
        let matches = if query.trim().is_empty() {
            BTreeSet::new()
        } else {
            let a = ctx.analysis.get();
            search::find(&a, &g, &query, 500)
                .iter()
                .filter_map(|h| {
                    h.expand
                        .as_deref()
                        .or(Some(h.node.as_str()))
                        .and_then(|id| g.index_of(id))
                })
                .collect()
        };
        let (opened, closed) = gs.flash.with(|f| match f {
            Some(f) => (
                f.changes.opened.iter().cloned().collect(),
                f.changes.closed.clone(),
            ),
            None => (BTreeSet::new(), Vec::new()),
        });
        Marks {
            focus,
            matches,
            opened,
            closed,
        }
    });
    provide_context(marks);
    // Escape clears the focus (and the search), wherever the keyboard is but in an editor.
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() != "Escape" {
            return;
        }
        let in_editor = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlTextAreaElement>(t).ok())
            .is_some();
        if !in_editor {
            ctx.selection.set(None);
            gs.search.set(String::new());
        }
    });
    // A requested node is centred as soon as it is drawn (a search may first open a group).
    Effect::new(move |_| {
        let Some(centre) = gs.centre.get() else {
            return;
        };
        let layout = ctx.layout.get();
        let g = ctx.graph.get();
        if centre.namespace {
            if let Some(b) = layout
                .boxes
                .iter()
                .find(|b| crate::overview::key(b.namespace.as_deref()) == centre.id)
            {
                vp.fit(&layout, (b.x, b.y, b.w, b.h));
                gs.centre.set(None);
            }
        } else if let Some(i) = g.index_of(&centre.id) {
            if let Some(p) = layout.positions.get(i) {
                vp.centre(&layout, *p);
                gs.centre.set(None);
            }
        }
    });
    // A memo: the renderer is built once per change of kind, not once per scene (every
    // scene would otherwise rebuild the whole drawing, and leave its old frame callbacks
    // reading a disposed one).
    let renderer = Memo::new(move |_| {
        gs.scene
            .with(|s| s.as_ref().map_or(Renderer::Svg, |s| s.renderer))
    });
    // "No endpoints" only once an analysis of some text has arrived: before the first one
    // (starting, or its request still out) the graph is not empty, it is not there yet.
    let empty = move || {
        ctx.graph.with(|g| g.nodes.is_empty())
            && gs.analysis_id.get() != 0
            && gs
                .status
                .with(|s| !matches!(s, crate::components::graph_state::Status::Starting))
    };
    // The worker's milliseconds per step of the last scene (read by the benchmark).
    let timings = move || {
        gs.scene.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.timings
                        .iter()
                        .map(|(k, v)| format!("{k}={v:.1}"))
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default()
        })
    };
    view! {
        <div class="graph-area" data-testid="graph-area" data-timings=timings data-latency-ms=move || format!("{:.1}", gs.latency_ms.get())>
            <GraphBar />
            <div class="graph-wrap">
                {move || match renderer.get() {
                    Renderer::Svg => view! { <SvgGraph /> }.into_any(),
                    Renderer::Canvas => view! { <CanvasGraph /> }.into_any(),
                }}
                {move || tip.get().map(|t| view! {
                    <div class="tooltip" data-testid="tooltip" role="tooltip" style=format!("left:{:.0}px;top:{:.0}px", t.x + 14.0, t.y + 14.0)>
                        {t.lines.into_iter().enumerate().map(|(i, l)| view! { <div class=if i == 0 { "tooltip__title" } else { "tooltip__line" }>{l}</div> }).collect_view()}
                    </div>
                })}
                {move || empty().then(|| view! {
                    <div class="graph-empty">
                        <div class="graph-empty__title">"No endpoints yet"</div>
                        <div>"Add namespaces and pods in the Cluster editor, or load an example."</div>
                    </div>
                })}
            </div>
            <Legend />
        </div>
    }
}

/// A drawn edge's fixed parts.
#[derive(Clone, Debug, PartialEq)]
struct EdgeItem {
    key: String,
    index: usize,
    from: String,
    to: String,
    verdict: &'static str,
    ports: Option<String>,
    open: bool,
    pairs: u64,
    route: Route,
    label: Option<String>,
}

/// A drawn node's fixed parts.
#[derive(Clone, Debug, PartialEq)]
struct NodeItem {
    key: String,
    index: usize,
    id: String,
    label: String,
    detail: String,
    kind: &'static str,
    iso: &'static str,
    x: f64,
    y: f64,
    open_in: bool,
    open_out: bool,
    words: &'static str,
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

/// An edge to draw: its ends (node indices), verdict, ports, whether no policy decided it,
/// and its route.
type Drawn = (usize, usize, &'static str, Option<String>, bool, Route);

/// Whether the scene shown is drawn on the canvas.
fn for_canvas(gs: GraphState) -> bool {
    gs.scene
        .with(|s| s.as_ref().is_some_and(|s| s.renderer == Renderer::Canvas))
}

/// The edges to draw, bottom first: the scene's (on their routes), or compare mode's union
/// of before and after (routed here, on the before graph's layout).
fn edge_items(ctx: Ctx, gs: GraphState) -> Vec<EdgeItem> {
    // A scene for the canvas arrives while this renderer still stands (it is replaced
    // right after): drawing its thousands of edges first would be wasted and slow.
    if for_canvas(gs) {
        return Vec::new();
    }
    let g = ctx.graph.get();
    let layout = ctx.layout.get();
    let Some(scene) = gs.scene.get() else {
        return Vec::new();
    };
    let merged = ctx.merged.get();
    let drawn: Vec<Drawn> = match merged {
        Some(m) => {
            let ends: Vec<(usize, usize)> = m.edges.iter().map(|e| (e.from, e.to)).collect();
            let routed = route::route(&layout, &ends);
            routed
                .order
                .iter()
                .filter_map(|&i| {
                    let e = m.edges.get(i)?;
                    Some((
                        e.from,
                        e.to,
                        e.status.verdict(),
                        e.ports.clone(),
                        false,
                        routed.routes.get(i)?.clone(),
                    ))
                })
                .collect()
        }
        None => scene
            .order
            .iter()
            .filter_map(|&i| {
                let e = g.edges.get(i)?;
                let verdict = if e.allowed { "allowed" } else { "denied" };
                Some((
                    e.from,
                    e.to,
                    verdict,
                    e.ports.clone(),
                    e.open,
                    scene.routes.get(i)?.clone(),
                ))
            })
            .collect(),
    };
    let labels = drawn.len() <= LABELS_UP_TO;
    // Each pair's first edge (one lookup per drawn edge, not a scan).
    let mut first_edge = std::collections::HashMap::with_capacity(g.edges.len());
    for (i, e) in g.edges.iter().enumerate() {
        first_edge.entry((e.from, e.to)).or_insert(i);
    }
    drawn
        .into_iter()
        .filter_map(|(from, to, verdict, ports, open, route)| {
            let (f, t) = (g.nodes.get(from)?, g.nodes.get(to)?);
            let index = first_edge.get(&(from, to)).copied().unwrap_or(usize::MAX);
            let label = ports.clone().filter(|p| labels && p != "all ports");
            let pairs = (f.size * t.size) as u64;
            Some(EdgeItem {
                key: format!("{}|{}|{verdict}|{}|{:?}", f.id, t.id, route.path(), label),
                index,
                from: f.id.clone(),
                to: t.id.clone(),
                verdict,
                ports,
                open,
                pairs,
                route,
                label,
            })
        })
        .collect()
}

fn node_items(ctx: Ctx) -> Vec<NodeItem> {
    if for_canvas(ctx.graph_state) {
        return Vec::new();
    }
    let g = ctx.graph.get();
    let layout = ctx.layout.get();
    g.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (x, y) = layout.positions.get(i).copied().unwrap_or_default();
            let kind = match n.kind {
                NodeKind::Pod(_) => "pod",
                NodeKind::Group(_) => "group",
                NodeKind::Address(_) => "address",
            };
            NodeItem {
                key: format!(
                    "{}|{x}|{y}|{}|{}|{:?}",
                    n.id, n.label, n.detail, n.isolation
                ),
                index: i,
                id: n.id.clone(),
                label: n.label.clone(),
                detail: n.detail.clone(),
                kind,
                iso: n.isolation.class(),
                x,
                y,
                open_in: n.open_ingress(),
                open_out: n.open_egress(),
                words: n.isolation.words(),
            }
        })
        .collect()
}

/// The SVG renderer.
#[component]
fn SvgGraph() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    let vp = expect_context::<Viewport>();
    let tip = expect_context::<RwSignal<Option<Tip>>>();
    let svg_ref = NodeRef::<svg::Svg>::new();
    let drag = StoredValue::new(None::<((f64, f64), (f64, f64))>);
    let view_box_m = Memo::new(move |_| view_box(&ctx.layout.get()));
    // Size of one screen pixel in view units (preserveAspectRatio meet).
    let px = move || {
        let (_, _, w, h) = view_box_m.get_untracked();
        svg_ref
            .get_untracked()
            .map(|el| {
                let r = el.get_bounding_client_rect();
                vp.size.set((r.width(), r.height()));
                (w / r.width().max(1.0)).max(h / r.height().max(1.0))
            })
            .unwrap_or(1.0)
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        let Some(el) = svg_ref.get_untracked() else {
            return;
        };
        let r = el.get_bounding_client_rect();
        let k = px();
        let (vx, vy, vw, vh) = view_box_m.get_untracked();
        let off = ((r.width() - vw / k) / 2.0, (r.height() - vh / k) / 2.0);
        let u = (
            vx + (ev.client_x() as f64 - r.left() - off.0) * k,
            vy + (ev.client_y() as f64 - r.top() - off.1) * k,
        );
        vp.zoom_at(factor, u);
    };
    // Where a mouse event is, relative to the drawing's wrapper (for the tooltip).
    let local = move |ev: &leptos::ev::MouseEvent| {
        svg_ref
            .get_untracked()
            .map(|el| {
                let r = el.get_bounding_client_rect();
                (
                    ev.client_x() as f64 - r.left(),
                    ev.client_y() as f64 - r.top(),
                )
            })
            .unwrap_or_default()
    };
    let edges = Memo::new(move |_| edge_items(ctx, gs));
    let nodes = Memo::new(move |_| node_items(ctx));
    let marks = expect_context::<Memo<Marks>>();
    // The tier that decided each graph edge (`data-decided-by`): the worker's, with the
    // scene (read from the core's tier chains, `decided`).
    let decided_by = Memo::new(move |_| {
        gs.scene
            .with(|s| s.as_ref().map(|s| s.decided.clone()).unwrap_or_default())
    });

    let edge_view = move |e: EdgeItem| {
        let (from, to) = (e.from.clone(), e.to.clone());
        let select = {
            let (from, to) = (from.clone(), to.clone());
            move || {
                ctx.selection.set(Some(Selection::Pair {
                    from: from.clone(),
                    to: to.clone(),
                }))
            }
        };
        let select_key = select.clone();
        let index = e.index;
        let verdict = e.verdict;
        let (f2, t2) = (from.clone(), to.clone());
        let class = move || {
            let m = marks.get();
            let selected = ctx.selection.with(
                |s| matches!(s, Some(Selection::Pair { from, to }) if *from == f2 && *to == t2),
            );
            let mut c = format!("edge edge--{verdict}");
            if let Some(by) = decided_by.with(|d| d.get(index).copied().flatten()) {
                c.push_str(" edge--by-");
                c.push_str(by.as_str());
            }
            if e.open {
                c.push_str(" edge--open");
            }
            if selected {
                c.push_str(" edge--selected");
            }
            match m.edge_state(index) {
                // The selected edge's own class (`edge--selected`) is its emphasis.
                _ if selected => {}
                Some("dim") => c.push_str(" is-dimmed"),
                Some(_) => c.push_str(" is-focus"),
                None => {}
            }
            if m.opened.contains(&(f2.clone(), t2.clone())) {
                c.push_str(" is-flash");
            }
            c
        };
        let d = e.route.path();
        let aria = format!(
            "{from} to {to}: {verdict}{}",
            e.ports
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        let lines = move || {
            let g = ctx.graph.get_untracked();
            if index < g.edges.len() {
                edge_tip(&g, index)
            } else {
                vec![format!("{} → {}", e.from, e.to), verdict.to_string()]
            }
        };
        let lines2 = lines.clone();
        let label = e.label.clone().map(|p| {
            let (mx, my) = e.route.mid;
            view! { <text class="edge__label" x=mx y=my - 5.0 text-anchor="middle">{p}</text> }
        });
        view! {
            <g
                class=class
                data-testid="edge"
                data-from=from.clone()
                data-to=to.clone()
                data-verdict=verdict
                data-decided-by=move || decided_by.with(|d| d.get(index).copied().flatten().map(decided::DecidedBy::as_str))
                data-ports=e.ports.clone().unwrap_or_default()
                data-open=e.open.to_string()
                data-pairs=e.pairs.to_string()
                data-mid=format!("{:.1},{:.1}", e.route.mid.0, e.route.mid.1)
                tabindex="-1"
                role="button"
                aria-label=aria
                on:click=move |_| select()
                on:keydown=move |ev| {
                    if activate_key(&ev) {
                        ev.prevent_default();
                        select_key();
                    }
                }
                on:mouseenter=move |ev| {
                    let (x, y) = local(&ev);
                    tip.set(Some(Tip { x, y, lines: lines() }));
                }
                on:mousemove=move |ev| {
                    let (x, y) = local(&ev);
                    tip.update(|t| if let Some(t) = t { t.x = x; t.y = y; } else { *t = Some(Tip { x, y, lines: lines2() }) });
                }
                on:mouseleave=move |_| tip.set(None)
            >
                <path class="edge__hit" d=d.clone() style=format!("stroke-width:{:.1}px", e.route.hit)></path>
                <path class="edge__line" d=d marker-end=format!("url(#arrow-{verdict})")></path>
                {label}
            </g>
        }
    };

    let node_view = move |n: NodeItem| {
        let index = n.index;
        let id = n.id.clone();
        let is_group = n.kind == "group";
        let class = {
            let id = id.clone();
            move || {
                let m = marks.get();
                let selected = ctx.selection.with(|s| match s {
                    Some(Selection::Node(sid)) => *sid == id,
                    Some(Selection::Pair { from, to }) => *from == id || *to == id,
                    Some(Selection::Exposure { node, .. }) => *node == id,
                    Some(Selection::Namespace(_) | Selection::Namespaces { .. }) | None => false,
                });
                let mut c = format!("node node--{} node--iso-{}", n.kind, n.iso);
                if selected {
                    c.push_str(" node--selected");
                }
                match m.node_state(index) {
                    Some("dim") => c.push_str(" is-dimmed"),
                    Some("peer") => c.push_str(" is-peer"),
                    Some(_) => c.push_str(" is-focus"),
                    None => {}
                }
                if m.matches.contains(&index) {
                    c.push_str(" is-match");
                }
                c
            }
        };
        let focus_attr = move || marks.with(|m| m.node_state(index).map(str::to_string));
        let select = {
            let id = id.clone();
            move || ctx.selection.set(Some(Selection::Node(id.clone())))
        };
        let select_key = select.clone();
        let expand = {
            let id = id.clone();
            move || {
                if is_group {
                    ctx.expanded.update(|e| {
                        e.insert(id.clone());
                    });
                }
            }
        };
        let tip_lines = {
            let (id, words, detail, label) =
                (id.clone(), n.words, n.detail.clone(), n.label.clone());
            let (open_in, open_out) = (n.open_in, n.open_out);
            move || {
                let mut lines = vec![if is_group {
                    format!("{label} — {detail}")
                } else {
                    id.clone()
                }];
                if n.kind != "address" {
                    lines.push(words.to_string());
                }
                if open_in {
                    lines.push("open ingress: any pod whose egress allows it can connect".into());
                }
                if open_out {
                    lines.push("open egress: it may connect anywhere the other side admits".into());
                }
                lines.push(
                    if is_group {
                        "click for members, double-click to open"
                    } else {
                        "click to focus"
                    }
                    .into(),
                );
                lines
            }
        };
        let (x, y) = (n.x, n.y);
        let (hw, hh) = (NODE_W / 2.0, NODE_H / 2.0);
        view! {
            <g
                class=class
                data-testid="node"
                data-id=id.clone()
                data-kind=n.kind
                data-isolation=n.iso
                data-focus=focus_attr
                data-open-ingress=n.open_in.to_string()
                data-open-egress=n.open_out.to_string()
                transform=format!("translate({x:.1},{y:.1})")
                tabindex="-1"
                role="button"
                aria-label=format!("{} ({})", if is_group { format!("{} — {}", n.label, n.detail) } else { id.clone() }, n.words)
                on:mousedown=|ev| ev.stop_propagation()
                on:click=move |_| select()
                on:dblclick=move |_| expand()
                on:keydown=move |ev| {
                    if activate_key(&ev) {
                        ev.prevent_default();
                        select_key();
                    }
                }
                on:mouseenter=move |ev| {
                    let (x, y) = local(&ev);
                    tip.set(Some(Tip { x, y, lines: tip_lines() }));
                }
                on:mouseleave=move |_| tip.set(None)
            >
                {is_group.then(|| view! {
                    <rect class="node__stack" x=-hw + 5.0 y=-hh - 5.0 width=NODE_W height=NODE_H rx="8"></rect>
                })}
                <rect class="node__box" x=-hw y=-hh width=NODE_W height=NODE_H rx="8"></rect>
                {matches!(n.iso, "ingress" | "both").then(|| view! { <rect class="node__bar node__bar--in" x=-hw y=-hh width="6" height=NODE_H rx="3"></rect> })}
                {matches!(n.iso, "egress" | "both").then(|| view! { <rect class="node__bar node__bar--out" x=hw - 6.0 y=-hh width="6" height=NODE_H rx="3"></rect> })}
                {n.open_in.then(|| view! { <line class="node__open node__open--in" x1=-hw - 3.0 y1=-hh + 6.0 x2=-hw - 3.0 y2=hh - 6.0></line> })}
                {n.open_out.then(|| view! { <line class="node__open node__open--out" x1=hw + 3.0 y1=-hh + 6.0 x2=hw + 3.0 y2=hh - 6.0></line> })}
                <text class="node__label" x="0" y="-3" text-anchor="middle">{truncate(&n.label, 19)}</text>
                <text class="node__sub" x="0" y="12" text-anchor="middle">{truncate(&n.detail, 24)}</text>
            </g>
        }
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
                        <text class="ns__title" x=b.x + 14.0 y=b.y + 21.0>{title}</text>
                    </g>
                }
            })
            .collect_view()
    };

    // Connections that just closed: drawn for a few seconds where they were.
    let closed = move || {
        let m = marks.get();
        if m.closed.is_empty() {
            return Vec::new();
        }
        let g = ctx.graph.get();
        let layout = ctx.layout.get();
        let ends: Vec<(usize, usize)> = m
            .closed
            .iter()
            .filter_map(|(a, b)| Some((g.index_of(a)?, g.index_of(b)?)))
            .collect();
        let routed = route::route(&layout, &ends);
        ends.iter()
            .zip(routed.routes)
            .map(|((a, b), r)| {
                view! {
                    <path class="edge-closed" data-testid="closed-edge" data-from=g.nodes[*a].id.clone() data-to=g.nodes[*b].id.clone() d=r.path()></path>
                }
            })
            .collect::<Vec<_>>()
    };

    view! {
        <svg
            class="graph"
            data-testid="graph"
            node_ref=svg_ref
            role="img"
            aria-label="Connectivity graph"
            viewBox=move || {
                let (x, y, w, h) = view_box_m.get();
                format!("{x} {y} {w} {h}")
            }
            preserveAspectRatio="xMidYMid meet"
            on:mousedown=move |ev| {
                let _ = px();
                drag.set_value(Some(((ev.client_x() as f64, ev.client_y() as f64), vp.pan.get_untracked())));
            }
            on:mousemove=move |ev| {
                if let Some((from, p0)) = drag.get_value() {
                    let k = px();
                    vp.pan.set((p0.0 + (ev.client_x() as f64 - from.0) * k, p0.1 + (ev.client_y() as f64 - from.1) * k));
                }
            }
            on:mouseup=move |_| drag.set_value(None)
            on:mouseleave=move |_| drag.set_value(None)
            on:wheel=on_wheel
        >
            <defs>
                {["allowed", "denied", "added", "removed", "exposure"].map(|v| view! {
                    <marker id=format!("arrow-{v}") viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"></path>
                    </marker>
                })}
            </defs>
            <g transform=move || {
                let (x, y) = vp.pan.get();
                format!("translate({x:.2},{y:.2}) scale({:.4})", vp.zoom.get())
            }>
                <g class="layer-boxes">{boxes}</g>
                <g class="layer-edges">
                    <For each=move || edges.get() key=|e| e.key.clone() let:e>
                        {edge_view(e)}
                    </For>
                </g>
                <g class="layer-ghost-edges">{move || ghost_edges(ctx)}</g>
                <g class="layer-closed">{closed}</g>
                <g class="layer-nodes">
                    <For each=move || nodes.get() key=|n| n.key.clone() let:n>
                        {node_view(n)}
                    </For>
                </g>
                <g class="layer-ghosts">{move || ghosts(ctx)}</g>
            </g>
        </svg>
    }
}

/// Exposure: what pods that do not exist yet may do with drawn nodes.
fn ghost_edges(ctx: Ctx) -> Vec<AnyView> {
    let g = ctx.graph.get();
    let Some(x) = ctx.exposure.get() else {
        return Vec::new();
    };
    let routes = ctx.graph_state.scene.with(|s| {
        s.as_ref()
            .map(|s| s.ghost_routes.clone())
            .unwrap_or_default()
    });
    let selected = ctx.selection.get();
    x.edges
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let ghost = x.ghosts.get(e.ghost)?;
            let node = g.nodes.get(e.node)?;
            let route = routes.get(i)?;
            let (from, to) = if e.incoming {
                (ghost.id.clone(), node.id.clone())
            } else {
                (node.id.clone(), ghost.id.clone())
            };
            let is_selected = matches!(&selected, Some(Selection::Exposure { ghost: gid, node: nid, incoming })
                if *gid == ghost.id && *nid == node.id && *incoming == e.incoming);
            let class = format!("edge edge--exposure{}", if is_selected { " edge--selected" } else { "" });
            let select = Selection::Exposure { ghost: ghost.id.clone(), node: node.id.clone(), incoming: e.incoming };
            let select2 = select.clone();
            let aria = format!("{from} to {to}: could connect ({})", e.ports);
            let label = (e.ports != "all ports").then(|| {
                let (mx, my) = route.mid;
                view! { <text class="edge__label" x=mx y=my - 5.0 text-anchor="middle">{e.ports.clone()}</text> }
            });
            let d = route.path();
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
                    <path class="edge__hit" d=d.clone() style=format!("stroke-width:{:.1}px", route.hit)></path>
                    <path class="edge__line" d=d marker-end="url(#arrow-exposure)"></path>
                    {label}
                </g>
            }
            .into_any())
        })
        .collect()
}

fn ghosts(ctx: Ctx) -> Vec<AnyView> {
    let g = ctx.graph.get();
    let Some(x) = ctx.exposure.get() else {
        return Vec::new();
    };
    let layout = ctx.layout.get();
    let selected = ctx.selection.get();
    x.ghosts
        .iter()
        .enumerate()
        .map(|(i, ghost)| {
            let (px, py) = layout.positions.get(g.nodes.len() + i).copied().unwrap_or_default();
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
                    on:mousedown=|ev| ev.stop_propagation()
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
            .into_any()
        })
        .collect()
}
