//! The agent in Kubernetes mode against a REAL control plane (etcd and kube-apiserver
//! built from k8s.io/kubernetes by `testenv/`), with real packets.
//!
//! Namespaces, pods and NetworkPolicies are created through the API (a pod's IPs through
//! the status subresource, as a kubelet reports them; `spec.nodeName` places it on a
//! simulated node); the policy-tier CRDs are installed. One agent per node runs with a
//! ServiceAccount token under exactly `deploy/rbac.yaml`. Every scenario of `tests/netns/`
//! is then enforced and probed as in `packets.rs`, and each agent's ruleset must be the
//! one the core compiles from the *manifest files* of the same objects: the API round
//! trip changes nothing. Then the live part: a pod label, a namespace label and a policy
//! deletion reach the kernel within [`FOLLOW_WITHIN`]; a network cut with etcd compacted
//! in between makes the watchers get `410 Gone` and re-list without any new ruleset (no
//! flap); the API server stopped keeps the rules, and updates resume once it is back.
//!
//! The simulated cluster is the fault tests' two-node bridged one (`bridged.rs`, through
//! `harness.rs`): the six pods of `tests/netns/cluster.yaml`, each probe compared with the
//! engine's matrix. Where the agents run: in the test's own network namespace, where the API
//! server's loopback address is, with `--nft` a two-line wrapper that runs `nft` inside
//! their node's namespace. So each agent programs exactly its node's kernel, as a DaemonSet
//! pod with `hostNetwork` does, without giving the API server any address outside loopback.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::Api;
use netpol_agent::enforce::ruleset_for;
use netpol_core::Model;
use netpol_testenv::{free_port, ControlPlane, Credentials, Relay};

use crate::harness::{self, Fixture, AGENT, NODES, PODS, PROBE};
use crate::netns::{self, Proc};

/// The bound: a change written to the API server is in both nodes' kernels within
/// this time.
pub(crate) const FOLLOW_WITHIN: Duration = Duration::from_secs(2);

/// How long the agents may take to catch up after the API server came back: their
/// watchers back off exponentially (up to 30 s, with jitter) while it is away.
const RESUME_WITHIN: Duration = Duration::from_secs(90);

