//! Terminal rendering of the core's diagnostics with miette: code, severity, message, the
//! source line with the span underlined, and the help text.
//!
//! The core's [`Diagnostic`] is plain data; this crate adapts it to `miette::Diagnostic` at
//! the edge, so the core stays free of any rendering dependency. It is the one renderer:
//! the CLI (`netpol`) and the node agent (`netpol-agent --dry-run`/`--once`) both print
//! diagnostics through it, so a broken file reads the same in both.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use netpol_core::{Diagnostic, Severity, Span};

/// A source text and the name it is shown under (a path, or `kind/namespace/name`).
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// Shown in the report's header, before the line and column.
    pub name: &'a str,
    /// The text the diagnostic's spans point into.
    pub text: &'a Arc<str>,
}

/// A core diagnostic (parse problem or lint finding) joined with the text it points into:
/// the one adapter from the core's plain data to `miette::Diagnostic`. Related places are
/// secondary labels when they are in the primary span's file (miette shows one source per
/// report).
#[derive(Debug)]
pub struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
    text_len: usize,
}

impl<'a> Rendered<'a> {
    /// Joins `diagnostic` with `source`, the text its primary span points into (`None`
    /// when it has no place in any text, or the text is not at hand).
    pub fn new(diagnostic: &'a Diagnostic, source: Option<Source<'_>>) -> Self {
        Rendered {
            diagnostic,
            source: source.map(|s| NamedSource::new(s.name, Arc::clone(s.text))),
            text_len: source.map_or(0, |s| s.text.len()),
        }
    }

    fn label(&self, span: &Span, primary: bool, text: Option<String>) -> LabeledSpan {
        // A span past the end of its text would make miette fail the whole report; clamp
        // it, so the message is printed even if the position is off.
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
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let primary = self.diagnostic.span?;
        let mut labels = vec![self.label(&primary, true, None)];
        for r in &self.diagnostic.related {
            if r.span.file == primary.file {
                let text = r.label.clone().unwrap_or_else(|| "related".into());
                labels.push(self.label(&r.span, false, Some(text)));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
}

/// The handler for reports written to stderr, or to stdout (`lint`, whose findings are its
/// result): colours only on a terminal without `NO_COLOR`, so redirected output and test
/// snapshots are plain text.
pub fn handler(to_stdout: bool) -> GraphicalReportHandler {
    let terminal = if to_stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    let colour = terminal && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
}

/// Renders any miette diagnostic (usage errors, or a [`Rendered`]) for stderr.
pub fn render_report(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    if handler(false).render_report(&mut out, diagnostic).is_err() {
        // The handler only fails on a broken `fmt::Write`; a String never is. Fall back to
        // the bare message rather than print nothing.
        out = diagnostic.to_string();
    }
    out
}

/// Renders one core diagnostic with its source for stderr.
pub fn render(diagnostic: &Diagnostic, source: Option<Source<'_>>) -> String {
    render_report(&Rendered::new(diagnostic, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpol_core::FileId;

    #[test]
    fn a_diagnostic_renders_with_its_file_line_and_source_line() {
        let text: Arc<str> = Arc::from("kind: NetworkPolicy\nspec:\n  policyTypes: [Ingress\n");
        let parsed = netpol_core::parse(FileId(0), &text);
        let error = parsed
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .expect("a syntax error");
        let out = render(
            error,
            Some(Source {
                name: "policies/deny.yaml",
                text: &text,
            }),
        );
        assert!(out.contains("yaml-syntax"), "{out}");
        assert!(out.contains("policies/deny.yaml:"), "{out}");
        assert!(out.contains("policyTypes: [Ingress"), "{out}");
        assert!(out.contains("help:"), "{out}");
    }
}
