//! Entry point of the wasm binary: mount the app, nothing else.

fn main() {
    netpol_app::mount();
}
