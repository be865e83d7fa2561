//! Fault injection, Kubernetes mode: the API server goes away, comes back, answers `410
//! Gone`, serves objects the core rejects. Two real agents (the binary, in Kubernetes mode)
//! watch a fake API server (`fakeapi.rs`) and enforce with real nftables in the simulated
//! nodes (through an `nft` wrapper that enters the node's namespace), while every pair of
//! pods is probed: no probe the matrix denies ever connects, the last state stays in force
//! during the outage, the state's age shows in `/metrics`, the watchers resume from the
//! last resourceVersion (or re-list after 410) without applying an unchanged state again,
//! and a rejected object keeps its previous version.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::fakeapi::FakeApi;
use crate::harness::{self, expected_hash, metric_in, Fixture, AGENT, PODS};
use crate::netns::{self, Proc};

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "uid": format!("ns-{name}"), "labels": {"env": name}}})
}

fn pod(id: &str, node: &str, ip: [u8; 4]) -> Value {
    let (ns, name) = id.split_once('/').expect("namespace/name");
    let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "uid": format!("pod-{ns}-{name}"),
                        "labels": {"app": name},
                        "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
           "spec": {"nodeName": node, "containers": [{"name": "main", "image": "probe"}]},
           "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
}

fn policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns, "uid": format!("np-{ns}-{name}")},
           "spec": spec})
}

/// prod/db accepts web on 5432; dev accepts nothing.
fn first_policies() -> Vec<Value> {
    vec![
        policy(
            "prod",
            "db",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                "ports": [{"port": 5432}]}]}),
        ),
        policy("dev", "deny-ingress", json!({"podSelector": {}})),
    ]
}

/// The model the core builds from these objects in one List, as the CLI would read them.
fn model_of(objects: &[Value]) -> netpol_core::Model {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string();
    netpol_core::load(&[(netpol_core::FileId(0), list.as_str())])
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes());
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or(("", ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_string())
}

/// One agent in Kubernetes mode, in the test's own namespace, enforcing in its node's.
struct KubeAgent {
    node: &'static str,
    metrics: SocketAddr,
    _proc: Proc,
}

impl KubeAgent {
    fn start(fx: &Fixture, node: &'static str, kubeconfig: &Path) -> KubeAgent {
        let dir = fx.dir();
        let nft = dir.join(format!("nft-{node}"));
        let calls = dir.join(format!("{node}.applies"));
        std::fs::write(
            &nft,
            format!(
                "#!/bin/sh\necho apply >> '{}'\nexec ip netns exec '{}' nft \"$@\"\n",
                calls.display(),
                fx.cluster.node(node).name
            ),
        )
        .expect("nft wrapper");
        netns::sh("chmod", &["+x", nft.to_str().expect("utf-8")]);
        let metrics = free_port();
        let log = std::fs::File::create(dir.join(format!("{node}.log"))).expect("log");
        let child = Command::new(AGENT)
            .args(["--kubeconfig", kubeconfig.to_str().expect("utf-8")])
            .args(["--node-name", node])
            .args(["--nft", nft.to_str().expect("utf-8")])
            .arg("--status-file")
            .arg(dir.join(format!("{node}.status")))
            .args(["--metrics-addr", &metrics.to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start agent");
        KubeAgent {
            node,
            metrics,
            _proc: Proc { child },
        }
    }

    fn metric(&self, name: &str) -> Option<f64> {
        metric_in(&http_get(self.metrics, "/metrics").1, name)
    }

    fn health(&self) -> (u16, String) {
        http_get(self.metrics, "/healthz")
    }

    fn applies(&self, fx: &Fixture) -> usize {
        std::fs::read_to_string(fx.dir().join(format!("{}.applies", self.node)))
            .unwrap_or_default()
            .lines()
            .count()
    }
}

fn kubeconfig(fx: &Fixture, api: &FakeApi) -> PathBuf {
    let path = fx.dir().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\nusers:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\ncurrent-context: fake\n",
            api.addr
        ),
    )
    .expect("kubeconfig");
    path
}

