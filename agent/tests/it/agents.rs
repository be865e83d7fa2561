//! A simulated two-node cluster with one real `netpol-agent --manifests DIR` per node,
//! running inside its node's namespace on the [`Fabric`]: the agents read the same
//! manifests directory, compile their own node's ruleset and load it with `nft`, exactly as
//! on a host. Tests write policies into the directory and wait until both agents report
//! (through `--status-file`) the hash of the ruleset the core compiles for them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use netpol_agent::enforce::ruleset_for;
use netpol_agent::ruleset_hash;
use netpol_core::Model;

use crate::fabric::{Fabric, HostRef, Placement};
use crate::netns::{Netns, Proc, PREFIX};
use crate::reach::{self, Ask, Reach, Site};

const AGENT: &str = env!("CARGO_BIN_EXE_netpol-agent");
const PROBE: &str = env!("CARGO_BIN_EXE_netpol-probe");

/// The nodes, as in `spec.nodeName`.
pub const NODES: [&str; 2] = ["node-a", "node-b"];

/// First try, and the second try of a drop the engine does not expect.
const QUICK: Duration = Duration::from_millis(300);
const PATIENT: Duration = Duration::from_millis(2000);

/// A pod of the simulated cluster.
pub struct SimPod {
    /// `namespace/name`, as in the manifests.
    pub id: String,
    pub node: String,
    pub ips: Vec<IpAddr>,
}

/// The cluster. Field order is drop order: agents, then the fabric, then (in `Drop`) the
/// directory.
pub struct AgentCluster {
    agents: Vec<Proc>,
    pub fabric: Fabric,
    pub pods: Vec<SimPod>,
    /// Site `i` is pod `i`.
    pub sites: Vec<Site>,
    pub dir: PathBuf,
}

impl Drop for AgentCluster {
    fn drop(&mut self) {
        self.agents.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl AgentCluster {
    /// Builds the fabric with `pods` (each on its node, listening on `ports` over TCP and
    /// UDP), writes `cluster` (the manifests of namespaces and pods) and an empty policy
    /// file, and starts one agent per node. `tag` names the namespaces and the directory.
    pub fn start(tag: &str, pods: Vec<SimPod>, cluster: &str, ports: &[u16]) -> AgentCluster {
        let mut fabric = Fabric::new(tag, &NODES, Path::new(PROBE));
        let mut placement = Placement::default();
        let mut sites = Vec::new();
        for pod in &pods {
            let node = NODES
                .iter()
                .position(|n| *n == pod.node)
                .unwrap_or_else(|| panic!("unknown node {}", pod.node));
            let k = fabric.add_slot(node);
            placement.slots.push(pod.ips.clone());
            sites.push(Site {
                at: HostRef::Slot(k),
                ips: pod.ips.clone(),
            });
        }
        fabric.place(&placement);
        reach::listen(&mut fabric, &sites, ports);
        let dir = std::env::temp_dir().join(format!("{PREFIX}{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("manifests")).expect("temp dir");
        std::fs::write(dir.join("manifests").join("cluster.yaml"), cluster).expect("cluster");
        let mut cluster = AgentCluster {
            agents: Vec::new(),
            fabric,
            pods,
            sites,
            dir,
        };
        cluster.install_policies("");
        for (n, node) in NODES.iter().enumerate() {
            let agent = cluster.start_agent(n, node);
            cluster.agents.push(agent);
        }
        cluster
    }

    pub fn manifests(&self) -> PathBuf {
        self.dir.join("manifests")
    }

    fn start_agent(&self, n: usize, node: &str) -> Proc {
        let log = std::fs::File::create(self.dir.join(format!("{node}.log"))).expect("agent log");
        let manifests = self.manifests();
        let status = self.dir.join(format!("{node}.status"));
        let child = self.fabric.nodes[n]
            .host
            .ns
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

    /// Replaces the policy file atomically (write a hidden file, rename), so an agent never
    /// reads half a file.
    pub fn install_policies(&self, text: &str) {
        let dir = self.manifests();
        let tmp = dir.join(".policies.yaml.tmp");
        std::fs::write(&tmp, text).expect("write policies");
        std::fs::rename(&tmp, dir.join("policies.yaml")).expect("rename policies");
    }

    /// Waits until both agents report the ruleset compiled from `model`; returns how long.
    pub fn wait_applied(&self, model: &Model, timeout: Duration) -> Duration {
        let start = Instant::now();
        for node in NODES {
            let want = format!("{:016x}", ruleset_hash(&ruleset_for(model, node).text));
            let status = self.dir.join(format!("{node}.status"));
            loop {
                let got = std::fs::read_to_string(&status).unwrap_or_default();
                if got.trim() == want {
                    break;
                }
                if start.elapsed() > timeout {
                    let log = std::fs::read_to_string(self.dir.join(format!("{node}.log")))
                        .unwrap_or_default();
                    panic!("agent on {node} did not apply ruleset {want} within {timeout:?} (status {got:?}); log:\n{log}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        start.elapsed()
    }

    /// Probes `asks` between pods (site `i` is pod `i`); a drop that `should_reach` is tried
    /// again patiently. Returns the reaches and how many needed the second try.
    pub fn probe(
        &mut self,
        asks: &[Ask],
        should_reach: impl Fn(&Ask) -> bool,
    ) -> (Vec<Reach>, usize) {
        reach::probe_patiently(
            &mut self.fabric,
            &self.sites,
            asks,
            (QUICK, PATIENT),
            should_reach,
        )
    }

    /// The namespace of pod `id`.
    pub fn pod_ns(&self, id: &str) -> &Netns {
        let i = self
            .pods
            .iter()
            .position(|p| p.id == id)
            .unwrap_or_else(|| panic!("unknown pod {id}"));
        match self.sites[i].at {
            HostRef::Slot(k) => &self.fabric.slots[k].host.ns,
            _ => unreachable!("pods live in slots"),
        }
    }

    /// The namespace of node `name`.
    pub fn node_ns(&self, name: &str) -> &Netns {
        let n = NODES
            .iter()
            .position(|node| *node == name)
            .unwrap_or_else(|| panic!("unknown node {name}"));
        &self.fabric.nodes[n].host.ns
    }
}
