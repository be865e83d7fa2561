//! A routed simulated cluster out of network namespaces, shaped like a routed CNI's data
//! plane (Calico's, for one):
//!
//! ```text
//!   pod ──veth── node ──veth──┐                ┌──veth── node ──veth── pod
//!   pod ──veth──┘             router (outside) ┤
//!                             (no ruleset)     └──veth── node (host-network pods' addresses)
//! ```
//!
//! - A pod is a namespace whose `eth0` holds its IPs as /32 and /128. Its node has a host
//!   route per pod IP to the pod's veth, so every packet to or from a pod is *routed* by its
//!   node and passes the node's `forward` hook, where the agent's ruleset lives; also between
//!   two pods of the same node. Pod IPs can be anything: nothing depends on subnets.
//! - The router joins the nodes and stands for the world outside the cluster: addresses
//!   "outside the cluster" live on its loopback. It has no ruleset.
//! - A node's own addresses (where host-network pods live) are on the node's loopback.
//! - Links use only 169.254.0.0/16 and fe80::/10 and static neighbour entries, so no packet
//!   waits for ARP or NDP; no endpoint ever gets such an address.
//! - Every namespace runs one long-lived `netpol-probe serve` worker: the listeners and the
//!   probes of every endpoint that lives there (a pod, a node's host-network pods, the
//!   outside addresses).
//!
//! Addresses are (re)assigned with [`Fabric::place`], which changes only what differs from
//! the current placement: a test can run hundreds of clusters on the same namespaces.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::netns::{Netns, Proc, PREFIX};

/// The router's and the nodes' link addresses (the same on every link; links are
/// point-to-point veths, so neighbour entries are per device).
const ROUTER_V4: &str = "169.254.0.1";
const ROUTER_V6: &str = "fe80::1";
const NODE_V4: &str = "169.254.0.2";
const NODE_V6: &str = "fe80::2";
/// The gateway pods send to (answered by their node's veth, through a static entry).
const GATEWAY_V4: &str = "169.254.1.254";
const GATEWAY_V6: &str = "fe80::1";

/// Whether `ip` belongs to the fabric's own link ranges (never an endpoint's address).
pub fn is_link_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// A `netpol-probe serve` process in one namespace, driven over its stdin and stdout.
pub struct Worker {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    name: String,
    /// What the worker listens on now.
    listening: Vec<String>,
    _proc: Proc,
}

impl Worker {
    fn start(ns: &Netns, probe: &Path) -> Worker {
        let mut child = ns
            .command(probe, &["serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start netpol-probe serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Worker {
            stdin,
            stdout,
            name: ns.name.clone(),
            listening: Vec::new(),
            _proc: Proc { child },
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("worker in {}: {e}", self.name));
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("worker in {}: {e}", self.name));
        assert!(n > 0, "worker in {} exited", self.name);
        line.trim_end().to_string()
    }

    /// Makes the worker's listening sockets exactly `specs` (`tcp:10.0.0.1:80`, ...).
    pub fn listen(&mut self, specs: &[String]) {
        if self.listening == specs {
            return;
        }
        self.send(&format!("listen {}", specs.join(" ")));
        let answer = self.line();
        assert_eq!(answer, "ready", "worker in {}: listen failed", self.name);
        self.listening = specs.to_vec();
    }

    /// Starts probing `specs` (`tcp:10.0.0.1:80@10.0.0.2`); read with [`Worker::verdicts`].
    pub fn start_probes(&mut self, timeout: Duration, specs: &[String]) {
        self.send(&format!(
            "probe {} {}",
            timeout.as_millis(),
            specs.join(" ")
        ));
    }

    /// The verdicts of the probes started last, in order (`ok`, `timeout`, ...).
    pub fn verdicts(&mut self, specs: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(specs.len());
        loop {
            let line = self.line();
            if line == "done" {
                break;
            }
            assert!(
                !line.starts_with("error "),
                "worker in {}: {line}",
                self.name
            );
            let (spec, verdict) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("worker in {}: bad line {line:?}", self.name));
            assert_eq!(
                spec,
                specs[out.len()],
                "worker in {}: answers out of order",
                self.name
            );
            out.push(verdict.to_string());
        }
        assert_eq!(
            out.len(),
            specs.len(),
            "worker in {}: missing answers",
            self.name
        );
        out
    }
}

