//! The netpol playground: paste NetworkPolicies and a cluster, see who can talk to whom.
//!
//! Everything runs in the page: `netpol-core` compiled to wasm parses, evaluates and
//! explains; nothing is uploaded. The crate splits into plain modules that hold the logic
//! (graph building, layout, share links, exports, wording) and compile and test natively,
//! and [`components`], the Leptos UI. Only [`browser`] touches browser APIs.
//!
//! State flows one way: editor text → debounced `committed` signal → `Analysis` memo →
//! `Graph` memo → views. Effects exist only to sync with the outside world (local storage,
//! the URL fragment, the editor's selection).

pub mod analysis;
pub mod browser;
pub mod compare;
pub mod components;
pub mod connectivity;
pub mod decided;
pub mod examples;
pub mod export;
pub mod geometry;
pub mod groups;
pub mod keys;
pub mod layout;
pub mod overview;
pub mod probe;
pub mod reach;
pub mod route;
pub mod scene;
pub mod search;
pub mod session;
pub mod share;
pub mod text;
pub mod text_window;
pub mod whatif;
pub mod wire;
pub mod words;
pub mod worker;
pub mod worker_client;

/// Mounts the playground into `<body>`.
pub fn mount() {
    // A panic would otherwise surface as a bare "unreachable" in the console.
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::app::App);
}
