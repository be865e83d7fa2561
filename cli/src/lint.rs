//! `netpol lint`: the core's lint findings, rendered for a terminal (miette) or as JSON.
//!
//! The findings are the product here, so they go to stdout (unlike the other commands,
//! which print diagnostics to stderr next to their result). Parse diagnostics are findings
//! too, so they are not printed a second time.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use netpol_core::lint::Finding;
use netpol_core::{Severity, Span};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::Failure;

/// When a lint run fails (exit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deny {
    /// Warnings fail too (`--deny warnings`).
    pub warnings: bool,
}

/// Lints the inputs and prints the findings. Returns whether the run failed: an error
/// finding (or an unreadable file), or a warning under `--deny warnings`.
pub fn run(
    inputs: &Inputs,
    json_output: bool,
    deny: Deny,
    out: &mut dyn Write,
) -> Result<bool, Failure> {
    let mut findings: Vec<Finding> = inputs
        .unreadable
        .iter()
        .map(|u| Finding {
            code: "not-utf8",
            severity: Severity::Error,
            message: u.message.clone(),
            span: None,
            help: Some(format!("convert {} to UTF-8", u.name)),
            related: Vec::new(),
        })
        .collect();
    findings.extend(netpol_core::lint::lint(&inputs.model));
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
        let handler = handler();
        for f in &findings {
            let mut text = String::new();
            let rendered = Rendered::new(inputs, f);
            if handler.render_report(&mut text, &rendered).is_err() {
                text = format!("{}: {}\n", f.code, f.message);
            }
            writeln!(out, "{text}")?;
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

fn finding_json(inputs: &Inputs, f: &Finding) -> Value {
    json!({
        "code": f.code,
        "severity": severity_word(f.severity),
        "message": f.message,
        "span": f.span.as_ref().map(|s| span_json(inputs, s)),
        "help": f.help,
        "related": f.related.iter().map(|s| span_json(inputs, s)).collect::<Vec<_>>(),
    })
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Colours only on a terminal without `NO_COLOR`, as for the other commands.
fn handler() -> GraphicalReportHandler {
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
}

/// A finding joined with the text it points into. Related spans are shown as secondary
/// labels when they are in the same file as the primary span (miette shows one source).
#[derive(Debug)]
struct Rendered<'a> {
    finding: &'a Finding,
    source: Option<NamedSource<Arc<str>>>,
    text_len: usize,
}

impl<'a> Rendered<'a> {
    fn new(inputs: &Inputs, finding: &'a Finding) -> Self {
        let src = finding.span.and_then(|s| inputs.source(s.file));
        Rendered {
            finding,
            source: src.map(|s| NamedSource::new(&s.name, Arc::clone(&s.text))),
            text_len: src.map_or(0, |s| s.text.len()),
        }
    }

    fn label(&self, span: &Span, primary: bool, text: Option<String>) -> LabeledSpan {
        let start = (span.start as usize).min(self.text_len);
        let end = (span.end as usize).clamp(start, self.text_len);
        let at = SourceSpan::new(start.into(), end - start);
        if primary {
            LabeledSpan::new_primary_with_span(text, at)
        } else {
            LabeledSpan::new_with_span(text, at)
        }
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.finding.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.finding
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let primary = self.finding.span?;
        let mut labels = vec![self.label(&primary, true, None)];
        for r in &self.finding.related {
            if r.file == primary.file {
                labels.push(self.label(r, false, Some("related".into())));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
}
