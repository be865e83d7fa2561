//! Step 7, pairs: the allowed port classes from `s` to `d` are
//! `egress[group(s)][type(d)] & ingress[group(d)][type(s)]` (every class when a side is not
//! isolated). [`Engine::matrix`] asks that per (source class, destination pod);
//! [`Engine::connectivity`] once per (source kind, destination kind), reading two
//! contiguous rows, and interns identical results.

use super::bits::has_bit;
use super::cells::Masks;
use super::hash::{HashMap, WordIndex, NONE};
use super::{Engine, Side, EGRESS, INGRESS};
use crate::model::{numbers_named, PolicyType, PortRef, Protocol};
use crate::ports::AllowedPorts;

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
    /// `[ingress, egress]`: per class, whether some policy isolates it that way (the
    /// engine's isolation groups).
    isolated: [Vec<bool>; 2],
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

    /// The table itself: `[destination kind][source kind]`, indices into `results`.
    pub(super) fn table(&self) -> &[u32] {
        &self.table
    }

    /// The source and destination kind of pod class `class` (`usize::MAX` when unknown).
    pub(super) fn class_kinds(&self, class: usize) -> (usize, usize) {
        let kind = |kinds: &[u32]| kinds.get(class).map_or(usize::MAX, |k| *k as usize);
        (kind(&self.sources), kind(&self.destinations))
    }

    /// Whether some policy has a say for pod class `class` in `direction`: a
    /// NetworkPolicy isolates it (selects it with that policy type), or a cluster policy
    /// with rules in that direction has it as a subject. `None` for an unknown class.
    pub fn isolated(&self, class: usize, direction: PolicyType) -> Option<bool> {
        let slot = match direction {
            PolicyType::Ingress => INGRESS,
            PolicyType::Egress => EGRESS,
        };
        self.isolated[slot].get(class).copied()
    }

    /// Whether the pair of classes is *open*: no policy of any tier has a say for the
    /// source's egress or the destination's ingress, so every port passes.
    /// Every other pair — allowed by some rule, or denied — was decided by policy. `None`
    /// for an unknown class.
    pub fn open(&self, src: usize, dst: usize) -> Option<bool> {
        let egress = self.isolated(src, PolicyType::Egress)?;
        let ingress = self.isolated(dst, PolicyType::Ingress)?;
        Some(!egress && !ingress)
    }
}

/// Per destination pod, the port classes a probe stands for: one for a number; for a
/// name, one per number the pod's container ports of that name have (none: the pod lacks
/// the name, or is on the host network).
struct ProbeClasses {
    /// `classes[starts[d]..starts[d + 1]]` belong to destination `d`.
    starts: Vec<usize>,
    classes: Vec<usize>,
}

impl ProbeClasses {
    fn new(engine: &Engine, protocol: Protocol, port: &PortRef) -> ProbeClasses {
        let mut probe = ProbeClasses {
            starts: Vec::with_capacity(engine.pods + 1),
            classes: Vec::with_capacity(engine.pods),
        };
        for ports in &engine.pod_ports {
            probe.starts.push(probe.classes.len());
            let class = |n: u16| engine.ports.class_of(protocol, n);
            match port {
                PortRef::Number(n) => probe.classes.push(class(*n)),
                PortRef::Name(name) => probe
                    .classes
                    .extend(numbers_named(ports, name, protocol).map(class)),
            }
        }
        probe.starts.push(probe.classes.len());
        probe
    }

    fn of(&self, dst: usize) -> &[usize] {
        &self.classes[self.starts[dst]..self.starts[dst + 1]]
    }
}

