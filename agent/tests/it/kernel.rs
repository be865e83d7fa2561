//! Every conformance case of `core/tests/cases/` (every area), enforced by the nftables
//! rulesets the agent would install for it, checked with real packets in the kernel.
//!
//! Why: the conformance harness proves that the evaluator and the engine agree with each
//! case; nothing there proves that the node enforces the same answer. A ruleset that
//! resolves a named port to one number where the engine allows two, or forgets an `except`,
//! passes every core test and drops (or admits) real traffic. This test compares the kernel
//! with the engine on every case, port by port.
//!
//! What it does, per case, on one [`Fabric`] reused by all cases (three nodes, a router for
//! the outside world, pod namespaces created as needed):
//! 1. **Model.** The case's model, loaded as the core harness loads it. A case with `steps:`
//!    is run once per state: as written, then after each step (its changes applied as the
//!    core harness applies them, `cases::states`), each state with that step's verdicts.
//! 2. **A runnable copy.** Every pod gets a node: host-network pods `node-h` (its own
//!    address holds their IPs; no other pod lives there, so each of their packets crosses
//!    another node's forward hook), the others alternately `node-a` and `node-b`, so pairs
//!    are both same-node and cross-node. Every endpoint without an IP (pending pods, workload
//!    templates) gets one from a pool that no ipBlock of the case touches, so it matches
//!    exactly what "no IP" matches; when every pool is touched (say, `0.0.0.0/0`), it gets
//!    one anyway and the case's own verdicts about it are not compared (step 6). The engine
//!    is built on this copy: the kernel is compared with the engine's answer for exactly
//!    the model that was compiled. A case that uses both address families while some pod
//!    lacks one (an IPv6 block in front of IPv4-only pods, say) runs a second time with
//!    every pod dual-stack, the missing family taken from such a pool too, so the `ip6`
//!    rules meet packets as well.
//! 3. **Outside addresses**, on the router: the addresses the case names, and when it has
//!    ipBlocks, the first and last address of each `cidr` and `except` and their neighbours
//!    (±1), as far as they are usable unicast addresses and no pod's IP.
//! 4. **Rulesets.** `netpol_agent::enforce::ruleset_for(model, node)` for each node, loaded
//!    into that node's namespace with `nft -f` (the kernel validates all of it, SCTP rules
//!    included), connection tracking flushed.
//! 5. **Packets.** Every ordered pair of endpoints in different namespaces (a pod's traffic to
//!    itself never reaches a node) with a common address family, on every port that matters
//!    (each number and `endPort` a rule names and its neighbours ±1, every container port,
//!    every port the case's expectations name, one port nothing names), over TCP (handshake)
//!    and UDP (echo); every endpoint listens on all of them. There are no SCTP sockets on
//!    this kernel: SCTP is checked by step 4 only. A dropped probe that the engine allows is
//!    tried again with a long timeout before it counts, since a late answer on a loaded
//!    machine looks like a drop.
//! 6. **Compare** every probe with `Engine::allowed_ports` of the pair, and every cell of
//!    the case's own expectations (`expect`, `truth_tables`, `allowed_ports`) that steps 2,
//!    3 and 5 could reproduce with the case's verdict, so a ruleset and an engine that are
//!    wrong the same way are still caught.
//!
//! Failures name the case, the probe, the kernel's answer, the engine's (or the case's)
//! answer, and print the rulesets of the nodes involved with the lines about the probe's
//! addresses and port marked `>>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use netpol_agent::enforce::ruleset_for;
use netpol_core::{Cidr, Endpoint, Engine, IpBlock, Model, PortRef, Protocol};

use crate::cases::{self, Case, Named};
use crate::fabric::{self, Fabric, HostRef, Placement};
use crate::netns;
use crate::reach::{self, Ask, Reach, Site};

const PROBE: &str = env!("CARGO_BIN_EXE_netpol-probe");

/// Nodes of the fabric: pods alternate between the first two; host-network pods live on
/// the third.
const NODES: [&str; 3] = ["node-a", "node-b", "node-h"];
const HOST_NETWORK_NODE: usize = 2;

