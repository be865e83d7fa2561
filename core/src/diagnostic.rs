//! Where things came from, and what was wrong with them.
//!
//! The core never sees a path: a source text is an opaque [`FileId`] chosen by the caller,
//! and every position is a byte [`Span`] into that text. Line and column are computed once,
//! when the diagnostic is made (the core has the text then), so front-ends never need the
//! text again to say "line 12".

use serde::{Deserialize, Serialize};

/// Opaque handle for one source text. The caller maps it back to a path or an editor.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FileId(pub u32);

/// Byte range `start..end` in the text of `file`, with the 1-based line and column of `start`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    /// The source text this span points into.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column (in characters) of `start`.
    pub column: u32,
}

impl Span {
    /// Builds a span for `start..end` in `text`, computing line and column.
    /// Offsets past the end of `text` are clamped, so this never panics.
    pub fn new(file: FileId, text: &str, start: usize, end: usize) -> Span {
        let start = floor_char_boundary(text, start.min(text.len()));
        let end = floor_char_boundary(text, end.clamp(start, text.len()));
        let before = &text[..start];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..start].chars().count() + 1;
        Span {
            file,
            start: start as u32,
            end: end as u32,
            line: line as u32,
            column: column as u32,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How bad a problem is. `Error` means the object (or part of it) was dropped or would be
/// rejected by the API server; `Warning` means it was kept but probably does not do what
/// the author meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Rejected by Kubernetes, or dropped by us.
    Error,
    /// Accepted, but suspicious.
    Warning,
    /// Worth knowing.
    Info,
}

/// One problem in the input: a parse or merge problem, or a lint finding (the same type, so
/// a front-end has one list to show and one renderer).
///
/// Messages start lower-case, have no trailing period and name the concrete value
/// ("endPort 80 is less than port 8080"); the fix goes into `help`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable machine-readable code, e.g. `"yaml-syntax"`, `"unknown-field"`,
    /// `"peer-selects-nothing"`.
    pub code: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, with the offending value.
    pub message: String,
    /// Where; `None` only for problems with no place in any text (rare).
    pub span: Option<Span>,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain the problem (the shadowing rule, the other policies), in
    /// the order a reader should visit them.
    pub related: Vec<Related>,
}

/// A secondary place of a [`Diagnostic`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What this place is to the problem; `None`: front-ends say "related".
    pub label: Option<String>,
}

impl Related {
    /// A related place without a label.
    pub fn at(span: Span) -> Related {
        Related { span, label: None }
    }
}

impl Diagnostic {
    /// A problem of `severity` at `span`, without help or related places.
    pub fn new(
        code: &'static str,
        severity: Severity,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            span,
            help: None,
            related: Vec::new(),
        }
    }

    /// An error at `span`.
    pub fn error(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Error, span, message)
    }

    /// A warning at `span`.
    pub fn warning(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Warning, span, message)
    }

    /// Adds the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds related places without labels.
    pub fn with_related(mut self, spans: impl IntoIterator<Item = Span>) -> Self {
        self.related.extend(spans.into_iter().map(Related::at));
        self
    }
}

/// Sorts diagnostics by position (file, offset), then severity, so output is deterministic.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let ka = a.span.map(|s| (s.file, s.start));
        let kb = b.span.map(|s| (s.file, s.start));
        ka.cmp(&kb)
            .then(a.severity.cmp(&b.severity))
            .then(a.code.cmp(b.code))
            .then(a.message.cmp(&b.message))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_line_and_column() {
        let text = "a: 1\nbé: 2\n";
        let s = Span::new(FileId(3), text, 9, 10);
        assert_eq!((s.line, s.column, s.file), (2, 4, FileId(3)));
        // out of range and mid-character offsets are clamped, never panic
        let s = Span::new(FileId(0), text, 7, 999);
        assert_eq!((s.start, s.end), (6, text.len() as u32));
    }
}
