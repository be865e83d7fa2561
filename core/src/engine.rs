//! The bitset engine: whole matrices and connectivity, compiled once per [`Model`].
//!
//! Why it is fast: real clusters have thousands of pods but far fewer *kinds* of pods. The
//! engine works on classes and never on pods × pods × ports:
//!
//! 1. **Address classes.** The boundaries of every `ipBlock` (`cidr` and `except`) cut each
//!    address family into intervals; intervals contained in the same set of blocks form one
//!    class. An outside address, and a pod's IPs, are looked up by binary search.
//! 2. **Pod classes.** Pods are grouped by namespace, by which of the selectors that can
//!    concern their namespace match them, by the address classes of their IPs and by how they
//!    resolve the port names the policies mention. Pods of one class are indistinguishable to
//!    every rule.
//! 3. **Port classes.** Per protocol, the numbers and ranges the rules mention (and the
//!    numbers that named ports resolve to) cut `0..=65535` into atoms; atoms covered by the
//!    same entries form one class. A resolved named-port number is always its own class.
//! 4. **Peer types.** Per direction, columns (pod classes, then address classes) that every
//!    rule's peer set treats alike form one peer type, found by refining a partition with
//!    each distinct peer set (cost: the sizes of the sets).
//! 5. **Cells.** Classes isolated by the same policies form a group (ingress groups also
//!    split by named-port resolution, since named ports resolve at the destination). For
//!    each group and peer type, a word-parallel `u64` mask of the port classes the group's
//!    rules admit. Rules for every peer go into a shared base mask; policies touching many
//!    peer types are computed once and ORed in as whole words.
//! 6. **Pairs.** The allowed port classes from `s` to `d` are
//!    `egress[group(s)][type(d)] & ingress[group(d)][type(s)]` (all ones when a side is not
//!    isolated). [`Engine::connectivity`] does this once per (source kind, destination kind),
//!    reading two contiguous rows, and interns identical results.
//!
//! Semantics follow [`crate::eval`] exactly (including its documented choices: an ipBlock
//! matches a pod when any of its IPs does; unknown pod indices are denied); property tests
//! compare both with a test-only reference evaluator.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::model::{
    ContainerPort, Endpoint, IpBlock, LabelSelector, Model, NetworkPolicyPeer, NetworkPolicyPort,
    PolicyType, PortRef, Protocol,
};
use crate::ports::{AllowedPorts, PortSet};

/// A fast, deterministic, non-cryptographic hasher (the Fx hash of rustc/Firefox) for the
/// engine's interning tables: keys are our own data, so HashDoS does not apply, and
/// SipHash was a measurable share of compile time.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher(u64);

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
type HashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// Marks "not isolated" in the per-class group tables.
const NONE: u32 = u32::MAX;

/// Policies compiled against one cluster, ready to answer many questions fast.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Number of pods in the cluster.
    pods: usize,
    /// Pod class of each pod.
    pod_class: Vec<u32>,
    /// Pods of each class, in index order.
    class_pods: Vec<Vec<u32>>,
    /// Container ports per pod, to resolve names nobody's policy mentions (matrix probes).
    pod_ports: Vec<Vec<ContainerPort>>,
    /// Outside address space.
    addresses: AddressSpace,
    /// Port classes.
    ports: PortSpace,
    /// Words per port-class mask.
    words: usize,
    /// Egress peer type of each column (pod classes, then address classes).
    egress_type: Vec<u32>,
    /// Ingress peer type of each column.
    ingress_type: Vec<u32>,
    /// Number of egress peer types.
    egress_types: usize,
    /// Number of ingress peer types.
    ingress_types: usize,
    /// Egress group of each pod class, or [`NONE`].
    egress_group: Vec<u32>,
    /// Ingress group of each pod class, or [`NONE`].
    ingress_group: Vec<u32>,
    /// `[peer type][group][word]`: the port classes egress allows. Transposed, so that a
    /// destination's row over every source group is contiguous in [`Engine::connectivity`].
    egress_cells: Cells,
    /// Number of egress groups.
    egress_groups: usize,
    /// `[group][peer type][word]`: the port classes ingress allows.
    ingress_cells: Cells,
    /// Every port class: the mask of a side that is not isolated.
    all: Vec<u64>,
}

/// `allowed[src][dst]` for one probe (port/protocol), over [`crate::Cluster::pods`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Number of pods (rows and columns).
    pub size: usize,
    words: usize,
    bits: Vec<u64>,
}

impl Matrix {
    /// Whether pod `src` may open a connection to pod `dst`.
    pub fn allowed(&self, src: usize, dst: usize) -> bool {
        src < self.size
            && dst < self.size
            && self.bits[src * self.words + dst / 64] >> (dst % 64) & 1 == 1
    }
}

/// An outside address class: a region of the address space that every policy treats the
/// same way (from the ipBlocks the policies mention), with one representative address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressClass {
    /// Human label, e.g. `10.0.0.0/8 except 10.1.0.0/16`, or `any other address`.
    pub label: String,
    /// An address inside the class (not a pod IP), to ask questions with.
    pub representative: IpAddr,
}

/// Allowed ports for every ordered pair of pods, stored per pair of pod classes with
/// identical results shared: `ports(i, j) = results[pair(class(i), class(j))]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connectivity {
    pod_class: Vec<u32>,
    classes: usize,
    /// Source kind of each class.
    sources: Vec<u32>,
    /// Destination kind of each class.
    destinations: Vec<u32>,
    source_kinds: usize,
    /// `[destination kind][source kind]`: index into `results`.
    table: Vec<u32>,
    results: Vec<AllowedPorts>,
}

impl Connectivity {
    /// Number of pod classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The class of pod `pod`, if it exists. Pods of one class behave identically.
    pub fn pod_class(&self, pod: usize) -> Option<usize> {
        self.pod_class.get(pod).map(|c| *c as usize)
    }

    /// Index into [`Connectivity::results`] for a pair of classes.
    pub fn class_pair(&self, src: usize, dst: usize) -> Option<usize> {
        let (s, d) = (self.sources.get(src)?, self.destinations.get(dst)?);
        self.table
            .get(*d as usize * self.source_kinds + *s as usize)
            .map(|r| *r as usize)
    }

    /// The allowed ports for a pair of classes.
    pub fn class_pair_ports(&self, src: usize, dst: usize) -> Option<&AllowedPorts> {
        self.class_pair(src, dst).and_then(|r| self.results.get(r))
    }

    /// The allowed ports from pod `src` to pod `dst`.
    pub fn ports(&self, src: usize, dst: usize) -> Option<&AllowedPorts> {
        self.class_pair_ports(self.pod_class(src)?, self.pod_class(dst)?)
    }

    /// Source and destination kinds: classes that behave alike as a source (resp.
    /// destination) share a row (resp. column) of the table.
    pub fn kinds(&self) -> (usize, usize) {
        (
            self.source_kinds,
            self.table.len().checked_div(self.source_kinds).unwrap_or(0),
        )
    }

    /// The distinct results, in first-seen order.
    pub fn results(&self) -> &[AllowedPorts] {
        &self.results
    }
}

impl Engine {
    /// Compiles `model`'s policies against its cluster.
    pub fn new(model: &Model) -> Engine {
        Compiler::new(model).finish()
    }

