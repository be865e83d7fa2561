//! The graph on a canvas, for graphs too big for one SVG element per node and edge: the
//! same layout, routes, colours and interactions (click, double-click, hover, focus,
//! pan, zoom), drawn in batches per style with what is off screen skipped and text only
//! where it can be read. While the view moves, each frame only repaints the last full
//! drawing moved and scaled (a single image copy); the full drawing follows when it
//! rests, so pan and zoom stay smooth at any size.
//!
//! Below it, an accessible list keeps the page contract: every node (and the first edges,
//! plus those of the selection) as a button with the same `data-testid`s the SVG has,
//! built a slice at a time so a ten-thousand-node list never blocks the page.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::browser;
use crate::components::canvas_overview::{self as overview, Colours, Frame, Hit};
use crate::components::ctx::{Ctx, Selection};
use crate::components::graph_view::{edge_tip, node_name, view_box, Marks, Tip, Viewport};
use crate::connectivity::{Graph, NodeKind};
use crate::layout::{Layout, NODE_H, NODE_W};
use crate::route::Route;
use crate::scene::{thousands, Scene};

/// Edges listed in the accessible list (the selection's are always listed too).
const LISTED_EDGES: usize = 2000;
/// Namespace links listed: every one the overview keeps.
const LISTED_LINKS: usize = crate::overview::LINKS_CAP;
/// Items added to the list per slice.
const SLICE: usize = 400;
/// After the last pan or zoom, this long before the full drawing.
const SETTLE_MS: f64 = 140.0;

/// Colours read from the page's CSS, so the canvas follows the theme.
struct Palette {
    allowed: String,
    denied: String,
    open: String,
    focus: String,
    text: String,
    muted: String,
    node: String,
    node_in: String,
    node_out: String,
    node_both: String,
    border: String,
    ns_fill: String,
    ns_stroke: String,
    iso_in: String,
    iso_out: String,
    flash: String,
    background: String,
}

impl Palette {
    fn read(el: &web_sys::Element) -> Palette {
        let style = web_sys::window().and_then(|w| w.get_computed_style(el).ok().flatten());
        let var = |name: &str, fallback: &str| {
            style
                .as_ref()
                .and_then(|s| s.get_property_value(name).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| fallback.to_string())
        };
        Palette {
            allowed: var("--allowed", "#1f7a3f"),
            denied: var("--denied", "#b42318"),
            open: var("--open-edge", "#8a94a6"),
            focus: var("--focus", "#0b62a4"),
            text: var("--text", "#1b2430"),
            muted: var("--muted", "#5b6675"),
            node: var("--node-fill", "#ffffff"),
            node_in: var("--node-in-fill", "#eef5ff"),
            node_out: var("--node-out-fill", "#fff5e8"),
            node_both: var("--node-both-fill", "#f3eefe"),
            border: var("--border-strong", "#9aa4b2"),
            ns_fill: var("--ns-fill", "#f6f8fa"),
            ns_stroke: var("--ns-stroke", "#d0d7de"),
            iso_in: var("--iso-in", "#0b62a4"),
            iso_out: var("--iso-out", "#b25e09"),
            flash: var("--flash", "#d4a106"),
            background: var("--surface", "#ffffff"),
        }
    }
}

/// Layout units to canvas pixels: `screen = a * u + b`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Transform {
    a: f64,
    b: (f64, f64),
}

impl Transform {
    fn of(layout: &Layout, vp: &Viewport, size: (f64, f64)) -> Transform {
        let (vx, vy, vw, vh) = view_box(layout);
        let fit = (size.0 / vw).min(size.1 / vh);
        let offset = ((size.0 - vw * fit) / 2.0, (size.1 - vh * fit) / 2.0);
        let zoom = vp.zoom.get_untracked();
        let pan = vp.pan.get_untracked();
        Transform {
            a: zoom * fit,
            b: ((pan.0 - vx) * fit + offset.0, (pan.1 - vy) * fit + offset.1),
        }
    }

    /// A screen point (canvas pixels) in layout units.
    fn to_layout(self, p: (f64, f64)) -> (f64, f64) {
        ((p.0 - self.b.0) / self.a, (p.1 - self.b.1) / self.a)
    }

    /// Screen pixels per view unit (for panning by a mouse movement).
    fn per_view_unit(&self, zoom: f64) -> f64 {
        self.a / zoom.max(1e-9)
    }
}

/// A drag in progress: where it started (canvas pixels), the pan then, and whether it has
/// moved (else it is a click).
type Drag = ((f64, f64), (f64, f64), bool);

/// What the canvas keeps between frames.
#[derive(Default)]
struct State {
    /// A copy of the last full drawing and the transform it was drawn with.
    snapshot: Option<(HtmlCanvasElement, Transform)>,
    frame: bool,
    settle: Option<i32>,
    moving_until: f64,
    drag: Option<Drag>,
    hover_pending: Option<(f64, f64)>,
    /// Full drawings so far (a copy taken later belongs to the drawing it was asked for).
    draws: u64,
    /// What the overview says it shows (`None` when the pods are drawn).
    note: Option<RwSignal<Option<String>>>,
}

