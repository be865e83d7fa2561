//! The agent's main loop: a source of snapshots, an enforcer, and the metrics server.
//!
//! Nothing is applied until the source has a complete state (the directory read, or every
//! watch listed): until then the kernel keeps whatever ruleset it has, so a restarted agent
//! opens no window. After that, every new snapshot is synced at once, and a failed apply is
//! retried with [`Backoff`] until it succeeds or a newer snapshot replaces it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::enforce::{ruleset_for, Backoff, Enforcer};
use crate::metrics::Metrics;
use crate::sources::{OnError, Snapshot};
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
    /// Print the ruleset that would be applied, and exit (1 when the state has errors,
    /// which are printed to stderr).
    #[arg(long)]
    pub dry_run: bool,
    /// Apply once and exit (1 when the state has errors, which are printed to stderr).
    #[arg(long)]
    pub once: bool,
    /// What to enforce for a file or object that has errors and has never parsed (one that
    /// parsed before keeps its last good version either way): `fail-closed` isolates every
    /// namespace it names, `ignore` enforces the rest as if it did not exist.
    #[arg(long, value_enum, default_value_t = OnError::FailClosed)]
    pub on_error: OnError,
    /// Strict mode: after each change, cut established connections the new state denies
    /// (with conntrack). By default they run to their end; new ones follow the new rules.
    #[arg(long)]
    pub strict: bool,
    /// The conntrack binary (strict mode).
    #[arg(long, default_value = "conntrack")]
    pub conntrack: PathBuf,
    /// Address of /healthz, /livez and /metrics; `off` disables them.
    #[arg(long, default_value = "127.0.0.1:9695")]
    pub metrics_addr: String,
    /// Write the hash of every applied ruleset to FILE.
    #[arg(long, value_name = "FILE")]
    pub status_file: Option<PathBuf>,
    /// The nft binary.
    #[arg(long, default_value = "nft")]
    pub nft: PathBuf,
    /// How often (seconds) to ask API discovery whether the policy-tier CRDs
    /// (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) were installed
    /// or removed; their objects are watched while they are served.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub discovery_interval: u64,
}

