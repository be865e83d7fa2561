//! The engine's decisions for one node, in the kernel's terms: for each local pod address,
//! which peer addresses it may talk to on which ports. [`crate::nft`] renders this; it
//! matches no selector and resolves no port itself.
//!
//! How the cells become addresses. The kernel sees an address, not a pod, so every
//! address of both families is cut into *atoms*: each pod IP is an atom standing for the
//! pod classes of the pods that have it, and the gaps between pod IPs inside an address
//! class are atoms standing for that address class (neighbouring atoms that stand for the
//! same columns are merged first). For a group and a direction, an atom's mask is the
//! group's cell for the peer type of its column. Grouping atoms by mask (adjacent ones
//! merged) gives, per distinct non-zero mask, an interval set of peer addresses and the
//! ports the mask admits ([`PortRanges`]).
//!
//! Why it is exact: ingress groups are split by how the destination resolves port names,
//! and egress peer types by how the peer (the destination) resolves them, so one
//! (group, peer type) mask holds for every pod of the group and every peer of the type.
//!
//! Addresses the kernel cannot tell apart fail closed, deterministically: an atom standing
//! for several pod classes (pods whose IPs collide, which is bad input, or host-network
//! pods sharing their node's address) admits only what *every* one of them is admitted,
//! and a local address shared by pods of several groups gets the AND of their groups'
//! rows. A pod that is not isolated restricts nothing in that AND.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::address::{bits_of, family_max, ip_of};
use super::hash::{HashMap, NONE};
use super::ports::PortRanges;
use super::{Engine, EGRESS, INGRESS};
use crate::model::Model;

/// What one node must enforce, per direction.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeRules {
    /// `[ingress, egress]`.
    pub(crate) directions: [LocalRules; 2],
}

/// One direction's rules for the node.
#[derive(Clone, Debug, Default)]
pub(crate) struct LocalRules {
    /// Each isolated local address (sorted) and its entry in `groups`. Local addresses
    /// that are not isolated are absent: everything passes.
    pub(crate) addresses: Vec<(IpAddr, usize)>,
    /// Per local group (in the order of its first address): what it admits, one entry per
    /// distinct non-zero mask, in the order of their first peer address.
    pub(crate) groups: Vec<Vec<Admit>>,
}

/// Peer addresses admitted on the same ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Admit {
    /// Merged inclusive IPv4 ranges (as numbers), sorted.
    pub(crate) v4: Vec<(u128, u128)>,
    /// Merged inclusive IPv6 ranges, sorted.
    pub(crate) v6: Vec<(u128, u128)>,
    /// What the peers may reach.
    pub(crate) ports: PortRanges,
}

/// Inclusive ranges of addresses (as numbers).
type Ranges = Vec<(u128, u128)>;

/// Isolated local addresses with the index of their key, and the keys: sorted lists of
/// the groups whose rows apply.
type LocalKeys = (Vec<(IpAddr, usize)>, Vec<Vec<u32>>);

/// An interval of one family standing for the same columns.
struct Atom {
    lo: u128,
    hi: u128,
    /// `columns[start..end]` of the [`Atoms`].
    start: usize,
    end: usize,
}

/// Both families cut into atoms, in address order.
struct Atoms {
    families: [Vec<Atom>; 2],
    columns: Vec<usize>,
}

impl Engine {
    /// The rules of the node whose pods are `local` (indices into `model.cluster.pods`,
    /// which must be the model this engine was built from). Pods without an IP and
    /// host-network pods are never local pods: there is nothing to enforce for them.
    pub(crate) fn node_rules(&self, model: &Model, local: &[usize]) -> NodeRules {
        let atoms = self.atoms(model);
        let local_groups = self.local_groups(model, local);
        NodeRules {
            directions: [INGRESS, EGRESS].map(|direction| {
                let (addresses, keys) = &local_groups[direction];
                LocalRules {
                    addresses: addresses.clone(),
                    groups: keys
                        .iter()
                        .map(|groups| self.admits(&atoms, direction, groups))
                        .collect(),
                }
            }),
        }
    }

    /// Per direction: each isolated local address with the index of its group key, and
    /// the keys (the groups of every pod having the address, sorted) in first-seen order.
    fn local_groups(&self, model: &Model, local: &[usize]) -> [LocalKeys; 2] {
        let pods = &model.cluster.pods;
        let mut shared: BTreeMap<IpAddr, [Vec<u32>; 2]> = BTreeMap::new();
        for pod in local.iter().filter_map(|i| pods.get(*i)) {
            if !pod.host_network {
                for ip in &pod.ips {
                    shared.entry(*ip).or_default();
                }
            }
        }
        for (index, pod) in pods.iter().enumerate() {
            for ip in &pod.ips {
                if let Some(groups) = shared.get_mut(ip) {
                    let class = self.pod_class[index] as usize;
                    for direction in [INGRESS, EGRESS] {
                        let group = self.cells.group[direction][class];
                        if group != NONE {
                            groups[direction].push(group);
                        }
                    }
                }
            }
        }
        [INGRESS, EGRESS].map(|direction| {
            let mut index: HashMap<Vec<u32>, usize> = HashMap::default();
            let mut keys: Vec<Vec<u32>> = Vec::new();
            let mut addresses = Vec::new();
            for (ip, groups) in &shared {
                let mut key = groups[direction].clone();
                key.sort_unstable();
                key.dedup();
                if key.is_empty() {
                    continue;
                }
                let next = keys.len();
                let id = *index.entry(key.clone()).or_insert(next);
                if id == next {
                    keys.push(key);
                }
                addresses.push((*ip, id));
            }
            (addresses, keys)
        })
    }

