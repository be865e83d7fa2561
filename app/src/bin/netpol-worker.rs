//! Entry point of the Web Worker (built by Trunk as a second binary): parse, evaluate and
//! lay out off the page's thread. See `netpol_app::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    netpol_app::worker::start();
}

/// Natively there is no worker to be: the same steps run in `netpol_app::session`.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("netpol-worker runs inside the playground's Web Worker; build it with trunk");
}
