//! A real Kubernetes control plane for netpol's tests: etcd and kube-apiserver, built from
//! the Go module in `testenv/go` (k8s.io/kubernetes at the release its `go.mod` pins) by
//! `testenv/build.sh`, once per version into a cache directory.
//!
//! [`ControlPlane::start`] generates a CA, serving and client certificates and the
//! service-account key pair (`pki`, Go's standard library), starts etcd and kube-apiserver
//! on free loopback ports with `--authorization-mode=RBAC`, waits for `/readyz`, and tears
//! everything down on drop. The processes also end by themselves when the test process is
//! gone (a killed run), and a later start removes the directories such runs left behind.
//!
//! What the control plane does not run: kube-controller-manager, the scheduler and kubelets.
//! Tests set what those would (a namespace's `default` ServiceAccount, a pod's `nodeName`
//! and its `status` through the status subresource) with [`apply`].

mod apply;
mod crds;
mod etcd;
mod process;
mod relay;

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::PostParams;
use kube::{Api, Client};

pub use crate::apply::apply;
pub use crate::crds::TIER_CRDS;
pub use crate::process::Process;
pub use crate::relay::Relay;

/// Every directory this crate creates under the temp dir is named `nptcp<pid>-<n>`.
const PREFIX: &str = "nptcp";

/// How long kube-apiserver may take to become ready: its post-start hooks (RBAC
/// bootstrap, priority and fairness) take seconds on an idle machine and much longer on a
/// loaded CI runner.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The Kubernetes release the control plane is built from (`k8s.io/kubernetes` in
/// `testenv/go/go.mod`), such as `v1.37.2`.
pub fn kubernetes_version() -> &'static str {
    include_str!("../go/go.mod")
        .lines()
        .find_map(|line| line.trim().strip_prefix("k8s.io/kubernetes "))
        .map(str::trim)
        .unwrap_or("unknown")
}

/// The directory holding `etcd`, `kube-apiserver` and `pki`: `testenv/build.sh` prints it,
/// building the binaries first when this version is not in the cache yet.
pub fn binaries() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build.sh");
        let output = Command::new(&script)
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed; its output is above",
            script.display()
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Who a kubeconfig authenticates as.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The admin client certificate (group `system:masters`).
    Admin,
    /// A bearer token, such as a ServiceAccount's from [`ControlPlane::token`].
    Token(String),
}

/// etcd and kube-apiserver, stopped on drop. Field order is drop order: the API server
/// goes before etcd.
pub struct ControlPlane {
    apiserver: Option<Process>,
    etcd: Process,
    /// The temp directory with keys, kubeconfigs, logs and etcd's data.
    pub dir: PathBuf,
    etcd_url: String,
    port: u16,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.apiserver = None;
        self.etcd.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver and waits until the API server is ready. Panics with
    /// the processes' logs when that fails.
    pub fn start() -> ControlPlane {
        let bin = binaries();
        cleanup_leftovers();
        let dir = fresh_dir();
        let pki = dir.join("pki");
        process::run(&bin.join("pki"), &[pki.to_str().expect("utf-8 temp dir")]);
        let (etcd, etcd_url) = etcd::start(bin, &dir);
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let port = free_port();
        let server = format!("https://127.0.0.1:{port}");
        let admin = write_kubeconfig(&dir, "admin", &server, &Credentials::Admin);
        let client = runtime.block_on(client_from(&admin)).expect("admin client");
        let mut cp = ControlPlane {
            apiserver: None,
            etcd,
            dir,
            etcd_url,
            port,
            client,
            runtime,
        };
        cp.start_apiserver();
        cp
    }

    /// Runs `future` to completion on the control plane's runtime (where its clients live).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The runtime the clients and [`Relay`]s run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// A client authenticated as the admin.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// `https://127.0.0.1:PORT` of the API server.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The API server's port (kept across [`Self::stop_apiserver`] and
    /// [`Self::start_apiserver`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin kubeconfig.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// Writes `NAME.kubeconfig` (one context, `NAME`) for `server` and returns its path.
    pub fn kubeconfig(&self, name: &str, server: &str, credentials: &Credentials) -> PathBuf {
        write_kubeconfig(&self.dir, name, server, credentials)
    }

    /// Applies manifests (server-side apply; see [`apply`]).
    pub fn apply(&self, text: &str) -> Result<usize> {
        self.block_on(apply(&self.client, text))
    }

