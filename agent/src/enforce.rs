//! Model → ruleset → kernel, once per sync.
//!
//! The model handed in is already the safe one ([`crate::sources`] keeps each source's last
//! good version); this module only compiles, applies and reports. A failed apply changes
//! nothing in the kernel (`nft -f` is one transaction) and is retried by the run loop with
//! [`Backoff`].

use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use netpol_core::nft::{self, Ruleset};
use netpol_core::{Engine, Model};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::metrics::Metrics;
use crate::ruleset_hash;

/// What one sync did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new ruleset is active.
    Applied,
    /// The ruleset equals the active one; nothing was done.
    Unchanged,
}

/// Applies rulesets for one node, remembering what is active.
#[derive(Debug)]
pub struct Enforcer {
    /// `spec.nodeName` of this node.
    pub node: String,
    /// The `nft` binary.
    pub nft: PathBuf,
    /// Where to write the hash of each applied ruleset (tests and operators read it).
    pub status_file: Option<PathBuf>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `conntrack` binary, in strict mode.
    strict: Option<PathBuf>,
    applied: Option<u64>,
}

/// The ruleset of `node` for `model`: the node's pods are those whose `spec.nodeName` is
/// `node`, and every decision comes from one [`Engine`] built for this state.
pub fn ruleset_for(model: &Model, node: &str) -> Ruleset {
    nft::compile(model, &Engine::new(model), &nft::local_pods(model, node))
}

/// Runs `nft -f -` (or `nft -c -f -` to only check) with `text` on stdin.
pub async fn run_nft(nft: &std::path::Path, text: &str, check_only: bool) -> Result<()> {
    let mut command = Command::new(nft);
    if check_only {
        command.arg("-c");
    }
    let mut child = command
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", nft.display()))?;
    let mut stdin = child.stdin.take().context("nft stdin")?;
    let text = text.to_owned();
    // Write concurrently with reading the output, so a large ruleset cannot deadlock on
    // full pipes.
    let writer = tokio::spawn(async move {
        let result = stdin.write_all(text.as_bytes()).await;
        drop(stdin);
        result
    });
    let output = child.wait_with_output().await.context("waiting for nft")?;
    let written = writer.await.context("nft stdin writer")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first: Vec<&str> = stderr.lines().take(6).collect();
        bail!("nft exited with {}: {}", output.status, first.join(" | "));
    }
    written.context("writing the ruleset to nft")?;
    Ok(())
}

impl Enforcer {
    /// An enforcer for `node` that has applied nothing yet.
    pub fn new(
        node: String,
        nft: PathBuf,
        status_file: Option<PathBuf>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Enforcer {
            node,
            nft,
            status_file,
            metrics,
            strict: None,
            applied: None,
        }
    }

    /// Strict mode: after every applied change, cut the established flows the new state
    /// denies, with this `conntrack` binary ([`crate::strict`]).
    pub fn with_strict(mut self, conntrack: PathBuf) -> Self {
        self.strict = Some(conntrack);
        self
    }

    /// Compiles `model` for this node and applies it unless it is already active. A failed
    /// apply leaves the previous ruleset in the kernel (one `nft` transaction), is reported
    /// in the logs and metrics, and is for the caller to retry ([`Backoff`]).
    pub async fn sync(&mut self, model: &Model) -> Result<Outcome> {
        let start = Instant::now();
        let ruleset = ruleset_for(model, &self.node);
        let compile = start.elapsed();
        let hash = ruleset_hash(&ruleset.text);
        if self.applied == Some(hash) {
            self.succeeded();
            self.metrics.unchanged.fetch_add(1, Ordering::Relaxed);
            self.metrics.observe(start.elapsed());
            tracing::debug!(hash = format!("{hash:016x}"), "ruleset unchanged");
            return Ok(Outcome::Unchanged);
        }
        if let Err(error) = run_nft(&self.nft, &ruleset.text, false).await {
            let m = &self.metrics;
            m.failed.fetch_add(1, Ordering::Relaxed);
            let failures = m.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
            m.observe(start.elapsed());
            m.set_error(Some(format!("{error:#}")));
            tracing::error!(
                error = format!("{error:#}"),
                failures,
                "apply failed; the previous ruleset stays active"
            );
            return Err(error);
        }
        self.applied = Some(hash);
        self.succeeded();
        let local = nft::local_pods(model, &self.node).len();
        self.record(&ruleset, hash, local, start);
        if let Some(conntrack) = &self.strict {
            self.cut(model, conntrack.clone()).await;
        }
        self.write_status(hash);
        tracing::info!(
            hash = format!("{hash:016x}"),
            rules = ruleset.rules,
            set_elements = ruleset.set_elements,
            local_pods = local,
            policies = model.policies.len(),
            pods = model.cluster.pods.len(),
            compile_ms = compile.as_secs_f64() * 1e3,
            total_ms = start.elapsed().as_secs_f64() * 1e3,
            "ruleset applied"
        );
        Ok(Outcome::Applied)
    }