/// Polls `dir` and sends a snapshot whenever its files changed and then stayed unchanged
/// for one poll interval (a debounce: editors and `kubectl` write in several steps).
async fn watch_manifests(
    dir: PathBuf,
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    on_error: OnError,
    metrics: Arc<Metrics>,
) {
    let mut loaded: Option<manifests::Fingerprint> = None;
    let mut seen: Option<manifests::Fingerprint> = None;
    let mut loader = manifests::Loader::new(on_error);
    let mut failing = false;
    loop {
        let read = manifests::fingerprint(&dir).and_then(|now| {
            let stable = seen.as_ref() == Some(&now);
            let snapshot = if stable && loaded.as_ref() != Some(&now) {
                let snapshot = loader.load(&dir)?;
                loaded = Some(now.clone());
                Some(snapshot)
            } else {
                None
            };
            seen = Some(now);
            Ok(snapshot)
        });
        match read {
            Ok(snapshot) => {
                metrics.freshness.reached("manifests");
                if std::mem::take(&mut failing) {
                    tracing::info!(dir = %dir.display(), "the manifests directory is readable again");
                }
                let sent = snapshot.map(|s| tx.send(Some(Arc::new(s))));
                if matches!(sent, Some(Err(_))) {
                    return;
                }
            }
            Err(error) => {
                metrics.freshness.lost("manifests");
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "reading manifests; enforcing the last state"
                    );
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the agent until it is stopped (or once, with `--once` / `--dry-run`).
pub async fn run(args: Args) -> Result<ExitCode> {
    let metrics = Arc::new(Metrics::default());
    if args.dry_run || args.once {
        return one_shot(args, metrics).await;
    }
    if args.metrics_addr != "off" {
        let listener = tokio::net::TcpListener::bind(&args.metrics_addr)
            .await
            .with_context(|| format!("binding the metrics address {}", args.metrics_addr))?;
        tracing::info!(addr = %args.metrics_addr, "serving /healthz, /livez and /metrics");
        tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
    }
    let (tx, rx) = watch::channel::<Option<Arc<Snapshot>>>(None);
    let source = match args.manifests.clone() {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), node = %args.node_name, "watching manifests");
            let (on_error, metrics) = (args.on_error, metrics.clone());
            tokio::spawn(async move {
                watch_manifests(dir, tx, on_error, metrics).await;
                Ok(())
            })
        }
        None => {
            let client = kube_source::observed_client(args.kubeconfig.as_deref(), &metrics).await?;
            tracing::info!(node = %args.node_name, "watching the Kubernetes API");
            let options = kube_source::Options {
                on_error: args.on_error,
                metrics: metrics.clone(),
                discovery: Duration::from_secs(args.discovery_interval),
            };
            tokio::spawn(kube_source::watch_with(client, tx, options))
        }
    };
    let enforcer = enforcer(&args, metrics.clone());
    sync_loop(rx, enforcer, metrics).await?;
    source.abort();
    match source.await {
        Ok(result) => result.map(|()| ExitCode::SUCCESS),
        Err(e) if e.is_cancelled() => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

fn enforcer(args: &Args, metrics: Arc<Metrics>) -> Enforcer {
    let enforcer = Enforcer::new(
        args.node_name.clone(),
        args.nft.clone(),
        args.status_file.clone(),
        metrics,
    );
    if args.strict {
        enforcer.with_strict(args.conntrack.clone())
    } else {
        enforcer
    }
}

/// `--dry-run` and `--once`: the first complete state, its errors to stderr (rendered as
/// the CLI renders them), the ruleset to stdout or the kernel, exit 1 if it had errors.
/// The ruleset is the one the running agent would enforce: rejected files count as what
/// `--on-error` says, since a one-shot run has no earlier good version.
async fn one_shot(args: Args, metrics: Arc<Metrics>) -> Result<ExitCode> {
    let snapshot = first_snapshot(&args, &metrics).await?;
    let errors = snapshot.render_errors();
    if !errors.is_empty() {
        eprint!("{errors}");
    }
    if args.dry_run {
        print!("{}", ruleset_for(&snapshot, &args.node_name).text);
    } else {
        enforcer(&args, metrics).sync(&snapshot).await?;
    }
    Ok(if snapshot.errors() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn first_snapshot(args: &Args, metrics: &Arc<Metrics>) -> Result<Snapshot> {
    if let Some(dir) = &args.manifests {
        return manifests::Loader::new(args.on_error).load(dir);
    }
    let client = kube_source::observed_client(args.kubeconfig.as_deref(), metrics).await?;
    let (tx, mut rx) = watch::channel(None);
    let options = kube_source::Options {
        on_error: args.on_error,
        metrics: metrics.clone(),
        discovery: Duration::from_secs(args.discovery_interval),
    };
    let task = tokio::spawn(kube_source::watch_with(client, tx, options));
    rx.changed()
        .await
        .context("the watchers stopped before listing")?;
    let snapshot = rx.borrow().clone().context("no state")?;
    task.abort();
    Ok(Arc::unwrap_or_clone(snapshot))
}

/// Records a new snapshot's state in the metrics (and so in `/healthz`).
fn report(metrics: &Metrics, snapshot: &Snapshot) {
    metrics
        .rejected_sources
        .store(snapshot.rejected.len() as u64, Ordering::Relaxed);
    metrics
        .fail_closed_namespaces
        .store(snapshot.fail_closed.len() as u64, Ordering::Relaxed);
    metrics
        .rejections
        .store(snapshot.rejections, Ordering::Relaxed);
    metrics.set_state_problems(snapshot.problems());
}

/// Syncs every new snapshot; retries a failed apply with backoff; stops on SIGINT or
/// SIGTERM, leaving the ruleset in the kernel.
async fn sync_loop(
    mut rx: watch::Receiver<Option<Arc<Snapshot>>>,
    mut enforcer: Enforcer,
    metrics: Arc<Metrics>,
) -> Result<()> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut latest: Option<Arc<Snapshot>> = None;
    let mut backoff = Backoff::default();
    let mut retry: Option<tokio::time::Instant> = None;
    loop {
        // A date that never comes when nothing is to be retried.
        let retry_at =
            retry.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
                // `watch` keeps only the newest snapshot: a burst collapses into one sync.
                let Some(snapshot) = rx.borrow_and_update().clone() else {
                    continue;
                };
                report(&metrics, &snapshot);
                latest = Some(snapshot);
            }
            _ = tokio::time::sleep_until(retry_at), if retry.is_some() => {}
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; the ruleset stays installed");
                break;
            }
            _ = sigterm.recv() => {
                tracing::info!("terminated; the ruleset stays installed");
                break;
            }
        }
        let Some(snapshot) = &latest else {
            continue;
        };
        retry = match enforcer.sync(snapshot).await {
            Ok(_) => {
                backoff.reset();
                None
            }
            Err(_) => {
                let delay = backoff.next_delay();
                tracing::info!(
                    retry_in_ms = delay.as_millis() as u64,
                    "will retry the apply"
                );
                Some(tokio::time::Instant::now() + delay)
            }
        };
    }
    Ok(())
}
