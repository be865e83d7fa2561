//! Every upstream Kubernetes e2e case (`core/tests/cases/upstream-e2e/`, the scenarios of
//! `test/e2e/network/netpol`) through real agents, every truth table with real packets.
//!
//! The cluster is the cases' fixture (`fixtures/upstream.yaml`: namespaces x, y, z with
//! pods a, b, c at 10.0.<ns>.<pod>, serving 80 and 81) on the routed fabric, the pods
//! alternating between `node-a` and `node-b`; one `netpol-agent --manifests DIR` per node.
//! The agents read a manifest generated from the case's cluster with `spec.nodeName` added
//! (checked to give back exactly the case's pods and namespaces); the three "after an
//! update" cases carry the fixture with a label changed, so the agents also follow pod and
//! namespace label updates. For each case, its cluster and policies replace the files in
//! the agents' directory, both agents apply their rulesets, and every cell of
//! every TCP and UDP truth table is probed (the pod pair, the table's port resolved on the
//! destination as Kubernetes resolves named ports) and compared with the case's cell and
//! with the engine's matrix for the agents' own model. Not probed, and counted: the
//! diagonal (a pod's traffic to itself never reaches a node; upstream ignores it too), SCTP
//! tables (no SCTP sockets on this kernel; the agents' rulesets carry the SCTP rules and
//! `nft` accepted them), and cells whose named port the destination lacks (the case says
//! `X` there; nothing can be sent by that name).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use netpol_agent::enforce::ruleset_for;
use netpol_agent::manifests;
use netpol_core::{Endpoint, Engine, FileId, Model, PortRef, Protocol, Severity};
use serde_json::{json, Value};

use crate::agents::{AgentCluster, SimPod, NODES};
use crate::cases::{self, Case};
use crate::netns;
use crate::reach::{self, Ask, Reach};

/// The number of upstream cases; a missing file must fail the test, not shrink it.
const UPSTREAM_CASES: usize = 57;

/// The fixture as a List manifest with every pod on a node (alternating by pod order).
fn cluster_manifest(model: &Model) -> String {
    let mut items: Vec<Value> = Vec::new();
    for ns in &model.cluster.namespaces {
        items.push(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns.name, "labels": ns.labels},
        }));
    }
    for (i, pod) in model.cluster.pods.iter().enumerate() {
        let ports: Vec<Value> = pod
            .ports
            .iter()
            .map(|p| json!({"name": p.name, "containerPort": p.port, "protocol": p.protocol.as_str()}))
            .collect();
        let ips: Vec<Value> = pod
            .ips
            .iter()
            .map(|ip| json!({"ip": ip.to_string()}))
            .collect();
        items.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": pod.labels},
            "spec": {"nodeName": NODES[i % NODES.len()], "containers": [{"name": "agnhost", "ports": ports}]},
            "status": {"phase": "Running", "podIP": pod.ips[0].to_string(), "podIPs": ips},
        }));
    }
    serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .expect("json")
}

/// What the agents' manifest must give back: the fixture's namespaces and pods.
fn assert_same_cluster(fixture: &Model, generated: &Model) {
    let namespaces = |m: &Model| -> Vec<_> {
        m.cluster
            .namespaces
            .iter()
            .map(|n| (n.name.clone(), n.labels.clone()))
            .collect()
    };
    let pods = |m: &Model| -> Vec<_> {
        m.cluster
            .pods
            .iter()
            .map(|p| {
                (
                    p.id.clone(),
                    p.labels.clone(),
                    p.ips.clone(),
                    p.ports.clone(),
                    p.host_network,
                )
            })
            .collect()
    };
    assert_eq!(
        namespaces(fixture),
        namespaces(generated),
        "generated namespaces"
    );
    assert_eq!(pods(fixture), pods(generated), "generated pods");
}

/// The case's cluster as the agents' manifest, and the model it gives.
fn agents_cluster(case: &Case) -> (String, Model) {
    let text = cases::cluster_text(case);
    let wanted = netpol_core::load(&[(FileId(0), text.as_str())]);
    let manifest = cluster_manifest(&wanted);
    let generated = netpol_core::load(&[(FileId(0), manifest.as_str())]);
    assert_same_cluster(&wanted, &generated);
    (manifest, generated)
}

