//! The playground's state: signals for what the user controls, memos for what is derived.
//! Shared with every component through context; `Ctx` is `Copy` (signals are handles).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use leptos::prelude::*;
use netpol_core::diff::Diff;
use netpol_core::lint;
use netpol_core::Diagnostic;
use netpol_core::Span;

use crate::analysis::Analysis;
use crate::browser;
use crate::compare::{self, Merged};
use crate::connectivity::{self, Exposure, Graph};
use crate::examples::{self, Example};
use crate::layout::{self, Layout};
use crate::probe::Probe;
use crate::share::{AfterState, SharedState, View};
use crate::whatif;

pub use crate::share::Selection;

/// A state on screen that came from a link or an example and has not been edited since. It
/// is not the user's work, so it is not saved over the draft until the user edits it.
#[derive(Clone, Debug, PartialEq)]
pub struct Viewing {
    /// A shared link (else an example).
    pub link: bool,
    /// What was loaded.
    pub state: SharedState,
}

/// The way back after something replaced the editors' text (an example, a link, the draft).
#[derive(Clone, Debug, PartialEq)]
pub struct Undo {
    /// What happened, for the notice ("Loaded the example “Default deny”").
    pub what: String,
    /// Everything as it was before.
    pub previous: SharedState,
    /// Whether what was before was itself an unedited link or example.
    pub previous_viewing: Option<Viewing>,
    /// What was loaded; once the texts differ from it the user has moved on.
    pub loaded: SharedState,
}

/// A request to select a span in the editor that owns its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Jump {
    /// What to select.
    pub span: Span,
    /// Into the compare mode's After editors (else the plain ones).
    pub after: bool,
    /// Bumped on every request, so clicking the same link twice jumps twice.
    pub nonce: u64,
}

/// The what-if memo: allowed pairs of the last result and the summary against the one before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIf {
    key: (Probe, BTreeSet<String>, u64),
    pairs: BTreeSet<(String, String)>,
    /// "3 connections opened, 1 closed since last change", once something changed.
    pub summary: Option<String>,
}

