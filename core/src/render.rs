//! Plain-text rendering of verdicts, shared by the CLI and the playground so they agree.
//! OWNER: engine helper (placeholder).

use crate::model::{Flow, Model};
use crate::verdict::Verdict;

/// Multi-line explanation of `verdict` for `flow`, in the fixed verdict words.
pub fn explain(_model: &Model, _flow: &Flow, _verdict: &Verdict) -> String {
    String::new()
}
