//! Quick release-mode timing of the bitset engine on generated clusters: `Engine::new`
//! alone and full connectivity (`Engine::new` + `connectivity()`), median and fastest of
//! `ENGINE_REPEAT` runs (default 5). It only uses the public API, so the same file can be
//! built against an older commit for before/after comparisons (BENCHMARKS.md).
//!
//! `cargo run -p netpol-core --release --example engine_timing [pods policies]...`

use std::time::{Duration, Instant};

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
    let repeat: usize = std::env::var("ENGINE_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    for (pods, policies) in sizes {
        let text = generate(pods, policies, 1);
        let started = Instant::now();
        let model = load(&[(FileId(0), &text)]);
        let parse = started.elapsed();
        let (mut compile, mut full) = (Vec::new(), Vec::new());
        let mut summary = String::new();
        let cpu_before = on_cpu();
        for _ in 0..repeat {
            let started = Instant::now();
            let engine = Engine::new(&model);
            compile.push(started.elapsed());
            let connectivity = engine.connectivity();
            full.push(started.elapsed());
            summary = format!(
                "{}; {:?} kinds, {} distinct results",
                engine.describe(),
                connectivity.kinds(),
                connectivity.results().len(),
            );
        }
        let cpu = on_cpu()
            .zip(cpu_before)
            .map(|(a, b)| Duration::from_nanos((a - b) / repeat as u64));
        println!(
            "{pods} pods / {policies} policies ({} parsed, {} diagnostics): parse {parse:?}",
            model.cluster.pods.len(),
            model.diagnostics.len(),
        );
        println!("  Engine::new:       {}", stats(compile));
        println!("  full connectivity: {}", stats(full));
        println!("  on-CPU time per run (less sensitive to a loaded machine): {cpu:?}");
        println!("  {summary}");
    }
}

/// `median … ms, fastest … ms (n = …)`.
fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms, fastest {:.2} ms (n = {})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        samples.len()
    )
}

/// Nanoseconds this thread spent on a CPU (Linux `schedstat`), if available.
fn on_cpu() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