/// Every signal and memo of the page.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// Policies editor text (live).
    pub policies: RwSignal<String>,
    /// Cluster editor text (live).
    pub cluster: RwSignal<String>,
    /// Texts as of the last debounce tick; the analysis reads these.
    pub committed: RwSignal<(String, String)>,
    /// Chosen probe.
    pub probe: RwSignal<Probe>,
    /// Graph or matrix.
    pub view: RwSignal<View>,
    /// Draw denied pairs too.
    pub show_denied: RwSignal<bool>,
    /// Draw exposure: ghost nodes for the pods that do not exist yet the rules admit.
    pub show_exposure: RwSignal<bool>,
    /// Group node ids the user expanded.
    pub expanded: RwSignal<BTreeSet<String>>,
    /// What the explanation panel shows.
    pub selection: RwSignal<Option<Selection>>,
    /// Latest editor jump request.
    pub jump: RwSignal<Option<Jump>>,
    /// The graph's zoom factor.
    pub zoom: RwSignal<f64>,
    /// The graph's pan, in layout units.
    pub pan: RwSignal<(f64, f64)>,
    /// Error banner (damaged link, ...).
    pub banner: RwSignal<Option<String>>,
    /// Short confirmation ("Link copied").
    pub toast: RwSignal<Option<String>>,
    /// The link the share button built last (also in `data-url`).
    pub shared_url: RwSignal<Option<String>>,
    /// The link to show in a selectable field when the clipboard cannot be written.
    pub share_fallback: RwSignal<Option<String>>,
    /// The state the URL fragment currently holds (opened or shared link), so the fragment
    /// can be dropped as soon as the texts move on.
    pub url_state: StoredValue<Option<SharedState>>,
    /// An unedited link or example on screen (not saved over the draft).
    pub viewing: RwSignal<Option<Viewing>>,
    /// The saved draft, while something else is on screen ("Back to my draft").
    pub draft: RwSignal<Option<SharedState>>,
    /// The way back after the editors' text was replaced.
    pub undo: RwSignal<Option<Undo>>,
    /// Why the last save failed (storage full or disabled), until one succeeds.
    pub save_error: RwSignal<Option<String>>,
    /// The help overlay is open.
    pub help: RwSignal<bool>,
    /// The example whose texts are in the editors, if any ("Custom" otherwise).
    pub example: Memo<Option<&'static Example>>,
    /// Bumped when a whole new state is loaded (example, link), so what-if starts over.
    pub epoch: RwSignal<u64>,
    /// Node positions the user dragged, by node id.
    pub dragged: RwSignal<HashMap<String, (f64, f64)>>,
    /// The analysis of `committed`.
    pub analysis: Memo<Arc<Analysis>>,
    /// The graph for the probe.
    pub graph: Memo<Arc<Graph>>,
    /// The exposure overlay of the graph, when shown.
    pub exposure: Memo<Option<Arc<Exposure>>>,
    /// Its layout (the graph's nodes, then the exposure's ghosts).
    pub layout: Memo<Arc<Layout>>,
    /// What-if summary.
    pub whatif: Memo<WhatIf>,
    /// Lint findings of the current model that are not parse diagnostics (those are in
    /// `analysis.model.diagnostics` already).
    pub lint: Memo<Arc<Vec<Diagnostic>>>,
    /// Compare mode on.
    pub compare: RwSignal<bool>,
    /// After policies editor text (live).
    pub after_policies: RwSignal<String>,
    /// After cluster editor text (live).
    pub after_cluster: RwSignal<String>,
    /// After texts as of the last debounce tick.
    pub after_committed: RwSignal<(String, String)>,
    /// The analysis of `after_committed`, in compare mode.
    pub after_analysis: Memo<Option<Arc<Analysis>>>,
    /// The after state's graph for the probe, in compare mode.
    pub after_graph: Memo<Option<Arc<Graph>>>,
    /// The union of before and after edges (and how many could not be placed), in compare mode.
    pub merged: Memo<Option<Arc<Merged>>>,
    /// The core's semantic diff of before and after, in compare mode.
    pub diff: Memo<Option<Arc<Diff>>>,
    /// Milliseconds the last analysis + graph build took (for the benchmark).
    pub eval_ms: StoredValue<f64>,
    /// Milliseconds of that spent in the core (parse, build, engine) and per-pod facts.
    pub analysis_ms: StoredValue<f64>,
}

fn arc_changed<T>(a: Option<&Arc<T>>, b: Option<&Arc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
        _ => true,
    }
}

