//! A small interpreter for the rulesets `nft::compile` writes, so property tests can send
//! packets through the *text* and compare with the reference evaluator. It knows exactly
//! the statements the compiler emits (and fails loudly on anything else); the agent's
//! tests send real packets through real nftables for the same rulesets.
//!
//! A packet is judged by the two base chains in priority order (`egress`, then `ingress`);
//! it passes when neither drops it. Only new connections are simulated, so
//! `ct state established,related accept` never matches.

use std::collections::HashMap;
use std::net::IpAddr;

/// What the packet carries after the IP header.
#[derive(Clone, Copy, Debug)]
pub enum L4 {
    /// `tcp`, `udp` or `sctp` with a destination port.
    Port(&'static str, u16),
    /// Any other protocol (ICMP, ...).
    Other,
}

/// A packet: addresses and transport.
#[derive(Clone, Copy, Debug)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4,
}

/// A parsed ruleset.
pub struct Ruleset {
    /// Interval sets: inclusive ranges of addresses (as numbers).
    sets: HashMap<String, Vec<(u128, u128)>>,
    /// Verdict maps: address → chain to jump to.
    maps: HashMap<String, HashMap<u128, String>>,
    /// Chains and their rules (tokens).
    chains: HashMap<String, Vec<Vec<String>>>,
    /// Base chains in the order packets meet them (by priority).
    base: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Accept,
    Drop,
}

fn number(ip: &str) -> u128 {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => u32::from(a) as u128,
        Ok(IpAddr::V6(a)) => u128::from(a),
        Err(_) => panic!("not an address: {ip:?}"),
    }
}

fn address_number(ip: IpAddr) -> u128 {
    number(&ip.to_string())
}

/// Splits a rule into tokens; `{ a, b }` becomes one token `{a,b}`.
fn tokens(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut group: Option<String> = None;
    for word in rule.split_whitespace() {
        match (&mut group, word) {
            (None, "{") => group = Some("{".to_string()),
            (Some(g), "}") => {
                g.push('}');
                out.push(group.take().unwrap_or_default());
            }
            (Some(g), w) => {
                if !g.ends_with('{') {
                    g.push(',');
                }
                g.push_str(w.trim_end_matches(','));
            }
            (None, w) => out.push(w.to_string()),
        }
    }
    assert!(group.is_none(), "unclosed brace in {rule:?}");
    out
}

/// The elements of a `{a,b}` token, or the token itself.
fn elements(token: &str) -> Vec<&str> {
    match token.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(inner) => inner.split(',').collect(),
        None => vec![token],
    }
}