impl Engine {
    /// The truth table for one probe.
    ///
    /// A named probe follows the named-port rule: the name stands for every number the
    /// destination pod's container ports of that name (and protocol) have, and the cell is
    /// allowed when the connection is allowed on *any* of them, i.e. when
    /// [`crate::evaluate`] allows the flow with one of those numbers. A pod without that
    /// name (or on the host network, where names never resolve) gets `false` in its column.
    pub fn matrix(&self, protocol: Protocol, port: &PortRef) -> Matrix {
        let size = self.pods;
        let words = size.div_ceil(64);
        let mut bits = vec![0u64; size * words];
        let probe = ProbeClasses::new(self, protocol, port);
        let mut row = vec![0u64; words];
        let mut mask = vec![0u64; self.words];
        for (src_class, src_pods) in self.class_pods.iter().enumerate() {
            if src_pods.is_empty() {
                continue;
            }
            row.iter_mut().for_each(|w| *w = 0);
            for dst in 0..size {
                let wanted = probe.of(dst);
                if wanted.is_empty() {
                    continue;
                }
                let dst_class = self.pod_class[dst] as usize;
                self.pair_mask(Side::Pod(src_class), Side::Pod(dst_class), &mut mask);
                if wanted.iter().any(|k| has_bit(&mask, *k)) {
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

    /// Allowed ports for every ordered pair of pods, computed per pair of classes.
    ///
    /// As a source, a class is characterised by its egress group and its ingress peer type;
    /// as a destination, by its ingress group and its egress peer type. The table is over
    /// those (usually far fewer) kinds, and each cell is the AND of two interned masks.
    pub fn connectivity(&self) -> Connectivity {
        let group = &self.cells.group;
        let (sources, source_rep) = kinds(self.class_pods.len(), |c| {
            (group[EGRESS][c], self.peer_type[INGRESS][c])
        });
        let (destinations, destination_rep) = kinds(self.class_pods.len(), |c| {
            (group[INGRESS][c], self.peer_type[EGRESS][c])
        });
        let mut table = Table {
            cells: Vec::with_capacity(source_rep.len() * destination_rep.len()),
            results: Vec::new(),
        };
        // Per source kind: its egress group (`NONE`: not isolated) and its ingress peer
        // type. Destinations are the outer loop, so both rows read below are contiguous.
        let source_parts: Vec<(u32, usize)> = source_rep
            .iter()
            .map(|s| (group[EGRESS][*s], self.peer_type[INGRESS][*s] as usize))
            .collect();
        // "Any other protocol" is not a port: masks differing only there are one result.
        let ports_only = self.ports_only();
        match (&self.cells.egress, &self.cells.ingress) {
            (Masks::Narrow(e), Masks::Narrow(i)) => self.one_word_table(
                [e, i],
                [self.all[0] as u32, ports_only[0] as u32],
                &destination_rep,
                &source_parts,
                &mut table,
            ),
            (Masks::Wide(e), Masks::Wide(i)) if self.words == 1 => self.one_word_table(
                [e, i],
                [self.all[0], ports_only[0]],
                &destination_rep,
                &source_parts,
                &mut table,
            ),
            _ => self.wide_table(&ports_only, &destination_rep, &source_rep, &mut table),
        }
        Connectivity {
            pod_class: self.pod_class.clone(),
            classes: self.class_pods.len(),
            sources,
            destinations,
            source_kinds: source_rep.len(),
            table: table.cells,
            results: table.results,
            isolated: [INGRESS, EGRESS]
                .map(|slot| group[slot].iter().map(|g| *g != NONE).collect()),
        }
    }

    /// The connectivity table when a mask is one word (`u32` or `u64` cells): per cell,
    /// one AND of two contiguous rows' entries and an interning lookup. `[egress,
    /// ingress]` cells; `[all, ports_only]` masks.
    fn one_word_table<T: Copy + Into<u64> + std::ops::BitAnd<Output = T>>(
        &self,
        [egress_cells, ingress_cells]: [&[T]; 2],
        [all, ports_only]: [T; 2],
        destination_rep: &[usize],
        source_parts: &[(u32, usize)],
        table: &mut Table,
    ) {
        let (ingress_types, egress_groups) = (self.type_count[INGRESS], self.cells.groups[EGRESS]);
        // Result ids by whole mask, and by the mask's ports.
        let (mut seen, mut distinct) = (WordIndex::default(), WordIndex::default());
        let mut last: Option<(u64, u32)> = None;
        for &d in destination_rep {
            let ingress_row = match self.cells.group[INGRESS][d] {
                NONE => None,
                g => {
                    let at = g as usize * ingress_types;
                    ingress_cells.get(at..at + ingress_types)
                }
            };
            let at = self.peer_type[EGRESS][d] as usize * egress_groups;
            let egress_row = egress_cells.get(at..at + egress_groups).unwrap_or(&[]);
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
                // Neighbouring cells usually agree: skip the lookup then. Masks that differ
                // only in "any other protocol" are told apart only when first seen.
                let id = match last {
                    Some((w, id)) if w == word => id,
                    _ => {
                        let id = seen.get_or_insert(word, || {
                            let ports: u64 = (e & i & ports_only).into();
                            distinct.get_or_insert(ports, || {
                                table.push(self.ports.to_allowed(&[ports]))
                            })
                        });
                        last = Some((word, id));
                        id
                    }
                };
                table.cells.push(id);
            }
        }
    }

    /// The connectivity table when masks are several words: interned by the whole mask.
    fn wide_table(
        &self,
        ports_only: &[u64],
        destination_rep: &[usize],
        source_rep: &[usize],
        table: &mut Table,
    ) {
        let mut seen: HashMap<Box<[u64]>, u32> = HashMap::default();
        let mut mask = vec![0u64; self.words];
        for &d in destination_rep {
            // A kind's representative class stands for the whole kind.
            for &s in source_rep {
                self.pair_mask(Side::Pod(s), Side::Pod(d), &mut mask);
                for (m, p) in mask.iter_mut().zip(ports_only) {
                    *m &= p;
                }
                let id = match seen.get(mask.as_slice()) {
                    Some(id) => *id,
                    None => {
                        let id = table.push(self.ports.to_allowed(&mask));
                        seen.insert(mask.clone().into_boxed_slice(), id);
                        id
                    }
                };
                table.cells.push(id);
            }
        }
    }

    /// Every port class but "any other protocol".
    fn ports_only(&self) -> Vec<u64> {
        let mut mask = self.all.clone();
        let k = self.ports.any_protocol();
        mask[k / 64] &= !(1 << (k % 64));
        mask
    }
}

/// The connectivity table being filled: cells and distinct results.
struct Table {
    cells: Vec<u32>,
    results: Vec<AllowedPorts>,
}

impl Table {
    /// Adds a distinct result; its id.
    fn push(&mut self, ports: AllowedPorts) -> u32 {
        self.results.push(ports);
        self.results.len() as u32 - 1
    }
}

/// Classes with the same key form one kind: the kind of each class, and each kind's first
/// class (which stands for it).
fn kinds(classes: usize, key: impl Fn(usize) -> (u32, u32)) -> (Vec<u32>, Vec<usize>) {
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
}
