//! Release-mode timing of the node compiler on the L cluster (`generate(10000, 5000, 1)`)
//! with 110 pods on the measured node, as in `agent/examples/bench.rs` but without root:
//! `Engine::new`, `nft::compile` for the node, and both together, median of N runs.
//!
//! `cargo run -p netpol-core --release --example nft_timing [runs]`; with `NFT_TIMING_DUMP=FILE`
//! the ruleset is written to `FILE` too.

use std::time::{Duration, Instant};

use netpol_core::nft::{compile, local_pods};
use netpol_core::{generate::generate, load, Engine, FileId};

const NODE: &str = "node-0";
const LOCAL: usize = 110;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let text = on_node(&generate(10_000, 5_000, 1), LOCAL);
    let model = load(&[(FileId(0), &text)]);
    let local = local_pods(&model, NODE);
    let (mut build, mut node, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = (0, 0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let engine = Engine::new(&model);
        let built = start.elapsed();
        let ruleset = compile(&model, &engine, &local);
        let total = start.elapsed();
        build.push(built);
        node.push(total - built);
        both.push(total);
        size = (ruleset.rules, ruleset.set_elements, ruleset.text.len());
        if let Ok(path) = std::env::var("NFT_TIMING_DUMP") {
            std::fs::write(path, &ruleset.text).expect("write the ruleset");
        }
    }
    println!(
        "{} pods on {NODE}; ruleset: {} rules, {} set elements, {} bytes",
        local.len(),
        size.0,
        size.1,
        size.2
    );
    for (what, samples) in [
        ("Engine::new", build),
        ("nft::compile", node),
        ("together", both),
    ] {
        println!("{what:<13} {}", summary(samples));
    }
}

/// The generator puts 250 pods on each node; the rest of `NODE`'s pods beyond `keep`
/// move to another node (a text edit, before parsing).
fn on_node(text: &str, keep: usize) -> String {
    let needle = format!("nodeName: {NODE}\n");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut seen = 0;
    while let Some(i) = rest.find(&needle) {
        out.push_str(&rest[..i]);
        seen += 1;
        out.push_str(if seen <= keep {
            &needle
        } else {
            "nodeName: node-0-overflow\n"
        });
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// `median (min–max) over n`, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:>7.1} ms  (min {:.1}, max {:.1}, n = {})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}