impl Ruleset {
    /// Parses the compiler's text; panics on anything it does not write.
    pub fn parse(text: &str) -> Ruleset {
        let mut ruleset = Ruleset {
            sets: HashMap::new(),
            maps: HashMap::new(),
            chains: HashMap::new(),
            base: Vec::new(),
        };
        let mut priorities: Vec<(i32, String)> = Vec::new();
        let mut current: Option<(String, String)> = None; // (keyword, name)
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty()
                || t.starts_with('#')
                || t.starts_with("add table")
                || t.starts_with("delete table")
                || t.starts_with("table ")
            {
                continue;
            }
            if t == "}" {
                current = None;
                continue;
            }
            if let Some(rest) = t.strip_suffix(" {") {
                let (keyword, name) = rest.split_once(' ').expect("keyword and name");
                current = Some((keyword.to_string(), name.to_string()));
                if keyword == "chain" {
                    ruleset.chains.insert(name.to_string(), Vec::new());
                }
                continue;
            }
            let (keyword, name) = current.clone().expect("a statement inside a block");
            match keyword.as_str() {
                "set" | "map" => ruleset.set_line(&keyword, &name, t),
                "chain" => {
                    if let Some(rest) = t.strip_prefix("type filter hook forward priority ") {
                        let priority = rest.split(';').next().unwrap_or("").trim();
                        priorities.push((priority.parse().expect("priority"), name.clone()));
                        continue;
                    }
                    ruleset
                        .chains
                        .get_mut(&name)
                        .expect("chain")
                        .push(tokens(t));
                }
                other => panic!("unknown block {other}"),
            }
        }
        priorities.sort();
        ruleset.base = priorities.into_iter().map(|(_, name)| name).collect();
        ruleset
    }

    fn set_line(&mut self, keyword: &str, name: &str, line: &str) {
        let Some(list) = line
            .strip_prefix("elements = { ")
            .and_then(|l| l.strip_suffix(" }"))
        else {
            assert!(
                line.starts_with("type ") || line == "flags interval",
                "unknown set line {line:?}"
            );
            return;
        };
        for element in list.split(", ") {
            if keyword == "map" {
                let (key, verdict) = element.split_once(" : jump ").expect("map element");
                self.maps
                    .entry(name.to_string())
                    .or_default()
                    .insert(number(key), verdict.to_string());
                continue;
            }
            // An address, or `a-b` (v6 addresses contain no `-`).
            let (lo, hi) = element.split_once('-').unwrap_or((element, element));
            self.sets
                .entry(name.to_string())
                .or_default()
                .push((number(lo), number(hi)));
        }
    }

    /// Whether the ruleset lets a new connection's first packet through.
    pub fn admits(&self, packet: &Packet) -> bool {
        self.base
            .iter()
            .all(|chain| self.chain(chain, packet) != Some(Verdict::Drop))
    }

    /// The verdict of a chain; `None` when it falls through.
    fn chain(&self, name: &str, packet: &Packet) -> Option<Verdict> {
        for rule in &self.chains[name] {
            if let Some(verdict) = self.rule(rule, packet) {
                return Some(verdict);
            }
        }
        None
    }

    /// The verdict of a rule, if it matches (or its jump decides).
    fn rule(&self, rule: &[String], packet: &Packet) -> Option<Verdict> {
        let v6 = packet.src.is_ipv6();
        let mut i = 0;
        let word = |i: usize| rule.get(i).map(String::as_str).unwrap_or("");
        while i < rule.len() {
            match word(i) {
                "accept" => return Some(Verdict::Accept),
                "drop" => return Some(Verdict::Drop),
                "ct" => return None, // established,related: never for a new connection
                family @ ("ip" | "ip6") => {
                    if (family == "ip6") != v6 {
                        return None;
                    }
                    let address = match word(i + 1) {
                        "saddr" => address_number(packet.src),
                        "daddr" => address_number(packet.dst),
                        other => panic!("unknown address {other}"),
                    };
                    if word(i + 2) == "vmap" {
                        let map = word(i + 3).trim_start_matches('@');
                        let chain = self.maps.get(map)?.get(&address)?;
                        return self.chain(chain, packet);
                    }
                    let set = word(i + 2).strip_prefix('@').expect("a set");
                    if !self.sets[set]
                        .iter()
                        .any(|(a, b)| *a <= address && address <= *b)
                    {
                        return None;
                    }
                    i += 3;
                }
                "meta" => {
                    let (what, negate, value) = match word(i + 2) {
                        "!=" => (word(i + 1), true, word(i + 3)),
                        value => (word(i + 1), false, value),
                    };
                    let have = match what {
                        "nfproto" => {
                            if v6 {
                                "ipv6"
                            } else {
                                "ipv4"
                            }
                        }
                        "l4proto" => match packet.l4 {
                            L4::Port(protocol, _) => protocol,
                            L4::Other => "icmp",
                        },
                        other => panic!("unknown meta {other}"),
                    };
                    if elements(value).contains(&have) == negate {
                        return None;
                    }
                    i += if negate { 4 } else { 3 };
                }
                "th" => {
                    assert_eq!(word(i + 1), "dport");
                    let L4::Port(_, port) = packet.l4 else {
                        return None;
                    };
                    let inside = elements(word(i + 2)).iter().any(|e| {
                        let (a, b) = e.split_once('-').unwrap_or((e, e));
                        let (a, b): (u16, u16) =
                            (a.parse().expect("port"), b.parse().expect("port"));
                        a <= port && port <= b
                    });
                    if !inside {
                        return None;
                    }
                    i += 3;
                }
                other => panic!("unknown statement {other:?} in {rule:?}"),
            }
        }
        None
    }
}

#[test]
fn the_interpreter_reads_what_the_compiler_writes() {
    let text = "add table inet netpol\ndelete table inet netpol\ntable inet netpol {\n\tset s_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.1, 10.0.1.0-10.0.1.255 }\n\t}\n\tmap ingress_v4 {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 10.0.0.9 : jump ingress_g0 }\n\t}\n\tchain egress {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tct state established,related accept\n\t}\n\tchain ingress {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tct state established,related accept\n\t\tip daddr vmap @ingress_v4\n\t}\n\tchain ingress_g0 {\n\t\tip saddr @s_v4 meta l4proto tcp th dport { 80, 8000-8080 } accept\n\t\tmeta nfproto ipv4 meta l4proto != { tcp, udp, sctp } accept\n\t\tdrop\n\t}\n}\n";
    let rs = Ruleset::parse(text);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let packet = |src: &str, dst: &str, l4| Packet {
        src: ip(src),
        dst: ip(dst),
        l4,
    };
    assert!(rs.admits(&packet("10.0.1.7", "10.0.0.9", L4::Port("tcp", 8001))));
    assert!(rs.admits(&packet("10.0.0.1", "10.0.0.9", L4::Port("tcp", 80))));
    assert!(!rs.admits(&packet("10.0.0.1", "10.0.0.9", L4::Port("tcp", 81))));
    assert!(!rs.admits(&packet("10.0.0.2", "10.0.0.9", L4::Port("tcp", 80))));
    assert!(!rs.admits(&packet("10.0.0.1", "10.0.0.9", L4::Port("udp", 80))));
    assert!(rs.admits(&packet("10.0.0.2", "10.0.0.9", L4::Other)));
    // Not a local isolated address: not in the map, accepted.
    assert!(rs.admits(&packet("10.0.0.2", "10.0.0.8", L4::Port("udp", 1))));
}
