//! The error banner (damaged link, ...) and the confirmation toast.

use leptos::prelude::*;

use crate::components::ctx::Ctx;

/// Banner and toast; both render nothing when empty.
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
