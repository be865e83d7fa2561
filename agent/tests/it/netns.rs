//! A simulated cluster out of Linux network namespaces: two "nodes" (a namespace with a
//! bridge each, joined by a veth link with routes), "pods" (namespaces with a veth into their
//! node's bridge, addresses only inside these namespaces), and the processes running in
//! them. Everything is removed on drop, also when a test panics, and leftovers of a killed
//! run are removed at the start of the next.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Every namespace this test creates is named `npt<pid>-...`.
pub const PREFIX: &str = "npt";

/// Runs a command, panicking with its stderr when it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn kill_pids_in(netns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

/// Deletes namespaces of earlier runs whose process is gone (a run killed by a timeout
/// cannot clean up after itself).
pub fn cleanup_leftovers() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if pid.is_empty() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        kill_pids_in(name);
        let _ = Command::new("ip").args(["netns", "del", name]).status();
    }
}

/// Fails (never skips) when this machine cannot run the test, with the reason.
pub fn require_netns() {
    let euid = sh("id", &["-u"]);
    assert_eq!(
        euid.trim(),
        "0",
        "the packet-level agent test needs root (network namespaces, nftables); run it as root"
    );
    for tool in ["ip", "nft", "conntrack"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is not installed; scripts/setup.sh installs it"
        );
    }
}

/// A network namespace, deleted (after killing what runs in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("cannot run ip");
        assert!(
            out.status.success(),
            "`ip netns add {name}` failed ({}); this test needs network namespaces",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        sh("ip", &all);
    }

    /// `ip netns exec NAME PROGRAM ARGS`, as a command to configure further.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args);
        command
    }

    /// Runs a command inside and returns stdout, panicking on failure.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", self.name.as_str(), program];
        all.extend_from_slice(args);
        sh("ip", &all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_pids_in(&self.name);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A child process, killed on drop.
pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    pub node: String,
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
    /// (`(id, node, ip)`), starts a listener in every pod.
    pub fn build(pods: &[(&str, &str, Ipv4Addr)], probe_bin: &Path) -> SimCluster {
        SimCluster::build_named("", pods, probe_bin)
    }

    /// [`SimCluster::build`] with `name` in every namespace's name and the directory, so
    /// tests running at once in one process each have their own cluster.
    pub fn build_named(
        name: &str,
        pods: &[(&str, &str, Ipv4Addr)],
        probe_bin: &Path,
    ) -> SimCluster {
        let tag = format!("{PREFIX}{}{name}", std::process::id());
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
                node: node.to_string(),
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
