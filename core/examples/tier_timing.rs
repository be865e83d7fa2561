//! The cost of the tiers: full connectivity (`Engine::new` + `connectivity()`) of a
//! generated cluster with NetworkPolicies only, and of the same cluster plus Admin- and
//! Baseline-tier ClusterNetworkPolicies, interleaved in one process so both see the same
//! machine load. Prints the median and fastest of `ENGINE_REPEAT` runs (default 7) per side
//! and the ratio of the medians (BENCHMARKS.md; the target is below 2).
//!
//! `cargo run -p netpol-core --release --example tier_timing [pods policies admin baseline]`

use std::time::{Duration, Instant};

use netpol_core::{generate, load, Engine, FileId, Model};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [pods, policies, admin, baseline] = match args.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        _ => [10_000, 5_000, 50, 10],
    };
    let repeat: usize = std::env::var("ENGINE_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7)
        .max(1);
    let plain = load(&[(FileId(0), &generate::generate(pods, policies, 1))]);
    let tiered_text = generate::generate_tiered(pods, policies, admin, baseline, 1);
    let tiered = load(&[(FileId(0), &tiered_text)]);
    println!(
        "{pods} pods / {policies} NetworkPolicies, then + {admin} Admin and {baseline} Baseline ClusterNetworkPolicies ({} and {} diagnostics)",
        plain.diagnostics.len(),
        tiered.diagnostics.len()
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut shapes = [String::new(), String::new()];
    for _ in 0..repeat {
        let (time, shape) = full(&plain);
        without.push(time);
        shapes[0] = shape;
        let (time, shape) = full(&tiered);
        with.push(time);
        shapes[1] = shape;
    }
    let (a, b) = (median(&mut without), median(&mut with));
    println!("  NetworkPolicies only: {}", stats(&without));
    println!("    {}", shapes[0]);
    println!("  with the tiers:       {}", stats(&with));
    println!("    {}", shapes[1]);
    println!(
        "  ratio of medians: {:.2}",
        b.as_secs_f64() / a.as_secs_f64()
    );
}

/// One full connectivity: its time and the engine's shape.
fn full(model: &Model) -> (Duration, String) {
    let started = Instant::now();
    let engine = Engine::new(model);
    let connectivity = engine.connectivity();
    let time = started.elapsed();
    let shape = format!(
        "{}; {:?} kinds, {} distinct results",
        engine.describe(),
        connectivity.kinds(),
        connectivity.results().len()
    );
    (time, shape)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn stats(samples: &[Duration]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.1} ms, fastest {:.1} ms (n = {})",
        ms(sorted[sorted.len() / 2]),
        ms(sorted[0]),
        sorted.len()
    )
}
