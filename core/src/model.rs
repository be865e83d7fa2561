//! The input model, in the Kubernetes API's own words, after defaulting.
//!
//! Everything here is plain data with public fields. Kubernetes defaulting happens once,
//! when text becomes this model (`policyTypes`, protocol `TCP`, `metadata.namespace`
//! `default`, the `kubernetes.io/metadata.name` namespace label); the evaluator never
//! re-derives it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::cidr::Cidr;
use crate::cluster_policy::ClusterNetworkPolicy;
use crate::diagnostic::{Diagnostic, Span};

/// Label key the API server puts on every namespace, with the namespace's name as value.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Labels: sorted, so iteration and output are deterministic.
pub type Labels = BTreeMap<String, String>;

/// Transport protocol of a port. Kubernetes defaults a missing protocol to `TCP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    /// TCP, the default.
    #[default]
    TCP,
    /// UDP.
    UDP,
    /// SCTP.
    SCTP,
}

impl Protocol {
    /// All protocols, in output order.
    pub const ALL: [Protocol; 3] = [Protocol::TCP, Protocol::UDP, Protocol::SCTP];

    /// `"TCP"`, `"UDP"` or `"SCTP"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::TCP => "TCP",
            Protocol::UDP => "UDP",
            Protocol::SCTP => "SCTP",
        }
    }

    /// Parses `TCP`/`UDP`/`SCTP`, case-insensitively.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::TCP),
            "UDP" => Some(Protocol::UDP),
            "SCTP" => Some(Protocol::SCTP),
            _ => None,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Direction of traffic relative to the endpoint a policy selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PolicyType {
    /// Traffic into the selected pods.
    Ingress,
    /// Traffic out of the selected pods.
    Egress,
}

/// `matchExpressions[].operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operator {
    /// Label present with one of the values.
    In,
    /// Label absent, or present with none of the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LabelSelectorRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: Operator,
    /// Values (empty for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

/// A `LabelSelector`. The empty selector (`{}`) selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: Labels,
    /// `matchExpressions`.
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// True when the selector has no requirements, so it selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy every requirement (AND of all).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator {
                    Operator::In => value.is_some_and(|v| r.values.contains(v)),
                    Operator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// `ipBlock`: a CIDR minus exceptions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct IpBlock {
    /// `cidr`.
    pub cidr: Cidr,
    /// `except`: each inside `cidr` (enforced by the parser).
    pub except: Vec<Cidr>,
}

impl IpBlock {
    /// Whether `ip` is inside `cidr` and outside every `except`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidr.contains(ip) && !self.except.iter().any(|e| e.contains(ip))
    }
}

/// One `from`/`to` entry. Kubernetes requires exactly one of: `ipBlock`, or one or both
/// selectors; the parser drops peers that break this (with a diagnostic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkPolicyPeer {
    /// `podSelector`; `None` when absent.
    pub pod_selector: Option<LabelSelector>,
    /// `namespaceSelector`; `None` when absent (then: the policy's own namespace).
    pub namespace_selector: Option<LabelSelector>,
    /// `ipBlock`.
    pub ip_block: Option<IpBlock>,
    /// The peer's text.
    pub span: Span,
}

/// `port` of a `NetworkPolicyPort`: a number or a container port name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PortRef {
    /// A port number.
    Number(u16),
    /// A container port name, resolved against the destination pod.
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

/// One `ports` entry, after defaulting the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkPolicyPort {
    /// Protocol (default TCP).
    pub protocol: Protocol,
    /// `port`; `None` means every port of `protocol`.
    pub port: Option<PortRef>,
    /// `endPort`: only with a numeric `port`, and `>= port` (enforced by the parser).
    pub end_port: Option<u16>,
    /// The entry's text.
    pub span: Span,
}

/// One ingress or egress rule.
///
/// Spec: "If this field is empty or missing, this rule matches all sources" — so an empty
/// `peers` matches every peer and an empty `ports` matches every port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkPolicyRule {
    /// `from` (ingress) or `to` (egress). Empty: every peer, inside or outside the cluster.
    pub peers: Vec<NetworkPolicyPeer>,
    /// `ports`. Empty: every port and protocol.
    pub ports: Vec<NetworkPolicyPort>,
    /// The rule's text (the list item).
    pub span: Span,
}

