//! Pod classes against outside addresses, and families of pod classes: the two tables the
//! playground's graph reads besides [`Connectivity`], computed here so they run as fast as
//! the rest of the engine (in the browser the app's own code is built for size).

use super::hash::{HashMap, NONE};
use super::pairs::Connectivity;
use super::{Engine, Side, EGRESS, INGRESS};
use crate::ports::AllowedPorts;

/// Allowed ports between every pod class and every outside-address class of
/// [`Engine::address_classes`], each way. Result ids continue [`Connectivity::results`]:
/// an id below its length is one of those, the rest index [`AddressConnectivity::results`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressConnectivity {
    addresses: usize,
    /// `[class * addresses + a]`: from the pod class to address class `a`.
    to: Vec<u32>,
    /// `[class * addresses + a]`: from address class `a` to the pod class.
    from: Vec<u32>,
    /// Results the pod connectivity does not have, numbered after its own.
    results: Vec<AllowedPorts>,
}

impl AddressConnectivity {
    /// Result id from pod class `class` to address class `address`.
    pub fn to_address(&self, class: usize, address: usize) -> Option<u32> {
        self.cell(&self.to, class, address)
    }

    /// Result id from address class `address` to pod class `class`.
    pub fn from_address(&self, class: usize, address: usize) -> Option<u32> {
        self.cell(&self.from, class, address)
    }

    /// The row of result ids of pod class `class` to every address class (then from every
    /// address class), in [`Engine::address_classes`] order.
    pub fn rows(&self, class: usize) -> (&[u32], &[u32]) {
        let a = self.addresses;
        let range = class * a..(class + 1) * a;
        (
            self.to.get(range.clone()).unwrap_or(&[]),
            self.from.get(range).unwrap_or(&[]),
        )
    }

    /// The results not among [`Connectivity::results`], in id order after them.
    pub fn results(&self) -> &[AllowedPorts] {
        &self.results
    }

    fn cell(&self, table: &[u32], class: usize, address: usize) -> Option<u32> {
        if address >= self.addresses {
            return None;
        }
        table.get(class * self.addresses + address).copied()
    }
}

impl Engine {
    /// Allowed ports between every pod class of `connectivity` (this engine's) and every
    /// outside-address class, each way. An address side is never isolated, so a cell
    /// depends only on the pod class's isolation group in that direction: computed once
    /// per (group, address class).
    pub fn address_connectivity(&self, connectivity: &Connectivity) -> AddressConnectivity {
        let columns: Vec<usize> = self
            .addresses
            .listed
            .iter()
            .map(|c| self.addresses.class_of(c.representative))
            .collect();
        let mut results = Results::new(self, connectivity.results());
        let [to, from] = [EGRESS, INGRESS].map(|direction| {
            // Per (isolation group, address class): the result id, computed on first use.
            // The last row stands for classes not isolated that way.
            let groups = self.cells.groups[direction];
            let mut memo = vec![NONE; (groups + 1) * columns.len()];
            let mut table = Vec::with_capacity(self.class_pods.len() * columns.len());
            for class in 0..self.class_pods.len() {
                let group = match self.cells.group[direction].get(class) {
                    Some(&g) if g != NONE => g as usize,
                    _ => groups,
                };
                for (a, &column) in columns.iter().enumerate() {
                    let slot = &mut memo[group * columns.len() + a];
                    if *slot == NONE {
                        let (pod, address) = (Side::Pod(class), Side::Address(column));
                        *slot = match direction {
                            EGRESS => results.of(pod, address),
                            _ => results.of(address, pod),
                        };
                    }
                    table.push(*slot);
                }
            }
            table
        });
        AddressConnectivity {
            addresses: columns.len(),
            to,
            from,
            results: results.new,
        }
    }
}

/// Result ids of pair masks: interned by mask, then by the ports it stands for (masks
/// differing only in "any other protocol" are one result, as in the pod table), numbered
/// after the pod connectivity's results.
struct Results<'e> {
    engine: &'e Engine,
    by_mask: HashMap<Box<[u64]>, u32>,
    by_ports: HashMap<AllowedPorts, u32>,
    first_new: usize,
    new: Vec<AllowedPorts>,
    mask: Vec<u64>,
}