/// The canvas renderer.
#[component]
pub fn CanvasGraph() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    let vp = expect_context::<Viewport>();
    let tip = expect_context::<RwSignal<Option<Tip>>>();
    let marks = expect_context::<Memo<Marks>>();
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let note = RwSignal::new(None::<String>);
    let state = Rc::new(RefCell::new(State {
        note: Some(note),
        ..State::default()
    }));

    let schedule = {
        let state = state.clone();
        move || schedule(state.clone(), canvas_ref, ctx, vp, marks)
    };
    // Anything drawn changed: draw on the next frame.
    {
        let schedule = schedule.clone();
        // A new scene redraws only when its routes are new: one that kept them (the same
        // drawing, only the model changed) draws nothing new.
        let routes = Memo::new(move |prev: Option<&u64>| {
            let kept = gs.scene.with(|s| s.as_ref().is_some_and(|s| s.kept.routes));
            let p = prev.copied().unwrap_or(0);
            if kept {
                p
            } else {
                p + 1
            }
        });
        Effect::new(move |_| {
            routes.track();
            ctx.graph.track();
            ctx.layout.track();
            marks.track();
            ctx.selection.track();
            ctx.show_denied.track();
            vp.zoom.track();
            vp.pan.track();
            schedule();
        });
    }
    let moved = {
        let state = state.clone();
        let schedule = schedule.clone();
        move || {
            state.borrow_mut().moving_until = browser::now_ms() + SETTLE_MS;
            schedule();
        }
    };
    let transform = move || {
        let el = canvas_ref.get_untracked()?;
        let size = (el.client_width() as f64, el.client_height() as f64);
        Some(Transform::of(&ctx.layout.get_untracked(), &vp, size))
    };
    let local = move |ev: &leptos::ev::MouseEvent| {
        canvas_ref
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
    let on_down = {
        let state = state.clone();
        move |ev: leptos::ev::MouseEvent| {
            state.borrow_mut().drag = Some((local(&ev), vp.pan.get_untracked(), false));
        }
    };
    let on_move = {
        let (state, moved) = (state.clone(), moved.clone());
        move |ev: leptos::ev::MouseEvent| {
            let p = local(&ev);
            let drag = state.borrow().drag;
            if let Some((from, pan0, dragged)) = drag {
                let (dx, dy) = (p.0 - from.0, p.1 - from.1);
                if dragged || dx.abs() + dy.abs() > 4.0 {
                    let k = transform().map_or(1.0, |t| t.per_view_unit(vp.zoom.get_untracked()));
                    state.borrow_mut().drag = Some((from, pan0, true));
                    vp.pan.set((pan0.0 + dx / k, pan0.1 + dy / k));
                    tip.set(None);
                    moved();
                }
                return;
            }
            // Hover: one hit test per frame at most.
            let first = state.borrow_mut().hover_pending.replace(p).is_none();
            if first {
                let state = state.clone();
                request_frame(move || {
                    let Some(p) = state.borrow_mut().hover_pending.take() else {
                        return;
                    };
                    let Some(t) = transform() else { return };
                    tip.set(hover(ctx, t, p));
                });
            }
        }
    };
    let on_up = {
        let state = state.clone();
        move |ev: leptos::ev::MouseEvent| {
            let drag = state.borrow_mut().drag.take();
            if let Some((_, _, false)) = drag {
                if let Some(t) = transform() {
                    click(ctx, t, local(&ev), false);
                }
            }
        }
    };
    let on_dbl = move |ev: leptos::ev::MouseEvent| {
        if let Some(t) = transform() {
            click(ctx, t, local(&ev), true);
        }
    };
    let on_leave = {
        let state = state.clone();
        move |_| {
            state.borrow_mut().drag = None;
            tip.set(None);
        }
    };
    let on_wheel = {
        let moved = moved.clone();
        move |ev: leptos::ev::WheelEvent| {
            ev.prevent_default();
            let Some(t) = transform() else { return };
            let p = local(&ev);
            // The view point under the mouse: layout point times zoom plus pan.
            let u = t.to_layout(p);
            let (zoom, pan) = (vp.zoom.get_untracked(), vp.pan.get_untracked());
            vp.zoom_at(
                (-ev.delta_y() * 0.0015).exp(),
                (pan.0 + zoom * u.0, pan.1 + zoom * u.1),
            );
            moved();
        }
    };
    view! {
        {move || note.get().map(|n| view! { <p class="graph__note" data-testid="overview-note">{n}</p> })}
        <div class="graph graph--canvas" data-testid="graph" role="img" aria-label="Connectivity graph (canvas; the list below has every node)">
            <canvas
                class="graph__canvas"
                data-testid="graph-canvas"
                node_ref=canvas_ref
                on:mousedown=on_down
                on:mousemove=on_move
                on:mouseup=on_up
                on:dblclick=on_dbl
                on:mouseleave=on_leave
                on:wheel=on_wheel
            ></canvas>
        </div>
        <GraphList />
    }
}

