//! `netpol lint`: the core's lint findings, rendered for a terminal (miette) or as JSON.
//!
//! The findings are the product here, so they go to stdout (unlike the other commands,
//! which print diagnostics to stderr next to their result). Findings are the core's
//! `Diagnostic`s and include the parse diagnostics, so those are not printed a second time.

use std::io::Write;

use netpol_core::{Diagnostic, Model, Related, Severity, Span};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::report;
use crate::Failure;

/// When a lint run fails (exit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deny {
    /// Warnings fail too (`--deny warnings`).
    pub warnings: bool,
}

/// What of the findings the text and JSON show.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shown<'a> {
    /// `--namespace`: only the findings about objects of this namespace (the lint itself
    /// sees everything).
    pub namespace: Option<&'a str>,
    /// `--verbose`: every `ignored-kind` finding in the text, instead of one `ignored:` line
    /// that sums them up by kind (JSON always has every finding shown).
    pub verbose: bool,
}

/// Lints the inputs and prints the findings `shown` selects. Returns whether the run failed:
/// an error finding (or an unreadable file), or a warning under `--deny warnings`, among
/// those of `--namespace`.
pub fn run(
    inputs: &Inputs,
    json_output: bool,
    deny: Deny,
    shown: Shown<'_>,
    out: &mut dyn Write,
) -> Result<bool, Failure> {
    let mut findings: Vec<Diagnostic> = inputs.unreadable.iter().map(|u| u.diagnostic()).collect();
    findings.extend(netpol_core::lint::lint(&inputs.model));
    let verbose = shown.verbose;
    if let Some(namespace) = shown.namespace {
        findings.retain(|f| shown_in(&inputs.model, f, namespace));
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if json_output {
        let items: Vec<Value> = findings.iter().map(|f| finding_json(inputs, f)).collect();
        let doc = json!({
            "findings": items,
            "summary": {"errors": errors, "warnings": warnings, "infos": infos},
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        writeln!(out, "{text}")?;
    } else {
        let handler = report::handler(true);
        let listed = findings
            .iter()
            .filter(|f| verbose || !report::is_ignored_kind(f));
        for f in listed {
            let mut text = String::new();
            let rendered = report::rendered(inputs, f);
            if handler.render_report(&mut text, &rendered).is_err() {
                text = format!("{}: {}\n", f.code, f.message);
            }
            writeln!(out, "{text}")?;
        }
        if let Some(line) = (!verbose)
            .then(|| report::ignored_summary(&inputs.model.cluster.ignored))
            .flatten()
        {
            writeln!(out, "{line}\n")?;
        }
        writeln!(
            out,
            "{} found: {}, {}, {}",
            if findings.is_empty() {
                "no problems"
            } else {
                "problems"
            },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(infos, "info")
        )?;
    }
    Ok(errors > 0 || (deny.warnings && warnings > 0))
}

/// Whether a finding shows under `--namespace`: it points into an object of that namespace,
/// or into no object the model knows (a file-level problem is everyone's).
fn shown_in(model: &Model, finding: &Diagnostic, namespace: &str) -> bool {
    let Some(span) = &finding.span else {
        return true;
    };
    let inside = |s: &Span| s.file == span.file && s.start <= span.start && span.end <= s.end;
    let owner = model
        .policies
        .iter()
        .find(|p| inside(&p.span))
        .map(|p| p.namespace.as_str())
        .or_else(|| {
            let pods = &model.cluster.pods;
            let pod = pods.iter().find(|p| p.span.as_ref().is_some_and(inside));
            pod.map(|p| p.namespace.as_str())
        })
        .or_else(|| {
            let namespaces = &model.cluster.namespaces;
            let ns = namespaces
                .iter()
                .find(|n| n.span.as_ref().is_some_and(inside));
            ns.map(|n| n.name.as_str())
        })
        .or_else(|| {
            let services = &model.cluster.services;
            let service = services
                .iter()
                .find(|s| s.span.as_ref().is_some_and(inside));
            service.map(|s| s.namespace.as_str())
        });
    owner.is_none_or(|owner| owner == namespace)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `{"file", "line", "column", "start", "end"}` for a span; the file is the path as given.
pub fn span_json(inputs: &Inputs, span: &Span) -> Value {
    json!({
        "file": inputs.source(span.file).map(|s| s.name.clone()),
        "line": span.line,
        "column": span.column,
        "start": span.start,
        "end": span.end,
    })
}

fn finding_json(inputs: &Inputs, f: &Diagnostic) -> Value {
    json!({
        "code": f.code,
        "severity": severity_word(f.severity),
        "message": f.message,
        "span": f.span.as_ref().map(|s| span_json(inputs, s)),
        "help": f.help,
        // Each related place is a span object, with a `label` key when it has a label.
        "related": f.related.iter().map(|r| related_json(inputs, r)).collect::<Vec<_>>(),
    })
}

fn related_json(inputs: &Inputs, related: &Related) -> Value {
    let mut value = span_json(inputs, &related.span);
    if let (Some(label), Value::Object(map)) = (&related.label, &mut value) {
        map.insert("label".into(), label.clone().into());
    }
    value
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}
