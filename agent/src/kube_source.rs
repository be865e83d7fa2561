//! Cluster state from the Kubernetes API: watchers and reflector stores for Pods,
//! Namespaces and NetworkPolicies.
//!
//! The boundary is JSON: the watchers keep objects untyped (`DynamicObject`), and each
//! object is serialized on its own through [`netpol_kube`] (the boundary the CLI's
//! `--cluster` shares, so both hand the core the same text) and given to
//! [`netpol_core::parse`], the parser the CLI and the playground use. Kubernetes defaulting
//! and every policy decision therefore happen in one place, and the core is the one judge
//! of what is malformed: an object it rejects keeps its previous version
//! ([`crate::sources`], like the API server keeps the last accepted object), where typed
//! deserialization would have failed the whole list.
//! Objects are parsed again only when their `resourceVersion` changes.
//!
//! Resilience comes from `kube::runtime`: the watcher lists, then watches from the list's
//! `resourceVersion`, follows bookmarks, resumes a dropped watch from the last
//! `resourceVersion`, re-lists after `410 Gone`, and (`default_backoff`: exponential from
//! 0.8 s to 30 s, with jitter) retries forever while the API server is unreachable. The
//! reflector stores keep their content meanwhile (a re-list replaces a store at once, when
//! complete), so the node keeps enforcing the last state, and a re-list that finds nothing
//! new gives the same ruleset, which is not applied again. Every response of the API server
//! is observed ([`observed_client`]), so `/metrics` shows how old the state is.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Config};
use tokio::sync::{watch, Notify};

use crate::metrics::Metrics;
use crate::sources::{Content, OnError, Scope, Snapshot, Sources};

/// How long to wait after an event for more before rebuilding: a rollout touches many pods
/// at once, and one apply for the whole burst is cheaper and just as correct.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

async fn config(kubeconfig: Option<&std::path::Path>) -> Result<Config> {
    match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))
        }
        None => Config::infer()
            .await
            .context("inferring the Kubernetes client configuration"),
    }
}

/// A client from an explicit kubeconfig file, or inferred (in-cluster service account, then
/// `$KUBECONFIG` / `~/.kube/config`).
pub async fn client(kubeconfig: Option<&std::path::Path>) -> Result<Client> {
    Client::try_from(config(kubeconfig).await?).context("building the Kubernetes client")
}

/// [`client`], whose every response tells `metrics` whether the resource it was for
/// (`pods`, `namespaces`, `networkpolicies`) is in contact: the age of the state.
pub async fn observed_client(
    kubeconfig: Option<&std::path::Path>,
    metrics: &Arc<Metrics>,
) -> Result<Client> {
    let builder = kube::client::ClientBuilder::try_from(config(kubeconfig).await?)
        .context("building the Kubernetes client")?;
    Ok(builder
        .with_layer(&Observe {
            metrics: metrics.clone(),
        })
        .build())
}

/// The tower layer of [`observed_client`].
#[derive(Clone, Debug)]
struct Observe {
    metrics: Arc<Metrics>,
}

impl<S> tower_layer::Layer<S> for Observe {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`Observe`]: marks a resource in contact on a successful response, out
/// of contact on a failed one (connection refused, 5xx, 403).
#[derive(Clone, Debug)]
struct Observed<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

type Request = http::Request<kube::client::Body>;

impl<S, B> tower_service::Service<Request> for Observed<S>
where
    S: tower_service::Service<Request, Response = http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let part = resource_of(request.uri().path());
        let response = self.inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = response.await;
            if let Some(part) = part {
                match &response {
                    Ok(r) if r.status().is_success() => metrics.freshness.reached(part),
                    _ => metrics.freshness.lost(part),
                }
            }
            response
        })
    }
}

/// The watched resource a request path is for.
fn resource_of(path: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .map(|k| k.resource)
        .find(|r| path.rsplit('/').next() == Some(*r))
}

/// One watched kind.
#[derive(Debug)]
struct Kind {
    resource: &'static str,
    /// Only NetworkPolicies can isolate anything: a broken one that never parsed makes its
    /// namespace fail closed; a broken pod or namespace has nothing to fail closed.
    holds_policies: bool,
    api: fn() -> ApiResource,
}

const KINDS: [Kind; 3] = [
    Kind {
        resource: "namespaces",
        holds_policies: false,
        api: || ApiResource::erase::<Namespace>(&()),
    },
    Kind {
        resource: "pods",
        holds_policies: false,
        api: || ApiResource::erase::<Pod>(&()),
    },
    Kind {
        resource: "networkpolicies",
        holds_policies: true,
        api: || ApiResource::erase::<NetworkPolicy>(&()),
    },
];

