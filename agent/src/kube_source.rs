//! Cluster state from the Kubernetes API: watchers and reflector stores for Pods,
//! Namespaces and NetworkPolicies.
//!
//! The boundary is JSON: every stored object is serialized (k8s-openapi writes `apiVersion`
//! and `kind`) into one `List` document and given to [`netpol_core::load`], the parser the
//! CLI and the playground use. Kubernetes defaulting and every policy decision therefore
//! happen in one place, and the agent cannot drift from the evaluator.
//!
//! Resilience comes from `kube::runtime`: the watcher lists, then watches from the list's
//! `resourceVersion`, follows bookmarks, re-lists after `410 Gone`, and (with
//! `default_backoff`) retries forever while the API server is unreachable. The reflector
//! stores keep their last content meanwhile, so the node keeps enforcing the last good state.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Config, Resource};
use netpol_core::{FileId, Model};
use serde_json::Value;
use tokio::sync::{watch, Notify};

/// How long to wait after an event for more before rebuilding: a rollout touches many pods
/// at once, and one apply for the whole burst is cheaper and just as correct.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// A client from an explicit kubeconfig file, or inferred (in-cluster service account, then
/// `$KUBECONFIG` / `~/.kube/config`).
pub async fn client(kubeconfig: Option<&std::path::Path>) -> Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))?
        }
        None => Config::infer()
            .await
            .context("inferring the Kubernetes client configuration")?,
    };
    Client::try_from(config).context("building the Kubernetes client")
}

/// The three stores, filled by [`watch`].
#[derive(Clone)]
pub struct Stores {
    /// Pods of all namespaces.
    pub pods: Store<Pod>,
    /// Namespaces.
    pub namespaces: Store<Namespace>,
    /// NetworkPolicies of all namespaces.
    pub policies: Store<NetworkPolicy>,
}

/// The object as the core reads it: the boundary shared with the CLI's `--cluster`.
fn to_json<K: k8s_openapi::Resource + k8s_openapi::serde::Serialize>(object: &K) -> Option<Value> {
    netpol_kube::for_core(K::API_VERSION, K::KIND, object).ok()
}

impl Stores {
    /// The current cluster state as one JSON `List` document, objects sorted by kind,
    /// namespace and name (deterministic input, deterministic ruleset).
    pub fn to_json_list(&self) -> String {
        let mut items: Vec<(String, Value)> = Vec::new();
        let key =
            |kind: &str, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
                format!(
                    "{kind}/{}/{}",
                    meta.namespace.as_deref().unwrap_or(""),
                    meta.name.as_deref().unwrap_or("")
                )
            };
        for ns in self.namespaces.state() {
            if let Some(v) = to_json(ns.as_ref()) {
                items.push((key("0", ns.meta()), v));
            }
        }
        // Every pod goes to the core, which decides which ones take part (finished and
        // host-network pods): the same rule as the CLI, the playground and manifests mode.
        for pod in self.pods.state() {
            if let Some(v) = to_json(pod.as_ref()) {
                items.push((key("1", pod.meta()), v));
            }
        }
        for policy in self.policies.state() {
            if let Some(v) = to_json(policy.as_ref()) {
                items.push((key("2", policy.meta()), v));
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        netpol_kube::list_document(items.into_iter().map(|(_, v)| v).collect()).to_string()
    }

    /// The current cluster state as a model.
    pub fn model(&self) -> Model {
        let text = self.to_json_list();
        netpol_core::load(&[(FileId(0), text.as_str())])
    }
}

fn drive<K, S>(name: &'static str, stream: S, changed: Arc<Notify>) -> tokio::task::JoinHandle<()>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    K: Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitApply(_) | watcher::Event::Init) => {}
                Ok(_) => changed.notify_one(),
                Err(error) => {
                    if let Some(verb) = crate::forbidden::verb(&error) {
                        tracing::error!("{}", crate::forbidden::message(verb, name));
                    }
                    // The watcher re-lists on 410 Gone and backs off while the API server is
                    // away; the store keeps its last content in the meantime.
                    tracing::warn!(resource = name, error = %error, "watch error; retrying");
                }
            }
        }
    })
}

/// Starts watchers for Pods, Namespaces and NetworkPolicies; every debounced change (and the
/// first complete list of all three) sends a fresh model on `tx`. Runs until `tx` is closed.
pub async fn watch(client: Client, tx: watch::Sender<Option<Arc<Model>>>) -> Result<()> {
    let changed = Arc::new(Notify::new());
    let config = watcher::Config::default();
    let (pods, pods_writer) = reflector::store::<Pod>();
    let (namespaces, ns_writer) = reflector::store::<Namespace>();
    let (policies, pol_writer) = reflector::store::<NetworkPolicy>();
    let tasks = [
        drive(
            "pods",
            watcher(Api::<Pod>::all(client.clone()), config.clone())
                .default_backoff()
                .reflect(pods_writer),
            changed.clone(),
        ),
        drive(
            "namespaces",
            watcher(Api::<Namespace>::all(client.clone()), config.clone())
                .default_backoff()
                .reflect(ns_writer),
            changed.clone(),
        ),
        drive(
            "networkpolicies",
            watcher(Api::<NetworkPolicy>::all(client), config)
                .default_backoff()
                .reflect(pol_writer),
            changed.clone(),
        ),
    ];
    let stores = Stores {
        pods,
        namespaces,
        policies,
    };
    // Enforce nothing until every store holds a complete list: a half-filled cluster could
    // mean "no policies" and open everything up for a moment.
    stores.pods.wait_until_ready().await?;
    stores.namespaces.wait_until_ready().await?;
    stores.policies.wait_until_ready().await?;
    tracing::info!(
        pods = stores.pods.state().len(),
        namespaces = stores.namespaces.state().len(),
        policies = stores.policies.state().len(),
        "initial list complete"
    );
    loop {
        if tx.send(Some(Arc::new(stores.model()))).is_err() {
            break;
        }
        changed.notified().await;
        tokio::time::sleep(DEBOUNCE).await;
    }
    for task in tasks {
        task.abort();
    }
    Ok(())
}
