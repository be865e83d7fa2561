//! Manifests (spanned YAML trees) to model objects, with Kubernetes defaulting and checks.
//!
//! The rule for broken input: keep as much as is safe, drop the smallest unit that is
//! broken, and say what was dropped. Dropping must never widen what a policy allows: a rule
//! whose every peer (or every port) was dropped would silently become "allow all", so the
//! whole rule goes instead.

//!
//! One module per kind of object: `metadata` (names, namespaces, labels), `pods` (pods and
//! workload templates, container ports), `node` (Node objects), `policy` (the NetworkPolicy
//! and its rules), `peers` (from/to entries and ipBlocks), `ports` (rule ports),
//! `selectors`, `cluster_policy` (AdminNetworkPolicy, BaselineAdminNetworkPolicy and
//! ClusterNetworkPolicy: tier, priority, subject) and `cluster_rules` (their rules, peers
//! and ports, which fail closed rather than being dropped); this module holds the lowering
//! context [`Cx`] and the dispatch on `kind`.

mod cluster_policy;
mod cluster_rules;
mod metadata;
mod node;
mod peers;
mod pods;
mod policy;
mod ports;
mod selectors;

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::model::Parsed;
use crate::syntax::lines::Lines;
use crate::syntax::names;
use crate::syntax::yaml::{Document, Node, Value};

use crate::cluster_policy::ClusterPolicyKind;
use cluster_policy::{cluster_policy, in_group};
use metadata::namespace;
use node::node as node_object;
use pods::{pod, workload};
use policy::network_policy;

/// Workload kinds whose pod template becomes an endpoint, with the path to the template.
const WORKLOADS: &[(&str, &[&str])] = &[
    ("Deployment", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("ReplicationController", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
];

/// Kinds we read, for "did you mean" on misspelt kinds.
const KNOWN_KINDS: &[&str] = &[
    "NetworkPolicy",
    "Namespace",
    "Pod",
    "List",
    "PodList",
    "NamespaceList",
    "NetworkPolicyList",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Node",
    "NodeList",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
    "AdminNetworkPolicyList",
    "BaselineAdminNetworkPolicyList",
    "ClusterNetworkPolicyList",
];

/// The cluster-scoped policy kinds of `policy.networking.k8s.io`.
const CLUSTER_POLICY_KINDS: &[(&str, ClusterPolicyKind)] = &[
    ("AdminNetworkPolicy", ClusterPolicyKind::AdminNetworkPolicy),
    (
        "BaselineAdminNetworkPolicy",
        ClusterPolicyKind::BaselineAdminNetworkPolicy,
    ),
    (
        "ClusterNetworkPolicy",
        ClusterPolicyKind::ClusterNetworkPolicy,
    ),
];

const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Lists nest (a `List` of `List`s is legal, if odd); deeper than this is refused.
const MAX_LIST_DEPTH: usize = 4;

/// Lowering context: the text (for spans) and the diagnostics found so far.
pub struct Cx<'a> {
    pub lines: &'a Lines<'a>,
    pub out: Parsed,
}

impl<'a> Cx<'a> {
    pub fn new(lines: &'a Lines<'a>) -> Self {
        Cx {
            lines,
            out: Parsed::default(),
        }
    }

    pub fn span(&self, node: &Node) -> Span {
        self.lines.span(node.start, node.end)
    }

    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        at: &Node,
        message: String,
        help: Option<String>,
    ) {
        let span = self.span(at);
        self.out.diagnostics.push(Diagnostic {
            help,
            ..Diagnostic::new(code, severity, Some(span), message)
        });
    }

    fn error(&mut self, code: &'static str, at: &Node, message: String, help: impl Into<String>) {
        self.push(Severity::Error, code, at, message, Some(help.into()));
    }

    fn warning(&mut self, code: &'static str, at: &Node, message: String, help: impl Into<String>) {
        self.push(Severity::Warning, code, at, message, Some(help.into()));
    }

    /// A warning at a span already made (an object's part that has no node any more).
    fn warning_at(
        &mut self,
        code: &'static str,
        span: Span,
        message: String,
        help: impl Into<String>,
    ) {
        self.out.diagnostics.push(Diagnostic {
            help: Some(help.into()),
            ..Diagnostic::new(code, Severity::Warning, Some(span), message)
        });
    }

    fn info(&mut self, code: &'static str, at: &Node, message: String, help: impl Into<String>) {
        self.push(Severity::Info, code, at, message, Some(help.into()));
    }

    fn type_error(&mut self, at: &Node, field: &str, want: &str, dropped: &str) {
        let msg = if dropped.is_empty() {
            format!("`{field}` must be {want}, found {}", at.describe())
        } else {
            format!(
                "`{field}` must be {want}, found {}; {dropped} was dropped",
                at.describe()
            )
        };
        let help = match (&at.value, want) {
            (Value::Map(_), "a list") => {
                format!("`{field}` is a list: start each entry with `- `")
            }
            (Value::Seq(_), "a mapping") => {
                format!("`{field}` is a mapping of fields, not a list: remove the `- `")
            }
            _ => format!("write `{field}` as {want}"),
        };
        self.error("invalid-type", at, msg, help);
    }

    /// Reads a mapping, warning about unknown and repeated keys when `known` is given.
    /// `None` (with an `invalid-type` error) when `node` is not a mapping.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: Option<&[&str]>,
        dropped: &str,
    ) -> Option<Fields<'n>> {
        let entries: &[(Node, Node)] = match &node.value {
            Value::Map(entries) => entries,
            // `null` reads as an empty object, as Go's JSON decoding does
            Value::Null => &[],
            _ => {
                self.type_error(node, what, "a mapping", dropped);
                return None;
            }
        };
        if let Some(known) = known {
            // known keys seen so far: at most `known.len()`, so this stays linear
            let mut seen: Vec<&str> = Vec::new();
            for (k, _) in entries {
                let Some(key) = k.as_str() else {
                    self.warning(
                        "unknown-field",
                        k,
                        format!("`{what}` has a key that is {}", k.describe()),
                        "keys are field names; this one is ignored",
                    );
                    continue;
                };
                if !known.contains(&key) {
                    let help = match names::did_you_mean(key, known) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known fields of `{what}`: {}", known.join(", ")),
                    };
                    self.warning(
                        "unknown-field",
                        k,
                        format!("unknown field `{key}` in `{what}`; it is ignored"),
                        help,
                    );
                } else if seen.contains(&key) {
                    self.warning(
                        "duplicate-key",
                        k,
                        format!("`{key}` is given twice in `{what}`; the last one is used"),
                        "delete one of them",
                    );
                } else {
                    seen.push(key);
                }
            }
        }
        Some(Fields { entries })
    }

    /// A scalar's text (numbers and booleans as written), or an `invalid-type` error.
    fn string(&mut self, node: &Node, field: &str, dropped: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.type_error(node, field, "a string", dropped);
                None
            }
        }
    }

    /// A list's items (`null` is an empty list), or an `invalid-type` error.
    fn list<'n>(&mut self, node: &'n Node, field: &str, dropped: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            _ => {
                self.type_error(node, field, "a list", dropped);
                None
            }
        }
    }
}