/// The three stores, filled by [`watch_with`], in the order of `KINDS`.
#[derive(Clone)]
pub struct Stores {
    /// Namespaces, pods of all namespaces, NetworkPolicies of all namespaces.
    stores: Vec<(&'static Kind, Store<DynamicObject>)>,
}

/// An object as the core reads it, through the boundary shared with the CLI's `--cluster`
/// ([`netpol_kube::for_core`]: `kind` and `apiVersion` set, as list items lack them;
/// `managedFields` and annotations dropped), as the same text the CLI hands the core.
fn to_json(api: &ApiResource, object: &DynamicObject) -> Content {
    match netpol_kube::for_core(&api.api_version, &api.kind, object) {
        Ok(value) => Content::Text(netpol_kube::text(&value)),
        Err(e) => Content::Unreadable {
            message: format!("cannot serialize the object: {e}"),
            lossy: None,
        },
    }
}

impl Stores {
    /// Offers every stored object to `sources` (each parsed again only when its
    /// resourceVersion changed), forgets deleted ones, and builds the snapshot.
    pub fn snapshot(&self, sources: &mut Sources) -> Snapshot {
        let mut present = BTreeSet::new();
        for (kind, store) in &self.stores {
            let api = (kind.api)();
            for object in store.state() {
                let meta = &object.metadata;
                let namespace = meta.namespace.as_deref().unwrap_or("");
                let name = meta.name.as_deref().unwrap_or("");
                let key = match namespace {
                    "" => format!("{}/{name}", kind.resource),
                    ns => format!("{}/{ns}/{name}", kind.resource),
                };
                let scope = if kind.holds_policies {
                    Scope::Namespace(
                        if namespace.is_empty() {
                            "default"
                        } else {
                            namespace
                        }
                        .into(),
                    )
                } else {
                    Scope::Nothing
                };
                let read = || to_json(&api, &object);
                match meta.resource_version.as_deref() {
                    Some(rv) if !rv.is_empty() => sources.offer(&key, rv, scope, read),
                    // No resourceVersion (not from a real API server): the text itself is
                    // the version.
                    _ => {
                        let content = read();
                        let version = match &content {
                            Content::Text(t) => format!("{:016x}", crate::ruleset_hash(t)),
                            Content::Unreadable { message, .. } => message.clone(),
                        };
                        sources.offer(&key, &version, scope, || content);
                    }
                }
                present.insert(key);
            }
        }
        sources.retain(|key| present.contains(key));
        sources.snapshot()
    }
}

fn drive<S>(
    kind: &'static Kind,
    stream: S,
    changed: Arc<Notify>,
    metrics: Arc<Metrics>,
) -> tokio::task::JoinHandle<()>
where
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                // A (re)list begins: nothing is known yet.
                Ok(watcher::Event::Init) => {}
                Ok(watcher::Event::InitApply(_)) => metrics.freshness.reached(kind.resource),
                Ok(_) => {
                    metrics.freshness.reached(kind.resource);
                    changed.notify_one();
                }
                Err(error) => {
                    if let Some(verb) = crate::forbidden::verb(&error) {
                        tracing::error!("{}", crate::forbidden::message(verb, kind.resource));
                    }
                    // The watcher resumes from the last resourceVersion, re-lists on 410
                    // Gone and backs off while the API server is away; the store keeps its
                    // last content in the meantime.
                    metrics.freshness.lost(kind.resource);
                    tracing::warn!(
                        resource = kind.resource,
                        error = %error,
                        "watch error; retrying with backoff, enforcing the last state"
                    );
                }
            }
        }
    })
}

/// What [`watch_with`] needs besides the client.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// For objects that never parsed.
    pub on_error: OnError,
    /// Where contact with the API server is recorded.
    pub metrics: Arc<Metrics>,
}

/// [`watch_with`] with the default options.
pub async fn watch(client: Client, tx: watch::Sender<Option<Arc<Snapshot>>>) -> Result<()> {
    watch_with(client, tx, Options::default()).await
}

/// Starts watchers for Namespaces, Pods and NetworkPolicies; every debounced change (and
/// the first complete list of all three) sends a fresh snapshot on `tx`. Runs until `tx` is
/// closed.
pub async fn watch_with(
    client: Client,
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    options: Options,
) -> Result<()> {
    let changed = Arc::new(Notify::new());
    let config = watcher::Config::default();
    let mut stores = Vec::new();
    let mut tasks = Vec::new();
    for kind in &KINDS {
        let api_resource = (kind.api)();
        let api = Api::<DynamicObject>::all_with(client.clone(), &api_resource);
        let writer = reflector::store::Writer::new(api_resource);
        stores.push((kind, writer.as_reader()));
        let stream = watcher(api, config.clone())
            .default_backoff()
            .modify(|object: &mut DynamicObject| {
                object.metadata.managed_fields = None;
                object.metadata.annotations = None;
            })
            .reflect(writer);
        tasks.push(drive(
            kind,
            stream,
            changed.clone(),
            options.metrics.clone(),
        ));
    }
    let stores = Stores { stores };
    // Enforce nothing until every store holds a complete list: a half-filled cluster could
    // mean "no policies" and open everything up for a moment.
    for (_, store) in &stores.stores {
        store.wait_until_ready().await?;
    }
    let counts: Vec<String> = stores
        .stores
        .iter()
        .map(|(k, s)| format!("{} {}", s.state().len(), k.resource))
        .collect();
    tracing::info!(objects = counts.join(", "), "initial list complete");
    let mut sources = Sources::new(options.on_error);
    loop {
        if tx
            .send(Some(Arc::new(stores.snapshot(&mut sources))))
            .is_err()
        {
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
