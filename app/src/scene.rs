//! Everything the page draws for one state, built where the analysis lives (the worker):
//! the graph for the requested view, its layout, each drawn edge's route and the order to
//! draw them in, the exposure overlay, what changed since the last state, and which
//! renderer fits the size.
//!
//! **Caps never drop what matters first.** Edges come most important first (allowed by
//! policy, then open pairs when asked, then denied ones when asked); a cap cuts the tail
//! and [`Cap`] says which kind lost how many.

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::connectivity::{self, Exposure, Graph, GraphOptions, Limit};
use crate::layout::{self, Layout};
use crate::probe::Probe;
use crate::route::{self, Route};
use crate::whatif::{Changes, Snapshot};
use crate::wire::ViewRequest;

/// Up to this many nodes and edges the graph is SVG: every node and edge an element with
/// its own hit target. Beyond, a canvas keeps pan and zoom smooth.
pub const SVG_NODES: usize = 400;
/// See [`SVG_NODES`].
pub const SVG_EDGES: usize = 1500;
/// Most edges drawn as SVG (every one routed, hit-tested and focusable).
pub const SVG_CAP: usize = SVG_EDGES;
/// Most edges drawn on the canvas. Ten thousand pods can have a million relations a
/// policy decided; no drawing of them all can be read (or routed in time), so beyond this
/// the graph draws the most important first, says what it left out, and the selected
/// node's edges come first.
pub const CANVAS_CAP: usize = 4000;
/// Above this many nodes the page receives no matrix cells (a thousand nodes make a
/// million; no matrix of that size can be read).
pub const CELLS_LIMIT: usize = 1200;

/// How the graph is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Renderer {
    /// SVG elements.
    #[default]
    Svg,
    /// One canvas, with an accessible list of nodes and edges.
    Canvas,
}

/// What a cap left out, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// Edges drawn.
    pub drawn: usize,
    /// Edges the view asked for.
    pub total: usize,
    /// Allowed-by-policy edges left out (zero unless there are more than the cap).
    pub allowed: usize,
    /// Open edges left out.
    pub open: usize,
    /// Denied edges left out.
    pub denied: usize,
}

impl Cap {
    /// "Drawing 3,000 of 5,321 edges: every allowed one; 2,321 denied ones are left out".
    pub fn words(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.allowed, "allowed"),
            (self.open, "open (no policy decided)"),
            (self.denied, "denied"),
        ] {
            if n > 0 {
                parts.push(format!("{} {what}", thousands(n)));
            }
        }
        let kept = if self.allowed == 0 {
            "every allowed edge is drawn; "
        } else {
            ""
        };
        format!(
            "Drawing {} of {} edges: {kept}{} left out (they are in the matrix and the exports).",
            thousands(self.drawn),
            thousands(self.total),
            parts.join(", ")
        )
    }
}

/// `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One drawable state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Scene {
    /// The analysis it was drawn from (see `Shipped::id`).
    pub analysis: u64,
    /// The graph (its first [`Scene::drawn`] edges are drawn).
    pub graph: Graph,
    /// Where nodes (then ghosts) are.
    pub layout: Layout,
    /// Drawn edges' routes, in edge order.
    pub routes: Vec<Route>,
    /// Drawn edges, bottom to top.
    pub order: Vec<usize>,
    /// How many of the graph's edges are drawn.
    pub drawn: usize,
    /// What a cap left out, if one applied.
    pub cap: Option<Cap>,
    /// The exposure overlay, when asked.
    pub exposure: Option<Exposure>,
    /// Ghost edges' routes, in the overlay's edge order.
    pub ghost_routes: Vec<Route>,
    /// SVG or canvas.
    pub renderer: Renderer,
    /// What changed since the previous state of the same view.
    pub changes: Option<Changes>,
    /// Milliseconds the worker spent, by step (for the benchmark).
    pub timings: Vec<(String, f64)>,
    /// Parts left out because they equal the scene sent before (the page keeps its own).
    #[serde(default)]
    pub kept: Kept,
    /// Per drawn edge of an SVG scene, the tier that decided it (`data-decided-by`), from
    /// the core's tier chains; computed here, in the worker, where the engine already is.
    #[serde(default)]
    pub decided: Vec<Option<crate::decided::DecidedBy>>,
}

