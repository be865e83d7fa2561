//! Edges routed around nodes: orthogonal paths in the free strips of the layout, each on a
//! track of its own, so no edge passes under a node and no two edges share a stroke.
//!
//! The layout ([`crate::layout`]) puts nodes in grids inside boxes, and boxes in bands,
//! with strips between them that hold no node: between the columns and rows of a grid
//! (32 and 44 px) and the corridors between boxes (48 px). Those strips' centre lines,
//! plus the lines through node centres where ports attach, form a lattice. An edge is a
//! shortest path in it (A*, with a cost per bend and per edge already using a stretch of
//! line, so edges spread out) from a port of its source (the middle of a side, left
//! there on a short stub) to a port of its destination.
//!
//! Paths become runs along lattice lines; each run gets a track (an offset from the line)
//! so that runs sharing a stretch of line lie side by side ([`tracks`]), and the ends of
//! the edges at one node side are spread along it. Finally, where another edge passes
//! over the middle of an edge, the edge is drawn above it ([`draw_order`]): clicking
//! the middle of any drawn edge hits that edge. Everything is a pure function of the
//! layout and the edge list.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use crate::layout::{Layout, CELL_H, CELL_W, GAP, HEADER, NODE_H, NODE_W, PAD};

/// Cost of a bend, in layout units of length.
const BEND: f32 = 26.0;
/// Cost per edge already using a stretch of line.
const CROWD: f32 = 12.0;
/// Track spacing when there is room.
const SPACING: f32 = 6.0;
/// The thinnest a track gets before runs overlap (a bundle).
const MIN_SPACING: f32 = 1.5;
/// Runs on one line closer than this (end to start) take different tracks, so a click
/// near the end of one never lands on the next.
const APART: f32 = 12.0;
/// Above this many edges the search trades shortness for speed (weighted A*).
const QUICK_ABOVE: usize = 1500;

/// One routed edge: a polyline from the source node's border to the destination's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Corner points, first on the source's border, last on the destination's.
    pub points: Vec<(f32, f32)>,
    /// The point halfway along the polyline (where a label goes, and what a click on
    /// "the middle of the edge" hits).
    pub mid: (f32, f32),
    /// Width of the stroke that takes clicks: the room between this edge and its
    /// neighbours on the most crowded stretch it uses.
    pub hit: f32,
}

impl Route {
    /// SVG path data (`M x,y L x,y ...`).
    pub fn path(&self) -> String {
        let mut d = String::with_capacity(self.points.len() * 14);
        for (i, (x, y)) in self.points.iter().enumerate() {
            d.push_str(if i == 0 { "M" } else { " L" });
            d.push_str(&format!("{x:.1},{y:.1}"));
        }
        d
    }

    /// Length of the polyline.
    pub fn length(&self) -> f32 {
        self.points.windows(2).map(|w| dist(w[0], w[1])).sum()
    }

    /// Distance from `p` to the polyline.
    pub fn distance_to(&self, p: (f32, f32)) -> f32 {
        self.points
            .windows(2)
            .map(|w| segment_distance(p, w[0], w[1]))
            .fold(f32::INFINITY, f32::min)
    }
}

/// Every edge's route, and the order to draw them in (bottom first).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    /// One per input edge, in input order.
    pub routes: Vec<Route>,
    /// Input indices, bottom to top.
    pub order: Vec<usize>,
}

/// Routes `edges` (pairs of node indices into `layout.positions`) around the nodes.
pub fn route(layout: &Layout, edges: &[(usize, usize)]) -> Routed {
    if edges.is_empty() || layout.slots.len() != layout.positions.len() {
        return Routed::default();
    }
    let lattice = Lattice::new(layout);
    // Edges between one node and itself are not drawn; an empty route stands for them.
    let quick = edges.len() > QUICK_ABOVE;
    let mut search = Search::new(&lattice, quick);
    let paths: Vec<Path> = edges
        .iter()
        .map(|&(a, b)| search.path(&lattice, layout, a, b))
        .collect();
    let mut runs = runs(&lattice, &paths);
    spread_ports(&mut runs, &paths);
    let offsets = tracks(&lattice, &runs);
    let routes: Vec<Route> = paths
        .iter()
        .zip(&runs)
        .enumerate()
        .map(|(i, (path, r))| polyline(&lattice, layout, edges[i], path, r, &offsets[i]))
        .collect();
    let order = if quick {
        (0..routes.len()).collect()
    } else {
        draw_order(&routes)
    };
    Routed { routes, order }
}

