//! Strict mode: after a change, cut the established flows the new state denies.
//!
//! The ruleset accepts `ct state established,related` first, so by default a policy change
//! stops new connections at once but lets open ones run to their end (the behaviour of
//! kube-network-policies). In strict mode the agent then lists the node's connection
//! tracking table, asks the core about every flow that touches a local pod, and deletes the
//! entries of denied flows: their next packet is judged as new, and dropped.
//!
//! A flow is judged as the kernel sees it after NAT: source = the original source, and
//! destination = the reply's source (with a Service's DNAT, the pod behind the virtual
//! IP), port = the reply's source port. This node enforces the egress of its pods and the
//! ingress to them, so a flow is cut when its local source's egress or its local
//! destination's ingress is denied. Traffic to or from the node's own addresses is not
//! filtered by the ruleset (kubelet probes), so strict mode never touches it either.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};
use netpol_core::{AddressBook, Flow, Model, Protocol};
use tokio::process::Command;

/// One conntrack entry: the original tuple (to delete it) and the flow as judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// TCP, UDP or SCTP.
    pub protocol: Protocol,
    /// Original direction: source, destination, source port, destination port.
    pub original: (IpAddr, IpAddr, u16, u16),
    /// Who really answers (the reply's source): the destination after DNAT.
    pub responder: IpAddr,
    /// The port the responder answers on.
    pub port: u16,
}

/// Parses one line of `conntrack -L` (TCP, UDP and SCTP entries; others give `None`).
pub fn parse_line(family: &'static str, line: &str) -> Option<Entry> {
    let mut words = line.split_whitespace();
    let protocol = protocol(words.next()?)?;
    let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for word in words {
        if let Some((key, value)) = word.split_once('=') {
            fields.entry(key).or_default().push(value);
        }
    }
    let get = |key: &str, i: usize| fields.get(key).and_then(|v| v.get(i)).copied();
    let ip = |key: &str, i: usize| get(key, i)?.parse::<IpAddr>().ok();
    let port = |key: &str, i: usize| -> Option<u16> { get(key, i)?.parse().ok() };
    Some(Entry {
        family,
        protocol,
        original: (
            ip("src", 0)?,
            ip("dst", 0)?,
            port("sport", 0)?,
            port("dport", 0)?,
        ),
        responder: ip("src", 1)?,
        port: port("sport", 1)?,
    })
}

/// conntrack's lower-case protocol names; only the protocols policies speak of.
fn protocol(name: &str) -> Option<Protocol> {
    match name {
        "tcp" => Some(Protocol::TCP),
        "udp" => Some(Protocol::UDP),
        "sctp" => Some(Protocol::SCTP),
        _ => None,
    }
}

/// The flows of `entries` this node must cut under `model`: those touching a local pod
/// (and not the node itself) that the local side's direction denies.
pub fn denied<'a>(
    model: &Model,
    node: &str,
    node_addresses: &BTreeSet<IpAddr>,
    entries: &'a [Entry],
) -> Vec<&'a Entry> {
    let local: BTreeSet<IpAddr> = netpol_core::nft::local_pods(model, node)
        .into_iter()
        .flat_map(|i| model.cluster.pods[i].ips.iter().copied())
        .collect();
    let book = AddressBook::new(&model.cluster);
    let mut verdicts: BTreeMap<(IpAddr, IpAddr, Protocol, u16), bool> = BTreeMap::new();
    entries
        .iter()
        .filter(|e| {
            let (src, dst) = (e.original.0, e.responder);
            if node_addresses.contains(&src) || node_addresses.contains(&dst) {
                return false;
            }
            let (src_local, dst_local) = (local.contains(&src), local.contains(&dst));
            if !src_local && !dst_local {
                return false;
            }
            *verdicts
                .entry((src, dst, e.protocol, e.port))
                .or_insert_with(|| {
                    let flow = Flow {
                        src: book.endpoint(src),
                        dst: book.endpoint(dst),
                        protocol: e.protocol,
                        port: e.port,
                    };
                    let verdict = netpol_core::evaluate(model, &flow);
                    // Each side all tiers considered (cluster policies included).
                    (src_local && !verdict.egress_allowed())
                        || (dst_local && !verdict.ingress_allowed())
                })
        })
        .collect()
}

