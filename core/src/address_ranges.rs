//! The outside-address classes as address ranges, for outputs that must say which addresses
//! a class label stands for (`netpol connectivity -o json`'s `addresses`).
//!
//! The ranges are the engine's own intervals ([`Engine::address_classes`] are regions of the
//! address space every policy treats alike, cut at every `ipBlock` boundary); this module
//! only groups them by class and adds two presentation rules so the list covers every
//! address once:
//! - when no policy mentions an IPv6 block, every IPv6 address is in no block, exactly like
//!   the IPv4 class "any other address", so its range is listed under that class;
//! - if there is no such IPv4 class (a `0.0.0.0/0` block), the unmentioned IPv6 space is a
//!   class of its own, `any IPv6 address`.
//!
//! Classes whose every address is some pod's IP have no representative and are not listed
//! by the engine, so neither are their ranges: ask about those pods by id.

use std::net::{IpAddr, Ipv6Addr};

use crate::engine::Engine;

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

/// The engine's address classes, each with its ranges (see the module docs).
pub fn address_ranges(engine: &Engine) -> Vec<AddressRanges> {
    let mut out: Vec<AddressRanges> = engine
        .address_classes()
        .into_iter()
        .map(|class| AddressRanges {
            label: class.label,
            representative: class.representative,
            ranges: Vec::new(),
        })
        .collect();
    let mentions_v6 = out.iter().any(|c| c.representative.is_ipv6());
    // "any other address" (IPv4, in no block) takes unmentioned IPv6 space.
    let v4_rest = engine
        .address_intervals()
        .iter()
        .find(|i| !i.first.is_ipv6() && i.in_no_block)
        .and_then(|i| i.listed);
    for interval in engine.address_intervals() {
        let unmentioned_v6 = interval.first.is_ipv6() && !mentions_v6;
        let owner = if unmentioned_v6 {
            v4_rest
        } else {
            interval.listed
        };
        match owner {
            Some(c) => push_range(&mut out[c].ranges, interval.first, interval.last),
            None if unmentioned_v6 => out.push(AddressRanges {
                label: ANY_IPV6.to_string(),
                representative: IpAddr::V6(Ipv6Addr::new(
                    0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888,
                )),
                ranges: vec![(interval.first, interval.last)],
            }),
            // Every address of the interval is a pod IP: the engine lists no class.
            None => {}
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FileId;

    fn ranges_of(policies: &str) -> Vec<(String, Vec<String>)> {
        let model = crate::load(&[(FileId(0), "pod x/a ip=10.0.0.1\n"), (FileId(1), policies)]);
        address_ranges(&Engine::new(&model))
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