// ---------------------------------------------------------------------------------------
// The lattice

/// Horizontal (`y` fixed) or vertical (`x` fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    H,
    V,
}

/// A lattice line: its axis, fixed coordinate and half the width of its free strip.
#[derive(Clone, Copy, Debug)]
struct Line {
    axis: Axis,
    at: f32,
    room: f32,
}

// Directions are numbered +x, +y, -x, -y (0..4); `(d + 2) % 4` reverses one.

struct Lattice {
    x: Vec<f32>,
    y: Vec<f32>,
    /// Per vertex and direction, the next vertex that way.
    next: Vec<[u32; 4]>,
    /// Per vertex, its horizontal and vertical line (`NONE` when on one line only).
    lines_of: Vec<[u32; 2]>,
    lines: Vec<Line>,
}

const NONE: u32 = u32::MAX;

/// Coordinates to half units, as a map key.
fn key(v: f32) -> i64 {
    (v * 2.0).round() as i64
}

/// Lines being collected: per axis and fixed coordinate, the stops along it.
#[derive(Default)]
struct Builder {
    lines: BTreeMap<(u8, i64), (f32, f32, Vec<f32>)>,
}

impl Builder {
    fn add(&mut self, axis: Axis, at: f32, room: f32, stops: impl IntoIterator<Item = f32>) {
        let entry = self
            .lines
            .entry((axis as u8, key(at)))
            .or_insert((at, room, Vec::new()));
        entry.1 = entry.1.min(room);
        entry.2.extend(stops);
    }
}

impl Lattice {
    fn new(layout: &Layout) -> Lattice {
        let mut b = Builder::default();
        let half = GAP as f32 / 2.0;
        let (gx, gy) = (
            ((CELL_W - NODE_W) / 2.0) as f32,
            ((CELL_H - NODE_H) / 2.0) as f32,
        );
        for bx in &layout.boxes {
            let Some(&(top, height)) = layout.bands.get(bx.band) else {
                continue;
            };
            let (above, below) = (top as f32 - half, (top + height) as f32 + half);
            let (x0, y0) = ((bx.x + PAD) as f32, (bx.y + HEADER + PAD) as f32);
            let (left, right) = (bx.x as f32 - half, (bx.x + bx.w) as f32 + half);
            let cols: Vec<f32> = (0..=bx.cols)
                .map(|c| x0 + c as f32 * CELL_W as f32)
                .collect();
            let rows: Vec<f32> = (0..=bx.rows)
                .map(|r| y0 + r as f32 * CELL_H as f32)
                .collect();
            let centres_x: Vec<f32> = (0..bx.cols)
                .map(|c| x0 + (c as f32 + 0.5) * CELL_W as f32)
                .collect();
            let centres_y: Vec<f32> = (0..bx.rows)
                .map(|r| y0 + (r as f32 + 0.5) * CELL_H as f32)
                .collect();
            for (c, &x) in cols.iter().enumerate() {
                // The first column line starts below the title.
                let top_stop = if c == 0 { rows[0] } else { above };
                let stops = [top_stop, below]
                    .into_iter()
                    .chain(rows.iter().copied())
                    .chain(centres_y.iter().copied());
                b.add(Axis::V, x, gx, stops);
                if c > 0 {
                    b.add(Axis::H, above, half, [x]);
                }
                b.add(Axis::H, below, half, [x]);
            }
            for &y in &rows {
                let stops = [left, right]
                    .into_iter()
                    .chain(cols.iter().copied())
                    .chain(centres_x.iter().copied());
                b.add(Axis::H, y, gy, stops);
                b.add(Axis::V, left, half, [y, above, below]);
                b.add(Axis::V, right, half, [y, above, below]);
            }
            b.add(Axis::H, above, half, [left, right]);
            b.add(Axis::H, below, half, [left, right]);
        }
        Lattice::from_builder(b)
    }

