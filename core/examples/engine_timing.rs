//! Quick release-mode timing of the bitset engine on generated clusters (the criterion
//! benches live in the CLI crate; this is the engine's own tuning harness).
//!
//! `cargo run -p netpol-core --release --example engine_timing [pods policies]...`

use std::time::Instant;

use netpol_core::{generate::generate, load, Engine, FileId};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes: Vec<(usize, usize)> = if args.len() >= 2 {
        args.chunks(2)
            .map(|c| (c[0], c.get(1).copied().unwrap_or(0)))
            .collect()
    } else {
        vec![(100, 50), (1_000, 500), (10_000, 5_000)]
    };
    for (pods, policies) in sizes {
        let text = generate(pods, policies, 1);
        let started = Instant::now();
        let model = load(&[(FileId(0), &text)]);
        let parse = started.elapsed();
        // Best of a few runs: the machine is shared.
        let mut best = None;
        let cpu_before = on_cpu();
        let mut summary = String::new();
        let repeat: usize = std::env::var("ENGINE_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5);
        for _ in 0..repeat {
            let started = Instant::now();
            let engine = Engine::new(&model);
            let compiled = started.elapsed();
            let connectivity = engine.connectivity();
            let total = started.elapsed();
            summary = format!(
                "compile {:?}; {}; {:?} kinds, {} distinct results",
                compiled,
                engine.describe(),
                connectivity.kinds(),
                connectivity.results().len(),
            );
            if best.is_none_or(|b| total < b) {
                best = Some(total);
            }
        }
        let runs = std::env::var("ENGINE_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5u32);
        let cpu = on_cpu()
            .zip(cpu_before)
            .map(|(a, b)| std::time::Duration::from_nanos((a - b) / runs as u64));
        println!("  on-CPU time per run (less sensitive to a loaded machine): {cpu:?}");
        println!(
            "{pods} pods / {policies} policies\n   ({} parsed, {} diagnostics): parse {parse:?}, full connectivity {:?} \n  {summary}",
            model.cluster.pods.len(),
            model.diagnostics.len(),
            best.unwrap_or_default()
        );
    }
}

/// Nanoseconds this thread spent on a CPU (Linux `schedstat`), if available.
fn on_cpu() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
