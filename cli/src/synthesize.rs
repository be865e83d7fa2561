//! `netpol synthesize SPEC CLUSTER... [--keep EXISTING]...`: least-privilege policies for
//! the required connections of a `netpol test` spec.
//!
//! The core writes and self-checks the policies (`netpol_core::synth::synthesize`); this
//! module prints them (YAML on stdout, or JSON) and the self-check on stderr: failed
//! expectations with their explanations, and every pair allowed beyond the spec, which
//! the core reports when it cannot be avoided.

use std::io::Write;

use netpol_core::assert::intent::Beyond;
use netpol_core::assert::{Outcome, Spec, DEFAULT_DENY};
use netpol_core::synth::{self, Options, Synthesis};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::Failure;

/// How many pairs beyond the spec are listed on stderr (JSON has them all).
const SHOWN: usize = 20;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The policies, multi-document YAML (kubectl apply -f).
    Yaml,
    /// The policies' YAML with the self-check, as JSON.
    Json,
}

/// Synthesizes, prints, and returns whether the self-check failed.
pub fn run(
    inputs: &Inputs,
    spec: &Spec,
    keep: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<bool, Failure> {
    let in_force = inputs.model.policies.len();
    if !keep && in_force > 0 {
        eprintln!(
            "note: {in_force} NetworkPolicies in the input stay in force; the output does not rely on them (pass them with --keep to build on them)"
        );
    }
    let synthesis = synth::synthesize(&inputs.model, spec, &Options { keep });
    match format {
        Format::Yaml => out.write_all(synthesis.text.as_bytes())?,
        Format::Json => {
            let doc = json!({
                "policies": synthesis.policies,
                "yaml": synthesis.text,
                "results": outcomes_json(&synthesis.check.outcomes),
                "beyond": beyond_json(&synthesis.check.beyond),
                "notes": synthesis.notes,
                "passed": synthesis.check.passed(),
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
        }
    }
    report_check(&synthesis);
    Ok(!synthesis.check.passed())
}

/// The self-check on stderr: notes, failed expectations, pairs beyond the spec.
fn report_check(synthesis: &Synthesis) {
    let check = &synthesis.check;
    let mut err = String::new();
    for note in &synthesis.notes {
        err.push_str(&format!("note: {note}\n"));
    }
    for d in &check.diagnostics {
        err.push_str(&format!(
            "error: the written policies do not parse back cleanly ({}: {}); please report this\n",
            d.code, d.message
        ));
    }
    let expectations: Vec<&Outcome> = check
        .outcomes
        .iter()
        .filter(|o| o.name != DEFAULT_DENY)
        .collect();
    let failed: Vec<&&Outcome> = expectations.iter().filter(|o| !o.passed).collect();
    for o in &failed {
        err.push_str(&failure_text(o));
    }
    err.push_str(&format!(
        "self-check: {} of {} expectations hold with the written policies\n",
        expectations.len() - failed.len(),
        expectations.len()
    ));
    err.push_str(&beyond_text(&check.beyond));
    eprint!("{err}");
}

fn failure_text(o: &Outcome) -> String {
    let mut text = match &o.problem {
        Some(problem) => format!("FAIL  {}: {problem}\n", o.name),
        None => format!("FAIL  {}: {} offending\n", o.name, o.violation_count),
    };
    for v in &o.violations {
        if let Some(note) = &v.note {
            text.push_str(&format!("  note: {note}\n"));
        }
        for line in v.explanation.lines() {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text
}

/// "allowed beyond the spec" with up to [`SHOWN`] pairs, or that nothing is.
pub fn beyond_text(beyond: &[Beyond]) -> String {
    if beyond.is_empty() {
        return "self-check: nothing else is allowed to or from the spec's namespaces (DNS aside)\n"
            .to_string();
    }
    let mut text = format!(
        "warning: {} pair{} allowed beyond the spec, which these policies cannot prevent:\n",
        beyond.len(),
        if beyond.len() == 1 { " is" } else { "s are" }
    );
    for b in beyond.iter().take(SHOWN) {
        text.push_str(&format!("  {} -> {}: {}\n", b.from, b.to, b.extra));
    }
    if beyond.len() > SHOWN {
        text.push_str(&format!(
            "  ... and {} more (-o json lists them all)\n",
            beyond.len() - SHOWN
        ));
    }
    text
}

/// Expectation results as `netpol test -o json` writes them, trimmed.
pub fn outcomes_json(outcomes: &[Outcome]) -> Vec<Value> {
    outcomes
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "passed": o.passed,
                "checked": o.checked,
                "violation_count": o.violation_count,
                "problem": o.problem,
            })
        })
        .collect()
}

/// Every pair beyond the spec: `{"from", "to", "tcp": [[first, last]], "udp", "sctp"}` of
/// the extra ports.
pub fn beyond_json(beyond: &[Beyond]) -> Vec<Value> {
    beyond
        .iter()
        .map(|b| {
            json!({
                "from": b.from,
                "to": b.to,
                "tcp": b.extra.tcp.ranges,
                "udp": b.extra.udp.ranges,
                "sctp": b.extra.sctp.ranges,
            })
        })
        .collect()
}
