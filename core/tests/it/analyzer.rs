//! Realistic inputs from another analyzer's test corpus (np-guard/netpol-analyzer, Apache-2.0;
//! copies and attribution in `tests/data/netpol-analyzer/`), most of them typed lists as the
//! API server returns them (`kind: PodList` whose items carry neither `kind` nor
//! `apiVersion`). Each case is parsed without a `missing-kind` error, and the engine's
//! connectivity is compared with that analyzer's expected `list` output, pair by pair.
//!
//! Their endpoints are workloads (`ns/owner[Kind]`, a pod's controlling owner), ours are
//! pods; the test reads each pod's owner from the input (test-side only) and checks every
//! pair of pods of two different workloads. External lines (`a.b.c.d-e.f.g.h[External]`)
//! are checked at both ends of each listed range.
//!
//! Host-network pods are left out of the comparison: that analyzer treats them as ordinary
//! pods, while netpol follows the documented choice of most network plugins (ARCHITECTURE.md,
//! "Which pods take part": policies never select them, selectors never match them).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netpol_core::{load, AllowedPorts, Endpoint, Engine, FileId, Model, PortSet, Severity};
use serde::Deserialize;
use serde_yaml::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol-analyzer");

/// Cases whose outputs differ from ours by a documented choice, with the reason; empty
/// when every case agrees.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(DATA)
        .expect("the corpus is there")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn inputs(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("case dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            (p.display().to_string(), text)
        })
        .collect()
}

/// Pod id (`ns/name`) to the analyzer's workload name (`ns/owner[Kind]`, or
/// `ns/name[Pod]` without a controlling owner).
fn owners(texts: &[(String, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, text) in texts {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let Ok(value) = Value::deserialize(doc) else {
                continue;
            };
            collect_pods(&value, None, &mut out);
        }
    }
    out
}

