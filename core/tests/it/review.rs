//! The review tools (lint, semantic diff, assertions), driven by data files under
//! `core/tests/review/<tool>/*.yaml`.
//!
//! Lint: every code of `netpol_core::lint::CODES` must have a case where it fires and a
//! near-miss where it must not, so a new check cannot land untested. Every case checks one
//! code; the whole finding list is also checked for deterministic, position-sorted order.

use std::path::{Path, PathBuf};

use netpol_core::lint::{self, Options};
use netpol_core::{assert, diff};
use netpol_core::{load, Diagnostic, FileId, Model};
use serde::Deserialize;

const REVIEW_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/review");

/// Parse diagnostics the lint cases also pin (they come from the parser, but lint must
/// surface them).
const PARSE_CODES: &[&str] = &["ignored-rules", "invalid-port", "unknown-field"];

fn files(tool: &str) -> Vec<PathBuf> {
    let dir = Path::new(REVIEW_DIR).join(tool);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.sort();
    out
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).expect("readable case");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cluster text is `FileId(0)`, the policies `FileId(1)`.
fn model(cluster: Option<&str>, policies: &str) -> Model {
    let mut sources: Vec<(FileId, &str)> = Vec::new();
    if let Some(c) = cluster {
        sources.push((FileId(0), c));
    }
    sources.push((FileId(1), policies));
    load(&sources)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintCase {
    description: String,
    cluster: Option<String>,
    policies: String,
    options: Option<LintOptions>,
    lint: LintExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintOptions {
    max_pods: Option<usize>,
    max_variants: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintExpect {
    /// The code this case is about.
    code: String,
    /// Whether a finding with this code (and message substring, and line) must exist.
    fires: bool,
    message: Option<String>,
    line: Option<u32>,
}

fn matches(f: &Diagnostic, want: &LintExpect) -> bool {
    f.code == want.code
        && want.message.as_ref().is_none_or(|m| f.message.contains(m))
        && want
            .line
            .is_none_or(|l| f.span.is_some_and(|s| s.line == l))
}

fn render(findings: &[Diagnostic]) -> String {
    findings
        .iter()
        .map(|f| {
            let at = f
                .span
                .map_or("-".to_string(), |s| format!("{}:{}", s.file.0, s.line));
            format!("  {} [{at}] {}\n", f.code, f.message)
        })
        .collect()
}

#[test]
fn lint_cases() {
    let mut failures = Vec::new();
    let mut fired: Vec<String> = Vec::new();
    let mut missed: Vec<String> = Vec::new();
    let cases = files("lint");
    assert!(cases.len() >= 30, "only {} lint cases", cases.len());
    for path in &cases {
        let case: LintCase = read(path);
        assert!(!case.description.trim().is_empty(), "{}", path.display());
        let model = model(case.cluster.as_deref(), &case.policies);
        let mut options = Options::default();
        if let Some(o) = &case.options {
            options.max_pods = o.max_pods.unwrap_or(options.max_pods);
            options.max_variants = o.max_variants.unwrap_or(options.max_variants);
        }
        let findings = lint::lint_with(&model, &options);
        let found = findings.iter().any(|f| matches(f, &case.lint));
        if found != case.lint.fires {
            failures.push(format!(
                "{}: expected {} {}{} but got:\n{}",
                path.display(),
                if case.lint.fires { "a" } else { "no" },
                case.lint.code,
                case.lint
                    .message
                    .as_ref()
                    .map_or(String::new(), |m| format!(" containing {m:?}")),
                render(&findings)
            ));
        }
        if case.lint.fires {
            fired.push(case.lint.code.clone());
        } else {
            missed.push(case.lint.code.clone());
        }
        // Deterministic order: sorted by position, and the same on a second run.
        let keys: Vec<_> = findings
            .iter()
            .map(|f| f.span.map(|s| (s.file, s.start, s.end)))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{}: findings not sorted", path.display());
        assert_eq!(findings, lint::lint_with(&model, &options));
        for f in &findings {
            assert!(
                f.message.chars().next().is_some_and(|c| !c.is_uppercase())
                    && !f.message.ends_with('.'),
                "{}: message style: {}",
                path.display(),
                f.message
            );
        }
    }
    let codes = lint::CODES
        .iter()
        .map(|(c, _, _)| *c)
        .chain(PARSE_CODES.iter().copied());
    for code in codes {
        if !fired.iter().any(|c| c == code) {
            failures.push(format!("no case where {code} fires"));
        }
        if !missed.iter().any(|c| c == code) {
            failures.push(format!("no near-miss case for {code}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lint_examples_are_stable() {
    // The playground's verbatim copies of the three shared examples.
    const SHARED_EXAMPLES: [&str; 3] = [
        "allow-same-namespace.yaml",
        "internal-cluster.yaml",
        "internal-policy.yaml",
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/examples");
    let entries = std::fs::read_dir(dir).expect("app/examples exists");
    let mut texts: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            SHARED_EXAMPLES.contains(&name)
        })
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert_eq!(texts.len(), 3, "the shared examples are in app/examples");
    texts.sort();
    let sources: Vec<(FileId, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (FileId(i as u32), t.as_str()))
        .collect();
    let model = load(&sources);
    let findings = lint::lint(&model);
    // allow-same-namespace.yaml allows app=frontend, and no such pod exists in the
    // internal-cluster snapshot.
    assert!(
        findings.iter().any(|f| f.code == "peer-selects-nothing"),
        "{}",
        render(&findings)
    );
    // internal-policy.yaml allows DNS over both protocols.
    assert!(!findings.iter().any(|f| f.code == "egress-without-dns"));
}

// ---------------------------------------------------------------------------------------
// Assertions: `core/tests/review/assert/*.yaml` hold a cluster, policies, a spec (the CI
// format, as text) and the expected result of each expectation, in order.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertCase {
    description: String,
    cluster: Option<String>,
    policies: String,
    spec: String,
    results: Vec<AssertExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertExpect {
    passed: bool,
    violations: Option<usize>,
    /// Substring of the first violation's explanation.
    explanation: Option<String>,
    /// Substring of the problem (selector selects nothing, unknown id).
    problem: Option<String>,
    /// Substring of the first violation's note.
    note: Option<String>,
}

#[test]
fn assertion_cases() {
    let cases = files("assert");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for path in &cases {
        let case: AssertCase = read(path);
        assert!(!case.description.trim().is_empty());
        let model = model(case.cluster.as_deref(), &case.policies);
        let spec: assert::Spec = serde_yaml::from_str(&case.spec)
            .unwrap_or_else(|e| panic!("{}: spec: {e}", path.display()));
        let outcomes = assert::check(&model, &spec);
        assert_eq!(
            outcomes.len(),
            case.results.len(),
            "{}: one result per expectation",
            path.display()
        );
        for (got, want) in outcomes.iter().zip(&case.results) {
            let first = got.violations.first().map(|v| v.explanation.as_str());
            let ok = got.passed == want.passed
                && want.violations.is_none_or(|n| n == got.violation_count)
                && want
                    .explanation
                    .as_ref()
                    .is_none_or(|s| first.is_some_and(|e| e.contains(s.as_str())))
                && want.note.as_ref().is_none_or(|s| {
                    got.violations
                        .first()
                        .and_then(|v| v.note.as_ref())
                        .is_some_and(|n| n.contains(s.as_str()))
                })
                && want
                    .problem
                    .as_ref()
                    .is_none_or(|s| got.problem.as_ref().is_some_and(|p| p.contains(s.as_str())));
            if !ok {
                failures.push(format!(
                    "{}: `{}`: expected {want:?}, got passed={} violations={} problem={:?}\n{}",
                    path.display(),
                    got.name,
                    got.passed,
                    got.violation_count,
                    got.problem,
                    first.unwrap_or("")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_specs_are_refused_with_the_expectation_name() {
    let table: &[(&str, &str)] = &[
        (
            "expectations:\n- {name: a, from: x/a, to: x/b, expcet: allowed}",
            "unknown field `expcet`",
        ),
        (
            "expectations:\n- {name: both, to: x/b, expect: allowed, only_from: x/a}",
            "expectation `both`: give exactly one of",
        ),
        (
            "expectations:\n- {name: p, from: x/a, to: x/b, port: 80/ICMP, expect: allowed}",
            "expectation `p`: unknown protocol `ICMP`",
        ),
        (
            "expectations:\n- {name: s, from: {ip: nope}, to: x/b, expect: denied}",
            "`nope` is not an IP address",
        ),
    ];
    for (text, want) in table {
        let err = serde_yaml::from_str::<assert::Spec>(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{text}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// Semantic diff: `core/tests/review/diff/*.yaml` hold a cluster (optionally another one
// after), policies before and after, and the expected grouped changes as one line each:
// `<kind> <sources> -> <destinations>: +<added> -<removed>` (empty sides left out).
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffCase {
    description: String,
    cluster: String,
    cluster_after: Option<String>,
    before: String,
    after: String,
    expect: DiffExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffExpect {
    changes: Vec<String>,
    added_endpoints: Option<Vec<String>>,
    removed_endpoints: Option<Vec<String>>,
    changed_pairs: Option<usize>,
    /// `before: <substring>` / `after: <substring>` of the first change's reasons.
    reasons: Option<Vec<String>>,
}

fn change_line(c: &diff::Change) -> String {
    let kind = match c.kind {
        diff::ChangeKind::Added => "added",
        diff::ChangeKind::Removed => "removed",
        diff::ChangeKind::Changed => "changed",
    };
    let names = |v: &[diff::Party]| {
        v.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!(
        "{kind} {} -> {}:",
        names(&c.sources),
        names(&c.destinations)
    );
    if !c.added.is_empty() {
        s.push_str(&format!(" +{}", c.added));
    }
    if !c.removed.is_empty() {
        s.push_str(&format!(" -{}", c.removed));
    }
    s
}

#[test]
fn diff_cases() {
    let cases = files("diff");
    assert!(cases.len() >= 4);
    let mut failures = Vec::new();
    for path in &cases {
        let case: DiffCase = read(path);
        assert!(!case.description.trim().is_empty());
        let before = model(Some(&case.cluster), &case.before);
        let after = model(
            Some(case.cluster_after.as_deref().unwrap_or(&case.cluster)),
            &case.after,
        );
        let d = diff::diff(&before, &after);
        let got: Vec<String> = d.changes.iter().map(change_line).collect();
        let mut problems = Vec::new();
        if got != case.expect.changes {
            problems.push(format!("changes: {got:#?}"));
        }
        if let Some(want) = &case.expect.added_endpoints {
            if *want != d.added_endpoints {
                problems.push(format!("added endpoints: {:?}", d.added_endpoints));
            }
        }
        if let Some(want) = &case.expect.removed_endpoints {
            if *want != d.removed_endpoints {
                problems.push(format!("removed endpoints: {:?}", d.removed_endpoints));
            }
        }
        if let Some(want) = case.expect.changed_pairs {
            if want != d.changed_pairs {
                problems.push(format!("changed pairs: {}", d.changed_pairs));
            }
        }
        for r in case.expect.reasons.iter().flatten() {
            let Some(first) = d.changes.first() else {
                problems.push("no change to check reasons on".into());
                break;
            };
            let ok = match r.split_once(": ") {
                Some(("before", s)) => first.before_reason.summary.contains(s),
                Some(("after", s)) => first.after_reason.summary.contains(s),
                _ => false,
            };
            if !ok {
                problems.push(format!(
                    "reason {r:?}; got before: {:?}, after: {:?}",
                    first.before_reason.summary, first.after_reason.summary
                ));
            }
        }
        // The diff is symmetric: swapping sides swaps added and removed.
        let back = diff::diff(&after, &before);
        if back.changed_pairs != d.changed_pairs {
            problems.push(format!("reverse diff has {} pairs", back.changed_pairs));
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n{}", path.display(), problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn diff_of_a_model_with_itself_is_empty() {
    let generated = netpol_core::generate::generate(60, 30, 7);
    let m = load(&[(FileId(0), generated.as_str())]);
    let d = diff::diff(&m, &m);
    assert!(d.changes.is_empty() && d.changed_pairs == 0);
    assert!(d.added_endpoints.is_empty() && d.removed_endpoints.is_empty());
}

/// Every input of the conformance suite (valid and broken) goes through lint and diff: no
/// panics, deterministic output, and a diff against the empty model removes exactly the
/// endpoints.
#[test]
fn review_tools_are_total_on_every_conformance_input() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"),
        &mut paths,
    );
    paths.sort();
    assert!(paths.len() > 50, "{} conformance files", paths.len());
    let empty = Model::default();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
            continue;
        };
        let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let policies = field("policies").unwrap_or_default();
        let m = model(field("cluster").as_deref(), &policies);
        let findings = lint::lint(&m);
        assert_eq!(findings, lint::lint(&m), "{}", path.display());
        let d = diff::diff(&m, &empty);
        assert_eq!(d.removed_endpoints.len(), m.cluster.pods.len());
        assert!(d.changes.is_empty(), "{}", path.display());
        let same = diff::diff(&m, &m);
        assert_eq!(same.changed_pairs, 0, "{}", path.display());
    }
}

// ---------------------------------------------------------------------------------------
// A lint that never cries wolf: the complete finding set of every example and every
// conformance case, pinned as rendered text. Every line of the snapshot was read and judged
// true when it was accepted; a change to lint shows here as a diff to read again.
// ---------------------------------------------------------------------------------------

/// `source:line severity code: message`, one finding per line, under a heading per input.
fn render_findings(name: &str, labels: &[String], findings: &[Diagnostic]) -> String {
    let mut out = format!("## {name}\n");
    if findings.is_empty() {
        out.push_str("(no findings)\n");
    }
    for f in findings {
        let at = f.span.map_or("-".to_string(), |s| {
            let label = labels.get(s.file.0 as usize).map_or("?", String::as_str);
            format!("{label}:{}", s.line)
        });
        let severity = match f.severity {
            netpol_core::Severity::Error => "error",
            netpol_core::Severity::Warning => "warning",
            netpol_core::Severity::Info => "info",
        };
        out.push_str(&format!("{at} {severity} {}: {}\n", f.code, f.message));
    }
    out
}

#[test]
fn lint_findings_of_every_example_and_case_are_pinned() {
    let mut text = String::new();
    for input in crate::corpus::every_input() {
        let labels: Vec<String> = input.sources.iter().map(|(l, _)| l.clone()).collect();
        let findings = lint::lint(&input.model());
        text.push_str(&render_findings(&input.name, &labels, &findings));
        text.push('\n');
    }
    insta::assert_snapshot!(text);
}
