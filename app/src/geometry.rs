//! Where an edge starts and ends: on the border of the node boxes, not their centres, so
//! arrowheads stay visible.

use crate::layout::{NODE_H, NODE_W};

/// Clips the segment between two node centres to the node rectangles (plus a small gap).
pub fn edge_line(a: (f64, f64), b: (f64, f64)) -> (f64, f64, f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return (a.0, a.1, b.0, b.1);
    }
    // Fraction of the segment inside one rectangle, measured from its centre.
    let t = |w: f64, h: f64| {
        let tx = if dx.abs() > f64::EPSILON {
            (w / 2.0) / dx.abs()
        } else {
            f64::INFINITY
        };
        let ty = if dy.abs() > f64::EPSILON {
            (h / 2.0) / dy.abs()
        } else {
            f64::INFINITY
        };
        tx.min(ty) + 4.0 / len
    };
    let t0 = t(NODE_W, NODE_H).min(0.45);
    let t1 = t(NODE_W, NODE_H).min(0.45);
    (a.0 + dx * t0, a.1 + dy * t0, b.0 - dx * t1, b.1 - dy * t1)
}

/// A gently curved edge: the clipped line plus a control point bent to the left of the
/// direction of travel, so `a -> b` and `b -> a` never overlap and long edges arc around
/// nodes lying on the straight line. Returns `(x1, y1, cx, cy, x2, y2)`.
pub fn edge_curve(a: (f64, f64), b: (f64, f64)) -> (f64, f64, f64, f64, f64, f64) {
    let (x1, y1, x2, y2) = edge_line(a, b);
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let bend = (len * 0.12).clamp(8.0, 42.0);
    let (nx, ny) = (dy / len, -dx / len);
    (
        x1,
        y1,
        (x1 + x2) / 2.0 + nx * bend,
        (y1 + y2) / 2.0 + ny * bend,
        x2,
        y2,
    )
}

/// SVG path data for [`edge_curve`], and the curve's midpoint (for its label).
pub fn edge_path(a: (f64, f64), b: (f64, f64)) -> (String, (f64, f64)) {
    let (x1, y1, cx, cy, x2, y2) = edge_curve(a, b);
    let mid = (
        0.25 * x1 + 0.5 * cx + 0.25 * x2,
        0.25 * y1 + 0.5 * cy + 0.25 * y2,
    );
    (
        format!("M{x1:.1},{y1:.1} Q{cx:.1},{cy:.1} {x2:.1},{y2:.1}"),
        mid,
    )
}

/// Offsets a line sideways by `by` (so a->b and b->a do not overlap).
pub fn offset(line: (f64, f64, f64, f64), by: f64) -> (f64, f64, f64, f64) {
    let (x1, y1, x2, y2) = line;
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (nx, ny) = (-dy / len * by, dx / len * by);
    (x1 + nx, y1 + ny, x2 + nx, y2 + ny)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_to_borders() {
        let (x1, _, x2, _) = edge_line((0.0, 0.0), (400.0, 0.0));
        assert!((NODE_W / 2.0..NODE_W / 2.0 + 10.0).contains(&x1));
        assert!(x2 <= 400.0 - NODE_W / 2.0 && x2 > 400.0 - NODE_W / 2.0 - 10.0);
        // degenerate input does not produce NaN
        let l = edge_line((5.0, 5.0), (5.0, 5.0));
        assert!(l.0.is_finite() && l.3.is_finite());
        // opposite directions bend to opposite sides
        let ab = edge_curve((0.0, 0.0), (400.0, 0.0));
        let ba = edge_curve((400.0, 0.0), (0.0, 0.0));
        assert!(ab.3 * ba.3 < 0.0);
        let (d, mid) = edge_path((0.0, 0.0), (400.0, 0.0));
        assert!(d.starts_with('M') && d.contains(" Q"));
        assert!(mid.0 > 150.0 && mid.0 < 250.0);
        let o = offset((0.0, 0.0, 10.0, 0.0), 3.0);
        assert_eq!((o.1, o.3), (3.0, 3.0));
    }
}
