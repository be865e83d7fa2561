//! The page: header, the two editors, diagnostics, the graph or matrix, the explanation.

use leptos::prelude::*;

use crate::browser;
use crate::components::ctx::{Ctx, Viewing};
use crate::components::{
    banner::Banner, diagnostics::Diagnostics, diff_summary::DiffSummary, editor::Editor,
    explanation::Explanation, graph_view::GraphView, header::Header, help::Help,
    matrix_view::MatrixView, toolbar::Toolbar,
};
use crate::examples::EXAMPLES;
use crate::keys;
use crate::share::{self, SharedState, View};

/// A saved draft with more text than this is not opened by a plain visit: analysing it can
/// take seconds, and it would freeze every visit. The page offers it instead (one click).
pub const AUTO_OPEN_LIMIT: usize = 64 * 1024;
/// Pause between the last change and saving the draft (saving a large state on every
/// wheel tick of a zoom would stutter).
const SAVE_DELAY_MS: u64 = 300;

/// The default state: the first example, any port, graph view.
pub fn default_state() -> SharedState {
    let first = &EXAMPLES[0];
    SharedState::of_texts(first.policies, first.cluster)
}

/// The first state and where it came from: a link in the fragment wins (shown, not saved
/// over the draft), then the saved draft (unless it is too large to open unasked), then the
/// first example. A link that cannot be opened becomes a banner, never a blank page.
fn initial_state() -> (SharedState, Option<Viewing>, Option<String>) {
    let fragment = browser::fragment();
    let example = |state: SharedState| {
        let viewing = Viewing {
            link: false,
            state: state.clone(),
        };
        (state, Some(viewing))
    };
    let fallback = || match browser::load_saved() {
        Some(draft) if draft.text_len() <= AUTO_OPEN_LIMIT => (draft, None),
        _ => example(default_state()),
    };
    if !share::looks_like_state(&fragment) {
        let (state, viewing) = fallback();
        return (state, viewing, None);
    }
    match share::decode(&fragment) {
        Ok(state) => {
            let viewing = Viewing {
                link: true,
                state: state.clone(),
            };
            (state, Some(viewing), None)
        }
        Err(e) => {
            let (state, viewing) = fallback();
            let banner = format!(
                "Could not open the shared link: {e}. Showing your last saved work instead."
            );
            (state, viewing, Some(banner))
        }
    }
}

/// Storage and URL are the outside world: this Effect is the only place that writes the
/// draft. An unedited link or example is not the user's work and is not saved; the first
/// edit makes it the draft (and drops the link from the URL, so a reload shows the latest
/// work). New text is saved at once (a reload right after typing keeps it); a change of the
/// view only (zoom, pan, selection) after a pause, and so are big texts (writing megabytes
/// to storage would hold up the graph of the edit; a pending save is written when the page
/// is left). Failures to save are shown, never swallowed.
fn save_drafts(ctx: Ctx) {
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let saved = StoredValue::new(None::<SharedState>);
    let pending = StoredValue::new(None::<SharedState>);
    let save = move |state: SharedState| {
        pending.set_value(None);
        match browser::save(&state) {
            Ok(()) => ctx.save_error.set(None),
            Err(why) => ctx.save_error.set(Some(why)),
        }
        saved.set_value(Some(state));
    };
    Effect::new(move |_| {
        let state = ctx.shared_state();
        if ctx
            .url_state
            .get_value()
            .is_some_and(|u| !u.same_texts(&state))
        {
            browser::set_fragment(None);
            ctx.url_state.set_value(None);
        }
        if ctx
            .undo
            .get_untracked()
            .is_some_and(|u| !u.loaded.same_texts(&state))
        {
            ctx.undo.set(None);
        }
        match ctx.viewing.get_untracked() {
            Some(v) if v.state.same_texts(&state) => return,
            Some(_) => ctx.set_viewing(None),
            None => {}
        }
        if let Some(t) = timer.get_value() {
            t.clear();
        }
        let new_text = saved.with_value(|s| s.as_ref().is_none_or(|s| !s.same_texts(&state)));
        if new_text && state.text_len() <= crate::text_window::BIG {
            save(state);
            return;
        }
        pending.set_value(Some(state.clone()));
        let handle = set_timeout_with_handle(
            move || save(state),
            std::time::Duration::from_millis(SAVE_DELAY_MS),
        )
        .ok();
        timer.set_value(handle);
    });
    let _ = window_event_listener(leptos::ev::pagehide, move |_| {
        if let Some(state) = pending.get_value() {
            save(state);
        }
    });
}

/// A link pasted into the same tab only changes the fragment: load it too, with Undo.
fn follow_links(ctx: Ctx) {
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        let fragment = browser::fragment();
        if !share::looks_like_state(&fragment) {
            return;
        }
        match share::decode(&fragment) {
            Ok(state) if state != ctx.shared_state_untracked() => {
                let viewing = Viewing {
                    link: true,
                    state: state.clone(),
                };
                ctx.replace(state, Some(viewing), "Opened a shared link".into());
                ctx.banner.set(None);
            }
            Ok(_) => {}
            Err(e) => ctx.banner.set(Some(format!(
                "Could not open the shared link: {e}. Keeping the current state."
            ))),
        }
    });
}

