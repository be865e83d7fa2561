//! The graph's own state: what the worker last sent (scene, graph, layout, analysis,
//! lint), what the graph's controls ask for (unrestricted pairs, namespaces, search) and
//! passing requests between controls (centre a node, flash what changed). Kept apart
//! from [`crate::components::ctx::Ctx`] so the page state stays small; `Ctx` holds one.

use std::collections::BTreeSet;
use std::sync::Arc;

use leptos::prelude::*;
use netpol_core::Diagnostic;

use crate::analysis::Analysis;
use crate::connectivity::{Exposure, Graph};
use crate::layout::Layout;
use crate::scene::Scene;
use crate::whatif::Changes;

/// Where the evaluation is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Nothing received yet.
    #[default]
    Starting,
    /// A request is out; the graph shows the previous result meanwhile.
    Working,
    /// The graph shows the latest texts.
    Ready,
    /// The size guard refused the input (the message says what to do instead).
    TooLarge(String),
    /// The worker could not be started or stopped working.
    Failed(String),
}

/// Changes to highlight on the graph for a few seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// What changed.
    pub changes: Changes,
    /// Bumped per flash, so the same changes can flash twice.
    pub nonce: u64,
}

/// A request to bring a node into view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Centre {
    /// The node id (or, when `namespace`, an overview area's key).
    pub id: String,
    /// Bring the whole namespace `id` into view rather than a node.
    pub namespace: bool,
    /// Bumped per request.
    pub nonce: u64,
}

/// Signals of the graph.
#[derive(Clone, Copy)]
pub struct GraphState {
    /// The latest scene (its graph, layout and exposure are in the signals below).
    pub scene: RwSignal<Option<Arc<Scene>>>,
    /// The latest graph.
    pub graph: RwSignal<Arc<Graph>>,
    /// Its layout.
    pub layout: RwSignal<Arc<Layout>>,
    /// Its exposure overlay.
    pub exposure: RwSignal<Option<Arc<Exposure>>>,
    /// The latest complete analysis (the model and per-pod facts, no engine).
    pub analysis: RwSignal<Arc<Analysis>>,
    /// Which analysis `analysis` is (scenes name the one they were drawn from).
    pub analysis_id: RwSignal<u64>,
    /// Lint findings of `analysis`.
    pub lint: RwSignal<Arc<Vec<Diagnostic>>>,
    /// Draw the pairs no policy decided, one edge each.
    pub show_unrestricted: RwSignal<bool>,
    /// Namespaces the graph is limited to (empty: all).
    pub namespaces: RwSignal<BTreeSet<String>>,
    /// Where the evaluation is.
    pub status: RwSignal<Status>,
    /// Changes being highlighted.
    pub flash: RwSignal<Option<Flash>>,
    /// A node to bring into view.
    pub centre: RwSignal<Option<Centre>>,
    /// The search box's text.
    pub search: RwSignal<String>,
    /// Bumped every time a scene is shown (the page's `data-generation`).
    pub generation: RwSignal<u64>,
    /// Milliseconds from a request to its scene on the page (for the benchmark).
    pub latency_ms: RwSignal<f64>,
}

impl GraphState {
    /// Empty state.
    pub fn new() -> GraphState {
        GraphState {
            scene: RwSignal::new(None),
            graph: RwSignal::new(Arc::new(Graph::default())),
            layout: RwSignal::new(Arc::new(Layout::default())),
            exposure: RwSignal::new(None),
            analysis: RwSignal::new(Arc::new(Analysis::from_parts(
                Default::default(),
                Vec::new(),
                Vec::new(),
                false,
            ))),
            analysis_id: RwSignal::new(0),
            lint: RwSignal::new(Arc::new(Vec::new())),
            show_unrestricted: RwSignal::new(false),
            namespaces: RwSignal::new(BTreeSet::new()),
            status: RwSignal::new(Status::Starting),
            flash: RwSignal::new(None),
            centre: RwSignal::new(None),
            search: RwSignal::new(String::new()),
            generation: RwSignal::new(0),
            latency_ms: RwSignal::new(0.0),
        }
    }

    /// Whether the analysis on the page is the one the graph was drawn from (panels that
    /// read pods by index wait for it).
    pub fn consistent(&self) -> bool {
        let id = self.analysis_id.get();
        self.scene
            .with(|s| s.as_ref().is_none_or(|s| s.analysis == id))
    }

    /// Asks the graph to bring node `id` into view.
    pub fn centre_on(&self, id: &str) {
        self.bring(id, false);
    }

    /// Asks the graph to show namespace `key` (an overview area) filling the view.
    pub fn show_namespace(&self, key: &str) {
        self.bring(key, true);
    }

    fn bring(&self, id: &str, namespace: bool) {
        let nonce = self
            .centre
            .with_untracked(|c| c.as_ref().map_or(1, |c| c.nonce + 1));
        self.centre.set(Some(Centre {
            id: id.to_string(),
            namespace,
            nonce,
        }));
    }

    /// Highlights `changes` on the graph for a few seconds.
    pub fn flash(&self, changes: Changes) {
        let nonce = self
            .flash
            .with_untracked(|f| f.as_ref().map_or(1, |f| f.nonce + 1));
        self.flash.set(Some(Flash { changes, nonce }));
        let flash = self.flash;
        set_timeout(
            move || {
                if flash.with_untracked(|f| f.as_ref().is_some_and(|f| f.nonce == nonce)) {
                    flash.set(None);
                }
            },
            std::time::Duration::from_millis(FLASH_MS),
        );
    }
}

impl Default for GraphState {
    fn default() -> Self {
        GraphState::new()
    }
}

/// How long changed connections stay highlighted.
pub const FLASH_MS: u64 = 4000;