    fn from_builder(b: Builder) -> Lattice {
        let mut l = Lattice {
            x: Vec::new(),
            y: Vec::new(),
            next: Vec::new(),
            lines_of: Vec::new(),
            lines: Vec::new(),
        };
        let mut index: HashMap<(i64, i64), u32> = HashMap::new();
        for ((axis, _), (at, room, mut stops)) in b.lines {
            let axis = if axis == Axis::H as u8 {
                Axis::H
            } else {
                Axis::V
            };
            stops.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
            stops.dedup_by(|a, b| key(*a) == key(*b));
            let line = l.lines.len() as u32;
            l.lines.push(Line { axis, at, room });
            let mut previous = NONE;
            for s in stops {
                let (x, y) = match axis {
                    Axis::H => (s, at),
                    Axis::V => (at, s),
                };
                let v = l.vertex(&mut index, x, y);
                l.lines_of[v as usize][axis as usize] = line;
                if previous != NONE {
                    let forward = if axis == Axis::H { 0 } else { 1 };
                    l.next[previous as usize][forward] = v;
                    l.next[v as usize][forward + 2] = previous;
                }
                previous = v;
            }
        }
        l
    }

    fn vertex(&mut self, index: &mut HashMap<(i64, i64), u32>, x: f32, y: f32) -> u32 {
        *index.entry((key(x), key(y))).or_insert_with(|| {
            self.x.push(x);
            self.y.push(y);
            self.next.push([NONE; 4]);
            self.lines_of.push([NONE; 2]);
            self.x.len() as u32 - 1
        })
    }

    fn find(&self, index: &HashMap<(i64, i64), u32>, x: f32, y: f32) -> Option<u32> {
        index.get(&(key(x), key(y))).copied()
    }
}

// ---------------------------------------------------------------------------------------
// Ports and search

/// A side of a node: top, bottom, left, right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum SideOf {
    Top,
    Bottom,
    Left,
    Right,
}

impl SideOf {
    /// The direction leaving the node through this side.
    fn out(self) -> usize {
        match self {
            SideOf::Right => 0,
            SideOf::Bottom => 1,
            SideOf::Left => 2,
            SideOf::Top => 3,
        }
    }
}

/// Where a node's side meets the lattice.
#[derive(Clone, Copy, Debug)]
struct Port {
    vertex: u32,
    side: SideOf,
}

/// The grid geometry of a node: centre and the four port points.
fn ports(
    lattice: &Lattice,
    index: &HashMap<(i64, i64), u32>,
    layout: &Layout,
    node: usize,
) -> Vec<Port> {
    let (Some(slot), Some(&(cx, cy))) = (layout.slots.get(node), layout.positions.get(node)) else {
        return Vec::new();
    };
    let Some(bx) = layout.boxes.get(slot.boxed) else {
        return Vec::new();
    };
    let (cx, cy) = (cx as f32, cy as f32);
    let x0 = (bx.x + PAD) as f32 + slot.col as f32 * CELL_W as f32;
    let y0 = (bx.y + HEADER + PAD) as f32 + slot.row as f32 * CELL_H as f32;
    let at = [
        (SideOf::Top, cx, y0),
        (SideOf::Bottom, cx, y0 + CELL_H as f32),
        (SideOf::Left, x0, cy),
        (SideOf::Right, x0 + CELL_W as f32, cy),
    ];
    at.into_iter()
        .filter_map(|(side, x, y)| {
            lattice
                .find(index, x, y)
                .map(|vertex| Port { vertex, side })
        })
        .collect()
}

/// A found path: lattice vertices from the source port to the destination port.
#[derive(Clone, Debug, Default)]
struct Path {
    vertices: Vec<u32>,
    from: Option<(usize, SideOf)>,
    to: Option<(usize, SideOf)>,
}

/// A* over (vertex, direction of arrival) with reusable buffers.
struct Search {
    cost: Vec<f32>,
    stamp: Vec<u32>,
    previous: Vec<u32>,
    /// Per vertex and direction: edges already routed along that stretch.
    used: Vec<u16>,
    generation: u32,
    index: HashMap<(i64, i64), u32>,
    weight: f32,
    crowd: f32,
}

/// A state: vertex * 4 + direction of arrival.
type State = u32;

/// A heap entry ordered by lowest estimate first (non-negative floats order as their bits).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry(std::cmp::Reverse<u32>, State);

impl Search {
    fn new(lattice: &Lattice, quick: bool) -> Search {
        let states = lattice.x.len() * 4;
        let mut index = HashMap::with_capacity(lattice.x.len());
        for v in 0..lattice.x.len() {
            index.insert((key(lattice.x[v]), key(lattice.y[v])), v as u32);
        }
        Search {
            cost: vec![0.0; states],
            stamp: vec![0; states],
            previous: vec![NONE; states],
            used: vec![0; states],
            generation: 0,
            index,
            weight: if quick { 2.5 } else { 1.0 },
            crowd: if quick { 0.0 } else { CROWD },
        }
    }