/// Page-wide keys: `?` help, Escape closes or clears, Ctrl+Z undoes a replaced text (outside
/// the editors, which keep their own undo).
fn page_keys(ctx: Ctx) {
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = browser::typing_in(&ev);
        match ev.key().as_str() {
            "Escape" => {
                if ctx.help.get_untracked() {
                    ctx.help.set(false);
                } else if ctx.share_fallback.get_untracked().is_some() {
                    ctx.share_fallback.set(None);
                } else {
                    ctx.selection.set(None);
                }
            }
            "?" if !typing => {
                ev.prevent_default();
                ctx.help.update(|h| *h = !*h);
            }
            "z" | "Z"
                if !typing
                    && (ev.ctrl_key() || ev.meta_key())
                    && ctx.undo.get_untracked().is_some() =>
            {
                ev.prevent_default();
                ctx.undo();
            }
            _ => {}
        }
    });
}

/// The graph as one tab stop: arrows walk endpoints and the connections leaving them, Enter expands a
/// group; what is selected is announced.
#[component]
fn GraphKeys() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Enter" || key == " " {
            if let Some(crate::share::Selection::Node(id)) = ctx.selection.get_untracked() {
                if id.starts_with("group:") {
                    ev.prevent_default();
                    ctx.expanded.update(|e| {
                        e.insert(id);
                    });
                }
            }
            return;
        }
        let next = ctx.graph.with_untracked(|g| {
            let edges = ctx
                .merged
                .with_untracked(|m| keys::drawn_edges(g, m.as_deref()));
            keys::step(ctx.selection.get_untracked().as_ref(), g, &edges, &key)
        });
        if let Some(selection) = next {
            ev.prevent_default();
            ctx.selection.set(Some(selection));
        }
    };
    let announce = move || {
        ctx.selection
            .get()
            .map(|s| ctx.graph.with(|g| keys::describe(g, &s)))
            .unwrap_or_default()
    };
    view! {
        <div
            class="graph-keys"
            data-testid="graph-focus"
            tabindex="0"
            role="application"
            aria-roledescription="connectivity graph"
            aria-label="Connectivity graph. Arrow keys: left and right walk the endpoints, up and down the connections leaving the selected one; Enter expands a group; Escape clears."
            on:keydown=on_key
        >
            <GraphView />
            <p class="sr-only" aria-live="polite" data-testid="graph-announce">{announce}</p>
        </div>
    }
}

/// The graph or the matrix, with the toolbar, marked stale when the text has errors.
#[component]
fn Viz() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let stale = move || ctx.analysis.with(|a| a.stale);
    view! {
        <section
            class=move || if stale() { "viz viz--stale" } else { "viz" }
            aria-label="Connectivity"
            data-stale=move || stale().to_string()
        >
            <Toolbar />
            <div class="viz__body">
                {move || match ctx.view.get() {
                    View::Graph => view! { <GraphKeys /> }.into_any(),
                    View::Matrix => view! { <MatrixView /> }.into_any(),
                }}
                {move || stale().then(|| view! {
                    <div class="stale-mark" data-testid="stale-graph" role="status">
                        <strong>"Out of date"</strong>
                        " — the text has errors; this is the last valid result. Fix them in the Problems list to update."
                    </div>
                })}
            </div>
        </section>
    }
}

/// The playground.
#[component]
pub fn App() -> impl IntoView {
    let (initial, viewing, banner) = initial_state();
    let ctx = Ctx::new(initial.clone());
    ctx.set_viewing(viewing.clone());
    if viewing.as_ref().is_some_and(|v| v.link) {
        ctx.url_state.set_value(Some(initial));
    }
    ctx.banner.set(banner);
    provide_context(ctx);
    crate::components::tutorial::provide();

    save_drafts(ctx);
    follow_links(ctx);
    page_keys(ctx);

    crate::worker_client::start(ctx);

    // Present once the worker's first result is drawn, bumped with every result after it
    // and with every new After graph in compare mode (which the page builds itself).
    let after_changes = Memo::new(move |prev: Option<&u64>| {
        ctx.after_graph.track();
        prev.map_or(0, |p| p + 1)
    });
    let generation = Memo::new(move |_| match ctx.graph_state.generation.get() {
        0 => 0,
        g => g + after_changes.get(),
    });

    view! {
        <div
            class="app"
            data-testid="app"
            data-generation=move || {
                let g = generation.get();
                (g > 0).then(|| g.to_string())
            }
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
            <crate::components::tutorial::TutorialPanel />
            <p class="phone-note muted" data-testid="phone-note">
                "Read-only on a small screen: the graph, the matrix and the explanation. Open the playground on a wider screen to edit."
            </p>
            <main class=move || if ctx.compare.get() { "workspace workspace--compare" } else { "workspace" }>
                <Editor
                    title="Policies"
                    hint="NetworkPolicy YAML, multi-document"
                    testid="policies-editor"
                    file=crate::analysis::POLICIES
                    text=ctx.policies
                    placeholder="Paste NetworkPolicies here: YAML, several documents separated by ---, or the output of kubectl get netpol -A -o yaml"
                />
                <Editor
                    title="Cluster"
                    hint="namespaces and pods: YAML or compact text"
                    testid="cluster-editor"
                    file=crate::analysis::CLUSTER
                    text=ctx.cluster
                    placeholder="Namespaces and pods, as YAML manifests or one per line:\nnamespace prod team=a\npod prod/api app=api ip=10.1.0.5 ports=http:8080\n\nPress ? for the format"
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
                        placeholder="The policies after the change"
                    />
                    <Editor
                        title="After: Cluster"
                        hint="the proposed labels and pods"
                        testid="after-cluster-editor"
                        file=crate::analysis::CLUSTER
                        text=ctx.after_cluster
                        after=true
                        placeholder="The cluster after the change"
                    />
                    <DiffSummary />
                })}
                <Viz />
                <Explanation />
            </main>
            <Help />
        </div>
    }
}
