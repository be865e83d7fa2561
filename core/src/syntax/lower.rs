//! Manifests (spanned YAML trees) to model objects, with Kubernetes defaulting and checks.
//!
//! The rule for broken input: keep as much as is safe, drop the smallest unit that is
//! broken, and say what was dropped. Dropping must never widen what a policy allows: a rule
//! whose every peer (or every port) was dropped would silently become "allow all", so the
//! whole rule goes instead.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::cidr::{Cidr, CidrError};
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::model::{
    ContainerPort, IpBlock, LabelSelector, LabelSelectorRequirement, Labels, Namespace,
    NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, Operator, Parsed, Pod,
    PolicyType, PortRef, Protocol,
};
use crate::syntax::lines::Lines;
use crate::syntax::names;
use crate::syntax::yaml::{Document, Node, Value};

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
];

const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "generateName",
    "selfLink",
];
const SPEC_FIELDS: &[&str] = &["podSelector", "policyTypes", "ingress", "egress"];
const INGRESS_FIELDS: &[&str] = &["from", "ports"];
const EGRESS_FIELDS: &[&str] = &["to", "ports"];
const PEER_FIELDS: &[&str] = &["podSelector", "namespaceSelector", "ipBlock"];
const IPBLOCK_FIELDS: &[&str] = &["cidr", "except"];
const PORT_FIELDS: &[&str] = &["protocol", "port", "endPort"];
const SELECTOR_FIELDS: &[&str] = &["matchLabels", "matchExpressions"];
const REQUIREMENT_FIELDS: &[&str] = &["key", "operator", "values"];

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
            code,
            severity,
            message,
            span: Some(span),
            help,
        });
    }

    fn error(&mut self, code: &'static str, at: &Node, message: String, help: impl Into<String>) {
        self.push(Severity::Error, code, at, message, Some(help.into()));
    }

    fn warning(&mut self, code: &'static str, at: &Node, message: String, help: impl Into<String>) {
        self.push(Severity::Warning, code, at, message, Some(help.into()));
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
                    "netpol reads NetworkPolicy, Namespace, Pod, workloads and Lists of them",
                );
            }
        }
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
        "Namespace" | "Pod" | "ReplicationController" => &[""],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => &["apps", "extensions"],
        "Job" | "CronJob" => &["batch"],
        _ => return true,
    };
    groups.contains(&group)
}

/// `metadata.name` and `metadata.namespace` (defaulted), plus the labels node.
struct Meta<'n> {
    name: String,
    namespace: String,
    labels: Option<&'n Node>,
}

fn metadata<'n>(
    cx: &mut Cx,
    node: &'n Node,
    obj: &Fields<'n>,
    kind: &str,
    strict: bool,
) -> Option<Meta<'n>> {
    let known = if strict { Some(METADATA_FIELDS) } else { None };
    let Some(meta_node) = obj.get("metadata") else {
        cx.error(
            "missing-name",
            node,
            format!("the {kind} has no `metadata.name`; it was dropped"),
            "add `metadata: {name: ...}`",
        );
        return None;
    };
    let meta = cx.fields(meta_node, "metadata", known, &format!("the {kind}"))?;
    let name = match meta.get("name") {
        Some(n) => cx.string(n, "metadata.name", &format!("the {kind}"))?,
        None => {
            cx.error(
                "missing-name",
                meta_node,
                format!("the {kind} has no `metadata.name`; it was dropped"),
                "add `name: ...` under `metadata`",
            );
            return None;
        }
    };
    if name.is_empty() {
        cx.error(
            "missing-name",
            meta_node,
            format!("the {kind} has an empty `metadata.name`; it was dropped"),
            "give it a name",
        );
        return None;
    }
    let namespace = match meta.get("namespace") {
        Some(n) => cx
            .string(n, "metadata.namespace", "")
            .unwrap_or_else(|| "default".into()),
        None => "default".into(),
    };
    if let Err(e) = names::dns_label(&namespace) {
        if let Some(n) = meta.get("namespace") {
            cx.error(
                "invalid-name",
                n,
                format!("namespace name `{namespace}` {e}"),
                "namespace names are DNS labels such as `prod` or `team-a`",
            );
        }
    }
    Some(Meta {
        name,
        namespace,
        labels: meta.get("labels"),
    })
}

