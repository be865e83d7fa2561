//! What crosses between the page and the worker: requests, and answers with the scene and
//! the model, as JSON text (`postMessage` of one string is a copy the page never parses
//! with JavaScript; serde reads it straight into Rust values).
//!
//! A 10,000-pod model is shipped in parts ([`Response::Part`]) so that no single message
//! costs the page a long task to read; the page applies a new analysis once its last part
//! arrived, and the scene at once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use netpol_core::{
    AddressClass, Diagnostic, FileId, Model, Namespace, NetworkPolicy, Pod, Related, Service,
    Severity, Span,
};
use serde::{Deserialize, Serialize};

use crate::analysis::Isolation;
use crate::connectivity::GraphOptions;
use crate::scene::Scene;

/// Pods per part of a shipped model (about 60 KB of JSON per hundred pods).
pub const PODS_PER_PART: usize = 1500;
/// Policies per part of a shipped model.
pub const POLICIES_PER_PART: usize = 600;

/// What the page asks the worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    /// Increases with every request; answers to older ones are stale.
    pub seq: u64,
    /// New editor texts (policies, cluster), or `None`: the last ones.
    pub texts: Option<(String, String)>,
    /// What to draw.
    pub view: ViewRequest,
    /// The page lost track of what it was sent: send the analysis and scene whole.
    #[serde(default)]
    pub resend: bool,
}

/// What to draw, besides the texts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewRequest {
    /// The probe's key (`any`, `TCP:80`).
    pub probe: String,
    /// Graph options.
    pub options: GraphOptions,
    /// Compute the exposure overlay.
    pub exposure: bool,
    /// Bumped when a whole new state is loaded: what changed starts over.
    pub epoch: u64,
    /// Also time the engine alone on each new model (`?bench` in the page's URL), for the
    /// benchmark's wasm-versus-native figure.
    #[serde(default)]
    pub bench: bool,
    /// The selected node, when the graph is capped: its edges are drawn first.
    #[serde(default)]
    pub focus: Option<String>,
}

/// What the worker answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Response {
    /// The worker is listening (messages sent before this would be lost).
    Ready,
    /// A new scene; with the first part of the analysis when the texts changed.
    Scene {
        /// The request answered.
        seq: u64,
        /// What to draw.
        scene: Box<Scene>,
        /// The new analysis's first part, when there is a new analysis.
        analysis: Option<Box<Shipped>>,
    },
    /// A new analysis (a big one follows its scene; more parts follow it).
    Analysis {
        /// The request answered.
        seq: u64,
        /// Its first part.
        analysis: Box<Shipped>,
    },
    /// More of the analysis of `id`.
    Part {
        /// The request answered.
        seq: u64,
        /// Which analysis.
        id: u64,
        /// More pods and policies, in model order.
        part: Part,
    },
    /// Lint findings of analysis `id` (computed once the worker is idle: they can take a
    /// while, and the next edit matters more).
    Lint {
        /// Which analysis.
        id: u64,
        /// The findings (or one note that lint was skipped).
        findings: Vec<WireDiagnostic>,
    },
    /// The input is over the size the playground evaluates in the browser.
    TooLarge {
        /// The request answered.
        seq: u64,
        /// What to tell the user.
        message: String,
    },
}

/// An analysis as it crosses: everything but the engine (the page never needs it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Shipped {
    /// Which analysis (the scene says which one it was drawn from).
    pub id: u64,
    /// Outside-address classes.
    pub classes: Vec<AddressClass>,
    /// Per pod: its isolation.
    pub isolation: Vec<Isolation>,
    /// An older result kept while the text is broken.
    pub stale: bool,
    /// The model's diagnostics.
    pub diagnostics: Vec<WireDiagnostic>,
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
    /// Services.
    pub services: Vec<Service>,
    /// Ignored kinds.
    pub ignored: BTreeMap<String, usize>,
    /// Nodes (what `nodes` peers of cluster policies select).
    pub nodes: Vec<netpol_core::Node>,
    /// The Admin and Baseline tiers' policies, in evaluation order (few: not in parts).
    pub cluster_policies: Vec<netpol_core::ClusterNetworkPolicy>,
    /// The first pods and policies; [`Shipped::parts`] more follow. Empty with a patch.
    pub first: Part,
    /// Instead of all pods and policies: what changed since an analysis the page has.
    #[serde(default)]
    pub patch: Option<Patch>,
    /// How many [`Response::Part`]s follow.
    pub parts: usize,
}

/// A slice of the model's pods and policies.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Part {
    /// Pods, in model order.
    pub pods: Vec<Pod>,
    /// Policies, in model order.
    pub policies: Vec<NetworkPolicy>,
}