fn request_frame(f: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let cb = Closure::once_into_js(f);
    let _ = window.request_animation_frame(cb.unchecked_ref());
}

fn schedule(
    state: Rc<RefCell<State>>,
    canvas: NodeRef<html::Canvas>,
    ctx: Ctx,
    vp: Viewport,
    marks: Memo<Marks>,
) {
    if state.borrow().frame {
        return;
    }
    state.borrow_mut().frame = true;
    request_frame(move || {
        state.borrow_mut().frame = false;
        frame(&state, canvas, ctx, vp, marks);
    });
}

/// One frame: a moved copy of the last drawing while the view moves, else the full one.
fn frame(
    state: &Rc<RefCell<State>>,
    canvas: NodeRef<html::Canvas>,
    ctx: Ctx,
    vp: Viewport,
    marks: Memo<Marks>,
) {
    let Some(el) = canvas.get_untracked() else {
        return;
    };
    let el: HtmlCanvasElement = el;
    let size = (el.client_width() as f64, el.client_height() as f64);
    if size.0 < 1.0 || size.1 < 1.0 {
        return;
    }
    vp.size.set((size.0, size.1));
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let (w, h) = ((size.0 * dpr) as u32, (size.1 * dpr) as u32);
    if el.width() != w || el.height() != h {
        el.set_width(w);
        el.set_height(h);
        state.borrow_mut().snapshot = None;
    }
    let Some(g2d) = context(&el) else { return };
    let layout = ctx.layout.get_untracked();
    let t = Transform::of(&layout, &vp, size);
    let moving = browser::now_ms() < state.borrow().moving_until;
    if moving {
        if let Some((snap, t0)) = state.borrow().snapshot.as_ref() {
            blit(&g2d, snap, *t0, t, dpr, w, h);
            settle_later(state.clone(), canvas, ctx, vp, marks);
            return;
        }
    }
    let scene = ctx.graph_state.scene.get_untracked();
    let graph = ctx.graph.get_untracked();
    let m = marks.get_untracked();
    let palette = Palette::read(&el);
    let selection = ctx.selection.get_untracked();
    if let Some(note) = state.borrow().note {
        let says = overview::shows(&graph.overview, t.a).then(|| overview::note(&graph.overview));
        if note.with_untracked(|n| *n != says) {
            note.set(says);
        }
    }
    draw(
        &g2d,
        &Drawing {
            scene: scene.as_deref(),
            graph: &graph,
            layout: &layout,
            marks: &m,
            t,
            dpr,
            size,
            palette: &palette,
            selection: selection.as_ref(),
            denied: ctx.show_denied.get_untracked(),
        },
    );
    // The copy for pan and zoom is taken in a task of its own: taking it makes the browser
    // render every drawing command at once, which would double this frame's time.
    let draw = {
        let mut s = state.borrow_mut();
        s.snapshot = None;
        s.draws += 1;
        s.draws
    };
    let (s2, copied) = (state.clone(), el.clone());
    set_timeout(
        move || {
            if s2.borrow().draws == draw {
                s2.borrow_mut().snapshot = copy(&copied).map(|c| (c, t));
            }
        },
        std::time::Duration::from_millis(0),
    );
}

/// The full drawing once the view has rested.
fn settle_later(
    state: Rc<RefCell<State>>,
    canvas: NodeRef<html::Canvas>,
    ctx: Ctx,
    vp: Viewport,
    marks: Memo<Marks>,
) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(id) = state.borrow_mut().settle.take() {
        window.clear_timeout_with_handle(id);
    }
    let s2 = state.clone();
    let cb = Closure::once_into_js(move || {
        s2.borrow_mut().settle = None;
        schedule(s2.clone(), canvas, ctx, vp, marks);
    });
    let id = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            cb.unchecked_ref(),
            SETTLE_MS as i32 + 10,
        )
        .ok();
    state.borrow_mut().settle = id;
}

fn context(el: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    el.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// A copy of the canvas's pixels.
fn copy(el: &HtmlCanvasElement) -> Option<HtmlCanvasElement> {
    let document = web_sys::window()?.document()?;
    let c: HtmlCanvasElement = document.create_element("canvas").ok()?.dyn_into().ok()?;
    c.set_width(el.width());
    c.set_height(el.height());
    context(&c)?
        .draw_image_with_html_canvas_element(el, 0.0, 0.0)
        .ok()?;
    Some(c)
}

/// The snapshot drawn with `t0`, moved and scaled to `t1`.
fn blit(
    g: &CanvasRenderingContext2d,
    snap: &HtmlCanvasElement,
    t0: Transform,
    t1: Transform,
    dpr: f64,
    w: u32,
    h: u32,
) {
    let r = t1.a / t0.a;
    let (tx, ty) = (t1.b.0 - r * t0.b.0, t1.b.1 - r * t0.b.1);
    let _ = g.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    g.clear_rect(0.0, 0.0, w as f64, h as f64);
    let _ = g.set_transform(r, 0.0, 0.0, r, tx * dpr, ty * dpr);
    let _ = g.draw_image_with_html_canvas_element(snap, 0.0, 0.0);
}

/// What one full drawing needs.
struct Drawing<'a> {
    scene: Option<&'a Scene>,
    graph: &'a Graph,
    layout: &'a Layout,
    marks: &'a Marks,
    t: Transform,
    dpr: f64,
    size: (f64, f64),
    palette: &'a Palette,
    selection: Option<&'a Selection>,
    denied: bool,
}

