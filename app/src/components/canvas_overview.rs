//! The canvas graph zoomed out: the namespace overview ([`crate::overview`]). Below the
//! zoom where a pod can be told apart from its neighbours, each namespace is a tile with
//! its name, pod count and isolation, and each namespace pair a policy connects is one
//! curved arrow as wide as the log of its pod pairs. Zooming in turns the tiles back into
//! their pods (semantic zoom); a click selects a namespace or a namespace pair, whose panel
//! lists the connections behind it; a double-click zooms into the namespace.

use web_sys::CanvasRenderingContext2d;

use crate::components::ctx::Selection;
use crate::layout::{Boxed, Layout, NODE_W};
use crate::overview::{self, Link, Overview};
use crate::scene::thousands;

/// Below this many screen pixels per node width, the canvas draws the overview.
const POD_PIXELS: f64 = 40.0;
/// Links drawn when nothing is selected: the busiest (a selected namespace shows all of
/// its own). A few dozen arrows read as a map; hundreds are a hairball again.
pub const IDLE_LINKS: usize = 60;

/// Whether a canvas at scale `a` (screen pixels per layout unit) draws the overview.
pub fn shows(o: &Overview, a: f64) -> bool {
    o.areas.len() >= 2 && a * NODE_W < POD_PIXELS
}

/// Colours the overview uses (the canvas's palette, read from the page's CSS).
pub struct Colours<'a> {
    pub allowed: &'a str,
    pub denied: &'a str,
    pub open: &'a str,
    pub focus: &'a str,
    pub text: &'a str,
    pub muted: &'a str,
    pub tile: &'a str,
    pub tile_stroke: &'a str,
    pub background: &'a str,
}

/// What the overview shows, in words (over the canvas).
pub fn note(o: &Overview) -> String {
    let links = if o.links_total > IDLE_LINKS {
        format!(
            "the {IDLE_LINKS} busiest of {} namespace links",
            thousands(o.links_total)
        )
    } else {
        format!("{} namespace links", thousands(o.links_total))
    };
    format!(
        "Namespaces: {links}, by pod pairs allowed by policy. Click one for all of its links; zoom in (or double-click) for its pods."
    )
}

/// Whether link `k` is drawn: one of the busiest, or one of the selection's.
fn drawn(k: usize, l: &Link, selected: &[usize]) -> bool {
    k < IDLE_LINKS || selected.contains(&l.from) || selected.contains(&l.to)
}

/// Whether link `l` is the selection's: the selected namespace pair, or (without one) a
/// link of a selected area.
fn focused(l: &Link, selected: &[usize], pair: Option<(usize, usize)>) -> bool {
    match pair {
        Some(p) => p == (l.from, l.to),
        None => selected.contains(&l.from) || selected.contains(&l.to),
    }
}

/// Each area's box in the layout.
pub fn boxes<'l>(o: &Overview, layout: &'l Layout) -> Vec<Option<&'l Boxed>> {
    o.areas
        .iter()
        .map(|a| layout.boxes.iter().find(|b| b.namespace == a.namespace))
        .collect()
}

