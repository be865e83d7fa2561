//! Step 2, address classes: the boundaries of every `ipBlock` (`cidr` and `except`) cut
//! each address family into intervals; intervals contained in the same set of blocks form
//! one class. An outside address, and a pod's IPs, are looked up by binary search.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::hash::HashMap;
use crate::model::IpBlock;

/// An outside address class: a region of the address space that every policy treats the
/// same way (from the ipBlocks the policies mention), with one representative address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressClass {
    /// Human label, e.g. `10.0.0.0/8 except 10.1.0.0/16`, or `any other address`.
    pub label: String,
    /// An address inside the class (not a pod IP), to ask questions with.
    pub representative: IpAddr,
}

/// Both address families cut at every ipBlock boundary.
#[derive(Clone, Debug, Default)]
pub(super) struct AddressSpace {
    /// Per family (v4, v6): interval starts, sorted, the first 0; `class[i]` covers
    /// `starts[i]..starts[i + 1]`.
    families: [Family; 2],
    /// Distinct blocks contained in each address class.
    pub(super) class_blocks: Vec<Vec<usize>>,
    /// Classes for [`super::Engine::address_classes`].
    pub(super) listed: Vec<AddressClass>,
    /// The class id of each entry of `listed`.
    listed_ids: Vec<usize>,
}

/// One interval of the cut address space, for outputs that list a class's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interval {
    /// First and last address, inclusive.
    pub first: IpAddr,
    /// Last address, inclusive.
    pub last: IpAddr,
    /// Index into [`super::Engine::address_classes`]; `None` for a class the engine lists
    /// no representative for (every address a pod IP, or IPv6 no policy mentions).
    pub listed: Option<usize>,
    /// Whether the interval is inside no ipBlock at all.
    pub in_no_block: bool,
}

#[derive(Clone, Debug, Default)]
struct Family {
    starts: Vec<u128>,
    class: Vec<usize>,
}

/// An address as a number, and whether it is IPv6.
pub(super) fn bits_of(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    }
}

pub(super) fn ip_of(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

/// The last address of a family, as a number.
pub(super) fn family_max(v6: bool) -> u128 {
    if v6 {
        u128::MAX
    } else {
        u32::MAX as u128
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

/// The classes while they are being cut: what each contains, and its intervals.
#[derive(Default)]
struct Cutting {
    keys: HashMap<(bool, Vec<usize>), usize>,
    class_blocks: Vec<Vec<usize>>,
    intervals: Vec<Vec<(u128, u128)>>,
    v6: Vec<bool>,
}

impl Cutting {
    /// Cuts one family at every block boundary and classifies each interval.
    fn family(&mut self, blocks: &[IpBlock], v6: bool) -> Family {
        let max = family_max(v6);
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
            let next = self.class_blocks.len();
            let id = *self.keys.entry((v6, inside.clone())).or_insert(next);
            if id == next {
                self.class_blocks.push(inside);
                self.intervals.push(Vec::new());
                self.v6.push(v6);
            }
            self.intervals[id].push((start, end));
            class.push(id);
        }
        Family {
            starts: cuts,
            class,
        }
    }
}

impl AddressSpace {
    pub(super) fn new(blocks: &[IpBlock], pod_ips: &[IpAddr]) -> AddressSpace {
        let mut cutting = Cutting::default();
        let families = [cutting.family(blocks, false), cutting.family(blocks, true)];
        let (listed, listed_ids) = listed(blocks, &cutting, pod_ips).into_iter().unzip();
        AddressSpace {
            families,
            class_blocks: cutting.class_blocks,
            listed,
            listed_ids,
        }
    }

    pub(super) fn classes(&self) -> usize {
        self.class_blocks.len()
    }

    pub(super) fn class_of(&self, ip: IpAddr) -> usize {
        let (bits, v6) = bits_of(ip);
        let family = &self.families[usize::from(v6)];
        // `starts[0] == 0`, so the partition point is at least 1.
        let i = family
            .starts
            .partition_point(|s| *s <= bits)
            .saturating_sub(1);
        family.class.get(i).copied().unwrap_or(0)
    }

    /// Both families' intervals in address order (v4 first), each with the listed class it
    /// belongs to.
    pub(super) fn listed_intervals(&self) -> Vec<Interval> {
        let mut listed_of = vec![None; self.classes()];
        for (index, id) in self.listed_ids.iter().enumerate() {
            listed_of[*id] = Some(index);
        }
        [false, true]
            .into_iter()
            .flat_map(|v6| self.intervals(v6).map(move |i| (v6, i)))
            .map(|(v6, (first, last, class))| Interval {
                first: ip_of(first, v6),
                last: ip_of(last, v6),
                listed: listed_of[class],
                in_no_block: self.class_blocks[class].is_empty(),
            })
            .collect()
    }

    /// The intervals of one family in address order: `(first, last, class)`.
    pub(super) fn intervals(&self, v6: bool) -> impl Iterator<Item = (u128, u128, usize)> + '_ {
        let family = &self.families[usize::from(v6)];
        family.starts.iter().enumerate().map(move |(i, start)| {
            let end = family
                .starts
                .get(i + 1)
                .map_or(family_max(v6), |next| next - 1);
            (*start, end, family.class[i])
        })
    }
}

/// The classes worth listing (those with a representative) with their class ids, sorted:
/// v4 before v6, specific classes before "any other", then by label.
fn listed(blocks: &[IpBlock], cutting: &Cutting, pod_ips: &[IpAddr]) -> Vec<(AddressClass, usize)> {
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
    let mut listed: Vec<(bool, bool, String, IpAddr, usize)> = Vec::new();
    for (id, intervals) in cutting.intervals.iter().enumerate() {
        let v6 = cutting.v6[id];
        if v6 && !mentions_v6 {
            continue;
        }
        let Some(rep) = representative(intervals, v6, &taken) else {
            continue;
        };
        let inside = &cutting.class_blocks[id];
        let label = class_label(blocks, inside, v6);
        listed.push((v6, inside.is_empty(), label, rep, id));
    }
    listed.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    listed
        .into_iter()
        .map(|(_, _, label, representative, id)| {
            (
                AddressClass {
                    label,
                    representative,
                },
                id,
            )
        })
        .collect()
}

/// The most specific block containing the class names it; blocks that cut holes into that
/// block are listed after "not in".
fn class_label(blocks: &[IpBlock], inside: &[usize], v6: bool) -> String {
    let Some(main) = inside
        .iter()
        .copied()
        .max_by_key(|b| (blocks[*b].cidr.prefix, std::cmp::Reverse(*b)))
    else {
        return if v6 {
            "any other IPv6 address".to_string()
        } else {
            "any other address".to_string()
        };
    };
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
