//! A plain `<textarea>` editor with a line-number gutter and diagnostics drawn at their
//! line (an overlay scrolled in step with the text). A real code editor would cost more
//! wasm/JS than the whole app; this keeps typing native and fast.

use leptos::html;
use leptos::prelude::*;
use netpol_core::{FileId, Severity};

use crate::components::ctx::Ctx;
use crate::text;

/// Line height and padding, in px; must match `.editor__*` in style/app.css.
const LINE: f64 = 20.0;
const PAD: f64 = 10.0;
/// Debounce between the last keystroke and re-evaluation.
const DEBOUNCE_MS: u64 = 150;

/// One editor. `text` is the live text; edits are committed to the analysis after a pause.
#[component]
pub fn Editor(
    /// The panel heading ("Policies", "Cluster", ...).
    title: &'static str,
    /// Muted text next to the heading: what belongs in this editor.
    hint: &'static str,
    /// `data-testid` of the text area.
    testid: &'static str,
    /// The source id diagnostics of this editor's text carry.
    file: FileId,
    /// The live text.
    text: RwSignal<String>,
    /// Compare mode's "after" editor: commits to the after state, follows only jumps into
    /// the After texts and marks the after analysis's diagnostics.
    #[prop(optional)]
    after: bool,
    /// What an empty editor shows.
    #[prop(optional)]
    placeholder: &'static str,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let area = NodeRef::<html::Textarea>::new();
    let scroll = RwSignal::new((0.0f64, 0.0f64));
    let highlight = RwSignal::new(None::<(usize, usize)>);
    let timer = StoredValue::new(None::<TimeoutHandle>);

    let on_input = move |ev: leptos::ev::Event| {
        text.set(event_target_value(&ev));
        highlight.set(None);
        if let Some(t) = timer.get_value() {
            t.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                if after {
                    let p = ctx.after_policies.get_untracked();
                    let c = ctx.after_cluster.get_untracked();
                    ctx.after_committed.set((p, c));
                } else {
                    let p = ctx.policies.get_untracked();
                    let c = ctx.cluster.get_untracked();
                    ctx.committed.set((p, c));
                }
            },
            std::time::Duration::from_millis(DEBOUNCE_MS),
        )
        .ok();
        timer.set_value(handle);
    };

    // Selecting a span is a DOM side effect (the textarea's selection and scroll position).
    Effect::new(move |_| {
        let Some(jump) = ctx.jump.get() else { return };
        if after != jump.after || jump.span.file != file {
            return;
        }
        let Some(el) = area.get() else { return };
        let t = text.get_untracked();
        let start = jump.span.start as usize;
        let end = (jump.span.end as usize).max(start);
        let first = text::line_of(&t, start);
        let last = text::line_of(&t, end.saturating_sub(1).max(start));
        highlight.set(Some((first, last)));
        let _ = el.focus();
        let _ = el.set_selection_range(text::utf16_offset(&t, start), text::utf16_offset(&t, end));
        let top = ((first as f64 - 1.0) * LINE - el.client_height() as f64 / 3.0).max(0.0);
        el.set_scroll_top(top as i32);
    });

    // A whole new text (example, link, Undo) starts at its top, not where the old one was.
    Effect::new(move |first: Option<()>| {
        ctx.epoch.track();
        if first.is_some() {
            if let Some(el) = area.get_untracked() {
                el.set_scroll_top(0);
                el.set_scroll_left(0);
            }
            scroll.set((0.0, 0.0));
        }
    });

    let lines = Memo::new(move |_| text.with(|t| text::line_count(t)));
    let gutter = move || {
        let n = lines.get();
        let mut s = String::with_capacity(n * 4);
        for i in 1..=n {
            s.push_str(&i.to_string());
            s.push('\n');
        }
        s
    };
    let marks = Memo::new(move |_| {
        let a = if after {
            match ctx.after_analysis.get() {
                Some(a) => a,
                None => return Vec::new(),
            }
        } else {
            ctx.analysis.get()
        };
        let mut v: Vec<(u32, Severity, String)> = a
            .model
            .diagnostics
            .iter()
            .filter_map(|d| {
                d.span
                    .filter(|s| s.file == file)
                    .map(|s| (s.line, d.severity, d.message.clone()))
            })
            .collect();
        // Lint findings are marked like diagnostics (before side only: the Problems panel
        // lists the before state's findings).
        if !after {
            ctx.lint.with(|findings| {
                v.extend(findings.iter().filter_map(|f| {
                    f.span
                        .filter(|s| s.file == file)
                        .map(|s| (s.line, f.severity, f.message.clone()))
                }));
            });
        }
        // Never a mark below the last line: a finding of an older text (or a span at the
        // very end) must not float under text that is no longer there.
        let last = lines.get() as u32;
        v.retain(|m| m.0 <= last);
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        // One message per line (the worst first); the list shows all of them.
        v.dedup_by_key(|m| m.0);
        v
    });
    let sev_class = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let errors = move || marks.with(|m| m.iter().filter(|x| x.1 == Severity::Error).count());
    let warnings = move || marks.with(|m| m.iter().filter(|x| x.1 == Severity::Warning).count());

    view! {
        <section class="editor" aria-label=title>
            <header class="panel-head">
                <h2 class="panel-head__title">
                    // In compare mode the plain editors are the "before" side.
                    {move || if !after && ctx.compare.get() { format!("Before: {title}") } else { title.to_string() }}
                </h2>
                <span class="panel-head__hint">{hint}</span>
                <span class="spacer"></span>
                {move || {
                    let e = errors();
                    (e > 0).then(|| view! { <span class="pill pill--error">{e} " error"{if e == 1 { "" } else { "s" }}</span> })
                }}
                {move || {
                    let w = warnings();
                    (w > 0).then(|| view! { <span class="pill pill--warning">{w} " warning"{if w == 1 { "" } else { "s" }}</span> })
                }}
            </header>
            <div class="editor__body">
                <pre
                    class="editor__gutter"
                    aria-hidden="true"
                    style=move || format!("transform: translateY({}px)", -scroll.get().0)
                >
                    {gutter}
                </pre>
                <div class="editor__main">
                    <div
                        class="editor__overlay"
                        aria-hidden="true"
                        style=move || format!("transform: translateY({}px)", -scroll.get().0)
                    >
                        {move || {
                            highlight
                                .get()
                                .map(|(a, b)| {
                                    view! {
                                        <div
                                            class="editor__band"
                                            style=format!(
                                                "top: {}px; height: {}px",
                                                PAD + (a as f64 - 1.0) * LINE,
                                                (b + 1 - a) as f64 * LINE,
                                            )
                                        ></div>
                                    }
                                })
                        }}
                        {move || {
                            marks
                                .get()
                                .into_iter()
                                .map(|(line, sev, msg)| {
                                    let top = PAD + (line as f64 - 1.0) * LINE;
                                    let tip = msg.clone();
                                    view! {
                                        <div
                                            class=format!("editor__line-mark editor__line-mark--{}", sev_class(sev))
                                            style=format!("top: {top}px")
                                        ></div>
                                        <div
                                            class=format!("editor__inline editor__inline--{}", sev_class(sev))
                                            data-testid="inline-diagnostic"
                                            data-line=line.to_string()
                                            style=format!("top: {top}px")
                                            title=tip
                                        >
                                            {msg}
                                        </div>
                                    }
                                })
                                .collect_view()
                        }}
                    </div>
                    <textarea
                        class="editor__text"
                        data-testid=testid
                        node_ref=area
                        spellcheck="false"
                        autocomplete="off"
                        autocapitalize="off"
                        wrap="off"
                        aria-label=format!("{title} editor")
                        placeholder=placeholder
                        prop:value=move || text.get()
                        on:input=on_input
                        on:scroll=move |ev| {
                            let el = event_target::<web_sys::HtmlTextAreaElement>(&ev);
                            scroll.set((el.scroll_top() as f64, el.scroll_left() as f64));
                        }
                    ></textarea>
                </div>
            </div>
        </section>
    }
}
