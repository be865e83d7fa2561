//! Guided tutorials (the core's, [`netpol_core::tutorial`]), started from the examples menu.
//! The panel states the step's goal and checks it live with [`tutorial::check_step`] on the
//! committed text (so it is debounced like the graph); after a wrong try it shows the
//! core's hint, and once the step passes it offers the next one. Its own narrow context
//! ([`Tutorials`]) keeps [`Ctx`] from growing.

use std::sync::Arc;

use leptos::prelude::*;
use netpol_core::tutorial::{self, StepResult, Tutorial};

use crate::components::ctx::{Ctx, Viewing};
use crate::share::SharedState;

/// The examples menu's value prefix for a tutorial (`tutorial:<id>`).
pub const PREFIX: &str = "tutorial:";

/// The tutorial being walked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Active {
    /// Index into the core's list.
    pub index: usize,
    /// Current step.
    pub step: usize,
    /// The Policies text when the step began: until the text differs, the user has not
    /// tried anything yet, and no hint is shown.
    pub start: String,
}

/// The tutorials and the one being walked.
#[derive(Clone, Copy)]
pub struct Tutorials {
    /// Every tutorial of the core (or why they could not be read).
    pub list: StoredValue<Arc<Result<Vec<Tutorial>, String>>>,
    /// The tutorial on screen, if any.
    pub active: RwSignal<Option<Active>>,
}

/// Provides the tutorials' context (once, in the app).
pub fn provide() {
    provide_context(Tutorials {
        list: StoredValue::new(Arc::new(tutorial::all())),
        active: RwSignal::new(None),
    });
}

/// `(menu value, title)` of every tutorial, for the examples menu.
pub fn menu(t: Tutorials) -> Vec<(String, String)> {
    t.list.with_value(|l| match l.as_ref() {
        Ok(list) => list
            .iter()
            .map(|t| (format!("{PREFIX}{}", t.id), t.title.clone()))
            .collect(),
        Err(_) => Vec::new(),
    })
}

/// The menu value of the tutorial being walked.
pub fn menu_value(t: Tutorials) -> Option<String> {
    let index = t.active.with(|a| a.as_ref().map(|a| a.index))?;
    t.list.with_value(|l| {
        l.as_ref()
            .as_ref()
            .ok()
            .and_then(|list| list.get(index))
            .map(|t| format!("{PREFIX}{}", t.id))
    })
}

/// Starts the tutorial a menu value names (its cluster and start text replace the editors'
/// text, as an example does: one Undo step). False when `key` is not a tutorial's.
pub fn start(ctx: Ctx, t: Tutorials, key: &str) -> bool {
    let Some(id) = key.strip_prefix(PREFIX) else {
        return false;
    };
    let found = t.list.with_value(|l| {
        let list = l.as_ref().as_ref().ok()?;
        let index = list.iter().position(|t| t.id == id)?;
        Some((index, list[index].clone()))
    });
    let Some((index, tutorial)) = found else {
        ctx.banner
            .set(Some(format!("There is no tutorial `{id}`.")));
        return true;
    };
    let current = ctx.shared_state_untracked();
    let state = SharedState {
        view: current.view,
        show_denied: current.show_denied,
        ..SharedState::of_texts(&tutorial.policies, &tutorial.cluster)
    };
    let viewing = Viewing {
        link: false,
        state: state.clone(),
    };
    ctx.replace(
        state,
        Some(viewing),
        format!("Started the tutorial “{}”", tutorial.title),
    );
    t.active.set(Some(Active {
        index,
        step: 0,
        start: tutorial.policies,
    }));
    true
}

/// Leaves the tutorial (the text stays).
pub fn stop(t: Tutorials) {
    t.active.set(None);
}

/// What the panel shows for the current step.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Status {
    tutorial: Tutorial,
    active: Active,
    result: StepResult,
    /// The text differs from the step's start: a failure now is a wrong try.
    tried: bool,
}

/// The panel (`data-testid="tutorial"`); nothing while no tutorial is walked.
#[component]
pub fn TutorialPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = expect_context::<Tutorials>();
    let status = Memo::new(move |_| {
        let active = t.active.get()?;
        let tutorial = t
            .list
            .with_value(|l| l.as_ref().as_ref().ok()?.get(active.index).cloned())?;
        let step = tutorial.steps.get(active.step)?;
        let policies = ctx.committed.with(|c| c.0.clone());
        let result = tutorial::check_step(&tutorial.model(&policies), step);
        let tried = policies != active.start;
        Some(Status {
            tutorial,
            active,
            result,
            tried,
        })
    });
    move || status.get().map(|s| panel(ctx, t, s))
}

