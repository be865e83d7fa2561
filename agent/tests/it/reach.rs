//! Real packets between the endpoints of a [`Fabric`]: which ones get through.
//!
//! An endpoint (a pod, a host-network pod, an outside address) is a [`Site`]: the namespace it
//! lives in and its addresses. A probe ([`Ask`]) from one site to another on a protocol and
//! port is tried from every address of the source to every address of the destination of
//! the same family (TCP: a handshake; UDP: an echo), all probes of all sites at once. The
//! probe *reached* when any address pair got through, which is what "the pod can connect"
//! means for a pod with several IPs (and what the core's ipBlock rule, "any of its IPs",
//! answers).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use netpol_core::Protocol;

use crate::fabric::{Fabric, HostRef};

/// An endpoint: where it lives and its addresses.
#[derive(Clone, Debug)]
pub struct Site {
    pub at: HostRef,
    pub ips: Vec<IpAddr>,
}

/// One probe: from site `src` to site `dst` (indices into the sites).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ask {
    pub src: usize,
    pub dst: usize,
    pub protocol: Protocol,
    pub port: u16,
}

/// What the kernel did with a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Some address pair completed the handshake or got the echo back.
    Reached,
    /// Every address pair timed out: the packets were dropped.
    Dropped,
    /// Something no policy can cause (no route, nothing listening): the test setup is wrong.
    Broken(String),
}

/// Why a pair of sites cannot be probed, if it cannot.
pub fn unprobeable(sites: &[Site], src: usize, dst: usize) -> Option<&'static str> {
    let (s, d) = (&sites[src], &sites[dst]);
    if s.at == d.at {
        // A pod's traffic to itself, or between two host-network pods of one node, or
        // between two outside addresses, never leaves its namespace: no node forwards it.
        return Some("same network namespace");
    }
    let family = |ips: &[IpAddr], v4: bool| ips.iter().any(|ip| ip.is_ipv4() == v4);
    if !(family(&s.ips, true) && family(&d.ips, true)
        || family(&s.ips, false) && family(&d.ips, false))
    {
        return Some("no common address family");
    }
    None
}

fn word(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::TCP => "tcp",
        Protocol::UDP => "udp",
        Protocol::SCTP => panic!("no SCTP sockets on this kernel: SCTP is not probed"),
    }
}

/// Makes every host listen on exactly `ports` of both TCP and UDP, on each address of each
/// site living there; hosts without sites close their listeners.
pub fn listen(fabric: &mut Fabric, sites: &[Site], ports: &[u16]) {
    let mut specs: BTreeMap<HostRef, Vec<String>> = BTreeMap::new();
    for k in 0..fabric.slots.len() {
        specs.insert(HostRef::Slot(k), Vec::new());
    }
    for n in 0..fabric.nodes.len() {
        specs.insert(HostRef::Node(n), Vec::new());
    }
    specs.insert(HostRef::Router, Vec::new());
    for site in sites {
        let list = specs.entry(site.at).or_default();
        for ip in &site.ips {
            for port in ports {
                let addr = SocketAddr::new(*ip, *port);
                list.push(format!("tcp:{addr}"));
                list.push(format!("udp:{addr}"));
            }
        }
    }
    for (at, list) in specs {
        fabric.host_mut(at).worker.listen(&list);
    }
}

/// Sends every probe once, with `timeout` per attempt; one [`Reach`] per ask, in order.
/// Every ask must be probeable ([`unprobeable`]) and TCP or UDP.
pub fn probe(fabric: &mut Fabric, sites: &[Site], asks: &[Ask], timeout: Duration) -> Vec<Reach> {
    // Per source host: the specs to send and which ask each belongs to.
    let mut jobs: BTreeMap<HostRef, (Vec<String>, Vec<usize>)> = BTreeMap::new();
    for (i, ask) in asks.iter().enumerate() {
        let (src, dst) = (&sites[ask.src], &sites[ask.dst]);
        assert_eq!(unprobeable(sites, ask.src, ask.dst), None, "{ask:?}");
        let job = jobs.entry(src.at).or_default();
        for from in &src.ips {
            for to in dst.ips.iter().filter(|to| to.is_ipv4() == from.is_ipv4()) {
                let to = SocketAddr::new(*to, ask.port);
                job.0.push(format!("{}:{to}@{from}", word(ask.protocol)));
                job.1.push(i);
            }
        }
    }
    for (at, (specs, _)) in &jobs {
        fabric.host_mut(*at).worker.start_probes(timeout, specs);
    }
    let mut reached = vec![false; asks.len()];
    let mut broken: Vec<Option<String>> = vec![None; asks.len()];
    for (at, (specs, owners)) in &jobs {
        let verdicts = fabric.host_mut(*at).worker.verdicts(specs);
        for ((spec, owner), verdict) in specs.iter().zip(owners).zip(verdicts) {
            match verdict.as_str() {
                "ok" => reached[*owner] = true,
                "timeout" => {}
                other => broken[*owner] = Some(format!("{spec}: {other}")),
            }
        }
    }
    reached
        .into_iter()
        .zip(broken)
        .map(|(reached, broken)| match (broken, reached) {
            (Some(why), _) => Reach::Broken(why),
            (None, true) => Reach::Reached,
            (None, false) => Reach::Dropped,
        })
        .collect()
}

