//! Step 3, port classes: per protocol, the numbers and ranges the rules mention (and the
//! numbers that named ports resolve to) cut `0..=65535` into atoms; atoms covered by the
//! same entries form one class. A resolved named-port number is always its own class.
//!
//! One more class, the last, stands for "any other protocol" (ICMP, ...): a rule without
//! `ports` admits every protocol, so only port-less rules and a side that is not isolated
//! set it. The evaluator's questions are about TCP, UDP and SCTP ports, so it never shows
//! in [`AllowedPorts`]; the nftables compiler needs it to keep ICMP flowing exactly where
//! a port-less rule admits the peer.

use super::bits::set_bit;
use super::hash::HashMap;
use crate::model::Protocol;
use crate::ports::{AllowedPorts, PortSet};

/// Per protocol, the port atoms and their classes.
#[derive(Clone, Debug, Default)]
pub(super) struct PortSpace {
    /// Per protocol: atom starts (first is 0), and each atom's global port class.
    starts: [Vec<u32>; 3],
    atom_class: [Vec<usize>; 3],
    /// Per port class except the last ("any other protocol"): its protocol and inclusive
    /// ranges.
    class_protocol: Vec<Protocol>,
    class_ranges: Vec<Vec<(u16, u16)>>,
}

/// Ports per protocol as inclusive ranges, port 0 included (a mask's raw content, for the
/// nftables compiler), and whether every other protocol is admitted too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PortRanges {
    /// TCP, UDP, SCTP: sorted, merged.
    pub(crate) per_protocol: [Vec<(u16, u16)>; 3],
    /// Every protocol without ports (ICMP, ...) is admitted: a port-less rule matched.
    pub(crate) any_protocol: bool,
}

pub(super) fn proto_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::TCP => 0,
        Protocol::UDP => 1,
        Protocol::SCTP => 2,
    }
}

impl PortSpace {
    /// `ranges[p]`: the numeric ranges rules mention for protocol `p`; `named[p]`: numbers
    /// that named ports resolve to.
    pub(super) fn new(ranges: &[Vec<(u16, u16)>; 3], named: &[Vec<u16>; 3]) -> PortSpace {
        let mut space = PortSpace::default();
        for protocol in Protocol::ALL {
            space.cut(
                protocol,
                &ranges[proto_index(protocol)],
                &named[proto_index(protocol)],
            );
        }
        space
    }

    /// Cuts one protocol's port range into atoms and classifies them.
    fn cut(&mut self, protocol: Protocol, ranges: &[(u16, u16)], named: &[u16]) {
        let p = proto_index(protocol);
        let mut cuts: Vec<u32> = vec![0];
        for &(a, b) in ranges {
            cuts.push(a as u32);
            cuts.push(b as u32 + 1);
        }
        for &n in named {
            cuts.push(n as u32);
            cuts.push(n as u32 + 1);
        }
        cuts.retain(|c| *c <= 65535);
        cuts.sort_unstable();
        cuts.dedup();
        let mut named_sorted = named.to_vec();
        named_sorted.sort_unstable();
        named_sorted.dedup();
        let mut keys: HashMap<(Vec<usize>, Option<u16>), usize> = HashMap::default();
        let mut atom_class = Vec::with_capacity(cuts.len());
        for (i, &start) in cuts.iter().enumerate() {
            let end = cuts.get(i + 1).map_or(65535, |n| n - 1);
            let covered: Vec<usize> = ranges
                .iter()
                .enumerate()
                .filter(|(_, (a, b))| *a as u32 <= start && start <= *b as u32)
                .map(|(i, _)| i)
                .collect();
            // A resolved named number is its own class: the same rule may admit it at
            // one destination and not at another.
            let own = (start == end && named_sorted.binary_search(&(start as u16)).is_ok())
                .then_some(start as u16);
            let next = self.class_ranges.len();
            let id = *keys.entry((covered, own)).or_insert(next);
            if id == next {
                self.class_protocol.push(protocol);
                self.class_ranges.push(Vec::new());
            }
            self.class_ranges[id].push((start as u16, end as u16));
            atom_class.push(id);
        }
        self.starts[p] = cuts;
        self.atom_class[p] = atom_class;
    }

    /// Number of port classes, "any other protocol" included.
    pub(super) fn classes(&self) -> usize {
        self.class_ranges.len() + 1
    }

    /// The class "any other protocol".
    pub(super) fn any_protocol(&self) -> usize {
        self.class_ranges.len()
    }

    /// The mask of every class: what a side that is not isolated, or a port-less rule,
    /// admits.
    pub(super) fn all(&self, words: usize) -> Vec<u64> {
        let mut mask = vec![0u64; words];
        for k in 0..self.classes() {
            set_bit(&mut mask, k);
        }
        mask
    }

    pub(super) fn class_of(&self, protocol: Protocol, port: u16) -> usize {
        let p = proto_index(protocol);
        let i = self.starts[p]
            .partition_point(|s| *s <= port as u32)
            .saturating_sub(1);
        self.atom_class[p].get(i).copied().unwrap_or(0)
    }

    /// Mask of the classes of every port in `first..=last` of `protocol`.
    pub(super) fn range_mask(&self, protocol: Protocol, first: u16, last: u16, out: &mut [u64]) {
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
            set_bit(out, k);
        }
    }

    /// The ranges of every class in `mask`, per protocol (unmerged), and whether "any
    /// other protocol" is in it.
    fn ranges(&self, mask: &[u64]) -> ([Vec<(u16, u16)>; 3], bool) {
        let mut per: [Vec<(u16, u16)>; 3] = Default::default();
        let mut any_protocol = false;
        for (w, word) in mask.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let k = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let (Some(protocol), Some(ranges)) =
                    (self.class_protocol.get(k), self.class_ranges.get(k))
                else {
                    any_protocol |= k == self.any_protocol();
                    continue;
                };
                per[proto_index(*protocol)].extend_from_slice(ranges);
            }
        }
        (per, any_protocol)
    }

    /// The ports a mask admits, as the evaluator reports them.
    pub(super) fn to_allowed(&self, mask: &[u64]) -> AllowedPorts {
        let (per, _) = self.ranges(mask);
        // Port 0 is not a port a connection can target.
        let set = |ranges: Vec<(u16, u16)>| {
            PortSet::from_ranges(
                ranges
                    .into_iter()
                    .filter(|(_, b)| *b >= 1)
                    .map(|(a, b)| (a.max(1), b)),
            )
        };
        let [tcp, udp, sctp] = per;
        AllowedPorts {
            tcp: set(tcp),
            udp: set(udp),
            sctp: set(sctp),
        }
    }

    /// The ports a mask admits, exactly (port 0 included), for the nftables compiler.
    pub(super) fn to_ranges(&self, mask: &[u64]) -> PortRanges {
        let (per, any_protocol) = self.ranges(mask);
        PortRanges {
            per_protocol: per.map(|ranges| PortSet::from_ranges(ranges).ranges),
            any_protocol,
        }
    }
}