/// First try, and the second try of a drop the engine does not expect.
const QUICK: Duration = Duration::from_millis(150);
const PATIENT: Duration = Duration::from_millis(2000);

/// At most this many outside addresses per case (the case's own first).
const MAX_OUTSIDE: usize = 16;

/// Where endpoints get addresses they lack, per family, tried in order: the first pool that
/// no ipBlock of the family overlaps keeps a pod matching exactly what it matched before.
const POOLS_V4: [&str; 5] = [
    "10.250.0.0/16",
    "172.31.250.0/24",
    "192.168.250.0/24",
    "100.127.250.0/24",
    "198.18.250.0/24",
];
const POOLS_V6: [&str; 3] = ["fd00:250::/64", "fd00:251::/64", "2001:db8:250::/64"];

/// A case made runnable: endpoints, where they live, and the ports to probe.
struct Setup {
    /// The runnable copy of the case's model (step 2).
    model: Model,
    /// One per endpoint: pods first (site `i` is pod `i`), then outside addresses.
    sites: Vec<Site>,
    endpoints: Vec<Endpoint>,
    names: Vec<String>,
    /// Whether the case's own verdicts about this endpoint hold for the runnable copy.
    faithful: Vec<bool>,
    /// Outside address → site.
    addresses: BTreeMap<IpAddr, usize>,
    ports: Vec<u16>,
    placement: Placement,
}

/// One case's result.
#[derive(Default)]
struct Outcome {
    name: String,
    probes: usize,
    reached: usize,
    late: usize,
    unprobeable: usize,
    case_cells: usize,
    case_cells_skipped: usize,
    vs_engine: Vec<String>,
    vs_case: Vec<String>,
    /// Addresses and ports of the mismatches, to mark in the rulesets.
    marks: BTreeSet<String>,
    /// Nodes whose rulesets a mismatch involves.
    nodes: BTreeSet<usize>,
    problems: Vec<String>,
    rulesets: Vec<String>,
    time: Duration,
}

impl Outcome {
    fn failed(&self) -> bool {
        !(self.vs_engine.is_empty() && self.vs_case.is_empty() && self.problems.is_empty())
    }
}

// ---------------------------------------------------------------------------------------
// Step 2 and 3: the runnable copy and the outside addresses
// ---------------------------------------------------------------------------------------

fn ip_blocks(model: &Model) -> Vec<&IpBlock> {
    model
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| &r.peers)
        .filter_map(|peer| peer.ip_block.as_ref())
        .collect()
}

/// Whether `ip` can be an endpoint's address in the fabric: unicast, not loopback, not
/// the fabric's link ranges, not special-purpose ranges the kernel treats differently.
fn usable(ip: IpAddr) -> bool {
    if fabric::is_link_address(ip) || ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    match ip {
        IpAddr::V4(a) => {
            let first = a.octets()[0];
            first != 0 && first < 224
        }
        // IPv4-compatible (::/96) and IPv4-mapped (::ffff:0:0/96) addresses are not
        // addresses of an IPv6 interface.
        IpAddr::V6(a) => {
            let s = a.segments();
            !(s[..5].iter().all(|x| *x == 0) && (s[5] == 0 || s[5] == 0xffff))
        }
    }
}

fn from_number(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    }
}

/// The edges of every block and except, and their neighbours.
fn block_edges(blocks: &[&IpBlock]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for block in blocks {
        for cidr in std::iter::once(&block.cidr).chain(&block.except) {
            let (lo, hi) = cidr.range();
            let top = if cidr.is_v6() {
                u128::MAX
            } else {
                u32::MAX as u128
            };
            let candidates = [lo.checked_sub(1), Some(lo), Some(hi), hi.checked_add(1)];
            for n in candidates.into_iter().flatten().filter(|n| *n <= top) {
                out.push(from_number(n, cidr.is_v6()));
            }
        }
    }
    out
}

