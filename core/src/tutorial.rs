//! Guided tutorials: content as data, checked live with the engine.
//!
//! Each tutorial is a YAML file under `core/tutorials/` (compiled in, so the playground
//! has them without fetching anything): a cluster (compact form), the text the Policies
//! editor starts with, and steps. A step states a goal, is checked with the expectation
//! format of `netpol test` ([`crate::assert`]), and carries hints: one per expectation
//! that typically fails after a wrong try, and a general one. Every step has a reference
//! solution (the whole Policies text after it), which the tests check against its own
//! step — and the start text, which must fail the first step.
//!
//! Front-ends call [`all`], build the model of what the user wrote with
//! [`Tutorial::model`] and ask [`check_step`] after every edit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assert::{self, Outcome, Spec};
use crate::diagnostic::{FileId, Severity};
use crate::model::Model;
use crate::render;

/// The Policies text is `FileId(0)` and the cluster `FileId(1)`, as in the playground.
pub const POLICIES: FileId = FileId(0);
/// See [`POLICIES`].
pub const CLUSTER: FileId = FileId(1);

/// The tutorials' texts, in order.
const SOURCES: [(&str, &str); 5] = [
    (
        "1-default-deny.yaml",
        include_str!("../tutorials/1-default-deny.yaml"),
    ),
    ("2-dns.yaml", include_str!("../tutorials/2-dns.yaml")),
    (
        "3-frontend-backend.yaml",
        include_str!("../tutorials/3-frontend-backend.yaml"),
    ),
    (
        "4-namespace-labels.yaml",
        include_str!("../tutorials/4-namespace-labels.yaml"),
    ),
    (
        "5-ipblock-except.yaml",
        include_str!("../tutorials/5-ipblock-except.yaml"),
    ),
];

/// One tutorial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tutorial {
    /// Stable id, for links and saved progress.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it teaches, in a paragraph.
    pub summary: String,
    /// The cluster (compact form), fixed for the whole tutorial.
    pub cluster: String,
    /// What the Policies editor starts with.
    pub policies: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a tutorial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to achieve ("now make frontend reach api on 8080 and nothing else").
    pub goal: String,
    /// What to do, shown after a wrong try when no specific hint applies.
    pub hint: String,
    /// Hints for the usual mistakes, by the name of the expectation they make fail.
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
    /// The expectations that must hold.
    pub check: Spec,
    /// A reference solution: the whole Policies text after this step.
    pub solution: String,
}

/// What [`check_step`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// Whether every expectation of the step holds (and the policies have no errors).
    pub passed: bool,
    /// One line per failed expectation: its name and what went wrong.
    pub failures: Vec<String>,
    /// What to try next: the hint for the first failed expectation that has one, else the
    /// step's general hint; `None` when passed.
    pub hint: Option<String>,
}

/// Every tutorial, in order. An error names the tutorial file and line (only possible
/// if a tutorial file is broken, which the tests rule out).
pub fn all() -> Result<Vec<Tutorial>, String> {
    SOURCES
        .iter()
        .enumerate()
        .map(|(i, (name, text))| {
            crate::syntax::data::from_yaml(FileId(i as u32), text).map_err(|d| {
                let line = d.span.map_or(0, |s| s.line);
                format!("tutorial {name}, line {line}: {}", d.message)
            })
        })
        .collect()
}

impl Tutorial {
    /// The model of `policies` (the Policies editor's text) on this tutorial's cluster.
    pub fn model(&self, policies: &str) -> Model {
        crate::load(&[(POLICIES, policies), (CLUSTER, &self.cluster)])
    }
}

/// Checks `step` against `model` (see [`Tutorial::model`]).
pub fn check_step(model: &Model, step: &Step) -> StepResult {
    let errors: Vec<String> = model
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| match d.span {
            Some(s) => format!("line {}: {}", s.line, d.message),
            None => d.message.clone(),
        })
        .collect();
    if !errors.is_empty() {
        return StepResult {
            passed: false,
            failures: errors,
            hint: Some(
                "fix the errors in the policies first; they are marked in the editor".to_string(),
            ),
        };
    }
    let outcomes = assert::check(model, &step.check);
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    let failures = failed.iter().map(|o| failure(model, o)).collect();
    let hint = (!failed.is_empty()).then(|| {
        failed
            .iter()
            .find_map(|o| step.hints.get(&o.name))
            .unwrap_or(&step.hint)
            .clone()
    });
    StepResult {
        passed: failed.is_empty(),
        failures,
        hint,
    }
}

/// `name: from -> to on 9100/TCP should be denied, but TCP 9100 is allowed`.
fn failure(model: &Model, outcome: &Outcome) -> String {
    if let Some(problem) = &outcome.problem {
        return format!("{}: {problem}", outcome.name);
    }
    let Some(v) = outcome.violations.first() else {
        return outcome.name.clone();
    };
    let word = match v.expected {
        assert::Expect::Allowed => "allowed",
        assert::Expect::Denied => "denied",
    };
    format!(
        "{}: {} -> {} on {}/{} should be {word}; allowed between them: {}",
        outcome.name,
        render::endpoint_name(model, &v.flow.src),
        render::endpoint_name(model, &v.flow.dst),
        v.flow.port,
        v.flow.protocol,
        v.allowed
    )
}