impl Drawing<'_> {
    /// The overview's view of this drawing.
    fn frame(&self, visible: (f64, f64, f64, f64)) -> Frame<'_> {
        let p = self.palette;
        let node_areas = node_areas(self.graph, self.selection);
        Frame {
            overview: &self.graph.overview,
            layout: self.layout,
            a: self.t.a,
            visible,
            colours: Colours {
                allowed: &p.allowed,
                denied: &p.denied,
                open: &p.open,
                focus: &p.focus,
                text: &p.text,
                muted: &p.muted,
                tile: &p.ns_fill,
                tile_stroke: &p.ns_stroke,
                background: &p.background,
            },
            selection: self.selection,
            node_areas,
            denied: self.denied,
        }
    }

    /// The visible part of the layout, with a margin.
    fn visible(&self) -> (f64, f64, f64, f64) {
        let (x0, y0) = self.t.to_layout((-40.0, -40.0));
        let (x1, y1) = self.t.to_layout((self.size.0 + 40.0, self.size.1 + 40.0));
        (x0, y0, x1, y1)
    }

    fn sees(&self, v: (f64, f64, f64, f64), r: &Route) -> bool {
        r.points.iter().any(|p| {
            let (x, y) = (p.0 as f64, p.1 as f64);
            x >= v.0 && x <= v.2 && y >= v.1 && y <= v.3
        }) || r.points.windows(2).any(|w| {
            let (x0, x1) = ((w[0].0.min(w[1].0)) as f64, (w[0].0.max(w[1].0)) as f64);
            let (y0, y1) = ((w[0].1.min(w[1].1)) as f64, (w[0].1.max(w[1].1)) as f64);
            x1 >= v.0 && x0 <= v.2 && y1 >= v.1 && y0 <= v.3
        })
    }
}

fn draw(g: &CanvasRenderingContext2d, d: &Drawing) {
    let p = d.palette;
    let _ = g.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    g.set_fill_style_str(&p.background);
    g.fill_rect(0.0, 0.0, d.size.0 * d.dpr, d.size.1 * d.dpr);
    let (a, b) = (d.t.a * d.dpr, (d.t.b.0 * d.dpr, d.t.b.1 * d.dpr));
    let _ = g.set_transform(a, 0.0, 0.0, a, b.0, b.1);
    let px = 1.0 / a; // one device pixel in layout units
    let v = d.visible();
    if overview::shows(&d.graph.overview, d.t.a) {
        overview::draw(g, &d.frame(v));
        return;
    }
    draw_boxes(g, d, px, v);
    draw_edges(g, d, px, v);
    draw_nodes(g, d, px, v);
    if d.t.a * 12.0 < 7.0 {
        draw_overview_titles(g, d, v);
    }
}

/// Zoomed out too far for the boxes' own titles: each namespace's name, on top of its
/// box at a readable size, so the overview says what is where.
fn draw_overview_titles(g: &CanvasRenderingContext2d, d: &Drawing, v: (f64, f64, f64, f64)) {
    let p = d.palette;
    let unit = 1.0 / d.t.a; // one CSS pixel in layout units
    g.set_font(&format!("700 {:.2}px system-ui, sans-serif", 13.0 * unit));
    g.set_line_width(4.0 * unit);
    g.set_stroke_style_str(&p.background);
    g.set_fill_style_str(&p.text);
    for bx in &d.layout.boxes {
        if bx.x > v.2 || bx.x + bx.w < v.0 || bx.y > v.3 || bx.y + bx.h < v.1 {
            continue;
        }
        let name = bx.namespace.as_deref().unwrap_or("outside the cluster");
        let (x, y) = (bx.x + 4.0 * unit, bx.y + 15.0 * unit);
        let _ = g.stroke_text_with_max_width(name, x, y, bx.w - 8.0 * unit);
        let _ = g.fill_text_with_max_width(name, x, y, bx.w - 8.0 * unit);
    }
}