/// Outside addresses for the case: those it names, then block edges; usable, not a pod's
/// IP, at most [`MAX_OUTSIDE`].
fn outside_addresses(case: &Case, model: &Model, taken: &BTreeSet<IpAddr>) -> Vec<IpAddr> {
    let named = case
        .expect
        .iter()
        .flat_map(|e| [&e.from, &e.to])
        .chain(case.allowed_ports.iter().flat_map(|e| [&e.from, &e.to]))
        .filter_map(|text| text.parse::<IpAddr>().ok());
    let blocks = ip_blocks(model);
    let mut out: Vec<IpAddr> = Vec::new();
    for ip in named.chain(block_edges(&blocks)) {
        if usable(ip) && !taken.contains(&ip) && !out.contains(&ip) && out.len() < MAX_OUTSIDE {
            out.push(ip);
        }
    }
    out
}

/// Hands out addresses of one family: from the first pool no ipBlock of that family
/// overlaps, so a pod given one matches exactly the blocks it matched before (`neutral`);
/// when every pool overlaps a block (say `0.0.0.0/0`), from the first pool anyway.
struct Pool {
    next: u128,
    v6: bool,
    neutral: bool,
}

impl Pool {
    fn new(model: &Model, v6: bool) -> Pool {
        let blocks: Vec<&Cidr> = ip_blocks(model)
            .into_iter()
            .map(|b| &b.cidr)
            .filter(|c| c.is_v6() == v6)
            .collect();
        let names: &[&str] = if v6 { &POOLS_V6 } else { &POOLS_V4 };
        let pools: Vec<Cidr> = names.iter().map(|p| p.parse().expect("pool")).collect();
        let overlaps = |pool: &Cidr| {
            blocks
                .iter()
                .any(|b| b.contains(pool.addr) || pool.contains(b.addr))
        };
        let clean = pools.iter().find(|p| !overlaps(p));
        Pool {
            next: clean.unwrap_or(&pools[0]).range().0,
            v6,
            neutral: clean.is_some(),
        }
    }

    fn take(&mut self, taken: &mut BTreeSet<IpAddr>) -> IpAddr {
        loop {
            self.next += 1;
            let ip = from_number(self.next, self.v6);
            if taken.insert(ip) {
                return ip;
            }
        }
    }
}

/// Whether the case uses both address families (in its pods, blocks or addresses) while
/// some pod lacks one: then a second, dual-stack pass reaches what single-stack pods cannot
/// (an IPv6 block in front of IPv4-only pods, say).
fn wants_dual_stack(case: &Case, model: &Model) -> bool {
    let named = case
        .expect
        .iter()
        .flat_map(|e| [&e.from, &e.to])
        .filter_map(|text| text.parse::<IpAddr>().ok());
    let pod_ips = model
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ips.iter().copied());
    let block_ips = ip_blocks(model).into_iter().map(|b| b.cidr.addr);
    let used: Vec<IpAddr> = named.chain(pod_ips).chain(block_ips).collect();
    let both = used.iter().any(IpAddr::is_ipv4) && used.iter().any(IpAddr::is_ipv6);
    let lacking = |pod: &netpol_core::Pod| {
        !(pod.ips.iter().any(IpAddr::is_ipv4) && pod.ips.iter().any(IpAddr::is_ipv6))
    };
    both && model.cluster.pods.iter().any(lacking)
}

/// Addresses for step 2: a pod without any gets one (IPv6 when the case's pods use only
/// IPv6, else IPv4); with `dual`, every pod lacking a family gets an address of it. Returns
/// per pod whether the case's own verdicts about it still hold.
fn add_addresses(model: &mut Model, taken: &mut BTreeSet<IpAddr>, dual: bool) -> Vec<bool> {
    let ips: Vec<IpAddr> = model
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ips.clone())
        .collect();
    let only_v6 = ips.iter().any(IpAddr::is_ipv6) && !ips.iter().any(IpAddr::is_ipv4);
    let mut pools = [Pool::new(model, false), Pool::new(model, true)];
    let mut faithful = Vec::new();
    for pod in &mut model.cluster.pods {
        let families = match (dual, pod.ips.is_empty()) {
            (true, _) => vec![false, true],
            (false, true) => vec![only_v6],
            (false, false) => Vec::new(),
        };
        let mut neutral = true;
        for v6 in families {
            if pod.ips.iter().any(|ip| ip.is_ipv6() == v6) {
                continue;
            }
            let pool = &mut pools[usize::from(v6)];
            pod.ips.push(pool.take(taken));
            neutral &= pool.neutral;
        }
        faithful.push(neutral);
    }
    faithful
}

