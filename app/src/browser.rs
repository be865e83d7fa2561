//! The only module that talks to browser APIs (storage, location, clipboard, downloads,
//! clock). Everything else is plain Rust that also runs in native unit tests.

use gloo_storage::Storage as _;
use wasm_bindgen::JsCast;

use crate::share::{self, SharedState};

/// localStorage key for the last state (same JSON as links, unversioned inside a version key).
const STORAGE_KEY: &str = "netpol.playground.v1";

/// The saved state, if any and readable.
pub fn load_saved() -> Option<SharedState> {
    gloo_storage::LocalStorage::get(STORAGE_KEY).ok()
}

/// Saves `state` as the draft. A full or disabled storage is reported, never swallowed: a
/// reload would otherwise bring back an older state without a word.
pub fn save(state: &SharedState) -> Result<(), String> {
    gloo_storage::LocalStorage::set(STORAGE_KEY, state).map_err(|e| match e {
        gloo_storage::errors::StorageError::JsError(js) if js.name == "QuotaExceededError" => {
            "the browser's storage for this page is full".to_string()
        }
        gloo_storage::errors::StorageError::JsError(js) => {
            format!("the browser refused to store it ({})", js.message)
        }
        other => other.to_string(),
    })
}

/// The current fragment (with `#`), or empty.
pub fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The page URL without its fragment.
pub fn base_url() -> String {
    let href = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    match href.split_once('#') {
        Some((base, _)) => base.to_string(),
        None => href,
    }
}

/// Replaces the URL (no reload, no history entry) with `base#fragment`, or `base`.
pub fn set_fragment(fragment: Option<&str>) {
    let url = match fragment {
        Some(f) => format!("{}#{f}", base_url()),
        None => base_url(),
    };
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The link for `state`: page URL plus `#v1.…`, and the fragment alone.
pub fn share_url(state: &SharedState) -> Result<(String, String), share::ShareError> {
    let fragment = share::encode_checked(state)?;
    Ok((format!("{}#{fragment}", base_url()), fragment))
}

/// Puts `text` on the clipboard, or calls `failed` when the page cannot: plain http on a LAN
/// host has no `navigator.clipboard` at all, and a browser may refuse the write.
pub fn copy(text: &str, failed: impl FnOnce() + 'static) {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return failed();
    };
    let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if !has_clipboard {
        return failed();
    }
    let refused = wasm_bindgen::closure::Closure::once(move |_: wasm_bindgen::JsValue| failed());
    let _ = navigator.clipboard().write_text(text).catch(&refused);
    // Called at most once, by the promise; it must outlive this function.
    refused.forget();
}

/// Whether a key event comes from a place where keys are text (editors, fields), so page
/// shortcuts leave it alone.
pub fn typing_in(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    matches!(target.tag_name().as_str(), "TEXTAREA" | "INPUT" | "SELECT")
        || target.closest("[contenteditable]").ok().flatten().is_some()
}

/// Moves keyboard focus to the first element matching `selector`, if any.
pub fn focus(selector: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(e) = element {
        let _ = e.focus();
    }
}

/// Offers `content` as a file download.
pub fn download(filename: &str, mime: &str, content: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(content));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document.create_element("a") {
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(&url);
            a.set_download(filename);
            a.click();
        }
    }
    // Revoke later: revoking synchronously can cancel the download in some browsers.
    let url2 = url.clone();
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url2);
        },
        std::time::Duration::from_secs(10),
    );
}

/// Milliseconds from a monotonic clock, for the timing attributes the benchmark reads.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