fn draw_boxes(g: &CanvasRenderingContext2d, d: &Drawing, px: f64, v: (f64, f64, f64, f64)) {
    let p = d.palette;
    g.set_fill_style_str(&p.ns_fill);
    g.set_stroke_style_str(&p.ns_stroke);
    g.set_line_width(px.max(1.0 * px));
    let readable = d.t.a * 12.0 >= 7.0;
    g.set_font("650 12.5px system-ui, sans-serif");
    for bx in &d.layout.boxes {
        if bx.x > v.2 || bx.x + bx.w < v.0 || bx.y > v.3 || bx.y + bx.h < v.1 {
            continue;
        }
        g.fill_rect(bx.x, bx.y, bx.w, bx.h);
        let chosen = matches!(d.selection, Some(Selection::Namespace(k))
            if *k == crate::overview::key(bx.namespace.as_deref()));
        if chosen {
            g.set_stroke_style_str(&p.focus);
            g.set_line_width(3.0 * px);
        }
        g.stroke_rect(bx.x, bx.y, bx.w, bx.h);
        if chosen {
            g.set_stroke_style_str(&p.ns_stroke);
            g.set_line_width(px);
        }
        if readable {
            g.set_fill_style_str(&p.muted);
            let title = match &bx.namespace {
                Some(ns) => format!("namespace {ns}"),
                None => "outside the cluster".into(),
            };
            let _ = g.fill_text(&title, bx.x + 14.0, bx.y + 21.0);
            g.set_fill_style_str(&p.ns_fill);
        }
    }
}

/// Edges batched per style: dimmed, open, denied, allowed, then focused, flashed and the
/// selected pair on top.
fn draw_edges(g: &CanvasRenderingContext2d, d: &Drawing, px: f64, v: (f64, f64, f64, f64)) {
    let Some(scene) = d.scene else { return };
    let p = d.palette;
    let mut styles: [Vec<usize>; 6] = Default::default();
    for &i in &scene.order {
        let (Some(e), Some(r)) = (d.graph.edges.get(i), scene.routes.get(i)) else {
            continue;
        };
        if !d.sees(v, r) {
            continue;
        }
        let ids = || {
            (
                d.graph
                    .nodes
                    .get(e.from)
                    .map(|n| n.id.clone())
                    .unwrap_or_default(),
                d.graph
                    .nodes
                    .get(e.to)
                    .map(|n| n.id.clone())
                    .unwrap_or_default(),
            )
        };
        let slot = match d.marks.edge_state(i) {
            _ if namespaced(d, e).is_some_and(|on| !on) => 0,
            Some("dim") => 0,
            Some(_) => 4,
            None if !d.marks.opened.is_empty() && d.marks.opened.contains(&ids()) => 5,
            None if !e.allowed => 2,
            None if e.open => 1,
            None => 3,
        };
        styles[slot].push(i);
    }
    let arrows = d.t.a >= 0.35;
    let visible: usize = styles.iter().map(Vec::len).sum();
    let colour = |i: usize| {
        let e = &d.graph.edges[i];
        if !e.allowed {
            p.denied.as_str()
        } else if e.open {
            p.open.as_str()
        } else {
            p.allowed.as_str()
        }
    };
    for (slot, list) in styles.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        // Many edges on screen become a light web under the nodes, not a wall of ink.
        let density = (8.0 / (visible as f64).sqrt()).clamp(0.1, 1.0);
        let (alpha, width) = match slot {
            0 => (0.08, 1.0),
            1 => (0.5 * density, 1.0),
            2 => (0.6 * density, 1.0),
            3 => (0.9 * density, 1.3),
            _ => (1.0, 2.4),
        };
        g.set_global_alpha(alpha);
        g.set_line_width((width * px).max(width.min(1.5)));
        // One path per colour within the style.
        for c in [p.allowed.as_str(), p.open.as_str(), p.denied.as_str()] {
            let mut any = false;
            g.begin_path();
            for &i in list.iter().filter(|i| colour(**i) == c) {
                let r = &scene.routes[i];
                path(g, r);
                if arrows {
                    arrow(g, r, px);
                }
                any = true;
            }
            if any {
                g.set_stroke_style_str(if slot == 5 { &p.flash } else { c });
                g.stroke();
            }
        }
    }
    g.set_global_alpha(1.0);
}

/// With a namespace (or a namespace pair) selected, whether `e` belongs to it: touches the
/// namespace, or goes from the one to the other. `None` without such a selection.
fn namespaced(d: &Drawing, e: &crate::connectivity::Edge) -> Option<bool> {
    let key = |i: usize| crate::overview::key(d.graph.nodes[i].namespace.as_deref());
    match d.selection? {
        Selection::Namespace(k) => Some(key(e.from) == k || key(e.to) == k),
        Selection::Namespaces { from, to } => Some(key(e.from) == from && key(e.to) == to),
        _ => None,
    }
}

fn path(g: &CanvasRenderingContext2d, r: &Route) {
    for (k, (x, y)) in r.points.iter().enumerate() {
        if k == 0 {
            g.move_to(*x as f64, *y as f64);
        } else {
            g.line_to(*x as f64, *y as f64);
        }
    }
}

/// An open arrowhead at the end of a route (part of the current path).
fn arrow(g: &CanvasRenderingContext2d, r: &Route, px: f64) {
    let n = r.points.len();
    if n < 2 {
        return;
    }
    let (a, b) = (r.points[n - 2], r.points[n - 1]);
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / len, dy / len);
    let size = (8.0f64).max(5.0 * px);
    let (bx, by) = (b.0 as f64, b.1 as f64);
    g.move_to(
        bx - ux * size - uy * size * 0.5,
        by - uy * size + ux * size * 0.5,
    );
    g.line_to(bx, by);
    g.line_to(
        bx - ux * size + uy * size * 0.5,
        by - uy * size - ux * size * 0.5,
    );
}