/// Which parts of a scene were left out of it because the scene sent just before had
/// them exactly so (most keystrokes change a label, not the drawing): the page keeps what
/// it has, reads less and redraws nothing for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// [`Scene::graph`].
    pub graph: bool,
    /// [`Scene::layout`].
    pub layout: bool,
    /// [`Scene::routes`], [`Scene::order`] and [`Scene::ghost_routes`].
    pub routes: bool,
    /// [`Scene::exposure`].
    pub exposure: bool,
}

/// The parts of the last scene sent, to leave out of the next what did not change.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    graph: Option<Graph>,
    layout: Option<Layout>,
    routes: Option<(Vec<Route>, Vec<usize>, Vec<Route>)>,
    exposure: Option<Option<Exposure>>,
}

impl Sent {
    /// Leaves out of `scene` the parts equal to the last sent, and remembers the others.
    pub fn delta(&mut self, scene: &mut Scene) {
        let graph = self
            .graph
            .as_ref()
            .is_some_and(|g| same_graph(g, &scene.graph));
        if graph {
            scene.graph = Graph::default();
        } else {
            self.graph = Some(scene.graph.clone());
        }
        let layout = self.layout.as_ref() == Some(&scene.layout);
        if layout {
            scene.layout = Layout::default();
        } else {
            self.layout = Some(scene.layout.clone());
        }
        let routes = self.routes.as_ref().is_some_and(|(r, o, g)| {
            *r == scene.routes && *o == scene.order && *g == scene.ghost_routes
        });
        if routes {
            scene.routes = Vec::new();
            scene.order = Vec::new();
            scene.ghost_routes = Vec::new();
        } else {
            self.routes = Some((
                scene.routes.clone(),
                scene.order.clone(),
                scene.ghost_routes.clone(),
            ));
        }
        let exposure = self.exposure.as_ref() == Some(&scene.exposure);
        if exposure {
            scene.exposure = None;
        } else {
            self.exposure = Some(scene.exposure.clone());
        }
        scene.kept = Kept {
            graph,
            layout,
            routes,
            exposure,
        };
    }

    /// Puts back into `scene` the routes it left out, from `previous` (the scene the page
    /// shows; the graph, layout and overlay the page keeps in signals of their own).
    pub fn restore_routes(scene: &mut Scene, previous: Option<&Scene>) {
        if let (true, Some(previous)) = (scene.kept.routes, previous) {
            scene.routes = previous.routes.clone();
            scene.order = previous.order.clone();
            scene.ghost_routes = previous.ghost_routes.clone();
        }
    }
}

/// Graphs equal in everything drawn or counted (the petgraph index is derived).
fn same_graph(a: &Graph, b: &Graph) -> bool {
    a.nodes == b.nodes
        && a.edges == b.edges
        && a.cells == b.cells
        && a.grouped == b.grouped
        && a.groups == b.groups
        && a.counts == b.counts
        && a.hidden_open == b.hidden_open
        && a.totals == b.totals
        && a.filtered_out == b.filtered_out
        && a.cells_omitted == b.cells_omitted
        && a.overview == b.overview
}

/// What the next scene compares with: the last graph of a view.
#[derive(Clone, Debug, Default)]
pub struct Previous {
    view: (String, GraphOptions, u64),
    snapshot: Snapshot,
    /// What changed up to that graph (a scene redrawn for a new focus says it again).
    changes: Option<Changes>,
    /// The analysis that graph came from.
    analysis: u64,
    /// The last layout and routes, kept for a graph with the same nodes and drawn edges.
    drawing: Option<Drawing>,
}

/// A layout and its routes, with what they were computed from: most keystrokes change no
/// node and no drawn edge, and routing is most of a scene's time.
#[derive(Clone, Debug, Default)]
struct Drawing {
    keys: Vec<Option<String>>,
    ends: Vec<(usize, usize)>,
    layout: Layout,
    routed: route::Routed,
}

