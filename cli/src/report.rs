//! Terminal rendering of the core's diagnostics: the CLI's side of `netpol-report`, the one
//! miette adapter (shared with the node agent), joined here with the CLI's [`Inputs`].

use netpol_core::{Diagnostic, Severity};
pub use netpol_report::{handler, render_report};

use crate::input::Inputs;

/// A core diagnostic joined with the input text it points into.
pub type Rendered<'a> = netpol_report::Rendered<'a>;

/// [`Rendered`] for `diagnostic`, with the source its primary span points into.
pub fn rendered<'a>(inputs: &Inputs, diagnostic: &'a Diagnostic) -> Rendered<'a> {
    let source = diagnostic
        .span
        .and_then(|s| inputs.source(s.file))
        .map(|s| netpol_report::Source {
            name: &s.name,
            text: &s.text,
        });
    Rendered::new(diagnostic, source)
}

/// Prints every diagnostic of the model (and every unreadable file) to stderr, in the
/// core's deterministic order. Returns whether any of them is an error.
pub fn print_diagnostics(inputs: &Inputs) -> bool {
    let handler = handler(false);
    let mut had_errors = false;
    let mut text = String::new();
    let unreadable: Vec<Diagnostic> = inputs.unreadable.iter().map(|u| u.diagnostic()).collect();
    for diagnostic in unreadable.iter().chain(&inputs.model.diagnostics) {
        had_errors |= diagnostic.severity == Severity::Error;
        if !text.is_empty() {
            text.push('\n');
        }
        let _ = handler.render_report(&mut text, &rendered(inputs, diagnostic));
    }
    if !text.is_empty() {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
    }
    had_errors
}
