//! The top bar: examples, port/protocol, view, show-denied, share and export.

use leptos::prelude::*;

use crate::browser;
use crate::components::ctx::{Ctx, Viewing};
use crate::components::tutorial;
use crate::examples::{self, EXAMPLES};
use crate::export;
use crate::probe::{self, Probe};
use crate::share::{SharedState, View, MAX_DECODED};

/// The top bar.
#[component]
pub fn Header() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let tutorials = expect_context::<tutorial::Tutorials>();

    let on_example = move |ev: leptos::ev::Event| {
        let key = event_target_value(&ev);
        if tutorial::start(ctx, tutorials, &key) {
            return;
        }
        tutorial::stop(tutorials);
        let Some(ex) = examples::find(&key) else {
            return;
        };
        let current = ctx.shared_state_untracked();
        let state = SharedState {
            view: current.view,
            show_denied: current.show_denied,
            show_exposure: current.show_exposure,
            ..SharedState::of_texts(ex.policies, ex.cluster)
        };
        let viewing = Viewing {
            link: false,
            state: state.clone(),
        };
        ctx.replace(
            state,
            Some(viewing),
            format!("Loaded the example “{}”", ex.title),
        );
    };
    let port_options = move || {
        let a = ctx.analysis.get();
        probe::options(&a.model, &ctx.probe.get())
            .into_iter()
            .map(|p| {
                let key = p.key();
                view! { <option value=key>{p.label()}</option> }
            })
            .collect_view()
    };
    let share = move |_| {
        let state = ctx.shared_state_untracked();
        let Ok((url, fragment)) = browser::share_url(&state) else {
            ctx.banner.set(Some(format!(
                "This state is too large to share as a link (over {} KB); export the files instead.",
                MAX_DECODED / 1024
            )));
            return;
        };
        browser::set_fragment(Some(&fragment));
        ctx.url_state.set_value(Some(state));
        ctx.shared_url.set(Some(url.clone()));
        ctx.share_fallback.set(None);
        let shown = url.clone();
        // Without clipboard access the link goes into a selectable field instead (a refused
        // write arrives later, and takes the toast back).
        browser::copy(&url, move || {
            ctx.toast.set(None);
            ctx.share_fallback.set(Some(shown));
        });
        if ctx.share_fallback.get_untracked().is_none() {
            ctx.toast.set(Some("Link copied to the clipboard".into()));
            set_timeout(
                move || ctx.toast.set(None),
                std::time::Duration::from_millis(2500),
            );
        }
    };
    let export_file = move |kind: export::Kind| {
        let g = ctx.graph.get_untracked();
        let l = ctx.layout.get_untracked();
        let probe = ctx.probe.get_untracked();
        let after = ctx.after_graph.get_untracked();
        let merged = ctx.merged.get_untracked();
        let compare = after.as_deref().zip(merged.as_deref());
        let file = export::file(
            kind,
            &export::Snapshot {
                graph: &g,
                layout: &l,
                probe: &probe,
                compare,
            },
        );
        browser::download(&file.name, file.mime, &file.content);
    };
    let export_item = move |kind: export::Kind, label: &'static str, ext: &'static str| {
        view! {
            <button
                class="menu__item"
                role="menuitem"
                data-testid=format!("export-{}", ext.to_ascii_lowercase())
                on:click=move |_| export_file(kind)
            >
                {label}
                <span class="menu__ext">{ext}</span>
            </button>
        }
    };

    view! {
        <header class="topbar">
            <div class="brand">
                <svg class="brand__mark" viewBox="0 0 24 24" aria-hidden="true">
                    <circle cx="5" cy="6" r="3"></circle>
                    <circle cx="19" cy="6" r="3"></circle>
                    <circle cx="12" cy="19" r="3"></circle>
                    <path d="M7.5 7.5 L10.5 16.5 M16.5 7.5 L13.5 16.5 M8 6 H16"></path>
                </svg>
                <div>
                    <div class="brand__name">"netpol"</div>
                    <div class="brand__tag">"NetworkPolicy playground"</div>
                </div>
            </div>
            <div class="controls">
                <label class="field">
                    <span class="field__label">"Example"</span>
                    <select
                        data-testid="example-select"
                        prop:value=move || tutorial::menu_value(tutorials).unwrap_or_else(|| ctx.example.get().map_or("custom", |e| e.key).to_string())
                        on:change=on_example
                    >
                        // Shown (not choosable) once the text is no longer an example's.
                        <option value="custom" disabled>"Custom"</option>
                        {EXAMPLES
                            .iter()
                            .map(|e| view! { <option value=e.key>{e.title}</option> })
                            .collect_view()}
                        <optgroup label="Tutorials">
                            {tutorial::menu(tutorials).into_iter().map(|(key, title)| view! { <option value=key>{title}</option> }).collect_view()}
                        </optgroup>
                    </select>
                </label>
                <label class="field">
                    <span class="field__label">"Port"</span>
                    <select
                        data-testid="port-select"
                        prop:value=move || ctx.probe.get().key()
                        on:change=move |ev| {
                            if let Some(p) = Probe::parse(&event_target_value(&ev)) {
                                ctx.probe.set(p);
                            }
                        }
                    >
                        {port_options}
                    </select>
                </label>
                <div class="segmented" role="group" aria-label="View">
                    <button
                        data-testid="view-graph"
                        aria-pressed=move || (ctx.view.get() == View::Graph).to_string()
                        on:click=move |_| ctx.view.set(View::Graph)
                    >
                        "Graph"
                    </button>
                    <button
                        data-testid="view-matrix"
                        aria-pressed=move || (ctx.view.get() == View::Matrix).to_string()
                        on:click=move |_| ctx.view.set(View::Matrix)
                    >
                        "Matrix"
                    </button>
                </div>
                <label class="toggle">
                    <input
                        type="checkbox"
                        data-testid="show-denied"
                        prop:checked=move || ctx.show_denied.get()
                        on:change=move |ev| ctx.show_denied.set(event_target_checked(&ev))
                    />
                    <span>"Show denied"</span>
                </label>
                <label class="toggle" title="Also draw, one edge each, the pairs no policy decides: neither side is isolated, so every port is allowed">
                    <input
                        type="checkbox"
                        data-testid="show-unrestricted"
                        prop:checked=move || ctx.graph_state.show_unrestricted.get()
                        on:change=move |ev| ctx.graph_state.show_unrestricted.set(event_target_checked(&ev))
                    />
                    <span>"Show unrestricted"</span>
                </label>
                <label class="toggle" title="Draw the pods that do not exist yet which the policies' rules admit (ghost nodes), for the sides a policy isolates">
                    <input
                        type="checkbox"
                        data-testid="show-exposure"
                        prop:checked=move || ctx.show_exposure.get()
                        on:change=move |ev| ctx.show_exposure.set(event_target_checked(&ev))
                    />
                    <span>"Exposure"</span>
                </label>
                <label class="toggle" title="Edit a second, \"after\" state and see what the change does">
                    <input
                        type="checkbox"
                        data-testid="compare-toggle"
                        prop:checked=move || ctx.compare.get()
                        on:change=move |ev| ctx.set_compare(event_target_checked(&ev))
                    />
                    <span>"Compare"</span>
                </label>
            </div>
            <div class="actions">
                <crate::components::generate::Generate />
                <button
                    class="button button--primary"
                    data-testid="share"
                    data-url=move || ctx.shared_url.get().unwrap_or_default()
                    on:click=share
                    title="Copy a link that opens exactly this state"
                >
                    "Copy link"
                </button>
                <button
                    class="button button--icon"
                    data-testid="help-button"
                    aria-label="Help and keyboard shortcuts"
                    title="Help and keyboard shortcuts (?)"
                    aria-expanded=move || ctx.help.get().to_string()
                    on:click=move |_| ctx.help.update(|h| *h = !*h)
                >
                    "?"
                </button>
                <details class="menu" data-testid="export-menu">
                    <summary class="button">"Export"</summary>
                    <div class="menu__list" role="menu">
                        {export_item(export::Kind::Svg, "Graph", "SVG")}
                        {export_item(export::Kind::Csv, "Matrix", "CSV")}
                        {export_item(export::Kind::Json, "Matrix", "JSON")}
                        {export_item(export::Kind::Dot, "Connectivity", "DOT")}
                        {export_item(export::Kind::Mermaid, "Connectivity", "Mermaid")}
                    </div>
                </details>
            </div>
        </header>
    }
}