/// Pods sharing an address can only be told apart when both are host-network pods (they
/// share their node's address, and its namespace).
fn shared_address(model: &Model) -> Option<String> {
    let mut owner: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for (i, pod) in model.cluster.pods.iter().enumerate() {
        for ip in &pod.ips {
            if let Some(j) = owner.insert(*ip, i) {
                let other = &model.cluster.pods[j];
                if !(pod.host_network && other.host_network) {
                    return Some(format!(
                        "{} and {} share {ip}; no kernel can tell them apart",
                        other.id, pod.id
                    ));
                }
            }
        }
    }
    None
}

/// Every port that matters for the case (step 5).
fn ports_to_probe(case: &Case, model: &Model) -> Vec<u16> {
    let mut ports = BTreeSet::new();
    let mut ranges = Vec::new();
    let rules = model
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress));
    for entry in rules.flat_map(|r| &r.ports) {
        if let Some(PortRef::Number(n)) = entry.port {
            let end = entry.end_port.unwrap_or(n).max(n);
            ranges.push((n, end));
            for p in [n, end] {
                ports.extend([p.saturating_sub(1), p, p.saturating_add(1)]);
            }
        }
    }
    for pod in &model.cluster.pods {
        ports.extend(pod.ports.iter().map(|c| c.port));
    }
    let named = case.expect.iter().map(|e| &e.port);
    for text in named.chain(case.truth_tables.iter().map(|t| &t.port)) {
        if let Some((_, PortRef::Number(n))) = cases::parse_port(text) {
            ports.insert(n);
        }
    }
    let unmentioned = (4444..=u16::MAX)
        .find(|p| !ports.contains(p) && !ranges.iter().any(|(a, b)| a <= p && p <= b));
    ports.extend(unmentioned);
    ports.remove(&0);
    ports.into_iter().collect()
}

/// Step 2's nodes: host-network pods on `node-h`'s own address, every other pod in a pod
/// namespace of its own, alternating between `node-a` and `node-b`. Site `i` is pod `i`.
fn place_pods(model: &mut Model, fabric: &mut Fabric, placement: &mut Placement) -> Vec<Site> {
    let mut sites = Vec::new();
    for pod in &mut model.cluster.pods {
        let at = if pod.host_network {
            let own = &mut placement.nodes[HOST_NETWORK_NODE];
            for ip in &pod.ips {
                if !own.contains(ip) {
                    own.push(*ip);
                }
            }
            HostRef::Node(HOST_NETWORK_NODE)
        } else {
            let k = placement.slots.len();
            while fabric.slots.len() <= k {
                fabric.add_slot(fabric.slots.len() % 2);
            }
            placement.slots.push(pod.ips.clone());
            HostRef::Slot(k)
        };
        let node = fabric.node_of(at).expect("a pod lives on a node");
        pod.node = Some(NODES[node].to_string());
        sites.push(Site {
            at,
            ips: pod.ips.clone(),
        });
    }
    sites
}

