//! Step 5, peer types: the columns (pod classes, then address classes) each rule's peers
//! match, and per direction the partition of columns that every rule treats alike, found
//! by refining a partition with each distinct peer set (cost: the sizes of the sets).

use super::address::AddressSpace;
use super::bits::Bits;
use super::hash::{intern, HashMap, NONE};
use super::pods::{PodClasses, Scopes};
use super::rules::{Interned, NamespacePart, PeerKey};

/// Column bitsets of the things peers and policies are made of.
pub(super) struct Columns {
    /// Pod classes first, then address classes.
    pub(super) count: usize,
    /// Per namespace (the host-network pseudo-namespace last): its pod classes.
    pub(super) namespace: Vec<Bits>,
    /// Per interned selector: the pod classes it matches.
    pub(super) selector: Vec<Bits>,
    /// Per interned block: the pod classes and address classes inside it.
    block: Vec<Bits>,
    /// Every pod class.
    all_pods: Bits,
}

impl Columns {
    pub(super) fn new(
        interned: &Interned,
        classes: &PodClasses,
        addresses: &AddressSpace,
    ) -> Columns {
        let count = classes.len() + addresses.classes();
        let mut columns = Columns {
            count,
            namespace: vec![Bits::new(count); classes.host_network + 1],
            selector: vec![Bits::new(count); interned.selectors.len()],
            block: vec![Bits::new(count); interned.blocks.len()],
            all_pods: Bits::new(count),
        };
        for (class, signature) in classes.signatures.iter().enumerate() {
            columns.all_pods.set(class);
            columns.namespace[signature.namespace].set(class);
            for s in &signature.selectors {
                columns.selector[*s].set(class);
            }
            let mut inside: Vec<usize> = signature
                .addresses
                .iter()
                .flat_map(|a| addresses.class_blocks[*a].iter().copied())
                .collect();
            inside.sort_unstable();
            inside.dedup();
            for b in inside {
                columns.block[b].set(class);
            }
        }
        for (a, inside) in addresses.class_blocks.iter().enumerate() {
            for b in inside {
                columns.block[*b].set(classes.len() + a);
            }
        }
        columns
    }

    /// The columns one peer matches. A selector peer never matches an address class, nor
    /// a host-network pod (whose pseudo-namespace no namespace part covers).
    pub(super) fn peer(&self, scopes: &Scopes, key: PeerKey) -> Bits {
        let (namespace, pod) = match key {
            PeerKey::Block(b) => return self.block[b].clone(),
            PeerKey::Selector { namespace, pod } => (namespace, pod),
        };
        let mut bits = match namespace {
            NamespacePart::Own(Some(ns)) => self.namespace[ns].clone(),
            NamespacePart::Own(None) => Bits::new(self.count),
            NamespacePart::Selector(sel) => {
                let mut bits = Bits::new(self.count);
                if let Some(matches) = scopes.namespace_match.get(&sel) {
                    for (ns, m) in matches.iter().enumerate() {
                        if *m {
                            bits.or(&self.namespace[ns]);
                        }
                    }
                }
                bits
            }
        };
        match pod {
            Some(sel) => bits.and(&self.selector[sel]),
            None => bits.and(&self.all_pods),
        }
        bits
    }
}

/// Per direction (`[ingress, egress]`), the distinct column sets of the rules' peers, and
/// each rule's set.
pub(super) struct PeerSets {
    pub(super) sets: [Vec<Bits>; 2],
    /// `[policy][direction][rule]`: index into `sets[direction]`; `None`: every peer.
    pub(super) of_rule: Vec<[Vec<Option<usize>>; 2]>,
    /// The same for the cluster policies' rules (`[tier policy][direction][rule]`).
    pub(super) of_tier_rule: Vec<[Vec<Option<usize>>; 2]>,
}

/// Builds the distinct sets, one rule's keys at a time.
struct SetBuilder<'a> {
    scopes: &'a Scopes,
    columns: &'a Columns,
    cache: HashMap<PeerKey, Bits>,
    index: [HashMap<Bits, usize>; 2],
    sets: [Vec<Bits>; 2],
}

impl SetBuilder<'_> {
    /// The set of one rule's peers (`None` keys: every peer).
    fn set(&mut self, slot: usize, keys: Option<&Vec<PeerKey>>) -> Option<usize> {
        let keys = keys?;
        let mut bits = Bits::new(self.columns.count);
        for key in keys {
            let (columns, scopes) = (self.columns, self.scopes);
            let peer = self
                .cache
                .entry(*key)
                .or_insert_with(|| columns.peer(scopes, *key));
            bits.or(peer);
        }
        Some(intern(
            &mut self.index[slot],
            &mut self.sets[slot],
            bits.clone(),
            || bits,
        ))
    }
}

