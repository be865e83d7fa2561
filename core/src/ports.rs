//! Sets of ports as sorted, merged, inclusive ranges.

use serde::Serialize;

use crate::model::Protocol;

/// A set of port numbers as sorted, non-overlapping, non-adjacent inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PortSet {
    /// `[(first, last)]`, sorted and merged.
    pub ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// No ports.
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// Every port, 1 to 65535 (port 0 is not a port a connection can target).
    pub fn all() -> PortSet {
        PortSet {
            ranges: vec![(1, 65535)],
        }
    }

    /// Builds a set from arbitrary ranges (each `(a, b)` with `a <= b`; others ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u16, u16)>) -> PortSet {
        let mut v: Vec<(u16, u16)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if a as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        PortSet { ranges: out }
    }

    /// True when no port is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|(a, b)| *a <= port && port <= *b)
    }

    /// Union.
    pub fn union(&self, other: &PortSet) -> PortSet {
        PortSet::from_ranges(self.ranges.iter().chain(&other.ranges).copied())
    }

    /// Intersection: the ports in both sets.
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        // Both lists are sorted and disjoint: walk them together like a merge.
        while let (Some(&(a1, b1)), Some(&(a2, b2))) = (self.ranges.get(i), other.ranges.get(j)) {
            let (first, last) = (a1.max(a2), b1.min(b2));
            if first <= last {
                out.push((first, last));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet { ranges: out }
    }

    /// Difference: the ports of `self` not in `other`.
    pub fn difference(&self, other: &PortSet) -> PortSet {
        // The complement of `other` within 1..=65535 (port 0 is never in a set), intersected.
        let mut complement = Vec::with_capacity(other.ranges.len() + 1);
        let mut next: u32 = 1;
        for &(a, b) in &other.ranges {
            if (a as u32) > next {
                complement.push((next as u16, a - 1));
            }
            next = b as u32 + 1;
        }
        if next <= 65535 {
            complement.push((next as u16, 65535));
        }
        self.intersection(&PortSet { ranges: complement })
    }
}

impl std::fmt::Display for PortSet {
    /// `1-65535`, `53`, `80,443,8000-8080`; empty prints as `-`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ranges.is_empty() {
            return f.write_str("-");
        }
        for (i, (a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// Allowed ports per protocol for one ordered pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AllowedPorts {
    /// TCP ports.
    pub tcp: PortSet,
    /// UDP ports.
    pub udp: PortSet,
    /// SCTP ports.
    pub sctp: PortSet,
}

impl AllowedPorts {
    /// Every port of every protocol.
    pub fn all() -> AllowedPorts {
        AllowedPorts {
            tcp: PortSet::all(),
            udp: PortSet::all(),
            sctp: PortSet::all(),
        }
    }

    /// The set for `protocol`.
    pub fn get(&self, protocol: Protocol) -> &PortSet {
        match protocol {
            Protocol::TCP => &self.tcp,
            Protocol::UDP => &self.udp,
            Protocol::SCTP => &self.sctp,
        }
    }

    /// The set for `protocol`, mutably.
    pub fn get_mut(&mut self, protocol: Protocol) -> &mut PortSet {
        match protocol {
            Protocol::TCP => &mut self.tcp,
            Protocol::UDP => &mut self.udp,
            Protocol::SCTP => &mut self.sctp,
        }
    }

    /// True when nothing at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.tcp.is_empty() && self.udp.is_empty() && self.sctp.is_empty()
    }

    /// Per protocol, the ports in either.
    pub fn union(&self, other: &AllowedPorts) -> AllowedPorts {
        AllowedPorts {
            tcp: self.tcp.union(&other.tcp),
            udp: self.udp.union(&other.udp),
            sctp: self.sctp.union(&other.sctp),
        }
    }

    /// Per protocol, the ports in both.
    pub fn intersection(&self, other: &AllowedPorts) -> AllowedPorts {
        AllowedPorts {
            tcp: self.tcp.intersection(&other.tcp),
            udp: self.udp.intersection(&other.udp),
            sctp: self.sctp.intersection(&other.sctp),
        }
    }

    /// Per protocol, the ports of `self` not in `other`.
    pub fn difference(&self, other: &AllowedPorts) -> AllowedPorts {
        AllowedPorts {
            tcp: self.tcp.difference(&other.tcp),
            udp: self.udp.difference(&other.udp),
            sctp: self.sctp.difference(&other.sctp),
        }
    }
}

