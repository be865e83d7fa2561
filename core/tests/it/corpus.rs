//! Every realistic input the repository has, as models: the playground's examples (in menu
//! order, read from `app/src/examples.rs` so the list cannot drift), the shared examples,
//! and every conformance case (its cluster or fixture, and its policies). Tests that must
//! hold on *all* inputs (lint's pinned findings, exposure against the pair verdict) walk
//! this list.

use std::path::{Path, PathBuf};

use netpol_core::{load, FileId, Model};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One input: a name to show, and its sources (label, text) in `FileId` order.
pub struct Input {
    /// `example/allow-frontend`, `shared/internal`, `case/egress/allow-dns-egress`.
    pub name: String,
    /// `(label, text)`; the label names the source in rendered findings.
    pub sources: Vec<(String, String)>,
}

impl Input {
    /// The model of the sources (`FileId(i)` is the i-th source).
    pub fn model(&self) -> Model {
        let sources: Vec<(FileId, &str)> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, (_, text))| (FileId(i as u32), text.as_str()))
            .collect();
        load(&sources)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The playground's examples: pairs of `include_str!` in `app/src/examples.rs`.
fn app_examples() -> Vec<Input> {
    let dir = Path::new(ROOT).join("../app");
    let menu = read(&dir.join("src/examples.rs"));
    let mut out = Vec::new();
    let mut key = String::new();
    let mut files: Vec<String> = Vec::new();
    for line in menu.lines().map(str::trim) {
        if let Some(k) = line.strip_prefix("key: \"") {
            key = k.trim_end_matches("\",").to_string();
        }
        if let Some(rest) = line.split("include_str!(\"../").nth(1) {
            files.push(rest.split('"').next().unwrap_or_default().to_string());
        }
        if files.len() == 2 {
            let [policies, cluster] = [&files[0], &files[1]];
            out.push(Input {
                name: format!("example/{key}"),
                sources: vec![
                    ("policies".into(), read(&dir.join(policies))),
                    ("cluster".into(), read(&dir.join(cluster))),
                ],
            });
            files.clear();
        }
    }
    assert!(out.len() >= 6, "examples menu: {} entries", out.len());
    out
}

/// `/work/shared/examples`, or the playground's verbatim copies in a bare clone.
fn shared_examples() -> Vec<Input> {
    let shared = Path::new(ROOT).join("../../shared/examples");
    let dir = if shared.is_dir() {
        shared
    } else {
        Path::new(ROOT).join("../app/examples")
    };
    let file = |name: &str| (name.to_string(), read(&dir.join(name)));
    vec![
        Input {
            name: "shared/allow-same-namespace".into(),
            sources: vec![file("allow-same-namespace.yaml")],
        },
        Input {
            name: "shared/internal".into(),
            sources: vec![file("internal-policy.yaml"), file("internal-cluster.yaml")],
        },
        Input {
            name: "shared/all-three".into(),
            sources: vec![
                file("allow-same-namespace.yaml"),
                file("internal-cluster.yaml"),
                file("internal-policy.yaml"),
            ],
        },
    ]
}

fn case_paths(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() && !p.ends_with("fixtures") {
            case_paths(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

/// Every conformance case: cluster (or fixture) as the first source, policies second.
fn conformance_cases() -> Vec<Input> {
    let root = Path::new(ROOT).join("tests/cases");
    let mut paths = Vec::new();
    case_paths(&root, &mut paths);
    paths
        .iter()
        .map(|path| {
            let doc: serde_yaml::Value = serde_yaml::from_str(&read(path)).expect("a case is YAML");
            let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let cluster = match field("fixture") {
                Some(name) => read(&root.join("fixtures").join(format!("{name}.yaml"))),
                None => field("cluster").unwrap_or_default(),
            };
            let rel = path.strip_prefix(&root).unwrap_or(path).with_extension("");
            Input {
                name: format!("case/{}", rel.display()),
                sources: vec![
                    ("cluster".into(), cluster),
                    ("policies".into(), field("policies").unwrap_or_default()),
                ],
            }
        })
        .collect()
}

/// Every input, examples first.
pub fn every_input() -> Vec<Input> {
    let mut out = app_examples();
    out.extend(shared_examples());
    out.extend(conformance_cases());
    out
}