/// Steps 1 to 3: the runnable copy (dual-stack with `dual`), its sites and their
/// placement.
fn prepare(case: &Case, fabric: &mut Fabric, dual: bool) -> Result<Setup, String> {
    let mut model = cases::model(case);
    let mut taken: BTreeSet<IpAddr> = model
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ips.clone())
        .collect();
    let faithful_pods = add_addresses(&mut model, &mut taken, dual);
    if let Some(why) = shared_address(&model) {
        return Err(why);
    }
    let mut placement = Placement {
        nodes: vec![Vec::new(); NODES.len()],
        ..Placement::default()
    };
    let mut sites = place_pods(&mut model, fabric, &mut placement);
    let mut endpoints: Vec<Endpoint> = (0..sites.len()).map(Endpoint::Pod).collect();
    let mut names: Vec<String> = model.cluster.pods.iter().map(|p| p.id.clone()).collect();
    let mut faithful = faithful_pods;
    let mut addresses = BTreeMap::new();
    for ip in outside_addresses(case, &model, &taken) {
        addresses.insert(ip, sites.len());
        sites.push(Site {
            at: HostRef::Router,
            ips: vec![ip],
        });
        endpoints.push(Endpoint::Address(ip));
        names.push(ip.to_string());
        faithful.push(true);
        placement.router.push(ip);
    }
    let ports = ports_to_probe(case, &model);
    Ok(Setup {
        model,
        sites,
        endpoints,
        names,
        faithful,
        addresses,
        ports,
        placement,
    })
}

// ---------------------------------------------------------------------------------------
// Steps 4 to 6
// ---------------------------------------------------------------------------------------

/// Loads every node's ruleset; returns the texts.
fn load_rulesets(fabric: &Fabric, model: &Model) -> Result<Vec<String>, String> {
    let mut texts = Vec::new();
    for (n, node) in NODES.iter().enumerate() {
        let text = ruleset_for(model, node).text;
        fabric
            .load_ruleset(n, &text)
            .map_err(|e| format!("nft rejected the ruleset of {node}: {e}\n{text}"))?;
        texts.push(text);
    }
    Ok(texts)
}

/// Every probeable ordered pair on every port, TCP and UDP; and how many pairs are not.
fn asks(setup: &Setup) -> (Vec<Ask>, usize) {
    let mut out = Vec::new();
    let mut unprobeable = 0;
    for src in 0..setup.sites.len() {
        for dst in 0..setup.sites.len() {
            if reach::unprobeable(&setup.sites, src, dst).is_some() {
                unprobeable += 1;
                continue;
            }
            for protocol in [Protocol::TCP, Protocol::UDP] {
                for port in &setup.ports {
                    out.push(Ask {
                        src,
                        dst,
                        protocol,
                        port: *port,
                    });
                }
            }
        }
    }
    (out, unprobeable)
}

fn verdict_word(allowed: bool) -> &'static str {
    if allowed {
        "allows"
    } else {
        "denies"
    }
}

fn describe(setup: &Setup, ask: &Ask) -> String {
    let place = |i: usize| {
        let site = &setup.sites[i];
        let ips: Vec<String> = site.ips.iter().map(IpAddr::to_string).collect();
        let node = match site.at {
            HostRef::Router => "outside",
            _ => setup.model.cluster.pods[i].node.as_deref().unwrap_or("?"),
        };
        format!("{} ({} on {node})", setup.names[i], ips.join(","))
    };
    format!(
        "{} -> {} {}/{}",
        place(ask.src),
        place(ask.dst),
        ask.protocol,
        ask.port
    )
}

fn kernel_word(reach: &Reach) -> String {
    match reach {
        Reach::Reached => "the kernel let it through".to_string(),
        Reach::Dropped => format!("the kernel dropped it (also with {PATIENT:?})"),
        Reach::Broken(why) => format!("the probe broke: {why}"),
    }
}

fn mark(outcome: &mut Outcome, fabric: &Fabric, setup: &Setup, ask: &Ask) {
    for i in [ask.src, ask.dst] {
        outcome
            .marks
            .extend(setup.sites[i].ips.iter().map(IpAddr::to_string));
        outcome.nodes.extend(fabric.node_of(setup.sites[i].at));
    }
    outcome.marks.insert(format!("dport {}", ask.port));
    outcome.marks.insert(format!(". {}", ask.port));
}