pub(crate) fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/netns")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `deploy/rbac.yaml`, byte for byte.
pub(crate) fn rbac_yaml() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rbac.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The model the core builds from manifest texts: what the agents must enforce.
pub(crate) fn expected(texts: &[&str]) -> Model {
    let model = harness::model_of(texts);
    let errors: Vec<&str> = model
        .diagnostics
        .iter()
        .filter(|d| d.severity == netpol_core::Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert!(errors.is_empty(), "the manifests have errors: {errors:?}");
    model
}

/// Writes `dir/nft-NODE`: `nft` inside the node's network namespace.
pub(crate) fn nft_wrapper(dir: &Path, node: &str, netns: &str) -> PathBuf {
    let path = dir.join(format!("nft-{node}"));
    let script = format!(
        "#!/bin/sh\n# The agent runs beside the API server's loopback; its node is {netns}.\n\
         exec ip netns exec {netns} nft \"$@\"\n"
    );
    std::fs::write(&path, script).expect("nft wrapper");
    sh_chmod(&path);
    path
}

fn sh_chmod(path: &Path) {
    netns::sh("chmod", &["+x", path.to_str().expect("utf-8 path")]);
}

/// Starts `netpol-agent` in Kubernetes mode for `node`, its log in `dir/NAME.log` and
/// the hash of each applied ruleset in `dir/NAME.status`.
pub(crate) fn start_agent(
    dir: &Path,
    name: &str,
    node: &str,
    kubeconfig: &Path,
    nft: &Path,
    metrics: &str,
) -> Proc {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("agent log");
    let status = dir.join(format!("{name}.status"));
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    // Outside any network namespace a killed test run cannot clean up after, so the agent
    // dies with the thread that started it (setpriv execs it, keeping the pid).
    let child = Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--", AGENT])
        .args(["--kubeconfig", &path(kubeconfig), "--node-name", node])
        .args(["--status-file", &path(&status), "--nft", &path(nft)])
        .args(["--metrics-addr", metrics])
        // Policy-tier CRDs installed while the agent runs are found within a second.
        .args(["--discovery-interval", "1"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start agent");
    Proc { child }
}

/// One counter of an agent's `/metrics`.
fn syncs(port: u16, result: &str) -> u64 {
    let out = Command::new(PROBE)
        .args(["get", &format!("127.0.0.1:{port}"), "/metrics"])
        .output()
        .expect("netpol-probe get");
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("netpol_agent_syncs_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One line of the table the test prints: a step, its probes and how long the change took
/// to reach both kernels.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) probes: usize,
    pub(crate) allowed: usize,
    pub(crate) mismatches: Vec<String>,
    active_after: Duration,
}

/// Probes every pair of pods on every port and compares with the engine's matrices for
/// `model`, after checking that the model places every simulated pod where it is.
fn check(fx: &Fixture, model: &Model, name: &str, active_after: Duration) -> Row {
    for (id, node, ip) in PODS {
        let pod = model
            .cluster
            .pod_index(id)
            .map(|i| &model.cluster.pods[i])
            .unwrap_or_else(|| panic!("{name}: pod {id} is not in the model"));
        assert_eq!(pod.ips, vec![IpAddr::V4(Ipv4Addr::from(ip))], "IP of {id}");
        assert_eq!(pod.node.as_deref(), Some(node), "node of {id}");
    }
    let check = fx.check(model);
    let said =
        |engine: &str, packets: &str| format!(": engine says {engine}, packets say {packets}");
    let violations = check
        .violations
        .iter()
        .map(|v| v.clone() + &said("denied", "allowed"));
    let missing = check
        .missing
        .iter()
        .map(|m| m.clone() + &said("allowed", "denied"));
    Row {
        name: name.to_string(),
        probes: check.probes,
        allowed: check.allowed,
        mismatches: violations.chain(missing).collect(),
        active_after,
    }
}

/// Waits until both agents report the ruleset of `model` as applied; how long that took.
fn wait_applied(fx: &Fixture, model: &Model, timeout: Duration) -> Duration {
    let start = Instant::now();
    for node in NODES {
        let want = harness::expected_hash(model, node);
        fx.wait_for(
            &format!("{node} applies ruleset {want}"),
            timeout.saturating_sub(start.elapsed()),
            || fx.status(node) == want,
        );
    }
    start.elapsed()
}

/// Prints the table and the time a run took, and fails on any probe that disagreed with
/// the engine.
pub(crate) fn report(rows: &[Row], started: Instant) {
    print_table(rows);
    println!(
        "kube-apiserver {}; total time {:?}",
        netpol_testenv::kubernetes_version(),
        started.elapsed()
    );
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

/// The whole setup: control plane, relay, simulated nodes and pods, one agent per node.
pub(crate) struct Live {
    fx: Fixture,
    pub(crate) agents: Vec<Proc>,
    /// Metrics port of each node's agent, in `NODES` order.
    metrics: Vec<u16>,
    relay: Relay,
    pub(crate) cp: ControlPlane,
    /// `cluster.yaml` as the API has it now (labels change during the test).
    pub(crate) cluster: String,
    /// The rulesets the agents were last asked to reach.
    active: Option<Vec<String>>,
    pub(crate) rows: Vec<Row>,
}

impl Live {
    fn start() -> Live {
        Live::start_with(true)
    }

    /// The setup, with the policy-tier CRDs installed before the agents start or not.
    pub(crate) fn start_with(crds: bool) -> Live {
        // Checks root and the tools first, and removes what a killed run left behind.
        let fx = Fixture::new(if crds { "k8s" } else { "k8t" });
        let cp = ControlPlane::start();
        if crds {
            let crds = cp.install_tier_crds();
            assert_eq!(crds.len(), 3, "tier CRDs: {crds:?}");
        }
        cp.apply(&rbac_yaml()).expect("apply deploy/rbac.yaml");
        let cluster = data("cluster.yaml");
        cp.apply(&cluster).expect("apply cluster.yaml");
        let relay = Relay::start(cp.runtime(), cp.port());
        let token = cp.token("kube-system", "netpol-agent");
        let server = format!("https://127.0.0.1:{}", relay.port());
        let kubeconfig = cp.kubeconfig("agent", &server, &Credentials::Token(token));
        let mut agents = Vec::new();
        let mut metrics = Vec::new();
        for (node, ns) in &fx.cluster.nodes {
            let nft = nft_wrapper(fx.dir(), node, &ns.name);
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            agents.push(start_agent(fx.dir(), node, node, &kubeconfig, &nft, &addr));
            metrics.push(port);
        }
        Live {
            fx,
            agents,
            metrics,
            relay,
            cp,
            cluster,
            active: None,
            rows: Vec::new(),
        }
    }

    fn policies(&self) -> Api<NetworkPolicy> {
        Api::all(self.cp.client())
    }

    /// Replaces every NetworkPolicy and cluster policy in the cluster with those of `text`.
    pub(crate) fn set_policies(&self, text: &str) {
        self.delete_cluster_policies();
        let all = self
            .cp
            .block_on(self.policies().list(&Default::default()))
            .expect("list policies");
        for policy in all {
            let ns = policy.metadata.namespace.clone().unwrap_or_default();
            let name = policy.metadata.name.clone().unwrap_or_default();
            let api = Api::<NetworkPolicy>::namespaced(self.cp.client(), &ns);
            self.cp
                .block_on(api.delete(&name, &DeleteParams::default()))
                .expect("delete policy");
        }
        self.cp.apply(text).expect("apply policies");
    }

    /// Deletes every object of the policy-tier kinds the API server serves.
    fn delete_cluster_policies(&self) {
        let client = self.cp.client();
        let kinds = self
            .cp
            .block_on(netpol_kube::read::served_tier_kinds(&client))
            .expect("discovery");
        for kind in kinds {
            let api = Api::<kube::api::DynamicObject>::all_with(client.clone(), &kind);
            let all = self
                .cp
                .block_on(api.list(&Default::default()))
                .expect("list cluster policies");
            for object in all {
                let name = object.metadata.name.clone().unwrap_or_default();
                self.cp
                    .block_on(api.delete(&name, &DeleteParams::default()))
                    .expect("delete cluster policy");
            }
        }
    }

    /// Waits for the model's rulesets on both nodes, then probes everything. A step whose
    /// model gives the rulesets already active would prove nothing: it fails.
    pub(crate) fn enforce_and_probe(
        &mut self,
        name: &str,
        model: &Model,
        within: Duration,
        from: Instant,
    ) {
        let rulesets = self.rulesets(model);
        assert_ne!(
            Some(&rulesets),
            self.active.as_ref(),
            "{name}: the change leaves every ruleset as it is, so the step tests nothing"
        );
        self.active = Some(rulesets);
        wait_applied(&self.fx, model, within.saturating_sub(from.elapsed()));
        let active_after = from.elapsed();
        self.fx.flush_conntrack();
        self.rows.push(check(&self.fx, model, name, active_after));
    }

    /// Each node's ruleset for `model`.
    fn rulesets(&self, model: &Model) -> Vec<String> {
        NODES
            .iter()
            .map(|node| ruleset_for(model, node).text)
            .collect()
    }

    /// Every scenario of `tests/netns/`, through the API.
    fn scenarios(&mut self) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
            .expect("tests/netns")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n != "cluster.yaml"))
            .collect();
        files.sort();
        assert!(files.len() >= 8, "scenarios missing in tests/netns");
        for path in files {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
            let text = std::fs::read_to_string(&path).expect("scenario");
            let start = Instant::now();
            self.set_policies(&text);
            let model = expected(&[&self.cluster, &text]);
            self.enforce_and_probe(
                &format!("api: {name}"),
                &model,
                Duration::from_secs(30),
                start,
            );
        }
    }

    /// Replaces `old` (exactly once) in the cluster manifests the expectations come from.
    fn edit_cluster(&mut self, old: &str, new: &str) {
        assert_eq!(
            self.cluster.matches(old).count(),
            1,
            "{old:?} in cluster.yaml"
        );
        self.cluster = self.cluster.replacen(old, new, 1);
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns")
}

fn merge_labels(labels: serde_json::Value) -> Patch<serde_json::Value> {
    Patch::Merge(serde_json::json!({ "metadata": { "labels": labels } }))
}

/// A pod label, a namespace label and a policy deletion, each in the kernels within
/// [`FOLLOW_WITHIN`] of the API write.
fn live_updates(live: &mut Live) {
    let policy = data("02-namespace-and-pod-selector.yaml");
    let start = Instant::now();
    live.set_policies(&policy);
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe(
        "live: dev api reaches db",
        &model,
        Duration::from_secs(30),
        start,
    );

    let pods = Api::<Pod>::namespaced(live.cp.client(), "dev");
    let patch = merge_labels(serde_json::json!({"app": "api-v2"}));
    let start = Instant::now();
    live.cp
        .block_on(pods.patch("api", &PatchParams::default(), &patch))
        .expect("relabel dev/api");
    live.edit_cluster(
        "  namespace: dev\n  labels:\n    app: api\n",
        "  namespace: dev\n  labels:\n    app: api-v2\n",
    );
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe("live: pod dev/api app=api-v2", &model, FOLLOW_WITHIN, start);

    // prod's pods labelled app=api now count as "app=api pods of env=dev namespaces".
    let namespaces = Api::<Namespace>::all(live.cp.client());
    let patch = merge_labels(serde_json::json!({"env": "dev"}));
    let start = Instant::now();
    live.cp
        .block_on(namespaces.patch("prod", &PatchParams::default(), &patch))
        .expect("relabel namespace prod");
    live.edit_cluster(
        "  name: prod\n  labels:\n    env: prod\n",
        "  name: prod\n  labels:\n    env: dev\n",
    );
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe("live: namespace prod env=dev", &model, FOLLOW_WITHIN, start);

    let prod = Api::<NetworkPolicy>::namespaced(live.cp.client(), "prod");
    let start = Instant::now();
    live.cp
        .block_on(prod.delete("db-from-dev-api", &DeleteParams::default()))
        .expect("delete policy");
    let model = expected(&[&live.cluster]);
    live.enforce_and_probe("live: policy deleted", &model, FOLLOW_WITHIN, start);
}

/// Applied and unchanged syncs of every agent.
fn counters(live: &Live) -> Vec<(u64, u64)> {
    live.metrics
        .iter()
        .map(|port| (syncs(*port, "applied"), syncs(*port, "unchanged")))
        .collect()
}

/// The resources every agent watches.
const WATCHED: [&str; 3] = ["namespaces", "pods", "networkpolicies"];

/// Each agent's log, without terminal colours.
fn logs(live: &Live) -> Vec<String> {
    let strip = |text: String| {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            rest = rest.find('m').map_or("", |m| &rest[m + 1..]);
        }
        out.push_str(rest);
        out
    };
    NODES.iter().map(|node| strip(live.fx.log(node))).collect()
}

/// (node, resource) pairs whose watch has not logged a `410 Gone` since `offsets`.
fn still_watching(live: &Live, offsets: &[usize]) -> Vec<String> {
    let mut missing = Vec::new();
    for (node, (log, from)) in NODES.iter().zip(logs(live).iter().zip(offsets)) {
        let since = log.get(*from..).unwrap_or("");
        for resource in WATCHED {
            let field = format!("resource=\"{resource}\"");
            let gone = since
                .lines()
                .any(|l| l.contains(&field) && l.contains("too old"));
            if !gone {
                missing.push(format!("{node} {resource}"));
            }
        }
    }
    missing
}

/// etcd compacted while the watches are away: they come back to `410 Gone` and re-list,
/// and the re-list, finding the same objects, installs nothing (no flap).
///
/// The API server's watch cache answers resumed watches from its own window, so the agents
/// are moved (through the relay) to a second API server of the same cluster that serves
/// watches straight from etcd (`--watch-cache=false`), where compaction is what `410`
/// follows from.
fn compaction_relist(live: &mut Live) {
    let (etcd_watches, port) = live
        .cp
        .extra_apiserver("apiserver-no-cache", &["--watch-cache=false"]);
    live.relay.point_to(port);
    live.relay.cut();
    let policy = data("07-policy-union.yaml");
    let start = Instant::now();
    live.set_policies(&policy);
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe(
        "no cache: watches resumed",
        &model,
        Duration::from_secs(30),
        start,
    );
    let offsets: Vec<usize> = logs(live).iter().map(String::len).collect();

    let before = counters(live);
    // Two writes the agents do not watch move etcd's revision past theirs, then history up
    // to now is compacted away.
    live.cp
        .apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bump-1, namespace: default}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bump-2, namespace: default}\n")
        .expect("configmaps");
    let revision = live.cp.compact();
    live.relay.cut();
    let gone = wait_for(Duration::from_secs(60), || {
        still_watching(live, &offsets).is_empty()
    });
    assert!(
        gone,
        "no 410 Gone (\"too old\") after compaction at revision {revision} for {:?}; logs:\n{}",
        still_watching(live, &offsets),
        logs(live).join("\n")
    );
    // The re-lists that follow end in syncs; once those stop, every re-list is done.
    let mut last = counters(live);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(3) && !last.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
        let now = counters(live);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    let after = counters(live);
    let relisted = after.iter().zip(&before).all(|(now, then)| now.1 > then.1);
    assert!(
        relisted,
        "the agents did not re-list after compaction at revision {revision} (syncs applied/unchanged before {before:?}, now {after:?}); logs:\n{}",
        logs(live).join("\n")
    );
    let flapped: Vec<String> = after
        .iter()
        .zip(&before)
        .zip(NODES)
        .filter(|((now, then), _)| now.0 != then.0)
        .map(|((now, then), node)| format!("{node}: {} -> {} applied", then.0, now.0))
        .collect();
    assert!(
        flapped.is_empty(),
        "the re-list installed new rulesets: {flapped:?}"
    );
    live.fx.flush_conntrack();
    let row = check(
        &live.fx,
        &model,
        "no cache: after 410 and re-list",
        Duration::ZERO,
    );
    live.rows.push(row);

    // Updates resume after the re-list.
    let start = Instant::now();
    let prod = Api::<NetworkPolicy>::namespaced(live.cp.client(), "prod");
    live.cp
        .block_on(prod.delete("api-from-web", &DeleteParams::default()))
        .expect("delete policy");
    let policy = policy_without(&policy, "api-from-web");
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe(
        "no cache: update after re-list",
        &model,
        FOLLOW_WITHIN,
        start,
    );

    live.relay.point_to(live.cp.port());
    live.relay.cut();
    drop(etcd_watches);
}

