//! `netpol freeze PATH...`: policies that allow exactly what the policies in force allow
//! now — a "lock in today's traffic" starting point to tighten.
//!
//! The core writes and checks them (`netpol_core::synth::freeze`); this module prints the
//! YAML (or JSON) and, on stderr, every pair whose allowed ports would differ: more
//! allowed (pods with identical labels that are treated differently today get the
//! union; exit 0 with a warning) or less (a bug; exit 1).

use std::io::Write;

use netpol_core::synth::{self, Freeze, PairChange};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::synthesize::Format;
use crate::Failure;

/// How many changed pairs are listed on stderr (JSON has them all).
const SHOWN: usize = 20;

/// Freezes, prints, and returns whether some pair would lose ports.
pub fn run(inputs: &Inputs, format: Format, out: &mut dyn Write) -> Result<bool, Failure> {
    let frozen = synth::freeze(&inputs.model);
    match format {
        Format::Yaml => out.write_all(frozen.text.as_bytes())?,
        Format::Json => {
            let doc = json!({
                "policies": frozen.policies,
                "yaml": frozen.text,
                "changes": changes_json(&frozen.changes),
                "changes_alongside": changes_json(&frozen.changes_alongside),
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
        }
    }
    report(&frozen);
    let lost = |changes: &[PairChange]| changes.iter().any(|c| !c.closed().is_empty());
    Ok(lost(&frozen.changes) || lost(&frozen.changes_alongside) || !frozen.diagnostics.is_empty())
}

fn report(frozen: &Freeze) {
    let mut err = String::new();
    for d in &frozen.diagnostics {
        err.push_str(&format!(
            "error: the written policies do not parse back cleanly ({}: {}); please report this\n",
            d.code, d.message
        ));
    }
    for (changes, how) in [
        (&frozen.changes, "instead of the policies in force"),
        (&frozen.changes_alongside, "next to the policies in force"),
    ] {
        if changes.is_empty() {
            err.push_str(&format!(
                "check: {} policies {how} allow exactly what is allowed now\n",
                frozen.policies.len()
            ));
            continue;
        }
        err.push_str(&format!(
            "warning: {how}, {} pair{} would change:\n",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        ));
        for c in changes.iter().take(SHOWN) {
            let (opened, closed) = (c.opened(), c.closed());
            let mut what = Vec::new();
            if !opened.is_empty() {
                what.push(format!("opens {opened}"));
            }
            if !closed.is_empty() {
                what.push(format!("closes {closed}"));
            }
            err.push_str(&format!("  {} -> {}: {}\n", c.from, c.to, what.join(", ")));
        }
        if changes.len() > SHOWN {
            err.push_str(&format!(
                "  ... and {} more (-o json lists them all)\n",
                changes.len() - SHOWN
            ));
        }
    }
    eprint!("{err}");
}

/// `{"from", "to", "before": {"tcp": [[first, last]], ...}, "after": {...}}` per pair.
fn changes_json(changes: &[PairChange]) -> Vec<Value> {
    let ports = |p: &netpol_core::AllowedPorts| json!({"tcp": p.tcp.ranges, "udp": p.udp.ranges, "sctp": p.sctp.ranges});
    changes
        .iter()
        .map(|c| json!({"from": c.from, "to": c.to, "before": ports(&c.before), "after": ports(&c.after)}))
        .collect()
}