    /// The truth table for one probe. A named port is resolved per destination pod; a pod
    /// without that name gets `false` in its column.
    pub fn matrix(&self, protocol: Protocol, port: &PortRef) -> Matrix {
        let size = self.pods;
        let words = size.div_ceil(64);
        let mut bits = vec![0u64; size * words];
        // Port class of the probe per destination pod (`None`: the pod lacks the name).
        let dst_port: Vec<Option<usize>> = (0..size)
            .map(|dst| {
                let number = match port {
                    PortRef::Number(n) => Some(*n),
                    PortRef::Name(name) => self.pod_ports[dst]
                        .iter()
                        .find(|p| p.protocol == protocol && p.name.as_deref() == Some(name))
                        .map(|p| p.port),
                };
                number.map(|n| self.ports.class_of(protocol, n))
            })
            .collect();
        let mut row = vec![0u64; words];
        let mut mask = vec![0u64; self.words];
        for (src_class, src_pods) in self.class_pods.iter().enumerate() {
            if src_pods.is_empty() {
                continue;
            }
            row.iter_mut().for_each(|w| *w = 0);
            for (dst, k) in dst_port.iter().enumerate() {
                let Some(k) = k else { continue };
                let dst_class = self.pod_class[dst] as usize;
                self.pair_mask(Side::Pod(src_class), Side::Pod(dst_class), &mut mask);
                if mask[k / 64] >> (k % 64) & 1 == 1 {
                    row[dst / 64] |= 1 << (dst % 64);
                }
            }
            for &src in src_pods {
                let start = src as usize * words;
                bits[start..start + words].copy_from_slice(&row);
            }
        }
        Matrix { size, words, bits }
    }

    /// Every allowed port per protocol from `src` to `dst` (pods or addresses). An unknown
    /// pod index gets nothing, as in [`crate::evaluate`].
    pub fn allowed_ports(&self, src: Endpoint, dst: Endpoint) -> AllowedPorts {
        let (Some(src), Some(dst)) = (self.side(src), self.side(dst)) else {
            return AllowedPorts::default();
        };
        let mut mask = vec![0u64; self.words];
        self.pair_mask(src, dst, &mut mask);
        self.ports.to_allowed(&mask)
    }

    /// The outside-address classes the policies distinguish, sorted, ending with
    /// "any other address" (v4 and, if any policy mentions v6, v6). A class whose every
    /// address is a pod IP is left out: it has no representative.
    pub fn address_classes(&self) -> Vec<AddressClass> {
        self.addresses.listed.clone()
    }

    /// Allowed ports for every ordered pair of pods, computed per pair of classes.
    ///
    /// As a source, a class is characterised by its egress group and its ingress peer type;
    /// as a destination, by its ingress group and its egress peer type. The table is over
    /// those (usually far fewer) kinds, and each cell is the AND of two interned masks.
    pub fn connectivity(&self) -> Connectivity {
        let classes = self.class_pods.len();
        let kinds = |key: &dyn Fn(usize) -> (u32, u32)| {
            let mut index: HashMap<(u32, u32), u32> = HashMap::default();
            let mut representative = Vec::new();
            let of: Vec<u32> = (0..classes)
                .map(|c| {
                    *index.entry(key(c)).or_insert_with(|| {
                        representative.push(c);
                        representative.len() as u32 - 1
                    })
                })
                .collect();
            (of, representative)
        };
        let (sources, source_rep) = kinds(&|c| (self.egress_group[c], self.ingress_type[c]));
        let (destinations, destination_rep) =
            kinds(&|c| (self.ingress_group[c], self.egress_type[c]));

        let mut results: Vec<AllowedPorts> = Vec::new();
        let mut table = Vec::with_capacity(source_rep.len() * destination_rep.len());
        // Per source kind: its egress group (`NONE`: not isolated) and its ingress peer
        // type. Destinations are the outer loop, so both rows read below are contiguous.
        let source_parts: Vec<(u32, usize)> = source_rep
            .iter()
            .map(|s| (self.egress_group[*s], self.ingress_type[*s] as usize))
            .collect();
        match (&self.egress_cells, &self.ingress_cells) {
            (Cells::Narrow(e), Cells::Narrow(i)) => self.one_word_table(
                e,
                i,
                self.all[0] as u32,
                &destination_rep,
                &source_parts,
                &mut table,
                &mut results,
            ),
            (Cells::Wide(e), Cells::Wide(i)) if self.words == 1 => self.one_word_table(
                e,
                i,
                self.all[0],
                &destination_rep,
                &source_parts,
                &mut table,
                &mut results,
            ),
            _ => {
                // Many words per mask: interned by the whole mask.
                let mut seen: HashMap<Box<[u64]>, u32> = HashMap::default();
                let mut mask = vec![0u64; self.words];
                for &d in &destination_rep {
                    // A kind's representative class stands for the whole kind.
                    for &s in &source_rep {
                        self.pair_mask(Side::Pod(s), Side::Pod(d), &mut mask);
                        let id = match seen.get(mask.as_slice()) {
                            Some(id) => *id,
                            None => {
                                let id = results.len() as u32;
                                results.push(self.ports.to_allowed(&mask));
                                seen.insert(mask.clone().into_boxed_slice(), id);
                                id
                            }
                        };
                        table.push(id);
                    }
                }
            }
        }
        Connectivity {
            pod_class: self.pod_class.clone(),
            classes,
            sources,
            destinations,
            source_kinds: source_rep.len(),
            table,
            results,
        }
    }

    /// The connectivity table when a mask is one word (`u32` or `u64` cells): per cell,
    /// one AND of two contiguous rows' entries and an interning lookup.
    #[allow(clippy::too_many_arguments)]
    fn one_word_table<T: Copy + Into<u64> + std::ops::BitAnd<Output = T>>(
        &self,
        egress_cells: &[T],
        ingress_cells: &[T],
        all: T,
        destination_rep: &[usize],
        source_parts: &[(u32, usize)],
        table: &mut Vec<u32>,
        results: &mut Vec<AllowedPorts>,
    ) {
        let mut seen = WordIndex::default();
        let mut last: Option<(u64, u32)> = None;
        for &d in destination_rep {
            let ingress_row = match self.ingress_group[d] {
                NONE => None,
                g => {
                    let at = g as usize * self.ingress_types;
                    ingress_cells.get(at..at + self.ingress_types)
                }
            };
            let at = self.egress_type[d] as usize * self.egress_groups;
            let egress_row = egress_cells.get(at..at + self.egress_groups).unwrap_or(&[]);
            for &(egress_group, ingress_type) in source_parts {
                let i = match ingress_row {
                    Some(row) => row.get(ingress_type).copied().unwrap_or(all),
                    None => all,
                };
                let e = match egress_group {
                    NONE => all,
                    g => egress_row.get(g as usize).copied().unwrap_or(all),
                };
                let word: u64 = (e & i).into();
                // Neighbouring cells usually agree: skip the lookup then.
                let id = match last {
                    Some((w, id)) if w == word => id,
                    _ => {
                        let id = seen.get_or_insert(word, || {
                            results.push(self.ports.to_allowed(&[word]));
                            results.len() as u32 - 1
                        });
                        last = Some((word, id));
                        id
                    }
                };
                table.push(id);
            }
        }
    }

    /// The sizes of the compiled form, one line (for benchmarks and tuning).
    pub fn describe(&self) -> String {
        let groups = |g: &[u32]| g.iter().filter(|x| **x != NONE).max().map_or(0, |m| m + 1);
        format!(
            "{} pod classes, {} address classes, {} port classes; egress: {} groups x {} peer types; ingress: {} groups x {} peer types",
            self.class_pods.len(),
            self.addresses.classes(),
            self.ports.classes(),
            groups(&self.egress_group),
            self.egress_types,
            groups(&self.ingress_group),
            self.ingress_types,
        )
    }

    /// Number of pod classes (for benchmarks and curiosity).
    pub fn pod_classes(&self) -> usize {
        self.class_pods.len()
    }

    fn side(&self, endpoint: Endpoint) -> Option<Side> {
        match endpoint {
            Endpoint::Pod(i) => self.pod_class.get(i).map(|c| Side::Pod(*c as usize)),
            Endpoint::Address(ip) => Some(Side::Address(self.addresses.class_of(ip))),
        }
    }

    fn column(&self, side: Side) -> usize {
        match side {
            Side::Pod(c) => c,
            Side::Address(a) => self.class_pods.len() + a,
        }
    }