/// A `networking.k8s.io/v1` `NetworkPolicy`, after defaulting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkPolicy {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, `default` when missing.
    pub namespace: String,
    /// `spec.podSelector`: which pods of `namespace` this policy applies to.
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes`, defaulted: always `Ingress` when absent, plus `Egress` when the
    /// policy has an `egress` section. Sorted, no duplicates.
    pub policy_types: Vec<PolicyType>,
    /// `spec.ingress` (kept even when `policy_types` lacks `Ingress`, so lint can say so;
    /// the evaluator ignores rules of a direction the policy does not list).
    pub ingress: Vec<NetworkPolicyRule>,
    /// `spec.egress` (same remark).
    pub egress: Vec<NetworkPolicyRule>,
    /// The whole document's text.
    pub span: Span,
}

impl NetworkPolicy {
    /// Whether this policy isolates its selected pods in `direction`.
    pub fn affects(&self, direction: PolicyType) -> bool {
        self.policy_types.contains(&direction)
    }

    /// The rules of `direction` (whether or not `policy_types` lists it).
    pub fn rules(&self, direction: PolicyType) -> &[NetworkPolicyRule] {
        match direction {
            PolicyType::Ingress => &self.ingress,
            PolicyType::Egress => &self.egress,
        }
    }
}

/// A namespace and its labels (always including [`NAMESPACE_NAME_LABEL`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels, including `kubernetes.io/metadata.name`.
    pub labels: Labels,
    /// Where it was declared; `None` when created implicitly because a pod referenced it.
    pub span: Option<Span>,
}

/// A container port a pod exposes; named ports in policies resolve against these.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContainerPort {
    /// `name`, if any.
    pub name: Option<String>,
    /// `containerPort`.
    pub port: u16,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
}

/// An endpoint of the cluster: a `Pod`, or a workload's pod template (`Deployment`, ...).
///
/// Identity rule (stable; documented in the README): a pod is `namespace/name`; a workload
/// is `namespace/Kind/name` (e.g. `prod/Deployment/api`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pod {
    /// `namespace/name` or `namespace/Kind/name`.
    pub id: String,
    /// Namespace (`default` when missing).
    pub namespace: String,
    /// `metadata.name` of the pod or workload.
    pub name: String,
    /// `None` for a `Pod`; `Some("Deployment")` etc. for a workload's template.
    pub workload: Option<String>,
    /// Pod labels (the template's labels for a workload).
    pub labels: Labels,
    /// `status.podIPs` / `status.podIP` (or `ip=` in the compact form). May be empty.
    pub ips: Vec<IpAddr>,
    /// Container ports of all containers.
    pub ports: Vec<ContainerPort>,
    /// `spec.nodeName`, if known (the agent uses it to find local pods).
    pub node: Option<String>,
    /// `spec.hostNetwork`: the pod shares its node's network namespace. Policies never
    /// select it, selector peers never match it, and its traffic carries the node's address,
    /// so only `ipBlock` peers can match it (see ARCHITECTURE.md, "Which pods take part").
    pub host_network: bool,
    /// Where it was declared.
    pub span: Option<Span>,
}

impl Pod {
    /// The named-port rule, the one every evaluator uses: a port name in a policy matches
    /// *every* container port of the destination pod with that name and protocol (a pod
    /// may have several, in different containers). The numbers in container order without
    /// repeats; none when the pod lacks the name, and always none on a host-network pod
    /// (its ports are the node's; see ARCHITECTURE.md, "Which pods take part").
    pub fn named_ports(&self, name: &str, protocol: Protocol) -> std::vec::IntoIter<u16> {
        if self.host_network {
            return Vec::new().into_iter();
        }
        numbers_named(&self.ports, name, protocol)
    }
}

/// The numbers of the container ports in `ports` called `name` for `protocol`, in order,
/// without repeats. [`Pod::named_ports`] is the rule; this is its arithmetic, for code that
/// keeps a pod's ports without the pod.
pub(crate) fn numbers_named(
    ports: &[ContainerPort],
    name: &str,
    protocol: Protocol,
) -> std::vec::IntoIter<u16> {
    let mut numbers: Vec<u16> = Vec::new();
    for port in ports {
        if port.protocol == protocol
            && port.name.as_deref() == Some(name)
            && !numbers.contains(&port.port)
        {
            numbers.push(port.port);
        }
    }
    numbers.into_iter()
}

/// One entry of a `Service`'s `spec.ports`, after defaulting (`protocol` TCP, `targetPort`
/// = `port`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServicePort {
    /// `name`, if any (required by Kubernetes when a Service has several ports).
    pub name: Option<String>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `port`: what clients connect to on the Service's address.
    pub port: u16,
    /// `targetPort`: the number, or the container port name, traffic is sent to on the pods
    /// behind the Service (defaults to `port`). Policies see this port, never `port`: the
    /// Service's address is translated before any policy is enforced.
    pub target_port: PortRef,
    /// The entry's text.
    pub span: Span,
}

/// A `Service`: a stable address in front of the pods its selector matches. Policies never
/// mention Services, but authors think in them; [`crate::services`] resolves a Service to
/// the pods and ports the policies actually see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    /// `namespace/name`.
    pub id: String,
    /// `metadata.namespace`, `default` when missing.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.selector`; `None` when absent or empty: such a Service's endpoints are managed
    /// by hand (or it is an `ExternalName`), so no pod of the model is behind it.
    pub selector: Option<Labels>,
    /// `spec.ports`, in source order.
    pub ports: Vec<ServicePort>,
    /// Where it was declared.
    pub span: Option<Span>,
}

