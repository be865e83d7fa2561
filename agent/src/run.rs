//! The agent's main loop: a source of models, an enforcer, and the metrics server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use netpol_core::Model;
use tokio::sync::watch;

use crate::enforce::{ruleset_for, Enforcer};
use crate::metrics::Metrics;
use crate::{kube_source, manifests};

/// How often the manifests directory is checked for changes.
pub const POLL: Duration = Duration::from_millis(100);

/// Command line of `netpol-agent`.
#[derive(Debug, Parser)]
#[command(name = "netpol-agent", version, about)]
pub struct Args {
    /// Read cluster state (pods, namespaces, policies) from manifest files in DIR instead of
    /// the Kubernetes API; re-read when a file changes.
    #[arg(long, value_name = "DIR")]
    pub manifests: Option<PathBuf>,
    /// Kubeconfig for the Kubernetes API (default: in-cluster service account, then
    /// $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// This node's name; its pods are those with this `spec.nodeName`.
    #[arg(long, env = "NODE_NAME")]
    pub node_name: String,
    /// Print the ruleset that would be applied, and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply once and exit.
    #[arg(long)]
    pub once: bool,
    /// Address of /healthz and /metrics; `off` disables them.
    #[arg(long, default_value = "127.0.0.1:9695")]
    pub metrics_addr: String,
    /// Write the hash of every applied ruleset to FILE.
    #[arg(long, value_name = "FILE")]
    pub status_file: Option<PathBuf>,
    /// The nft binary.
    #[arg(long, default_value = "nft")]
    pub nft: PathBuf,
}

/// Polls `dir` and sends a model whenever its files changed and then stayed unchanged for
/// one poll interval (a debounce: editors and `kubectl` write in several steps).
async fn watch_manifests(dir: PathBuf, tx: watch::Sender<Option<Arc<Model>>>) {
    let mut loaded: Option<manifests::Fingerprint> = None;
    let mut seen: Option<manifests::Fingerprint> = None;
    let mut loader = manifests::Loader::default();
    loop {
        match manifests::fingerprint(&dir) {
            Ok(now) => {
                let stable = seen.as_ref() == Some(&now);
                if stable && loaded.as_ref() != Some(&now) {
                    match loader.load(&dir) {
                        Ok(model) => {
                            loaded = Some(now.clone());
                            if tx.send(Some(Arc::new(model))).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(error = format!("{error:#}"), "reading manifests")
                        }
                    }
                }
                seen = Some(now);
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "reading manifests"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the agent until it is stopped (or once, with `--once` / `--dry-run`).
pub async fn run(args: Args) -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    if args.dry_run || args.once {
        let model = match &args.manifests {
            Some(dir) => manifests::load(dir)?,
            None => {
                let client = kube_source::client(args.kubeconfig.as_deref()).await?;
                let (tx, mut rx) = watch::channel(None);
                let task = tokio::spawn(kube_source::watch(client, tx));
                rx.changed()
                    .await
                    .context("the watchers stopped before listing")?;
                let model = rx.borrow().clone().context("no model")?;
                task.abort();
                Arc::unwrap_or_clone(model)
            }
        };
        if args.dry_run {
            print!("{}", ruleset_for(&model, &args.node_name).text);
            return Ok(());
        }
        let mut enforcer = Enforcer::new(args.node_name, args.nft, args.status_file, metrics);
        enforcer.sync(&model).await?;
        return Ok(());
    }

    if args.metrics_addr != "off" {
        let listener = tokio::net::TcpListener::bind(&args.metrics_addr)
            .await
            .with_context(|| format!("binding the metrics address {}", args.metrics_addr))?;
        tracing::info!(addr = %args.metrics_addr, "serving /healthz and /metrics");
        tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
    }

    let (tx, mut rx) = watch::channel::<Option<Arc<Model>>>(None);
    let source = match args.manifests.clone() {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), node = %args.node_name, "watching manifests");
            tokio::spawn(async move {
                watch_manifests(dir, tx).await;
                Ok(())
            })
        }
        None => {
            let client = kube_source::client(args.kubeconfig.as_deref()).await?;
            tracing::info!(node = %args.node_name, "watching the Kubernetes API");
            tokio::spawn(kube_source::watch(client, tx))
        }
    };

    let mut enforcer = Enforcer::new(args.node_name, args.nft, args.status_file, metrics);
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
                // `watch` keeps only the newest model: a burst collapses into one sync.
                let model = rx.borrow_and_update().clone();
                if let Some(model) = model {
                    // Errors are logged and counted inside; the loop goes on with the
                    // previous ruleset active.
                    let _ = enforcer.sync(&model).await;
                }
            }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; the ruleset stays installed");
                break;
            }
        }
    }
    source.abort();
    match source.await {
        Ok(result) => result,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
