//! Per-flow evaluation with explanations. OWNER: engine helper (placeholder).

use crate::model::{Flow, Model};
use crate::verdict::{DirectionVerdict, Verdict};

/// See [`crate::evaluate`].
pub fn evaluate(_model: &Model, _flow: &Flow) -> Verdict {
    Verdict {
        egress: DirectionVerdict::NotIsolated,
        ingress: DirectionVerdict::NotIsolated,
    }
}