fn draw_nodes(g: &CanvasRenderingContext2d, d: &Drawing, px: f64, v: (f64, f64, f64, f64)) {
    let p = d.palette;
    let (hw, hh) = (NODE_W / 2.0, NODE_H / 2.0);
    let text = d.t.a * NODE_W >= 70.0;
    let detail = d.t.a * NODE_W >= 110.0;
    for (i, n) in d.graph.nodes.iter().enumerate() {
        let Some(&(x, y)) = d.layout.positions.get(i) else {
            continue;
        };
        if x + hw < v.0 || x - hw > v.2 || y + hh < v.1 || y - hh > v.3 {
            continue;
        }
        let state = d.marks.node_state(i);
        g.set_global_alpha(if state == Some("dim") { 0.3 } else { 1.0 });
        let fill = match n.isolation.class() {
            "ingress" => &p.node_in,
            "egress" => &p.node_out,
            "both" => &p.node_both,
            _ => &p.node,
        };
        g.set_fill_style_str(fill);
        g.fill_rect(x - hw, y - hh, NODE_W, NODE_H);
        let selected = matches!(state, Some("self"));
        let matched = d.marks.matches.contains(&i);
        g.set_stroke_style_str(if selected || matched {
            &p.focus
        } else {
            &p.border
        });
        g.set_line_width(if selected || matched {
            3.0
        } else {
            (1.2 * px).max(1.0)
        });
        g.stroke_rect(x - hw, y - hh, NODE_W, NODE_H);
        if matches!(n.kind, NodeKind::Group(_)) {
            g.stroke_rect(x - hw + 5.0, y - hh - 5.0, NODE_W, 5.0);
        }
        if !n.open_ingress() && !matches!(n.kind, NodeKind::Address(_)) {
            g.set_fill_style_str(&p.iso_in);
            g.fill_rect(x - hw, y - hh, 6.0, NODE_H);
        }
        if !n.open_egress() && !matches!(n.kind, NodeKind::Address(_)) {
            g.set_fill_style_str(&p.iso_out);
            g.fill_rect(x + hw - 6.0, y - hh, 6.0, NODE_H);
        }
        if text {
            g.set_fill_style_str(&p.text);
            g.set_text_align("center");
            g.set_font("650 12.5px system-ui, sans-serif");
            let _ = g.fill_text(&clip(&n.label, 19), x, y - 3.0);
            if detail {
                g.set_fill_style_str(&p.muted);
                g.set_font("10.5px ui-monospace, monospace");
                let _ = g.fill_text(&clip(&n.detail, 24), x, y + 12.0);
            }
        }
    }
    g.set_global_alpha(1.0);
    g.set_text_align("start");
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The overview areas of a selected node's namespace, or of a selected pair's two.
fn node_areas<'g>(
    graph: &'g Graph,
    selection: Option<&Selection>,
) -> (Option<&'g str>, Option<&'g str>) {
    let area = |id: &str| {
        graph
            .index_of(id)
            .map(|i| crate::overview::key(graph.nodes[i].namespace.as_deref()))
    };
    match selection {
        Some(Selection::Node(id)) => (area(id), None),
        Some(Selection::Pair { from, to }) => (area(from), area(to)),
        _ => (None, None),
    }
}

/// What is under canvas point `p`: a node, else the nearest edge within reach.
enum Under {
    Node(usize),
    Edge(usize),
    Overview(Hit),
}

fn under(ctx: Ctx, t: Transform, p: (f64, f64)) -> Option<Under> {
    let g = ctx.graph.get_untracked();
    let layout = ctx.layout.get_untracked();
    let u = t.to_layout(p);
    if overview::shows(&g.overview, t.a) {
        let selection = ctx.selection.get_untracked();
        let nodes = node_areas(&g, selection.as_ref());
        return overview::hit(&g.overview, &layout, t.a, u, selection.as_ref(), nodes)
            .map(Under::Overview);
    }
    let (hw, hh) = (NODE_W / 2.0, NODE_H / 2.0);
    for (i, pos) in layout.positions.iter().enumerate().take(g.nodes.len()) {
        if (u.0 - pos.0).abs() <= hw && (u.1 - pos.1).abs() <= hh {
            return Some(Under::Node(i));
        }
    }
    let scene = ctx.graph_state.scene.get_untracked()?;
    // Within 4 screen pixels, or the route's own hit width when zoomed in; the topmost
    // (last drawn) of equally near edges wins.
    let reach = |r: &Route| (4.0 / t.a).max(r.hit as f64 / 2.0) as f32;
    let q = (u.0 as f32, u.1 as f32);
    let mut best: Option<(f32, usize)> = None;
    for &i in scene.order.iter().rev() {
        let Some(r) = scene.routes.get(i) else {
            continue;
        };
        let dist = r.distance_to(q);
        if dist <= reach(r) && best.is_none_or(|(b, _)| dist < b) {
            best = Some((dist, i));
        }
    }
    best.map(|(_, i)| Under::Edge(i))
}

