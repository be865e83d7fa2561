//! Text to model: YAML/JSON manifests and the compact form, then merging into a [`Model`].
//!
//! - [`yaml`] builds a spanned tree from YAML events (so every object keeps its text);
//! - [`lower`] turns manifests into model objects, applying Kubernetes defaulting once;
//! - [`compact`] reads the one-line-per-object cluster form of the playground;
//! - [`build()`] merges sources: implicit namespaces, sorting, duplicate checks.
//!
//! Nothing here fails as a whole or panics: every problem becomes a [`crate::Diagnostic`].

mod build;
mod compact;
mod lines;
mod lower;
mod names;
mod yaml;

use crate::diagnostic::{sort_diagnostics, FileId};
use crate::model::{Model, Parsed};

pub use compact::is_compact;

/// See [`crate::parse`].
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = if compact::is_compact(text) {
        compact::parse(file, text)
    } else {
        let lines = lines::Lines::new(file, text);
        let mut cx = lower::Cx::new(&lines);
        let mut yaml_diagnostics = Vec::new();
        yaml::parse_stream(&lines, text, &mut yaml_diagnostics, &mut |doc| {
            lower::document(&mut cx, &doc)
        });
        cx.out.diagnostics.extend(yaml_diagnostics);
        cx.out
    };
    sort_diagnostics(&mut parsed.diagnostics);
    parsed
}

/// See [`crate::build`].
pub fn build(sources: Vec<Parsed>) -> Model {
    build::build(sources)
}
