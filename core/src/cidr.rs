//! IPv4 and IPv6 CIDR blocks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An address block, normalised so host bits are zero (`10.0.0.5/8` is kept as written in
/// `text` for messages, but `addr` is `10.0.0.0`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cidr {
    /// Network address with host bits cleared.
    pub addr: IpAddr,
    /// Prefix length (0..=32 for v4, 0..=128 for v6).
    pub prefix: u8,
}

/// Why a string is not a CIDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// No `/` in the text.
    MissingPrefix,
    /// The address part does not parse.
    BadAddress,
    /// The prefix is not a number in range for the address family.
    BadPrefix,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CidrError::MissingPrefix => "missing /prefix",
            CidrError::BadAddress => "the address is not a valid IPv4 or IPv6 address",
            CidrError::BadPrefix => "the prefix length is out of range",
        })
    }
}

fn to_bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn full(width: u8) -> u128 {
    if width == 32 {
        u32::MAX as u128
    } else {
        u128::MAX
    }
}

/// Network mask of `prefix` bits in a `width`-bit family.
fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        (full(width) << (width - prefix)) & full(width)
    }
}

fn from_bits(bits: u128, width: u8) -> IpAddr {
    if width == 32 {
        IpAddr::V4((bits as u32).into())
    } else {
        IpAddr::V6(bits.into())
    }
}

impl Cidr {
    /// A block from an address and prefix; host bits are cleared. `None` if the prefix is
    /// too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let (bits, width) = to_bits(addr);
        if prefix > width {
            return None;
        }
        Some(Cidr {
            addr: from_bits(bits & mask(prefix, width), width),
            prefix,
        })
    }

    /// Whether the original text had host bits set (e.g. `10.0.0.5/8`); Kubernetes accepts
    /// it, but it usually hides a typo.
    pub fn has_host_bits(addr: IpAddr, prefix: u8) -> bool {
        let (bits, width) = to_bits(addr);
        prefix <= width && bits & !mask(prefix, width) & full(width) != 0
    }

    /// Whether `ip` lies in this block (different families never match).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, wa) = to_bits(self.addr);
        let (b, wb) = to_bits(ip);
        wa == wb && (b & mask(self.prefix, wa)) == a
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains_cidr(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// True for IPv6 blocks.
    pub fn is_v6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// First and last address of the block, as numbers in the family's width.
    pub fn range(&self) -> (u128, u128) {
        let (a, w) = to_bits(self.addr);
        let m = mask(self.prefix, w);
        (a, a | (!m & full(w)))
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = s.trim().split_once('/').ok_or(CidrError::MissingPrefix)?;
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::BadPrefix);
        }
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::BadPrefix)?;
        Cidr::new(addr, prefix).ok_or(CidrError::BadPrefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_contain() {
        let table: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("10.1.2.3/32", "10.1.2.3", true),
            ("10.1.2.3/32", "10.1.2.4", false),
            ("::/0", "2001:db8::1", true),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("2001:db8::1/128", "2001:db8::1", true),
        ];
        for (cidr, ip, want) in table {
            let c: Cidr = cidr.parse().unwrap();
            assert_eq!(c.contains(ip.parse().unwrap()), *want, "{cidr} ∋ {ip}");
        }
    }

    #[test]
    fn normalises_and_rejects() {
        let c: Cidr = "10.0.0.5/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(Cidr::has_host_bits("10.0.0.5".parse().unwrap(), 8));
        assert!(!Cidr::has_host_bits("10.0.0.0".parse().unwrap(), 8));
        assert_eq!("10.0.0.0".parse::<Cidr>(), Err(CidrError::MissingPrefix));
        assert_eq!("10.0.0.0/33".parse::<Cidr>(), Err(CidrError::BadPrefix));
        assert_eq!("10.0.0/8".parse::<Cidr>(), Err(CidrError::BadAddress));
        assert_eq!("::/129".parse::<Cidr>(), Err(CidrError::BadPrefix));
        let a: Cidr = "10.0.0.0/8".parse().unwrap();
        let b: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(a.contains_cidr(&b) && !b.contains_cidr(&a));
        assert_eq!(b.range(), (0x0a01_0000, 0x0a01_ffff));
    }
}