impl Drawing {
    /// The layout and routes for `keys` and `ends`: the kept ones when they match.
    fn of(kept: Option<Drawing>, keys: &[Option<&str>], ends: Vec<(usize, usize)>) -> Drawing {
        let same_keys = |d: &Drawing| {
            d.keys.len() == keys.len() && d.keys.iter().zip(keys).all(|(a, b)| a.as_deref() == *b)
        };
        if let Some(d) = kept.filter(|d| d.ends == ends && same_keys(d)) {
            return d;
        }
        let layout = layout::layout(keys);
        let routed = route::route(&layout, &ends);
        Drawing {
            keys: keys.iter().map(|k| k.map(str::to_string)).collect(),
            ends,
            layout,
            routed,
        }
    }
}

/// Builds the scene of `request` over `analysis` (whose id is `id`); `previous` is
/// updated for the next one.
pub fn build(
    analysis: &Analysis,
    id: u64,
    request: &ViewRequest,
    previous: &mut Option<Previous>,
) -> Scene {
    let probe = Probe::parse(&request.probe).unwrap_or(Probe::Any);
    // At most the canvas's cap of edges, the focused node's first (an SVG-sized graph is
    // always under it).
    let limit = Limit {
        edges: CANVAS_CAP,
        focus: request.focus.clone(),
    };
    let mut graph = connectivity::build_limited(analysis, &probe, &request.options, &limit);
    let exposure = request
        .exposure
        .then(|| connectivity::exposure(analysis, &graph));
    let kept = previous.as_mut().and_then(|p| p.drawing.take());
    let changes = compare(previous, request, &graph, id);
    let renderer = if graph.nodes.len() > SVG_NODES || graph.totals.all() > SVG_EDGES {
        Renderer::Canvas
    } else {
        Renderer::Svg
    };
    let limit = match renderer {
        Renderer::Svg => SVG_CAP,
        Renderer::Canvas => CANVAS_CAP,
    };
    let cap = cap(&graph, limit);
    let drawn = graph.edges.len().min(limit);
    let keys: Vec<Option<&str>> = graph
        .nodes
        .iter()
        .map(|n| n.namespace.as_deref())
        .chain(exposure.iter().flat_map(|x| x.layout_keys()))
        .collect();
    let ends: Vec<(usize, usize)> = graph.edges[..drawn]
        .iter()
        .map(|e| (e.from, e.to))
        .collect();
    let drawing = Drawing::of(kept, &keys, ends);
    let layout = drawing.layout.clone();
    let routed = drawing.routed.clone();
    if let Some(p) = previous.as_mut() {
        p.drawing = Some(drawing);
    }
    let ghost_routes = exposure
        .as_ref()
        .map(|x| ghost_routes(&layout, &graph, x))
        .unwrap_or_default();
    let decided = match renderer {
        Renderer::Svg => {
            crate::decided::for_graph(analysis, &graph, crate::decided::probe_parts(&probe), drawn)
        }
        Renderer::Canvas => Vec::new(),
    };
    if graph.nodes.len() > CELLS_LIMIT {
        graph.cells = Vec::new();
        graph.cells_omitted = true;
    }
    Scene {
        analysis: id,
        graph,
        layout,
        routes: routed.routes,
        order: routed.order,
        drawn,
        cap,
        exposure,
        ghost_routes,
        renderer,
        changes,
        timings: Vec::new(),
        kept: Kept::default(),
        decided,
    }
}

/// Routes of the exposure overlay's edges (ghosts follow the graph's nodes in the layout).
fn ghost_routes(layout: &Layout, graph: &Graph, x: &Exposure) -> Vec<Route> {
    let first = graph.nodes.len();
    let ends: Vec<(usize, usize)> = x
        .edges
        .iter()
        .map(|e| {
            if e.incoming {
                (first + e.ghost, e.node)
            } else {
                (e.node, first + e.ghost)
            }
        })
        .collect();
    route::route(layout, &ends).routes
}

