//! Benchmarks against the targets of BENCHMARKS.md: parsing, full connectivity
//! (`Engine::new` + `Engine::connectivity`, what `netpol connectivity` needs) for the
//! generated presets S, M and L, and one node's ruleset of L (`Engine::new` +
//! `nft::compile` for 110 local pods, what the agent does per state). Run with
//! `cargo bench -p netpol-core --bench engine`. `connectivity_l_tiered` is L with 50 Admin and
//! 10 Baseline ClusterNetworkPolicies.
//!
//! Before the timings, `main` prints the peak heap of loading and analysing L, measured by
//! a counting allocator around the system one, so the memory target is checked by the same
//! command.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use divan::Bencher;
use netpol_core::{generate::generate, load, nft, Engine, FileId, Model};

/// The presets of the issue: (pods, policies), with a fixed seed.
const S: (usize, usize) = (100, 50);
const M: (usize, usize) = (1_000, 500);
const L: (usize, usize) = (10_000, 5_000);
const SEED: u64 = 1;

/// Counts live heap bytes and remembers the maximum.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
// The workspace denies unsafe code; a global allocator cannot be written without it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn text((pods, policies): (usize, usize)) -> String {
    generate(pods, policies, SEED)
}

fn model(preset: (usize, usize)) -> Model {
    load(&[(FileId(0), &text(preset))])
}

fn main() {
    let text = text(L);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let model = load(&[(FileId(0), &text)]);
    let engine = Engine::new(&model);
    let connectivity = engine.connectivity();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    println!(
        "peak heap for L (load + Engine::new + connectivity, excluding the {} MiB input text): {:.1} MiB; {} pods, {} policies, {} pod classes, {} distinct results, {} diagnostics",
        text.len() >> 20,
        peak as f64 / (1024.0 * 1024.0),
        model.cluster.pods.len(),
        model.policies.len(),
        connectivity.classes(),
        connectivity.results().len(),
        model.diagnostics.len(),
    );
    drop((connectivity, engine, model, text));
    divan::main();
}

#[divan::bench(sample_count = 50)]
fn parse_s(bencher: Bencher) {
    let text = text(S);
    bencher.bench(|| load(&[(FileId(0), &text)]));
}

#[divan::bench(sample_count = 10)]
fn parse_m(bencher: Bencher) {
    let text = text(M);
    bencher.bench(|| load(&[(FileId(0), &text)]));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn parse_l(bencher: Bencher) {
    let text = text(L);
    bencher.bench(|| load(&[(FileId(0), &text)]));
}

#[divan::bench(sample_count = 50)]
fn connectivity_s(bencher: Bencher) {
    let model = model(S);
    bencher.bench(|| Engine::new(&model).connectivity());
}

#[divan::bench(sample_count = 20)]
fn connectivity_m(bencher: Bencher) {
    let model = model(M);
    bencher.bench(|| Engine::new(&model).connectivity());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn connectivity_l(bencher: Bencher) {
    let model = model(L);
    bencher.bench(|| Engine::new(&model).connectivity());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn node_ruleset_l(bencher: Bencher) {
    let model = model(L);
    // The first 110 pods of node-0, as in `agent/examples/bench.rs`.
    let local: Vec<usize> = nft::local_pods(&model, "node-0")
        .into_iter()
        .take(110)
        .collect();
    bencher.bench(|| nft::compile(&model, &Engine::new(&model), &local));
}

/// L plus 50 Admin- and 10 Baseline-tier ClusterNetworkPolicies (`generate_tiered`): the
/// tiers' cost next to `connectivity_l` (target: under twice its time).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn connectivity_l_tiered(bencher: Bencher) {
    let text = netpol_core::generate::generate_tiered(L.0, L.1, 50, 10, SEED);
    let model = load(&[(FileId(0), &text)]);
    bencher.bench(|| Engine::new(&model).connectivity());
}