/// Object labels (`metadata.labels` or a template's). Bad keys or values are reported
/// (the API server would refuse the object) but kept, so selectors still see them.
fn labels(cx: &mut Cx, node: Option<&Node>) -> Labels {
    let mut out = Labels::new();
    let Some(node) = node else {
        return out;
    };
    let Some(f) = cx.fields(node, "labels", None, "") else {
        return out;
    };
    for (k, v) in f.entries {
        let Some(key) = cx.string(k, "labels", "the label") else {
            continue;
        };
        let value = match &v.value {
            Value::Null => String::new(),
            _ => match cx.string(v, &key, "the label") {
                Some(s) => s,
                None => continue,
            },
        };
        check_label(cx, k, &key, v, &value);
        out.insert(key, value);
    }
    out
}

fn check_label(cx: &mut Cx, k: &Node, key: &str, v: &Node, value: &str) -> bool {
    let mut ok = true;
    if let Err(e) = names::label_key(key) {
        cx.error(
            "invalid-label",
            k,
            format!("label key `{key}` {e}"),
            "label keys look like `app` or `app.kubernetes.io/name`",
        );
        ok = false;
    }
    if let Err(e) = names::label_value(value) {
        cx.error(
            "invalid-label",
            v,
            format!("label value `{value}` {e}"),
            "label values are at most 63 letters, digits, `-`, `_` or `.`",
        );
        ok = false;
    }
    if let Value::Scalar { plain: true, .. } = &v.value {
        if v.describe() != "a string" {
            cx.error(
                "invalid-type",
                v,
                format!(
                    "label value `{value}` is {}; Kubernetes needs a string",
                    v.describe()
                ),
                format!("quote it: \"{value}\""),
            );
            ok = false;
        }
    }
    ok
}

