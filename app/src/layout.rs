//! Deterministic layout: namespace boxes in a grid (sorted by name), nodes in a grid inside
//! their box (in node order, which is sorted by id), outside addresses in a box of their own
//! at the end. Positions are a pure function of the namespaces and their node counts, so
//! editing a label never moves anything; adding a pod only reflows its own row of boxes.

/// Size of one node cell.
pub const CELL_W: f64 = 168.0;
/// Height of one node cell.
pub const CELL_H: f64 = 84.0;
/// Node width as drawn.
pub const NODE_W: f64 = 136.0;
/// Node height as drawn.
pub const NODE_H: f64 = 40.0;
/// Inner padding of a box.
pub const PAD: f64 = 16.0;
/// Height of a box's title band.
pub const HEADER: f64 = 30.0;
/// Space between boxes (the corridors edges run in).
pub const GAP: f64 = 48.0;

use serde::{Deserialize, Serialize};

/// A namespace (or the outside-addresses) box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boxed {
    /// Namespace name, or `None` for outside addresses.
    pub namespace: Option<String>,
    /// Top-left x.
    pub x: f64,
    /// Top-left y.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Columns of its node grid.
    #[serde(default)]
    pub cols: usize,
    /// Rows of its node grid.
    #[serde(default)]
    pub rows: usize,
    /// Index of its row of boxes (boxes of one row share their top).
    #[serde(default)]
    pub band: usize,
}

/// Where a node sits: its box and its cell in the box's grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Index into [`Layout::boxes`].
    pub boxed: usize,
    /// Column in the box's grid.
    pub col: usize,
    /// Row in the box's grid.
    pub row: usize,
}

/// Positions (node centres, by node index) and boxes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Centre of each node, in input order.
    pub positions: Vec<(f64, f64)>,
    /// Box and grid cell of each node, in input order.
    #[serde(default)]
    pub slots: Vec<Slot>,
    /// Per row of boxes: its top and its height (the tallest box in it).
    #[serde(default)]
    pub bands: Vec<(f64, f64)>,
    /// Boxes, namespaces first (sorted), outside addresses last.
    pub boxes: Vec<Boxed>,
    /// Total width.
    pub width: f64,
    /// Total height.
    pub height: f64,
}

/// Lays out nodes given by their box key (`Some(namespace)` or `None` for outside).
pub fn layout(keys: &[Option<&str>]) -> Layout {
    // Box key -> node indices, in node order.
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    let mut sorted: Vec<(Option<&str>, usize)> = keys.iter().copied().zip(0..).collect();
    // Namespaces sorted by name, outside (None) last; stable within a box.
    sorted.sort_by(|(a, ia), (b, ib)| match (a, b) {
        (None, None) => ia.cmp(ib),
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y).then(ia.cmp(ib)),
    });
    for (key, i) in sorted {
        match groups.last_mut() {
            Some((k, v)) if *k == key => v.push(i),
            _ => groups.push((key, vec![i])),
        }
    }

    let mut out = Layout {
        positions: vec![(0.0, 0.0); keys.len()],
        slots: vec![Slot::default(); keys.len()],
        ..Layout::default()
    };
    // The view is wider than tall: about twice as many boxes per row as rows.
    let per_row = (groups.len() as f64 * 2.0).sqrt().ceil().max(1.0) as usize;
    let (mut x, mut y, mut row_h) = (0.0f64, 0.0f64, 0.0f64);
    for (n, (key, members)) in groups.iter().enumerate() {
        if n > 0 && n % per_row == 0 {
            out.bands.push((y, row_h));
            x = 0.0;
            y += row_h + GAP;
            row_h = 0.0;
        }
        let cols = ((members.len() as f64).sqrt().ceil() as usize).clamp(1, 6);
        let rows = members.len().div_ceil(cols);
        let w = cols as f64 * CELL_W + 2.0 * PAD;
        let h = rows as f64 * CELL_H + 2.0 * PAD + HEADER;
        for (k, &i) in members.iter().enumerate() {
            let cx = x + PAD + (k % cols) as f64 * CELL_W + CELL_W / 2.0;
            let cy = y + HEADER + PAD + (k / cols) as f64 * CELL_H + CELL_H / 2.0;
            out.positions[i] = (cx, cy);
            out.slots[i] = Slot {
                boxed: out.boxes.len(),
                col: k % cols,
                row: k / cols,
            };
        }
        out.boxes.push(Boxed {
            namespace: key.map(str::to_string),
            x,
            y,
            w,
            h,
            cols,
            rows,
            band: out.bands.len(),
        });
        out.width = out.width.max(x + w);
        out.height = out.height.max(y + h);
        row_h = row_h.max(h);
        x += w + GAP;
    }
    if !groups.is_empty() {
        out.bands.push((y, row_h));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_sorted_and_outside_last() {
        let l = layout(&[Some("b"), Some("a"), None, Some("b")]);
        let names: Vec<Option<String>> = l.boxes.iter().map(|b| b.namespace.clone()).collect();
        assert_eq!(names, vec![Some("a".into()), Some("b".into()), None]);
        // every node inside its box
        for (i, key) in [Some("b"), Some("a"), None, Some("b")].iter().enumerate() {
            let b = l
                .boxes
                .iter()
                .find(|b| b.namespace.as_deref() == *key)
                .unwrap();
            let (x, y) = l.positions[i];
            assert!(x > b.x && x < b.x + b.w && y > b.y && y < b.y + b.h);
        }
    }

    #[test]
    fn positions_depend_only_on_keys() {
        let a = layout(&[Some("ns"), Some("ns"), Some("other")]);
        let b = layout(&[Some("ns"), Some("ns"), Some("other")]);
        assert_eq!(a, b);
        // no two nodes share a position
        let l = layout(&vec![Some("x"); 40]);
        let mut p: Vec<(i64, i64)> = l
            .positions
            .iter()
            .map(|(x, y)| (*x as i64, *y as i64))
            .collect();
        p.sort_unstable();
        p.dedup();
        assert_eq!(p.len(), 40);
    }

    #[test]
    fn empty_is_empty() {
        assert_eq!(layout(&[]), Layout::default());
    }
}
