//! What keeping each source's last good version costs (`agent/src/sources.rs`), on the
//! 10,000-pod / 5,000-policy cluster of `bench.rs`, one source per object (as in Kubernetes
//! mode, where every object is parsed on its own):
//!
//! - one parse + build of all objects as one text (what Kubernetes mode did before: every
//!   object in one `List`, parsed again on every change);
//! - the first snapshot (every object parsed, then the merge);
//! - a snapshot after one policy changed (one parse, then the merge);
//! - a snapshot after one policy was rejected (one parse; its last good version is kept).
//!
//! ```text
//! cargo run --release -p netpol-agent --example sources
//! ```

use std::time::{Duration, Instant};

use netpol_agent::sources::{Content, OnError, Scope, Sources};
use netpol_core::FileId;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:>8.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let text = netpol_core::generate::generate(10_000, 5_000, 1);
    let docs: Vec<&str> = text
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .collect();
    let policy = docs
        .iter()
        .rposition(|d| d.contains("kind: NetworkPolicy"))
        .expect("a policy");
    println!("{} objects, {} bytes", docs.len(), text.len());

    let whole: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let model = netpol_core::load(&[(FileId(0), text.as_str())]);
            assert!(model.policies.len() >= 4_000);
            start.elapsed()
        })
        .collect();
    println!(
        "one text, parse + build:          {} (median of 3)",
        ms(median(whole))
    );

    let mut sources = Sources::new(OnError::FailClosed);
    let start = Instant::now();
    for (i, doc) in docs.iter().enumerate() {
        sources.offer(&format!("object-{i}"), "1", Scope::Text, || {
            Content::Text(doc.to_string())
        });
    }
    let first = sources.snapshot();
    println!(
        "one source per object, first:     {} ({} policies)",
        ms(start.elapsed()),
        first.policies.len()
    );

    let name = format!("object-{policy}");
    let changed = docs[policy].replace("metadata:\n", "metadata:\n  labels: {touched: \"yes\"}\n");
    let broken = docs[policy].replace("spec:", "spec: [");
    let mut times = (Vec::new(), Vec::new());
    for round in 0..3 {
        let start = Instant::now();
        sources.offer(&name, &format!("changed-{round}"), Scope::Text, || {
            Content::Text(changed.clone())
        });
        let snapshot = sources.snapshot();
        times.0.push(start.elapsed());
        assert!(snapshot.rejected.is_empty());
        let start = Instant::now();
        sources.offer(&name, &format!("broken-{round}"), Scope::Text, || {
            Content::Text(broken.clone())
        });
        let snapshot = sources.snapshot();
        times.1.push(start.elapsed());
        assert_eq!(snapshot.rejected.len(), 1, "the broken version is rejected");
    }
    println!(
        "one policy changed, snapshot:      {} (median of 3)",
        ms(median(times.0))
    );
    println!(
        "one policy rejected, snapshot:     {} (median of 3)",
        ms(median(times.1))
    );
}
