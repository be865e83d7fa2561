//! Hashing for the engine's interning tables.

/// A fast, deterministic, non-cryptographic hasher (the Fx hash of rustc/Firefox) for the
/// engine's interning tables: keys are our own data, so HashDoS does not apply, and
/// SipHash was a measurable share of compile time.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        for byte in chunks.remainder() {
            self.write_u64(*byte as u64);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(word as u64);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A `HashMap` with [`FxHasher`].
pub(super) type HashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// Marks "none" in the engine's `u32` tables: not isolated (group), an empty slot.
pub(super) const NONE: u32 = u32::MAX;

/// Interned one-word masks: a small open-addressing table. [`super::Engine::connectivity`]
/// looks up one mask per cell (millions), and a general hash map was a large share of its
/// time.
#[derive(Default)]
pub(super) struct WordIndex {
    /// `(mask, id)` per slot; `id == NONE` marks an empty slot. Length: a power of two.
    slots: Vec<(u64, u32)>,
    len: usize,
}

impl WordIndex {
    fn slot(&self, word: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (word.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask;
        while self.slots[i].1 != NONE && self.slots[i].0 != word {
            i = (i + 1) & mask;
        }
        i
    }

    /// The id of `word`, made by `make` the first time.
    // Out of line: the connectivity loop calls it only when a mask differs from the
    // previous cell's, and inlining it there cost more than the call (measured).
    #[inline(never)]
    pub(super) fn get_or_insert(&mut self, word: u64, make: impl FnOnce() -> u32) -> u32 {
        // At most half full, so probing always ends at the word or an empty slot.
        if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(64);
            let old = std::mem::replace(&mut self.slots, vec![(0, NONE); size]);
            for (w, id) in old.into_iter().filter(|(_, id)| *id != NONE) {
                let i = self.slot(w);
                self.slots[i] = (w, id);
            }
        }
        let i = self.slot(word);
        if self.slots[i].1 == NONE {
            self.slots[i] = (word, make());
            self.len += 1;
        }
        self.slots[i].1
    }
}

/// The id of `key` in `index`, adding it to `items` (via `make`) the first time: the
/// interning step every table of the engine uses.
pub(super) fn intern<K: std::hash::Hash + Eq, T>(
    index: &mut HashMap<K, usize>,
    items: &mut Vec<T>,
    key: K,
    make: impl FnOnce() -> T,
) -> usize {
    let next = items.len();
    let id = *index.entry(key).or_insert(next);
    if id == next {
        items.push(make());
    }
    id
}
