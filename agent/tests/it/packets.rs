//! THE PROOF: real packets through real nftables rulesets installed by real agents agree
//! with the core's `Engine::matrix` on every probe.
//!
//! Two nodes with three pods each (see `netns.rs` and `tests/netns/cluster.yaml`), one
//! `netpol-agent --manifests DIR` per node running inside its node's namespace, and for
//! each scenario of `tests/netns/` every source pod probes every other pod on every TCP
//! and UDP port the pods listen on, all at once with a 1 s timeout. A probe is allowed when
//! the TCP handshake completes or the UDP echo comes back. Pods do not probe themselves
//! (that traffic never leaves the pod). Then a policy update while a connection is open: the
//! established connection keeps working, new connections follow the new rules.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netpol_agent::enforce::ruleset_for;
use netpol_agent::{manifests, ruleset_hash};
use netpol_core::{Engine, Model, PortRef, Protocol};

use crate::netns::{self, Proc, SimCluster, TCP_PORTS, UDP_PORTS};

const AGENT: &str = env!("CARGO_BIN_EXE_netpol-agent");
const PROBE: &str = env!("CARGO_BIN_EXE_netpol-probe");

/// The pods of `tests/netns/cluster.yaml`: id, node, IP. Checked against the manifest below.
const PODS: [(&str, &str, [u8; 4]); 6] = [
    ("prod/web", "node-a", [10, 99, 1, 2]),
    ("prod/api", "node-a", [10, 99, 1, 3]),
    ("dev/api", "node-a", [10, 99, 1, 4]),
    ("prod/db", "node-b", [10, 99, 2, 2]),
    ("dev/client", "node-b", [10, 99, 2, 3]),
    ("prod/cache", "node-b", [10, 99, 2, 4]),
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns")
}

/// Replaces the scenario's policy file atomically (write a hidden file, rename), so the
/// agent never reads half a file.
fn install_policies(cluster: &SimCluster, text: &str) {
    let dir = cluster.manifests();
    let tmp = dir.join(".policies.yaml.tmp");
    std::fs::write(&tmp, text).expect("write policies");
    std::fs::rename(&tmp, dir.join("policies.yaml")).expect("rename policies");
}

