//! What the fault-injection tests share: the six-pod simulated cluster of `tests/netns/` with
//! its own namespace tag, agents started with extra flags, every probe compared with the
//! engine's matrix, and the agents' `/healthz` and `/metrics`.
//!
//! A probe the matrix denies but that connects is a *violation*: the tests assert there is
//! none at any moment of a fault. A probe the matrix allows but that fails is *missing*;
//! the tests assert there is none once the fault is over (and, where the agent must keep the
//! previous ruleset, during it too).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netpol_agent::enforce::ruleset_for;
use netpol_agent::ruleset_hash;
use netpol_core::{Engine, FileId, Model, PortRef, Protocol};

use crate::bridged::{SimCluster, TCP_PORTS, UDP_PORTS};
use crate::netns::{self, Proc};

pub const AGENT: &str = env!("CARGO_BIN_EXE_netpol-agent");
pub const PROBE: &str = env!("CARGO_BIN_EXE_netpol-probe");

/// The pods of `tests/netns/cluster.yaml`: id, node, IP.
pub const PODS: [(&str, &str, [u8; 4]); 6] = [
    ("prod/web", "node-a", [10, 99, 1, 2]),
    ("prod/api", "node-a", [10, 99, 1, 3]),
    ("dev/api", "node-a", [10, 99, 1, 4]),
    ("prod/db", "node-b", [10, 99, 2, 2]),
    ("dev/client", "node-b", [10, 99, 2, 3]),
    ("prod/cache", "node-b", [10, 99, 2, 4]),
];

/// The nodes of the simulated cluster.
pub const NODES: [&str; 2] = ["node-a", "node-b"];

/// `tests/netns/cluster.yaml`: namespaces and pods.
pub fn cluster_yaml() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns/cluster.yaml");
    std::fs::read_to_string(path).expect("tests/netns/cluster.yaml")
}

/// A model from texts, the way the CLI reads files (the expected side of every check).
pub fn model_of(texts: &[&str]) -> Model {
    let sources: Vec<(FileId, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (FileId(i as u32), *t))
        .collect();
    netpol_core::load(&sources)
}

/// A simulated cluster whose manifests directory starts with `cluster.yaml`.
pub struct Fixture {
    pub cluster: SimCluster,
}

impl Fixture {
    /// Builds the cluster; `tag` (letters only) keeps its namespaces apart from other tests'.
    pub fn new(tag: &str) -> Fixture {
        netns::require_netns();
        netns::cleanup_leftovers();
        let pods: Vec<(&str, &str, Ipv4Addr)> = PODS
            .iter()
            .map(|(id, node, ip)| (*id, *node, Ipv4Addr::from(*ip)))
            .collect();
        let cluster = SimCluster::build_tagged(tag, &pods, Path::new(PROBE));
        let fixture = Fixture { cluster };
        fixture.write("cluster.yaml", &cluster_yaml());
        fixture
    }

    pub fn dir(&self) -> &Path {
        &self.cluster.dir
    }

    pub fn manifests(&self) -> PathBuf {
        self.cluster.manifests()
    }