    /// The cheapest path from a port of `a` to a port of `b`.
    fn path(&mut self, lattice: &Lattice, layout: &Layout, a: usize, b: usize) -> Path {
        let (from, to) = (
            ports(lattice, &self.index, layout, a),
            ports(lattice, &self.index, layout, b),
        );
        if from.is_empty() || to.is_empty() || a == b {
            return Path::default();
        }
        let goal = layout.positions[b];
        let (gx, gy) = (goal.0 as f32, goal.1 as f32);
        let slack = (CELL_W + CELL_H) as f32 / 2.0;
        let weight = self.weight;
        let estimate = |v: usize| {
            let d = (lattice.x[v] - gx).abs() + (lattice.y[v] - gy).abs();
            (d - slack).max(0.0) * weight
        };
        self.generation += 1;
        let mut heap = BinaryHeap::new();
        for p in &from {
            let s = p.vertex * 4 + p.side.out() as u32;
            self.set(s, 0.0, NONE);
            heap.push(Entry(
                std::cmp::Reverse(estimate(p.vertex as usize).to_bits()),
                s,
            ));
        }
        let mut found = None;
        while let Some(Entry(_, s)) = heap.pop() {
            let (v, d_in) = ((s / 4) as usize, (s % 4) as usize);
            if let Some(p) = to.iter().find(|p| p.vertex as usize == v) {
                found = Some((s, *p));
                break;
            }
            let g = self.cost[s as usize];
            for d in 0..4 {
                let n = lattice.next[v][d];
                if n == NONE || d == (d_in + 2) % 4 {
                    continue;
                }
                let step = (lattice.x[n as usize] - lattice.x[v]).abs()
                    + (lattice.y[n as usize] - lattice.y[v]).abs();
                let turn = if d == d_in { 0.0 } else { BEND };
                // Spreading edges over less used lines is for graphs small enough to
                // read one by one; on big ones it only makes the search wander.
                let crowd = self.crowd * f32::from(self.used[v * 4 + d].min(8));
                let ns = n * 4 + d as u32;
                let ng = g + step + turn + crowd;
                if self.stamp[ns as usize] != self.generation || ng < self.cost[ns as usize] {
                    self.set(ns, ng, s);
                    let f = ng + estimate(n as usize);
                    heap.push(Entry(std::cmp::Reverse(f.to_bits()), ns));
                }
            }
        }
        let Some((end, port)) = found else {
            return Path::default();
        };
        let mut states = vec![end];
        while let Some(&s) = states.last() {
            let p = self.previous[s as usize];
            if p == NONE {
                break;
            }
            states.push(p);
        }
        states.reverse();
        for w in states.windows(2) {
            let (v, d) = ((w[0] / 4) as usize, (w[1] % 4) as usize);
            let n = (w[1] / 4) as usize;
            self.used[v * 4 + d] = self.used[v * 4 + d].saturating_add(1);
            self.used[n * 4 + (d + 2) % 4] = self.used[n * 4 + (d + 2) % 4].saturating_add(1);
        }
        let start = from
            .iter()
            .find(|p| p.vertex == states[0] / 4)
            .map(|p| (a, p.side));
        Path {
            vertices: states.iter().map(|s| s / 4).collect(),
            from: start,
            to: Some((b, port.side)),
        }
    }

    fn set(&mut self, s: State, cost: f32, previous: State) {
        self.stamp[s as usize] = self.generation;
        self.cost[s as usize] = cost;
        self.previous[s as usize] = previous;
    }
}

// ---------------------------------------------------------------------------------------
// Runs, ports spread along sides, tracks

/// A stretch of one path along one lattice line, from `from` to `to` (coordinates along
/// the line).
#[derive(Clone, Copy, Debug)]
struct Run {
    line: u32,
    from: f32,
    to: f32,
}

/// Each path as runs along lattice lines.
fn runs(lattice: &Lattice, paths: &[Path]) -> Vec<Vec<Run>> {
    paths.iter().map(|p| path_runs(lattice, p)).collect()
}

