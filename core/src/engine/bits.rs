//! Bitsets over columns, and the tiled transpose of cell tables.

/// A fixed-size bitset over `u64` words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    pub(super) fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }

    pub(super) fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub(super) fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    pub(super) fn and(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    pub(super) fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, w)| {
            let mut w = *w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + bit)
            })
        })
    }
}

/// Sets bit `k` of a multi-word mask.
pub(super) fn set_bit(mask: &mut [u64], k: usize) {
    mask[k / 64] |= 1 << (k % 64);
}

/// Whether bit `k` of a multi-word mask is set.
pub(super) fn has_bit(mask: &[u64], k: usize) -> bool {
    mask.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1)
}

/// ORs `from` into `into`, word by word.
pub(super) fn or_into(into: &mut [u64], from: &[u64]) {
    for (m, e) in into.iter_mut().zip(from) {
        *m |= e;
    }
}

/// `[row][column][word]` to `[column][row][word]`, in tiles so both sides stay in cache.
pub(super) fn transpose<T: Copy + Default>(
    cells: &[T],
    rows: usize,
    columns: usize,
    words: usize,
) -> Vec<T> {
    const TILE: usize = 32;
    let mut out = vec![T::default(); cells.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..columns).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                if words == 1 {
                    for c in c0..(c0 + TILE).min(columns) {
                        out[c * rows + r] = cells[r * columns + c];
                    }
                    continue;
                }
                for c in c0..(c0 + TILE).min(columns) {
                    let from = (r * columns + c) * words;
                    let to = (c * rows + r) * words;
                    out[to..to + words].copy_from_slice(&cells[from..from + words]);
                }
            }
        }
    }
    out
}