fn click(ctx: Ctx, t: Transform, p: (f64, f64), double: bool) {
    let g = ctx.graph.get_untracked();
    match under(ctx, t, p) {
        Some(Under::Node(i)) => {
            let id = g.nodes[i].id.clone();
            if double && matches!(g.nodes[i].kind, NodeKind::Group(_)) {
                ctx.expanded.update(|e| {
                    e.insert(id.clone());
                });
            }
            ctx.selection.set(Some(Selection::Node(id)));
        }
        Some(Under::Edge(i)) => {
            let e = &g.edges[i];
            ctx.selection.set(Some(Selection::Pair {
                from: g.nodes[e.from].id.clone(),
                to: g.nodes[e.to].id.clone(),
            }));
        }
        Some(Under::Overview(hit)) => {
            let selection = overview::select(&g.overview, &hit);
            if let (true, Selection::Namespace(key)) = (double, &selection) {
                ctx.graph_state.show_namespace(key);
            }
            ctx.selection.set(Some(selection));
        }
        None if !double => ctx.selection.set(None),
        None => {}
    }
}

fn hover(ctx: Ctx, t: Transform, p: (f64, f64)) -> Option<Tip> {
    let g = ctx.graph.get_untracked();
    let lines = match under(ctx, t, p)? {
        Under::Node(i) => {
            let n = &g.nodes[i];
            vec![
                node_name(n),
                n.detail.clone(),
                n.isolation.words().to_string(),
            ]
        }
        Under::Edge(i) => edge_tip(&g, i),
        Under::Overview(hit) => overview::tip(&g.overview, &hit, ctx.show_denied.get_untracked()),
    };
    Some(Tip {
        x: p.0,
        y: p.1,
        lines,
    })
}

// ---------------------------------------------------------------------------------------
// The accessible list

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn node_html(n: &crate::connectivity::Node) -> String {
    let kind = match n.kind {
        NodeKind::Pod(_) => "pod",
        NodeKind::Group(_) => "group",
        NodeKind::Address(_) => "address",
    };
    format!(
        "<li><button class=\"graph-list__item\" data-testid=\"node\" data-id=\"{}\" data-kind=\"{kind}\" data-isolation=\"{}\">{} <span class=\"muted\">{}</span></button></li>",
        escape(&n.id),
        n.isolation.class(),
        escape(&node_name(n)),
        escape(&n.detail)
    )
}

fn edge_html(g: &Graph, i: usize) -> String {
    let e = &g.edges[i];
    let (f, t) = (&g.nodes[e.from], &g.nodes[e.to]);
    let verdict = if e.allowed { "allowed" } else { "denied" };
    format!(
        "<li><button class=\"graph-list__item graph-list__edge graph-list__edge--{verdict}\" data-testid=\"edge\" data-from=\"{}\" data-to=\"{}\" data-verdict=\"{verdict}\" data-ports=\"{}\" data-open=\"{}\"><span class=\"edge__hit\"></span>{} → {} <span class=\"muted\">{verdict}{}</span></button></li>",
        escape(&f.id),
        escape(&t.id),
        escape(e.ports.as_deref().unwrap_or_default()),
        e.open,
        escape(&node_name(f)),
        escape(&node_name(t)),
        e.ports.as_ref().map(|p| format!(" · {}", escape(p))).unwrap_or_default(),
    )
}

/// A namespace of the overview as a button.
fn area_html(a: &crate::overview::Area) -> String {
    use crate::components::namespace_info::area_title;
    format!(
        "<li><button class=\"graph-list__item\" data-testid=\"ns-area\" data-ns=\"{}\" data-inside=\"{}\">{} <span class=\"muted\">{} {}</span></button></li>",
        escape(a.key()),
        a.inside.allowed,
        escape(&area_title(a.key())),
        thousands(a.pods as usize),
        if a.namespace.is_some() { "pods" } else { "addresses" },
    )
}

/// A namespace link of the overview as a button.
fn link_html(o: &crate::overview::Overview, l: &crate::overview::Link) -> String {
    let (from, to) = (o.areas[l.from].key(), o.areas[l.to].key());
    format!(
        "<li><button class=\"graph-list__item\" data-testid=\"ns-link\" data-from-ns=\"{}\" data-to-ns=\"{}\" data-pairs=\"{}\">{} → {} <span class=\"muted\">{} by policy</span></button></li>",
        escape(from),
        escape(to),
        l.tally.allowed,
        escape(from),
        escape(to),
        crate::overview::pairs(l.tally.allowed),
    )
}

/// One entry of the list.
#[derive(Clone, Copy)]
enum Item {
    Area(usize),
    Link(usize),
    Node(usize),
    Edge(usize),
}