impl Ctx {
    /// Creates the state from an initial [`SharedState`].
    pub fn new(initial: SharedState) -> Ctx {
        let probe = RwSignal::new(Probe::parse(&initial.port).unwrap_or(Probe::Any));
        let committed = RwSignal::new((initial.policies.clone(), initial.cluster.clone()));
        let show_denied = RwSignal::new(initial.show_denied);
        let expanded = RwSignal::new(initial.expanded.iter().cloned().collect::<BTreeSet<_>>());
        let epoch = RwSignal::new(0u64);
        let eval_ms = StoredValue::new(0.0);
        let started = StoredValue::new(0.0);
        let analysis_ms = StoredValue::new(0.0);

        let analysis = Memo::new_with_compare(
            move |prev: Option<&Arc<Analysis>>| {
                let (p, c) = committed.get();
                started.set_value(browser_now());
                let next = Analysis::new(&p, &c);
                analysis_ms.set_value(browser_now() - started.get_value());
                match prev {
                    Some(prev) if prev.keeps_over(&next) => Arc::new(prev.stale_with(&next)),
                    _ => Arc::new(next),
                }
            },
            arc_changed,
        );
        let graph = Memo::new_with_compare(
            move |_| {
                let a = analysis.get();
                let g =
                    expanded.with(|e| connectivity::build(&a, &probe.get(), show_denied.get(), e));
                eval_ms.set_value(browser_now() - started.get_value());
                Arc::new(g)
            },
            arc_changed,
        );
        let show_exposure = RwSignal::new(initial.show_exposure);
        let exposure = Memo::new(move |_| {
            show_exposure
                .get()
                .then(|| Arc::new(connectivity::exposure(&analysis.get(), &graph.get())))
        });
        let layout = Memo::new_with_compare(
            move |_| {
                let g = graph.get();
                let ghosts = exposure.get();
                let keys: Vec<Option<&str>> = g
                    .nodes
                    .iter()
                    .map(|n| n.namespace.as_deref())
                    .chain(ghosts.iter().flat_map(|x| x.layout_keys()))
                    .collect();
                Arc::new(layout::layout(&keys))
            },
            arc_changed,
        );
        // A stale analysis is an older text's model: its findings point at lines that may no
        // longer exist, so none are shown until the text parses again.
        let lint = Memo::new(move |_| {
            let a = analysis.get();
            Arc::new(if a.stale {
                Vec::new()
            } else {
                lint_findings(&a)
            })
        });
        let (compare_on, after_texts) = match &initial.after {
            Some(a) => (true, (a.policies.clone(), a.cluster.clone())),
            None => (false, (initial.policies.clone(), initial.cluster.clone())),
        };
        let compare_mode = RwSignal::new(compare_on);
        let after_policies = RwSignal::new(after_texts.0.clone());
        let after_cluster = RwSignal::new(after_texts.1.clone());
        let after_committed = RwSignal::new(after_texts);
        let after_analysis = Memo::new_with_compare(
            move |_| {
                if !compare_mode.get() {
                    return None;
                }
                let (p, c) = after_committed.get();
                Some(Arc::new(Analysis::new(&p, &c)))
            },
            |a: Option<&Option<Arc<Analysis>>>, b: Option<&Option<Arc<Analysis>>>| {
                arc_changed(a.and_then(|x| x.as_ref()), b.and_then(|x| x.as_ref()))
            },
        );
        let after_graph = Memo::new_with_compare(
            move |_| {
                let after = after_analysis.get()?;
                let g = expanded.with(|e| connectivity::build(&after, &probe.get(), false, e));
                Some(Arc::new(g))
            },
            |a: Option<&Option<Arc<Graph>>>, b: Option<&Option<Arc<Graph>>>| {
                arc_changed(a.and_then(|x| x.as_ref()), b.and_then(|x| x.as_ref()))
            },
        );
        let merged = Memo::new(move |_| {
            let after = after_graph.get()?;
            let before = graph.get();
            Some(Arc::new(compare::merge(&before, &after)))
        });
        let diff = Memo::new(move |_| {
            let after = after_analysis.get()?;
            let before = analysis.get();
            Some(Arc::new(netpol_core::diff::diff(
                &before.model,
                &after.model,
            )))
        });
        let whatif = Memo::new(move |prev: Option<&WhatIf>| {
            let g = graph.get();
            let key = (probe.get(), expanded.get(), epoch.get());
            let pairs = g.allowed_pairs();
            let summary = match prev {
                Some(p) if p.key == key && p.pairs == pairs => p.summary.clone(),
                Some(p) if p.key == key => Some(whatif::summary(&whatif::diff(&p.pairs, &pairs))),
                _ => None,
            };
            WhatIf {
                key,
                pairs,
                summary,
            }
        });

        let policies = RwSignal::new(initial.policies.clone());
        let cluster = RwSignal::new(initial.cluster.clone());
        let example =
            Memo::new(move |_| policies.with(|p| cluster.with(|c| examples::matching(p, c))));

        Ctx {
            policies,
            cluster,
            committed,
            probe,
            view: RwSignal::new(initial.view),
            show_denied,
            show_exposure,
            expanded,
            selection: RwSignal::new(initial.selection.clone()),
            jump: RwSignal::new(None),
            zoom: RwSignal::new(initial.zoom),
            pan: RwSignal::new(initial.pan),
            banner: RwSignal::new(None),
            toast: RwSignal::new(None),
            shared_url: RwSignal::new(None),
            share_fallback: RwSignal::new(None),
            url_state: StoredValue::new(None),
            viewing: RwSignal::new(None),
            draft: RwSignal::new(None),
            undo: RwSignal::new(None),
            save_error: RwSignal::new(None),
            help: RwSignal::new(false),
            example,
            epoch,
            dragged: RwSignal::new(HashMap::new()),
            analysis,
            graph,
            exposure,
            layout,
            whatif,
            lint,
            compare: compare_mode,
            after_policies,
            after_cluster,
            after_committed,
            after_analysis,
            after_graph,
            merged,
            diff,
            eval_ms,
            analysis_ms,
        }
    }