/// Step 6, engine side: every probe against `Engine::allowed_ports`.
fn compare_with_engine(
    outcome: &mut Outcome,
    fabric: &Fabric,
    setup: &Setup,
    asks: &[Ask],
    reaches: &[Reach],
    engine: &Engine,
) {
    let mut cache = BTreeMap::new();
    for (ask, reach) in asks.iter().zip(reaches) {
        let allowed = cache.entry((ask.src, ask.dst)).or_insert_with(|| {
            engine.allowed_ports(setup.endpoints[ask.src], setup.endpoints[ask.dst])
        });
        let engine_allows = allowed.get(ask.protocol).contains(ask.port);
        outcome.reached += usize::from(*reach == Reach::Reached);
        let agrees = match reach {
            Reach::Reached => engine_allows,
            Reach::Dropped => !engine_allows,
            Reach::Broken(_) => false,
        };
        if !agrees {
            outcome.vs_engine.push(format!(
                "{}: {}, the engine {} it ({} ports {})",
                describe(setup, ask),
                kernel_word(reach),
                verdict_word(engine_allows),
                ask.protocol,
                allowed.get(ask.protocol)
            ));
            mark(outcome, fabric, setup, ask);
        }
    }
}

/// Step 6, case side: the case's own verdicts, where the runnable copy reproduces them.
struct CaseCheck<'a> {
    outcome: &'a mut Outcome,
    fabric: &'a Fabric,
    setup: &'a Setup,
    results: BTreeMap<Ask, Reach>,
}

impl CaseCheck<'_> {
    /// The site of an endpoint as the case names it, if the runnable copy reproduces it.
    fn site(&self, text: &str) -> Option<usize> {
        match cases::endpoint(&self.setup.model, text)? {
            Named::Pod(i) => self.setup.faithful[i].then_some(i),
            Named::Address(ip) => self.setup.addresses.get(&ip).copied(),
        }
    }

    /// The protocol and number a case's port means for destination `dst`: names resolve
    /// on the destination pod as in the core harness. `None` for SCTP (not probed) and for
    /// a name the destination lacks (nothing to probe).
    fn port(&self, text: &str, src: usize, dst: usize) -> Option<(Protocol, u16)> {
        let (protocol, port) = cases::parse_port(text)?;
        if protocol == Protocol::SCTP {
            return None;
        }
        // A name may stand for several numbers: the core picks the one the matrix's
        // "allowed when any number is" rule answers for (the first allowed, else the first).
        let number = netpol_core::probe_port(
            &self.setup.model,
            Endpoint::Pod(src),
            Endpoint::Pod(dst),
            protocol,
            &port,
        )?;
        Some((protocol, number))
    }

    /// One verdict of the case: compared when reproducible, else counted as skipped.
    fn cell(&mut self, what: &str, from: &str, to: &str, port: &str, allowed: bool) {
        let ask = self.site(from).zip(self.site(to)).and_then(|(src, dst)| {
            let (protocol, port) = self.port(port, src, dst)?;
            Some(Ask {
                src,
                dst,
                protocol,
                port,
            })
        });
        let Some(reach) = ask.and_then(|ask| self.results.get(&ask).cloned()) else {
            self.outcome.case_cells_skipped += 1;
            return;
        };
        let ask = ask.expect("looked up above");
        self.outcome.case_cells += 1;
        let agrees = match reach {
            Reach::Reached => allowed,
            Reach::Dropped => !allowed,
            Reach::Broken(_) => false,
        };
        if !agrees {
            self.outcome.vs_case.push(format!(
                "{what}: {}: {}, the case {} it",
                describe(self.setup, &ask),
                kernel_word(&reach),
                verdict_word(allowed)
            ));
            mark(self.outcome, self.fabric, self.setup, &ask);
        }
    }

    fn run(&mut self, case: &Case) {
        for (i, e) in case.expect.iter().enumerate() {
            self.cell(&format!("expect[{i}]"), &e.from, &e.to, &e.port, e.allowed);
        }
        for (i, t) in case.truth_tables.iter().enumerate() {
            for (row, column, allowed) in cases::table_cells(&t.table) {
                let what = format!("truth_tables[{i}] ({}) {row} -> {column}", t.port);
                self.cell(&what, &row, &column, &t.port, allowed);
            }
        }
        for (i, e) in case.allowed_ports.iter().enumerate() {
            for (word, want) in [("TCP", &e.tcp), ("UDP", &e.udp)] {
                let Some(ranges) = want.as_deref().and_then(cases::parse_port_set) else {
                    continue;
                };
                for port in &self.setup.ports {
                    let allowed = ranges.iter().any(|(a, b)| a <= port && port <= b);
                    let what = format!("allowed_ports[{i}] {word}");
                    self.cell(&what, &e.from, &e.to, &format!("{port}/{word}"), allowed);
                }
            }
        }
    }
}