impl std::fmt::Display for AllowedPorts {
    /// `all ports`, `nothing`, or the protocols that allow something, in [`Protocol::ALL`]
    /// order: `TCP 53,3306; UDP 53`, `TCP 1-65535; UDP 53`. The one text for port sets in
    /// every front-end (CLI connectivity, diff and test reports, the playground's labels).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == AllowedPorts::all() {
            return f.write_str("all ports");
        }
        if self.is_empty() {
            return f.write_str("nothing");
        }
        let allowing = Protocol::ALL
            .into_iter()
            .filter(|p| !self.get(*p).is_empty());
        for (i, protocol) in allowing.enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{protocol} {}", self.get(protocol))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn difference_cuts_ranges() {
        type Ranges = &'static [(u16, u16)];
        let set = |r: Ranges| PortSet::from_ranges(r.iter().copied());
        let table: &[(Ranges, Ranges, &str)] = &[
            (&[(1, 65535)], &[(53, 53)], "1-52,54-65535"),
            (&[(80, 90)], &[(1, 65535)], "-"),
            (&[(80, 90)], &[], "80-90"),
            (&[(80, 90), (443, 443)], &[(85, 500)], "80-84"),
            (&[(1, 1), (65535, 65535)], &[(2, 65534)], "1,65535"),
            (
                &[(1, 100), (200, 300)],
                &[(50, 60), (250, 400)],
                "1-49,61-100,200-249",
            ),
            (&[(1, 65535)], &[(65535, 65535)], "1-65534"),
        ];
        for (a, b, want) in table {
            assert_eq!(
                set(a).difference(&set(b)).to_string(),
                *want,
                "{a:?} - {b:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn merge_and_display() {
        let table: &[(&[(u16, u16)], &str)] = &[
            (&[], "-"),
            (&[(80, 80)], "80"),
            (&[(80, 80), (81, 90), (443, 443)], "80-90,443"),
            (&[(100, 200), (150, 160), (1, 5)], "1-5,100-200"),
            (&[(5, 1)], "-"),
            (&[(1, 65535), (65535, 65535)], "1-65535"),
        ];
        for (input, want) in table {
            assert_eq!(
                PortSet::from_ranges(input.iter().copied()).to_string(),
                *want
            );
        }
    }

    #[test]
    fn allowed_ports_text() {
        let set = |r: &[(u16, u16)]| PortSet::from_ranges(r.iter().copied());
        let table: &[(AllowedPorts, &str)] = &[
            (AllowedPorts::all(), "all ports"),
            (AllowedPorts::default(), "nothing"),
            (
                AllowedPorts {
                    tcp: set(&[(53, 53), (3306, 3306)]),
                    udp: set(&[(53, 53)]),
                    sctp: PortSet::empty(),
                },
                "TCP 53,3306; UDP 53",
            ),
            (
                AllowedPorts {
                    tcp: PortSet::all(),
                    udp: set(&[(53, 53)]),
                    sctp: PortSet::all(),
                },
                "TCP 1-65535; UDP 53; SCTP 1-65535",
            ),
            (
                AllowedPorts {
                    sctp: set(&[(132, 132), (8000, 8080)]),
                    ..AllowedPorts::default()
                },
                "SCTP 132,8000-8080",
            ),
        ];
        for (ports, want) in table {
            assert_eq!(ports.to_string(), *want);
        }
    }

    #[test]
    fn intersection_of_ranges() {
        type Ranges = &'static [(u16, u16)];
        let set = |r: Ranges| PortSet::from_ranges(r.iter().copied());
        let table: &[(Ranges, Ranges, &str)] = &[
            (&[], &[(1, 65535)], "-"),
            (&[(1, 65535)], &[(53, 53), (80, 90)], "53,80-90"),
            (&[(10, 20), (30, 40)], &[(15, 35)], "15-20,30-35"),
            (&[(53, 53)], &[(8080, 8080)], "-"),
            (&[(1, 5), (7, 9)], &[(5, 7)], "5,7"),
        ];
        for (a, b, want) in table {
            assert_eq!(set(a).intersection(&set(b)).to_string(), *want);
            assert_eq!(set(b).intersection(&set(a)).to_string(), *want);
        }
    }
}