fn path_runs(lattice: &Lattice, path: &Path) -> Vec<Run> {
    let along = |v: u32, axis: Axis| match axis {
        Axis::H => lattice.x[v as usize],
        Axis::V => lattice.y[v as usize],
    };
    let Some(&first) = path.vertices.first() else {
        return Vec::new();
    };
    if path.vertices.len() == 1 {
        // Two ports on one vertex: adjacent nodes, joined along the port's own line.
        let lines = lattice.lines_of[first as usize];
        let (line, axis) = if lines[0] != NONE {
            (lines[0], Axis::H)
        } else {
            (lines[1], Axis::V)
        };
        let at = along(first, axis);
        return vec![Run {
            line,
            from: at,
            to: at,
        }];
    }
    let mut out: Vec<Run> = Vec::new();
    for w in path.vertices.windows(2) {
        let axis = if lattice.y[w[0] as usize] == lattice.y[w[1] as usize] {
            Axis::H
        } else {
            Axis::V
        };
        let line = lattice.lines_of[w[0] as usize][axis as usize];
        match out.last_mut() {
            Some(run) if run.line == line => run.to = along(w[1], axis),
            _ => out.push(Run {
                line,
                from: along(w[0], axis),
                to: along(w[1], axis),
            }),
        }
    }
    out
}

/// Spreads the ends of the edges meeting at one port along the node side, ordered by
/// where each heads, so they leave side by side instead of from one point. The ports of
/// two nodes facing each other across a strip are the same lattice vertex: their ends
/// are spread together, so stubs from both sides never share a stroke.
fn spread_ports(runs: &mut [Vec<Run>], paths: &[Path]) {
    // port vertex -> (side, edge, is source end, heading)
    let mut at: BTreeMap<u32, Vec<(SideOf, usize, bool, f32)>> = BTreeMap::new();
    for (i, (path, r)) in paths.iter().zip(runs.iter()).enumerate() {
        let (Some(first), Some(last)) = (r.first(), r.last()) else {
            continue;
        };
        let (Some(&v0), Some(&v1)) = (path.vertices.first(), path.vertices.last()) else {
            continue;
        };
        if let Some((_, side)) = path.from {
            let heading = if r.len() == 1 { last.to } else { first.to };
            at.entry(v0).or_default().push((side, i, true, heading));
        }
        if let Some((_, side)) = path.to {
            let heading = if r.len() == 1 { first.from } else { last.from };
            at.entry(v1).or_default().push((side, i, false, heading));
        }
    }
    for (_, mut ends) in at {
        ends.sort_by(|a, b| {
            a.3.partial_cmp(&b.3)
                .unwrap_or(Ordering::Equal)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
        });
        let usable = match ends[0].0 {
            SideOf::Top | SideOf::Bottom => NODE_W as f32 - 24.0,
            SideOf::Left | SideOf::Right => NODE_H as f32 - 10.0,
        };
        let n = ends.len();
        let step = if n > 1 {
            (usable / (n - 1) as f32).min(12.0)
        } else {
            0.0
        };
        for (k, (_, edge, source, _)) in ends.into_iter().enumerate() {
            let offset = (k as f32 - (n - 1) as f32 / 2.0) * step;
            let r = &mut runs[edge];
            if source {
                if let Some(first) = r.first_mut() {
                    first.from += offset;
                }
            } else if let Some(last) = r.last_mut() {
                last.to += offset;
            }
        }
    }
}

/// Per path, per run: its offset from the line, and the spacing of its bundle.
type Offsets = Vec<(f32, f32)>;

/// Side by side: runs on one line that overlap get distinct tracks, centred on the line
/// and spaced as the strip allows.
fn tracks(lattice: &Lattice, runs: &[Vec<Run>]) -> Vec<Offsets> {
    let mut out: Vec<Offsets> = runs.iter().map(|r| vec![(0.0, SPACING); r.len()]).collect();
    let mut by_line: HashMap<u32, Vec<(f32, f32, usize, usize)>> = HashMap::new();
    for (i, r) in runs.iter().enumerate() {
        for (k, run) in r.iter().enumerate() {
            let (lo, hi) = (run.from.min(run.to), run.from.max(run.to));
            by_line.entry(run.line).or_default().push((lo, hi, i, k));
        }
    }
    for (line, mut list) in by_line {
        let room = lattice.lines[line as usize].room;
        list.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(Ordering::Equal)
                .then(a.2.cmp(&b.2))
        });
        let mut start = 0;
        while start < list.len() {
            // A bundle: runs overlapping each other, directly or through others.
            let mut end = start + 1;
            let mut reach = list[start].1;
            while end < list.len() && list[end].0 <= reach + APART {
                reach = reach.max(list[end].1);
                end += 1;
            }
            assign(&list[start..end], room, &mut out);
            start = end;
        }
    }
    out
}