/// A `Node`: its labels and the addresses `nodes` peers of cluster policies select.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// The `InternalIP` and `ExternalIP` entries of `status.addresses` (or `ip=` in the
    /// compact form), in order, without repeats: the node IPs a `nodes` peer stands for.
    pub addresses: Vec<IpAddr>,
    /// Where it was declared.
    pub span: Option<Span>,
}

/// A cluster snapshot: namespaces, endpoints, Services and nodes, sorted (by name, by id, by
/// id, by name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Sorted by `name`, unique.
    pub namespaces: Vec<Namespace>,
    /// Sorted by `id`, unique. Indices into this vector are the "pod index" used everywhere.
    pub pods: Vec<Pod>,
    /// Sorted by `id`, unique.
    pub services: Vec<Service>,
    /// Objects of the input that do not affect policy (ConfigMaps, Secrets, Ingresses, a
    /// CRD reusing a built-in kind's name, ...), counted by kind: `ConfigMap`, or
    /// `NetworkPolicy (crd.projectcalico.org/v1)` when the apiVersion tells them apart. Each
    /// one also has an `ignored-kind` info diagnostic, for front-ends that show details.
    pub ignored: BTreeMap<String, usize>,
    /// Sorted by `name`, unique. Only cluster policies' `nodes` peers read them.
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// The namespace called `name`.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.namespaces[i])
    }

    /// Index of the pod with this id.
    pub fn pod_index(&self, id: &str) -> Option<usize> {
        self.pods.binary_search_by(|p| p.id.as_str().cmp(id)).ok()
    }

    /// Labels of the namespace called `name` (empty if unknown).
    pub fn namespace_labels(&self, name: &str) -> Option<&Labels> {
        self.namespace(name).map(|n| &n.labels)
    }

    /// Index of the Service with this id (`namespace/name`).
    pub fn service_index(&self, id: &str) -> Option<usize> {
        self.services
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
    }
}

/// What [`crate::parse`] understood of one source text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// Policies, in source order. A policy with a bad rule keeps its other rules.
    pub policies: Vec<NetworkPolicy>,
    /// Declared namespaces, in source order.
    pub namespaces: Vec<Namespace>,
    /// Pods and workloads, in source order.
    pub pods: Vec<Pod>,
    /// Services, in source order.
    pub services: Vec<Service>,
    /// Objects that do not affect policy, counted by kind (see [`Cluster::ignored`]).
    pub ignored: BTreeMap<String, usize>,
    /// Nodes, in source order.
    pub nodes: Vec<Node>,
    /// AdminNetworkPolicies, BaselineAdminNetworkPolicies and ClusterNetworkPolicies, in
    /// source order. A policy with a bad rule keeps its other rules.
    pub cluster_policies: Vec<ClusterNetworkPolicy>,
    /// Problems found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Everything the evaluator needs: the merged cluster and all policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Model {
    /// Namespaces (declared and implicit) and endpoints.
    pub cluster: Cluster,
    /// All policies, sorted by (namespace, name, span). Indices into this vector are the
    /// "policy index" used in explanations.
    pub policies: Vec<NetworkPolicy>,
    /// The cluster-scoped policies of the Admin and Baseline tiers, in evaluation order:
    /// Admin before Baseline, then by priority (a BaselineAdminNetworkPolicy, which has
    /// none, after every Baseline ClusterNetworkPolicy), then by name, kind and position.
    /// Indices into this vector are the "cluster policy index" of [`crate::ClusterPolicyRef`].
    pub cluster_policies: Vec<ClusterNetworkPolicy>,
    /// Diagnostics of every source plus those found while merging (duplicates), sorted.
    pub diagnostics: Vec<Diagnostic>,
}

/// One end of a flow: an endpoint of the cluster, or an address outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Endpoint {
    /// Index into [`Cluster::pods`].
    Pod(usize),
    /// An IP address. If it is some pod's IP it is still treated as that address (ipBlock
    /// peers only); ask with `Pod` to get selector semantics.
    Address(IpAddr),
}

/// A connection attempt: `src` opens a connection to `dst` on `port`/`protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Flow {
    /// Who opens the connection.
    pub src: Endpoint,
    /// Who accepts it.
    pub dst: Endpoint,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port number (a named port stands for each of [`Pod::named_ports`];
    /// [`crate::eval::probe_port`] picks the one to ask about).
    pub port: u16,
}