    /// A token of ServiceAccount `namespace/name`, from the TokenRequest API: what the
    /// kubelet mounts into the DaemonSet's pods.
    pub fn token(&self, namespace: &str, name: &str) -> String {
        let api = Api::<ServiceAccount>::namespaced(self.client(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(4 * 3600),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let done = self
            .block_on(api.create_token_request(name, &PostParams::default(), &request))
            .unwrap_or_else(|e| panic!("token for {namespace}/{name}: {e}"));
        done.status.expect("TokenRequest status").token
    }

    /// Installs the policy-tier CRDs ([`TIER_CRDS`]) from the Go module cache and waits
    /// until they are established. Returns their names.
    pub fn install_tier_crds(&self) -> Vec<String> {
        self.block_on(crds::install(&self.client))
            .unwrap_or_else(|e| panic!("installing the tier CRDs: {e:#}"))
    }

    /// Compacts etcd's history up to its current revision, as the API server does every
    /// five minutes: a watch that resumes from an older revision then gets `410 Gone` from
    /// etcd. Returns the revision.
    pub fn compact(&self) -> i64 {
        etcd::compact(&self.etcd_url).unwrap_or_else(|e| panic!("etcd compaction: {e:#}"))
    }

    /// The main API server's log so far.
    pub fn apiserver_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kube-apiserver.log")).unwrap_or_default()
    }

    /// Stops the main API server (SIGTERM, as in a rolling restart). etcd keeps running.
    pub fn stop_apiserver(&mut self) {
        self.apiserver = None;
    }

    /// Starts the main API server on its port (again) and waits until it is ready.
    pub fn start_apiserver(&mut self) {
        assert!(
            self.apiserver.is_none(),
            "the API server is running already"
        );
        let log = self.dir.join("kube-apiserver.log");
        let mut process = self.spawn_apiserver(self.port, &log, &[]);
        self.wait_ready(&self.client, &mut process);
        self.apiserver = Some(process);
    }

    /// A second API server on the same etcd (as in a highly available control plane),
    /// with `flags` added, on its own port; ready when returned. Stopped on drop.
    pub fn extra_apiserver(&self, name: &str, flags: &[&str]) -> (Process, u16) {
        let port = free_port();
        let log = self.dir.join(format!("{name}.log"));
        let mut process = self.spawn_apiserver(port, &log, flags);
        let server = format!("https://127.0.0.1:{port}");
        let kubeconfig = self.kubeconfig(name, &server, &Credentials::Admin);
        let client = self
            .block_on(client_from(&kubeconfig))
            .expect("admin client");
        self.wait_ready(&client, &mut process);
        (process, port)
    }

    fn spawn_apiserver(&self, port: u16, log: &Path, extra: &[&str]) -> Process {
        let pki = self.dir.join("pki");
        let file = |name: &str| pki.join(name).display().to_string();
        let mut args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
            format!("--tls-cert-file={}", file("apiserver.crt")),
            format!("--tls-private-key-file={}", file("apiserver.key")),
            format!("--client-ca-file={}", file("ca.crt")),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", file("sa.pub")),
            format!("--service-account-signing-key-file={}", file("sa.key")),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            // The `kubernetes` Service's endpoints may not be a loopback address, and no
            // test needs them.
            "--endpoint-reconciler-type=none".into(),
            format!("--cert-dir={}", self.dir.join("apiserver-certs").display()),
            "--profiling=false".into(),
            "--shutdown-watch-termination-grace-period=2s".into(),
        ];
        args.extend(extra.iter().map(|f| f.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Process::spawn(
            "kube-apiserver",
            &binaries().join("kube-apiserver"),
            &args,
            log,
        )
    }

    /// Polls `/readyz` until it says `ok`; panics with the log when the process exits or
    /// [`READY_TIMEOUT`] passes.
    fn wait_ready(&self, client: &Client, process: &mut Process) {
        let start = Instant::now();
        loop {
            let request = http::Request::get("/readyz").body(Vec::new());
            let ready = self.block_on(client.request_text(request.expect("request")));
            if ready.is_ok_and(|body| body.trim() == "ok") {
                return;
            }
            if let Some(status) = process.exited() {
                panic!(
                    "kube-apiserver exited ({status}) before it was ready:\n{}",
                    process.log_tail()
                );
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "kube-apiserver was not ready after {READY_TIMEOUT:?}:\n{}",
                process.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A client from a kubeconfig file.
pub async fn client_from(kubeconfig: &Path) -> Result<Client> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(Client::try_from(config)?)
}

fn write_kubeconfig(dir: &Path, name: &str, server: &str, credentials: &Credentials) -> PathBuf {
    let pki = dir.join("pki");
    let user = match credentials {
        Credentials::Admin => serde_json::json!({
            "client-certificate": pki.join("admin.crt"),
            "client-key": pki.join("admin.key"),
        }),
        Credentials::Token(token) => serde_json::json!({ "token": token }),
    };
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": server,
            "certificate-authority": pki.join("ca.crt"),
        }}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    });
    let path = dir.join(format!("{name}.kubeconfig"));
    // JSON is YAML: every kubeconfig reader takes it.
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path
}

fn fresh_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{PREFIX}{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("control plane temp dir");
    dir
}

/// Removes the directories of earlier runs whose process is gone (their etcd and
/// kube-apiserver exited with them).
fn cleanup_leftovers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kubernetes_version_comes_from_go_mod() {
        let version = super::kubernetes_version();
        assert!(version.starts_with("v1."), "{version}");
        let script = include_str!("../build.sh");
        assert!(
            script.contains("k8s.io/kubernetes"),
            "build.sh reads the same line"
        );
    }
}