    /// What the AND of `groups`' rows admits, per distinct non-zero mask.
    fn admits(&self, atoms: &Atoms, direction: usize, groups: &[u32]) -> Vec<Admit> {
        let mut index: HashMap<Vec<u64>, usize> = HashMap::default();
        let mut found: Vec<(Vec<u64>, [Ranges; 2])> = Vec::new();
        let mut mask = vec![0u64; self.words];
        for (family, list) in atoms.families.iter().enumerate() {
            for atom in list {
                mask.copy_from_slice(&self.all);
                for column in &atoms.columns[atom.start..atom.end] {
                    for group in groups {
                        let peer_type = self.peer_type[direction][*column];
                        let types = self.type_count[direction];
                        self.cells
                            .and_into(direction, *group, peer_type, types, self.words, &mut mask);
                    }
                }
                if mask.iter().all(|w| *w == 0) {
                    continue;
                }
                let id = match index.get(mask.as_slice()) {
                    Some(id) => *id,
                    None => {
                        index.insert(mask.clone(), found.len());
                        found.push((mask.clone(), Default::default()));
                        found.len() - 1
                    }
                };
                push_merged(&mut found[id].1[family], atom.lo, atom.hi);
            }
        }
        found
            .into_iter()
            .map(|(mask, [v4, v6])| Admit {
                v4,
                v6,
                ports: self.ports.to_ranges(&mask),
            })
            .collect()
    }

    /// Every address of both families as atoms (see the module docs).
    fn atoms(&self, model: &Model) -> Atoms {
        let classes = self.class_pods.len();
        let mut points: [Vec<(u128, usize)>; 2] = Default::default();
        for (index, pod) in model.cluster.pods.iter().enumerate() {
            let class = self.pod_class.get(index).map_or(0, |c| *c as usize);
            for ip in &pod.ips {
                let (bits, v6) = bits_of(*ip);
                points[usize::from(v6)].push((bits, class));
            }
        }
        let mut atoms = Atoms {
            families: Default::default(),
            columns: Vec::new(),
        };
        for v6 in [false, true] {
            let family = &mut points[usize::from(v6)];
            family.sort_unstable();
            family.dedup();
            let intervals: Vec<(u128, u128, usize)> = self
                .addresses
                .intervals(v6)
                .map(|(lo, hi, class)| (lo, hi, classes + class))
                .collect();
            atoms.cut(usize::from(v6), &intervals, family, family_max(v6));
        }
        atoms
    }
}

impl Atoms {
    /// Cuts one family's address intervals (`(first, last, column)`) at the pod IPs
    /// (`(address, pod class)`, sorted).
    fn cut(
        &mut self,
        family: usize,
        intervals: &[(u128, u128, usize)],
        points: &[(u128, usize)],
        max: u128,
    ) {
        let mut next = 0;
        for &(lo, hi, column) in intervals {
            let mut cursor = Some(lo);
            while let Some(&(ip, _)) = points.get(next).filter(|(ip, _)| *ip <= hi) {
                if let Some(from) = cursor.filter(|from| *from < ip) {
                    self.push(family, from, ip - 1, &[column]);
                }
                let same: Vec<usize> = points[next..]
                    .iter()
                    .take_while(|(other, _)| *other == ip)
                    .map(|(_, class)| *class)
                    .collect();
                next += same.len();
                self.push(family, ip, ip, &same);
                cursor = (ip < max).then(|| ip + 1);
            }
            if let Some(from) = cursor.filter(|from| *from <= hi) {
                self.push(family, from, hi, &[column]);
            }
        }
    }

    /// Appends an atom, merged into the previous one when it is adjacent and stands for
    /// the same columns.
    fn push(&mut self, family: usize, lo: u128, hi: u128, columns: &[usize]) {
        let list = &mut self.families[family];
        if let Some(last) = list.last_mut() {
            if last.hi.checked_add(1) == Some(lo) && self.columns[last.start..last.end] == *columns
            {
                last.hi = hi;
                return;
            }
        }
        let start = self.columns.len();
        self.columns.extend_from_slice(columns);
        list.push(Atom {
            lo,
            hi,
            start,
            end: self.columns.len(),
        });
    }
}

/// Appends `lo..=hi` to sorted ranges, merging it into the last one when adjacent.
fn push_merged(ranges: &mut Vec<(u128, u128)>, lo: u128, hi: u128) {
    if let Some(last) = ranges.last_mut() {
        if last.1.checked_add(1) == Some(lo) {
            last.1 = hi;
            return;
        }
    }
    ranges.push((lo, hi));
}

/// An address of a family, back from its number (for the compiler's text).
pub(crate) fn address(bits: u128, v6: bool) -> IpAddr {
    ip_of(bits, v6)
}
