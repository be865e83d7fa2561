//! A plain `<textarea>` editor with a line-number gutter and diagnostics drawn at their
//! line (an overlay scrolled in step with the text). A real code editor would cost more
//! wasm/JS than the whole app; this keeps typing native and fast.
//!
//! Big texts (over [`text_window::BIG`] bytes, e.g. 10,000 pods) are held a window of
//! lines at a time: the textarea holds the lines around the view, placed at their height
//! in a scroller that a spacer makes as tall as the whole text, so it scrolls like the
//! whole text while Chromium lays out a few hundred lines instead of tens of thousands.
//! Edits are spliced back into the whole text by offset; big pastes are inserted by hand,
//! never through the textarea. Within the window everything is the browser's own editing;
//! an edit, copy or cut of everything held stands for the whole text, while find and undo
//! cover the lines held.
//!
//! The textarea is written only when the text changes from outside (an example, a link,
//! Undo, an applied proposal): after a keystroke it already shows what the signal says.

use leptos::html;
use leptos::prelude::*;
use netpol_core::{FileId, Severity};
use wasm_bindgen::JsCast;
use web_sys::{HtmlDivElement, HtmlElement, HtmlTextAreaElement};

use crate::components::ctx::Ctx;
use crate::text;
use crate::text_window::{self, Window, BIG, MARGIN};

