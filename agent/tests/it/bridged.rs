//! The two-node bridged cluster the fault-injection tests run on (`harness.rs`): two
//! "nodes" (a namespace with a bridge each, joined by a veth link with routes) and "pods"
//! (namespaces with a veth into their node's bridge), built from `netns.rs`'s namespaces.
//! The kernel and upstream proofs use the routed topology of `fabric.rs` instead; the fault
//! tests need only a fixed six-pod cluster with agents they can kill, restart and starve.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netns::{sh, Netns, Proc, PREFIX};

/// Reads lines from a child's stdout until `want` (or EOF / timeout).
pub fn wait_line(stdout: &mut BufReader<ChildStdout>, want: &str, timeout: Duration) -> bool {
    let start = Instant::now();
    let mut line = String::new();
    while start.elapsed() < timeout {
        line.clear();
        match stdout.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) if line.trim() == want => return true,
            Ok(_) => {}
        }
    }
    false
}

/// One simulated pod.
pub struct PodNs {
    /// `namespace/name`, as in the manifests.
    pub id: String,
    pub ip: Ipv4Addr,
    pub ns: Netns,
}

/// The simulated cluster. Field order is drop order: processes, then pods, then nodes.
pub struct SimCluster {
    pub procs: Vec<Proc>,
    pub pods: Vec<PodNs>,
    pub nodes: Vec<(String, Netns)>,
    pub dir: PathBuf,
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.procs.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// TCP ports every pod listens on, and UDP ports.
pub const TCP_PORTS: [u16; 5] = [80, 81, 5432, 8080, 9001];
pub const UDP_PORTS: [u16; 1] = [53];

impl SimCluster {
    /// Builds nodes `node-a` (10.99.1.0/24) and `node-b` (10.99.2.0/24) and the `pods`
    /// (`(id, node, ip)`), starts a listener in every pod; `tag` goes in every namespace
    /// name, so tests running at the same time in one process each get their own cluster.
    pub fn build_tagged(
        tag: &str,
        pods: &[(&str, &str, Ipv4Addr)],
        probe_bin: &Path,
    ) -> SimCluster {
        let tag = format!("{PREFIX}{}{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("manifests")).expect("temp dir");
        let mut cluster = SimCluster {
            procs: Vec::new(),
            pods: Vec::new(),
            nodes: Vec::new(),
            dir,
        };
        for (i, node) in ["node-a", "node-b"].iter().enumerate() {
            let ns = Netns::new(format!("{tag}-{node}"));
            let subnet = i + 1;
            ns.ip(&["link", "add", "br0", "type", "bridge"]);
            ns.ip(&["addr", "add", &format!("10.99.{subnet}.1/24"), "dev", "br0"]);
            ns.ip(&["link", "set", "br0", "up"]);
            ns.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
            // Bridged pod-to-pod packets must pass the inet forward hook, as on a real node
            // with br_netfilter.
            let _ = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.name,
                    "sysctl",
                    "-qw",
                    "net.bridge.bridge-nf-call-iptables=1",
                ])
                .output();
            cluster.nodes.push((node.to_string(), ns));
        }
        // The link between the nodes, with a route to the other node's pod subnet.
        let (a, b) = (&cluster.nodes[0].1, &cluster.nodes[1].1);
        sh(
            "ip",
            &[
                "link", "add", "lnk", "netns", &a.name, "type", "veth", "peer", "name", "lnk",
                "netns", &b.name,
            ],
        );
        a.ip(&["addr", "add", "10.98.0.1/30", "dev", "lnk"]);
        b.ip(&["addr", "add", "10.98.0.2/30", "dev", "lnk"]);
        a.ip(&["link", "set", "lnk", "up"]);
        b.ip(&["link", "set", "lnk", "up"]);
        a.ip(&["route", "add", "10.99.2.0/24", "via", "10.98.0.2"]);
        b.ip(&["route", "add", "10.99.1.0/24", "via", "10.98.0.1"]);

        for (k, (id, node, ip)) in pods.iter().enumerate() {
            let node_index = cluster
                .nodes
                .iter()
                .position(|(n, _)| n == node)
                .unwrap_or_else(|| panic!("unknown node {node}"));
            let node_ns = &cluster.nodes[node_index].1;
            let ns = Netns::new(format!("{tag}-{}", id.replace('/', "-")));
            let veth = format!("vp{k}");
            sh(
                "ip",
                &[
                    "link",
                    "add",
                    &veth,
                    "netns",
                    &node_ns.name,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    &ns.name,
                ],
            );
            node_ns.ip(&["link", "set", &veth, "master", "br0", "up"]);
            ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
            ns.ip(&["link", "set", "eth0", "up"]);
            let gateway = format!("10.99.{}.1", node_index + 1);
            ns.ip(&["route", "add", "default", "via", &gateway]);
            cluster.pods.push(PodNs {
                id: id.to_string(),
                ip: *ip,
                ns,
            });
        }
        let tcp: Vec<String> = TCP_PORTS.iter().map(u16::to_string).collect();
        let udp: Vec<String> = UDP_PORTS.iter().map(u16::to_string).collect();
        for pod in &cluster.pods {
            let mut child = pod
                .ns
                .command(
                    probe_bin,
                    &["listen", "--tcp", &tcp.join(","), "--udp", &udp.join(",")],
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start listener");
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            cluster.procs.push(Proc { child });
            assert!(
                wait_line(&mut out, "ready", Duration::from_secs(5)),
                "listener in {} did not start",
                pod.id
            );
        }
        cluster
    }

    pub fn manifests(&self) -> PathBuf {
        self.dir.join("manifests")
    }

    pub fn node(&self, name: &str) -> &Netns {
        &self
            .nodes
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("unknown node {name}"))
            .1
    }
}