/// Steps 4 to 6 for one prepared case.
fn check(fabric: &mut Fabric, case: &Case, setup: &Setup, outcome: &mut Outcome) {
    fabric.place(&setup.placement);
    outcome.rulesets = match load_rulesets(fabric, &setup.model) {
        Ok(texts) => texts,
        Err(problem) => return outcome.problems.push(problem),
    };
    fabric.flush_conntrack();
    reach::listen(fabric, &setup.sites, &setup.ports);
    let engine = Engine::new(&setup.model);
    let (asks, unprobeable) = asks(setup);
    let engine_allows = |ask: &Ask| {
        engine
            .allowed_ports(setup.endpoints[ask.src], setup.endpoints[ask.dst])
            .get(ask.protocol)
            .contains(ask.port)
    };
    let (reaches, late) =
        reach::probe_patiently(fabric, &setup.sites, &asks, (QUICK, PATIENT), engine_allows);
    outcome.probes = asks.len();
    outcome.unprobeable = unprobeable;
    outcome.late = late;
    compare_with_engine(outcome, fabric, setup, &asks, &reaches, &engine);
    let results = asks.into_iter().zip(reaches).collect();
    CaseCheck {
        outcome,
        fabric,
        setup,
        results,
    }
    .run(case);
}

/// One pass over a case: as written, or with every pod dual-stack.
fn run_pass(fabric: &mut Fabric, name: &str, case: &Case, dual: bool) -> Outcome {
    let start = Instant::now();
    let mut outcome = Outcome {
        name: if dual {
            format!("{name} (dual stack)")
        } else {
            name.to_string()
        },
        ..Outcome::default()
    };
    match prepare(case, fabric, dual) {
        Ok(setup) => check(fabric, case, &setup, &mut outcome),
        Err(why) => outcome
            .problems
            .push(format!("cannot be run in the kernel: {why}")),
    }
    outcome.time = start.elapsed();
    outcome
}

/// The case as written, then dual-stack when that reaches more ([`wants_dual_stack`]).
fn run_case(fabric: &mut Fabric, name: &str, case: &Case) -> Vec<Outcome> {
    let mut outcomes = vec![run_pass(fabric, name, case, false)];
    if wants_dual_stack(case, &cases::model(case)) {
        outcomes.push(run_pass(fabric, name, case, true));
    }
    outcomes
}

// ---------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------

/// At most this many lines of one list in a failure report.
const SHOWN: usize = 12;

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {title} ({}):", items.len());
    for item in items.iter().take(SHOWN) {
        let _ = writeln!(out, "    {item}");
    }
    if items.len() > SHOWN {
        let _ = writeln!(out, "    ... and {} more", items.len() - SHOWN);
    }
}

/// The rulesets of the nodes involved, lines about the mismatches' addresses and ports
/// marked.
fn rulesets_excerpt(out: &mut String, outcome: &Outcome) {
    for n in &outcome.nodes {
        if let Some(text) = outcome.rulesets.get(*n) {
            reach::marked_ruleset(out, NODES[*n], text, &outcome.marks);
        }
    }
}