/// Line height and padding, in px; must match `.editor__*` in style/app.css.
const LINE: f64 = 20.0;
const PAD: f64 = 10.0;
/// Problem marks are drawn for lines in blocks of this many around the view.
const MARK_BLOCK: u32 = 100;
/// Debounce between the last keystroke and re-evaluation.
const DEBOUNCE_MS: u64 = 150;
/// Pastes longer than this (bytes) are inserted by hand: through the textarea they would
/// be laid out whole before the editor could window them.
const BIG_PASTE: usize = 128 * 1024;

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
    let scroller = NodeRef::<html::Div>::new();
    let spacer = NodeRef::<html::Div>::new();
    let dom = move || Dom::get(area, scroller, spacer);
    let scroll = RwSignal::new((0.0f64, 0.0f64));
    let highlight = RwSignal::new(None::<(usize, usize)>);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    // The window held when the text is big; `held` mirrors its lines for the gutter.
    let window = StoredValue::new(None::<Window>);
    let held = RwSignal::new(None::<(usize, usize)>);
    // Set by an edit made in the textarea: the text signal's next change is already shown.
    let typed = StoredValue::new(false);
    let keep = move |w: Option<Window>| {
        window.set_value(w);
        held.set(w.map(|w| (w.first, w.lines)));
    };
    // The window, if it is onto the current text.
    let current = move || {
        window
            .get_value()
            .filter(|w| text.with_untracked(|t| w.fits(t)))
    };

    let commit_later = move || {
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

    // Whether the edit about to happen replaces everything the textarea holds (select all,
    // then type, paste or delete): with a window held, that means the whole text.
    let all_selected = StoredValue::new(false);
    let on_beforeinput = move |_: web_sys::InputEvent| {
        all_selected.set_value(dom().is_some_and(|d| d.all_selected()));
    };

    let on_input = move |ev: leptos::ev::Event| {
        highlight.set(None);
        let Some(dom) = dom() else {
            return;
        };
        let shown = dom.area.value();
        // The value stands for the whole text, not for the lines held, when everything held
        // was selected, when it is itself big (big pastes never go through the textarea),
        // or when a script set it (a plain `Event`, not the browser's `InputEvent`) to
        // something that keeps less than half of the lines held.
        let everything = std::mem::take(&mut *all_selected.write_value());
        let scripted = ev.dyn_ref::<web_sys::InputEvent>().is_none();
        let replaces = everything
            || shown.len() > BIG
            || (scripted
                && current().is_some_and(|w| {
                    text.with_untracked(|t| !text_window::mostly_kept(w.slice(t), &shown))
                }));
        let whole = match current().filter(|_| !replaces) {
            Some(w) => {
                let (whole, next) = text.with_untracked(|t| w.splice(t, &shown));
                if !text_window::windowed(whole.len(), true) {
                    let selected = dom
                        .selection(&shown)
                        .map(|(a, b)| (next.to_whole(a), next.to_whole(b)));
                    let top = dom.top_line(true);
                    dom.show_whole(&whole, selected, top);
                    keep(None);
                } else {
                    keep(Some(next));
                }
                whole
            }
            None => {
                let windowed = window.get_value().is_some();
                if text_window::windowed(shown.len(), windowed) {
                    // A script (or the browser) put a big text in whole: window it before
                    // the next frame lays it out.
                    // (The view's line from the last scroll: reading the textarea's
                    // layout now would lay the whole text out. A script's value leaves the
                    // caret at its end, far below the lines held: nothing to keep.)
                    let top = line_at(scroll.get_untracked().0);
                    keep(Some(dom.show_window(&shown, top, None, None)));
                    dom.scroll_to_line(top);
                } else if windowed {
                    let top = dom.top_line(true);
                    let selected = dom.selection(&shown);
                    dom.show_whole(&shown, selected, top);
                    keep(None);
                }
                shown
            }
        };
        typed.set_value(true);
        text.set(whole);
        commit_later();
    };

    // A big paste goes into the text directly (normalised like the textarea would).
    let on_paste = move |ev: web_sys::ClipboardEvent| {
        let Some(pasted) = ev.clipboard_data().and_then(|d| d.get_data("text").ok()) else {
            return;
        };
        if pasted.len() <= BIG_PASTE {
            return;
        }
        let Some(dom) = dom() else {
            return;
        };
        ev.prevent_default();
        let pasted = pasted.replace("\r\n", "\n").replace('\r', "\n");
        let w = current();
        let (whole, caret) = text.with_untracked(|t| {
            let shown = w.map_or(t.as_str(), |w| w.slice(t));
            let (a, b) = dom.selection(shown).unwrap_or((shown.len(), shown.len()));
            let (a, b) = w.map_or((a, b), |w| (w.to_whole(a), w.to_whole(b)));
            let (a, b) = (a.min(t.len()), b.clamp(a.min(t.len()), t.len()));
            (
                format!("{}{}{}", &t[..a], pasted, &t[b..]),
                a + pasted.len(),
            )
        });
        let line = text::line_of(&whole, caret).saturating_sub(1);
        let top = line.saturating_sub(dom.rows() / 2);
        if text_window::windowed(whole.len(), w.is_some()) {
            keep(Some(dom.show_window(
                &whole,
                top,
                Some((caret, caret)),
                None,
            )));
        } else {
            dom.show_whole(&whole, Some((caret, caret)), top);
            keep(None);
        }
        dom.scroll_to_line(top);
        highlight.set(None);
        typed.set_value(true);
        text.set(whole);
        commit_later();
    };

    // Copying or cutting everything held copies the whole text (select all means all).
    let on_copy = move |ev: web_sys::ClipboardEvent, cut: bool| {
        let Some(dom) = dom() else {
            return;
        };
        if current().is_none() || !dom.all_selected() {
            return;
        }
        let Some(data) = ev.clipboard_data() else {
            return;
        };
        if text
            .with_untracked(|t| data.set_data("text/plain", t))
            .is_err()
        {
            return;
        }
        ev.prevent_default();
        if cut {
            dom.show_whole("", None, 0);
            keep(None);
            typed.set_value(true);
            text.set(String::new());
            commit_later();
        }
    };

    // Scrolling (of the textarea when whole, of the scroller when windowed) moves the
    // gutter and marks, and a window that no longer covers the view moves with it.
    let on_scroll = move |_: leptos::ev::Event| {
        let Some(dom) = dom() else {
            return;
        };
        scroll.set(dom.scroll());
        let Some(w) = window.get_value() else {
            return;
        };
        let (top, rows) = (dom.top_line(true), dom.rows());
        if w.covers(top, rows) {
            return;
        }
        let focused = dom.focused();
        let moved = text.with_untracked(|t| {
            if !w.fits(t) {
                return None;
            }
            let selected = focused
                .then(|| dom.selection(w.slice(t)))
                .flatten()
                .map(|(a, b)| (w.to_whole(a), w.to_whole(b)));
            let next = dom.show_window(t, top, selected, Some(&w));
            // A caret that scrolled out of the held lines cannot stay: typing would land
            // where nobody looks.
            if selected.is_some_and(|(a, _)| next.to_held(a).is_none()) {
                let _ = dom.area.blur();
            }
            Some(next)
        });
        if let Some(next) = moved {
            keep(Some(next));
        }
    };

    // The text changed from outside: show it (whole, or the window at the current view).
    Effect::new(move |_| {
        text.track();
        let (Some(_), Some(_), Some(_)) = (area.get(), scroller.get(), spacer.get()) else {
            return;
        };
        let Some(dom) = dom() else { return };
        if typed.get_value() {
            typed.set_value(false);
            return;
        }
        let windowed = window.get_value().is_some();
        let top = dom.top_line(windowed);
        text.with_untracked(|t| {
            if text_window::windowed(t.len(), windowed) {
                keep(Some(dom.show_window(t, top, None, None)));
                dom.scroll_to_line(top);
            } else {
                dom.show_whole(t, None, top);
                keep(None);
            }
        });
    });

    // Selecting a span is a DOM side effect (the textarea's selection and scroll position).
    Effect::new(move |_| {
        let Some(jump) = ctx.jump.get() else { return };
        if after != jump.after || jump.span.file != file {
            return;
        }
        let Some(dom) = dom() else { return };
        text.with_untracked(|t| {
            let start = (jump.span.start as usize).min(t.len());
            let end = (jump.span.end as usize).clamp(start, t.len());
            let first = text::line_of(t, start);
            let last = text::line_of(t, end.saturating_sub(1).max(start));
            highlight.set(Some((first, last)));
            let _ = dom.area.focus();
            // The span's first line a third of the way down.
            let top = (first - 1).saturating_sub(dom.rows() / 3);
            match current() {
                Some(w) => keep(Some(dom.show_window(t, top, Some((start, end)), Some(&w)))),
                None => select(&dom.area, t, start, end),
            }
            dom.scroll_to_line(top);
        });
    });

    // A whole new text (example, link, Undo) starts at its top, not where the old one was.
    Effect::new(move |first: Option<()>| {
        ctx.epoch.track();
        if first.is_some() {
            if let Some(dom) = dom() {
                dom.scroll_to_line(0);
                dom.area.set_scroll_left(0);
                dom.scroller.set_scroll_left(0);
            }
            scroll.set((0.0, 0.0));
        }
    });

    let lines = Memo::new(move |_| {
        text.with(|t| match window.get_value().filter(|w| w.fits(t)) {
            Some(w) => w.total,
            None => text::line_count(t),
        })
    });
    // The numbers of the lines the textarea holds (all of them, or the window's).
    let gutter = move || {
        let (first, n) = held.get().unwrap_or((0, lines.get()));
        let mut s = String::with_capacity(n * 7);
        for i in first + 1..=first + n {
            s.push_str(&i.to_string());
            s.push('\n');
        }
        s
    };
    let gutter_top = move || PAD + held.get().map_or(0.0, |(first, _)| first as f64 * LINE);
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
    // The lines whose marks are drawn: the block of MARK_BLOCK lines in view, one before
    // and two after (changes only when the view crosses a block, not per scroll event).
    let near = Memo::new(move |_| {
        let block = (scroll.get().0 / LINE).max(0.0) as u32 / MARK_BLOCK;
        (
            block.saturating_sub(1) * MARK_BLOCK,
            (block + 3) * MARK_BLOCK,
        )
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
                    style=move || format!(
                        "transform: translateY({}px); padding-top: {}px; width: max(46px, calc({}ch + 14px))",
                        -scroll.get().0,
                        gutter_top(),
                        lines.get().to_string().len(),
                    )
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
                            // Only the marks near the view: a text with hundreds of findings
                            // would otherwise lay out hundreds of labels at once.
                            let (from, to) = near.get();
                            marks
                                .get()
                                .into_iter()
                                .filter(|m| m.0 >= from && m.0 < to)
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
                    <div class="editor__scroller" node_ref=scroller on:scroll=on_scroll>
                    <div class="editor__spacer" node_ref=spacer></div>
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
                        data-window=move || held.get().map(|(first, n)| format!("{}-{}", first + 1, first + n))
                        on:beforeinput=on_beforeinput
                        on:input=on_input
                        on:paste=on_paste
                        on:copy=move |ev| on_copy(ev, false)
                        on:cut=move |ev| on_copy(ev, true)
                        on:scroll=on_scroll
                    ></textarea>
                    </div>
                </div>
            </div>
        </section>
    }
}

/// The editor's elements: the textarea, the scroller around it (which scrolls only when
/// a window is held) and the spacer that gives the scroller the whole text's height.
struct Dom {
    area: HtmlTextAreaElement,
    scroller: HtmlDivElement,
    spacer: HtmlDivElement,
}

impl Dom {
    fn get(
        area: NodeRef<html::Textarea>,
        scroller: NodeRef<html::Div>,
        spacer: NodeRef<html::Div>,
    ) -> Option<Dom> {
        Some(Dom {
            area: area.get_untracked()?,
            scroller: scroller.get_untracked()?,
            spacer: spacer.get_untracked()?,
        })
    }

    /// Scroll position of the text (one of the two elements scrolls, the other is at 0).
    fn scroll(&self) -> (f64, f64) {
        (
            (self.area.scroll_top() + self.scroller.scroll_top()) as f64,
            (self.area.scroll_left() + self.scroller.scroll_left()) as f64,
        )
    }

    /// The first visible line (0-based); `windowed`: the scroller is the one scrolling.
    fn top_line(&self, windowed: bool) -> usize {
        let top = if windowed {
            self.scroller.scroll_top()
        } else {
            self.area.scroll_top()
        };
        line_at(top as f64)
    }

    /// How many lines fit in the view.
    fn rows(&self) -> usize {
        (self.scroller.client_height() as f64 / LINE).ceil() as usize + 1
    }

    /// Scrolls so that 0-based line `line` is at the top.
    fn scroll_to_line(&self, line: usize) {
        let px = (line as f64 * LINE) as i32;
        if self.spacer.client_height() > 0 {
            self.scroller.set_scroll_top(px);
            self.area.set_scroll_top(0);
        } else {
            self.area.set_scroll_top(px);
        }
    }

    /// The textarea's selection as byte offsets into `shown` (what it holds).
    fn selection(&self, shown: &str) -> Option<(usize, usize)> {
        let start = self.area.selection_start().ok()??;
        let end = self.area.selection_end().ok()??;
        Some((
            text::byte_offset(shown, start),
            text::byte_offset(shown, end),
        ))
    }

    /// Whether everything the textarea holds is selected (and it holds something).
    fn all_selected(&self) -> bool {
        let len = self.area.text_length();
        len > 0
            && self.area.selection_start().ok().flatten() == Some(0)
            && self.area.selection_end().ok().flatten() == Some(len)
    }

    fn focused(&self) -> bool {
        let el: &web_sys::Element = self.area.as_ref();
        leptos::prelude::document()
            .active_element()
            .is_some_and(|a| &a == el)
    }

    /// The whole text in the textarea, which scrolls itself again, at 0-based line `top`;
    /// `selected`: bytes to select.
    fn show_whole(&self, text: &str, selected: Option<(usize, usize)>, top: usize) {
        let style = HtmlElement::style(&self.area);
        for property in ["top", "height", "width", "overflow", "bottom"] {
            let _ = style.remove_property(property);
        }
        let _ = HtmlElement::style(&self.spacer).remove_property("height");
        let _ = HtmlElement::style(&self.scroller).remove_property("overflow");
        self.scroller.set_scroll_top(0);
        self.area.set_value(text);
        if let Some((a, b)) = selected {
            select(&self.area, text, a, b);
        }
        self.area.set_scroll_top((top as f64 * LINE) as i32);
    }

    /// The lines around 0-based line `top` in the textarea, placed at their height in a
    /// scroller as tall as the whole text, at the same scroll position; `selected` (bytes
    /// of the whole text) is selected when it is held. `near`: the window held so far,
    /// where the search for lines starts.
    fn show_window(
        &self,
        text: &str,
        top: usize,
        selected: Option<(usize, usize)>,
        near: Option<&Window>,
    ) -> Window {
        // Emptied first: what it held may be a big text that any read of the layout below
        // would lay out whole.
        self.area.set_value("");
        let w = Window::new(
            text,
            top.saturating_sub(MARGIN),
            self.rows() + 2 * MARGIN,
            near,
        );
        let (scroll_top, scroll_left) = (self.scroller.scroll_top(), self.scroller.scroll_left());
        let shown = w.slice(text);
        let widest = shown
            .split('\n')
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let style = HtmlElement::style(&self.area);
        let _ = style.set_property("top", &format!("{}px", w.first as f64 * LINE));
        let _ = style.set_property(
            "height",
            &format!("{}px", w.lines as f64 * LINE + 2.0 * PAD),
        );
        let _ = style.set_property("width", &format!("max(100%, calc({widest}ch + 40px))"));
        let _ = style.set_property("bottom", "auto");
        let _ = style.set_property("overflow", "hidden");
        let height = w.total as f64 * LINE + 2.0 * PAD;
        let _ = HtmlElement::style(&self.spacer).set_property("height", &format!("{height}px"));
        let _ = HtmlElement::style(&self.scroller).set_property("overflow", "auto");
        self.area.set_value(shown);
        match selected.and_then(|(a, b)| Some((w.to_held(a)?, w.to_held(b)?))) {
            Some((a, b)) => select(&self.area, shown, a, b),
            None => select(&self.area, shown, 0, 0),
        }
        self.area.set_scroll_top(0);
        self.area.set_scroll_left(0);
        self.scroller.set_scroll_top(scroll_top);
        self.scroller.set_scroll_left(scroll_left);
        w
    }
}

/// The 0-based line at scroll position `px`.
fn line_at(px: f64) -> usize {
    ((px - PAD) / LINE).floor().max(0.0) as usize
}

/// Selects bytes `start..end` of `shown` (what the textarea holds).
fn select(el: &HtmlTextAreaElement, shown: &str, start: usize, end: usize) {
    let _ = el.set_selection_range(
        text::utf16_offset(shown, start),
        text::utf16_offset(shown, end),
    );
}