fn panel(ctx: Ctx, t: Tutorials, s: Status) -> impl IntoView {
    let steps = s.tutorial.steps.len();
    let step = &s.tutorial.steps[s.active.step];
    let last = s.active.step + 1 == steps;
    let passed = s.result.passed;
    let status = if passed {
        if last {
            "✓ Passed — that was the last step: tutorial complete.".to_string()
        } else {
            "✓ Passed.".to_string()
        }
    } else if s.tried {
        format!("Not yet: {}", expectations(s.result.failures.len()))
    } else {
        "Edit the Policies to reach the goal; it is checked as you type.".to_string()
    };
    let failures = (!passed && s.tried).then(|| {
        view! {
            <ul class="tutorial__failures" data-testid="tutorial-failures">
                {s.result.failures.iter().map(|f| view! { <li>{f.clone()}</li> }).collect_view()}
            </ul>
        }
    });
    let hint = s
        .result
        .hint
        .clone()
        .filter(|_| s.tried)
        .map(|h| view! { <p class="tutorial__hint" data-testid="tutorial-hint" role="status">"Hint: " {h}</p> });
    let solution = step.solution.clone();
    let title = s.tutorial.title.clone();
    let step_no = s.active.step;
    let show_solution = move |_| {
        let mut state = ctx.shared_state_untracked();
        state.policies = solution.clone();
        state.cluster = ctx.cluster.get_untracked();
        ctx.replace(
            state,
            None,
            format!("Showed the solution of step {}", step_no + 1),
        );
    };
    let next = move |_| {
        if last {
            t.active.set(None);
            return;
        }
        let start = ctx.policies.get_untracked();
        t.active.update(|a| {
            if let Some(a) = a {
                a.step += 1;
                a.start = start;
            }
        });
    };
    view! {
        <section class="tutorial" data-testid="tutorial" aria-label="Tutorial" data-step=(s.active.step + 1).to_string()>
            <div class="tutorial__head">
                <span class="tutorial__title">{title}</span>
                <span class="muted" data-testid="tutorial-step">{format!("Step {} of {steps}", s.active.step + 1)}</span>
                <span class="spacer"></span>
                <button class="banner__close" data-testid="tutorial-close" aria-label="Leave the tutorial" on:click=move |_| t.active.set(None)>"×"</button>
            </div>
            <p class="tutorial__goal" data-testid="tutorial-goal">{step.goal.clone()}</p>
            <div class="tutorial__side">
                {passed.then(|| view! {
                    <button class="button button--small button--primary" data-testid="tutorial-next" on:click=next>
                        {if last { "Finish" } else { "Next step" }}
                    </button>
                })}
                {(!passed).then(|| view! {
                    <button class="button button--small" data-testid="tutorial-solution" title="Replace the Policies with a solution of this step (Undo brings your text back)" on:click=show_solution>"Show a solution"</button>
                })}
            </div>
            <p
                class=if passed { "tutorial__status tutorial__status--passed" } else { "tutorial__status tutorial__status--failing" }
                data-testid="tutorial-status"
                data-passed=passed.to_string()
                aria-live="polite"
            >
                {status}
            </p>
            {failures}
            {hint}
        </section>
    }
}

fn expectations(n: usize) -> String {
    if n == 1 {
        "1 expectation fails".to_string()
    } else {
        format!("{n} expectations fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The panel reads the core's tutorials as they are: at least five, each start text
    /// failing its first step with a hint, each reference solution passing its step.
    #[test]
    fn the_core_tutorials_check_as_the_panel_asks() {
        let list = tutorial::all().unwrap();
        assert!(list.len() >= 5);
        for t in &list {
            let first = tutorial::check_step(&t.model(&t.policies), &t.steps[0]);
            assert!(!first.passed && first.hint.is_some(), "{}", t.id);
            for step in &t.steps {
                assert!(
                    tutorial::check_step(&t.model(&step.solution), step).passed,
                    "{}",
                    t.id
                );
            }
        }
    }
}
