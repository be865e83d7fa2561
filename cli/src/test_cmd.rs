//! `netpol test SPEC.yaml PATH...`: connectivity assertions for CI.
//!
//! The spec format and its meaning live in `netpol_core::assert` (so the playground can share
//! them); this module reads the file, turns YAML errors into diagnostics with the spec's
//! file:line, and prints each expectation as PASS/FAIL with the offending connections and
//! their explanations.

use std::io::Write;
use std::sync::Arc;

use miette::{miette, LabeledSpan, NamedSource};
use netpol_core::assert::{self, Expect, Outcome, Spec};
use netpol_core::render;
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::Failure;

/// Reads and parses the spec. A spec that cannot be read or parsed is a usage error (exit 2)
/// pointing at its line.
pub fn load_spec(path: &str) -> Result<Spec, miette::Report> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        miette!(
            help = "pass the assertion spec (YAML) first",
            "cannot read spec {path}: {e}"
        )
    })?;
    let mut spec: Spec = match serde_yaml::from_str(&text) {
        Ok(spec) => spec,
        Err(e) => {
            let message = e.to_string();
            let offset = e.location().map(|l| l.index()).unwrap_or(0).min(text.len());
            let report = miette!(
                code = "invalid-spec",
                labels = vec![LabeledSpan::at_offset(offset, "here")],
                help = "see docs/review.md for the spec format",
                "invalid assertion spec: {}",
                lowercase_first(&message)
            )
            .with_source_code(NamedSource::new(path, Arc::<str>::from(text.as_str())));
            return Err(report);
        }
    };
    for e in &mut spec.expectations {
        e.line = line_of(&text, &e.name);
    }
    Ok(spec)
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// 1-based line of `name: <name>` in the spec text (0 if not found, e.g. flow style with
/// unusual quoting).
fn line_of(text: &str, name: &str) -> u32 {
    text.lines()
        .position(|l| {
            l.split_once("name:").is_some_and(|(_, rest)| {
                let v = rest.trim().trim_end_matches(['}', ',']).trim();
                v.trim_matches(|c| c == '"' || c == '\'') == name
            })
        })
        .map_or(0, |i| i as u32 + 1)
}

/// Checks the spec and prints the results. Returns whether anything failed.
pub fn run(
    inputs: &Inputs,
    spec_path: &str,
    spec: &Spec,
    json_output: bool,
    out: &mut dyn Write,
) -> Result<bool, Failure> {
    let outcomes = assert::check(&inputs.model, spec);
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    if json_output {
        let results: Vec<Value> = outcomes.iter().map(|o| outcome_json(inputs, o)).collect();
        let doc = json!({
            "spec": spec_path,
            "results": results,
            "summary": {"passed": passed, "failed": failed},
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
    } else {
        for o in &outcomes {
            let at = if o.line > 0 {
                format!(" ({spec_path}:{})", o.line)
            } else {
                String::new()
            };
            if o.passed {
                writeln!(out, "PASS  {}{at}", o.name)?;
                continue;
            }
            match &o.problem {
                Some(problem) => writeln!(out, "FAIL  {}{at}: {problem}", o.name)?,
                None => writeln!(
                    out,
                    "FAIL  {}{at}: {} offending, {} checked",
                    o.name, o.violation_count, o.checked
                )?,
            }
            for v in &o.violations {
                writeln!(
                    out,
                    "  expected {} on {}/{}; allowed between them: {}",
                    expect_word(v.expected),
                    v.flow.port,
                    v.flow.protocol,
                    v.allowed
                )?;
                if let Some(note) = &v.note {
                    writeln!(out, "  note: {note}")?;
                }
                for line in v.explanation.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            if o.violation_count > o.violations.len() {
                writeln!(
                    out,
                    "  ... and {} more",
                    o.violation_count - o.violations.len()
                )?;
            }
        }
        writeln!(out, "{passed} passed, {failed} failed")?;
    }
    Ok(failed > 0)
}

fn expect_word(e: Expect) -> &'static str {
    match e {
        Expect::Allowed => "allowed",
        Expect::Denied => "denied",
    }
}

fn outcome_json(inputs: &Inputs, o: &Outcome) -> Value {
    let model = &inputs.model;
    json!({
        "name": o.name,
        "line": o.line,
        "passed": o.passed,
        "checked": o.checked,
        "violation_count": o.violation_count,
        "problem": o.problem,
        "violations": o.violations.iter().map(|v| json!({
            "from": render::endpoint_name(model, &v.flow.src),
            "to": render::endpoint_name(model, &v.flow.dst),
            "port": v.flow.port,
            "protocol": v.flow.protocol.as_str(),
            "expected": expect_word(v.expected),
            "allowed": v.allowed,
            "explanation": v.explanation,
            "note": v.note,
        })).collect::<Vec<_>>(),
    })
}
