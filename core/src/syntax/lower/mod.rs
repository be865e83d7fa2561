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
mod services;

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::model::Parsed;
use crate::syntax::lines::Lines;
use crate::syntax::names;
use crate::syntax::yaml::{Document, Node, Value};

use crate::cluster_policy::ClusterPolicyKind;
use cluster_policy::{cluster_policy, in_group, Version};
use metadata::namespace;
use node::node as node_object;
use pods::{pod, workload};
use policy::network_policy;
use services::service;

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
    "Service",
    "ServiceList",
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

    /// A string field's text. A plain number or boolean (`name: 123`, `values: [1]`) is read
    /// as its text with an `invalid-type` error, as the API server refuses it; a list or
    /// mapping is an `invalid-type` error and `None`.
    fn text(&mut self, node: &Node, field: &str, dropped: &str) -> Option<String> {
        let text = self.string(node, field, dropped)?;
        if let Value::Scalar { plain: true, .. } = &node.value {
            let found = node.describe();
            if found != "a string" {
                self.error(
                    "invalid-type",
                    node,
                    format!(
                        "`{field}` must be a string, found {found} `{text}`; read as \"{text}\""
                    ),
                    format!("quote it: \"{text}\""),
                );
            }
        }
        Some(text)
    }

    /// An integer field (`containerPort`, a Service's `port`). A quoted number is read with
    /// an `invalid-type` error (the API server refuses it); anything else that is not a
    /// whole number is an `invalid-type` error and `None`.
    fn integer(&mut self, node: &Node, field: &str, dropped: &str) -> Option<i64> {
        let (text, plain) = match &node.value {
            Value::Scalar { text, plain } => (text.trim(), *plain),
            _ => {
                self.type_error(node, field, "a number", dropped);
                return None;
            }
        };
        let Ok(n) = text.strip_prefix('+').unwrap_or(text).parse::<i64>() else {
            self.type_error(node, field, "a whole number", dropped);
            return None;
        };
        if !plain {
            self.error(
                "invalid-type",
                node,
                format!("`{field}` must be a number, found the string \"{text}\"; read as {n}"),
                format!("write {n} without quotes"),
            );
        }
        Some(n)
    }

    /// A boolean field (`hostNetwork`): `true`/`false` (and YAML 1.1's `yes`/`no`/`on`/`off`,
    /// which kubectl reads as booleans). A quoted boolean is read with an `invalid-type`
    /// error; anything else is an `invalid-type` error and `None`.
    fn boolean(&mut self, node: &Node, field: &str) -> Option<bool> {
        let word = match &node.value {
            Value::Scalar { text, .. } => text.to_ascii_lowercase(),
            _ => String::new(),
        };
        let value = match word.as_str() {
            "true" | "yes" | "on" => true,
            "false" | "no" | "off" => false,
            _ => {
                self.type_error(node, field, "true or false", "");
                return None;
            }
        };
        if node.describe() != "a boolean" {
            self.error(
                "invalid-type",
                node,
                format!("`{field}` must be true or false, found a string; read as {value}"),
                format!("write {value} without quotes"),
            );
        }
        Some(value)
    }

    /// Reports an object that does not affect policy (info `ignored-kind`) and counts it
    /// under `kind` in [`crate::Cluster::ignored`].
    fn ignore(&mut self, kind: String, at: &Node, message: String, help: &str) {
        *self.out.ignored.entry(kind).or_default() += 1;
        self.info("ignored-kind", at, message, help);
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
    /// A mapping's entries without any check (`None` for anything else), for telling two
    /// shapes of one field apart; the reader of the shape found reports what is wrong.
    fn peek(node: &'n Node) -> Option<Fields<'n>> {
        match &node.value {
            Value::Map(entries) => Some(Fields { entries }),
            _ => None,
        }
    }

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
        object(cx, root, 0, None);
    }
}

/// What a typed list (`PodList`, `NetworkPolicyList`, ...) says about its items: the API
/// server leaves `kind` and `apiVersion` out of them, and Kubernetes' own readers take the
/// list's kind without `List` and the list's apiVersion.
#[derive(Clone, Copy, Debug)]
struct ItemType<'a> {
    kind: &'a str,
    api_version: Option<&'a str>,
}

