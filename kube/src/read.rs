//! One read of a whole cluster: every Namespace, Pod, NetworkPolicy, Service and Node, and
//! the objects of the policy-tier CRDs that are installed, as [`for_core`](crate::for_core)
//! values.

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{discovery, Api, Client};
use serde_json::Value;

/// Objects per list request: big clusters are read page by page (as kubectl does), so no
/// single response holds 100,000 pods.
pub const PAGE: u32 = 500;

/// The API group of the policy-tier CRDs (sigs.k8s.io/network-policy-api).
pub const TIER_GROUP: &str = "policy.networking.k8s.io";

/// The policy-tier kinds read when their CRD is installed.
pub const TIER_KINDS: [&str; 3] = [
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
];

/// One object read.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// The resource, plural (`pods`).
    pub resource: String,
    /// The namespace of a namespaced object.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The object as the core reads it.
    pub value: Value,
}

impl Object {
    /// `pods/prod/web`, `namespaces/prod`: where the object is, kubectl-style.
    pub fn path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.resource, self.name),
            None => format!("{}/{}", self.resource, self.name),
        }
    }
}

/// Everything read, in a stable order: by kind (namespaces, pods, networkpolicies,
/// services, nodes, then tiers), then namespace and name.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The objects.
    pub objects: Vec<Object>,
    /// Services, Nodes and tier kinds that could not be read, with why (a tier kind not
    /// installed is not among them).
    pub skipped: Vec<String>,
}

/// How far a read has come: after every page.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// The resource being listed.
    pub resource: &'a str,
    /// Its objects so far.
    pub listed: usize,
    /// Objects of all resources so far.
    pub total: usize,
    /// Pages of this resource so far.
    pub pages: usize,
}

/// Why the cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The API server refused a list (403).
    #[error("the API server forbids listing {resource}: {message}")]
    Forbidden {
        /// The resource.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// The credentials were refused (401).
    #[error("the API server did not accept the credentials: {message}")]
    Unauthorized {
        /// The API server's message.
        message: String,
    },
    /// Anything else: unreachable, TLS, a server error.
    #[error("cannot list {resource}: {message}")]
    Other {
        /// The resource.
        resource: String,
        /// What went wrong.
        message: String,
    },
}

/// Reads the cluster. Namespaces, Pods and NetworkPolicies must be readable: without them
/// no verdict is right. Services decide no verdict (policies see pods and target ports),
/// only what the review tools say about them, so Services that cannot be listed are named
/// in [`Snapshot::skipped`], as are Nodes (only cluster policies' `nodes` peers read them)
/// and a tier kind that cannot be listed; a tier kind whose CRD is not installed is left
/// out quietly.
pub async fn read(
    client: &Client,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Snapshot, ReadError> {
    let mut snapshot = Snapshot::default();
    let core = [
        ApiResource::erase::<Namespace>(&()),
        ApiResource::erase::<Pod>(&()),
        ApiResource::erase::<NetworkPolicy>(&()),
    ];
    for resource in &core {
        list_into(client, resource, &mut snapshot.objects, progress).await?;
    }
    let services = ApiResource::erase::<Service>(&());
    let nodes = ApiResource::erase::<Node>(&());
    let optional = [services, nodes]
        .into_iter()
        .chain(tier_resources(client).await);
    for resource in optional {
        if let Err(error) = list_into(client, &resource, &mut snapshot.objects, progress).await {
            snapshot.skipped.push(error.to_string());
        }
    }
    Ok(snapshot)
}

/// The tier kinds this API server serves, each at its most stable version (the CRDs of
/// different releases serve different versions in the one group).
async fn tier_resources(client: &Client) -> Vec<ApiResource> {
    served_tier_kinds(client).await.unwrap_or_default()
}

/// The tier kinds this API server serves, each at its most stable version, in the order
/// of [`TIER_KINDS`]: empty when the group is not served (no tier CRD installed), an error
/// when the API server could not be asked (so a watcher of the kinds can tell "gone" from
/// "unknown right now"). Discovery needs no RBAC rule: every authenticated user may read it.
pub async fn served_tier_kinds(client: &Client) -> Result<Vec<ApiResource>, kube::Error> {
    let group = match discovery::group(client, TIER_GROUP).await {
        Ok(group) => group,
        Err(kube::Error::Discovery(_)) => return Ok(Vec::new()),
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Vec::new()),
        Err(other) => return Err(other),
    };
    let mut served: Vec<ApiResource> = group
        .resources_by_stability()
        .into_iter()
        .map(|(resource, _)| resource)
        .filter(|resource| TIER_KINDS.contains(&resource.kind.as_str()))
        .collect();
    served.sort_by_key(|r| TIER_KINDS.iter().position(|k| *k == r.kind));
    Ok(served)
}

/// Lists every object of `resource`, page by page, sorted by namespace and name.
async fn list_into(
    client: &Client,
    resource: &ApiResource,
    objects: &mut Vec<Object>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), ReadError> {
    let api = Api::<DynamicObject>::all_with(client.clone(), resource);
    let mut params = ListParams::default().limit(PAGE);
    let mut read = Vec::new();
    let mut pages = 0;
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|e| read_error(&resource.plural, e))?;
        pages += 1;
        for item in &page.items {
            read.push(object(resource, item)?);
        }
        progress(Progress {
            resource: &resource.plural,
            listed: read.len(),
            total: objects.len() + read.len(),
            pages,
        });
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    read.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    objects.extend(read);
    Ok(())
}

fn object(resource: &ApiResource, item: &DynamicObject) -> Result<Object, ReadError> {
    let value = crate::for_core(&resource.api_version, &resource.kind, item).map_err(|e| {
        ReadError::Other {
            resource: resource.plural.clone(),
            message: format!("cannot serialize an object: {e}"),
        }
    })?;
    Ok(Object {
        resource: resource.plural.clone(),
        namespace: item.metadata.namespace.clone(),
        name: item.metadata.name.clone().unwrap_or_default(),
        value,
    })
}

fn read_error(resource: &str, error: kube::Error) -> ReadError {
    match error {
        kube::Error::Api(status) if status.code == 403 => ReadError::Forbidden {
            resource: resource.to_string(),
            message: status.message.clone(),
        },
        kube::Error::Api(status) if status.code == 401 => ReadError::Unauthorized {
            message: status.message.clone(),
        },
        other => ReadError::Other {
            resource: resource.to_string(),
            message: other.to_string(),
        },
    }
}