/// What changed since the previous graph of the same view (probe, options, epoch); the
/// first graph of a view, or of another input, has nothing to compare with. The same
/// analysis and view again (a new focus) repeats what the last change was.
fn compare(
    previous: &mut Option<Previous>,
    request: &ViewRequest,
    graph: &Graph,
    analysis: u64,
) -> Option<Changes> {
    let view = (
        request.probe.clone(),
        request.options.clone(),
        request.epoch,
    );
    if let Some(p) = previous
        .as_ref()
        .filter(|p| p.view == view && p.analysis == analysis)
    {
        return p.changes.clone();
    }
    let snapshot = Snapshot::of(graph);
    let changes = previous
        .as_ref()
        .filter(|p| p.view == view && p.snapshot.related(&snapshot))
        .map(|p| p.snapshot.changes(&snapshot));
    *previous = Some(Previous {
        view,
        snapshot,
        changes: changes.clone(),
        analysis,
        drawing: None,
    });
    changes
}

/// The cap over `graph`'s edges (in order of importance), if `limit` cuts any of the edges
/// the view asks for.
fn cap(graph: &Graph, limit: usize) -> Option<Cap> {
    let total = graph.totals.all();
    if total <= limit {
        return None;
    }
    let shown = &graph.edges[..graph.edges.len().min(limit)];
    let drawn = |allowed: bool, open: bool| {
        shown
            .iter()
            .filter(|e| e.allowed == allowed && (!allowed || e.open == open))
            .count()
    };
    Some(Cap {
        drawn: shown.len(),
        total,
        allowed: graph.totals.allowed - drawn(true, false),
        open: graph.totals.open - drawn(true, true),
        denied: graph.totals.denied - drawn(false, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(denied: bool) -> ViewRequest {
        ViewRequest {
            probe: "any".into(),
            options: GraphOptions {
                denied,
                ..GraphOptions::default()
            },
            exposure: false,
            epoch: 0,
            bench: false,
            focus: None,
        }
    }

    #[test]
    fn the_seed_example_is_a_small_svg_scene() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let mut previous = None;
        let s = build(&a, 1, &request(true), &mut previous);
        assert_eq!(s.renderer, Renderer::Svg);
        assert_eq!(s.drawn, s.graph.edges.len());
        assert_eq!(s.routes.len(), s.drawn);
        assert!(s.cap.is_none() && s.changes.is_none());
        // the same view of the same analysis again (a new focus): the same changes
        let again = build(&a, 1, &request(true), &mut previous);
        assert!(again.changes.is_none());
        // the same view of a new analysis of the same texts: nothing changed
        let b = Analysis::new(ex.policies, ex.cluster);
        let again = build(&b, 2, &request(true), &mut previous);
        assert!(again.changes.unwrap().is_empty());
        // a different view starts over
        assert!(build(&a, 2, &request(false), &mut previous)
            .changes
            .is_none());
    }

    /// Caps keep every allowed edge before any denied one, and say what they left out.
    #[test]
    fn caps_keep_allowed_edges_first() {
        let text = netpol_core::generate::generate(1000, 500, 1);
        let a = Analysis::new(&text, "");
        let mut previous = None;
        let s = build(&a, 1, &request(true), &mut previous);
        let allowed = s.graph.totals.allowed;
        let limit = if s.renderer == Renderer::Svg {
            SVG_CAP
        } else {
            CANVAS_CAP
        };
        let drawn_allowed = s.graph.edges[..s.drawn]
            .iter()
            .filter(|e| e.allowed)
            .count();
        assert_eq!(
            drawn_allowed,
            allowed.min(limit),
            "allowed edges come first"
        );
        let cap = s
            .cap
            .as_ref()
            .expect("1,000 pods with denied pairs exceed the cap");
        assert_eq!(cap.drawn, limit);
        assert_eq!(cap.allowed, allowed.saturating_sub(limit));
        assert_eq!(cap.drawn + cap.allowed + cap.open + cap.denied, cap.total);
        assert!(cap.words().starts_with("Drawing"));
        // A focused node's edges come first.
        let node = s.graph.nodes[s.graph.edges.last().unwrap().to].id.clone();
        let request = ViewRequest {
            focus: Some(node.clone()),
            ..request(true)
        };
        let focused = build(&a, 2, &request, &mut previous);
        let first = &focused.graph.edges[0];
        let ends = [
            &focused.graph.nodes[first.from].id,
            &focused.graph.nodes[first.to].id,
        ];
        assert!(ends.contains(&&node));
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