/// Tracks for one bundle: greedy interval partitioning, then offsets centred on the line.
fn assign(bundle: &[(f32, f32, usize, usize)], room: f32, out: &mut [Offsets]) {
    let mut ends: Vec<f32> = Vec::new();
    let mut track = Vec::with_capacity(bundle.len());
    for &(lo, hi, _, _) in bundle {
        match ends.iter().position(|e| *e + APART < lo) {
            Some(t) => {
                ends[t] = hi;
                track.push(t);
            }
            None => {
                ends.push(hi);
                track.push(ends.len() - 1);
            }
        }
    }
    let n = ends.len() as f32;
    let limit = (room - 6.0).max(1.0);
    let spacing = if n > 1.0 {
        (2.0 * limit / (n - 1.0)).clamp(MIN_SPACING, SPACING)
    } else {
        10.0
    };
    for (&(_, _, i, k), t) in bundle.iter().zip(track) {
        let offset = ((t as f32 - (n - 1.0) / 2.0) * spacing).clamp(-limit, limit);
        out[i][k] = (offset, spacing);
    }
}

/// The polyline of one path: a stub out of the source side, the runs on their tracks,
/// a stub into the destination side.
fn polyline(
    lattice: &Lattice,
    layout: &Layout,
    ends: (usize, usize),
    path: &Path,
    runs: &[Run],
    offsets: &Offsets,
) -> Route {
    let (Some((a, side_a)), Some((b, side_b))) = (path.from, path.to) else {
        return straight(layout, ends);
    };
    if runs.is_empty() {
        return straight(layout, ends);
    }
    let on = |k: usize, along: f32| -> (f32, f32) {
        let line = lattice.lines[runs[k].line as usize];
        let across = line.at + offsets[k].0;
        match line.axis {
            Axis::H => (along, across),
            Axis::V => (across, along),
        }
    };
    let mut points = Vec::with_capacity(runs.len() + 3);
    let first = on(0, runs[0].from);
    points.push(border(layout, a, side_a, first));
    points.push(first);
    for k in 0..runs.len() - 1 {
        let here = lattice.lines[runs[k].line as usize];
        let next = lattice.lines[runs[k + 1].line as usize];
        let corner = match here.axis {
            Axis::H => (next.at + offsets[k + 1].0, here.at + offsets[k].0),
            Axis::V => (here.at + offsets[k].0, next.at + offsets[k + 1].0),
        };
        points.push(corner);
    }
    let last = on(runs.len() - 1, runs[runs.len() - 1].to);
    points.push(last);
    points.push(border(layout, b, side_b, last));
    points.dedup_by(|p, q| dist(*p, *q) < 0.01);
    let hit = offsets
        .iter()
        .map(|(_, spacing)| *spacing)
        .fold(10.0f32, f32::min)
        .max(MIN_SPACING);
    finish(points, hit)
}

/// The point on node `n`'s `side` in line with `towards` (the stub is perpendicular).
fn border(layout: &Layout, n: usize, side: SideOf, towards: (f32, f32)) -> (f32, f32) {
    let (cx, cy) = layout
        .positions
        .get(n)
        .map_or((0.0, 0.0), |p| (p.0 as f32, p.1 as f32));
    let (hw, hh) = (NODE_W as f32 / 2.0, NODE_H as f32 / 2.0);
    match side {
        SideOf::Top => (towards.0, cy - hh),
        SideOf::Bottom => (towards.0, cy + hh),
        SideOf::Left => (cx - hw, towards.1),
        SideOf::Right => (cx + hw, towards.1),
    }
}

/// When no lattice path exists (not expected): a straight line between the borders.
fn straight(layout: &Layout, (a, b): (usize, usize)) -> Route {
    let (Some(pa), Some(pb)) = (layout.positions.get(a), layout.positions.get(b)) else {
        return Route::default();
    };
    let (x1, y1, x2, y2) = crate::geometry::edge_line(*pa, *pb);
    finish(vec![(x1 as f32, y1 as f32), (x2 as f32, y2 as f32)], 10.0)
}