/// Every node and the first edges as buttons, built a slice per task.
#[component]
fn GraphList() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let gs = ctx.graph_state;
    let areas_ref = NodeRef::<html::Ul>::new();
    let nodes_ref = NodeRef::<html::Ul>::new();
    let edges_ref = NodeRef::<html::Ul>::new();
    let build = Rc::new(std::cell::Cell::new(0u64));
    let drawn = Memo::new(move |_| gs.scene.with(|s| s.as_ref().map_or(0, |s| s.drawn)));
    // The list's text, a slice per task; a new graph whose list reads the same (a
    // keystroke that changed no node or edge listed) leaves the list as it is.
    let shown = Rc::new(RefCell::new(Rc::new(Vec::<[String; 3]>::new())));
    Effect::new(move |_| {
        let g = ctx.graph.get();
        let drawn = drawn.get();
        let (Some(areas), Some(nodes), Some(edges)) =
            (areas_ref.get(), nodes_ref.get(), edges_ref.get())
        else {
            return;
        };
        let o = &g.overview;
        let mut items: Vec<Item> = Vec::new();
        if o.areas.len() >= 2 {
            items.extend((0..o.areas.len()).map(Item::Area));
            items.extend((0..o.links.len().min(LISTED_LINKS)).map(Item::Link));
        }
        items.extend((0..g.nodes.len()).map(Item::Node));
        items.extend((0..drawn.min(LISTED_EDGES)).map(Item::Edge));
        let chunks: Vec<[String; 3]> = items
            .chunks(SLICE)
            .map(|slice| {
                let mut html: [String; 3] = Default::default();
                for item in slice {
                    match *item {
                        Item::Area(i) => html[0].push_str(&area_html(&o.areas[i])),
                        Item::Link(k) => html[0].push_str(&link_html(o, &o.links[k])),
                        Item::Node(i) => html[1].push_str(&node_html(&g.nodes[i])),
                        Item::Edge(i) => html[2].push_str(&edge_html(&g, i)),
                    }
                }
                html
            })
            .collect();
        if **shown.borrow() == chunks {
            return;
        }
        let chunks = Rc::new(chunks);
        *shown.borrow_mut() = chunks.clone();
        let lists: [web_sys::Element; 3] = [areas.into(), nodes.into(), edges.into()];
        for l in &lists {
            l.set_inner_html("");
        }
        build.set(build.get() + 1);
        fill(chunks, 0, Rc::new(lists), build.clone(), build.get());
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let Some(button) = el.closest("button").ok().flatten() else {
            return;
        };
        if let Some(ns) = button.get_attribute("data-ns") {
            ctx.selection.set(Some(Selection::Namespace(ns)));
        } else if let (Some(from), Some(to)) = (
            button.get_attribute("data-from-ns"),
            button.get_attribute("data-to-ns"),
        ) {
            ctx.selection.set(Some(Selection::Namespaces { from, to }));
        } else if let Some(id) = button.get_attribute("data-id") {
            ctx.selection.set(Some(Selection::Node(id.clone())));
            gs.centre_on(&id);
        } else if let (Some(from), Some(to)) = (
            button.get_attribute("data-from"),
            button.get_attribute("data-to"),
        ) {
            gs.centre_on(&from);
            ctx.selection.set(Some(Selection::Pair { from, to }));
        }
    };
    let summary = move || {
        let g = ctx.graph.get();
        let drawn = gs.scene.with(|s| s.as_ref().map_or(0, |s| s.drawn));
        let listed = drawn.min(LISTED_EDGES);
        let more = if listed < drawn {
            format!(
                " (the first {}; a node's panel lists all of its connections)",
                thousands(listed)
            )
        } else {
            String::new()
        };
        let areas = match g.overview.areas.len() {
            n if n >= 2 => format!(
                "{} namespaces · {} namespace links · ",
                thousands(n),
                thousands(g.overview.links.len().min(LISTED_LINKS))
            ),
            _ => String::new(),
        };
        format!(
            "{areas}{} nodes · {} connections{more}",
            thousands(g.nodes.len()),
            thousands(drawn)
        )
    };
    view! {
        <details class="graph-list" data-testid="graph-list" open>
            <summary>"As a list: " {summary}</summary>
            <div class="graph-list__body" on:click=on_click>
                <ul class="graph-list__areas" node_ref=areas_ref aria-label="Namespaces"></ul>
                <ul class="graph-list__nodes" node_ref=nodes_ref aria-label="Nodes"></ul>
                <ul class="graph-list__edges" node_ref=edges_ref aria-label="Connections"></ul>
            </div>
        </details>
    }
}

/// Appends `chunks[from..]` a slice per task (each slice's HTML for the namespace, node and
/// edge lists), stopping when a newer build started.
fn fill(
    chunks: Rc<Vec<[String; 3]>>,
    from: usize,
    lists: Rc<[web_sys::Element; 3]>,
    build: Rc<std::cell::Cell<u64>>,
    id: u64,
) {
    if build.get() != id {
        return;
    }
    let Some(html) = chunks.get(from) else {
        return;
    };
    for (list, html) in lists.iter().zip(html) {
        if !html.is_empty() {
            let _ = list.insert_adjacent_html("beforeend", html);
        }
    }
    set_timeout(
        move || fill(chunks, from + 1, lists, build, id),
        std::time::Duration::from_millis(0),
    );
}