/// A link's curve: start, control point and end (a quadratic Bézier from border to
/// border, bent to the left of its direction so the two directions of a pair separate).
pub fn curve(a: &Boxed, b: &Boxed) -> [(f64, f64); 3] {
    let ca = (a.x + a.w / 2.0, a.y + a.h / 2.0);
    let cb = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    let (dx, dy) = (cb.0 - ca.0, cb.1 - ca.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let n = (dy / len, -dx / len);
    let bend = 0.18 * len;
    let c = (
        (ca.0 + cb.0) / 2.0 + n.0 * bend,
        (ca.1 + cb.1) / 2.0 + n.1 * bend,
    );
    [exit(ca, a, c), c, exit(cb, b, c)]
}

/// Where the ray from `centre` (of box `r`) towards `to` leaves the box.
fn exit(centre: (f64, f64), r: &Boxed, to: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (to.0 - centre.0, to.1 - centre.1);
    let tx = if dx.abs() > 1e-9 {
        (r.w / 2.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > 1e-9 {
        (r.h / 2.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty).min(1.0);
    (centre.0 + dx * t, centre.1 + dy * t)
}

/// The point at `t` of a quadratic curve.
fn at(c: &[(f64, f64); 3], t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    (
        u * u * c[0].0 + 2.0 * u * t * c[1].0 + t * t * c[2].0,
        u * u * c[0].1 + 2.0 * u * t * c[1].1 + t * t * c[2].1,
    )
}

/// A link's stroke width in screen pixels: grows with the log of its pod pairs.
fn width(l: &Link) -> f64 {
    let pairs = (l.tally.allowed + l.tally.open + l.tally.denied) as f64;
    (0.8 + 0.9 * (pairs + 1.0).log10()).min(5.0)
}

/// The selected areas (a namespace, both ends of a namespace pair, the namespace of a
/// selected node or both of a selected pair's) and, for a pair, the link it stands on.
fn selected_areas(
    o: &Overview,
    selection: Option<&Selection>,
    nodes: (Option<&str>, Option<&str>),
) -> (Vec<usize>, Option<(usize, usize)>) {
    let (from, to) = match selection {
        Some(Selection::Namespace(k)) => (o.area(k), None),
        Some(Selection::Namespaces { from, to }) => (o.area(from), o.area(to)),
        Some(_) => (
            nodes.0.and_then(|k| o.area(k)),
            nodes.1.and_then(|k| o.area(k)),
        ),
        None => (None, None),
    };
    match (from, to) {
        (Some(a), Some(b)) if a != b => (vec![a, b], Some((a, b))),
        (Some(a), _) | (None, Some(a)) => (vec![a], None),
        (None, None) => (Vec::new(), None),
    }
}

/// What one overview drawing needs.
pub struct Frame<'a> {
    pub overview: &'a Overview,
    pub layout: &'a Layout,
    /// Screen pixels per layout unit.
    pub a: f64,
    /// The visible part of the layout (x0, y0, x1, y1).
    pub visible: (f64, f64, f64, f64),
    pub colours: Colours<'a>,
    pub selection: Option<&'a Selection>,
    /// The area keys of a selected node's namespace, or of a selected pair's two.
    pub node_areas: (Option<&'a str>, Option<&'a str>),
    /// Whether denied and open links are shown.
    pub denied: bool,
}

/// Draws the overview (the canvas transform maps layout units already).
pub fn draw(g: &CanvasRenderingContext2d, f: &Frame) {
    let o = f.overview;
    let boxes = boxes(o, f.layout);
    let (selected, pair) = selected_areas(o, f.selection, f.node_areas);
    // Areas at the other end of a selected link stay bright; the rest fade.
    let mut related = vec![selected.is_empty(); o.areas.len()];
    for &i in &selected {
        related[i] = true;
    }
    for l in &o.links {
        if focused(l, &selected, pair) {
            related[l.from] = true;
            related[l.to] = true;
        }
    }
    // Links under the (slightly see-through) tiles, so names stay readable; the
    // selection's links on top.
    draw_links(g, f, &boxes, &selected, pair, false);
    draw_tiles(g, f, &boxes, &selected, &related);
    draw_links(g, f, &boxes, &selected, pair, true);
    draw_titles(g, f, &boxes, &related);
    draw_counts(g, f, &boxes, &selected, pair);
}

fn seen(v: (f64, f64, f64, f64), b: &Boxed) -> bool {
    !(b.x > v.2 || b.x + b.w < v.0 || b.y > v.3 || b.y + b.h < v.1)
}

fn draw_tiles(
    g: &CanvasRenderingContext2d,
    f: &Frame,
    boxes: &[Option<&Boxed>],
    selected: &[usize],
    related: &[bool],
) {
    let c = &f.colours;
    let px = 1.0 / f.a;
    for (i, b) in boxes.iter().enumerate() {
        let Some(b) = b.filter(|b| seen(f.visible, b)) else {
            continue;
        };
        g.set_global_alpha(if related[i] { 0.85 } else { 0.6 });
        g.set_fill_style_str(c.tile);
        g.fill_rect(b.x, b.y, b.w, b.h);
        g.set_global_alpha(if related[i] { 1.0 } else { 0.4 });
        let on = selected.contains(&i);
        g.set_stroke_style_str(if on { c.focus } else { c.tile_stroke });
        g.set_line_width(if on { 3.0 * px } else { px });
        g.stroke_rect(b.x, b.y, b.w, b.h);
    }
    g.set_global_alpha(1.0);
}

fn draw_links(
    g: &CanvasRenderingContext2d,
    f: &Frame,
    boxes: &[Option<&Boxed>],
    selected: &[usize],
    pair: Option<(usize, usize)>,
    on_top: bool,
) {
    let o = f.overview;
    let c = &f.colours;
    let px = 1.0 / f.a;
    let idle = o.links.len().min(IDLE_LINKS);
    let density = (9.0 / (idle.max(1) as f64).sqrt()).clamp(0.3, 0.85);
    // Lightest first, so the busiest lie on top; with a selection, only its links (and
    // the busiest, faint, for context).
    for (k, l) in o.links.iter().enumerate().rev() {
        if !drawn(k, l, selected) {
            continue;
        }
        let (Some(a), Some(b)) = (boxes[l.from], boxes[l.to]) else {
            continue;
        };
        let cv = curve(a, b);
        let (x0, x1) = (
            cv.iter().map(|p| p.0).fold(f64::MAX, f64::min),
            cv.iter().map(|p| p.0).fold(f64::MIN, f64::max),
        );
        let (y0, y1) = (
            cv.iter().map(|p| p.1).fold(f64::MAX, f64::min),
            cv.iter().map(|p| p.1).fold(f64::MIN, f64::max),
        );
        let v = f.visible;
        if x1 < v.0 || x0 > v.2 || y1 < v.1 || y0 > v.3 {
            continue;
        }
        let focused = focused(l, selected, pair);
        if focused != on_top {
            continue;
        }
        let alpha = if focused {
            0.9
        } else if selected.is_empty() {
            density
        } else {
            0.07
        };
        let colour = if l.tally.allowed > 0 {
            c.allowed
        } else if f.denied && l.tally.denied > 0 && l.tally.open == 0 {
            c.denied
        } else {
            c.open
        };
        let w = width(l) + if focused && pair.is_some() { 2.0 } else { 0.0 };
        g.set_global_alpha(alpha);
        g.set_stroke_style_str(colour);
        g.set_fill_style_str(colour);
        g.set_line_width(w * px);
        g.begin_path();
        g.move_to(cv[0].0, cv[0].1);
        g.quadratic_curve_to(cv[1].0, cv[1].1, cv[2].0, cv[2].1);
        g.stroke();
        arrowhead(g, &cv, (w * 1.3 + 4.0) * px);
    }
    g.set_global_alpha(1.0);
}

/// A filled arrowhead at the end of a curve, pointing along its last tangent.
fn arrowhead(g: &CanvasRenderingContext2d, cv: &[(f64, f64); 3], size: f64) {
    let (tip, from) = (cv[2], cv[1]);
    let (dx, dy) = (tip.0 - from.0, tip.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    g.begin_path();
    g.move_to(tip.0, tip.1);
    g.line_to(
        tip.0 - ux * size - uy * size * 0.5,
        tip.1 - uy * size + ux * size * 0.5,
    );
    g.line_to(
        tip.0 - ux * size + uy * size * 0.5,
        tip.1 - uy * size - ux * size * 0.5,
    );
    g.close_path();
    g.fill();
}

/// Names (and, where the tile is big enough on screen, pod counts) on top of the links.
fn draw_titles(
    g: &CanvasRenderingContext2d,
    f: &Frame,
    boxes: &[Option<&Boxed>],
    related: &[bool],
) {
    let c = &f.colours;
    let px = 1.0 / f.a;
    g.set_line_width(4.0 * px);
    g.set_stroke_style_str(c.background);
    g.set_line_join("round");
    for (i, (area, b)) in f.overview.areas.iter().zip(boxes).enumerate() {
        let Some(b) = b.filter(|b| seen(f.visible, b)) else {
            continue;
        };
        if b.w * f.a < 18.0 {
            continue;
        }
        g.set_global_alpha(if related[i] { 1.0 } else { 0.5 });
        let inset = if b.w * f.a < 60.0 { 2.5 } else { 5.0 } * px;
        let max = b.w - 2.0 * inset;
        let name = area.namespace.as_deref().unwrap_or("outside the cluster");
        let name = fit(g, name, max, px);
        g.set_fill_style_str(c.text);
        let (x, y) = (b.x + inset, b.y + 16.0 * px);
        let _ = g.stroke_text_with_max_width(&name, x, y, max);
        let _ = g.fill_text_with_max_width(&name, x, y, max);
        if b.h * f.a >= 44.0 && b.w * f.a >= 64.0 {
            let words = if area.namespace.is_some() && area.isolated > 0 {
                format!(
                    "{} pods · {} isolated",
                    thousands(area.pods as usize),
                    thousands(area.isolated as usize)
                )
            } else if area.namespace.is_some() {
                format!("{} pods · none isolated", thousands(area.pods as usize))
            } else {
                format!("{} addresses", thousands(area.pods as usize))
            };
            g.set_font(&format!("{:.3}px system-ui, sans-serif", 11.0 * px));
            g.set_fill_style_str(c.muted);
            let y = y + 14.0 * px;
            let _ = g.stroke_text_with_max_width(&words, x, y, max);
            let _ = g.fill_text_with_max_width(&words, x, y, max);
        }
    }
    g.set_global_alpha(1.0);
}

/// `name` in a font that fits `max` (13 px, else down to 8 px), cut with an ellipsis if even
/// that is too wide; sets the font. Widths are estimated from the character count (bold
/// sans-serif letters and digits average about 0.62 em): `measureText` per tile cost more
/// than the rest of the overview's first frame, and drawing with a maximum width absorbs
/// what the estimate misses.
fn fit(g: &CanvasRenderingContext2d, name: &str, max: f64, px: f64) -> String {
    let chars = name.chars().count() as f64;
    let width = |size: f64, n: f64| n * 0.62 * size * px;
    let size = [13.0, 10.5, 9.0, 8.0]
        .into_iter()
        .find(|s| width(*s, chars) <= max)
        .unwrap_or(8.0);
    g.set_font(&format!("700 {:.3}px system-ui, sans-serif", size * px));
    if width(size, chars) <= max {
        return name.to_string();
    }
    // Cut to fit, but never to fewer than three characters and an ellipsis ("n…" names
    // nothing; the tooltip and the list have the name).
    let keep = ((max / (0.62 * size * px)) as usize).saturating_sub(1);
    if keep < 3 {
        return String::new();
    }
    name.chars().take(keep).chain(['…']).collect()
}

/// The pod pairs of the links of the selection, at their middles.
fn draw_counts(
    g: &CanvasRenderingContext2d,
    f: &Frame,
    boxes: &[Option<&Boxed>],
    selected: &[usize],
    pair: Option<(usize, usize)>,
) {
    if selected.is_empty() && f.overview.links.len() > 24 {
        return;
    }
    let c = &f.colours;
    let px = 1.0 / f.a;
    g.set_font(&format!("650 {:.3}px system-ui, sans-serif", 11.0 * px));
    g.set_text_align("center");
    g.set_line_width(3.5 * px);
    g.set_stroke_style_str(c.background);
    let mut drawn = 0;
    for l in &f.overview.links {
        let wanted = selected.is_empty() || focused(l, selected, pair);
        let (Some(a), Some(b)) = (boxes[l.from], boxes[l.to]) else {
            continue;
        };
        if !wanted || drawn >= 40 {
            continue;
        }
        drawn += 1;
        let m = at(&curve(a, b), 0.5);
        // What the link is drawn for: its policy-allowed pairs, else the open or denied
        // ones the view asked for.
        let shown = if l.tally.allowed > 0 {
            l.tally.allowed
        } else {
            l.tally.open + if f.denied { l.tally.denied } else { 0 }
        };
        let words = thousands(shown as usize);
        g.set_fill_style_str(c.text);
        let _ = g.stroke_text(&words, m.0, m.1 + 4.0 * px);
        let _ = g.fill_text(&words, m.0, m.1 + 4.0 * px);
    }
    g.set_text_align("start");
}

/// What is under layout point `u` in the overview.
pub enum Hit {
    /// An area (index into the overview's areas).
    Area(usize),
    /// A link (index into the overview's links).
    Link(usize),
}

/// The link within a few screen pixels of `u` (the busiest of equally near ones), else the
/// area whose tile holds it.
pub fn hit(
    o: &Overview,
    layout: &Layout,
    a: f64,
    u: (f64, f64),
    selection: Option<&Selection>,
    nodes: (Option<&str>, Option<&str>),
) -> Option<Hit> {
    let boxes = boxes(o, layout);
    let (selected, _) = selected_areas(o, selection, nodes);
    let mut best: Option<(f64, usize)> = None;
    for (k, l) in o.links.iter().enumerate() {
        if !drawn(k, l, &selected) {
            continue;
        }
        let (Some(fa), Some(fb)) = (boxes[l.from], boxes[l.to]) else {
            continue;
        };
        let cv = curve(fa, fb);
        let reach = (width(l) / 2.0 + 4.0) / a;
        let d = distance(&cv, u);
        if d <= reach && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, k));
        }
    }
    if let Some((_, k)) = best {
        return Some(Hit::Link(k));
    }
    boxes
        .iter()
        .position(|b| {
            b.is_some_and(|b| u.0 >= b.x && u.0 <= b.x + b.w && u.1 >= b.y && u.1 <= b.y + b.h)
        })
        .map(Hit::Area)
}

/// Distance from `p` to a quadratic curve (through 24 chords).
fn distance(cv: &[(f64, f64); 3], p: (f64, f64)) -> f64 {
    let mut best = f64::MAX;
    let mut prev = cv[0];
    for k in 1..=24 {
        let next = at(cv, k as f64 / 24.0);
        best = best.min(segment_distance(prev, next, p));
        prev = next;
    }
    best
}

fn segment_distance(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - x).powi(2) + (p.1 - y).powi(2)).sqrt()
}

