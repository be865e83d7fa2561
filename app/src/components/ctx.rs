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
use crate::layout::{self, Layout};
use crate::probe::Probe;
use crate::share::{AfterState, SharedState, View};
use crate::whatif;

/// What the explanation panel shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// An ordered pair of node ids (edge or matrix cell).
    Pair {
        /// Source node id.
        from: String,
        /// Destination node id.
        to: String,
    },
    /// A node id (an endpoint, a group, an address class or a ghost).
    Node(String),
    /// A ghost edge: what a pod that does not exist yet may do with a drawn node.
    Exposure {
        /// The ghost's id.
        ghost: String,
        /// The node's id.
        node: String,
        /// `true`: the ghost may connect to the node; `false`: the node to the ghost.
        incoming: bool,
    },
}

/// A request to select a span in the editor that owns its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Jump {
    /// What to select.
    pub span: Span,
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
    /// Error banner (damaged link, ...).
    pub banner: RwSignal<Option<String>>,
    /// Short confirmation ("Link copied").
    pub toast: RwSignal<Option<String>>,
    /// The link the share button built last (also in `data-url`).
    pub shared_url: RwSignal<Option<String>>,
    /// The state the URL fragment currently holds (opened or shared link), so the fragment
    /// can be dropped as soon as the state moves on.
    pub link_state: StoredValue<Option<SharedState>>,
    /// Key of the example last loaded (empty once a link was opened).
    pub example: RwSignal<String>,
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
        let expanded = RwSignal::new(BTreeSet::new());
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
        let lint = Memo::new(move |_| Arc::new(lint_findings(&analysis.get())));
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
        let merged = Memo::new(move |_| {
            let after = after_analysis.get()?;
            let before = graph.get();
            let g = expanded.with(|e| connectivity::build(&after, &probe.get(), false, e));
            Some(Arc::new(compare::merge(&before, &g)))
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

        Ctx {
            policies: RwSignal::new(initial.policies),
            cluster: RwSignal::new(initial.cluster),
            committed,
            probe,
            view: RwSignal::new(initial.view),
            show_denied,
            show_exposure,
            expanded,
            selection: RwSignal::new(None),
            jump: RwSignal::new(None),
            banner: RwSignal::new(None),
            toast: RwSignal::new(None),
            shared_url: RwSignal::new(None),
            epoch,
            example: RwSignal::new(String::new()),
            link_state: StoredValue::new(None),
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
        self.expanded.set(BTreeSet::new());
        self.selection.set(None);
        self.dragged.set(HashMap::new());
        self.epoch.update(|e| *e += 1);
    }

    /// Asks the editor owning `span.file` to select it.
    pub fn jump_to(&self, span: Span) {
        let nonce = self.jump.get_untracked().map_or(1, |j| j.nonce + 1);
        self.jump.set(Some(Jump { span, nonce }));
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