/// Lists conntrack, cuts what [`denied`] says, returns how many entries were deleted.
pub async fn cut(model: &Model, node: &str, conntrack: &Path) -> Result<usize> {
    let mut entries = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let listing = run(conntrack, &["-L", "-f", family]).await?;
        entries.extend(listing.lines().filter_map(|l| parse_line(family, l)));
    }
    let node_addresses = node_addresses();
    let mut cut = 0;
    for entry in denied(model, node, &node_addresses, &entries) {
        let (src, dst, sport, dport) = entry.original;
        let protocol = entry.protocol.as_str().to_ascii_lowercase();
        let deleted = run(
            conntrack,
            &[
                "-D",
                "-f",
                entry.family,
                "-p",
                &protocol,
                "-s",
                &src.to_string(),
                "-d",
                &dst.to_string(),
                "--sport",
                &sport.to_string(),
                "--dport",
                &dport.to_string(),
            ],
        )
        .await;
        match deleted {
            Ok(_) => cut += 1,
            // The flow may have ended between listing and deleting; the others still go.
            Err(error) => tracing::debug!(error = format!("{error:#}"), "conntrack -D"),
        }
    }
    Ok(cut)
}

async fn run(conntrack: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(conntrack)
        .args(args)
        .output()
        .await
        .with_context(|| format!("starting {}", conntrack.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} exited with {}: {}",
            conntrack.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The addresses of this network namespace (the node's own): IPv4 from the local routes
/// of `/proc/net/fib_trie`, IPv6 from `/proc/net/if_inet6`. Unreadable files give none,
/// which only means node-local flows are judged like the others.
pub fn node_addresses() -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    if let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") {
        out.extend(local_v4(&trie));
    }
    if let Ok(v6) = std::fs::read_to_string("/proc/net/if_inet6") {
        out.extend(v6.lines().filter_map(|l| {
            let hex = l.split_whitespace().next()?;
            let bits = u128::from_str_radix(hex, 16).ok()?;
            Some(IpAddr::V6(bits.into()))
        }));
    }
    out
}

/// `|-- 10.0.0.1` followed by `/32 host LOCAL`: an address of this namespace.
fn local_v4(trie: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in trie.lines() {
        let line = line.trim_start_matches([' ', '|', '+', '-', '`']);
        if let Ok(ip) = line.trim().parse::<IpAddr>() {
            last = Some(ip);
        } else if line.contains("/32 host LOCAL") {
            out.extend(last);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.96.0.10 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=8080 dport=40000 [ASSURED] mark=0 use=1\nudp      17 27 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1\nicmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1 mark=0 use=1\ntcp      6 10 ESTABLISHED src=192.168.0.1 dst=10.0.0.2 sport=50000 dport=8080 src=10.0.0.2 dst=192.168.0.1 sport=8080 dport=50000 [ASSURED] mark=0 use=1\n";

    #[test]
    fn entries_are_judged_after_nat_and_only_where_this_node_enforces() {
        let entries: Vec<Entry> = LISTING
            .lines()
            .filter_map(|l| parse_line("ipv4", l))
            .collect();
        assert_eq!(entries.len(), 3, "icmp is skipped");
        assert_eq!(entries[0].responder.to_string(), "10.0.0.2", "after DNAT");
        assert_eq!(entries[0].port, 8080);
        let model = netpol_core::load(&[
            (
                netpol_core::FileId(0),
                "pod prod/client app=client ip=10.0.0.1 node=n2\npod prod/api app=api ip=10.0.0.2 node=n1\n",
            ),
            (
                netpol_core::FileId(1),
                "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: api, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress: [{ports: [{port: 53, protocol: UDP}]}]\n",
            ),
        ]);
        let node: BTreeSet<IpAddr> = ["192.168.0.1".parse().unwrap()].into();
        let cut: Vec<u16> = denied(&model, "n1", &node, &entries)
            .iter()
            .map(|e| e.port)
            .collect();
        // 8080 is denied at api's ingress; 53/UDP is allowed; the node's own connection
        // (192.168.0.1, a kubelet probe) is not this ruleset's business.
        assert_eq!(cut, [8080]);
        // On n2 only the client's egress counts, and it is not isolated.
        assert!(denied(&model, "n2", &node, &entries).is_empty());
    }

    #[test]
    fn local_addresses_come_from_the_fib_trie() {
        let trie = "Local:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.99.1.1\n        /32 host LOCAL\n     |-- 10.99.1.255\n        /32 link BROADCAST\n";
        assert_eq!(local_v4(trie), ["10.99.1.1".parse::<IpAddr>().unwrap()]);
    }
}