/// The pods and policies of a new analysis as an edit of an older one the page has: one
/// keystroke changes one pod, but moves the source positions of everything after it, so
/// positions move by [`Shift`]s and only objects that differ otherwise cross.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// The analysis this edits.
    pub base: u64,
    /// Position moves, per editor.
    pub shifts: Vec<Shift>,
    /// Pods in the new model.
    pub pods: usize,
    /// Policies in the new model.
    pub policies: usize,
    /// New pods by index (every index past the base's end is here).
    pub changed_pods: Vec<(usize, Pod)>,
    /// New policies by index.
    pub changed_policies: Vec<(usize, NetworkPolicy)>,
}

/// Positions at or after byte `from` of `file` move by `bytes` and `lines`: an edit
/// replaced one region of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// The editor.
    pub file: FileId,
    /// The end of the replaced region, in the old text.
    pub from: u32,
    /// Change of length.
    pub bytes: i64,
    /// Change of line count.
    pub lines: i64,
}

impl Shift {
    /// The one region `new` replaced in `old` (common prefix and suffix kept), if any.
    pub fn between(file: FileId, old: &str, new: &str) -> Option<Shift> {
        if old == new {
            return None;
        }
        let (o, n) = (old.as_bytes(), new.as_bytes());
        let prefix = o.iter().zip(n).take_while(|(a, b)| a == b).count();
        let room = o.len().min(n.len()) - prefix;
        let suffix = o
            .iter()
            .rev()
            .zip(n.iter().rev())
            .take(room)
            .take_while(|(a, b)| a == b)
            .count();
        let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count() as i64;
        Some(Shift {
            file,
            from: u32::try_from(o.len() - suffix).ok()?,
            bytes: n.len() as i64 - o.len() as i64,
            lines: newlines(&n[prefix..n.len() - suffix]) - newlines(&o[prefix..o.len() - suffix]),
        })
    }

    /// Moves `span` if it starts after the replaced region.
    pub fn apply(&self, span: &mut Span) {
        if span.file == self.file && span.start >= self.from {
            let moved = |v: u32, by: i64| u32::try_from(i64::from(v) + by).unwrap_or(v);
            span.start = moved(span.start, self.bytes);
            span.end = moved(span.end, self.bytes);
            span.line = moved(span.line, self.lines);
        }
    }
}

fn shift_pod(pod: &mut Pod, shifts: &[Shift]) {
    for s in shifts {
        pod.span.iter_mut().for_each(|span| s.apply(span));
    }
}

fn shift_policy(policy: &mut NetworkPolicy, shifts: &[Shift]) {
    for s in shifts {
        s.apply(&mut policy.span);
        for rule in policy.ingress.iter_mut().chain(policy.egress.iter_mut()) {
            s.apply(&mut rule.span);
            rule.peers.iter_mut().for_each(|p| s.apply(&mut p.span));
            rule.ports.iter_mut().for_each(|p| s.apply(&mut p.span));
        }
    }
}

/// The items of `new` that differ from `old`'s after `shift` (by index), or `None` when
/// more than `most` do (then the whole model crosses, in parts).
fn changed<T: Clone + PartialEq>(
    old: &[T],
    new: &[T],
    shift: impl Fn(&mut T),
    most: usize,
) -> Option<Vec<(usize, T)>> {
    let mut out = Vec::new();
    for (i, item) in new.iter().enumerate() {
        let same = old.get(i).is_some_and(|o| {
            let mut o = o.clone();
            shift(&mut o);
            o == *item
        });
        if !same {
            if out.len() == most {
                return None;
            }
            out.push((i, item.clone()));
        }
    }
    Some(out)
}

/// `base`'s items moved by `shift`, cut or grown to `len`, with `changed` put in; `None`
/// if an index is missing.
fn patched<T: Clone>(
    base: &[T],
    len: usize,
    changed: &[(usize, T)],
    shift: impl Fn(&mut T),
) -> Option<Vec<T>> {
    let mut out: Vec<Option<T>> = vec![None; len];
    for (i, item) in changed {
        *out.get_mut(*i)? = Some(item.clone());
    }
    for (slot, item) in out.iter_mut().zip(base) {
        if slot.is_none() {
            let mut item = item.clone();
            shift(&mut item);
            *slot = Some(item);
        }
    }
    out.into_iter().collect()
}

impl Patch {
    /// The patch from `base` (analysis `id`, of `old_texts`) to `model` (of `texts`), or
    /// `None` when too much changed for a patch to pay.
    pub fn make(
        id: u64,
        base: &Model,
        old_texts: &(String, String),
        model: &Model,
        texts: &(String, String),
    ) -> Option<Patch> {
        let shifts: Vec<Shift> = [
            Shift::between(FileId(0), &old_texts.0, &texts.0),
            Shift::between(FileId(1), &old_texts.1, &texts.1),
        ]
        .into_iter()
        .flatten()
        .collect();
        let pods = &model.cluster.pods;
        let policies = &model.policies;
        Some(Patch {
            base: id,
            pods: pods.len(),
            policies: policies.len(),
            changed_pods: changed(
                &base.cluster.pods,
                pods,
                |p| shift_pod(p, &shifts),
                PODS_PER_PART,
            )?,
            changed_policies: changed(
                &base.policies,
                policies,
                |p| shift_policy(p, &shifts),
                POLICIES_PER_PART,
            )?,
            shifts,
        })
    }