/// A route with its midpoint.
fn finish(points: Vec<(f32, f32)>, hit: f32) -> Route {
    let mut route = Route {
        points,
        mid: (0.0, 0.0),
        hit,
    };
    let half = route.length() / 2.0;
    let mut walked = 0.0;
    for w in route.points.windows(2) {
        let len = dist(w[0], w[1]);
        if walked + len >= half && len > 0.0 {
            let t = (half - walked) / len;
            route.mid = (
                w[0].0 + t * (w[1].0 - w[0].0),
                w[0].1 + t * (w[1].1 - w[0].1),
            );
            return route;
        }
        walked += len;
    }
    route.mid = route.points.first().copied().unwrap_or_default();
    route
}

// ---------------------------------------------------------------------------------------
// Draw order

/// Bottom to top: by default the most important edges (first in the input) on top; an
/// edge whose middle another edge's stroke covers is drawn above that edge, so a click on
/// the middle of an edge always hits it.
fn draw_order(routes: &[Route]) -> Vec<usize> {
    const CELL: f32 = 40.0;
    let cell = |p: (f32, f32)| ((p.0 / CELL).floor() as i32, (p.1 / CELL).floor() as i32);
    let mut grid: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
    for (i, r) in routes.iter().enumerate() {
        for w in r.points.windows(2) {
            let (a, b) = (cell(w[0]), cell(w[1]));
            for gx in a.0.min(b.0) - 1..=a.0.max(b.0) + 1 {
                for gy in a.1.min(b.1) - 1..=a.1.max(b.1) + 1 {
                    let v = grid.entry((gx, gy)).or_default();
                    if v.last() != Some(&i) {
                        v.push(i);
                    }
                }
            }
        }
    }
    // below[j]: edges that must be drawn above j.
    let n = routes.len();
    let mut above: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending = vec![0usize; n];
    for (i, r) in routes.iter().enumerate() {
        let Some(near) = grid.get(&cell(r.mid)) else {
            continue;
        };
        for &j in near {
            if j != i && routes[j].distance_to(r.mid) <= routes[j].hit / 2.0 + 0.5 {
                above[j].push(i);
                pending[i] += 1;
            }
        }
    }
    // Kahn's algorithm; among free edges the least important goes lowest. A cycle (two
    // middles on each other's strokes) is broken by importance.
    let mut free: BinaryHeap<usize> = (0..n).filter(|i| pending[*i] == 0).collect();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = match free.pop() {
            Some(i) => i,
            None => match (0..n).rev().find(|i| !placed[*i]) {
                Some(i) => i,
                None => break,
            },
        };
        if placed[next] {
            continue;
        }
        placed[next] = true;
        order.push(next);
        for &i in &above[next] {
            pending[i] = pending[i].saturating_sub(1);
            if pending[i] == 0 && !placed[i] {
                free.push(i);
            }
        }
    }
    order
}