#[test]
fn an_api_server_outage_410_and_malformed_objects_never_open_anything() {
    let fx = Fixture::new("api");
    let mut objects: Vec<Value> = vec![namespace("prod"), namespace("dev")];
    objects.extend(PODS.iter().map(|(id, node, ip)| pod(id, node, *ip)));
    let mut seeded: Vec<(&str, Value)> = Vec::new();
    for o in &objects {
        let resource = if o["kind"] == "Namespace" {
            "namespaces"
        } else {
            "pods"
        };
        seeded.push((resource, o.clone()));
    }
    for p in first_policies() {
        seeded.push(("networkpolicies", p));
    }
    let api = FakeApi::start(&seeded);
    let config = kubeconfig(&fx, &api);
    let agents: Vec<KubeAgent> = harness::NODES
        .iter()
        .map(|n| KubeAgent::start(&fx, n, &config))
        .collect();
    let mut enforced: Vec<Value> = objects.clone();
    enforced.extend(first_policies());
    let first = model_of(&enforced);
    fx.wait_applied(&first, &harness::NODES);
    fx.check(&first).assert_exact("listed");
    let applies: Vec<usize> = agents.iter().map(|a| a.applies(&fx)).collect();

    // 410 Gone: every watcher re-lists; the state is the same, so nothing is applied.
    let unchanged: Vec<f64> = agents
        .iter()
        .map(|a| {
            a.metric("netpol_agent_syncs_total{result=\"unchanged\"}")
                .unwrap_or(0.0)
        })
        .collect();
    let before = api.requests().len();
    api.expire_watches();
    fx.wait_for(
        "every resource re-listed after 410",
        Duration::from_secs(20),
        || {
            let requests = api.requests();
            ["namespaces", "pods", "networkpolicies"].iter().all(|r| {
                let lists = requests[before..]
                    .iter()
                    .filter(|s| !s.watch && s.resource == *r)
                    .count();
                lists >= agents.len()
            })
        },
    );
    fx.wait_for(
        "the re-listed state is synced",
        Duration::from_secs(10),
        || {
            agents
                .iter()
                .zip(&unchanged)
                .all(|(a, u)| a.metric("netpol_agent_syncs_total{result=\"unchanged\"}") > Some(*u))
        },
    );
    fx.check(&first).assert_exact("after 410 Gone");
    let now: Vec<usize> = agents.iter().map(|a| a.applies(&fx)).collect();
    assert_eq!(now, applies, "no apply for an unchanged re-list");

    // A malformed version of prod/db (podSelector is a string): rejected, the previous
    // version stays in force.
    api.put(
        "networkpolicies",
        policy(
            "prod",
            "db",
            json!({"podSelector": "app=db", "ingress": [{}]}),
        ),
    );
    fx.wait_for(
        "the malformed object is rejected",
        Duration::from_secs(10),
        || {
            agents
                .iter()
                .all(|a| a.metric("netpol_agent_rejected_sources") == Some(1.0))
        },
    );
    fx.check(&first)
        .assert_exact("malformed prod/db: its previous version stays");
    let now: Vec<usize> = agents.iter().map(|a| a.applies(&fx)).collect();
    assert_eq!(now, applies, "no apply for a rejected object");
    for agent in &agents {
        let (code, body) = agent.health();
        assert_eq!(code, 200, "{}: {body}", agent.node);
        assert!(
            body.starts_with("degraded") && body.contains("networkpolicies/prod/db"),
            "{}: {body}",
            agent.node
        );
        let log = std::fs::read_to_string(fx.dir().join(format!("{}.log", agent.node)))
            .unwrap_or_default();
        assert!(
            log.contains("networkpolicies/prod/db") && log.contains("invalid-type"),
            "{}: the rejection is logged:\n{log}",
            agent.node
        );
    }

    // A one-shot run reports the rejected object as the CLI would, and exits 1.
    let dry_run = Command::new(AGENT)
        .args(["--kubeconfig", config.to_str().expect("utf-8")])
        .args([
            "--node-name",
            "node-b",
            "--dry-run",
            "--metrics-addr",
            "off",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("dry run");
    let stderr = String::from_utf8_lossy(&dry_run.stderr);
    assert_eq!(dry_run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("invalid-type")
            && stderr.contains("networkpolicies/prod/db")
            && stderr.contains("\"podSelector\": \"app=db\""),
        "{stderr}"
    );

    // The fix is applied.
    let fixed = policy(
        "prod",
        "db",
        json!({"podSelector": {"matchLabels": {"app": "db"}}}),
    );
    api.put("networkpolicies", fixed.clone());
    let mut enforced: Vec<Value> = objects.clone();
    enforced.push(fixed);
    enforced.push(first_policies()[1].clone());
    let second = model_of(&enforced);
    fx.wait_applied(&second, &harness::NODES);
    fx.flush_conntrack();
    fx.check(&second).assert_exact("fixed prod/db");

    // The API server goes away: the last state stays in force, its age grows.
    let applies: Vec<usize> = agents.iter().map(|a| a.applies(&fx)).collect();
    let rv = api.resource_version();
    api.stop();
    fx.check(&second).assert_exact("API server down");
    fx.wait_for("the state ages", Duration::from_secs(10), || {
        agents
            .iter()
            .all(|a| a.metric("netpol_agent_state_age_seconds") > Some(1.0))
    });
    fx.check(&second).assert_exact("API server still down");
    for agent in &agents {
        let (code, body) = agent.health();
        assert_eq!(code, 200, "{}: {body}", agent.node);
        assert!(body.contains("no contact with"), "{}: {body}", agent.node);
    }

    // It comes back: the watches resume from the last resourceVersion, no re-list, no
    // apply.
    let before = api.requests().len();
    api.restart();
    fx.wait_for("contact again", Duration::from_secs(20), || {
        agents
            .iter()
            .all(|a| a.metric("netpol_agent_state_age_seconds") == Some(0.0))
    });
    let after: Vec<_> = api.requests()[before..].to_vec();
    assert!(!after.is_empty(), "the agents reconnected");
    for seen in &after {
        assert!(seen.watch, "resumed without a re-list: {after:?}");
        assert_eq!(
            seen.resource_version.as_deref(),
            Some(rv.to_string().as_str()),
            "resumed from the last resourceVersion: {after:?}"
        );
    }
    fx.check(&second).assert_exact("API server back");
    let now: Vec<usize> = agents.iter().map(|a| a.applies(&fx)).collect();
    assert_eq!(now, applies, "no apply after the outage: nothing changed");

    // A new policy that never parsed: its namespace fails closed.
    api.put(
        "networkpolicies",
        policy(
            "dev",
            "broken",
            json!({"podSelector": {}, "policyTypes": "Egress"}),
        ),
    );
    let before: Vec<String> = harness::NODES.iter().map(|n| fx.status(n)).collect();
    fx.wait_for("dev fails closed", Duration::from_secs(10), || {
        agents.iter().zip(&before).all(|(a, b)| {
            a.metric("netpol_agent_fail_closed_namespaces") == Some(1.0) && fx.status(a.node) != *b
        })
    });
    let mut closed = enforced.clone();
    closed.push(policy(
        "dev",
        "by-hand",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    ));
    fx.flush_conntrack();
    fx.check(&model_of(&closed))
        .assert_exact("a never-good policy in dev: dev fails closed");
    assert_ne!(
        expected_hash(&second, "node-a"),
        fx.status("node-a"),
        "the fail-closed state was applied"
    );
}
