//! The messages above the workspace: the error banner (damaged link, ...), the draft notice
//! ("Back to my draft"), Undo after the editors' text was replaced, a failed save, the link
//! to copy by hand when the clipboard cannot be written, and the confirmation toast.

use leptos::html;
use leptos::prelude::*;

use crate::components::app::AUTO_OPEN_LIMIT;
use crate::components::ctx::Ctx;

fn kb(bytes: usize) -> String {
    format!("{} KB", bytes.div_ceil(1024))
}

/// What the draft notice says, from what is on screen and the size of the draft.
fn draft_words(link: bool, draft_len: usize) -> String {
    let size = kb(draft_len);
    let shown = if link {
        "You are looking at a shared link; it becomes your draft only when you edit it."
    } else {
        "You are looking at an example."
    };
    if draft_len > AUTO_OPEN_LIMIT {
        format!("{shown} Your draft ({size}) is kept; it was not opened automatically because it takes a while to analyse.")
    } else {
        format!("{shown} Your draft ({size}) is kept.")
    }
}

/// The draft notice and Undo, in one quiet bar.
#[component]
fn Notices() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let draft = move || {
        let draft = ctx.draft.get()?;
        let link = ctx.viewing.with(|v| v.as_ref().is_some_and(|v| v.link));
        let words = draft_words(link, draft.text_len());
        Some(view! {
            <div class="notice" data-testid="draft-notice" role="status">
                <span class="notice__text">{words}</span>
                <button
                    class="button button--small"
                    data-testid="open-draft"
                    on:click=move |_| {
                        if let Some(d) = ctx.draft.get_untracked() {
                            ctx.replace(d, None, "Opened your draft".into());
                        }
                    }
                >
                    "Back to my draft"
                </button>
            </div>
        })
    };
    let undo = move || {
        let what = ctx.undo.with(|u| u.as_ref().map(|u| u.what.clone()))?;
        Some(view! {
            <div class="notice notice--undo" role="status">
                <span class="notice__text" data-testid="undo-what">{what} "."</span>
                <button class="button button--small" data-testid="undo" on:click=move |_| ctx.undo()>
                    "Undo"
                </button>
                <button class="banner__close" aria-label="Dismiss" on:click=move |_| ctx.undo.set(None)>"×"</button>
            </div>
        })
    };
    view! { {undo} {draft} }
}

/// The link in a field to copy by hand: plain http on a LAN host has no clipboard API.
#[component]
fn ShareFallback() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let field = NodeRef::<html::Input>::new();
    // Select the whole link as soon as the field is there, ready for Ctrl+C (on the next
    // frame: the value is written after the element is mounted).
    Effect::new(move |_| {
        if ctx.share_fallback.with(|s| s.is_some()) {
            if let Some(input) = field.get() {
                request_animation_frame(move || {
                    let _ = input.focus();
                    input.select();
                });
            }
        }
    });
    let select_all =
        |ev: leptos::ev::FocusEvent| event_target::<web_sys::HtmlInputElement>(&ev).select();
    move || {
        ctx.share_fallback.get().map(|url| {
            view! {
                <div class="notice notice--share" role="dialog" aria-label="Copy the link" data-testid="share-fallback">
                    <span class="notice__text">
                        "This page may not write to the clipboard here (plain http). Copy the link yourself (Ctrl+C):"
                    </span>
                    <input
                        class="share-link"
                        data-testid="share-link"
                        node_ref=field
                        readonly=true
                        prop:value=url
                        on:focus=select_all
                    />
                    <button class="banner__close" aria-label="Close" on:click=move |_| ctx.share_fallback.set(None)>"×"</button>
                </div>
            }
        })
    }
}

/// Banner, notices and toast; each renders nothing when empty.
#[component]
pub fn Banner() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        {move || {
            ctx.banner
                .get()
                .map(|msg| {
                    view! {
                        <div class="banner" role="alert" data-testid="banner">
                            <span class="banner__icon" aria-hidden="true">"!"</span>
                            <span class="banner__text">{msg}</span>
                            <button
                                class="banner__close"
                                aria-label="Dismiss"
                                on:click=move |_| ctx.banner.set(None)
                            >
                                "×"
                            </button>
                        </div>
                    }
                })
        }}
        {move || {
            ctx.save_error.get().map(|why| {
                view! {
                    <div class="banner banner--warning" role="alert" data-testid="save-error">
                        <span class="banner__icon" aria-hidden="true">"!"</span>
                        <span class="banner__text">
                            {format!("Your work is not being saved: {why}. A reload would bring back an older state; use Copy link or Export to keep it.")}
                        </span>
                    </div>
                }
            })
        }}
        <ShareFallback />
        <Notices />
        {move || {
            ctx.toast
                .get()
                .map(|msg| {
                    view! {
                        <div class="toast" role="status" data-testid="toast">
                            {msg}
                        </div>
                    }
                })
        }}
    }
}
