//! Terminal rendering of the core's diagnostics with miette: code, severity, message, the
//! source line with the span underlined, and the help text.
//!
//! The core's [`Diagnostic`] is plain data; this module adapts it to `miette::Diagnostic`
//! at the edge, so the core stays free of any rendering dependency.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use netpol_core::{Diagnostic, Severity, Span};

use crate::input::Inputs;

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
    /// Joins `diagnostic` with the source text its primary span points into.
    pub fn new(inputs: &Inputs, diagnostic: &'a Diagnostic) -> Self {
        let src = diagnostic.span.and_then(|s| inputs.source(s.file));
        Rendered {
            diagnostic,
            source: src.map(|s| NamedSource::new(&s.name, Arc::clone(&s.text))),
            text_len: src.map_or(0, |s| s.text.len()),
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

/// Renders any miette diagnostic (used for usage errors) to a string.
pub fn render_report(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    if handler(false).render_report(&mut out, diagnostic).is_err() {
        // The handler only fails on a broken `fmt::Write`; a String never is. Fall back to
        // the bare message rather than print nothing.
        out = diagnostic.to_string();
    }
    out
}

/// Prints every diagnostic of the model (and every unreadable file) to stderr, in the
/// core's deterministic order. Without `verbose`, objects of kinds that do not affect
/// policy are summed up in one line (`ignored: 6 ConfigMap, 3 Secret`) instead of one
/// report each: a Helm chart or a repository has many of them, and they are not problems.
/// Returns whether any of them is an error.
pub fn print_diagnostics(inputs: &Inputs, verbose: bool) -> bool {
    let handler = handler(false);
    let mut had_errors = false;
    let mut text = String::new();
    let unreadable: Vec<Diagnostic> = inputs.unreadable.iter().map(|u| u.diagnostic()).collect();
    for diagnostic in unreadable.iter().chain(&inputs.model.diagnostics) {
        had_errors |= diagnostic.severity == Severity::Error;
        if !verbose && is_ignored_kind(diagnostic) {
            continue;
        }
        let rendered = Rendered::new(inputs, diagnostic);
        if !text.is_empty() {
            text.push('\n');
        }
        let _ = handler.render_report(&mut text, &rendered);
    }
    if !verbose {
        if let Some(line) = ignored_summary(&inputs.model.cluster.ignored) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    if !text.is_empty() {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
    }
    had_errors
}

/// Whether `diagnostic` only says that an object of another kind was not read; these are
/// summed up by [`ignored_summary`] unless `--verbose`.
pub fn is_ignored_kind(diagnostic: &Diagnostic) -> bool {
    diagnostic.code == "ignored-kind"
}

/// `ignored: 6 ConfigMap, 3 Secret, 1 NetworkPolicy (crd.projectcalico.org/v1) (--verbose
/// says where)`: the most frequent kinds first. `None` when nothing was ignored.
pub fn ignored_summary(ignored: &BTreeMap<String, usize>) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    let mut kinds: Vec<(&String, &usize)> = ignored.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    Some(format!(
        "ignored: {} (kinds that do not affect network policy; --verbose says where)",
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_kinds_most_frequent_first() {
        let ignored: BTreeMap<String, usize> = [
            ("Secret".to_string(), 3),
            ("ConfigMap".to_string(), 6),
            ("Ingress".to_string(), 3),
        ]
        .into();
        assert_eq!(
            ignored_summary(&ignored).as_deref(),
            Some("ignored: 6 ConfigMap, 3 Ingress, 3 Secret (kinds that do not affect network policy; --verbose says where)")
        );
        assert_eq!(ignored_summary(&BTreeMap::new()), None);
    }
}