/// Waits until both agents report the ruleset compiled from the current manifests.
pub(crate) fn wait_applied(cluster: &SimCluster, model: &Model, timeout: Duration) -> Duration {
    let start = Instant::now();
    for (node, _) in &cluster.nodes {
        let want = format!("{:016x}", ruleset_hash(&ruleset_for(model, node).text));
        let status = cluster.dir.join(format!("{node}.status"));
        loop {
            let got = std::fs::read_to_string(&status).unwrap_or_default();
            if got.trim() == want {
                break;
            }
            if start.elapsed() > timeout {
                let log = std::fs::read_to_string(cluster.dir.join(format!("{node}.log")))
                    .unwrap_or_default();
                panic!("agent on {node} did not apply ruleset {want} within {timeout:?} (status {got:?}); log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    start.elapsed()
}

fn start_agent(cluster: &SimCluster, node: &str) -> Proc {
    let log = std::fs::File::create(cluster.dir.join(format!("{node}.log"))).expect("agent log");
    let manifests = cluster.manifests();
    let status = cluster.dir.join(format!("{node}.status"));
    let child = cluster
        .node(node)
        .command(
            Path::new(AGENT),
            &[
                "--manifests",
                manifests.to_str().expect("utf-8 path"),
                "--node-name",
                node,
                "--status-file",
                status.to_str().expect("utf-8 path"),
                "--metrics-addr",
                "127.0.0.1:9695",
            ],
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start agent");
    Proc { child }
}

/// One probe result per (src, dst, protocol, port).
type Results = BTreeMap<(usize, usize, Protocol, u16), bool>;

/// Probes every ordered pair of distinct pods on every port, all sources in parallel.
fn probe_all(cluster: &SimCluster) -> Results {
    let mut children = Vec::new();
    for (s, src) in cluster.pods.iter().enumerate() {
        let mut args = vec![
            "probe".to_string(),
            // Generous: all probes run at once, so a denied probe costs one timeout per
            // scenario, and a loaded CI machine must not turn a slow handshake into "denied".
            "--timeout-ms".to_string(),
            "1000".to_string(),
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
            let port: u16 = port.parse().expect("probe port");
            assert_ne!(
                verdict, "refused",
                "no listener on {ip}:{port}/{proto}: test setup is broken"
            );
            results.insert((s, d, protocol, port), verdict == "ok");
        }
    }
    results
}

/// Pod index in the model for each simulated pod.
fn model_indices(cluster: &SimCluster, model: &Model) -> Vec<usize> {
    cluster
        .pods
        .iter()
        .map(|p| {
            let i = model
                .cluster
                .pod_index(&p.id)
                .unwrap_or_else(|| panic!("pod {} is not in the model", p.id));
            let pod = &model.cluster.pods[i];
            assert_eq!(
                pod.ips,
                vec![std::net::IpAddr::V4(p.ip)],
                "IP of {} in cluster.yaml",
                p.id
            );
            assert_eq!(
                pod.node.as_deref(),
                Some(p.node.as_str()),
                "node of {} in cluster.yaml",
                p.id
            );
            i
        })
        .collect()
}

pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) probes: usize,
    pub(crate) allowed: usize,
    pub(crate) mismatches: Vec<String>,
    pub(crate) active_after: Duration,
}

/// Probes everything and compares with the engine's matrices for `model`.
pub(crate) fn check(
    cluster: &SimCluster,
    model: &Model,
    name: &str,
    active_after: Duration,
) -> Row {
    let index = model_indices(cluster, model);
    let engine = Engine::new(model);
    let mut matrices = BTreeMap::new();
    for port in TCP_PORTS {
        matrices.insert(
            (Protocol::TCP, port),
            engine.matrix(Protocol::TCP, &PortRef::Number(port)),
        );
    }
    for port in UDP_PORTS {
        matrices.insert(
            (Protocol::UDP, port),
            engine.matrix(Protocol::UDP, &PortRef::Number(port)),
        );
    }
    let results = probe_all(cluster);
    let mut mismatches = Vec::new();
    let mut allowed = 0;
    for ((s, d, protocol, port), got) in &results {
        let want = matrices[&(*protocol, *port)].allowed(index[*s], index[*d]);
        allowed += usize::from(*got);
        if want != *got {
            mismatches.push(format!(
                "{} -> {} {protocol}/{port}: engine says {}, packets say {}",
                cluster.pods[*s].id,
                cluster.pods[*d].id,
                if want { "allowed" } else { "denied" },
                if *got { "allowed" } else { "denied" },
            ));
        }
    }
    let expected =
        cluster.pods.len() * (cluster.pods.len() - 1) * (TCP_PORTS.len() + UDP_PORTS.len());
    assert_eq!(results.len(), expected, "every probe must report");
    Row {
        name: name.to_string(),
        probes: results.len(),
        allowed,
        mismatches,
        active_after,
    }
}

/// Forgets connection tracking state on both nodes, so a UDP flow admitted in one scenario
/// cannot look "established" in the next.
pub(crate) fn flush_conntrack(cluster: &SimCluster) {
    for (_, node) in &cluster.nodes {
        let _ = Command::new("ip")
            .args(["netns", "exec", &node.name, "conntrack", "-F"])
            .output();
    }
}

pub(crate) fn print_table(rows: &[Row]) {
    println!(
        "\n{:<34} {:>6} {:>8} {:>7} {:>10} {:>9}",
        "scenario", "probes", "allowed", "denied", "mismatches", "active"
    );
    for row in rows {
        println!(
            "{:<34} {:>6} {:>8} {:>7} {:>10} {:>7}ms",
            row.name,
            row.probes,
            row.allowed,
            row.probes - row.allowed,
            row.mismatches.len(),
            row.active_after.as_millis()
        );
    }
}

/// A held TCP connection from one pod to another.
struct Held {
    proc: Proc,
    out: BufReader<std::process::ChildStdout>,
}

impl Held {
    fn open(cluster: &SimCluster, src: &str, target: &str) -> Held {
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

    fn ping(&mut self) -> bool {
        let stdin = self.proc.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").expect("hold stdin");
        stdin.flush().expect("hold stdin");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("hold output");
        line.trim() == "ok"
    }
}

#[test]
fn agents_enforce_what_the_engine_computes() {
    let started = Instant::now();
    netns::require_netns();
    netns::cleanup_leftovers();
    let pods: Vec<(&str, &str, Ipv4Addr)> = PODS
        .iter()
        .map(|(id, node, ip)| (*id, *node, Ipv4Addr::from(*ip)))
        .collect();
    let cluster = SimCluster::build(&pods, Path::new(PROBE));
    std::fs::copy(
        data_dir().join("cluster.yaml"),
        cluster.manifests().join("cluster.yaml"),
    )
    .expect("copy cluster.yaml");
    install_policies(&cluster, "");

    let mut agents = Vec::new();
    for (node, _) in &cluster.nodes {
        agents.push(start_agent(&cluster, node));
    }

    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/netns")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n != "cluster.yaml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 8, "scenarios missing in tests/netns");

    let mut rows = Vec::new();
    for path in &scenarios {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        install_policies(&cluster, &std::fs::read_to_string(path).expect("scenario"));
        let model = manifests::load(&cluster.manifests()).expect("load manifests");
        let errors: Vec<&str> = model
            .diagnostics
            .iter()
            .filter(|d| d.severity == netpol_core::Severity::Error)
            .map(|d| d.message.as_str())
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: manifests have errors: {errors:?}"
        );
        let active_after = wait_applied(&cluster, &model, Duration::from_secs(10));
        flush_conntrack(&cluster);
        rows.push(check(&cluster, &model, &name, active_after));
    }

    // A policy update while a connection is open: prod/web -> prod/db:5432 is allowed, a
    // connection is opened, then db becomes default-deny.
    let allow = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  podSelector:\n    matchLabels:\n      app: db\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app: web\n      ports:\n        - port: 5432\n";
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  podSelector:\n    matchLabels:\n      app: db\n";
    install_policies(&cluster, allow);
    let model = manifests::load(&cluster.manifests()).expect("load manifests");
    let active_after = wait_applied(&cluster, &model, Duration::from_secs(10));
    flush_conntrack(&cluster);
    rows.push(check(
        &cluster,
        &model,
        "update: before (web->db allowed)",
        active_after,
    ));
    let mut held = Held::open(&cluster, "prod/web", "tcp:10.99.2.2:5432");
    assert!(held.ping(), "the held connection works before the update");
    install_policies(&cluster, deny);
    let model = manifests::load(&cluster.manifests()).expect("load manifests");
    let active_after = wait_applied(&cluster, &model, Duration::from_secs(10));
    // No conntrack flush here: the established connection must survive on its own.
    let established_survives = held.ping();
    rows.push(check(
        &cluster,
        &model,
        "update: after (db default deny)",
        active_after,
    ));
    drop(held);

    print_table(&rows);
    let metrics = cluster
        .node("node-b")
        .exec(PROBE, &["get", "127.0.0.1:9695", "/metrics"]);
    println!("\nnode-b /metrics:\n{metrics}");
    println!("total time {:?}", started.elapsed());

    let mismatches: Vec<String> = rows
        .iter()
        .flat_map(|r| r.mismatches.iter().map(move |m| format!("{}: {m}", r.name)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} probes disagree with the engine:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The engine must have been asked something non-trivial: some scenario denies.
    assert!(
        rows.iter().any(|r| r.allowed < r.probes),
        "no scenario denied anything"
    );
    assert!(
        established_survives,
        "an established connection was cut by a policy update"
    );
    assert!(
        metrics.contains("netpol_agent_syncs_total{result=\"applied\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("netpol_agent_last_error{message=\"\"} 0"),
        "{metrics}"
    );
    drop(agents);
}