/// [`probe`], then once more with `patient` timeouts for the probes that were dropped but
/// `should_reach`: on a loaded machine a late answer looks like a drop, while a probe that
/// got through can never be a timing artefact. Returns the reaches and how many probes
/// needed the second try.
pub fn probe_patiently(
    fabric: &mut Fabric,
    sites: &[Site],
    asks: &[Ask],
    (quick, patient): (Duration, Duration),
    should_reach: impl Fn(&Ask) -> bool,
) -> (Vec<Reach>, usize) {
    let mut reaches = probe(fabric, sites, asks, quick);
    let again: Vec<usize> = (0..asks.len())
        .filter(|i| reaches[*i] == Reach::Dropped && should_reach(&asks[*i]))
        .collect();
    if again.is_empty() {
        return (reaches, 0);
    }
    let retry: Vec<Ask> = again.iter().map(|i| asks[*i]).collect();
    let second = probe(fabric, sites, &retry, patient);
    let mut late = 0;
    for (i, reach) in again.into_iter().zip(second) {
        late += usize::from(reach == Reach::Reached);
        reaches[i] = reach;
    }
    (reaches, late)
}

/// Whether `line` mentions `mark` as a whole word: `10.0.1.1` is not in `10.0.1.10`, and
/// `dport 80` is not in `dport 8080`.
fn mentions(line: &str, mark: &str) -> bool {
    let part_of_word = |c: char| c.is_ascii_alphanumeric() || c == ':' || c == '.';
    line.match_indices(mark).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let mut after = line[at + mark.len()..].chars();
        let next = after.next();
        let continues = match next {
            Some('.') => after.next().is_some_and(|c| c.is_ascii_digit()),
            Some(c) => part_of_word(c),
            None => false,
        };
        !before.is_some_and(part_of_word) && !continues
    })
}

/// Appends the ruleset of `node` to a failure report, lines that mention one of `marks`
/// (addresses, `dport 80`, `. 80`) flagged `>>`.
pub fn marked_ruleset(out: &mut String, node: &str, text: &str, marks: &BTreeSet<String>) {
    const LINES: usize = 150;
    let _ = writeln!(out, "  ruleset of {node}:");
    for line in text.lines().take(LINES) {
        let hit = marks.iter().any(|m| mentions(line, m));
        let _ = writeln!(out, "  {} {line}", if hit { ">>" } else { "  " });
    }
    let more = text.lines().count().saturating_sub(LINES);
    if more > 0 {
        let _ = writeln!(out, "     ... {more} more lines");
    }
}

#[test]
fn ruleset_marks_are_whole_words() {
    assert!(mentions("elements = { 10.0.1.1, 10.0.1.2 }", "10.0.1.1"));
    assert!(!mentions("elements = { 10.0.1.10 }", "10.0.1.1"));
    assert!(!mentions("elements = { 110.0.1.1 }", "10.0.1.1"));
    assert!(mentions("elements = { 10.0.1.1 . tcp . 80 }", "10.0.1.1"));
    assert!(mentions("meta l4proto tcp th dport 80 accept", "dport 80"));
    assert!(!mentions(
        "meta l4proto tcp th dport 8080 accept",
        "dport 80"
    ));
    assert!(mentions("10.0.1.1 . tcp . 80, 10.0.1.2 . tcp . 81", ". 80"));
    assert!(!mentions("fd00::1 accept", "fd00::"));
}