/// Writes the case's cluster for the agents when it differs from what they have (write a
/// hidden file, rename, so an agent never reads half a file). The pods must be the
/// fabric's: same ids, same IPs.
fn install_cluster(cluster: &AgentCluster, case: &Case) {
    let (manifest, model) = agents_cluster(case);
    let pods: Vec<_> = model
        .cluster
        .pods
        .iter()
        .map(|p| (p.id.clone(), p.ips.clone()))
        .collect();
    let sim: Vec<_> = cluster
        .pods
        .iter()
        .map(|p| (p.id.clone(), p.ips.clone()))
        .collect();
    assert_eq!(
        pods, sim,
        "an upstream case with other pods than the fixture's"
    );
    let path = cluster.manifests().join("cluster.yaml");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(manifest.as_str()) {
        let tmp = cluster.manifests().join(".cluster.yaml.tmp");
        std::fs::write(&tmp, &manifest).expect("write cluster");
        std::fs::rename(&tmp, &path).expect("rename cluster");
    }
}

/// One probed cell of a truth table.
struct Cell {
    table: String,
    row: String,
    column: String,
    ask: Ask,
    case: bool,
    engine: bool,
}

#[derive(Default)]
struct Row {
    name: String,
    cells: usize,
    reached: usize,
    late: usize,
    not_probed: usize,
    mismatches: Vec<String>,
    /// When something disagrees: the agents' rulesets, lines about the cells marked.
    rulesets: String,
    active_after: Duration,
}

/// The cells of every TCP and UDP table of `case`, with the engine's answer for `model`.
fn cells(case: &Case, model: &Model, engine: &Engine, row: &mut Row) -> Vec<Cell> {
    let mut out = Vec::new();
    for table in &case.truth_tables {
        let Some((protocol, port)) = cases::parse_port(&table.port) else {
            panic!("{}: bad port {}", row.name, table.port);
        };
        let all = cases::table_cells(&table.table);
        if protocol == Protocol::SCTP {
            row.not_probed += all.len();
            continue;
        }
        let matrix = engine.matrix(protocol, &port);
        for (from, to, allowed) in all {
            let index = |id: &str| {
                model
                    .cluster
                    .pod_index(id)
                    .unwrap_or_else(|| panic!("{}: no pod {id}", row.name))
            };
            let (src, dst) = (index(&from), index(&to));
            let number = netpol_core::probe_port(
                model,
                Endpoint::Pod(src),
                Endpoint::Pod(dst),
                protocol,
                &port,
            );
            let Some(number) = number.filter(|_| src != dst) else {
                row.not_probed += 1;
                continue;
            };
            out.push(Cell {
                table: table.port.clone(),
                row: from,
                column: to,
                ask: Ask {
                    src,
                    dst,
                    protocol,
                    port: number,
                },
                case: allowed,
                engine: matrix.allowed(src, dst),
            });
        }
    }
    out
}

