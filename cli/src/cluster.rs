//! `--cluster`: the live cluster as input, read once through the Kubernetes API with the
//! same boundary the agent uses ([`netpol_kube`]): each object becomes one source text,
//! named like `cluster:networkpolicies/prod/deny-all`, parsed by the core like a file.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use miette::miette;
use netpol_kube::connect::{self, ConnectError, Connected, Target};
use netpol_kube::read::{self, Progress, ReadError, Snapshot};

use crate::input::Source;

/// The flags every command takes to read a live cluster.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ClusterArgs {
    /// Read Namespaces, Pods, NetworkPolicies, Services and Nodes (and the policy-tier resources
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy, when
    /// installed) from a live cluster, as kubectl finds it; files given too are added
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig context to read [default: the current context]
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub context: Option<String>,
    /// The kubeconfig file [default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account]
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
}

/// Reads the cluster when `--cluster` is given: one source per object. A cluster that
/// cannot be read is a usage error (like a path that cannot be read), with a hint.
pub fn sources(args: &ClusterArgs) -> Result<Vec<Source>, miette::Report> {
    if !args.cluster {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| miette!("cannot start the Kubernetes client: {e}"))?;
    let target = Target {
        kubeconfig: args.kubeconfig.as_deref(),
        context: args.context.as_deref(),
    };
    let connected = runtime
        .block_on(connect::connect(target))
        .map_err(connect_report)?;
    let mut meter = Meter::new();
    let snapshot = runtime
        .block_on(read::read(&connected.client, &mut |p| meter.update(p)))
        .map_err(|e| read_report(&e, &connected))?;
    meter.finish();
    summary(&snapshot, &connected);
    Ok(snapshot
        .objects
        .iter()
        .map(|object| Source {
            name: format!("cluster:{}", object.path()),
            text: Arc::from(netpol_kube::text(&object.value)),
        })
        .collect())
}

/// `the cluster of context "kind" (https://127.0.0.1:6443)`.
fn which(connected: &Connected) -> String {
    match &connected.context {
        Some(context) => format!("context `{context}` ({})", connected.server),
        None => connected.server.clone(),
    }
}

/// One line on stderr: what was read, and from where (a wrong context is then obvious).
fn summary(snapshot: &Snapshot, connected: &Connected) {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for object in &snapshot.objects {
        match counts.last_mut() {
            Some((resource, n)) if *resource == object.resource => *n += 1,
            _ => counts.push((object.resource.clone(), 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let read = if counts.is_empty() {
        "nothing".to_string()
    } else {
        counts.join(", ")
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "netpol: read {read} from {}", which(connected));
    for skipped in &snapshot.skipped {
        let _ = writeln!(err, "netpol: warning: {skipped}; evaluated without them");
    }
}

/// The progress line for big clusters: from the second page of a resource on, rewritten in
/// place on a terminal, one line per page otherwise (a CI log shows the read advancing).
struct Meter {
    terminal: bool,
    shown: bool,
}

impl Meter {
    fn new() -> Meter {
        Meter {
            terminal: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn update(&mut self, progress: Progress<'_>) {
        if progress.pages < 2 {
            return;
        }
        let line = format!(
            "netpol: reading the cluster: {} {} ({} objects so far)",
            progress.listed, progress.resource, progress.total
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.shown = true;
    }

    fn finish(&self) {
        if self.terminal && self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

fn connect_report(error: ConnectError) -> miette::Report {
    match error {
        ConnectError::Kubeconfig(message) => miette!(
            help = "check --kubeconfig and --context (`kubectl config get-contexts` lists the contexts)",
            "{message}"
        ),
        ConnectError::Client { .. } => miette!(
            help = "check the kubeconfig's certificates and credentials for this cluster",
            "{error}"
        ),
    }
}

fn read_report(error: &ReadError, connected: &Connected) -> miette::Report {
    let at = which(connected);
    match error {
        ReadError::Forbidden { resource, .. } => miette!(
            help = format!(
                "netpol needs `list` on namespaces, pods and networkpolicies in all namespaces; \
                 check with `kubectl auth can-i list {resource} --all-namespaces`"
            ),
            "cannot read the cluster of {at}: {error}"
        ),
        ReadError::Unauthorized { .. } => miette!(
            help = "log in to the cluster again, or pick another context with --context",
            "cannot read the cluster of {at}: {error}"
        ),
        ReadError::Other { .. } => miette!(
            help = "is the API server reachable? `kubectl cluster-info` checks the same kubeconfig",
            "cannot read the cluster of {at}: {error}"
        ),
    }
}
