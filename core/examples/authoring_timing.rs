//! Release-mode timing of the authoring tools (BENCHMARKS.md, "Authoring"):
//! - `synth::synthesize` (with its self-check) of `REQUIRED` random required connections on
//!   `generate(1000, 500, 1)`, written from scratch and with `--keep`, and `synth::freeze`;
//! - `synth::allow` and `synth::deny` for random pairs of `generate(200, 100, 1)` (200
//!   endpoints), each call from the texts (it parses, compiles, tries candidates, writes
//!   the edits and parses them back).
//!
//! Median and fastest of `AUTHORING_REPEAT` runs (default 5).
//!
//! `cargo run -p netpol-core --release --example authoring_timing`

use std::time::{Duration, Instant};

use netpol_core::assert::{Expect, Expectation, Selector, Spec};
use netpol_core::synth::{self, Options};
use netpol_core::{generate::generate, load, Endpoint, Engine, FileId, Model, PortRef, PortSpec};

/// Required connections in the synthesis benchmark.
const REQUIRED: usize = 200;

fn main() {
    let repeat: usize = std::env::var("AUTHORING_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    synthesis(repeat);
    edits(repeat);
}

/// A splitmix64 stream, so every run asks the same questions.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// `count` required connections between random pods, on a port the destination declares.
fn spec(model: &Model, count: usize) -> Spec {
    let pods = &model.cluster.pods;
    let mut dice = Dice(7);
    let expectations = (0..count)
        .map(|k| {
            let (s, d) = (dice.below(pods.len()), dice.below(pods.len()));
            let port = pods[d]
                .ports
                .first()
                .map(|c| PortSpec::new(PortRef::Number(c.port), c.protocol));
            Expectation {
                name: format!("required {k}"),
                from: Some(Selector::Id(pods[s].id.clone())),
                to: Some(Selector::Id(pods[d].id.clone())),
                only_from: None,
                port,
                only_ports: None,
                expect: Some(Expect::Allowed),
                line: 0,
            }
        })
        .collect();
    Spec {
        default_deny: true,
        expectations,
    }
}

fn synthesis(repeat: usize) {
    let text = generate(1_000, 500, 1);
    let model = load(&[(FileId(0), &text)]);
    let spec = spec(&model, REQUIRED);
    println!(
        "generate(1000, 500, 1): {} pods, {} policies; {REQUIRED} required connections",
        model.cluster.pods.len(),
        model.policies.len()
    );
    for (label, keep) in [
        ("synthesize (from scratch)", false),
        ("synthesize --keep", true),
    ] {
        let mut times = Vec::new();
        let mut last = None;
        let cpu = on_cpu();
        for _ in 0..repeat {
            let started = Instant::now();
            let out = synth::synthesize(&model, &spec, &Options { keep });
            times.push(started.elapsed());
            last = Some(out);
        }
        let cpu = cpu_per_run(cpu, repeat);
        let out = last.expect("at least one run");
        println!(
            "  {label}: {}, {cpu} — {} policies, self-check {}, {} pairs beyond the spec",
            stats(times),
            out.policies.len(),
            if out.check.passed() {
                "passed"
            } else {
                "FAILED"
            },
            out.check.beyond.len()
        );
    }
    let mut times = Vec::new();
    let mut last = None;
    let cpu = on_cpu();
    for _ in 0..repeat {
        let started = Instant::now();
        let out = synth::freeze(&model);
        times.push(started.elapsed());
        last = Some(out);
    }
    let cpu = cpu_per_run(cpu, repeat);
    let out = last.expect("at least one run");
    println!(
        "  freeze: {}, {cpu} — {} policies, {} pairs change instead, {} alongside",
        stats(times),
        out.policies.len(),
        out.changes.len(),
        out.changes_alongside.len()
    );
}

/// The generated text split as the playground holds it: the NetworkPolicies (the
/// Policies editor, `FileId(0)`) and everything else (the Cluster editor, `FileId(1)`).
fn split(text: &str) -> (String, String) {
    let (mut policies, mut cluster) = (String::new(), String::new());
    for doc in text.split("---\n").filter(|d| !d.trim().is_empty()) {
        let into = if doc.contains("kind: NetworkPolicy") {
            &mut policies
        } else {
            &mut cluster
        };
        into.push_str("---\n");
        into.push_str(doc);
    }
    (policies, cluster)
}

fn edits(repeat: usize) {
    let (policies, cluster) = split(&generate(200, 100, 1));
    let sources = [
        (FileId(0), policies.as_str()),
        (FileId(1), cluster.as_str()),
    ];
    let model = load(&sources);
    let engine = Engine::new(&model);
    let pods = model.cluster.pods.len();
    let port: PortSpec = "8080".parse().expect("a port");
    let mut dice = Dice(11);
    let (mut denied, mut allowed) = (Vec::new(), Vec::new());
    while denied.len() < 20 || allowed.len() < 20 {
        let (s, d) = (dice.below(pods), dice.below(pods));
        if s == d {
            continue;
        }
        let open = engine
            .allowed_ports(Endpoint::Pod(s), Endpoint::Pod(d))
            .tcp
            .contains(8080);
        let list = if open { &mut allowed } else { &mut denied };
        if list.len() < 20 {
            list.push((Endpoint::Pod(s), Endpoint::Pod(d)));
        }
    }
    println!(
        "generate(200, 100, 1): {pods} endpoints, {} policies; 20 pairs each, on 8080/TCP",
        model.policies.len()
    );
    for (label, pairs, allow) in [("allow", &denied, true), ("deny", &allowed, false)] {
        let mut times = Vec::new();
        let mut ok = 0;
        let cpu = on_cpu();
        for _ in 0..repeat {
            for (src, dst) in pairs.iter() {
                let started = Instant::now();
                let result = if allow {
                    synth::allow(&sources, FileId(0), *src, *dst, Some(&port))
                } else {
                    synth::deny(&sources, FileId(0), *src, *dst, Some(&port))
                };
                times.push(started.elapsed());
                ok += usize::from(result.is_ok());
            }
        }
        let cpu = cpu_per_run(cpu, times.len());
        let slowest = times.iter().max().copied().unwrap_or_default();
        println!(
            "  {label} this: {}, slowest {:.1} ms, {cpu} ({ok} of {} proposals)",
            stats(times),
            slowest.as_secs_f64() * 1e3,
            pairs.len() * repeat
        );
    }
}

/// `median … ms, fastest … ms (n = …)`.
fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.1} ms, fastest {:.1} ms (n = {})",
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

/// On-CPU milliseconds per run since `before` (less sensitive to a loaded machine).
fn cpu_per_run(before: Option<u64>, runs: usize) -> String {
    match on_cpu().zip(before) {
        Some((a, b)) => format!(
            "{:.1} ms on-CPU per run",
            (a - b) as f64 / 1e6 / runs as f64
        ),
        None => "on-CPU time unknown".to_string(),
    }
}
