//! The playground's state: signals for what the user controls, memos for what is derived.
//! Shared with every component through context; `Ctx` is `Copy` (signals are handles).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use leptos::prelude::*;
use netpol_core::Span;

use crate::analysis::Analysis;
use crate::browser;
use crate::connectivity::{self, Graph};
use crate::layout::{self, Layout};
use crate::probe::Probe;
use crate::share::{SharedState, View};
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
    /// A node id.
    Node(String),
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
    /// Its layout.
    pub layout: Memo<Arc<Layout>>,
    /// What-if summary.
    pub whatif: Memo<WhatIf>,
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
        let layout = Memo::new_with_compare(
            move |_| {
                let g = graph.get();
                let keys: Vec<Option<&str>> =
                    g.nodes.iter().map(|n| n.namespace.as_deref()).collect();
                Arc::new(layout::layout(&keys))
            },
            arc_changed,
        );
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
            layout,
            whatif,
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
        }
    }

    /// Replaces everything with `state` (example or link), immediately (no debounce).
    pub fn load(&self, state: SharedState) {
        self.policies.set(state.policies.clone());
        self.cluster.set(state.cluster.clone());
        self.committed.set((state.policies, state.cluster));
        self.probe
            .set(Probe::parse(&state.port).unwrap_or(Probe::Any));
        self.view.set(state.view);
        self.show_denied.set(state.show_denied);
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

fn browser_now() -> f64 {
    if cfg!(target_arch = "wasm32") {
        browser::now_ms()
    } else {
        0.0
    }
}