fn namespace(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Namespace> {
    let meta = metadata(cx, node, obj, "Namespace", false)?;
    let labels = labels(cx, meta.labels);
    Some(Namespace {
        name: meta.name,
        labels,
        span: Some(cx.span(node)),
    })
}

fn pod(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Pod> {
    let meta = metadata(cx, node, obj, "Pod", false)?;
    let labels = labels(cx, meta.labels);
    let spec = obj.get("spec");
    let ports = spec.map(|s| container_ports(cx, s)).unwrap_or_default();
    let node_name = spec
        .and_then(|s| s.get("nodeName"))
        .and_then(|n| n.as_str())
        .map(str::to_owned);
    let host_network = spec
        .and_then(|s| s.get("hostNetwork"))
        .and_then(|h| h.as_str())
        == Some("true");
    let status = obj.get("status");
    // Which pods take part (ARCHITECTURE.md): a pod that finished has stopped its
    // containers and released its IP, which may already belong to another pod.
    let phase = status.and_then(|s| s.get("phase"));
    if let Some(phase_node) = phase {
        if let Some(p @ ("Succeeded" | "Failed")) = phase_node.as_str() {
            cx.info(
                "finished-pod",
                phase_node,
                format!(
                    "pod `{}` has finished (phase {p}); it takes no part in connectivity and was left out",
                    meta.name
                ),
                "finished pods run no containers, and their IP may already belong to another pod",
            );
            return None;
        }
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut seen_ips: HashSet<IpAddr> = HashSet::new();
    if let Some(status) = status {
        let mut candidates: Vec<&Node> = Vec::new();
        if let Some(ip) = status.get("podIP") {
            candidates.push(ip);
        }
        if let Some(Value::Seq(items)) = status.get("podIPs").map(|n| &n.value) {
            candidates.extend(items.iter().filter_map(|i| i.get("ip")));
        }
        for c in candidates {
            let Some(s) = c.as_str() else { continue };
            match s.parse::<IpAddr>() {
                Ok(ip) => {
                    if seen_ips.insert(ip) {
                        ips.push(ip);
                    }
                }
                Err(_) => cx.warning(
                    "invalid-ip",
                    c,
                    format!("pod IP `{s}` is not an IPv4 or IPv6 address; it was ignored"),
                    "write an address such as 10.1.0.5 or fd00::5",
                ),
            }
        }
    }
    if host_network {
        if let Some(h) = spec.and_then(|s| s.get("hostNetwork")) {
            cx.info(
                "host-network",
                h,
                format!(
                    "pod `{}` uses its node's network: policies never select it, and as a peer only ipBlocks containing its node's address match it",
                    meta.name
                ),
                "this is what most network plugins do; Kubernetes leaves host-network pods undefined",
            );
        }
    } else if ips.is_empty() {
        if let Some(status) = status {
            cx.info(
                "pod-without-ip",
                status,
                format!(
                    "pod `{}` has no IP yet; it is judged by its labels, but ipBlock peers cannot match it and no node enforces anything for it",
                    meta.name
                ),
                "a pod gets its IP when it is scheduled and its sandbox starts",
            );
        }
    }
    Some(Pod {
        id: format!("{}/{}", meta.namespace, meta.name),
        namespace: meta.namespace,
        name: meta.name,
        workload: None,
        labels,
        ips,
        ports,
        node: node_name,
        host_network,
        span: Some(cx.span(node)),
    })
}

fn workload(cx: &mut Cx, node: &Node, obj: &Fields, kind: &str, path: &[&str]) -> Option<Pod> {
    let meta = metadata(cx, node, obj, kind, false)?;
    let mut template = Some(node);
    for step in path {
        template = template.and_then(|t| t.get(step));
    }
    let Some(template) = template else {
        cx.warning(
            "missing-template",
            node,
            format!(
                "workload {kind} `{}` has no `{}`; it was ignored",
                meta.name,
                path.join(".")
            ),
            "a workload becomes an endpoint through its pod template",
        );
        return None;
    };
    let labels = labels(cx, template.get("metadata").and_then(|m| m.get("labels")));
    let ports = template
        .get("spec")
        .map(|s| container_ports(cx, s))
        .unwrap_or_default();
    Some(Pod {
        id: format!("{}/{}/{}", meta.namespace, kind, meta.name),
        namespace: meta.namespace,
        name: meta.name,
        workload: Some(kind.to_owned()),
        labels,
        ips: Vec::new(),
        ports,
        node: None,
        host_network: template
            .get("spec")
            .and_then(|s| s.get("hostNetwork"))
            .and_then(|h| h.as_str())
            == Some("true"),
        span: Some(cx.span(node)),
    })
}

/// Ports of `spec.containers` (init containers' ports are not reachable, so not read).
fn container_ports(cx: &mut Cx, spec: &Node) -> Vec<ContainerPort> {
    let mut out: Vec<ContainerPort> = Vec::new();
    let mut seen: HashSet<ContainerPort> = HashSet::new();
    let Some(Value::Seq(containers)) = spec.get("containers").map(|n| &n.value) else {
        return out;
    };
    for c in containers {
        let Some(Value::Seq(ports)) = c.get("ports").map(|n| &n.value) else {
            continue;
        };
        for p in ports {
            let Some(num_node) = p.get("containerPort") else {
                continue;
            };
            let port = match num_node.as_str().and_then(|s| s.parse::<u32>().ok()) {
                Some(n @ 1..=65535) => n as u16,
                _ => {
                    cx.warning(
                        "invalid-port",
                        num_node,
                        format!(
                            "containerPort `{}` is not a port number 1-65535; it was ignored",
                            num_node.as_str().unwrap_or(num_node.describe())
                        ),
                        "write a number such as 8080",
                    );
                    continue;
                }
            };
            let protocol = match p.get("protocol").and_then(|n| n.as_str()) {
                None => Protocol::TCP,
                Some(s) => {
                    match Protocol::parse(s) {
                        Some(pr) => pr,
                        None => {
                            cx.warning(
                            "unknown-protocol",
                            p,
                            format!("container port protocol `{s}` is unknown; the port was ignored"),
                            "use TCP, UDP or SCTP",
                        );
                            continue;
                        }
                    }
                }
            };
            let name = p
                .get("name")
                .and_then(|n| n.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let cp = ContainerPort {
                name,
                port,
                protocol,
            };
            if seen.insert(cp.clone()) {
                out.push(cp);
            }
        }
    }
    out
}

fn network_policy(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<NetworkPolicy> {
    cx.fields(node, "NetworkPolicy", Some(OBJECT_FIELDS), "");
    let meta = metadata(cx, node, obj, "NetworkPolicy", true)?;
    let name = meta.name;
    let drop_policy = format!("the policy `{name}`");
    let spec_node = obj.get("spec");
    let empty = Node {
        value: Value::Map(Vec::new()),
        start: node.start,
        end: node.start,
    };
    let spec = match spec_node {
        Some(s) => cx.fields(s, "spec", Some(SPEC_FIELDS), &drop_policy)?,
        None => {
            cx.warning(
                "missing-field",
                node,
                format!("policy `{name}` has no `spec`: it selects every pod of its namespace and denies all their ingress"),
                "add a `spec` with `podSelector` and rules",
            );
            cx.fields(&empty, "spec", None, "")?
        }
    };

    let pod_selector = match spec.get("podSelector") {
        Some(sel) => selector(cx, sel, "podSelector", &drop_policy)?,
        None => {
            // `podSelector: null` is legal and means `{}`; only a missing key is suspicious
            if spec_node.is_some() && spec.key("podSelector").is_none() {
                cx.warning(
                    "missing-field",
                    spec_node.unwrap_or(node),
                    format!("policy `{name}` has no `spec.podSelector`; read as `{{}}`, every pod of the namespace"),
                    "write `podSelector: {}` to select every pod, or give labels to match",
                );
            }
            LabelSelector::default()
        }
    };

    let mut ingress = Vec::new();
    if let Some(list) = spec.get("ingress") {
        let items = cx.list(list, "ingress", &drop_policy)?;
        for item in items {
            if let Some(r) = rule(cx, item, PolicyType::Ingress) {
                ingress.push(r);
            }
        }
    }
    let mut egress = Vec::new();
    let egress_node = spec.get("egress");
    let mut egress_listed = false;
    if let Some(list) = egress_node {
        let items = cx.list(list, "egress", &drop_policy)?;
        egress_listed = !items.is_empty();
        for item in items {
            if let Some(r) = rule(cx, item, PolicyType::Egress) {
                egress.push(r);
            }
        }
    }

    let mut policy_types: Vec<PolicyType> = Vec::new();
    let types_node = spec.get("policyTypes");
    if let Some(tn) = types_node {
        if let Some(items) = cx.list(tn, "policyTypes", "") {
            for item in items {
                let Some(s) = cx.string(item, "policyTypes", "the value") else {
                    continue;
                };
                let t = match s.as_str() {
                    "Ingress" => Some(PolicyType::Ingress),
                    "Egress" => Some(PolicyType::Egress),
                    other => {
                        let near = names::did_you_mean(other, &["Ingress", "Egress"]);
                        let exact_but_case = near.is_some_and(|n| n.eq_ignore_ascii_case(other));
                        if exact_but_case {
                            let n = near.unwrap_or("Ingress");
                            cx.error(
                                "invalid-policy-type",
                                item,
                                format!("policyTypes value `{other}` must be written `{n}` (Kubernetes is case-sensitive); read as `{n}`"),
                                format!("write `{n}`"),
                            );
                            if n == "Ingress" {
                                Some(PolicyType::Ingress)
                            } else {
                                Some(PolicyType::Egress)
                            }
                        } else {
                            let help = near
                                .map_or("use `Ingress` and/or `Egress`".to_owned(), |n| {
                                    format!("did you mean `{n}`?")
                                });
                            cx.error(
                                "invalid-policy-type",
                                item,
                                format!("unknown policyTypes value `{other}`; it was dropped"),
                                help,
                            );
                            None
                        }
                    }
                };
                if let Some(t) = t {
                    if !policy_types.contains(&t) {
                        policy_types.push(t);
                    }
                }
            }
        }
    }
    let explicit_types = !policy_types.is_empty();
    if !explicit_types {
        // Kubernetes' defaulting (SetDefaults_NetworkPolicy): Ingress always, Egress when
        // the policy has at least one egress rule (`len(spec.egress) != 0`).
        policy_types.push(PolicyType::Ingress);
        if egress_listed {
            policy_types.push(PolicyType::Egress);
        } else if let Some(e) = egress_node {
            if matches!(e.value, Value::Seq(_)) {
                cx.warning(
                    "egress-not-isolated",
                    spec.key("egress").unwrap_or(e),
                    format!("`egress: []` without `policyTypes` does not restrict egress: Kubernetes defaults policyTypes of `{name}` to [Ingress]"),
                    "to deny all egress, add `policyTypes: [Ingress, Egress]`",
                );
            }
        }
    }
    policy_types.sort();

    if explicit_types {
        for (dir, rules, key) in [
            (PolicyType::Ingress, &ingress, "ingress"),
            (PolicyType::Egress, &egress, "egress"),
        ] {
            if !rules.is_empty() && !policy_types.contains(&dir) {
                let other = if key == "ingress" {
                    "Egress"
                } else {
                    "Ingress"
                };
                let at = spec.key(key).unwrap_or(node);
                cx.warning(
                    "ignored-rules",
                    at,
                    format!("policy `{name}` has {key} rules but policyTypes lists only {other}; Kubernetes ignores these rules"),
                    format!("add `{}` to policyTypes, or delete the {key} section", if key == "ingress" { "Ingress" } else { "Egress" }),
                );
            }
        }
    }

    Some(NetworkPolicy {
        name,
        namespace: meta.namespace,
        pod_selector,
        policy_types,
        ingress,
        egress,
        span: cx.span(node),
    })
}

fn rule(cx: &mut Cx, node: &Node, dir: PolicyType) -> Option<NetworkPolicyRule> {
    let (what, peers_key, known) = match dir {
        PolicyType::Ingress => ("ingress rule", "from", INGRESS_FIELDS),
        PolicyType::Egress => ("egress rule", "to", EGRESS_FIELDS),
    };
    let drop_rule = format!("the {what}");
    let f = cx.fields(node, what, Some(known), &drop_rule)?;
    let mut peers = Vec::new();
    if let Some(list) = f.get(peers_key) {
        let items = cx.list(list, peers_key, &drop_rule)?;
        for item in items {
            if let Some(p) = peer(cx, item, peers_key) {
                peers.push(p);
            }
        }
        if peers.is_empty() && !items.is_empty() {
            cx.error(
                "rule-dropped",
                node,
                format!("every `{peers_key}` entry of this {what} was invalid; the whole rule was dropped"),
                format!("an empty `{peers_key}` would allow every peer, so the rule is not kept; fix the entries"),
            );
            return None;
        }
    }
    let mut ports = Vec::new();
    if let Some(list) = f.get("ports") {
        let items = cx.list(list, "ports", &drop_rule)?;
        for item in items {
            if let Some(p) = port(cx, item) {
                ports.push(p);
            }
        }
        if ports.is_empty() && !items.is_empty() {
            cx.error(
                "rule-dropped",
                node,
                format!(
                    "every `ports` entry of this {what} was invalid; the whole rule was dropped"
                ),
                "an empty `ports` would allow every port, so the rule is not kept; fix the entries",
            );
            return None;
        }
    }
    Some(NetworkPolicyRule {
        peers,
        ports,
        span: cx.span(node),
    })
}

fn peer(cx: &mut Cx, node: &Node, key: &str) -> Option<NetworkPolicyPeer> {
    let drop = "the peer";
    let f = cx.fields(node, &format!("{key} entry"), Some(PEER_FIELDS), drop)?;
    // warn about a rule-level key indented into the peer, a common slip
    if let Some(k) = f.key("ports") {
        cx.warning(
            "misplaced-field",
            k,
            format!("`ports` is inside a `{key}` entry, where it is ignored"),
            "`ports` belongs to the rule: indent it like `from`/`to`",
        );
    }
    let mut ok = true;
    let pod_selector = match f.get("podSelector") {
        Some(n) => {
            let s = selector(cx, n, "podSelector", drop);
            ok &= s.is_some();
            s
        }
        None => None,
    };
    let namespace_selector = match f.get("namespaceSelector") {
        Some(n) => {
            let s = selector(cx, n, "namespaceSelector", drop);
            ok &= s.is_some();
            s
        }
        None => None,
    };
    let ip_block = match f.get("ipBlock") {
        Some(n) => {
            let b = ip_block(cx, n);
            ok &= b.is_some();
            b
        }
        None => None,
    };
    if !ok {
        return None;
    }
    let has_selector = f.get("podSelector").is_some() || f.get("namespaceSelector").is_some();
    if f.get("ipBlock").is_some() && has_selector {
        cx.error(
            "invalid-peer",
            node,
            "a peer with `ipBlock` cannot also have `podSelector` or `namespaceSelector`; the peer was dropped".into(),
            format!("split it into two `{key}` entries (`- ipBlock: ...` and `- podSelector: ...`)"),
        );
        return None;
    }
    if f.get("ipBlock").is_none() && !has_selector {
        cx.error(
            "invalid-peer",
            node,
            "this peer has none of `podSelector`, `namespaceSelector`, `ipBlock`; the peer was dropped".into(),
            format!("to allow every peer, leave out `{key}`; otherwise give a selector or ipBlock"),
        );
        return None;
    }
    Some(NetworkPolicyPeer {
        pod_selector,
        namespace_selector,
        ip_block,
        span: cx.span(node),
    })
}

/// A label selector; `None` (after reporting every problem) when any part is invalid, in
/// which case `dropped` (the peer, the policy) was dropped.
fn selector(cx: &mut Cx, node: &Node, what: &str, dropped: &str) -> Option<LabelSelector> {
    let f = cx.fields(node, what, Some(SELECTOR_FIELDS), dropped)?;
    let mut ok = true;
    let mut out = LabelSelector::default();
    if let Some(ml) = f.get("matchLabels") {
        match cx.fields(ml, "matchLabels", None, dropped) {
            Some(labels) => {
                for (k, v) in labels.entries {
                    let key = cx.string(k, "matchLabels", dropped);
                    let value = match &v.value {
                        Value::Null => Some(String::new()),
                        _ => cx.string(v, "matchLabels value", dropped),
                    };
                    let (Some(key), Some(value)) = (key, value) else {
                        ok = false;
                        continue;
                    };
                    if !check_label(cx, k, &key, v, &value) {
                        ok = false;
                    }
                    out.match_labels.insert(key, value);
                }
            }
            None => ok = false,
        }
    }
    if let Some(me) = f.get("matchExpressions") {
        match cx.list(me, "matchExpressions", dropped) {
            Some(items) => {
                for item in items {
                    match requirement(cx, item, dropped) {
                        Some(r) => out.match_expressions.push(r),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    if !ok {
        cx.error(
            "selector-dropped",
            node,
            format!("`{what}` is invalid (see above); {dropped} was dropped"),
            "fix the selector; an invalid selector is rejected by Kubernetes",
        );
        return None;
    }
    Some(out)
}

fn requirement(cx: &mut Cx, node: &Node, dropped: &str) -> Option<LabelSelectorRequirement> {
    let f = cx.fields(
        node,
        "matchExpressions entry",
        Some(REQUIREMENT_FIELDS),
        dropped,
    )?;
    let Some(key_node) = f.get("key") else {
        cx.error(
            "invalid-selector",
            node,
            "matchExpressions entry has no `key`".into(),
            "add `key: <label key>`",
        );
        return None;
    };
    let key = cx.string(key_node, "key", "")?;
    let mut ok = true;
    if let Err(e) = names::label_key(&key) {
        cx.error(
            "invalid-label",
            key_node,
            format!("label key `{key}` {e}"),
            "label keys look like `app` or `app.kubernetes.io/name`",
        );
        ok = false;
    }
    let Some(op_node) = f.get("operator") else {
        cx.error(
            "invalid-selector",
            node,
            format!("matchExpressions entry for `{key}` has no `operator`"),
            "add `operator: In` (or NotIn, Exists, DoesNotExist)",
        );
        return None;
    };
    let op_text = cx.string(op_node, "operator", "")?;
    let operator = match op_text.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => {
            let ops = ["In", "NotIn", "Exists", "DoesNotExist"];
            let help = match names::did_you_mean(other, &ops) {
                Some(n) => format!("did you mean `{n}`? (operators are case-sensitive)"),
                None => "use In, NotIn, Exists or DoesNotExist".into(),
            };
            cx.error(
                "invalid-operator",
                op_node,
                format!("unknown selector operator `{other}`"),
                help,
            );
            return None;
        }
    };
    let mut values = Vec::new();
    let values_node = f.get("values");
    if let Some(vn) = values_node {
        let items = cx.list(vn, "values", "")?;
        for item in items {
            let v = cx.string(item, "values", "")?;
            if let Err(e) = names::label_value(&v) {
                cx.error(
                    "invalid-label",
                    item,
                    format!("label value `{v}` {e}"),
                    "label values are at most 63 letters, digits, `-`, `_` or `.`",
                );
                ok = false;
            }
            values.push(v);
        }
    }
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            cx.error(
                "invalid-selector",
                values_node.unwrap_or(op_node),
                format!("operator `{op_text}` on `{key}` needs at least one value"),
                format!(
                    "add `values: [...]`, or use `{}`",
                    if operator == Operator::In {
                        "Exists"
                    } else {
                        "DoesNotExist"
                    }
                ),
            );
            ok = false;
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            cx.error(
                "invalid-selector",
                values_node.unwrap_or(op_node),
                format!("operator `{op_text}` on `{key}` must not have values"),
                format!(
                    "delete `values`, or use `{}`",
                    if operator == Operator::Exists {
                        "In"
                    } else {
                        "NotIn"
                    }
                ),
            );
            ok = false;
        }
        _ => {}
    }
    ok.then_some(LabelSelectorRequirement {
        key,
        operator,
        values,
    })
}

fn cidr_help(e: &CidrError, text: &str) -> String {
    match e {
        CidrError::MissingPrefix => {
            format!("add a prefix length: `{text}/32` for one IPv4 address, `/128` for IPv6")
        }
        CidrError::BadAddress => "write an address block such as 10.0.0.0/8 or fd00::/8".into(),
        CidrError::BadPrefix => "the prefix is 0-32 for IPv4 and 0-128 for IPv6".into(),
    }
}

fn parse_cidr(cx: &mut Cx, node: &Node, field: &str) -> Option<Cidr> {
    let text = cx.string(node, field, "the peer")?;
    match text.parse::<Cidr>() {
        Ok(c) => {
            if let Some((addr, prefix)) = text.trim().split_once('/') {
                if let (Ok(a), Ok(p)) = (addr.parse::<IpAddr>(), prefix.parse::<u8>()) {
                    if Cidr::has_host_bits(a, p) {
                        cx.warning(
                            "cidr-host-bits",
                            node,
                            format!(
                                "{field} `{text}` has host bits set; Kubernetes reads it as `{c}`"
                            ),
                            format!(
                                "write `{c}`, or `{a}/{}` for the single address",
                                if a.is_ipv4() { 32 } else { 128 }
                            ),
                        );
                    }
                }
            }
            Some(c)
        }
        Err(e) => {
            let help = cidr_help(&e, &text);
            cx.error(
                "invalid-cidr",
                node,
                format!("{field} `{text}` is not a valid CIDR ({e}); the peer was dropped"),
                help,
            );
            None
        }
    }
}

fn ip_block(cx: &mut Cx, node: &Node) -> Option<IpBlock> {
    let f = cx.fields(node, "ipBlock", Some(IPBLOCK_FIELDS), "the peer")?;
    let Some(cidr_node) = f.get("cidr") else {
        cx.error(
            "invalid-cidr",
            node,
            "ipBlock has no `cidr`; the peer was dropped".into(),
            "add `cidr: 10.0.0.0/8` (or the block you mean)",
        );
        return None;
    };
    let cidr = parse_cidr(cx, cidr_node, "cidr")?;
    let mut ok = true;
    let mut except = Vec::new();
    if let Some(en) = f.get("except") {
        let items = cx.list(en, "except", "the peer")?;
        for item in items {
            let Some(e) = parse_cidr(cx, item, "except") else {
                ok = false;
                continue;
            };
            if e.is_v6() != cidr.is_v6() {
                cx.error(
                    "except-outside-cidr",
                    item,
                    format!(
                        "except `{e}` is IPv{} but cidr `{cidr}` is IPv{}; the peer was dropped",
                        if e.is_v6() { 6 } else { 4 },
                        if cidr.is_v6() { 6 } else { 4 }
                    ),
                    "use except blocks of the same family as cidr",
                );
                ok = false;
            } else if !cidr.contains_cidr(&e) || e.prefix <= cidr.prefix {
                cx.error(
                    "except-outside-cidr",
                    item,
                    format!(
                        "except `{e}` is not strictly inside cidr `{cidr}`; the peer was dropped"
                    ),
                    "every except block must be a smaller block inside cidr",
                );
                ok = false;
            } else {
                except.push(e);
            }
        }
    }
    ok.then_some(IpBlock { cidr, except })
}

fn port(cx: &mut Cx, node: &Node) -> Option<NetworkPolicyPort> {
    let drop = "the port entry";
    let f = cx.fields(node, "ports entry", Some(PORT_FIELDS), drop)?;
    let protocol = match f.get("protocol") {
        None => Protocol::TCP,
        Some(pn) => {
            let s = cx.string(pn, "protocol", drop)?;
            match s.as_str() {
                "TCP" => Protocol::TCP,
                "UDP" => Protocol::UDP,
                "SCTP" => Protocol::SCTP,
                other => match Protocol::parse(other) {
                    Some(p) => {
                        cx.error(
                            "unknown-protocol",
                            pn,
                            format!("protocol `{other}` must be upper-case (Kubernetes is case-sensitive); read as {p}"),
                            format!("write {p}"),
                        );
                        p
                    }
                    None => {
                        cx.error(
                            "unknown-protocol",
                            pn,
                            format!("unknown protocol `{other}`; the port entry was dropped"),
                            "use TCP, UDP or SCTP",
                        );
                        return None;
                    }
                },
            }
        }
    };
    let port = match f.get("port") {
        None => None,
        Some(pn) => Some(port_ref(cx, pn)?),
    };
    let end_port = match f.get("endPort") {
        None => None,
        Some(en) => {
            let n = number(cx, en, "endPort")?;
            match &port {
                None => {
                    cx.error(
                        "invalid-port",
                        en,
                        format!("endPort {n} without `port`; the port entry was dropped"),
                        "add `port:` with the first port of the range",
                    );
                    return None;
                }
                Some(PortRef::Name(name)) => {
                    cx.error(
                        "invalid-port",
                        en,
                        format!("endPort {n} cannot be combined with the named port `{name}`; the port entry was dropped"),
                        "use a numeric `port` for a range, or drop endPort",
                    );
                    return None;
                }
                Some(PortRef::Number(p)) if n < *p => {
                    cx.error(
                        "invalid-port",
                        en,
                        format!("endPort {n} is less than port {p}; the port entry was dropped"),
                        format!("write an endPort of at least {p}"),
                    );
                    return None;
                }
                Some(PortRef::Number(_)) => Some(n),
            }
        }
    };
    Some(NetworkPolicyPort {
        protocol,
        port,
        end_port,
        span: cx.span(node),
    })
}

/// A port number 1-65535 written as a plain YAML integer.
fn number(cx: &mut Cx, node: &Node, field: &str) -> Option<u16> {
    match &node.value {
        Value::Scalar { text, plain: true } => {
            let digits = text.strip_prefix('+').unwrap_or(text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                match digits.parse::<u32>() {
                    Ok(n @ 1..=65535) => return Some(n as u16),
                    _ => {
                        cx.error(
                            "invalid-port",
                            node,
                            format!("{field} {text} is out of range; the port entry was dropped"),
                            "ports are 1-65535",
                        );
                        return None;
                    }
                }
            }
            let what = if text.starts_with('-') {
                "out of range"
            } else {
                "not a whole number"
            };
            cx.error(
                "invalid-port",
                node,
                format!("{field} `{text}` is {what}; the port entry was dropped"),
                "ports are whole numbers 1-65535",
            );
            None
        }
        _ => {
            cx.type_error(node, field, "a number", "the port entry");
            None
        }
    }
}

fn port_ref(cx: &mut Cx, node: &Node) -> Option<PortRef> {
    match &node.value {
        Value::Scalar { text, plain } => {
            let numeric = text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+');
            if *plain && numeric {
                return number(cx, node, "port").map(PortRef::Number);
            }
            if let Err(e) = names::port_name(text) {
                let help = if !plain && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
                {
                    format!("write {text} without quotes: a quoted port is a port name")
                } else {
                    "port names are at most 15 lower-case letters, digits and `-`, with at least one letter".into()
                };
                cx.error(
                    "invalid-port",
                    node,
                    format!("port name `{text}` {e}; the port entry was dropped"),
                    help,
                );
                return None;
            }
            Some(PortRef::Name(text.clone()))
        }
        _ => {
            cx.type_error(node, "port", "a number or a port name", "the port entry");
            None
        }
    }
}