impl<'e> Results<'e> {
    fn new(engine: &'e Engine, existing: &[AllowedPorts]) -> Results<'e> {
        Results {
            engine,
            by_mask: HashMap::default(),
            by_ports: existing
                .iter()
                .enumerate()
                .map(|(i, p)| (p.clone(), i as u32))
                .collect(),
            first_new: existing.len(),
            new: Vec::new(),
            mask: vec![0; engine.words],
        }
    }

    fn of(&mut self, src: Side, dst: Side) -> u32 {
        self.engine.pair_mask(src, dst, &mut self.mask);
        if let Some(id) = self.by_mask.get(self.mask.as_slice()) {
            return *id;
        }
        let ports = self.engine.ports.to_allowed(&self.mask);
        let id = match self.by_ports.get(&ports) {
            Some(id) => *id,
            None => {
                let id = (self.first_new + self.new.len()) as u32;
                self.by_ports.insert(ports.clone(), id);
                self.new.push(ports);
                id
            }
        };
        self.by_mask
            .insert(self.mask.clone().into_boxed_slice(), id);
        id
    }
}

impl Connectivity {
    /// Families of pod classes: classes with the same `key` (one entry per class; a class
    /// without one keys as `u32::MAX`) whose results against every class are the same in
    /// both directions — indistinguishable in this table, so one node can stand for them.
    /// Family ids are dense, in order of first class.
    ///
    /// A class's results as a source are a column of the table (its source kind) and as a
    /// destination a row (its destination kind), so the work is one pass over the table,
    /// not one per pair of classes.
    pub fn families(&self, key: &[u32]) -> Vec<u32> {
        let (source_kinds, destination_kinds) = self.kinds();
        let table = self.table();
        let rows = row_ids(table, source_kinds);
        let columns = column_ids(table, source_kinds, destination_kinds);
        let mut index: HashMap<(u32, u32, u32), u32> = HashMap::default();
        (0..self.classes())
            .map(|c| {
                let (source, destination) = self.class_kinds(c);
                let k = (
                    key.get(c).copied().unwrap_or(NONE),
                    columns.get(source).copied().unwrap_or(NONE),
                    rows.get(destination).copied().unwrap_or(NONE),
                );
                let next = index.len() as u32;
                *index.entry(k).or_insert(next)
            })
            .collect()
    }
}

/// Per row of `table` (rows of `width` cells): an id shared by identical rows.
fn row_ids(table: &[u32], width: usize) -> Vec<u32> {
    if width == 0 {
        return Vec::new();
    }
    let mut index: HashMap<&[u32], u32> = HashMap::default();
    table
        .chunks_exact(width)
        .map(|row| {
            let next = index.len() as u32;
            *index.entry(row).or_insert(next)
        })
        .collect()
}

/// Per column of `table` (`height` rows of `width` cells): an id shared by identical
/// columns. Columns are hashed in one row-major pass; each column whose hash was seen
/// before is then checked against that earlier column in a second row-major pass (columns
/// are strided, rows are not), and a hash collision only gives the column an id of its own,
/// never merges different columns.
fn column_ids(table: &[u32], width: usize, height: usize) -> Vec<u32> {
    let rows = || table.chunks_exact(width.max(1)).take(height);
    let mut hashes = vec![0u64; width];
    for row in rows() {
        for (h, cell) in hashes.iter_mut().zip(row) {
            *h = (h.rotate_left(5) ^ u64::from(*cell)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    // The first column of each hash, and the later columns that claim to equal it.
    let mut first: HashMap<u64, usize> = HashMap::default();
    let claims: Vec<(usize, usize)> = (0..width)
        .filter_map(|column| match first.entry(hashes[column]) {
            std::collections::hash_map::Entry::Occupied(e) => Some((column, *e.get())),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(column);
                None
            }
        })
        .collect();
    let mut wrong = vec![false; claims.len()];
    for row in rows() {
        for ((column, earlier), wrong) in claims.iter().zip(wrong.iter_mut()) {
            *wrong |= row[*column] != row[*earlier];
        }
    }
    let mut same_as: Vec<usize> = (0..width).collect();
    for ((column, earlier), wrong) in claims.iter().zip(&wrong) {
        if !wrong {
            same_as[*column] = *earlier;
        }
    }
    // Dense ids in column order; a column equal to an earlier one takes its id.
    let mut ids = vec![NONE; width];
    let mut next = 0u32;
    for column in 0..width {
        ids[column] = if same_as[column] == column {
            next += 1;
            next - 1
        } else {
            ids[same_as[column]]
        };
    }
    ids
}