    /// The pods and policies of the new model, from the base's.
    pub fn apply(&self, base: &Model) -> Option<(Vec<Pod>, Vec<NetworkPolicy>)> {
        let pods = patched(&base.cluster.pods, self.pods, &self.changed_pods, |p| {
            shift_pod(p, &self.shifts)
        })?;
        let policies = patched(&base.policies, self.policies, &self.changed_policies, |p| {
            shift_policy(p, &self.shifts)
        })?;
        Some((pods, policies))
    }
}

/// A [`Diagnostic`] as data (its code is text here, a `&'static str` in the core).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireDiagnostic {
    code: String,
    severity: Severity,
    message: String,
    span: Option<Span>,
    help: Option<String>,
    related: Vec<(Span, Option<String>)>,
}

impl From<&Diagnostic> for WireDiagnostic {
    fn from(d: &Diagnostic) -> WireDiagnostic {
        WireDiagnostic {
            code: d.code.to_string(),
            severity: d.severity,
            message: d.message.clone(),
            span: d.span,
            help: d.help.clone(),
            related: d
                .related
                .iter()
                .map(|r| (r.span, r.label.clone()))
                .collect(),
        }
    }
}

impl WireDiagnostic {
    /// The diagnostic again.
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            code: intern(&self.code),
            severity: self.severity,
            message: self.message.clone(),
            span: self.span,
            help: self.help.clone(),
            related: self
                .related
                .iter()
                .map(|(span, label)| Related {
                    span: *span,
                    label: label.clone(),
                })
                .collect(),
        }
    }
}

thread_local! {
    /// Codes seen so far, each kept once for the life of the page: there are a few dozen.
    static CODES: RefCell<HashMap<String, &'static str>> = RefCell::new(HashMap::new());
}

/// The `&'static str` for a diagnostic code.
fn intern(code: &str) -> &'static str {
    if let Some((known, _, _)) = netpol_core::lint::CODES.iter().find(|(c, _, _)| *c == code) {
        return known;
    }
    CODES.with(|codes| {
        *codes
            .borrow_mut()
            .entry(code.to_string())
            .or_insert_with(|| Box::leak(code.to_string().into_boxed_str()))
    })
}

/// Diagnostics as data.
pub fn wire(diagnostics: &[Diagnostic]) -> Vec<WireDiagnostic> {
    diagnostics.iter().map(WireDiagnostic::from).collect()
}

/// Diagnostics again.
pub fn unwire(diagnostics: &[WireDiagnostic]) -> Vec<Diagnostic> {
    diagnostics
        .iter()
        .map(WireDiagnostic::to_diagnostic)
        .collect()
}

/// A message between the page and the worker: its JSON as bytes in a buffer that is
/// transferred, not copied, and never turned into a JavaScript string (decoding and
/// re-encoding megabytes of text as UTF-16 cost tens of milliseconds on each side). The
/// message and its transfer list.
pub fn message_of<T: Serialize>(value: &T) -> Option<(js_sys::Uint8Array, js_sys::Array)> {
    let bytes = serde_json::to_vec(value).ok()?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let transfer = js_sys::Array::of1(&array.buffer());
    Some((array, transfer))
}

/// The bytes of a message from [`message_of`] (or, from an older sender, its text).
pub fn bytes_of(data: &wasm_bindgen::JsValue) -> Option<Vec<u8>> {
    use wasm_bindgen::JsCast;
    match data.dyn_ref::<js_sys::Uint8Array>() {
        Some(array) => Some(array.to_vec()),
        None => data.as_string().map(String::into_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;

    /// A model crosses intact in parts: every example and a generated cluster.
    #[test]
    fn models_cross_intact() {
        let generated = netpol_core::generate::generate(400, 150, 2);
        let inputs: Vec<(&str, &str)> = crate::examples::EXAMPLES
            .iter()
            .map(|e| (e.policies, e.cluster))
            .chain([(generated.as_str(), "")])
            .collect();
        for (policies, cluster) in inputs {
            let a = Analysis::new(policies, cluster);
            let text = serde_json::to_string(&Part {
                pods: a.model.cluster.pods.clone(),
                policies: a.model.policies.clone(),
            })
            .unwrap();
            let back: Part = serde_json::from_str(&text).unwrap();
            assert_eq!(back.pods, a.model.cluster.pods);
            assert_eq!(back.policies, a.model.policies);
            let diagnostics = unwire(&wire(&a.model.diagnostics));
            assert_eq!(diagnostics, a.model.diagnostics);
        }
    }
}
