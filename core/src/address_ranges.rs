//! The outside-address classes as address ranges, for outputs that must say which addresses
//! a class label stands for (`netpol connectivity -o json`'s `addresses`).
//!
//! The engine's classes ([`Engine::address_classes`]) are regions of the address space
//! every policy treats alike: the addresses contained in the same set of `ipBlock`s (of the
//! rules the policies enforce). This cuts both families at every block boundary, as the
//! engine does, and gives each listed class the intervals whose set of containing blocks is
//! its representative's. Two additions make the list cover every address once:
//! - when no policy mentions an IPv6 block, every IPv6 address is in no block, exactly like
//!   the IPv4 class "any other address", so its range is listed under that class;
//! - if there is no such IPv4 class (a `0.0.0.0/0` block), the unmentioned IPv6 space is a
//!   class of its own, `any IPv6 address`.
//!
//! Classes whose every address is some pod's IP have no representative and are not listed
//! by the engine, so neither are their ranges: ask about those pods by id.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::engine::Engine;
use crate::model::{IpBlock, Model};

/// One class of outside addresses with the inclusive ranges it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRanges {
    /// The class label (the engine's, or `any IPv6 address`).
    pub label: String,
    /// An address of the class to ask the engine with.
    pub representative: IpAddr,
    /// Inclusive `(first, last)` ranges, IPv4 before IPv6, ascending, merged.
    pub ranges: Vec<(IpAddr, IpAddr)>,
}

/// The label of the IPv6 space when no policy mentions IPv6 and no IPv4 class can take it.
pub const ANY_IPV6: &str = "any IPv6 address";

/// The engine's address classes of `model`, each with its ranges (see the module docs).
pub fn address_ranges(model: &Model, engine: &Engine) -> Vec<AddressRanges> {
    let blocks = enforced_blocks(model);
    let mentions_v6 = blocks.iter().any(|b| b.cidr.is_v6());
    let mut out: Vec<AddressRanges> = engine
        .address_classes()
        .into_iter()
        .map(|class| AddressRanges {
            label: class.label,
            representative: class.representative,
            ranges: Vec::new(),
        })
        .collect();
    let members: Vec<(bool, Vec<usize>)> = out
        .iter()
        .map(|c| {
            (
                c.representative.is_ipv6(),
                inside(&blocks, c.representative),
            )
        })
        .collect();
    for v6 in [false, true] {
        for (first, last, set) in intervals(&blocks, v6) {
            let owner = members.iter().position(|(f, m)| *f == v6 && *m == set);
            // Unmentioned IPv6 space is in no block, like IPv4's "any other address".
            let owner = owner.or_else(|| {
                (v6 && !mentions_v6)
                    .then(|| members.iter().position(|(f, m)| !*f && m.is_empty()))
                    .flatten()
            });
            match owner {
                Some(c) => push_range(&mut out[c].ranges, ip_of(first, v6), ip_of(last, v6)),
                None if v6 && !mentions_v6 => out.push(AddressRanges {
                    label: ANY_IPV6.to_string(),
                    representative: IpAddr::V6(Ipv6Addr::new(
                        0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888,
                    )),
                    ranges: vec![(ip_of(first, v6), ip_of(last, v6))],
                }),
                // Every address of the interval is a pod IP: the engine lists no class.
                None => {}
            }
        }
    }
    out
}

/// The distinct `ipBlock`s of the rules the policies enforce (directions in
/// `policyTypes`), the blocks the engine cuts the address space with.
fn enforced_blocks(model: &Model) -> Vec<IpBlock> {
    let mut blocks: Vec<IpBlock> = Vec::new();
    for policy in &model.policies {
        for direction in policy.policy_types.iter().copied() {
            for rule in policy.rules(direction) {
                for block in rule.peers.iter().filter_map(|p| p.ip_block.as_ref()) {
                    if !blocks.contains(block) {
                        blocks.push(block.clone());
                    }
                }
            }
        }
    }
    blocks
}

/// Indices of the blocks containing `ip`.
fn inside(blocks: &[IpBlock], ip: IpAddr) -> Vec<usize> {
    (0..blocks.len())
        .filter(|i| blocks[*i].contains(ip))
        .collect()
}

/// The family cut at every block boundary: `(first, last, blocks containing it)`.
fn intervals(blocks: &[IpBlock], v6: bool) -> Vec<(u128, u128, Vec<usize>)> {
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
    cuts.iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = cuts.get(i + 1).map_or(max, |next| next - 1);
            (start, end, inside(blocks, ip_of(start, v6)))
        })
        .collect()
}

/// Appends `(first, last)`, merging it into the previous range when adjacent.
fn push_range(ranges: &mut Vec<(IpAddr, IpAddr)>, first: IpAddr, last: IpAddr) {
    if let Some(prev) = ranges.last_mut() {
        if bits(prev.1).checked_add(1) == Some(bits(first)) && prev.1.is_ipv6() == first.is_ipv6() {
            prev.1 = last;
            return;
        }
    }
    ranges.push((first, last));
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn ip_of(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FileId;

    fn ranges_of(policies: &str) -> Vec<(String, Vec<String>)> {
        let model = crate::load(&[(FileId(0), "pod x/a ip=10.0.0.1\n"), (FileId(1), policies)]);
        address_ranges(&model, &Engine::new(&model))
            .into_iter()
            .map(|c| {
                let r = c.ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
                (c.label, r)
            })
            .collect()
    }

    const HEAD: &str = "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  egress:\n  - to:\n";

    #[test]
    fn except_cuts_a_hole_and_ipv6_joins_any_other_address() {
        let got = ranges_of(&format!(
            "{HEAD}    - ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}\n"
        ));
        assert_eq!(
            got,
            [
                (
                    "10.0.0.0/8 except 10.1.0.0/16".to_string(),
                    vec![
                        "10.0.0.0-10.0.255.255".to_string(),
                        "10.2.0.0-10.255.255.255".to_string()
                    ]
                ),
                (
                    "any other address".to_string(),
                    vec![
                        "0.0.0.0-9.255.255.255".to_string(),
                        "10.1.0.0-10.1.255.255".to_string(),
                        "11.0.0.0-255.255.255.255".to_string(),
                        "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_string(),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn without_an_ipv4_rest_unmentioned_ipv6_is_its_own_class() {
        let got = ranges_of(&format!("{HEAD}    - ipBlock: {{cidr: 0.0.0.0/0}}\n"));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, ["0.0.0.0-255.255.255.255"]);
        assert_eq!(
            got[1],
            (
                ANY_IPV6.to_string(),
                vec!["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_string()]
            )
        );
    }

    #[test]
    fn mentioned_ipv6_keeps_its_own_classes() {
        let got = ranges_of(&format!("{HEAD}    - ipBlock: {{cidr: \"fd00::/8\"}}\n"));
        let labels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["any other address", "fd00::/8", "any other IPv6 address"]
        );
        assert_eq!(got[0].1, ["0.0.0.0-255.255.255.255"]);
        assert_eq!(
            got[2].1,
            [
                "::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "fe00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ]
        );
    }
}