/// The entries of a mapping.
pub struct Fields<'n> {
    entries: &'n [(Node, Node)],
}

impl<'n> Fields<'n> {
    /// The value of `key`; `None` when absent or `null` (Kubernetes treats both alike).
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// The key node of `key`, for pointing at it.
    fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }
}

/// Lowers one document of a stream.
pub fn document(cx: &mut Cx, doc: &Document) {
    if let Some(root) = &doc.root {
        object(cx, root, 0);
    }
}

/// One Kubernetes object (or a `List`, or a JSON array of objects).
fn object(cx: &mut Cx, node: &Node, depth: usize) {
    if let Value::Seq(items) = &node.value {
        if depth < MAX_LIST_DEPTH {
            for item in items {
                object(cx, item, depth + 1);
            }
        }
        return;
    }
    let Some(obj) = cx.fields(node, "object", None, "the document") else {
        return;
    };
    if obj.entries.is_empty() {
        return;
    }
    let Some(kind_node) = obj.get("kind") else {
        cx.error(
            "missing-kind",
            node,
            "object has no `kind`; it was dropped".into(),
            "add `kind: NetworkPolicy` (or Pod, Namespace, Deployment, List, ...)",
        );
        return;
    };
    let Some(kind) = cx.string(kind_node, "kind", "the object") else {
        return;
    };
    let api_version = obj.get("apiVersion").and_then(|n| n.as_str());

    // `List`, `PodList`, `DeploymentList`, ...: what `kubectl get -o yaml` prints
    if kind.ends_with("List") && (kind == "List" || obj.get("items").is_some()) {
        let Some(items) = obj.get("items") else {
            return;
        };
        if depth >= MAX_LIST_DEPTH {
            cx.error(
                "invalid-type",
                node,
                format!(
                    "lists nested deeper than {MAX_LIST_DEPTH} levels; the inner list was dropped"
                ),
                "flatten the lists",
            );
            return;
        }
        if let Some(items) = cx.list(items, "items", "the list") {
            for item in items {
                object(cx, item, depth + 1);
            }
        }
        return;
    }

    match kind.as_str() {
        "NetworkPolicy" => {
            match api_version {
                Some("networking.k8s.io/v1") => {}
                Some(v @ ("networking.k8s.io/v1beta1" | "extensions/v1beta1")) => {
                    let at = obj.get("apiVersion").unwrap_or(node);
                    cx.error(
                        "wrong-api-version",
                        at,
                        format!("apiVersion `{v}` of NetworkPolicy is no longer served; read as networking.k8s.io/v1"),
                        "write `apiVersion: networking.k8s.io/v1`",
                    );
                }
                None => {
                    cx.error(
                        "wrong-api-version",
                        kind_node,
                        "the NetworkPolicy has no `apiVersion`; read as networking.k8s.io/v1"
                            .into(),
                        "add `apiVersion: networking.k8s.io/v1`",
                    );
                }
                Some(v) => {
                    let at = obj.get("apiVersion").unwrap_or(node);
                    let known = v.starts_with("networking.k8s.io/") || !v.contains('/');
                    if known {
                        cx.error(
                            "wrong-api-version",
                            at,
                            format!("apiVersion `{v}` of NetworkPolicy does not exist; the policy was dropped"),
                            "write `apiVersion: networking.k8s.io/v1`",
                        );
                    } else {
                        // e.g. Calico's or Cilium's own NetworkPolicy: another schema
                        cx.info(
                            "ignored-kind",
                            at,
                            format!("kind NetworkPolicy of apiVersion `{v}` is not the Kubernetes NetworkPolicy; ignored"),
                            "only networking.k8s.io/v1 NetworkPolicy is evaluated",
                        );
                    }
                    return;
                }
            }
            if let Some(p) = network_policy(cx, node, &obj) {
                cx.out.policies.push(p);
            }
        }
        k if CLUSTER_POLICY_KINDS.iter().any(|(name, _)| *name == k) => {
            cluster_policy_object(cx, node, &obj, k, kind_node, api_version)
        }
        k if !core_group(k, api_version) => {
            let v = api_version.unwrap_or_default();
            cx.info(
                "ignored-kind",
                obj.get("apiVersion").unwrap_or(kind_node),
                format!("kind {k} of apiVersion `{v}` is not the Kubernetes {k}; ignored"),
                "a custom resource that reuses a built-in kind's name is not read",
            );
        }
        "Namespace" => {
            if let Some(ns) = namespace(cx, node, &obj) {
                cx.out.namespaces.push(ns);
            }
        }
        "Pod" => {
            if let Some(pod) = pod(cx, node, &obj) {
                cx.out.pods.push(pod);
            }
        }
        "Node" => {
            if let Some(n) = node_object(cx, node, &obj) {
                cx.out.nodes.push(n);
            }
        }
        k => {
            if let Some((kind, path)) = WORKLOADS.iter().find(|(w, _)| *w == k) {
                if let Some(pod) = workload(cx, node, &obj, kind, path) {
                    cx.out.pods.push(pod);
                }
                return;
            }
            if let Some(near) = names::did_you_mean(k, KNOWN_KINDS) {
                cx.error(
                    "unknown-kind",
                    kind_node,
                    format!("unknown kind `{k}`; the object was dropped"),
                    format!("did you mean `{near}`?"),
                );
            } else {
                cx.info(
                    "ignored-kind",
                    kind_node,
                    format!("kind `{k}` does not affect network policy; ignored"),
                    "netpol reads NetworkPolicy, the cluster policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy), Namespace, Pod, Node, workloads and Lists of them",
                );
            }
        }
    }
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy: read when its
/// group is `policy.networking.k8s.io` (another product's kind of the same name, such as
/// Antrea's ClusterNetworkPolicy, has another schema and is ignored).
fn cluster_policy_object(
    cx: &mut Cx,
    node: &Node,
    obj: &Fields,
    kind: &str,
    kind_node: &Node,
    api_version: Option<&str>,
) {
    let Some((_, policy_kind)) = CLUSTER_POLICY_KINDS.iter().find(|(k, _)| *k == kind) else {
        return;
    };
    if !in_group(api_version) {
        let v = api_version.unwrap_or_default();
        cx.info(
            "ignored-kind",
            obj.get("apiVersion").unwrap_or(kind_node),
            format!("kind {kind} of apiVersion `{v}` is not the policy.networking.k8s.io {kind}; ignored"),
            "only the network-policy-api kinds of policy.networking.k8s.io are evaluated",
        );
        return;
    }
    if let Some(p) = cluster_policy(cx, node, obj, *policy_kind) {
        cx.out.cluster_policies.push(p);
    }
}

/// Whether `api_version` (absent counts as fine) is one under which Kubernetes serves the
/// built-in `kind`; a CRD may reuse a name such as `Job` with a different schema.
fn core_group(kind: &str, api_version: Option<&str>) -> bool {
    let Some(v) = api_version else {
        return true;
    };
    let group = v.rsplit_once('/').map_or("", |(g, _)| g);
    let groups: &[&str] = match kind {
        "Namespace" | "Pod" | "ReplicationController" | "Node" => &[""],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => &["apps", "extensions"],
        "Job" | "CronJob" => &["batch"],
        _ => return true,
    };
    groups.contains(&group)
}