/// One Kubernetes object (or a `List`, or a JSON array of objects). `list` is the type a
/// typed list gives its items.
fn object(cx: &mut Cx, node: &Node, depth: usize, list: Option<ItemType>) {
    if let Value::Seq(items) = &node.value {
        if depth < MAX_LIST_DEPTH {
            for item in items {
                object(cx, item, depth + 1, None);
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
    let Some((kind, kind_at)) = object_kind(cx, node, &obj, list) else {
        return;
    };
    let api_version = match obj.get("apiVersion") {
        Some(v) => cx.text(v, "apiVersion", ""),
        None => list.and_then(|l| l.api_version).map(str::to_owned),
    };
    let api_version = api_version.as_deref();

    // `List`, `PodList`, `DeploymentList`, ...: what `kubectl get -o yaml` and the API
    // server print
    if kind.ends_with("List") && (kind == "List" || obj.key("items").is_some()) {
        list_items(cx, node, &obj, depth, &kind, api_version);
        return;
    }
    let at = Where {
        node,
        kind: kind_at,
        api_version: obj.get("apiVersion").unwrap_or(kind_at),
    };
    dispatch(cx, &at, &obj, &kind, api_version);
}

/// The object's `kind` (or the one its typed list gives it) and the node to point at.
fn object_kind<'n>(
    cx: &mut Cx,
    node: &'n Node,
    obj: &Fields<'n>,
    list: Option<ItemType>,
) -> Option<(String, &'n Node)> {
    match (obj.get("kind"), list) {
        (Some(kind_node), _) => Some((cx.text(kind_node, "kind", "the object")?, kind_node)),
        (None, Some(list)) => Some((list.kind.to_owned(), node)),
        (None, None) => {
            cx.error(
                "missing-kind",
                node,
                "object has no `kind`; it was dropped".into(),
                "add `kind: NetworkPolicy` (or Pod, Namespace, Service, Deployment, List, ...)",
            );
            None
        }
    }
}

/// The items of a `List` or a typed list; items of `PodList` without `kind` are Pods.
fn list_items(
    cx: &mut Cx,
    node: &Node,
    obj: &Fields,
    depth: usize,
    kind: &str,
    api_version: Option<&str>,
) {
    let Some(items) = obj.get("items") else {
        return;
    };
    if depth >= MAX_LIST_DEPTH {
        cx.error(
            "invalid-type",
            node,
            format!("lists nested deeper than {MAX_LIST_DEPTH} levels; the inner list was dropped"),
            "flatten the lists",
        );
        return;
    }
    let item_type = kind
        .strip_suffix("List")
        .filter(|k| !k.is_empty())
        .map(|kind| ItemType { kind, api_version });
    if let Some(items) = cx.list(items, "items", "the list") {
        for item in items {
            object(cx, item, depth + 1, item_type);
        }
    }
}

/// Where an object's diagnostics point: the object, its `kind`, its `apiVersion`.
struct Where<'n> {
    node: &'n Node,
    kind: &'n Node,
    api_version: &'n Node,
}

/// Reads the object as its kind says.
fn dispatch(cx: &mut Cx, at: &Where, obj: &Fields, kind: &str, api_version: Option<&str>) {
    let node = at.node;
    match kind {
        "NetworkPolicy" => {
            if policy_api_version(cx, at, api_version) {
                if let Some(p) = network_policy(cx, node, obj) {
                    cx.out.policies.push(p);
                }
            }
        }
        k if CLUSTER_POLICY_KINDS.iter().any(|(name, _)| *name == k) => {
            cluster_policy_object(cx, at, obj, k, api_version)
        }
        k if !core_group(k, api_version) => {
            let v = api_version.unwrap_or_default();
            cx.ignore(
                format!("{k} ({v})"),
                at.api_version,
                format!("kind {k} of apiVersion `{v}` is not the Kubernetes {k}; ignored"),
                "a custom resource that reuses a built-in kind's name is not read",
            );
        }
        "Namespace" => {
            if let Some(ns) = namespace(cx, node, obj) {
                cx.out.namespaces.push(ns);
            }
        }
        "Pod" => {
            if let Some(pod) = pod(cx, node, obj) {
                cx.out.pods.push(pod);
            }
        }
        "Service" => {
            if let Some(service) = service(cx, node, obj) {
                cx.out.services.push(service);
            }
        }
        "Node" => {
            if let Some(n) = node_object(cx, node, obj) {
                cx.out.nodes.push(n);
            }
        }
        k => other_kind(cx, at, obj, k),
    }
}

/// Whether a NetworkPolicy of `api_version` is read (as networking.k8s.io/v1), saying why
/// when it is not or only with a correction.
fn policy_api_version(cx: &mut Cx, at: &Where, api_version: Option<&str>) -> bool {
    match api_version {
        Some("networking.k8s.io/v1") => true,
        Some(v @ ("networking.k8s.io/v1beta1" | "extensions/v1beta1")) => {
            cx.error(
                "wrong-api-version",
                at.api_version,
                format!("apiVersion `{v}` of NetworkPolicy is no longer served; read as networking.k8s.io/v1"),
                "write `apiVersion: networking.k8s.io/v1`",
            );
            true
        }
        None => {
            cx.error(
                "wrong-api-version",
                at.kind,
                "the NetworkPolicy has no `apiVersion`; read as networking.k8s.io/v1".into(),
                "add `apiVersion: networking.k8s.io/v1`",
            );
            true
        }
        Some(v) => {
            let known = v.starts_with("networking.k8s.io/") || !v.contains('/');
            if known {
                cx.error(
                    "wrong-api-version",
                    at.api_version,
                    format!(
                        "apiVersion `{v}` of NetworkPolicy does not exist; the policy was dropped"
                    ),
                    "write `apiVersion: networking.k8s.io/v1`",
                );
            } else {
                // e.g. Calico's or Cilium's own NetworkPolicy: another schema
                cx.ignore(
                    format!("NetworkPolicy ({v})"),
                    at.api_version,
                    format!("kind NetworkPolicy of apiVersion `{v}` is not the Kubernetes NetworkPolicy; ignored"),
                    "only networking.k8s.io/v1 NetworkPolicy is evaluated",
                );
            }
            false
        }
    }
}

/// Workloads, misspelt kinds and kinds that do not affect policy.
fn other_kind(cx: &mut Cx, at: &Where, obj: &Fields, kind: &str) {
    if let Some((kind, path)) = WORKLOADS.iter().find(|(w, _)| *w == kind) {
        if let Some(pod) = workload(cx, at.node, obj, kind, path) {
            cx.out.pods.push(pod);
        }
        return;
    }
    if let Some(near) = names::did_you_mean(kind, KNOWN_KINDS) {
        cx.error(
            "unknown-kind",
            at.kind,
            format!("unknown kind `{kind}`; the object was dropped"),
            format!("did you mean `{near}`?"),
        );
    } else {
        cx.ignore(
            kind.to_owned(),
            at.kind,
            format!("kind `{kind}` does not affect network policy; ignored"),
            "netpol reads NetworkPolicy, the cluster policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy), Namespace, Pod, Service, Node, workloads and Lists of them",
        );
    }
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy: read when its
/// group is `policy.networking.k8s.io` (another product's kind of the same name, such as
/// Antrea's ClusterNetworkPolicy, has another schema and is ignored).
fn cluster_policy_object(
    cx: &mut Cx,
    at: &Where,
    obj: &Fields,
    kind: &str,
    api_version: Option<&str>,
) {
    let Some((_, policy_kind)) = CLUSTER_POLICY_KINDS.iter().find(|(k, _)| *k == kind) else {
        return;
    };
    if !in_group(api_version) {
        let v = api_version.unwrap_or_default();
        cx.ignore(
            format!("{kind} ({v})"),
            at.api_version,
            format!("kind {kind} of apiVersion `{v}` is not the policy.networking.k8s.io {kind}; ignored"),
            "only the network-policy-api kinds of policy.networking.k8s.io are evaluated",
        );
        return;
    }
    let version = Version {
        at: at.api_version,
        api_version,
    };
    if let Some(p) = cluster_policy(cx, at.node, obj, *policy_kind, version) {
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
        "Namespace" | "Pod" | "Service" | "ReplicationController" | "Node" => &[""],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => &["apps", "extensions"],
        "Job" | "CronJob" => &["batch"],
        _ => return true,
    };
    groups.contains(&group)
}
