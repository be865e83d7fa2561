//! `netpol diff --before PATH... --after PATH...`: what a change does to connectivity.
//!
//! The core computes and groups the changes ([`netpol_core::diff`]); this module renders
//! them as text (terminal), Markdown (a pull-request comment), CSV (one row per pair, for
//! spreadsheets and scripts) or JSON.

use std::io::Write;

use netpol_core::diff::{self, Change, ChangeKind, Diff, Party, Reason};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::Failure;

/// Output formats of `netpol diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped changes for a terminal.
    Text,
    /// Grouped changes with reasons.
    Json,
    /// A table for a pull-request comment.
    Markdown,
    /// One row per changed pair.
    Csv,
}

/// Diffs and prints. Never fails on its own (the exit code reflects input errors only).
pub fn run(
    before: &Inputs,
    after: &Inputs,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let d = diff::diff(&before.model, &after.model);
    match format {
        Format::Text => text(&d, out),
        Format::Markdown => markdown(&d, out),
        Format::Csv => csv(&d, out),
        Format::Json => {
            let doc = to_json(&d);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
            Ok(())
        }
    }
}

fn kind_word(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

fn parties(v: &[Party]) -> String {
    v.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `+TCP 9090 -UDP 53`, the change in ports.
fn delta(c: &Change) -> String {
    let mut parts = Vec::new();
    if !c.added.is_empty() {
        parts.push(format!("+{}", c.added));
    }
    if !c.removed.is_empty() {
        parts.push(format!("-{}", c.removed));
    }
    parts.join(" ")
}

fn reason_line(r: &Reason) -> String {
    format!(
        "{}: {} ({})",
        r.flow_text,
        if r.allowed { "allowed" } else { "denied" },
        r.summary
    )
}

fn summary(d: &Diff) -> String {
    let count = |k| d.changes.iter().filter(|c| c.kind == k).count();
    format!(
        "{} changed pair{} in {} group{} ({} added, {} removed, {} changed); endpoints: {} added, {} removed",
        d.changed_pairs,
        if d.changed_pairs == 1 { "" } else { "s" },
        d.changes.len(),
        if d.changes.len() == 1 { "" } else { "s" },
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
        count(ChangeKind::Changed),
        d.added_endpoints.len(),
        d.removed_endpoints.len()
    )
}

fn text(d: &Diff, out: &mut dyn Write) -> Result<(), Failure> {
    for id in &d.added_endpoints {
        writeln!(out, "+ endpoint {id}")?;
    }
    for id in &d.removed_endpoints {
        writeln!(out, "- endpoint {id}")?;
    }
    if d.changes.is_empty() {
        writeln!(out, "no connection changed")?;
    }
    for c in &d.changes {
        writeln!(out, "{} {}", kind_word(c.kind), delta(c))?;
        writeln!(out, "  from {}", parties(&c.sources))?;
        writeln!(out, "  to   {}", parties(&c.destinations))?;
        writeln!(out, "  before: {}", c.before)?;
        writeln!(out, "    {}", reason_line(&c.before_reason))?;
        writeln!(out, "  after:  {}", c.after)?;
        writeln!(out, "    {}", reason_line(&c.after_reason))?;
    }
    writeln!(out, "{}", summary(d))?;
    Ok(())
}

/// Escapes `|` so a cell cannot break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn markdown(d: &Diff, out: &mut dyn Write) -> Result<(), Failure> {
    writeln!(out, "### Connectivity changes\n")?;
    writeln!(out, "{}\n", summary(d))?;
    for id in &d.added_endpoints {
        writeln!(out, "- new endpoint `{id}`")?;
    }
    for id in &d.removed_endpoints {
        writeln!(out, "- removed endpoint `{id}`")?;
    }
    if !d.added_endpoints.is_empty() || !d.removed_endpoints.is_empty() {
        writeln!(out)?;
    }
    if d.changes.is_empty() {
        writeln!(out, "No connection changed.")?;
        return Ok(());
    }
    writeln!(out, "| change | from | to | ports | before | after |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for c in &d.changes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            kind_word(c.kind),
            cell(&parties(&c.sources)),
            cell(&parties(&c.destinations)),
            cell(&delta(c)),
            cell(&c.before_reason.summary),
            cell(&c.after_reason.summary)
        )?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(d: &Diff, out: &mut dyn Write) -> Result<(), Failure> {
    writeln!(out, "change,from,to,before,after,added,removed")?;
    for id in &d.added_endpoints {
        writeln!(out, "endpoint-added,{},,,,,", csv_field(id))?;
    }
    for id in &d.removed_endpoints {
        writeln!(out, "endpoint-removed,{},,,,,", csv_field(id))?;
    }
    for c in &d.changes {
        for s in &c.sources {
            for t in &c.destinations {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    kind_word(c.kind),
                    csv_field(&s.to_string()),
                    csv_field(&t.to_string()),
                    csv_field(&c.before.to_string()),
                    csv_field(&c.after.to_string()),
                    csv_field(&c.added.to_string()),
                    csv_field(&c.removed.to_string()),
                )?;
            }
        }
    }
    Ok(())
}

fn party_json(p: &Party) -> Value {
    match p {
        Party::Endpoint(id) => json!({"endpoint": id}),
        Party::Address { label, ip } => json!({"address": label, "representative": ip.to_string()}),
    }
}

fn ports_json(p: &netpol_core::AllowedPorts) -> Value {
    json!({"tcp": p.tcp.ranges, "udp": p.udp.ranges, "sctp": p.sctp.ranges})
}

fn reason_json(r: &Reason) -> Value {
    json!({"flow": r.flow_text, "allowed": r.allowed, "summary": r.summary})
}

fn to_json(d: &Diff) -> Value {
    json!({
        "added_endpoints": d.added_endpoints,
        "removed_endpoints": d.removed_endpoints,
        "changed_pairs": d.changed_pairs,
        "changes": d.changes.iter().map(|c| json!({
            "kind": kind_word(c.kind),
            "from": c.sources.iter().map(party_json).collect::<Vec<_>>(),
            "to": c.destinations.iter().map(party_json).collect::<Vec<_>>(),
            "before": ports_json(&c.before),
            "after": ports_json(&c.after),
            "added": ports_json(&c.added),
            "removed": ports_json(&c.removed),
            "before_reason": reason_json(&c.before_reason),
            "after_reason": reason_json(&c.after_reason),
        })).collect::<Vec<_>>(),
    })
}