impl PeerSets {
    pub(super) fn new(interned: &Interned, scopes: &Scopes, columns: &Columns) -> PeerSets {
        let mut builder = SetBuilder {
            scopes,
            columns,
            cache: HashMap::default(),
            index: Default::default(),
            sets: Default::default(),
        };
        let mut of_rule = Vec::with_capacity(interned.policies.len());
        for policy in &interned.policies {
            let mut both: [Vec<Option<usize>>; 2] = Default::default();
            for (slot, rules) in policy.rules.iter().enumerate() {
                for rule in rules.iter().flatten() {
                    both[slot].push(builder.set(slot, rule.peers.as_ref()));
                }
            }
            of_rule.push(both);
        }
        let mut of_tier_rule = Vec::with_capacity(interned.tiers.len());
        for policy in &interned.tiers {
            let mut both: [Vec<Option<usize>>; 2] = Default::default();
            for (slot, rules) in policy.rules.iter().enumerate() {
                for rule in rules {
                    both[slot].push(builder.set(slot, rule.peers.as_ref()));
                }
            }
            of_tier_rule.push(both);
        }
        PeerSets {
            sets: builder.sets,
            of_rule,
            of_tier_rule,
        }
    }
}

/// Columns grouped into types that a family of peer sets cannot tell apart.
pub(super) struct PeerTypes {
    /// Type of each column.
    pub(super) of: Vec<u32>,
    /// Number of types.
    pub(super) count: usize,
    /// First column of each type.
    pub(super) representative: Vec<usize>,
    /// Per peer set, the types inside it (a type is always wholly in or out).
    pub(super) members: Vec<Vec<u32>>,
}

impl PeerTypes {
    /// `[ingress, egress]` types. Egress types also split by how a destination resolves
    /// port names (named ports resolve at the peer for egress); an address resolves none.
    pub(super) fn for_directions(
        classes: &PodClasses,
        columns: &Columns,
        peers: &PeerSets,
        names: usize,
    ) -> [PeerTypes; 2] {
        let no_names: Vec<Vec<u16>> = vec![Vec::new(); names];
        let egress_initial: Vec<&[Vec<u16>]> = (0..columns.count)
            .map(|c| match classes.signatures.get(c) {
                Some(signature) => signature.named.as_slice(),
                None => no_names.as_slice(),
            })
            .collect();
        [
            PeerTypes::new(&vec![(); columns.count], &peers.sets[0]),
            PeerTypes::new(&egress_initial, &peers.sets[1]),
        ]
    }

    /// Refines the partition given by `initial` (one key per column) with every set.
    fn new<K: std::hash::Hash + Eq>(initial: &[K], sets: &[Bits]) -> PeerTypes {
        let (of, next) = refine(initial, sets);
        let (of, representative) = compact(of, next);
        let members = members(&of, representative.len(), sets);
        PeerTypes {
            of,
            count: representative.len(),
            representative,
            members,
        }
    }
}

/// Splits types by every set in turn: the members of type `t` inside a set get a new type.
/// Returns the (sparse) type of each column and the number of type ids used.
fn refine<K: std::hash::Hash + Eq>(initial: &[K], sets: &[Bits]) -> (Vec<u32>, u32) {
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
    (of, next)
}

/// Dense type ids in column order, so output is deterministic; and each type's first
/// column.
fn compact(mut of: Vec<u32>, ids: u32) -> (Vec<u32>, Vec<usize>) {
    let mut dense: Vec<u32> = vec![NONE; ids as usize];
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
    (of, representative)
}

/// Per set, the sorted types of its columns.
fn members(of: &[u32], types: usize, sets: &[Bits]) -> Vec<Vec<u32>> {
    let mut seen: Vec<usize> = vec![usize::MAX; types];
    sets.iter()
        .enumerate()
        .map(|(i, set)| {
            let mut found: Vec<u32> = Vec::new();
            for t in set.ones().filter_map(|c| of.get(c).copied()) {
                if let Some(mark) = seen.get_mut(t as usize) {
                    if *mark != i {
                        *mark = i;
                        found.push(t);
                    }
                }
            }
            found.sort_unstable();
            found
        })
        .collect()
}
