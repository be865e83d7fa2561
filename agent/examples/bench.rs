//! Agent benchmark: a 10,000-pod / 5,000-policy cluster with 110 pods on the measured node.
//!
//! ```text
//! cargo build --release -p netpol-agent --bins --examples
//! sudo target/release/examples/bench            # needs root: netns + nftables
//! ```
//!
//! Measures: parse + build of the manifests, `Engine::new` and `nft::compile` for the node
//! (separately and together), ruleset size,
//! `nft -f` apply time in a scratch network namespace (first apply and a replacement), and
//! change-to-active: a running `netpol-agent --manifests DIR` in that namespace, one policy
//! file changed, until the agent reports the new ruleset as applied.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use netpol_agent::enforce::ruleset_for;
use netpol_agent::{manifests, ruleset_hash};
use netpol_core::nft::{compile, local_pods};
use netpol_core::Engine;

const PODS: usize = 10_000;
const POLICIES: usize = 5_000;
const LOCAL: usize = 110;
const NODE: &str = "node-0";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn nft_apply(netns: &str, text: &str) -> Result<Duration> {
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft")?;
    std::io::Write::write_all(child.stdin.as_mut().context("stdin")?, text.as_bytes())?;
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("nft failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed())
}

struct Scratch {
    netns: String,
    dir: PathBuf,
    agent: Option<std::process::Child>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(mut agent) = self.agent.take() {
            let _ = agent.kill();
            let _ = agent.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn main() -> Result<()> {
    // The generator puts 250 pods on each node; the target is 110 local pods, so the rest
    // of node-0's pods move to another node (a text edit, before parsing).
    let mut text = netpol_core::generate::generate(PODS, POLICIES, 1);
    let needle = format!("nodeName: {NODE}\n");
    let mut seen = 0;
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(&needle) {
        out.push_str(&rest[..i]);
        seen += 1;
        out.push_str(if seen <= LOCAL {
            &needle
        } else {
            "nodeName: node-0-overflow\n"
        });
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    text = out;

    let pid = std::process::id();
    let netns = format!("nptbench{pid}");
    let dir = std::env::temp_dir().join(format!("nptbench{pid}"));
    std::fs::create_dir_all(dir.join("manifests"))?;
    let status_file = dir.join("status");
    let mut scratch = Scratch {
        netns: netns.clone(),
        dir: dir.clone(),
        agent: None,
    };
    std::fs::write(dir.join("manifests/cluster.yaml"), &text)?;
    std::fs::write(dir.join("manifests/extra.yaml"), "")?;

    let start = Instant::now();
    let model = manifests::load(&dir.join("manifests"))?;
    let load = start.elapsed();
    let local = local_pods(&model, NODE);
    println!(
        "cluster: {} endpoints, {} policies, {} namespaces, {} bytes of YAML; {} pods on {NODE}",
        model.cluster.pods.len(),
        model.policies.len(),
        model.cluster.namespaces.len(),
        text.len(),
        local.len()
    );
    println!("parse + build:        {:>8.1} ms", load.as_secs_f64() * 1e3);

    let (mut build, mut node, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let mut ruleset = compile(&model, &Engine::new(&model), &local);
    for _ in 0..5 {
        let start = Instant::now();
        let engine = Engine::new(&model);
        let built = start.elapsed();
        ruleset = compile(&model, &engine, &local);
        build.push(built);
        node.push(start.elapsed() - built);
        both.push(start.elapsed());
    }
    for (what, times) in [
        ("Engine::new", build),
        ("nft::compile", node),
        ("engine + compile", both),
    ] {
        println!(
            "{:<22}{:>8.1} ms (median of 5)",
            format!("{what}:"),
            median(times).as_secs_f64() * 1e3
        );
    }
    println!(
        "ruleset:              {} rules, {} set elements, {} bytes",
        ruleset.rules,
        ruleset.set_elements,
        ruleset.text.len()
    );

    let _ = Command::new("ip").args(["netns", "del", &netns]).output();
    let ok = Command::new("ip").args(["netns", "add", &netns]).status()?;
    if !ok.success() {
        bail!("ip netns add failed: run as root");
    }
    let first = nft_apply(&netns, &ruleset.text)?;
    let again = nft_apply(&netns, &ruleset.text)?;
    println!(
        "nft -f (first apply): {:>8.1} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "nft -f (replace):     {:>8.1} ms",
        again.as_secs_f64() * 1e3
    );
    let _ = Command::new("ip")
        .args([
            "netns", "exec", &netns, "nft", "delete", "table", "inet", "netpol",
        ])
        .status();

    // Change to active, through the real agent binary.
    let agent_bin = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("netpol-agent"))
        .context("locating netpol-agent")?;
    if !agent_bin.exists() {
        bail!(
            "{} not found: cargo build --release -p netpol-agent --bins",
            agent_bin.display()
        );
    }
    let agent = Command::new("ip")
        .args(["netns", "exec", &netns])
        .arg(&agent_bin)
        .arg("--manifests")
        .arg(dir.join("manifests"))
        .args([
            "--node-name",
            NODE,
            "--metrics-addr",
            "off",
            "--status-file",
        ])
        .arg(&status_file)
        .env("RUST_LOG", "warn")
        .spawn()?;
    scratch.agent = Some(agent);
    let wait_for = |hash: u64, timeout: Duration| -> Result<()> {
        let want = format!("{hash:016x}");
        let start = Instant::now();
        while start.elapsed() < timeout {
            if std::fs::read_to_string(&status_file)
                .unwrap_or_default()
                .trim()
                == want
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!("the agent did not apply {want} within {timeout:?}")
    };
    let start = Instant::now();
    wait_for(ruleset_hash(&ruleset.text), Duration::from_secs(60))?;
    println!(
        "agent start to active:{:>8.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let mut samples = Vec::new();
    for round in 0..3 {
        // A new policy for one of the node's namespaces, admitting an address range and a
        // port no other policy mentions. The ruleset is rendered from what the kernel must
        // enforce, so a policy that adds nothing new (its pods already admit that address
        // on every port, say) leaves it unchanged: try the node's namespaces in turn until
        // the ruleset changes, so every round measures a real change.
        let active = std::fs::read_to_string(&status_file).unwrap_or_default();
        let change = (0..local.len()).find_map(|k| {
            let pod = local[(round * 30 + k) % local.len()];
            let namespace = &model.cluster.pods[pod].namespace;
            let policy = format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bench-{round}\n  namespace: {namespace}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{{ipBlock: {{cidr: 10.99.{round}.0/24}}}}]\n    ports: [{{port: {}}}]\n",
                4000 + round
            );
            // What the agent will load: its files in path order (cluster.yaml, extra.yaml).
            let next = netpol_core::load(&[
                (netpol_core::FileId(0), text.as_str()),
                (netpol_core::FileId(1), policy.as_str()),
            ]);
            let hash = ruleset_hash(&ruleset_for(&next, NODE).text);
            (active.trim() != format!("{hash:016x}")).then_some((policy, hash))
        });
        let Some((policy, hash)) = change else {
            bail!("round {round}: no candidate policy changes the ruleset");
        };
        let tmp = dir.join("manifests/.extra.tmp");
        std::fs::write(&tmp, &policy)?;
        let start = Instant::now();
        std::fs::rename(&tmp, dir.join("manifests/extra.yaml"))?;
        wait_for(hash, Duration::from_secs(30))?;
        samples.push(start.elapsed());
    }
    println!(
        "change to active:     {:>8.1} ms (median of 3)",
        median(samples).as_secs_f64() * 1e3
    );
    drop(scratch);
    Ok(())
}
