//! The help overlay (`?`): the compact cluster form at a glance, every shortcut, and the
//! format's full reference (shipped with the page, so it works offline and on any host).

use leptos::prelude::*;

use crate::browser;
use crate::components::ctx::Ctx;

/// The compact form's reference, the same file the repository documents it in.
const COMPACT_FORMAT: &str = include_str!("../../../docs/compact-format.md");

const SHORTCUTS: &[(&str, &str)] = &[
    ("?", "open or close this help"),
    (
        "Tab",
        "move between the editors, the graph (one stop) and the panels",
    ),
    ("← →", "in the graph: previous / next endpoint"),
    (
        "↑ ↓",
        "in the graph: the connections leaving the selected endpoint",
    ),
    ("Home End", "in the graph: first / last endpoint"),
    (
        "Enter",
        "in the graph: expand a selected group; in the matrix: explain the cell",
    ),
    ("arrows", "in the matrix: move between cells"),
    ("Esc", "clear the selection, close this help"),
    (
        "Ctrl+Z",
        "outside the editors: undo loading an example, a link or a tutorial, or an applied Allow this, Deny this or Generate",
    ),
];

/// The overlay; renders nothing while closed.
#[component]
pub fn Help() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Focus moves into the dialog when it opens (so Tab and Escape act on it).
    Effect::new(move |_| {
        if ctx.help.get() {
            request_animation_frame(|| browser::focus("[data-testid=\"help-close\"]"));
        }
    });
    move || {
        ctx.help.get().then(|| {
            view! {
                <div class="help-backdrop" on:click=move |_| ctx.help.set(false)>
                    <div
                        class="help"
                        role="dialog"
                        aria-modal="true"
                        aria-label="Help"
                        data-testid="help"
                        on:click=|ev| ev.stop_propagation()
                    >
                        <header class="help__head">
                            <h2>"netpol playground"</h2>
                            <button class="banner__close" data-testid="help-close" aria-label="Close help" on:click=move |_| ctx.help.set(false)>"×"</button>
                        </header>
                        <p>
                            "Paste NetworkPolicies on the left and your cluster beside them; the graph and the matrix show who may talk to whom, and clicking anything says why. Everything runs in this page; nothing is uploaded."
                        </p>
                        <h3>"The cluster in compact form"</h3>
                        <pre class="help__code">"namespace prod team=payments\npod prod/api app=api ip=10.1.0.5 ports=http:8080\npod web app=web                # in namespace default\ndeployment prod/worker app=worker ports=8080"</pre>
                        <p class="small">
                            "One object per line: keyword, name, then "<code>"key=value"</code>" labels; "<code>"ip="</code>", "<code>"ports="</code>" and "<code>"node="</code>" are reserved. Manifests (YAML or JSON, as "<code>"kubectl get -o yaml"</code>" prints them) work too."
                        </p>
                        <h3>"Keyboard"</h3>
                        <table class="help__keys" data-testid="help-shortcuts">
                            <tbody>
                                {SHORTCUTS.iter().map(|(k, what)| view! { <tr><th scope="row"><kbd>{*k}</kbd></th><td>{*what}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                        <h3>"Documentation"</h3>
                        <p>
                            <a href="compact-format.md" target="_blank" rel="noopener" data-testid="help-docs">"The compact form (compact-format.md)"</a>
                            ", also right here:"
                        </p>
                        <details class="help__doc">
                            <summary>"Full reference of the compact form"</summary>
                            <pre>{COMPACT_FORMAT}</pre>
                        </details>
                    </div>
                </div>
            }
        })
    }
}