    /// The state handed in is in force (applied now, or already).
    fn succeeded(&self) {
        self.metrics.have_state.store(true, Ordering::Relaxed);
        self.metrics
            .consecutive_failures
            .store(0, Ordering::Relaxed);
        self.metrics.set_error(None);
    }

    fn record(&self, ruleset: &Ruleset, hash: u64, local: usize, start: Instant) {
        let m = &self.metrics;
        m.applied.fetch_add(1, Ordering::Relaxed);
        m.rules.store(ruleset.rules as u64, Ordering::Relaxed);
        m.set_elements
            .store(ruleset.set_elements as u64, Ordering::Relaxed);
        m.local_pods.store(local as u64, Ordering::Relaxed);
        m.ruleset_hash.store(hash, Ordering::Relaxed);
        m.observe(start.elapsed());
    }

    /// Strict mode's pass after an apply. A failure is logged and counted, never fatal:
    /// the new ruleset is in force for new connections either way.
    async fn cut(&self, model: &Model, conntrack: PathBuf) {
        match crate::strict::cut(model, &self.node, &conntrack).await {
            Ok(cut) => {
                self.metrics
                    .flows_cut
                    .fetch_add(cut as u64, Ordering::Relaxed);
                self.metrics.set_strict_error(None);
                if cut > 0 {
                    tracing::info!(
                        flows = cut,
                        "strict mode: cut established flows the new state denies"
                    );
                }
            }
            Err(error) => {
                self.metrics.strict_failures.fetch_add(1, Ordering::Relaxed);
                self.metrics.set_strict_error(Some(format!("{error:#}")));
                tracing::error!(
                    error = format!("{error:#}"),
                    "strict mode: cutting flows failed"
                );
            }
        }
    }

    /// Writes the applied hash to the status file (write then rename, so a reader never
    /// sees half a line). The ruleset is in force either way, so a failure is only logged.
    fn write_status(&self, hash: u64) {
        let Some(path) = &self.status_file else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let written = std::fs::write(&tmp, format!("{hash:016x}\n"))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(error) = written {
            tracing::warn!(path = %path.display(), %error, "writing the status file");
        }
    }
}

/// When to retry a failed apply: exponential backoff from [`Backoff::FIRST`] to
/// [`Backoff::MAX`], each delay scaled by a random factor in [0.8, 1.2) (jitter), so the
/// agents of many nodes that failed together do not retry in lockstep.
#[derive(Debug, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The first delay.
    pub const FIRST: Duration = Duration::from_millis(500);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(30);

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let exponential = Self::FIRST.saturating_mul(1u32 << self.attempt.min(16));
        self.attempt = self.attempt.saturating_add(1);
        let base = exponential.min(Self::MAX);
        // A random u64 from the standard library's randomly seeded hasher: jitter needs no
        // better randomness than that, and no extra dependency.
        let random = RandomState::new().hash_one(self.attempt);
        let factor = 0.8 + 0.4 * (random % 1_000) as f64 / 1_000.0;
        base.mul_f64(factor)
    }

    /// Back to the first delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        for (i, d) in delays.iter().enumerate() {
            let base = Backoff::FIRST.saturating_mul(1 << i).min(Backoff::MAX);
            assert!(
                *d >= base.mul_f64(0.8) && *d < base.mul_f64(1.2),
                "attempt {i}: {d:?} around {base:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() < Backoff::FIRST.mul_f64(1.2));
    }
}