// ---------------------------------------------------------------------------------------
// Geometry helpers

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    if len2 <= f32::EPSILON {
        return dist(p, a);
    }
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0);
    dist(p, (a.0 + t * dx, a.1 + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::layout;

    /// Node rectangles of a layout, shrunk by a hair (edges end on borders).
    fn rects(l: &Layout) -> Vec<(f32, f32, f32, f32)> {
        l.positions
            .iter()
            .map(|(x, y)| {
                let (hw, hh) = (NODE_W as f32 / 2.0 - 0.5, NODE_H as f32 / 2.0 - 0.5);
                (
                    *x as f32 - hw,
                    *y as f32 - hh,
                    *x as f32 + hw,
                    *y as f32 + hh,
                )
            })
            .collect()
    }

    /// Whether the segment `a..b` (axis-parallel) enters the rectangle `r`.
    fn crosses(a: (f32, f32), b: (f32, f32), r: (f32, f32, f32, f32)) -> bool {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        x1 > r.0 && x0 < r.2 && y1 > r.1 && y0 < r.3
    }

    fn mesh(keys: &[Option<&str>]) -> (Layout, Vec<(usize, usize)>) {
        let l = layout(keys);
        let n = keys.len();
        let edges = (0..n)
            .flat_map(|a| (0..n).filter(move |b| *b != a).map(move |b| (a, b)))
            .collect();
        (l, edges)
    }

    #[test]
    fn routes_are_orthogonal_end_on_their_nodes_and_never_cross_one() {
        let keys: Vec<Option<&str>> = [Some("a"); 7]
            .into_iter()
            .chain([Some("b"); 3])
            .chain([None; 2])
            .collect();
        let (l, edges) = mesh(&keys);
        let routed = route(&l, &edges);
        let boxes = rects(&l);
        for (i, r) in routed.routes.iter().enumerate() {
            let (a, b) = edges[i];
            assert!(r.points.len() >= 2, "edge {i} has a route");
            for w in r.points.windows(2) {
                assert!(w[0].0 == w[1].0 || w[0].1 == w[1].1, "orthogonal: {:?}", w);
                for (n, rect) in boxes.iter().enumerate() {
                    let end = (n == a && w[0] == r.points[0])
                        || (n == b && w[1] == *r.points.last().unwrap());
                    assert!(
                        end || !crosses(w[0], w[1], *rect),
                        "edge {a}->{b} crosses node {n}: {:?}",
                        w
                    );
                }
            }
            // starts on the border of a, ends on the border of b
            let (pa, pb) = (l.positions[a], l.positions[b]);
            let on = |p: (f32, f32), c: (f64, f64)| {
                ((p.0 - c.0 as f32).abs() - NODE_W as f32 / 2.0).abs() < 0.6
                    || ((p.1 - c.1 as f32).abs() - NODE_H as f32 / 2.0).abs() < 0.6
            };
            assert!(
                on(r.points[0], pa) && on(*r.points.last().unwrap(), pb),
                "{:?}",
                r.points
            );
        }
        assert_eq!(routed.order.len(), edges.len());
    }

    /// The middle of every edge of a dense mesh is on that edge, and no edge drawn above
    /// it covers it: the promise a click on the middle of an edge relies on.
    #[test]
    fn the_middle_of_every_edge_is_its_own() {
        for keys in [
            vec![Some("a"); 7],
            vec![Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None],
        ] {
            let (l, edges) = mesh(&keys);
            let routed = route(&l, &edges);
            let mut rank = vec![0; edges.len()];
            for (z, i) in routed.order.iter().enumerate() {
                rank[*i] = z;
            }
            let boxes = rects(&l);
            for (i, r) in routed.routes.iter().enumerate() {
                assert!(r.distance_to(r.mid) < 0.01);
                assert!(
                    boxes.iter().all(|b| !crosses(r.mid, r.mid, *b)),
                    "middle under a node"
                );
                for (j, other) in routed.routes.iter().enumerate() {
                    if j != i && rank[j] > rank[i] {
                        assert!(
                            other.distance_to(r.mid) > other.hit / 2.0,
                            "{:?} covers the middle of {:?}",
                            edges[j],
                            edges[i]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn runs_sharing_a_line_do_not_overlap() {
        let (l, edges) = mesh(&[Some("a"); 6]);
        let routed = route(&l, &edges);
        // Collinear segments of different edges that overlap must be apart.
        type Seg = (usize, (f32, f32), (f32, f32));
        let segs: Vec<Seg> = routed
            .routes
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                r.points
                    .windows(2)
                    .map(move |w| (i, w[0], w[1]))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (i, a0, a1) in &segs {
            for (j, b0, b1) in &segs {
                if i == j {
                    continue;
                }
                let horizontal = a0.1 == a1.1 && b0.1 == b1.1 && a0.0 != a1.0 && b0.0 != b1.0;
                if horizontal && (a0.1 - b0.1).abs() < 0.01 {
                    let overlap =
                        a0.0.max(a1.0).min(b0.0.max(b1.0)) - a0.0.min(a1.0).max(b0.0.min(b1.0));
                    assert!(
                        overlap <= 1.0,
                        "edges {i} and {j} share a stroke at y={}",
                        a0.1
                    );
                }
            }
        }
    }

    #[test]
    fn nothing_to_route() {
        assert_eq!(route(&layout(&[]), &[]), Routed::default());
        let l = layout(&[Some("a"), Some("a")]);
        let r = route(&l, &[(0, 0)]);
        assert!(r.routes[0].points.len() <= 2);
        assert!(Route::default().path().is_empty());
        let r = route(&l, &[(0, 1)]);
        assert!(r.routes[0].path().starts_with('M'));
    }
}