    /// The port classes allowed from `src` to `dst`, into `out`: the egress cell AND the
    /// ingress cell (every class for a side that is not isolated).
    fn pair_mask(&self, src: Side, dst: Side, out: &mut [u64]) {
        out.copy_from_slice(&self.all);
        if let Side::Pod(s) = src {
            if let Some(g) = self.egress_group.get(s).filter(|g| **g != NONE) {
                let t = self.egress_type[self.column(dst)] as usize;
                self.egress_cells
                    .and_into(t * self.egress_groups + *g as usize, self.words, out);
            }
        }
        if let Side::Pod(d) = dst {
            if let Some(g) = self.ingress_group.get(d).filter(|g| **g != NONE) {
                let t = self.ingress_type[self.column(src)] as usize;
                self.ingress_cells
                    .and_into(*g as usize * self.ingress_types + t, self.words, out);
            }
        }
    }
}

/// Cell masks: one `u32` per cell when there are at most 32 port classes, else `words`
/// `u64`s per cell.
#[derive(Clone, Debug)]
enum Cells {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Cells {
    fn with_capacity(narrow: bool, words: usize) -> Cells {
        if narrow {
            Cells::Narrow(Vec::with_capacity(words))
        } else {
            Cells::Wide(Vec::with_capacity(words))
        }
    }

    /// Appends cells given as `u64` words (narrowed when narrow: the masks fit).
    fn extend(&mut self, row: &[u64]) {
        match self {
            Cells::Narrow(c) => c.extend(row.iter().map(|w| *w as u32)),
            Cells::Wide(c) => c.extend_from_slice(row),
        }
    }

    fn len(&self) -> usize {
        match self {
            Cells::Narrow(c) => c.len(),
            Cells::Wide(c) => c.len(),
        }
    }

    /// ANDs cell `index` into `out` (`words` words).
    fn and_into(&self, index: usize, words: usize, out: &mut [u64]) {
        match self {
            Cells::Narrow(c) => {
                let cell = c.get(index).map_or(0, |m| *m as u64);
                if let Some(o) = out.first_mut() {
                    *o &= cell;
                }
            }
            Cells::Wide(c) => {
                let cell = c.get(index * words..(index + 1) * words).unwrap_or(&[]);
                for (i, o) in out.iter_mut().enumerate() {
                    *o &= cell.get(i).copied().unwrap_or(0);
                }
            }
        }
    }
}

/// Interned one-word masks: a small open-addressing table. [`Engine::connectivity`] looks
/// up one mask per cell (millions), and a general hash map was a large share of its time.
#[derive(Default)]
struct WordIndex {
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

