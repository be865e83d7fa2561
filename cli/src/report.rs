//! Terminal rendering of the core's diagnostics: the CLI's side of `netpol-report`, the one
//! miette adapter (shared with the node agent), joined here with the CLI's [`Inputs`].

use std::collections::BTreeMap;

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
        if !text.is_empty() {
            text.push('\n');
        }
        let _ = handler.render_report(&mut text, &rendered(inputs, diagnostic));
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
