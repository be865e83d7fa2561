//! The core's conformance cases (`core/tests/cases/`, format in its README), read for the
//! kernel-level checks. Only what those checks need is read; the core's own harness
//! (`core/tests/it/conformance.rs`) rejects unknown keys and checks everything else, so a
//! case that loads here is already a well-formed case there.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netpol_core::{FileId, Model, PortRef, Protocol};
use serde::Deserialize;

/// Root of the case files.
pub const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/cases");

/// One case file, as far as the kernel checks read it.
#[derive(Debug, Deserialize)]
pub struct Case {
    #[serde(default)]
    pub fixture: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub policies: Option<String>,
    #[serde(default)]
    pub expect: Vec<FlowExpectation>,
    #[serde(default)]
    pub truth_tables: Vec<TruthTable>,
    #[serde(default)]
    pub allowed_ports: Vec<PortsExpectation>,
}

#[derive(Debug, Deserialize)]
pub struct FlowExpectation {
    pub from: String,
    pub to: String,
    pub port: String,
    pub allowed: bool,
}

#[derive(Debug, Deserialize)]
pub struct TruthTable {
    pub port: String,
    pub table: String,
}

#[derive(Debug, Deserialize)]
pub struct PortsExpectation {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub tcp: Option<String>,
    #[serde(default)]
    pub udp: Option<String>,
}

/// Every case file under `dir` (relative to [`CASES_DIR`], `""` for all), sorted, with its
/// path relative to [`CASES_DIR`]. The shared clusters in `fixtures/` are not cases.
pub fn load_all(dir: &str) -> Vec<(String, Case)> {
    let root = Path::new(CASES_DIR);
    let mut files = Vec::new();
    collect(&root.join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let case = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, case)
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "fixtures") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// The text of the case's cluster: its own, or the fixture it names.
pub fn cluster_text(case: &Case) -> String {
    match (&case.fixture, &case.cluster) {
        (Some(name), _) => {
            let path = Path::new(CASES_DIR)
                .join("fixtures")
                .join(format!("{name}.yaml"));
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
        }
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    }
}

/// The case's model, built exactly as the core harness builds it: cluster `FileId(0)`,
/// policies `FileId(1)`.
pub fn model(case: &Case) -> Model {
    let cluster = cluster_text(case);
    let policies = case.policies.clone().unwrap_or_default();
    let mut sources: Vec<(FileId, &str)> = Vec::new();
    if !cluster.trim().is_empty() {
        sources.push((FileId(0), &cluster));
    }
    if !policies.trim().is_empty() {
        sources.push((FileId(1), &policies));
    }
    netpol_core::load(&sources)
}

/// `80`, `53/UDP`, `serve-80-tcp/TCP`: protocol (TCP by default) and port.
pub fn parse_port(text: &str) -> Option<(Protocol, PortRef)> {
    let (port, protocol) = match text.rsplit_once('/') {
        Some((port, protocol)) => (port, Protocol::parse(protocol)?),
        None => (text, Protocol::TCP),
    };
    Some(match port.parse::<u16>() {
        Ok(n) => (protocol, PortRef::Number(n)),
        Err(_) => (protocol, PortRef::Name(port.to_string())),
    })
}

/// An endpoint as cases write it: a pod id, or an address outside the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    Pod(usize),
    Address(IpAddr),
}

pub fn endpoint(model: &Model, text: &str) -> Option<Named> {
    match text.parse::<IpAddr>() {
        Ok(ip) => Some(Named::Address(ip)),
        Err(_) => model.cluster.pod_index(text).map(Named::Pod),
    }
}

/// A truth table's cells: `(row id, column id, allowed)`.
pub fn table_cells(text: &str) -> Vec<(String, String, bool)> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let columns: Vec<&str> = lines
        .next()
        .map(|h| h.split_whitespace().skip(1).collect())
        .unwrap_or_default();
    let mut cells = Vec::new();
    for line in lines {
        let mut words = line.split_whitespace();
        let row = words.next().unwrap_or_default();
        for (column, cell) in columns.iter().zip(words) {
            cells.push((row.to_string(), column.to_string(), cell == "."));
        }
    }
    cells
}

/// `80,443,8000-8080`, `1-65535`, `-`: the ranges.
pub fn parse_port_set(text: &str) -> Option<Vec<(u16, u16)>> {
    let text = text.trim();
    if text == "-" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => {
                let n = part.trim().parse().ok()?;
                Some((n, n))
            }
        })
        .collect()
}
