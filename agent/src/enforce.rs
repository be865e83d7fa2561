//! Model → ruleset → kernel, once per sync.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use netpol_core::nft::{self, Ruleset};
use netpol_core::{Engine, Model, Severity};
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
            applied: None,
        }
    }

    /// Compiles `model` for this node and applies it unless it is already active. A failed
    /// apply leaves the previous ruleset in the kernel (one `nft` transaction) and is
    /// reported in the logs and metrics.
    pub async fn sync(&mut self, model: &Model) -> Result<Outcome> {
        let start = Instant::now();
        let errors = model
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 0 {
            // Parsing keeps what it understood, so enforcing the rest is still right.
            let first = model
                .diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| d.message.as_str())
                .unwrap_or_default();
            tracing::warn!(
                errors,
                first,
                "cluster state has errors; enforcing what was understood"
            );
        }
        let ruleset = ruleset_for(model, &self.node);
        let compile = start.elapsed();
        let hash = ruleset_hash(&ruleset.text);
        if self.applied == Some(hash) {
            self.metrics.unchanged.fetch_add(1, Ordering::Relaxed);
            self.metrics.observe(start.elapsed());
            tracing::debug!(hash = format!("{hash:016x}"), "ruleset unchanged");
            return Ok(Outcome::Unchanged);
        }
        if let Err(error) = run_nft(&self.nft, &ruleset.text, false).await {
            self.metrics.failed.fetch_add(1, Ordering::Relaxed);
            self.metrics.observe(start.elapsed());
            self.metrics.set_error(Some(format!("{error:#}")));
            tracing::error!(
                error = format!("{error:#}"),
                "apply failed; the previous ruleset stays active"
            );
            return Err(error);
        }
        self.applied = Some(hash);
        let m = &self.metrics;
        m.applied.fetch_add(1, Ordering::Relaxed);
        m.rules.store(ruleset.rules as u64, Ordering::Relaxed);
        m.set_elements
            .store(ruleset.set_elements as u64, Ordering::Relaxed);
        let local = nft::local_pods(model, &self.node).len();
        m.local_pods.store(local as u64, Ordering::Relaxed);
        m.ruleset_hash.store(hash, Ordering::Relaxed);
        m.observe(start.elapsed());
        m.set_error(None);
        if let Some(path) = &self.status_file {
            // Write then rename, so a reader never sees half a line.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{hash:016x}\n"))
                .and_then(|()| std::fs::rename(&tmp, path))
                .with_context(|| format!("writing {}", path.display()))?;
        }
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
}