/// A namespace with its worker and the endpoint addresses it holds now. Field order is
/// drop order: the worker dies before its namespace.
pub struct Host {
    pub worker: Worker,
    pub ns: Netns,
    addrs: Vec<IpAddr>,
}

impl Host {
    fn new(name: String, probe: &Path) -> Host {
        let ns = Netns::new(name);
        // Addresses are usable at once (no duplicate address detection), and replies may
        // come back on any link (no reverse-path filter): this is a lab, not a network.
        ns.sysctl(&[
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ]);
        Host {
            worker: Worker::start(&ns, probe),
            ns,
            addrs: Vec::new(),
        }
    }
}

/// A pod's namespace, attached to a node.
pub struct Slot {
    pub host: Host,
    pub node: usize,
    veth: String,
    /// The pod's `eth0`.
    mac: String,
    /// The node's end of the veth, the pod's gateway.
    gateway_mac: String,
}

/// A node's namespace.
pub struct Node {
    pub host: Host,
    /// The router's end of this node's link.
    uplink: String,
}

/// Where an endpoint lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostRef {
    /// A pod namespace.
    Slot(usize),
    /// A node's own namespace (host-network pods).
    Node(usize),
    /// The router: addresses outside the cluster.
    Router,
}

/// Which addresses every host holds.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// Per slot (missing slots hold nothing).
    pub slots: Vec<Vec<IpAddr>>,
    /// Per node: its own addresses.
    pub nodes: Vec<Vec<IpAddr>>,
    /// Outside addresses.
    pub router: Vec<IpAddr>,
}

/// The simulated cluster. Field order is drop order: pods, then nodes, then the router.
pub struct Fabric {
    pub slots: Vec<Slot>,
    pub nodes: Vec<Node>,
    pub router: Host,
    tag: String,
    probe: PathBuf,
    /// Which node the router sends each address to.
    routes: BTreeMap<IpAddr, usize>,
}

fn mac(kind: u8, index: usize, end: u8) -> String {
    format!(
        "02:00:{kind:02x}:{:02x}:{:02x}:{end:02x}",
        (index >> 8) & 0xff,
        index & 0xff
    )
}

fn prefix_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