    /// The state a link or the storage holds (committed texts, so it matches the graph).
    pub fn shared_state(&self) -> SharedState {
        let (policies, cluster) = self.committed.get();
        SharedState {
            policies,
            cluster,
            port: self.probe.get().key(),
            view: self.view.get(),
            show_denied: self.show_denied.get(),
            show_exposure: self.show_exposure.get(),
            after: self.compare.get().then(|| {
                let (policies, cluster) = self.after_committed.get();
                AfterState { policies, cluster }
            }),
            selection: self.selection.get(),
            zoom: self.zoom.get(),
            pan: self.pan.get(),
            expanded: self.expanded.with(|e| e.iter().cloned().collect()),
        }
    }

    /// Turns compare mode on (after := copies of the current texts) or off.
    pub fn set_compare(&self, on: bool) {
        if on {
            let (p, c) = self.committed.get_untracked();
            self.after_policies.set(p.clone());
            self.after_cluster.set(c.clone());
            self.after_committed.set((p, c));
        }
        self.compare.set(on);
    }

    /// Replaces everything with `state` (example or link), immediately (no debounce).
    pub fn load(&self, state: SharedState) {
        self.policies.set(state.policies.clone());
        self.cluster.set(state.cluster.clone());
        let after = state
            .after
            .clone()
            .map(|a| (a.policies, a.cluster))
            .unwrap_or_else(|| (state.policies.clone(), state.cluster.clone()));
        self.committed.set((state.policies, state.cluster));
        self.after_policies.set(after.0.clone());
        self.after_cluster.set(after.1.clone());
        self.after_committed.set(after);
        self.compare.set(state.after.is_some());
        self.probe
            .set(Probe::parse(&state.port).unwrap_or(Probe::Any));
        self.view.set(state.view);
        self.show_denied.set(state.show_denied);
        self.show_exposure.set(state.show_exposure);
        self.expanded.set(state.expanded.into_iter().collect());
        self.selection.set(state.selection);
        self.zoom.set(state.zoom);
        self.pan.set(state.pan);
        self.dragged.set(HashMap::new());
        self.epoch.update(|e| *e += 1);
    }

    /// Replaces the editors' text with `state` (an example, a link, the draft), keeping the
    /// way back: Undo restores exactly what was there, in both editors and both states.
    /// `viewing` marks an unedited link or example, which is not saved over the draft.
    pub fn replace(&self, state: SharedState, viewing: Option<Viewing>, what: String) {
        let previous = self.live_state();
        let previous_viewing = self.viewing.get_untracked();
        self.undo.set(Some(Undo {
            what,
            previous,
            previous_viewing,
            loaded: state.clone(),
        }));
        self.show(state, viewing);
    }

    /// Puts back what the last [`Ctx::replace`] replaced.
    pub fn undo(&self) {
        let Some(undo) = self.undo.get_untracked() else {
            return;
        };
        self.undo.set(None);
        self.show(undo.previous, undo.previous_viewing);
    }

    /// Loads `state` and keeps the URL and the draft notice in step with what it is.
    fn show(&self, state: SharedState, viewing: Option<Viewing>) {
        let is_link = viewing.as_ref().is_some_and(|v| v.link);
        self.load(state.clone());
        self.set_viewing(viewing);
        if is_link {
            browser::set_fragment(Some(&crate::share::encode(&state)));
            self.url_state.set_value(Some(state));
        } else if self.url_state.get_value().is_some() {
            browser::set_fragment(None);
            self.url_state.set_value(None);
        }
    }