fn report(outcome: &Outcome) -> String {
    let mut out = format!("── {} ──\n", outcome.name);
    list(&mut out, "problems", &outcome.problems);
    list(&mut out, "kernel vs engine", &outcome.vs_engine);
    list(&mut out, "kernel vs the case's verdicts", &outcome.vs_case);
    rulesets_excerpt(&mut out, outcome);
    out
}

/// Per area: runs, probes, probes through, probes that needed the second try, pairs not
/// probed (same namespace, no common family), case cells compared and skipped,
/// mismatches, failed runs.
fn print_summary(outcomes: &[Outcome], total: Duration) {
    const HEADER: [&str; 9] = [
        "runs",
        "probes",
        "through",
        "late",
        "unprobed",
        "case cells",
        "skipped",
        "mismatch",
        "failed",
    ];
    let mut areas: BTreeMap<&str, [usize; 9]> = BTreeMap::new();
    for o in outcomes {
        let area = o.name.split('/').next().unwrap_or_default();
        let values = [
            1,
            o.probes,
            o.reached,
            o.late,
            o.unprobeable,
            o.case_cells,
            o.case_cells_skipped,
            o.vs_engine.len() + o.vs_case.len(),
            usize::from(o.failed()),
        ];
        let row = areas.entry(area).or_default();
        for (sum, v) in row.iter_mut().zip(values) {
            *sum += v;
        }
    }
    let line = |first: &str, cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().map(|c| format!("{c:>11}")).collect();
        println!("{first:<16}{}", cells.join(""));
    };
    println!();
    line("area", HEADER.iter().map(ToString::to_string).collect());
    for (area, row) in &areas {
        line(area, row.iter().map(ToString::to_string).collect());
    }
    let slowest = outcomes.iter().max_by_key(|o| o.time);
    println!(
        "total {total:?} for {} runs (every case as written, some also dual-stack); slowest {} ({:?})",
        outcomes.len(),
        slowest.map_or("-", |o| o.name.as_str()),
        slowest.map_or(Duration::ZERO, |o| o.time)
    );
}

#[test]
fn every_conformance_case_is_enforced_by_its_ruleset() {
    let started = Instant::now();
    netns::require_netns();
    netns::cleanup_leftovers();
    let mut all = cases::load_all("");
    assert!(
        all.len() >= 240,
        "only {} conformance cases found",
        all.len()
    );
    // For a quick look at some cases while working on them; the full run checks all.
    if let Ok(filter) = std::env::var("NETPOL_KERNEL_CASES") {
        all.retain(|(name, _)| name.contains(&filter));
    }
    let mut fabric = Fabric::new("kernel", &NODES, Path::new(PROBE));
    let cases = all.len();
    // A case with `steps:` is one state per step (the upstream tier suites change a
    // priority, an action or a label between checks): each state is compiled, loaded and
    // probed like a case of its own, against the engine and that step's own verdicts.
    let states: Vec<(String, Case)> = all
        .iter()
        .flat_map(|(name, case)| cases::states(name, case))
        .collect();
    let steps = states.len() - cases;
    let outcomes: Vec<Outcome> = states
        .iter()
        .flat_map(|(name, case)| run_case(&mut fabric, name, case))
        .collect();
    println!("{cases} cases, {steps} of their steps as states of their own");
    print_summary(&outcomes, started.elapsed());
    let probes: usize = outcomes.iter().map(|o| o.probes).sum();
    let reached: usize = outcomes.iter().map(|o| o.reached).sum();
    let failed: Vec<String> = outcomes.iter().filter(|o| o.failed()).map(report).collect();
    assert!(
        failed.is_empty(),
        "{} of {} runs ({} cases) are not enforced as the engine or the case says:\n\n{}",
        failed.len(),
        outcomes.len(),
        cases,
        failed.join("\n")
    );
    // The proof must have been asked something: many probes, some through, some dropped.
    let filtered = std::env::var("NETPOL_KERNEL_CASES").is_ok();
    assert!(
        filtered || (probes > 10_000 && reached > 0 && reached < probes),
        "{reached} of {probes} probes reached"
    );
}
