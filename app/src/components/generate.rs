//! "Generate": the policies for what the graph shows now ([`synth::freeze`]), shown with
//! their self-check (the core compares the connectivity with them, instead of and next to
//! the policies in force, with today's) before they replace or extend the Policies editor
//! through [`Ctx::replace`] (one Undo step).

use leptos::prelude::*;
use netpol_core::synth::{self, Freeze, PairChange};

use crate::browser;
use crate::components::ctx::Ctx;
use crate::connectivity;

/// A generated set on screen, with the Policies text it was made for.
#[derive(Clone, Debug)]
struct Generated {
    freeze: Freeze,
    /// The committed Policies text it was computed from.
    policies: String,
    ms: f64,
}

/// The Policies text with `generated` after it, as one more YAML document.
pub fn extended(policies: &str, generated: &str) -> String {
    if policies.trim().is_empty() {
        return generated.to_string();
    }
    let sep = if policies.ends_with('\n') { "" } else { "\n" };
    format!("{policies}{sep}---\n{generated}")
}

/// The button (in the top bar) and, once pressed, the dialog with the proposal.
#[component]
pub fn Generate() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let shown = RwSignal::new(None::<Generated>);
    let error = RwSignal::new(None::<String>);
    let open = move |_| {
        error.set(None);
        // A stale analysis is an older text's: generating from it would drop the edits.
        if ctx.analysis.with_untracked(|a| a.stale) {
            ctx.banner.set(Some("Nothing generated: the text has errors, and the graph shows the last valid result; fix the errors in the Problems list first.".into()));
            return;
        }
        let a = ctx.analysis.get_untracked();
        let started = now();
        let freeze = synth::freeze(&a.model);
        let ms = now() - started;
        shown.set(Some(Generated {
            freeze,
            policies: ctx.committed.get_untracked().0,
            ms,
        }));
    };
    let write = move |add: bool| {
        let Some(g) = shown.get_untracked() else {
            return;
        };
        if ctx.policies.get_untracked() != g.policies {
            error.set(Some(
                "The Policies text changed since these were generated; generate again.".into(),
            ));
            return;
        }
        let mut state = ctx.shared_state_untracked();
        state.cluster = ctx.cluster.get_untracked();
        let n = g.freeze.policies.len();
        let (text, what) = if add {
            (
                extended(&g.policies, &g.freeze.text),
                format!("Added {n} generated policies"),
            )
        } else {
            (
                g.freeze.text.clone(),
                format!("Replaced the policies with {n} generated ones"),
            )
        };
        state.policies = text;
        ctx.replace(state, None, what);
        shown.set(None);
    };
    view! {
        <button
            class="button"
            data-testid="generate"
            title="Write NetworkPolicies that allow exactly what the graph shows now (checked before anything is written)"
            on:click=open
        >
            "Generate"
        </button>
        {move || shown.get().map(|g| dialog(g, shown, error, write))}
    }
}

fn dialog(
    g: Generated,
    shown: RwSignal<Option<Generated>>,
    error: RwSignal<Option<String>>,
    write: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let f = &g.freeze;
    let n = f.policies.len();
    let problems = f
        .diagnostics
        .iter()
        .map(|d| format!("line {}: {}", d.span.map_or(0, |s| s.line), d.message))
        .collect::<Vec<_>>();
    let instead = check_line(
        &f.changes,
        &format!("Instead of the policies in force, these {n} allow exactly what is allowed now."),
        "Instead of the policies in force, these change",
    );
    let alongside = check_line(
        &f.changes_alongside,
        "Next to the policies in force, they allow exactly what is allowed now.",
        "Next to the policies in force, they change",
    );
    let passed = problems.is_empty() && f.changes.is_empty();
    view! {
        <div class="help-backdrop" on:click=move |_| shown.set(None)>
            <div class="help generate" role="dialog" aria-label="Generated policies" data-testid="generate-dialog"
                data-ms=format!("{:.2}", g.ms) data-passed=passed.to_string()
                on:click=|ev| ev.stop_propagation()>
                <div class="help__head">
                    <h2>{format!("Generated: {n} policies for what is allowed now")}</h2>
                    <button class="banner__close" aria-label="Close" on:click=move |_| shown.set(None)>"×"</button>
                </div>
                <h3>"Self-check"</h3>
                <div data-testid="generate-check">
                    {instead}
                    {alongside}
                    {(!problems.is_empty()).then(|| view! {
                        <p class="proposal__refusal" role="alert">{format!("The written text does not parse back cleanly (a netpol bug): {}", problems.join("; "))}</p>
                    })}
                </div>
                <h3>"Policies"</h3>
                <pre class="generate__yaml" data-testid="generate-yaml">{f.text.clone()}</pre>
                {move || error.get().map(|e| view! { <p class="proposal__refusal" role="alert" data-testid="generate-error">{e}</p> })}
                <div class="proposal__buttons">
                    <button class="button button--primary" data-testid="generate-replace" title="Replace the Policies editor's text with these (Undo brings it back)" on:click=move |_| write(false)>"Replace the Policies"</button>
                    <button class="button" data-testid="generate-add" title="Append these to the Policies editor's text (Undo brings it back)" on:click=move |_| write(true)>"Add to the Policies"</button>
                    <button class="button" data-testid="generate-cancel" on:click=move |_| shown.set(None)>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}

/// One line of the check: exact, or the pairs whose allowed ports differ.
fn check_line(changes: &[PairChange], exact: &str, differs: &str) -> AnyView {
    if changes.is_empty() {
        return view! { <p class="generate__check--ok" data-testid="generate-exact">{format!("✓ {exact}")}</p> }.into_any();
    }
    view! {
        <p class="generate__check--diff">{format!("{differs} {} pairs:", changes.len())}</p>
        <ul class="proposal__others" data-testid="generate-changes">
            {changes.iter().map(|c| view! {
                <li>{format!("{} → {}: {} → {}", c.from, c.to, connectivity::ports_label(&c.before), connectivity::ports_label(&c.after))}</li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

fn now() -> f64 {
    if cfg!(target_arch = "wasm32") {
        browser::now_ms()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extending_adds_one_document() {
        assert_eq!(extended("", "a: 1\n"), "a: 1\n");
        assert_eq!(extended("x: 1\n", "a: 1\n"), "x: 1\n---\na: 1\n");
        assert_eq!(extended("x: 1", "a: 1\n"), "x: 1\n---\na: 1\n");
    }
}
