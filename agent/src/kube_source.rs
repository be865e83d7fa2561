//! Cluster state from the Kubernetes API: watchers and reflector stores for Pods,
//! Namespaces, NetworkPolicies and Nodes, and for the policy-tier kinds
//! (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) whose CRDs the
//! API server serves, found through API discovery when the agent starts and every
//! [`Options::discovery`] after (a CRD installed later is watched from then on; one removed
//! takes its objects with it).
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

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Config};
use netpol_core::Tier;
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

/// The resources whose contact with the API server is recorded: every kind watched.
const RESOURCES: [&str; 7] = [
    "namespaces",
    "pods",
    "networkpolicies",
    "nodes",
    "adminnetworkpolicies",
    "baselineadminnetworkpolicies",
    "clusternetworkpolicies",
];

/// The watched resource a request path is for.
fn resource_of(path: &str) -> Option<&'static str> {
    RESOURCES
        .iter()
        .copied()
        .find(|r| path.rsplit('/').next() == Some(*r))
}

/// What the objects of a kind can do to the pods, for fail-closed.
#[derive(Clone, Copy, Debug)]
enum Holds {
    /// Nothing to fail closed (a Pod, a Namespace, a Node).
    Nothing,
    /// NetworkPolicies: a broken one that never parsed makes its namespace fail closed.
    NetworkPolicies,
    /// Cluster policies: a broken one that never parsed makes its tier fail closed.
    ClusterPolicies(Tier),
}

/// One watched kind.
#[derive(Clone, Debug)]
struct Kind {
    /// The resource, plural.
    resource: String,
    holds: Holds,
    api: ApiResource,
}

impl Kind {
    fn new(api: ApiResource, holds: Holds) -> Kind {
        Kind {
            resource: api.plural.clone(),
            holds,
            api,
        }
    }

    /// A policy-tier kind the API server serves. A ClusterNetworkPolicy counts as Admin
    /// for fail-closed, since its `tier` may be what is broken.
    fn tier(api: ApiResource) -> Kind {
        let tier = match api.kind.as_str() {
            "BaselineAdminNetworkPolicy" => Tier::Baseline,
            _ => Tier::Admin,
        };
        Kind::new(api, Holds::ClusterPolicies(tier))
    }

    fn scope(&self, namespace: &str) -> Scope {
        match self.holds {
            Holds::Nothing => Scope::Nothing,
            Holds::NetworkPolicies => Scope::Namespace(
                if namespace.is_empty() {
                    "default"
                } else {
                    namespace
                }
                .into(),
            ),
            Holds::ClusterPolicies(tier) => Scope::Tier(tier),
        }
    }
}

/// The kinds always watched: without any of them no verdict is right. Nodes are what
/// cluster policies' `nodes` peers select.
fn required_kinds() -> [Kind; 4] {
    [
        Kind::new(ApiResource::erase::<Namespace>(&()), Holds::Nothing),
        Kind::new(ApiResource::erase::<Pod>(&()), Holds::Nothing),
        Kind::new(
            ApiResource::erase::<NetworkPolicy>(&()),
            Holds::NetworkPolicies,
        ),
        Kind::new(ApiResource::erase::<Node>(&()), Holds::Nothing),
    ]
}

/// A kind being watched: its reflector store and the task driving its watcher.
struct Watched {
    kind: Kind,
    store: Store<DynamicObject>,
    task: tokio::task::JoinHandle<()>,
}

/// The reflector stores, filled by [`watch_with`]: the required kinds, and the policy-tier
/// kinds the API server serves now (their watchers start when a CRD appears and stop when
/// it goes, [`Tiers::discover`]).
#[derive(Clone)]
pub struct Stores {
    required: Arc<Vec<Watched>>,
    tiers: Tiers,
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
    /// Every watched kind with its store, required kinds first.
    fn kinds(&self) -> Vec<(Kind, Store<DynamicObject>)> {
        let required = self
            .required
            .iter()
            .map(|w| (w.kind.clone(), w.store.clone()));
        required.chain(self.tiers.stores()).collect()
    }