    /// Replaces a manifest atomically (hidden temporary file, then rename), as an operator
    /// or a ConfigMap update does.
    pub fn write(&self, name: &str, text: &str) {
        let dir = self.manifests();
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).expect("write manifest");
        std::fs::rename(&tmp, dir.join(name)).expect("rename manifest");
    }

    /// Starts `netpol-agent --manifests` in `node`'s namespace with `extra` flags; its log
    /// goes (appended) to `DIR/NODE.log`, applied hashes to `DIR/NODE.status`.
    pub fn start_agent(&self, node: &str, extra: &[&str]) -> Proc {
        let manifests = self.manifests();
        let status = self.dir().join(format!("{node}.status"));
        let mut args = vec![
            "--manifests",
            manifests.to_str().expect("utf-8 path"),
            "--node-name",
            node,
            "--status-file",
            status.to_str().expect("utf-8 path"),
            "--metrics-addr",
            "127.0.0.1:9695",
        ];
        args.extend_from_slice(extra);
        self.spawn_in(node, &args)
    }

    /// Starts the agent binary in `node`'s namespace with exactly `args`.
    pub fn spawn_in(&self, node: &str, args: &[&str]) -> Proc {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join(format!("{node}.log")))
            .expect("agent log");
        let child = self
            .cluster
            .node(node)
            .command(Path::new(AGENT), args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start agent");
        Proc { child }
    }

    pub fn log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{node}.log"))).unwrap_or_default()
    }

    /// The hash the agent on `node` last reported as applied.
    pub fn status(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{node}.status")))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Waits until `cond` holds, panicking with `what` and both agents' logs after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            if start.elapsed() > timeout {
                panic!(
                    "{what}: not within {timeout:?}\nnode-a log:\n{}\nnode-b log:\n{}",
                    self.log("node-a"),
                    self.log("node-b")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the agents on `nodes` report the ruleset of `model` as applied.
    pub fn wait_applied(&self, model: &Model, nodes: &[&str]) {
        for node in nodes {
            let want = expected_hash(model, node);
            self.wait_for(
                &format!("{node} applies ruleset {want}"),
                Duration::from_secs(10),
                || self.status(node) == want,
            );
        }
    }

    /// `GET path` from the agent on `node` (inside its namespace): status code and body.
    pub fn fetch(&self, node: &str, path: &str) -> (u16, String) {
        let out = self
            .cluster
            .node(node)
            .command(Path::new(PROBE), &["fetch", "127.0.0.1:9695", path])
            .output()
            .expect("netpol-probe fetch");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (code, body) = text.split_once('\n').unwrap_or(("0", ""));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// The value of metric `name` (the first sample line starting with it) on `node`.
    pub fn metric(&self, node: &str, name: &str) -> Option<f64> {
        let (_, body) = self.fetch(node, "/metrics");
        metric_in(&body, name)
    }

    /// Probes every ordered pair of distinct pods on every port and compares each result
    /// with the engine's matrices for `model`.
    pub fn check(&self, model: &Model) -> Check {
        compare(&self.cluster, model, &probe_all(&self.cluster))
    }

    /// Opens a TCP connection from `src` (pod id) to `target` (`tcp:IP:PORT`) and keeps it.
    pub fn hold(&self, src: &str, target: &str) -> Held {
        Held::open(&self.cluster, src, target)
    }

    /// Forgets connection tracking on both nodes, so a flow admitted earlier cannot look
    /// established to the next check.
    pub fn flush_conntrack(&self) {
        for (_, node) in &self.cluster.nodes {
            let _ = Command::new("ip")
                .args(["netns", "exec", &node.name, "conntrack", "-F"])
                .output();
        }
    }
}

/// The value of the first sample of `name` (exact name, with or without labels) in a
/// Prometheus text body.
pub fn metric_in(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The hash the agent writes to its status file once `model`'s ruleset for `node` is active.
pub fn expected_hash(model: &Model, node: &str) -> String {
    format!("{:016x}", ruleset_hash(&ruleset_for(model, node).text))
}

/// One probe result per (src, dst, protocol, port): pod indices into `cluster.pods`.
pub type Results = BTreeMap<(usize, usize, Protocol, u16), bool>;

/// Probes every ordered pair of distinct pods on every port, all at once (1 s timeout).
pub fn probe_all(cluster: &SimCluster) -> Results {
    probe_all_within(cluster, 1000)
}

/// [`probe_all`] with another timeout: short rounds catch short windows.
pub fn probe_all_within(cluster: &SimCluster, timeout_ms: u32) -> Results {
    let mut children = Vec::new();
    for (s, src) in cluster.pods.iter().enumerate() {
        let mut args = vec![
            "probe".to_string(),
            "--timeout-ms".into(),
            timeout_ms.to_string(),
        ];
        for dst in cluster.pods.iter().filter(|d| d.id != src.id) {
            args.extend(TCP_PORTS.iter().map(|p| format!("tcp:{}:{p}", dst.ip)));
            args.extend(UDP_PORTS.iter().map(|p| format!("udp:{}:{p}", dst.ip)));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = src
            .ns
            .command(Path::new(PROBE), &args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start probe");
        children.push((s, child));
    }
    let mut results = Results::new();
    for (s, child) in children {
        let out = child.wait_with_output().expect("probe output");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [proto, ip, port, verdict] = parts[..] else {
                panic!("bad probe line {line:?}");
            };
            let ip: Ipv4Addr = ip.parse().expect("probe ip");
            let d = cluster
                .pods
                .iter()
                .position(|p| p.ip == ip)
                .expect("probe dst");
            let protocol = if proto == "tcp" {
                Protocol::TCP
            } else {
                Protocol::UDP
            };
            assert_ne!(verdict, "refused", "no listener on {ip}:{port}/{proto}");
            results.insert(
                (s, d, protocol, port.parse().expect("port")),
                verdict == "ok",
            );
        }
    }
    let n = cluster.pods.len();
    assert_eq!(
        results.len(),
        n * (n - 1) * (TCP_PORTS.len() + UDP_PORTS.len()),
        "every probe must report"
    );
    results
}

/// Probe results against the engine.
#[derive(Debug, Default)]
pub struct Check {
    pub probes: usize,
    pub allowed: usize,
    /// Denied by the engine, connected anyway.
    pub violations: Vec<String>,
    /// Allowed by the engine, did not connect.
    pub missing: Vec<String>,
}

impl Check {
    /// Nothing denied connected and everything allowed did.
    pub fn assert_exact(&self, what: &str) {
        self.assert_no_violation(what);
        assert!(
            self.missing.is_empty(),
            "{what}: {} allowed probes failed:\n{}",
            self.missing.len(),
            self.missing.join("\n")
        );
    }

    /// Nothing the matrix denies connected.
    pub fn assert_no_violation(&self, what: &str) {
        assert!(
            self.violations.is_empty(),
            "{what}: {} probes the engine denies connected:\n{}",
            self.violations.len(),
            self.violations.join("\n")
        );
    }
}

/// Compares probe results with the engine's matrices for `model`.
pub fn compare(cluster: &SimCluster, model: &Model, results: &Results) -> Check {
    let index: Vec<usize> = cluster
        .pods
        .iter()
        .map(|p| {
            model
                .cluster
                .pod_index(&p.id)
                .unwrap_or_else(|| panic!("pod {} is not in the model", p.id))
        })
        .collect();
    let engine = Engine::new(model);
    let mut matrices = BTreeMap::new();
    for (protocol, ports) in [
        (Protocol::TCP, TCP_PORTS.as_slice()),
        (Protocol::UDP, UDP_PORTS.as_slice()),
    ] {
        for port in ports {
            matrices.insert(
                (protocol, *port),
                engine.matrix(protocol, &PortRef::Number(*port)),
            );
        }
    }
    let mut check = Check {
        probes: results.len(),
        ..Check::default()
    };
    for ((s, d, protocol, port), got) in results {
        let want = matrices[&(*protocol, *port)].allowed(index[*s], index[*d]);
        check.allowed += usize::from(*got);
        let line = format!(
            "{} -> {} {protocol}/{port}",
            cluster.pods[*s].id, cluster.pods[*d].id
        );
        match (want, *got) {
            (false, true) => check.violations.push(line),
            (true, false) => check.missing.push(line),
            _ => {}
        }
    }
    check
}

/// A held TCP connection from one pod to another (`netpol-probe hold`).
pub struct Held {
    proc: Proc,
    out: BufReader<std::process::ChildStdout>,
}

impl Held {
    pub fn open(cluster: &SimCluster, src: &str, target: &str) -> Held {
        let pod = cluster.pods.iter().find(|p| p.id == src).expect("src pod");
        let mut child = pod
            .ns
            .command(Path::new(PROBE), &["hold", target])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start hold");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("hold output");
        assert_eq!(line.trim(), "connected", "opening {src} -> {target}");
        Held {
            proc: Proc { child },
            out,
        }
    }

    /// Sends a ping over the connection; whether the echo came back within 1 s.
    pub fn ping(&mut self) -> bool {
        let stdin = self.proc.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").expect("hold stdin");
        stdin.flush().expect("hold stdin");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("hold output");
        line.trim() == "ok"
    }
}

/// A deny-all policy (both directions) for namespace `ns`, as an operator would write it.
pub fn deny_all(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
    )
}