    fn get_or_insert(&mut self, word: u64, make: impl FnOnce() -> u32) -> u32 {
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

#[derive(Clone, Copy, Debug)]
enum Side {
    Pod(usize),
    Address(usize),
}

// ---------------------------------------------------------------------------------------
// Bitsets

/// A fixed-size bitset over `u64` words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    fn and(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
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

// ---------------------------------------------------------------------------------------
// Address space

/// Both address families cut at every ipBlock boundary.
#[derive(Clone, Debug, Default)]
struct AddressSpace {
    /// Interval starts per family (v4 first), sorted; `class[i]` covers `starts[i]..next`.
    v4_starts: Vec<u128>,
    v4_class: Vec<usize>,
    v6_starts: Vec<u128>,
    v6_class: Vec<usize>,
    /// Distinct blocks contained in each address class.
    class_blocks: Vec<Vec<usize>>,
    /// Classes for [`Engine::address_classes`].
    listed: Vec<AddressClass>,
}

fn bits_of(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    }
}

fn ip_of(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

fn block_label(block: &IpBlock) -> String {
    let mut s = block.cidr.to_string();
    if !block.except.is_empty() {
        s.push_str(" except ");
        let excepts: Vec<String> = block.except.iter().map(|e| e.to_string()).collect();
        s.push_str(&excepts.join(", "));
    }
    s
}

impl AddressSpace {
    fn new(blocks: &[IpBlock], pod_ips: &[IpAddr]) -> AddressSpace {
        let mut space = AddressSpace::default();
        let mut keys: HashMap<(bool, Vec<usize>), usize> = HashMap::default();
        // Intervals of each class, for representatives and labels.
        let mut class_intervals: Vec<Vec<(u128, u128)>> = Vec::new();
        let mut class_v6: Vec<bool> = Vec::new();
        for v6 in [false, true] {
            let max: u128 = if v6 { u128::MAX } else { u32::MAX as u128 };
            let mut cuts: Vec<u128> = vec![0];
            for block in blocks.iter().filter(|b| b.cidr.is_v6() == v6) {
                for cidr in std::iter::once(&block.cidr).chain(&block.except) {
                    let (first, last) = cidr.range();
                    cuts.push(first);
                    if last < max {
                        cuts.push(last + 1);
                    }
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            let mut starts = Vec::with_capacity(cuts.len());
            let mut class = Vec::with_capacity(cuts.len());
            for (i, &start) in cuts.iter().enumerate() {
                let end = cuts.get(i + 1).map_or(max, |next| next - 1);
                let probe = ip_of(start, v6);
                let inside: Vec<usize> = blocks
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.contains(probe))
                    .map(|(i, _)| i)
                    .collect();
                let next = keys.len();
                let id = *keys.entry((v6, inside.clone())).or_insert(next);
                if id == next {
                    space.class_blocks.push(inside);
                    class_intervals.push(Vec::new());
                    class_v6.push(v6);
                }
                class_intervals[id].push((start, end));
                starts.push(start);
                class.push(id);
            }
            if v6 {
                space.v6_starts = starts;
                space.v6_class = class;
            } else {
                space.v4_starts = starts;
                space.v4_class = class;
            }
        }

        let mut taken: Vec<(bool, u128)> = pod_ips
            .iter()
            .map(|ip| {
                let (b, v6) = bits_of(*ip);
                (v6, b)
            })
            .collect();
        taken.sort_unstable();
        taken.dedup();
        let mentions_v6 = blocks.iter().any(|b| b.cidr.is_v6());
        let mut listed: Vec<(bool, bool, String, IpAddr)> = Vec::new();
        for (id, intervals) in class_intervals.iter().enumerate() {
            let v6 = class_v6[id];
            if v6 && !mentions_v6 {
                continue;
            }
            let Some(rep) = representative(intervals, v6, &taken) else {
                continue;
            };
            let inside = &space.class_blocks[id];
            let label = if inside.is_empty() {
                if v6 {
                    "any other IPv6 address".to_string()
                } else {
                    "any other address".to_string()
                }
            } else {
                // The most specific block containing the class names it; blocks that cut
                // holes into that block are listed after "not in".
                let main = inside
                    .iter()
                    .copied()
                    .max_by_key(|b| (blocks[*b].cidr.prefix, std::cmp::Reverse(*b)))
                    .unwrap_or(inside[0]);
                let (lo, hi) = blocks[main].cidr.range();
                let holes: Vec<String> = blocks
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| {
                        !inside.contains(i) && b.cidr.is_v6() == v6 && {
                            let (a, z) = b.cidr.range();
                            a <= hi && lo <= z
                        }
                    })
                    .map(|(_, b)| block_label(b))
                    .collect();
                let mut label = block_label(&blocks[main]);
                if !holes.is_empty() {
                    label.push_str(", not in ");
                    label.push_str(&holes.join(", not in "));
                }
                label
            };
            listed.push((v6, inside.is_empty(), label, rep));
        }
        // Sorted: v4 before v6, specific classes before "any other", then by label.
        listed.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        space.listed = listed
            .into_iter()
            .map(|(_, _, label, representative)| AddressClass {
                label,
                representative,
            })
            .collect();
        space
    }

    fn classes(&self) -> usize {
        self.class_blocks.len()
    }

    fn class_of(&self, ip: IpAddr) -> usize {
        let (bits, v6) = bits_of(ip);
        let (starts, class) = if v6 {
            (&self.v6_starts, &self.v6_class)
        } else {
            (&self.v4_starts, &self.v4_class)
        };
        // `starts[0] == 0`, so the partition point is at least 1.
        let i = starts.partition_point(|s| *s <= bits).saturating_sub(1);
        class.get(i).copied().unwrap_or(0)
    }
}

/// An address of the class that is not a pod IP: a well-known public address when the
/// class has it, else the first free address (skipping a network address when it can).
fn representative(intervals: &[(u128, u128)], v6: bool, taken: &[(bool, u128)]) -> Option<IpAddr> {
    let free = |a: u128| taken.binary_search(&(v6, a)).is_err();
    let well_known = if v6 {
        u128::from("2001:4860:4860::8888".parse::<Ipv6Addr>().ok()?)
    } else {
        u32::from(Ipv4Addr::new(8, 8, 8, 8)) as u128
    };
    if intervals
        .iter()
        .any(|(a, z)| *a <= well_known && well_known <= *z)
        && free(well_known)
    {
        return Some(ip_of(well_known, v6));
    }
    for &(start, end) in intervals {
        let first = if end > start { start + 1 } else { start };
        // At most `taken.len() + 1` candidates before a free one, if there is one.
        let last = end.min(first.saturating_add(taken.len() as u128));
        if let Some(free_one) = (first..=last).find(|a| free(*a)) {
            return Some(ip_of(free_one, v6));
        }
        if first != start && free(start) {
            return Some(ip_of(start, v6));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Port space

/// Per protocol, the port atoms and their classes.
#[derive(Clone, Debug, Default)]
struct PortSpace {
    /// Per protocol: atom starts (first is 0), and each atom's global port class.
    starts: [Vec<u32>; 3],
    atom_class: [Vec<usize>; 3],
    /// Per global port class: its protocol and inclusive ranges.
    class_protocol: Vec<Protocol>,
    class_ranges: Vec<Vec<(u16, u16)>>,
}

fn proto_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::TCP => 0,
        Protocol::UDP => 1,
        Protocol::SCTP => 2,
    }
}

impl PortSpace {
    /// `ranges[p]`: the numeric ranges rules mention for protocol `p`; `named[p]`: numbers
    /// that named ports resolve to.
    fn new(ranges: &[Vec<(u16, u16)>; 3], named: &[Vec<u16>; 3]) -> PortSpace {
        let mut space = PortSpace::default();
        for protocol in Protocol::ALL {
            let p = proto_index(protocol);
            let mut cuts: Vec<u32> = vec![0];
            for &(a, b) in &ranges[p] {
                cuts.push(a as u32);
                cuts.push(b as u32 + 1);
            }
            for &n in &named[p] {
                cuts.push(n as u32);
                cuts.push(n as u32 + 1);
            }
            cuts.retain(|c| *c <= 65535);
            cuts.sort_unstable();
            cuts.dedup();
            let mut named_sorted = named[p].clone();
            named_sorted.sort_unstable();
            named_sorted.dedup();
            let mut keys: HashMap<(Vec<usize>, Option<u16>), usize> = HashMap::default();
            let mut atom_class = Vec::with_capacity(cuts.len());
            for (i, &start) in cuts.iter().enumerate() {
                let end = cuts.get(i + 1).map_or(65535, |n| n - 1);
                let covered: Vec<usize> = ranges[p]
                    .iter()
                    .enumerate()
                    .filter(|(_, (a, b))| *a as u32 <= start && start <= *b as u32)
                    .map(|(i, _)| i)
                    .collect();
                // A resolved named number is its own class: the same rule may admit it at
                // one destination and not at another.
                let own = (start == end && named_sorted.binary_search(&(start as u16)).is_ok())
                    .then_some(start as u16);
                let next = space.class_ranges.len();
                let id = *keys.entry((covered, own)).or_insert(next);
                if id == next {
                    space.class_protocol.push(protocol);
                    space.class_ranges.push(Vec::new());
                }
                space.class_ranges[id].push((start as u16, end as u16));
                atom_class.push(id);
            }
            space.starts[p] = cuts;
            space.atom_class[p] = atom_class;
        }
        space
    }

    fn classes(&self) -> usize {
        self.class_ranges.len()
    }

    fn class_of(&self, protocol: Protocol, port: u16) -> usize {
        let p = proto_index(protocol);
        let i = self.starts[p]
            .partition_point(|s| *s <= port as u32)
            .saturating_sub(1);
        self.atom_class[p].get(i).copied().unwrap_or(0)
    }

    /// Mask of the classes of every port in `first..=last` of `protocol`.
    fn range_mask(&self, protocol: Protocol, first: u16, last: u16, out: &mut [u64]) {
        if first > last {
            return;
        }
        let p = proto_index(protocol);
        let starts = &self.starts[p];
        let from = starts
            .partition_point(|s| *s <= first as u32)
            .saturating_sub(1);
        let to = starts.partition_point(|s| *s <= last as u32);
        for &k in &self.atom_class[p][from..to] {
            out[k / 64] |= 1 << (k % 64);
        }
    }

    fn to_allowed(&self, mask: &[u64]) -> AllowedPorts {
        let mut per: [Vec<(u16, u16)>; 3] = Default::default();
        for (w, word) in mask.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let k = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let (Some(protocol), Some(ranges)) =
                    (self.class_protocol.get(k), self.class_ranges.get(k))
                else {
                    continue;
                };
                // Port 0 is not a port a connection can target.
                per[proto_index(*protocol)].extend(
                    ranges
                        .iter()
                        .filter(|(_, b)| *b >= 1)
                        .map(|(a, b)| ((*a).max(1), *b)),
                );
            }
        }
        let [tcp, udp, sctp] = per;
        AllowedPorts {
            tcp: PortSet::from_ranges(tcp),
            udp: PortSet::from_ranges(udp),
            sctp: PortSet::from_ranges(sctp),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Compilation

/// Which pods a selector peer's namespace part covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum NamespacePart {
    /// The policy's own namespace (by index; `None` if nobody declared it and no pod is in it).
    Own(Option<usize>),
    /// A namespace selector (by id).
    Selector(usize),
}

/// A `from`/`to` entry, with selectors interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PeerKey {
    Block(usize),
    /// `pod`: pod selector id, `None` for "every pod".
    Selector {
        namespace: NamespacePart,
        pod: Option<usize>,
    },
}

/// A rule, compiled: its peer columns and the port classes it admits.
struct CompiledRule {
    /// Index of the rule's peer set among its direction's distinct sets; `None` = every
    /// column.
    peers: Option<usize>,
    /// Port classes admitted regardless of destination.
    numeric: Vec<u64>,
    /// Named entries: (name id, protocol).
    named: Vec<(usize, Protocol)>,
}

/// `[row][column][word]` to `[column][row][word]`, in tiles so both sides stay in cache.
fn transpose<T: Copy + Default>(cells: &[T], rows: usize, columns: usize, words: usize) -> Vec<T> {
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

/// Columns grouped into types that a family of peer sets cannot tell apart.
struct PeerTypes {
    /// Type of each column.
    of: Vec<u32>,
    /// Number of types.
    count: usize,
    /// First column of each type.
    representative: Vec<usize>,
    /// Per peer set, the types inside it (a type is always wholly in or out).
    members: Vec<Vec<u32>>,
}

impl PeerTypes {
    fn new<K: std::hash::Hash + Eq>(initial: &[K], sets: &[Bits]) -> PeerTypes {
        let mut keys: HashMap<&K, u32> = HashMap::default();
        let mut of: Vec<u32> = initial
            .iter()
            .map(|k| {
                let next = keys.len() as u32;
                *keys.entry(k).or_insert(next)
            })
            .collect();
        let mut next = keys.len() as u32;
        // `split[t]`: the new type of this set's members of type `t` (`NONE`: none yet).
        // Vectors, not maps: refinement runs over every member of every set.
        let mut split: Vec<u32> = vec![NONE; next as usize];
        let mut touched: Vec<usize> = Vec::new();
        for set in sets {
            for t in touched.drain(..) {
                split[t] = NONE;
            }
            for column in set.ones() {
                let Some(t) = of.get_mut(column) else {
                    continue;
                };
                let old = *t as usize;
                let Some(to) = split.get_mut(old) else {
                    continue;
                };
                if *to == NONE {
                    *to = next;
                    next += 1;
                    touched.push(old);
                }
                *t = *to;
            }
            split.resize(next as usize, NONE);
        }
        // Compact ids in column order, so output is deterministic and dense.
        let mut dense: Vec<u32> = vec![NONE; next as usize];
        let mut representative = Vec::new();
        for (column, t) in of.iter_mut().enumerate() {
            let Some(slot) = dense.get_mut(*t as usize) else {
                continue;
            };
            if *slot == NONE {
                *slot = representative.len() as u32;
                representative.push(column);
            }
            *t = *slot;
        }
        let mut seen: Vec<usize> = vec![usize::MAX; representative.len()];
        let members = sets
            .iter()
            .enumerate()
            .map(|(i, set)| {
                let mut types: Vec<u32> = Vec::new();
                for t in set.ones().filter_map(|c| of.get(c).copied()) {
                    if let Some(mark) = seen.get_mut(t as usize) {
                        if *mark != i {
                            *mark = i;
                            types.push(t);
                        }
                    }
                }
                types.sort_unstable();
                types
            })
            .collect();
        PeerTypes {
            of,
            count: representative.len(),
            representative,
            members,
        }
    }
}

struct Compiler<'m> {
    model: &'m Model,
    /// Namespace names, declared first (sorted), then undeclared ones pods use.
    namespaces: Vec<&'m str>,
    namespace_index: HashMap<&'m str, usize>,
    /// Interned selectors (pod and namespace selectors share the table).
    selectors: Vec<&'m LabelSelector>,
    selector_index: HashMap<&'m LabelSelector, usize>,
    blocks: Vec<IpBlock>,
    block_index: HashMap<&'m IpBlock, usize>,
    /// Interned (name, protocol) of named ports the rules use.
    names: Vec<(&'m str, Protocol)>,
    name_index: HashMap<(&'m str, Protocol), usize>,
}

impl<'m> Compiler<'m> {
    fn new(model: &'m Model) -> Compiler<'m> {
        let mut namespaces: Vec<&str> = Vec::new();
        let mut namespace_index = HashMap::default();
        for name in model
            .cluster
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .chain(model.cluster.pods.iter().map(|p| p.namespace.as_str()))
        {
            namespace_index.entry(name).or_insert_with(|| {
                namespaces.push(name);
                namespaces.len() - 1
            });
        }
        Compiler {
            model,
            namespaces,
            namespace_index,
            selectors: Vec::new(),
            selector_index: HashMap::default(),
            blocks: Vec::new(),
            block_index: HashMap::default(),
            names: Vec::new(),
            name_index: HashMap::default(),
        }
    }

    fn selector(&mut self, selector: &'m LabelSelector) -> Option<usize> {
        if selector.is_empty() {
            return None;
        }
        let next = self.selectors.len();
        let id = *self.selector_index.entry(selector).or_insert(next);
        if id == next {
            self.selectors.push(selector);
        }
        Some(id)
    }

    fn peer(&mut self, policy_namespace: Option<usize>, peer: &'m NetworkPolicyPeer) -> PeerKey {
        if let Some(block) = &peer.ip_block {
            let next = self.blocks.len();
            let id = *self.block_index.entry(block).or_insert(next);
            if id == next {
                self.blocks.push(block.clone());
            }
            return PeerKey::Block(id);
        }
        let namespace = match &peer.namespace_selector {
            None => NamespacePart::Own(policy_namespace),
            Some(selector) => match self.selector(selector) {
                Some(id) => NamespacePart::Selector(id),
                // The empty namespace selector: every namespace. Interned as a sentinel.
                None => NamespacePart::Selector(usize::MAX),
            },
        };
        let pod = peer.pod_selector.as_ref().and_then(|s| self.selector(s));
        PeerKey::Selector { namespace, pod }
    }

    fn name(&mut self, name: &'m str, protocol: Protocol) -> usize {
        let next = self.names.len();
        let id = *self.name_index.entry((name, protocol)).or_insert(next);
        if id == next {
            self.names.push((name, protocol));
        }
        id
    }

    fn finish(mut self) -> Engine {
        let model = self.model;
        let pods = &model.cluster.pods;
        let namespace_count = self.namespaces.len();

        // 1. Intern everything the policies mention.
        struct Rule<'m> {
            peers: Option<Vec<PeerKey>>,
            ports: &'m [NetworkPolicyPort],
        }
        struct Policy<'m> {
            namespace: Option<usize>,
            pod_selector: Option<usize>,
            /// [ingress, egress]; `None` when the policy does not isolate that way.
            rules: [Option<Vec<Rule<'m>>>; 2],
        }
        let mut policies: Vec<Policy> = Vec::with_capacity(model.policies.len());
        let mut numeric_ranges: [Vec<(u16, u16)>; 3] = Default::default();
        for policy in &model.policies {
            let namespace = self.namespace_index.get(policy.namespace.as_str()).copied();
            let pod_selector = self.selector(&policy.pod_selector);
            let mut rules: [Option<Vec<Rule>>; 2] = [None, None];
            for (slot, direction) in [(0, PolicyType::Ingress), (1, PolicyType::Egress)] {
                if !policy.affects(direction) {
                    continue;
                }
                let mut compiled = Vec::new();
                for rule in policy.rules(direction) {
                    let peers = if rule.peers.is_empty() {
                        None
                    } else {
                        Some(rule.peers.iter().map(|p| self.peer(namespace, p)).collect())
                    };
                    for port in &rule.ports {
                        match &port.port {
                            Some(PortRef::Number(n)) => numeric_ranges[proto_index(port.protocol)]
                                .push((*n, port.end_port.unwrap_or(*n))),
                            Some(PortRef::Name(name)) => {
                                self.name(name, port.protocol);
                            }
                            None => {}
                        }
                    }
                    compiled.push(Rule {
                        peers,
                        ports: &rule.ports,
                    });
                }
                rules[slot] = Some(compiled);
            }
            policies.push(Policy {
                namespace,
                pod_selector,
                rules,
            });
        }
        for ranges in &mut numeric_ranges {
            ranges.retain(|(a, b)| a <= b);
            ranges.sort_unstable();
            ranges.dedup();
        }

        // 2. Namespace selector results, and which pod selectors matter in each namespace.
        let empty_labels = crate::model::Labels::new();
        let namespace_labels: Vec<&crate::model::Labels> = self
            .namespaces
            .iter()
            .map(|n| model.cluster.namespace_labels(n).unwrap_or(&empty_labels))
            .collect();
        let mut namespace_match: HashMap<usize, Vec<bool>> = HashMap::default();
        let mut relevant: Vec<Vec<usize>> = vec![Vec::new(); namespace_count];
        for policy in &policies {
            if let (Some(ns), Some(sel)) = (policy.namespace, policy.pod_selector) {
                relevant[ns].push(sel);
            }
            for rules in policy.rules.iter().flatten() {
                for key in rules.iter().filter_map(|r| r.peers.as_ref()).flatten() {
                    let PeerKey::Selector { namespace, pod } = *key else {
                        continue;
                    };
                    match namespace {
                        NamespacePart::Own(Some(ns)) => {
                            if let Some(pod) = pod {
                                relevant[ns].push(pod);
                            }
                        }
                        NamespacePart::Own(None) => {}
                        NamespacePart::Selector(sel) => {
                            let matches = namespace_match.entry(sel).or_insert_with(|| {
                                namespace_labels
                                    .iter()
                                    .map(|l| sel == usize::MAX || self.selectors[sel].matches(l))
                                    .collect()
                            });
                            if let Some(pod) = pod {
                                for (ns, m) in matches.iter().enumerate() {
                                    if *m {
                                        relevant[ns].push(pod);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for list in &mut relevant {
            list.sort_unstable();
            list.dedup();
        }

        // 3. Address classes from the blocks; named-port numbers from the pods.
        let all_ips: Vec<IpAddr> = pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
        let addresses = AddressSpace::new(&self.blocks, &all_ips);
        let mut named_numbers: [Vec<u16>; 3] = Default::default();
        if !self.names.is_empty() {
            for pod in pods {
                for port in &pod.ports {
                    if let Some(name) = &port.name {
                        if self
                            .name_index
                            .contains_key(&(name.as_str(), port.protocol))
                        {
                            named_numbers[proto_index(port.protocol)].push(port.port);
                        }
                    }
                }
            }
        }
        let ports = PortSpace::new(&numeric_ranges, &named_numbers);
        let words = ports.classes().div_ceil(64).max(1);

        // 4. Pod classes: first group pods that look identical, then by what policies see.
        #[derive(PartialEq, Eq, Hash)]
        struct Signature {
            namespace: usize,
            selectors: Vec<usize>,
            addresses: Vec<usize>,
            named: Vec<Vec<u16>>,
        }
        // Pods that look identical: namespace, labels, container ports, address classes.
        type ExactKey<'a> = (
            &'a str,
            &'a crate::model::Labels,
            &'a [ContainerPort],
            Vec<usize>,
        );
        let mut exact: HashMap<ExactKey, u32> = HashMap::default();
        let mut signatures: HashMap<Signature, u32> = HashMap::default();
        let mut class_signature: Vec<Signature> = Vec::new();
        let mut pod_class = Vec::with_capacity(pods.len());
        let mut class_pods: Vec<Vec<u32>> = Vec::new();
        for (index, pod) in pods.iter().enumerate() {
            let mut address_ids: Vec<usize> =
                pod.ips.iter().map(|ip| addresses.class_of(*ip)).collect();
            address_ids.sort_unstable();
            address_ids.dedup();
            let key = (
                pod.namespace.as_str(),
                &pod.labels,
                pod.ports.as_slice(),
                address_ids,
            );
            let class = match exact.get(&key) {
                Some(class) => *class,
                None => {
                    let namespace = self.namespace_index[pod.namespace.as_str()];
                    let selectors: Vec<usize> = relevant[namespace]
                        .iter()
                        .copied()
                        .filter(|s| self.selectors[*s].matches(&pod.labels))
                        .collect();
                    let named: Vec<Vec<u16>> = self
                        .names
                        .iter()
                        .map(|(name, protocol)| {
                            pod.ports
                                .iter()
                                .filter(|p| {
                                    p.protocol == *protocol && p.name.as_deref() == Some(name)
                                })
                                .map(|p| p.port)
                                .collect()
                        })
                        .collect();
                    let signature = Signature {
                        namespace,
                        selectors,
                        addresses: key.3.clone(),
                        named,
                    };
                    let class = match signatures.get(&signature) {
                        Some(class) => *class,
                        None => {
                            let class = class_signature.len() as u32;
                            class_pods.push(Vec::new());
                            signatures.insert(
                                Signature {
                                    namespace: signature.namespace,
                                    selectors: signature.selectors.clone(),
                                    addresses: signature.addresses.clone(),
                                    named: signature.named.clone(),
                                },
                                class,
                            );
                            class_signature.push(signature);
                            class
                        }
                    };
                    exact.insert(key, class);
                    class
                }
            };
            pod_class.push(class);
            class_pods[class as usize].push(index as u32);
        }
        let classes = class_signature.len();
        let columns = classes + addresses.classes();

        // 5. Column bitsets: per namespace, per pod selector, per block.
        let mut namespace_columns = vec![Bits::new(columns); namespace_count];
        let mut selector_columns = vec![Bits::new(columns); self.selectors.len()];
        let mut block_columns = vec![Bits::new(columns); self.blocks.len()];
        for (class, signature) in class_signature.iter().enumerate() {
            namespace_columns[signature.namespace].set(class);
            for s in &signature.selectors {
                selector_columns[*s].set(class);
            }
            let mut inside: Vec<usize> = signature
                .addresses
                .iter()
                .flat_map(|a| addresses.class_blocks[*a].iter().copied())
                .collect();
            inside.sort_unstable();
            inside.dedup();
            for b in inside {
                block_columns[b].set(class);
            }
        }
        for (a, inside) in addresses.class_blocks.iter().enumerate() {
            for b in inside {
                block_columns[*b].set(classes + a);
            }
        }
        let all_pods = {
            let mut b = Bits::new(columns);
            for c in 0..classes {
                b.set(c);
            }
            b
        };
        let mut peer_cache: HashMap<PeerKey, Bits> = HashMap::default();
        let mut peer_columns = |key: PeerKey| -> Bits {
            if let Some(bits) = peer_cache.get(&key) {
                return bits.clone();
            }
            let bits = match key {
                PeerKey::Block(b) => block_columns[b].clone(),
                PeerKey::Selector { namespace, pod } => {
                    let mut bits = match namespace {
                        NamespacePart::Own(Some(ns)) => namespace_columns[ns].clone(),
                        NamespacePart::Own(None) => Bits::new(columns),
                        NamespacePart::Selector(sel) => {
                            let mut bits = Bits::new(columns);
                            if let Some(matches) = namespace_match.get(&sel) {
                                for (ns, m) in matches.iter().enumerate() {
                                    if *m {
                                        bits.or(&namespace_columns[ns]);
                                    }
                                }
                            }
                            bits
                        }
                    };
                    match pod {
                        Some(sel) => bits.and(&selector_columns[sel]),
                        None => bits.and(&all_pods),
                    }
                    bits
                }
            };
            peer_cache.insert(key, bits.clone());
            bits
        };

        // 6. Rules with peer sets (interned per direction) and port masks.
        let all = {
            let mut m = vec![0u64; words];
            for k in 0..ports.classes() {
                m[k / 64] |= 1 << (k % 64);
            }
            m
        };
        let mut peer_sets: [Vec<Bits>; 2] = Default::default();
        let mut peer_set_index: [HashMap<Bits, usize>; 2] = Default::default();
        let mut compiled: Vec<[Vec<CompiledRule>; 2]> = Vec::with_capacity(policies.len());
        for policy in &policies {
            let mut both: [Vec<CompiledRule>; 2] = Default::default();
            for (slot, rules) in policy.rules.iter().enumerate() {
                for rule in rules.iter().flatten() {
                    let peers = rule.peers.as_ref().map(|keys| {
                        let mut bits = Bits::new(columns);
                        for key in keys {
                            bits.or(&peer_columns(*key));
                        }
                        let next = peer_sets[slot].len();
                        let id = *peer_set_index[slot].entry(bits.clone()).or_insert(next);
                        if id == next {
                            peer_sets[slot].push(bits);
                        }
                        id
                    });
                    let mut numeric = vec![0u64; words];
                    let mut named = Vec::new();
                    if rule.ports.is_empty() {
                        numeric.copy_from_slice(&all);
                    }
                    for port in rule.ports {
                        match &port.port {
                            None => ports.range_mask(port.protocol, 0, 65535, &mut numeric),
                            Some(PortRef::Number(n)) => ports.range_mask(
                                port.protocol,
                                *n,
                                port.end_port.unwrap_or(*n),
                                &mut numeric,
                            ),
                            Some(PortRef::Name(name)) => named.push((
                                self.name_index[&(name.as_str(), port.protocol)],
                                port.protocol,
                            )),
                        }
                    }
                    both[slot].push(CompiledRule {
                        peers,
                        numeric,
                        named,
                    });
                }
            }
            compiled.push(both);
        }

        // 7. Peer types per direction: columns that every peer set of that direction
        // treats alike (egress also by named-port resolution, which happens at the peer).
        // Refinement touches only the members of each set, so it costs the sets' sizes.
        let no_names: Vec<Vec<u16>> = vec![Vec::new(); self.names.len()];
        let egress_initial: Vec<&[Vec<u16>]> = (0..columns)
            .map(|c| match class_signature.get(c) {
                Some(signature) => signature.named.as_slice(),
                None => no_names.as_slice(),
            })
            .collect();
        let egress_types = PeerTypes::new(&egress_initial, &peer_sets[1]);
        let ingress_types = PeerTypes::new(&vec![(); columns], &peer_sets[0]);

        // 8. Which policies isolate each class, per direction.
        let mut isolating: [Vec<Vec<u32>>; 2] =
            [vec![Vec::new(); classes], vec![Vec::new(); classes]];
        for (index, policy) in policies.iter().enumerate() {
            let Some(ns) = policy.namespace else { continue };
            let mut selected = namespace_columns[ns].clone();
            if let Some(sel) = policy.pod_selector {
                selected.and(&selector_columns[sel]);
            }
            for (slot, rules) in policy.rules.iter().enumerate() {
                if rules.is_some() {
                    for class in selected.ones() {
                        isolating[slot][class].push(index as u32);
                    }
                }
            }
        }
        let named_mask = |column: usize, rule: &CompiledRule, out: &mut [u64]| {
            let Some(signature) = class_signature.get(column) else {
                return; // an outside address has no named ports
            };
            for (name, protocol) in &rule.named {
                for n in &signature.named[*name] {
                    let k = ports.class_of(*protocol, *n);
                    out[k / 64] |= 1 << (k % 64);
                }
            }
        };

        // 9. Groups of classes isolated by the same policies, and their masks per peer
        // type. Ingress groups also split by named-port resolution: the destination is
        // the class itself.
        let mut group = [vec![NONE; classes], vec![NONE; classes]];
        // Up to 32 port classes (the usual case), a cell is a `u32`: the cells are most of
        // the engine's memory, and writing them was most of compile time.
        let narrow = ports.classes() <= 32;
        let mut cells: [Cells; 2] = [Cells::Wide(Vec::new()), Cells::Wide(Vec::new())];
        let types = [&ingress_types, &egress_types];
        for slot in 0..2 {
            let mut groups: HashMap<(&[u32], &[Vec<u16>]), u32> = HashMap::default();
            let count = types[slot].count;
            let mut base = vec![0u64; words];
            let mut effective = vec![0u64; words];
            let mut heavy_cache: HashMap<u32, Option<Vec<u64>>> = HashMap::default();
            let mut combined: HashMap<Vec<u32>, Vec<u64>> = HashMap::default();
            let mut heavy_list: Vec<u32> = Vec::new();
            // Groups first (the first class of each represents it), so the cells are
            // allocated once at their final size: growing a vector of millions of words
            // by doubling copied it several times.
            let mut firsts: Vec<usize> = Vec::new();
            for class in 0..classes {
                let list = &isolating[slot][class];
                if list.is_empty() {
                    continue;
                }
                // Only ingress groups with named-port rules depend on how the class
                // resolves names; the others need not split on it.
                let named_key = if slot == 0
                    && list
                        .iter()
                        .any(|p| compiled[*p as usize][0].iter().any(|r| !r.named.is_empty()))
                {
                    class_signature[class].named.as_slice()
                } else {
                    &[]
                };
                let next = groups.len() as u32;
                let g = *groups.entry((list.as_slice(), named_key)).or_insert(next);
                if g == next {
                    firsts.push(class);
                }
                group[slot][class] = g;
            }
            cells[slot] = Cells::with_capacity(narrow, firsts.len() * count * words);
            // Each group's row is built in this cache-resident scratch, then appended.
            let mut row: Vec<u64> = Vec::with_capacity(count * words);
            for &class in &firsts {
                let list = &isolating[slot][class];
                // The base first, so the group's cells start from it in one pass.
                base.iter_mut().for_each(|w| *w = 0);
                for p in list {
                    for rule in &compiled[*p as usize][slot] {
                        if rule.peers.is_none() && (slot == 0 || rule.named.is_empty()) {
                            effective.copy_from_slice(&rule.numeric);
                            named_mask(class, rule, &mut effective);
                            for (m, e) in base.iter_mut().zip(&effective) {
                                *m |= e;
                            }
                        }
                    }
                }
                // A policy whose rules touch many peer types (namespace-wide peers, the pod
                // network as an ipBlock) is shared by many groups: its contribution is
                // computed once, densely; groups with the same heavy policies (typically the
                // classes of one namespace) share the OR of them too.
                heavy_list.clear();
                for p in list {
                    let rules = &compiled[*p as usize][slot];
                    let heavy = heavy_cache.entry(*p).or_insert_with(|| {
                        let cacheable = rules.iter().all(|r| r.named.is_empty());
                        let touches: usize = rules
                            .iter()
                            .map(|r| r.peers.map_or(0, |set| types[slot].members[set].len()))
                            .sum();
                        (cacheable && touches * 2 >= count).then(|| {
                            let mut dense = vec![0u64; count * words];
                            for rule in rules {
                                let Some(set) = rule.peers else { continue };
                                for t in &types[slot].members[set] {
                                    let t = *t as usize;
                                    for (m, e) in dense[t * words..(t + 1) * words]
                                        .iter_mut()
                                        .zip(&rule.numeric)
                                    {
                                        *m |= e;
                                    }
                                }
                            }
                            dense
                        })
                    });
                    if heavy.is_some() {
                        heavy_list.push(*p);
                    }
                }
                if !heavy_list.is_empty() && !combined.contains_key(heavy_list.as_slice()) {
                    let mut dense = vec![0u64; count * words];
                    for p in &heavy_list {
                        if let Some(Some(part)) = heavy_cache.get(p) {
                            for (m, e) in dense.iter_mut().zip(part) {
                                *m |= e;
                            }
                        }
                    }
                    combined.insert(heavy_list.clone(), dense);
                }
                row.clear();
                match combined.get(heavy_list.as_slice()) {
                    // One word per cell is the usual case: no per-word index arithmetic
                    // (a division per cell was a measurable share of compile time).
                    Some(dense) if !heavy_list.is_empty() && words == 1 => {
                        let b = base[0];
                        row.extend(dense.iter().map(|m| m | b));
                    }
                    Some(dense) if !heavy_list.is_empty() => {
                        for cell in dense.chunks_exact(words) {
                            row.extend(cell.iter().zip(&base).map(|(m, b)| m | b));
                        }
                    }
                    _ if words == 1 => row.resize(count, base[0]),
                    _ => {
                        for _ in 0..count {
                            row.extend_from_slice(&base);
                        }
                    }
                }
                let region = &mut row[..];
                for p in list {
                    let rules = &compiled[*p as usize][slot];
                    let heavy = heavy_cache.get(p).is_some_and(|h| h.is_some());
                    for rule in rules {
                        if heavy && rule.peers.is_some() {
                            continue; // in the dense contribution
                        }
                        // A rule for every peer whose ports do not depend on the peer (any
                        // ingress rule; an egress rule without names) goes into the base
                        // mask every type shares; only the other rules touch types one by one.
                        let uniform = slot == 0 || rule.named.is_empty();
                        if rule.peers.is_none() && uniform {
                            continue; // in the base
                        }
                        if uniform {
                            effective.copy_from_slice(&rule.numeric);
                            named_mask(class, rule, &mut effective);
                        }
                        let mut apply = |t: usize| {
                            if !uniform {
                                // Egress named ports resolve at the peer type's representative.
                                effective.copy_from_slice(&rule.numeric);
                                named_mask(types[slot].representative[t], rule, &mut effective);
                            }
                            for (m, e) in region[t * words..(t + 1) * words]
                                .iter_mut()
                                .zip(&effective)
                            {
                                *m |= e;
                            }
                        };
                        match rule.peers {
                            None => (0..count).for_each(&mut apply),
                            Some(set) => types[slot].members[set]
                                .iter()
                                .for_each(|t| apply(*t as usize)),
                        }
                    }
                }
                cells[slot].extend(&row);
            }
        }
        let [ingress_group, egress_group] = group;
        let [ingress_cells, egress_by_group] = cells;
        let egress_groups = egress_by_group.len() / (egress_types.count * words).max(1);
        let egress_cells = match egress_by_group {
            Cells::Narrow(c) => Cells::Narrow(transpose(&c, egress_groups, egress_types.count, 1)),
            Cells::Wide(c) => Cells::Wide(transpose(&c, egress_groups, egress_types.count, words)),
        };

        Engine {
            pods: pods.len(),
            pod_class,
            class_pods,
            pod_ports: pods.iter().map(|p| p.ports.clone()).collect(),
            addresses,
            ports,
            words,
            egress_type: egress_types.of,
            ingress_type: ingress_types.of,
            egress_types: egress_types.count,
            ingress_types: ingress_types.count,
            egress_group,
            ingress_group,
            egress_cells,
            ingress_cells,
            egress_groups,
            all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{cluster, peer_block, peer_sel, policy, port, rule};
    use crate::model::PolicyType::{Egress as E, Ingress as I};

    fn model(policies: Vec<crate::model::NetworkPolicy>) -> Model {
        Model {
            cluster: cluster(),
            policies,
            diagnostics: Vec::new(),
        }
    }

    #[test]
    fn address_classes_are_labelled_and_represented() {
        let engine = Engine::new(&model(vec![policy(
            "prod",
            "p",
            "",
            &[E],
            vec![],
            vec![
                rule(vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])], vec![]),
                rule(vec![peer_block("fd00::/8", &[])], vec![]),
            ],
        )]));
        let got: Vec<(String, String)> = engine
            .address_classes()
            .into_iter()
            .map(|c| (c.label, c.representative.to_string()))
            .collect();
        let want = [
            ("10.0.0.0/8 except 10.1.0.0/16", "10.0.0.3"),
            ("any other address", "8.8.8.8"),
            ("fd00::/8", "fd00::1"),
            ("any other IPv6 address", "2001:4860:4860::8888"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        // 10.0.0.1 and 10.0.0.2 are pod IPs, so the representative skips them.
        assert_eq!(got, want);
    }

    #[test]
    fn pods_alike_share_a_class_and_ranges_merge() {
        let mut m = model(vec![policy(
            "prod",
            "p",
            "app=web",
            &[I],
            vec![
                rule(
                    vec![peer_sel(None, Some(""))],
                    vec![port(Protocol::TCP, Some(PortRef::Number(80)), Some(90))],
                ),
                rule(
                    vec![],
                    vec![
                        port(Protocol::TCP, Some(PortRef::Number(91)), None),
                        port(Protocol::UDP, None, None),
                    ],
                ),
            ],
            vec![],
        )]);
        // A second web pod, identical to the policies.
        let mut twin = m.cluster.pods[2].clone();
        twin.id = "prod/web2".into();
        twin.ips = vec!["10.0.0.9".parse().unwrap()];
        m.cluster.pods.push(twin);
        let engine = Engine::new(&m);
        assert_eq!(engine.pod_classes(), 3);
        let ports = engine.allowed_ports(Endpoint::Pod(0), Endpoint::Pod(3));
        assert_eq!(ports.tcp.to_string(), "80-91");
        assert_eq!(ports.udp, PortSet::all());
        assert!(ports.sctp.is_empty());
        let outside = engine.allowed_ports(
            Endpoint::Address("1.2.3.4".parse().unwrap()),
            Endpoint::Pod(2),
        );
        assert_eq!(outside.tcp.to_string(), "91");
        // Unknown pods get nothing, like `evaluate`.
        assert!(engine
            .allowed_ports(Endpoint::Pod(9), Endpoint::Pod(2))
            .is_empty());
        let c = engine.connectivity();
        assert_eq!(c.ports(0, 3), Some(&ports));
        assert_eq!(c.ports(9, 3), None);
    }

    #[test]
    fn empty_model_is_fine() {
        let engine = Engine::new(&Model::default());
        let labels: Vec<String> = engine
            .address_classes()
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["any other address"]);
        let c = engine.connectivity();
        assert_eq!((c.classes(), c.kinds(), c.results().len()), (0, (0, 0), 0));
        assert!(!engine
            .matrix(Protocol::TCP, &PortRef::Number(80))
            .allowed(0, 0));
        let anywhere = Endpoint::Address("1.1.1.1".parse().unwrap());
        assert_eq!(
            engine.allowed_ports(anywhere, anywhere),
            AllowedPorts::all()
        );
    }

    #[test]
    fn named_port_matrix_resolves_per_destination() {
        let engine = Engine::new(&model(vec![policy(
            "dev",
            "p",
            "",
            &[E],
            vec![],
            vec![rule(
                vec![],
                vec![port(
                    Protocol::TCP,
                    Some(PortRef::Name("http".into())),
                    None,
                )],
            )],
        )]));
        let m = engine.matrix(Protocol::TCP, &PortRef::Name("http".into()));
        // tool (dev) -> web: http is 8080 there; -> db: no such port; -> itself: 9090.
        assert!(m.allowed(0, 2));
        assert!(!m.allowed(0, 1));
        assert!(m.allowed(0, 0));
        assert!(!m.allowed(0, 99));
        let m = engine.matrix(Protocol::TCP, &PortRef::Number(9090));
        assert!(m.allowed(0, 0) && !m.allowed(0, 2));
    }

    /// Every cell width (`u32` cells up to 32 port classes, one `u64` up to 64, several
    /// words beyond) gives the evaluator's answers, in `connectivity` and `allowed_ports`.
    #[test]
    fn every_cell_width_agrees_with_evaluate() {
        for rules in [5u16, 20, 40] {
            let ingress: Vec<_> = (0..rules)
                .map(|k| {
                    let peers = match k % 3 {
                        0 => vec![peer_sel(None, Some("team=b"))],
                        1 => vec![peer_sel(Some("app=db"), None)],
                        _ => vec![],
                    };
                    let ports = vec![port(
                        Protocol::TCP,
                        Some(PortRef::Number(1000 + 3 * k)),
                        None,
                    )];
                    rule(peers, ports)
                })
                .collect();
            let egress: Vec<_> = (0..rules)
                .map(|k| {
                    let peers = match k % 2 {
                        0 => vec![peer_sel(Some("app=web"), Some(""))],
                        _ => vec![peer_block("10.0.0.0/24", &[])],
                    };
                    let ports = match k % 4 {
                        3 => vec![port(
                            Protocol::TCP,
                            Some(PortRef::Name("http".into())),
                            None,
                        )],
                        _ => vec![port(
                            Protocol::TCP,
                            Some(PortRef::Number(1001 + 3 * k)),
                            None,
                        )],
                    };
                    rule(peers, ports)
                })
                .collect();
            let m = model(vec![
                policy("prod", "in", "app=web", &[I], ingress, vec![]),
                policy("dev", "out", "", &[E], vec![], egress),
            ]);
            let engine = Engine::new(&m);
            let connectivity = engine.connectivity();
            let mut probes: Vec<u16> = (0..3 * rules + 3).map(|k| 999 + k).collect();
            probes.extend([1, 8080, 9090, 65535]);
            for src in 0..m.cluster.pods.len() {
                for dst in 0..m.cluster.pods.len() {
                    let (s, d) = (Endpoint::Pod(src), Endpoint::Pod(dst));
                    let ports = engine.allowed_ports(s, d);
                    assert_eq!(connectivity.ports(src, dst), Some(&ports));
                    for &n in &probes {
                        let flow = crate::model::Flow {
                            src: s,
                            dst: d,
                            protocol: Protocol::TCP,
                            port: n,
                        };
                        let want = crate::evaluate(&m, &flow).is_allowed();
                        assert_eq!(
                            ports.tcp.contains(n),
                            want,
                            "{rules} rules, {src}->{dst}:{n}"
                        );
                    }
                }
            }
        }
    }
}
