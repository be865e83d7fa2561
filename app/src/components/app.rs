//! The page: header, the two editors, diagnostics, the graph or matrix, the explanation.

use leptos::prelude::*;

use crate::browser;
use crate::components::ctx::Ctx;
use crate::components::{
    banner::Banner, diagnostics::Diagnostics, diff_summary::DiffSummary, editor::Editor,
    explanation::Explanation, graph_view::GraphView, header::Header, matrix_view::MatrixView,
    toolbar::Toolbar,
};
use crate::examples::EXAMPLES;
use crate::share::{self, SharedState, View};

/// The default state: the first example, any port, graph view.
pub fn default_state() -> SharedState {
    let first = &EXAMPLES[0];
    SharedState {
        policies: first.policies.to_string(),
        cluster: first.cluster.to_string(),
        port: "any".to_string(),
        view: View::Graph,
        show_denied: false,
        show_exposure: false,
        after: None,
    }
}

/// Where the first state comes from: a link in the fragment wins, then local storage, then
/// the first example. A link that cannot be opened becomes a banner, never a blank page.
fn initial_state() -> (SharedState, Option<String>) {
    let fragment = browser::fragment();
    let fallback = || browser::load_saved().unwrap_or_else(default_state);
    if share::looks_like_state(&fragment) {
        match share::decode(&fragment) {
            Ok(state) => (state, None),
            Err(e) => (
                fallback(),
                Some(format!(
                    "Could not open the shared link: {e}. Showing your last saved work instead."
                )),
            ),
        }
    } else {
        (fallback(), None)
    }
}

/// The playground.
#[component]
pub fn App() -> impl IntoView {
    let (initial, banner) = initial_state();
    let ctx = Ctx::new(initial.clone());
    if initial == default_state() {
        ctx.example.set(EXAMPLES[0].key.to_string());
    }
    ctx.banner.set(banner);
    provide_context(ctx);

    // Storage and URL are the outside world: this Effect is the only place that writes them.
    // Once the state differs from what an opened link held, the fragment is removed so a
    // reload shows the latest work (from storage) rather than the old link.
    let opened_link = ctx.link_state;
    if share::looks_like_state(&browser::fragment()) {
        opened_link.set_value(Some(initial));
    }
    Effect::new(move |_| {
        let state = ctx.shared_state();
        browser::save(&state);
        let link = opened_link.get_value();
        if link.as_ref().is_some_and(|l| *l != state) {
            browser::set_fragment(None);
            opened_link.set_value(None);
        }
    });
    // A link pasted into the same tab only changes the fragment: load it too.
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        let fragment = browser::fragment();
        if !share::looks_like_state(&fragment) {
            return;
        }
        match share::decode(&fragment) {
            Ok(state) if state != ctx.shared_state() => {
                opened_link.set_value(Some(state.clone()));
                ctx.load(state);
                ctx.example.set(String::new());
                ctx.banner.set(None);
            }
            Ok(_) => {}
            Err(e) => ctx.banner.set(Some(format!(
                "Could not open the shared link: {e}. Keeping the current state."
            ))),
        }
    });

    let generation = Memo::new(move |prev: Option<&u64>| {
        ctx.graph.track();
        prev.map_or(1, |p| p + 1)
    });

    view! {
        <div
            class="app"
            data-testid="app"
            data-generation=move || generation.get().to_string()
            data-eval-ms=move || {
                generation.track();
                format!("{:.1}", ctx.eval_ms.get_value())
            }
            data-analysis-ms=move || {
                generation.track();
                format!("{:.1}", ctx.analysis_ms.get_value())
            }
        >
            <Header />
            <Banner />
            <main class=move || if ctx.compare.get() { "workspace workspace--compare" } else { "workspace" }>
                <Editor
                    title="Policies"
                    hint="NetworkPolicy YAML, multi-document"
                    testid="policies-editor"
                    file=crate::analysis::POLICIES
                    text=ctx.policies
                />
                <Editor
                    title="Cluster"
                    hint="namespaces and pods: YAML or compact text"
                    testid="cluster-editor"
                    file=crate::analysis::CLUSTER
                    text=ctx.cluster
                />
                <Diagnostics />
                {move || ctx.compare.get().then(|| view! {
                    <Editor
                        title="After: Policies"
                        hint="the proposed change"
                        testid="after-policies-editor"
                        file=crate::analysis::POLICIES
                        text=ctx.after_policies
                        after=true
                    />
                    <Editor
                        title="After: Cluster"
                        hint="the proposed labels and pods"
                        testid="after-cluster-editor"
                        file=crate::analysis::CLUSTER
                        text=ctx.after_cluster
                        after=true
                    />
                    <DiffSummary />
                })}
                <section class="viz" aria-label="Connectivity">
                    <Toolbar />
                    {move || match ctx.view.get() {
                        View::Graph => view! { <GraphView /> }.into_any(),
                        View::Matrix => view! { <MatrixView /> }.into_any(),
                    }}
                </section>
                <Explanation />
            </main>
        </div>
    }
}