/// The policy text without the document of the named policy.
fn policy_without(text: &str, name: &str) -> String {
    let kept: Vec<&str> = text
        .split("\n---\n")
        .filter(|doc| !doc.contains(&format!("  name: {name}\n")))
        .collect();
    assert_eq!(
        kept.len() + 1,
        text.split("\n---\n").count(),
        "policy {name} in the scenario"
    );
    kept.join("\n---\n")
}

fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The API server goes away: the rules stay; it comes back: updates resume.
fn apiserver_restart(live: &mut Live) {
    let policy = data("01-default-deny-ingress.yaml");
    let start = Instant::now();
    live.set_policies(&policy);
    let model = expected(&[&live.cluster, &policy]);
    live.enforce_and_probe("restart: before", &model, Duration::from_secs(30), start);
    let before = counters(live);

    live.cp.stop_apiserver();
    // Long enough for every watcher to notice and back off a few times.
    std::thread::sleep(Duration::from_secs(5));
    live.fx.flush_conntrack();
    let row = check(&live.fx, &model, "restart: API server down", Duration::ZERO);
    live.rows.push(row);
    let during = counters(live);
    let applied: Vec<u64> = during.iter().map(|c| c.0).collect();
    let expected_applied: Vec<u64> = before.iter().map(|c| c.0).collect();
    assert_eq!(
        applied, expected_applied,
        "a ruleset was applied while the API server was down"
    );

    live.cp.start_apiserver();
    let start = Instant::now();
    live.set_policies("");
    let model = expected(&[&live.cluster]);
    live.enforce_and_probe(
        "restart: update after restart",
        &model,
        RESUME_WITHIN,
        start,
    );
}

#[test]
fn agents_follow_a_real_api_server() {
    let started = Instant::now();
    let mut live = Live::start();
    live.scenarios();
    live_updates(&mut live);
    compaction_relist(&mut live);
    apiserver_restart(&mut live);

    report(&live.rows, started);
    assert!(
        live.rows.iter().any(|r| r.allowed < r.probes),
        "no scenario denied anything"
    );
    drop(live.agents);
}