/// The selection a hit makes.
pub fn select(o: &Overview, hit: &Hit) -> Selection {
    match *hit {
        Hit::Area(i) => Selection::Namespace(o.areas[i].key().to_string()),
        Hit::Link(k) => {
            let l = &o.links[k];
            Selection::Namespaces {
                from: o.areas[l.from].key().to_string(),
                to: o.areas[l.to].key().to_string(),
            }
        }
    }
}

/// A hit's tooltip lines.
pub fn tip(o: &Overview, hit: &Hit, denied: bool) -> Vec<String> {
    use crate::components::namespace_info::area_title;
    match *hit {
        Hit::Area(i) => {
            let a = &o.areas[i];
            let outs = o.links.iter().filter(|l| l.from == i).count();
            let ins = o.links.iter().filter(|l| l.to == i).count();
            let mut lines = vec![area_title(a.key())];
            if a.namespace.is_some() {
                lines.push(format!(
                    "{} pods · ingress isolated: {} · egress isolated: {}",
                    thousands(a.pods as usize),
                    thousands(a.isolated_ingress as usize),
                    thousands(a.isolated_egress as usize)
                ));
            }
            lines.push(format!(
                "by policy: sends to {outs} namespaces, receives from {ins}; {} inside",
                overview::pairs(a.inside.allowed)
            ));
            lines.push("click for details · double-click to zoom in".into());
            lines
        }
        Hit::Link(k) => {
            let l = &o.links[k];
            let mut lines = vec![format!(
                "{} → {}",
                overview::key(o.areas[l.from].namespace.as_deref()),
                overview::key(o.areas[l.to].namespace.as_deref())
            )];
            lines.push(format!(
                "{} allowed by policy, in {} connection{}",
                overview::pairs(l.tally.allowed),
                thousands(l.tally.connections),
                if l.tally.connections == 1 { "" } else { "s" }
            ));
            if denied && l.tally.denied > 0 {
                lines.push(format!("{} denied", overview::pairs(l.tally.denied)));
            }
            lines.push("click for its connections".into());
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(x: f64, y: f64) -> Boxed {
        Boxed {
            namespace: None,
            x,
            y,
            w: 100.0,
            h: 50.0,
            cols: 1,
            rows: 1,
            band: 0,
        }
    }

    #[test]
    fn curves_leave_and_reach_the_borders_and_both_directions_separate() {
        let (a, b) = (boxed(0.0, 0.0), boxed(300.0, 0.0));
        let there = curve(&a, &b);
        let back = curve(&b, &a);
        // Start on a's border, end on b's.
        let on_border = |p: (f64, f64), r: &Boxed| {
            let inside = p.0 >= r.x - 1e-6
                && p.0 <= r.x + r.w + 1e-6
                && p.1 >= r.y - 1e-6
                && p.1 <= r.y + r.h + 1e-6;
            let edge = [p.0 - r.x, r.x + r.w - p.0, p.1 - r.y, r.y + r.h - p.1]
                .iter()
                .any(|d| d.abs() < 1e-6);
            inside && edge
        };
        assert!(on_border(there[0], &a), "{:?}", there[0]);
        assert!(on_border(there[2], &b), "{:?}", there[2]);
        // The two directions bend to opposite sides.
        let (m1, m2) = (at(&there, 0.5), at(&back, 0.5));
        assert!((m1.1 - 25.0) * (m2.1 - 25.0) < 0.0, "{m1:?} {m2:?}");
        // A point on the curve is at distance zero.
        assert!(distance(&there, m1) < 1e-6);
        assert!(distance(&there, (m1.0, m1.1 + 30.0)) > 20.0);
    }
}