/// Installs the case, waits for both agents, probes every cell.
fn run_case(cluster: &mut AgentCluster, name: &str, case: &Case) -> Row {
    let mut row = Row {
        name: name.to_string(),
        ..Row::default()
    };
    install_cluster(cluster, case);
    cluster.install_policies(case.policies.as_deref().unwrap_or_default());
    let model = manifests::load(&cluster.manifests()).expect("load manifests");
    let errors: Vec<&str> = model
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: manifests have errors: {errors:?}"
    );
    row.active_after = cluster.wait_applied(&model, Duration::from_secs(10));
    cluster.fabric.flush_conntrack();
    // Site `i` is the agents' model's pod `i`: both are the fixture's pods, sorted by id.
    let ids = |m: &Model| -> Vec<String> { m.cluster.pods.iter().map(|p| p.id.clone()).collect() };
    let sim: Vec<String> = cluster.pods.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids(&model), sim, "{name}: the agents' pods");
    let engine = Engine::new(&model);
    let cells = cells(case, &model, &engine, &mut row);
    let mut asks: Vec<Ask> = cells.iter().map(|c| c.ask).collect();
    asks.sort();
    asks.dedup();
    let hoped: BTreeMap<Ask, bool> = cells.iter().map(|c| (c.ask, c.case || c.engine)).collect();
    let (reaches, late) = cluster.probe(&asks, |a| hoped.get(a).copied().unwrap_or(false));
    let results: BTreeMap<Ask, Reach> = asks.into_iter().zip(reaches).collect();
    row.late = late;
    row.cells = cells.len();
    let mut marks = BTreeSet::new();
    for cell in &cells {
        let reach = &results[&cell.ask];
        row.reached += usize::from(*reach == Reach::Reached);
        let got = match reach {
            Reach::Reached => "through",
            Reach::Dropped => "dropped",
            Reach::Broken(why) => why.as_str(),
        };
        let kernel = *reach == Reach::Reached;
        if matches!(reach, Reach::Broken(_)) || kernel != cell.case || kernel != cell.engine {
            for pod in [cell.ask.src, cell.ask.dst] {
                marks.extend(model.cluster.pods[pod].ips.iter().map(ToString::to_string));
            }
            marks.insert(format!("dport {}", cell.ask.port));
            marks.insert(format!(". {}", cell.ask.port));
            row.mismatches.push(format!(
                "{} {} -> {} ({}/{}): kernel {got}, case {}, engine {}",
                cell.table,
                cell.row,
                cell.column,
                cell.ask.protocol,
                cell.ask.port,
                if cell.case { "." } else { "X" },
                if cell.engine { "." } else { "X" },
            ));
        }
    }
    if !row.mismatches.is_empty() {
        for node in NODES {
            let text = ruleset_for(&model, node).text;
            reach::marked_ruleset(&mut row.rulesets, node, &text, &marks);
        }
    }
    row
}

fn print_rows(rows: &[Row], total: Duration) {
    println!(
        "\n{:<66} {:>5} {:>7} {:>4} {:>10} {:>10} {:>7}",
        "upstream case", "cells", "through", "late", "not probed", "mismatches", "active"
    );
    for r in rows {
        println!(
            "{:<66} {:>5} {:>7} {:>4} {:>10} {:>10} {:>5}ms",
            r.name,
            r.cells,
            r.reached,
            r.late,
            r.not_probed,
            r.mismatches.len(),
            r.active_after.as_millis()
        );
    }
    let cells: usize = rows.iter().map(|r| r.cells).sum();
    println!(
        "{} cases, {cells} cells probed, total {total:?}",
        rows.len()
    );
}

#[test]
fn every_upstream_e2e_case_holds_through_real_agents() {
    let started = Instant::now();
    netns::require_netns();
    netns::cleanup_leftovers();
    let all = cases::load_all("upstream-e2e");
    assert_eq!(all.len(), UPSTREAM_CASES, "upstream-e2e cases");
    let (manifest, generated) = agents_cluster(&all[0].1);
    let pods: Vec<SimPod> = generated
        .cluster
        .pods
        .iter()
        .map(|p| SimPod {
            id: p.id.clone(),
            node: p.node.clone().expect("generated nodeName"),
            ips: p.ips.clone(),
        })
        .collect();
    // Every pod listens on its container ports and on every number a table names (the
    // endPort cases probe 82, which upstream's pods serve too).
    let mut ports: Vec<u16> = generated
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ports.iter().map(|c| c.port))
        .collect();
    for (_, case) in &all {
        for table in &case.truth_tables {
            if let Some((_, PortRef::Number(n))) = cases::parse_port(&table.port) {
                ports.push(n);
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    let mut cluster = AgentCluster::start("upstream", pods, &manifest, &ports);
    let rows: Vec<Row> = all
        .iter()
        .map(|(name, case)| run_case(&mut cluster, name, case))
        .collect();
    print_rows(&rows, started.elapsed());
    drop(cluster);

    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.mismatches.is_empty())
        .map(|r| {
            format!(
                "── {} ──\n  {}\n{}",
                r.name,
                r.mismatches.join("\n  "),
                r.rulesets
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} upstream cases disagree (kernel vs case vs engine; `.` allowed, `X` denied):\n{}",
        failed.len(),
        failed.join("\n")
    );
    let cells: usize = rows.iter().map(|r| r.cells).sum();
    let reached: usize = rows.iter().map(|r| r.reached).sum();
    assert!(
        cells > 5_000 && reached > 0 && reached < cells,
        "{reached} of {cells} cells reached"
    );
}
