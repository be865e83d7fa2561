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
#[derive(Debug, Default, Deserialize)]
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
    /// Changes applied in order, each with its own checks (the state carries over).
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One `steps:` entry, as far as the kernel checks read it.
#[derive(Debug, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub apply: Option<String>,
    #[serde(default)]
    pub delete: Vec<String>,
    #[serde(default)]
    pub expect: Vec<FlowExpectation>,
    #[serde(default)]
    pub truth_tables: Vec<TruthTable>,
    #[serde(default)]
    pub allowed_ports: Vec<PortsExpectation>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FlowExpectation {
    pub from: String,
    pub to: String,
    pub port: String,
    pub allowed: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TruthTable {
    pub port: String,
    pub table: String,
}

#[derive(Clone, Debug, Deserialize)]
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

/// Every state of a case, each as a case of its own: the case as written (its top-level
/// checks), then the state after each step (that step's checks), with the step's changes
/// applied the way the core harness applies them: an object replaces the document of the
/// same kind, namespace and name in place (in the cluster or the policies), or is added to
/// the policies; `delete` removes documents. Names: `NAME`, then `NAME steps[i]`.
pub fn states(name: &str, case: &Case) -> Vec<(String, Case)> {
    let mut cluster = documents(&cluster_text(case));
    let mut policies = documents(case.policies.as_deref().unwrap_or_default());
    let mut out = vec![(name.to_string(), state_of(&cluster, &policies, case))];
    for (i, step) in case.steps.iter().enumerate() {
        for doc in documents(step.apply.as_deref().unwrap_or_default()) {
            let key = doc.0.clone();
            let at = |docs: &Vec<Doc>| docs.iter().position(|d| key.is_some() && d.0 == key);
            if let Some(j) = at(&cluster) {
                cluster[j] = doc;
            } else if let Some(j) = at(&policies) {
                policies[j] = doc;
            } else {
                policies.push(doc);
            }
        }
        for target in &step.delete {
            let parts: Vec<&str> = target.split('/').collect();
            let key = match parts.as_slice() {
                [kind, name] => (kind.to_string(), String::new(), name.to_string()),
                [kind, ns, name] => (kind.to_string(), ns.to_string(), name.to_string()),
                _ => panic!("{name} steps[{i}]: delete {target:?}"),
            };
            cluster.retain(|d| d.0.as_ref() != Some(&key));
            policies.retain(|d| d.0.as_ref() != Some(&key));
        }
        let view = Case {
            expect: step.expect.iter().map(FlowExpectation::clone).collect(),
            truth_tables: step.truth_tables.iter().map(TruthTable::clone).collect(),
            allowed_ports: step
                .allowed_ports
                .iter()
                .map(PortsExpectation::clone)
                .collect(),
            ..state_of(&cluster, &policies, &Case::default())
        };
        out.push((format!("{name} steps[{i}]"), view));
    }
    out
}

/// `(kind, namespace as written, name)` and the text of one YAML document.
type Doc = (Option<(String, String, String)>, String);

fn documents(text: &str) -> Vec<Doc> {
    if netpol_core::is_compact(text) {
        return vec![(None, text.to_string())];
    }
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
        }
    }
    docs.push(current);
    docs.into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| (doc_key(&d), d))
        .collect()
}

fn doc_key(text: &str) -> Option<(String, String, String)> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let field = |v: &serde_yaml::Value, k: &str| v.get(k)?.as_str().map(str::to_string);
    let metadata = value.get("metadata")?;
    Some((
        field(&value, "kind")?,
        field(metadata, "namespace").unwrap_or_default(),
        field(metadata, "name")?,
    ))
}

fn join(docs: &[Doc]) -> String {
    let texts: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
    texts.join("---\n")
}

/// A case with this cluster and these policies, and `checks`' top-level checks.
fn state_of(cluster: &[Doc], policies: &[Doc], checks: &Case) -> Case {
    Case {
        fixture: None,
        cluster: Some(join(cluster)),
        policies: Some(join(policies)),
        expect: checks.expect.iter().map(FlowExpectation::clone).collect(),
        truth_tables: checks.truth_tables.iter().map(TruthTable::clone).collect(),
        allowed_ports: checks
            .allowed_ports
            .iter()
            .map(PortsExpectation::clone)
            .collect(),
        steps: Vec::new(),
    }
}