    /// Offers every stored object to `sources` (each parsed again only when its
    /// resourceVersion changed), forgets deleted ones, and builds the snapshot.
    pub fn snapshot(&self, sources: &mut Sources) -> Snapshot {
        let mut present = BTreeSet::new();
        for (kind, store) in self.kinds() {
            for object in store.state() {
                let meta = &object.metadata;
                let namespace = meta.namespace.as_deref().unwrap_or("");
                let name = meta.name.as_deref().unwrap_or("");
                let key = match namespace {
                    "" => format!("{}/{name}", kind.resource),
                    ns => format!("{}/{ns}/{name}", kind.resource),
                };
                let scope = kind.scope(namespace);
                let read = || to_json(&kind.api, &object);
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

/// Starts the watcher of one kind: a reflector store and the task that drives it.
fn start_watcher(
    client: &Client,
    kind: Kind,
    changed: &Arc<Notify>,
    metrics: &Arc<Metrics>,
) -> Watched {
    let api = Api::<DynamicObject>::all_with(client.clone(), &kind.api);
    let writer = reflector::store::Writer::new(kind.api.clone());
    let store = writer.as_reader();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut DynamicObject| {
            object.metadata.managed_fields = None;
            object.metadata.annotations = None;
        })
        .reflect(writer);
    let task = drive(
        kind.resource.clone(),
        stream,
        changed.clone(),
        metrics.clone(),
    );
    Watched { kind, store, task }
}

/// The watchers of the policy-tier kinds. The CRDs are optional: a cluster without them
/// has no such objects, and one may be installed (or removed) while the agent runs, so the
/// agent asks API discovery (which needs no RBAC rule) every [`Options::discovery`] which
/// kinds are served, starts a watcher for each new one and stops the watcher of one no
/// longer served (its objects are gone with its CRD).
#[derive(Clone)]
struct Tiers {
    client: Client,
    changed: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// By kind name.
    watched: Arc<Mutex<BTreeMap<String, Watched>>>,
}

impl Tiers {
    fn stores(&self) -> Vec<(Kind, Store<DynamicObject>)> {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched
            .values()
            .map(|w| (w.kind.clone(), w.store.clone()))
            .collect()
    }

    /// Brings the watchers in line with the kinds served now. `Err` when discovery could
    /// not be asked: the watchers stay as they are (a kind is only dropped when the API
    /// server says it is not served).
    async fn discover(&self) -> Result<(), kube::Error> {
        let served = netpol_kube::read::served_tier_kinds(&self.client).await?;
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        watched.retain(|name, w| {
            let keep = served.iter().any(|api| api == &w.kind.api);
            if !keep {
                tracing::info!(kind = %name, "policy-tier kind no longer served; watcher stopped");
                w.task.abort();
                self.metrics.freshness.reached(&w.kind.resource);
                changed = true;
            }
            keep
        });
        for api in served {
            if watched.contains_key(&api.kind) {
                continue;
            }
            tracing::info!(kind = %api.kind, version = %api.version, "policy-tier kind served; watching it");
            let name = api.kind.clone();
            let w = start_watcher(&self.client, Kind::tier(api), &self.changed, &self.metrics);
            watched.insert(name, w);
        }
        if changed {
            self.changed.notify_one();
        }
        Ok(())
    }

    /// [`Tiers::discover`] until the API server answers, backing off like the watchers.
    async fn discover_until_answered(&self) {
        let mut wait = Duration::from_millis(800);
        while let Err(error) = self.discover().await {
            tracing::warn!(%error, "cannot discover the policy-tier kinds; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }

    /// Every watched tier kind has a complete list.
    async fn ready(&self) -> Result<()> {
        for (_, store) in self.stores() {
            store.wait_until_ready().await?;
        }
        Ok(())
    }

    /// Discovery every `interval`, forever.
    async fn follow(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(error) = self.discover().await {
                tracing::debug!(%error, "policy-tier discovery failed; watchers kept");
            }
        }
    }

    fn stop(&self) {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        for w in watched.values() {
            w.task.abort();
        }
    }
}

fn drive<S>(
    resource: String,
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
                Ok(watcher::Event::InitApply(_)) => metrics.freshness.reached(&resource),
                Ok(_) => {
                    metrics.freshness.reached(&resource);
                    changed.notify_one();
                }
                Err(error) => {
                    if let Some(verb) = crate::forbidden::verb(&error) {
                        tracing::error!("{}", crate::forbidden::message(verb, &resource));
                    }
                    // The watcher resumes from the last resourceVersion, re-lists on 410
                    // Gone and backs off while the API server is away; the store keeps its
                    // last content in the meantime.
                    metrics.freshness.lost(&resource);
                    tracing::warn!(
                        resource = resource.as_str(),
                        error = %error,
                        "watch error; retrying with backoff, enforcing the last state"
                    );
                }
            }
        }
    })
}

/// How often API discovery is asked which policy-tier kinds are served, by default.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// What [`watch_with`] needs besides the client.
#[derive(Clone, Debug)]
pub struct Options {
    /// For objects that never parsed.
    pub on_error: OnError,
    /// Where contact with the API server is recorded.
    pub metrics: Arc<Metrics>,
    /// How often to look for policy-tier CRDs installed or removed since.
    pub discovery: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            on_error: OnError::default(),
            metrics: Arc::default(),
            discovery: DISCOVERY_INTERVAL,
        }
    }
}

/// [`watch_with`] with the default options.
pub async fn watch(client: Client, tx: watch::Sender<Option<Arc<Snapshot>>>) -> Result<()> {
    watch_with(client, tx, Options::default()).await
}

/// Starts watchers for Namespaces, Pods, NetworkPolicies, Nodes and the policy-tier kinds
/// served; every debounced change (and the first complete list of all of them) sends a
/// fresh snapshot on `tx`. Runs until `tx` is closed.
pub async fn watch_with(
    client: Client,
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    options: Options,
) -> Result<()> {
    let changed = Arc::new(Notify::new());
    let required: Vec<Watched> = required_kinds()
        .into_iter()
        .map(|kind| start_watcher(&client, kind, &changed, &options.metrics))
        .collect();
    let tiers = Tiers {
        client: client.clone(),
        changed: changed.clone(),
        metrics: options.metrics.clone(),
        watched: Arc::default(),
    };
    // Enforce nothing until every store holds a complete list: a half-filled cluster could
    // mean "no policies" and open everything up for a moment. The tier kinds served at
    // start count too: a missing Admin Deny opens as much as a missing NetworkPolicy.
    tiers.discover_until_answered().await;
    for watched in &required {
        watched.store.wait_until_ready().await?;
    }
    tiers.ready().await?;
    let stores = Stores {
        required: Arc::new(required),
        tiers: tiers.clone(),
    };
    let counts: Vec<String> = stores
        .kinds()
        .iter()
        .map(|(k, s)| format!("{} {}", s.state().len(), k.resource))
        .collect();
    tracing::info!(objects = counts.join(", "), "initial list complete");
    let discovery = tokio::spawn(tiers.clone().follow(options.discovery));
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
    discovery.abort();
    tiers.stop();
    for watched in stores.required.iter() {
        watched.task.abort();
    }
    Ok(())
}