fn collect_pods(value: &Value, inherited: Option<&str>, out: &mut BTreeMap<String, String>) {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .or(inherited)
        .unwrap_or_default();
    if let Some(items) = value.get("items").and_then(Value::as_sequence) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        for item in items {
            collect_pods(item, item_kind, out);
        }
        return;
    }
    if kind != "Pod" {
        return;
    }
    let meta = &value["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or("default");
    let name = meta["name"].as_str().unwrap_or_default();
    let owner = meta["ownerReferences"]
        .as_sequence()
        .and_then(|refs| refs.first())
        .map(|r| {
            format!(
                "{}[{}]",
                r["name"].as_str().unwrap_or_default(),
                r["kind"].as_str().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| format!("{name}[Pod]"));
    out.insert(format!("{ns}/{name}"), format!("{ns}/{owner}"));
}

/// `All Connections`, `TCP 1-9089,9091-65535,UDP 53`.
fn ports(text: &str) -> AllowedPorts {
    if text == "All Connections" {
        return AllowedPorts::all();
    }
    let mut out = AllowedPorts::default();
    let mut protocol = netpol_core::Protocol::TCP;
    for part in text.split(',') {
        let range = match part.split_once(' ') {
            Some((p, r)) => {
                protocol = netpol_core::Protocol::parse(p).expect("a protocol");
                r
            }
            None => part,
        };
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        let set = out.get_mut(protocol);
        *set = set.union(&PortSet::from_ranges([(
            a.parse().expect("port"),
            b.parse().expect("port"),
        )]));
    }
    out
}

/// One side of an expected line: a workload, or an external range.
#[derive(Debug)]
enum Side {
    Workload(String),
    Range(IpAddr, IpAddr),
}

fn side(text: &str) -> Side {
    match text.strip_suffix("[External]") {
        Some(range) => {
            let (a, b) = range.split_once('-').expect("a range");
            Side::Range(a.parse().expect("ip"), b.parse().expect("ip"))
        }
        None => Side::Workload(text.to_string()),
    }
}

fn expected(dir: &Path) -> Vec<(Side, Side, AllowedPorts)> {
    let text = std::fs::read_to_string(dir.join("expected-connlist.txt")).expect("output");
    text.lines()
        .filter(|l| l.contains(" => "))
        .map(|line| {
            let (pair, conns) = line.rsplit_once(" : ").expect("` : `");
            let (src, dst) = pair.split_once(" => ").expect("` => `");
            (side(src.trim()), side(dst.trim()), ports(conns.trim()))
        })
        .collect()
}

/// Mismatches between our connectivity and the expected lines, as readable strings.
fn compare(
    model: &Model,
    owner: &BTreeMap<String, String>,
    lines: &[(Side, Side, AllowedPorts)],
) -> Vec<String> {
    let engine = Engine::new(model);
    let pods = &model.cluster.pods;
    let workload = |i: usize| owner.get(&pods[i].id).cloned().unwrap_or_default();
    let compared = |i: &usize| !pods[*i].host_network;
    let mut problems = Vec::new();
    let mut listed: BTreeMap<(String, String), &AllowedPorts> = BTreeMap::new();
    for (src, dst, want) in lines {
        match (src, dst) {
            (Side::Workload(s), Side::Workload(d)) => {
                listed.insert((s.clone(), d.clone()), want);
            }
            (Side::Range(a, b), Side::Workload(d)) => {
                for q in (0..pods.len())
                    .filter(compared)
                    .filter(|q| workload(*q) == *d)
                {
                    for ip in [a, b] {
                        let got = engine.allowed_ports(Endpoint::Address(*ip), Endpoint::Pod(q));
                        if got != *want {
                            problems
                                .push(format!("{ip} -> {}: ours {got}, theirs {want}", pods[q].id));
                        }
                    }
                }
            }
            (Side::Workload(s), Side::Range(a, b)) => {
                for p in (0..pods.len())
                    .filter(compared)
                    .filter(|p| workload(*p) == *s)
                {
                    for ip in [a, b] {
                        let got = engine.allowed_ports(Endpoint::Pod(p), Endpoint::Address(*ip));
                        if got != *want {
                            problems
                                .push(format!("{} -> {ip}: ours {got}, theirs {want}", pods[p].id));
                        }
                    }
                }
            }
            (Side::Range(..), Side::Range(..)) => problems.push("a range to a range".into()),
        }
    }
    let none = AllowedPorts::default();
    for p in (0..pods.len()).filter(compared) {
        for q in (0..pods.len()).filter(compared) {
            let (wp, wq) = (workload(p), workload(q));
            if wp == wq {
                continue;
            }
            let want = listed.get(&(wp, wq)).copied().unwrap_or(&none);
            let got = engine.allowed_ports(Endpoint::Pod(p), Endpoint::Pod(q));
            if got != *want {
                problems.push(format!(
                    "{} -> {}: ours {got}, theirs {want}",
                    pods[p].id, pods[q].id
                ));
            }
        }
    }
    problems
}

#[test]
fn typed_lists_from_another_analyzers_corpus_agree_with_its_connectivity() {
    let cases = cases();
    assert!(cases.len() >= 10, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut pods_seen = 0;
    for dir in &cases {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let texts = inputs(dir);
        let sources: Vec<(FileId, &str)> = texts
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (FileId(i as u32), t.as_str()))
            .collect();
        let model = load(&sources);
        let errors: Vec<&str> = model
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.as_str())
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{name}: errors {errors:?}"));
        }
        let owner = owners(&texts);
        let ids: BTreeSet<&str> = model.cluster.pods.iter().map(|p| p.id.as_str()).collect();
        let theirs: BTreeSet<&str> = owner.keys().map(String::as_str).collect();
        if ids != theirs {
            failures.push(format!("{name}: pods {ids:?} but the input has {theirs:?}"));
        }
        pods_seen += model
            .cluster
            .pods
            .iter()
            .filter(|p| !p.host_network)
            .count();
        let problems = compare(&model, &owner, &expected(dir));
        let known = KNOWN_DIFFERENCES.iter().any(|(case, _)| *case == name);
        match (problems.is_empty(), known) {
            (true, false) | (false, true) => {}
            (false, false) => failures.push(format!(
                "{name}: {} mismatches, first: {}",
                problems.len(),
                problems[..problems.len().min(5)].join("; ")
            )),
            (true, true) => failures.push(format!(
                "{name}: agrees now; drop it from KNOWN_DIFFERENCES"
            )),
        }
    }
    assert!(pods_seen > 100, "only {pods_seen} pods in the corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The typed lists carry the namespace labels a namespaceSelector needs: before items took
/// the list's kind, every item was dropped with `missing-kind` and the labels were lost.
#[test]
fn namespace_list_items_keep_their_labels() {
    let dir = Path::new(DATA).join("multiple_topology_resources_1");
    let texts = inputs(&dir);
    let sources: Vec<(FileId, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (FileId(i as u32), t.as_str()))
        .collect();
    let model = load(&sources);
    assert!(!model.diagnostics.iter().any(|d| d.code == "missing-kind"));
    let default = model.cluster.namespace("default").expect("declared");
    assert_eq!(
        default.labels.get("unique-label").map(String::as_str),
        Some("defaultNameSpace")
    );
    assert!(
        default.span.is_some(),
        "declared by the NamespaceList, not implicit"
    );
}