    /// Marks what is on screen as an unedited link or example (or as the draft, `None`), and
    /// offers the saved draft when it is something else.
    pub fn set_viewing(&self, viewing: Option<Viewing>) {
        let draft = viewing
            .as_ref()
            .and_then(|v| browser::load_saved().filter(|d| !d.same_texts(&v.state)));
        self.draft.set(draft);
        self.viewing.set(viewing);
    }

    /// The state with the editors' live texts (what Undo must give back, even mid-debounce).
    fn live_state(&self) -> SharedState {
        let mut state = self.shared_state_untracked();
        state.policies = self.policies.get_untracked();
        state.cluster = self.cluster.get_untracked();
        if let Some(after) = state.after.as_mut() {
            after.policies = self.after_policies.get_untracked();
            after.cluster = self.after_cluster.get_untracked();
        }
        state
    }

    /// [`Ctx::shared_state`] without subscribing.
    pub fn shared_state_untracked(&self) -> SharedState {
        untrack(|| self.shared_state())
    }

    /// Asks the editor owning `span.file` to select it.
    pub fn jump_to(&self, span: Span) {
        self.jump_into(span, false);
    }

    /// Like [`Ctx::jump_to`], into the After editors when `after`.
    pub fn jump_into(&self, span: Span, after: bool) {
        let nonce = self.jump.get_untracked().map_or(1, |j| j.nonce + 1);
        self.jump.set(Some(Jump { span, after, nonce }));
    }

    /// Position of node `index` (dragged or laid out).
    pub fn position(&self, index: usize, id: &str) -> (f64, f64) {
        if let Some(p) = self.dragged.with(|d| d.get(id).copied()) {
            return p;
        }
        self.layout
            .with(|l| l.positions.get(index).copied().unwrap_or((0.0, 0.0)))
    }
}

/// Lint options for the playground: the semantic redundancy checks compile the engine once
/// per policy and rule, which takes seconds for a few hundred endpoints in wasm; above
/// this size they are skipped (lint says so with a `redundancy-skipped` finding) so typing
/// stays responsive. The CLI runs them with the core's larger defaults.
pub const LINT_OPTIONS: lint::Options = lint::Options {
    max_pods: 150,
    max_variants: 120,
};

/// The findings lint adds on top of the model's parse diagnostics.
pub fn lint_findings(analysis: &Analysis) -> Vec<Diagnostic> {
    lint::lint_with(&analysis.model, &LINT_OPTIONS)
        .into_iter()
        .filter(|f| lint::CODES.iter().any(|(code, _, _)| *code == f.code))
        .collect()
}

fn browser_now() -> f64 {
    if cfg!(target_arch = "wasm32") {
        browser::now_ms()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: ops}}\n    - podSelector: {matchLabels: {app: a}}\n";

    fn cluster(pods: usize) -> String {
        let mut s = String::from("namespace x team=ops\n");
        for i in 0..pods {
            s.push_str(&format!("pod x/p{i} app=a\n"));
        }
        s
    }

    fn codes(findings: &[Diagnostic]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn lint_findings_leave_out_parse_diagnostics() {
        let a = Analysis::new(&format!("{POLICY}  bogusField: 1\n"), &cluster(2));
        assert!(
            !a.model.diagnostics.is_empty(),
            "the unknown field is a diagnostic"
        );
        let findings = lint_findings(&a);
        assert!(codes(&findings).contains(&"and-or-trap"), "{findings:?}");
        assert!(findings
            .iter()
            .all(|f| lint::CODES.iter().any(|(c, _, _)| *c == f.code)));
    }

    #[test]
    fn redundancy_is_skipped_only_for_big_clusters() {
        let small = lint_findings(&Analysis::new(POLICY, &cluster(LINT_OPTIONS.max_pods)));
        assert!(!codes(&small).contains(&"redundancy-skipped"), "{small:?}");
        let big = lint_findings(&Analysis::new(POLICY, &cluster(LINT_OPTIONS.max_pods + 1)));
        assert!(codes(&big).contains(&"redundancy-skipped"), "{big:?}");
    }
}
