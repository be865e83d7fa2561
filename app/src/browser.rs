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

/// Saves `state`; a full or disabled storage is not an error the user can act on.
pub fn save(state: &SharedState) {
    let _ = gloo_storage::LocalStorage::set(STORAGE_KEY, state);
}

/// The current fragment (with `#`), or empty.
pub fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The query string (with `?`), or empty.
pub fn query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
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

/// Puts `text` on the clipboard (best effort: the promise is not awaited).
pub fn copy(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
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
