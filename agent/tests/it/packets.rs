//! THE PROOF, hand-made scenarios: real packets through real nftables rulesets installed by
//! real agents agree with the core's `Engine::matrix` on every probe.
//!
//! Two nodes with three pods each (`tests/netns/cluster.yaml`, on the routed fabric of
//! `fabric.rs`), one `netpol-agent --manifests DIR` per node running inside its node's
//! namespace, and for each scenario of `tests/netns/` every pod probes every other pod on
//! every TCP port of [`TCP_PORTS`] and UDP port of [`UDP_PORTS`], all at once. A probe is
//! allowed when the TCP handshake completes or the UDP echo comes back; a drop the engine
//! does not expect is tried again with a long timeout. Pods do not probe themselves (that
//! traffic never leaves the pod). Then a policy update while a connection is open: the
//! established connection keeps working, new connections follow the new rules.
//! (`upstream.rs` runs the upstream e2e cases on the same kind of cluster.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use netpol_agent::manifests;
use netpol_core::{Engine, Model, PortRef, Protocol};

use crate::agents::{AgentCluster, SimPod};
use crate::netns::{self, Proc};
use crate::reach::{Ask, Reach};

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

/// Ports probed over TCP, and over UDP (every pod listens on all of them, both protocols).
const TCP_PORTS: [u16; 5] = [80, 81, 5432, 8080, 9001];
const UDP_PORTS: [u16; 1] = [53];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns")
}

/// One probe result per (src, dst, protocol, port); `Err` for a broken probe.
type Results = BTreeMap<(usize, usize, Protocol, u16), Result<bool, String>>;

/// Probes every ordered pair of distinct pods on every port, all at once; a drop that
/// `allowed` says should have passed is tried again patiently.
fn probe_all(cluster: &mut AgentCluster, allowed: impl Fn(&Ask) -> bool) -> Results {
    let mut asks = Vec::new();
    for src in 0..cluster.pods.len() {
        for dst in (0..cluster.pods.len()).filter(|d| *d != src) {
            let tcp = TCP_PORTS.iter().map(|p| (Protocol::TCP, *p));
            for (protocol, port) in tcp.chain(UDP_PORTS.iter().map(|p| (Protocol::UDP, *p))) {
                asks.push(Ask {
                    src,
                    dst,
                    protocol,
                    port,
                });
            }
        }
    }
    let (reaches, _) = cluster.probe(&asks, allowed);
    asks.iter()
        .zip(reaches)
        .map(|(a, r)| {
            let result = match r {
                Reach::Reached => Ok(true),
                Reach::Dropped => Ok(false),
                Reach::Broken(why) => Err(why),
            };
            ((a.src, a.dst, a.protocol, a.port), result)
        })
        .collect()
}

/// Pod index in the model for each simulated pod.
fn model_indices(cluster: &AgentCluster, model: &Model) -> Vec<usize> {
    cluster
        .pods
        .iter()
        .map(|p| {
            let i = model
                .cluster
                .pod_index(&p.id)
                .unwrap_or_else(|| panic!("pod {} is not in the model", p.id));
            let pod = &model.cluster.pods[i];
            assert_eq!(pod.ips, p.ips, "IP of {} in cluster.yaml", p.id);
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

struct Row {
    name: String,
    probes: usize,
    allowed: usize,
    mismatches: Vec<String>,
    active_after: Duration,
}

/// Probes everything and compares with the engine's matrices for `model`.
fn check(cluster: &mut AgentCluster, model: &Model, name: &str, active_after: Duration) -> Row {
    let index = model_indices(cluster, model);
    let engine = Engine::new(model);
    let mut matrices = BTreeMap::new();
    let tcp = TCP_PORTS.iter().map(|p| (Protocol::TCP, *p));
    for (protocol, port) in tcp.chain(UDP_PORTS.iter().map(|p| (Protocol::UDP, *p))) {
        matrices.insert(
            (protocol, port),
            engine.matrix(protocol, &PortRef::Number(port)),
        );
    }
    let want = |s: usize, d: usize, protocol: Protocol, port: u16| {
        matrices[&(protocol, port)].allowed(index[s], index[d])
    };
    let results = probe_all(cluster, |a| want(a.src, a.dst, a.protocol, a.port));
    let mut mismatches = Vec::new();
    let mut allowed = 0;
    for ((s, d, protocol, port), got) in &results {
        let want = want(*s, *d, *protocol, *port);
        let pair = format!(
            "{} -> {} {protocol}/{port}",
            cluster.pods[*s].id, cluster.pods[*d].id
        );
        match got {
            Ok(got) => {
                allowed += usize::from(*got);
                if want != *got {
                    mismatches.push(format!(
                        "{pair}: engine says {}, packets say {}",
                        if want { "allowed" } else { "denied" },
                        if *got { "allowed" } else { "denied" },
                    ));
                }
            }
            Err(why) => mismatches.push(format!("{pair}: the probe broke: {why}")),
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

fn print_table(rows: &[Row]) {
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
    fn open(cluster: &AgentCluster, src: &str, target: &str) -> Held {
        let mut child = cluster
            .pod_ns(src)
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
    let pods: Vec<SimPod> = PODS
        .iter()
        .map(|(id, node, ip)| SimPod {
            id: id.to_string(),
            node: node.to_string(),
            ips: vec![IpAddr::V4(Ipv4Addr::from(*ip))],
        })
        .collect();
    let cluster_yaml =
        std::fs::read_to_string(data_dir().join("cluster.yaml")).expect("cluster.yaml");
    let mut ports: Vec<u16> = TCP_PORTS.iter().chain(&UDP_PORTS).copied().collect();
    ports.sort_unstable();
    let mut cluster = AgentCluster::start("packets", pods, &cluster_yaml, &ports);

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
        cluster.install_policies(&std::fs::read_to_string(path).expect("scenario"));
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
        let active_after = cluster.wait_applied(&model, Duration::from_secs(10));
        cluster.fabric.flush_conntrack();
        rows.push(check(&mut cluster, &model, &name, active_after));
    }

    // A policy update while a connection is open: prod/web -> prod/db:5432 is allowed, a
    // connection is opened, then db becomes default-deny.
    let allow = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  podSelector:\n    matchLabels:\n      app: db\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app: web\n      ports:\n        - port: 5432\n";
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  podSelector:\n    matchLabels:\n      app: db\n";
    cluster.install_policies(allow);
    let model = manifests::load(&cluster.manifests()).expect("load manifests");
    let active_after = cluster.wait_applied(&model, Duration::from_secs(10));
    cluster.fabric.flush_conntrack();
    rows.push(check(
        &mut cluster,
        &model,
        "update: before (web->db allowed)",
        active_after,
    ));
    let mut held = Held::open(&cluster, "prod/web", "tcp:10.99.2.2:5432");
    assert!(held.ping(), "the held connection works before the update");
    cluster.install_policies(deny);
    let model = manifests::load(&cluster.manifests()).expect("load manifests");
    let active_after = cluster.wait_applied(&model, Duration::from_secs(10));
    // No conntrack flush here: the established connection must survive on its own.
    let established_survives = held.ping();
    rows.push(check(
        &mut cluster,
        &model,
        "update: after (db default deny)",
        active_after,
    ));
    drop(held);

    print_table(&rows);
    let metrics = cluster
        .node_ns("node-b")
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
    drop(cluster);
}
