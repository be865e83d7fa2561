//! `metadata` of every object (name, namespace with its default, labels) and the Namespace
//! object, which is nothing else.

use super::{Cx, Fields};
use crate::model::{Labels, Namespace};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

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

/// `metadata.name` and `metadata.namespace` (defaulted), plus the labels node.
pub(super) struct Meta<'n> {
    pub(super) name: String,
    pub(super) namespace: String,
    /// The `metadata.namespace` value as written, for cluster-scoped kinds to point at.
    pub(super) namespace_at: Option<&'n Node>,
    pub(super) labels: Option<&'n Node>,
}

pub(super) fn metadata<'n>(
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
        Some(n) => cx.text(n, "metadata.name", &format!("the {kind}"))?,
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
    check_name(cx, meta.get("name"), &name, kind);
    let namespace = match meta.get("namespace") {
        // a namespace we cannot read would put the object in the wrong one: drop it
        Some(n) => cx.text(n, "metadata.namespace", &format!("the {kind}"))?,
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
        namespace_at: meta.get("namespace"),
        labels: meta.get("labels"),
    })
}

/// A name syntax check from `names`, returning the reason a name is refused.
type NameRule = fn(&str) -> Result<(), String>;

/// The API server's rule for `metadata.name`: a DNS label for namespaces, a DNS subdomain
/// for pods and workloads. A bad name is reported and the object kept (like a bad
/// `metadata.namespace`), so one typo does not hide a pod from the graph.
fn check_name(cx: &mut Cx, at: Option<&Node>, name: &str, kind: &str) {
    let (check, help): (NameRule, &str) = match kind {
        "NetworkPolicy" => return,
        "Namespace" => (
            names::dns_label,
            "namespace names are DNS labels such as `prod` or `team-a`",
        ),
        _ => (
            names::dns_subdomain_name,
            "pod names are DNS subdomains such as `api-0` or `web.v2`",
        ),
    };
    if let (Err(e), Some(at)) = (check(name), at) {
        let what = match kind {
            "Namespace" => "namespace",
            "Pod" => "pod",
            workload => workload,
        };
        cx.error(
            "invalid-name",
            at,
            format!("{what} name `{name}` {e}"),
            help,
        );
    }
}

/// Object labels (`metadata.labels` or a template's). Bad keys or values are reported
/// (the API server would refuse the object) but kept, so selectors still see them.
pub(super) fn labels(cx: &mut Cx, node: Option<&Node>) -> Labels {
    match node {
        Some(node) => label_map(cx, node, "labels"),
        None => Labels::new(),
    }
}

/// A mapping of label keys to values (`labels`, a Service's `selector`), checked like
/// [`labels`].
pub(super) fn label_map(cx: &mut Cx, node: &Node, field: &str) -> Labels {
    let mut out = Labels::new();
    let Some(f) = cx.fields(node, field, None, "") else {
        return out;
    };
    for (k, v) in f.entries {
        let Some(key) = cx.string(k, field, "the label") else {
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

pub(super) fn check_label(cx: &mut Cx, k: &Node, key: &str, v: &Node, value: &str) -> bool {
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

pub(super) fn namespace(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Namespace> {
    let meta = metadata(cx, node, obj, "Namespace", false)?;
    let labels = labels(cx, meta.labels);
    Some(Namespace {
        name: meta.name,
        labels,
        span: Some(cx.span(node)),
    })
}