impl Fabric {
    /// The router and `nodes` (names as in `spec.nodeName`), namespaces named
    /// `npt<pid>-<tag>-...`.
    pub fn new(tag: &str, nodes: &[&str], probe: &Path) -> Fabric {
        let tag = format!("{PREFIX}{}-{tag}", std::process::id());
        let router = Host::new(format!("{tag}-router"), probe);
        router
            .ns
            .sysctl(&["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
        let mut fabric = Fabric {
            slots: Vec::new(),
            nodes: Vec::new(),
            router,
            tag,
            probe: probe.to_path_buf(),
            routes: BTreeMap::new(),
        };
        for name in nodes {
            fabric.add_node(name);
        }
        fabric
    }

    fn add_node(&mut self, name: &str) {
        let i = self.nodes.len();
        let host = Host::new(format!("{}-{name}", self.tag), &self.probe);
        host.ns
            .sysctl(&["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
        let uplink = format!("up{i}");
        let (router_mac, node_mac) = (mac(0, i, 1), mac(0, i, 2));
        crate::netns::sh(
            "ip",
            &[
                "link",
                "add",
                &uplink,
                "address",
                &router_mac,
                "netns",
                &self.router.ns.name,
                "type",
                "veth",
                "peer",
                "name",
                "uplink",
                "address",
                &node_mac,
                "netns",
                &host.ns.name,
            ],
        );
        self.router.ns.ip_batch(&[
            format!("link set {uplink} up"),
            format!("address add {ROUTER_V4}/32 dev {uplink}"),
            format!("address add {ROUTER_V6}/64 dev {uplink} nodad"),
            format!("neigh replace {NODE_V4} lladdr {node_mac} dev {uplink} nud permanent"),
            format!("neigh replace {NODE_V6} lladdr {node_mac} dev {uplink} nud permanent"),
        ]);
        host.ns.ip_batch(&[
            "link set uplink up".to_string(),
            format!("address add {NODE_V4}/32 dev uplink"),
            format!("address add {NODE_V6}/64 dev uplink nodad"),
            format!("neigh replace {ROUTER_V4} lladdr {router_mac} dev uplink nud permanent"),
            format!("neigh replace {ROUTER_V6} lladdr {router_mac} dev uplink nud permanent"),
            format!("route add 0.0.0.0/0 via {ROUTER_V4} dev uplink onlink"),
            format!("route add ::/0 via {ROUTER_V6} dev uplink"),
        ]);
        self.nodes.push(Node { host, uplink });
    }

    /// A new pod namespace on node `node`; returns its index.
    pub fn add_slot(&mut self, node: usize) -> usize {
        let k = self.slots.len();
        let host = Host::new(format!("{}-pod{k}", self.tag), &self.probe);
        let node_ns = &self.nodes[node].host.ns;
        let veth = format!("v{k}");
        let (node_mac, pod_mac) = (mac(1, k, 1), mac(1, k, 2));
        crate::netns::sh(
            "ip",
            &[
                "link",
                "add",
                &veth,
                "address",
                &node_mac,
                "netns",
                &node_ns.name,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "address",
                &pod_mac,
                "netns",
                &host.ns.name,
            ],
        );
        node_ns.ip_batch(&[format!("link set {veth} up")]);
        let mut cmds = vec!["link set eth0 up".to_string()];
        cmds.extend(pod_routes(&node_mac));
        host.ns.ip_batch(&cmds);
        self.slots.push(Slot {
            host,
            node,
            veth,
            mac: pod_mac,
            gateway_mac: node_mac,
        });
        k
    }

    /// The host `at` refers to.
    pub fn host_mut(&mut self, at: HostRef) -> &mut Host {
        match at {
            HostRef::Slot(k) => &mut self.slots[k].host,
            HostRef::Node(n) => &mut self.nodes[n].host,
            HostRef::Router => &mut self.router,
        }
    }

    /// The node whose forward hook sees the traffic of `at` (none for the router).
    pub fn node_of(&self, at: HostRef) -> Option<usize> {
        match at {
            HostRef::Slot(k) => Some(self.slots[k].node),
            HostRef::Node(n) => Some(n),
            HostRef::Router => None,
        }
    }

    /// Moves addresses so that every host holds exactly what `placement` says. Addresses
    /// must be unique across hosts and never link addresses.
    pub fn place(&mut self, placement: &Placement) {
        let mut seen = BTreeSet::new();
        let all = placement
            .slots
            .iter()
            .chain(&placement.nodes)
            .chain(std::iter::once(&placement.router))
            .flatten();
        for ip in all {
            assert!(
                !is_link_address(*ip),
                "{ip} is a link address of the fabric"
            );
            assert!(seen.insert(*ip), "{ip} is placed twice");
        }
        let want = |list: &Vec<Vec<IpAddr>>, i: usize| list.get(i).cloned().unwrap_or_default();
        let mut node_cmds: Vec<Vec<String>> = vec![Vec::new(); self.nodes.len()];
        let mut node_adds: Vec<Vec<String>> = vec![Vec::new(); self.nodes.len()];
        for k in 0..self.slots.len() {
            let new = want(&placement.slots, k);
            let slot = &self.slots[k];
            if slot.host.addrs == new {
                continue;
            }
            let cmds = &mut node_cmds[slot.node];
            for ip in &slot.host.addrs {
                let len = prefix_len(*ip);
                cmds.push(format!("route del {ip}/{len} dev {}", slot.veth));
                cmds.push(format!("neigh del {ip} dev {}", slot.veth));
            }
            for ip in &new {
                let len = prefix_len(*ip);
                node_adds[slot.node].push(format!("route replace {ip}/{len} dev {}", slot.veth));
                node_adds[slot.node].push(format!(
                    "neigh replace {ip} lladdr {} dev {} nud permanent",
                    slot.mac, slot.veth
                ));
            }
            let mut pod_cmds = local_addresses("eth0", &new);
            // Removing a device's last IPv4 address also removes its IPv4 routes and
            // neighbour entries, static ones included.
            pod_cmds.extend(pod_routes(&slot.gateway_mac));
            slot.host.ns.ip_batch(&pod_cmds);
            self.slots[k].host.addrs = new;
        }
        for n in 0..self.nodes.len() {
            let new = want(&placement.nodes, n);
            let node = &mut self.nodes[n];
            if node.host.addrs != new {
                node.host.ns.ip_batch(&local_addresses("lo", &new));
                node.host.addrs = new;
            }
            let mut cmds = std::mem::take(&mut node_cmds[n]);
            cmds.append(&mut node_adds[n]);
            node.host.ns.ip_batch(&cmds);
        }
        self.place_router(placement);
    }

    /// The router: its own (outside) addresses, and a route to the right node for every
    /// other address.
    fn place_router(&mut self, placement: &Placement) {
        let mut routes = BTreeMap::new();
        for (k, slot) in self.slots.iter().enumerate() {
            for ip in placement.slots.get(k).into_iter().flatten() {
                routes.insert(*ip, slot.node);
            }
        }
        for (n, ips) in placement.nodes.iter().enumerate() {
            for ip in ips {
                routes.insert(*ip, n);
            }
        }
        let mut cmds = Vec::new();
        if self.router.addrs != placement.router {
            cmds.extend(local_addresses("lo", &placement.router));
        }
        for (ip, node) in &self.routes {
            if routes.get(ip) != Some(node) {
                cmds.push(format!("route del {ip}/{}", prefix_len(*ip)));
            }
        }
        for (ip, node) in &routes {
            if self.routes.get(ip) != Some(node) {
                let (via, onlink) = if ip.is_ipv4() {
                    (NODE_V4, " onlink")
                } else {
                    (NODE_V6, "")
                };
                cmds.push(format!(
                    "route replace {ip}/{} via {via} dev {}{onlink}",
                    prefix_len(*ip),
                    self.nodes[*node].uplink
                ));
            }
        }
        self.router.ns.ip_batch(&cmds);
        self.router.addrs = placement.router.clone();
        self.routes = routes;
    }

    /// Replaces the ruleset of node `n` with `text` (`nft -f`, one transaction).
    pub fn load_ruleset(&self, n: usize, text: &str) -> Result<(), String> {
        let mut child = self.nodes[n]
            .host
            .ns
            .command(Path::new("nft"), &["-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run nft");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("write ruleset");
        drop(stdin);
        let out = child.wait_with_output().expect("nft");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Forgets connection tracking state on every node, so a flow admitted by one ruleset
    /// cannot look "established" under the next.
    pub fn flush_conntrack(&self) {
        for node in &self.nodes {
            let _ = Command::new("ip")
                .args(["netns", "exec", &node.host.ns.name, "conntrack", "-F"])
                .output();
        }
    }
}

/// A pod's default routes through its node, whose veth has `gateway_mac`.
fn pod_routes(gateway_mac: &str) -> [String; 4] {
    [
        format!("neigh replace {GATEWAY_V4} lladdr {gateway_mac} dev eth0 nud permanent"),
        format!("neigh replace {GATEWAY_V6} lladdr {gateway_mac} dev eth0 nud permanent"),
        format!("route replace 0.0.0.0/0 via {GATEWAY_V4} dev eth0 onlink"),
        format!("route replace ::/0 via {GATEWAY_V6} dev eth0"),
    ]
}

/// `ip` commands that make `dev` hold exactly `ips` as host addresses.
fn local_addresses(dev: &str, ips: &[IpAddr]) -> Vec<String> {
    let mut cmds = vec![format!("address flush dev {dev} scope global")];
    for ip in ips {
        let nodad = if ip.is_ipv6() { " nodad" } else { "" };
        cmds.push(format!(
            "address add {ip}/{} dev {dev}{nodad}",
            prefix_len(*ip)
        ));
    }
    cmds
}
