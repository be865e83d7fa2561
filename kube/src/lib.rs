//! netpol's boundary with the Kubernetes API, shared by the agent (which watches) and the
//! CLI's `--cluster` (which reads once), so both hand the core exactly the same input.
//!
//! An object crosses the boundary as JSON text that [`netpol_core::parse`] reads like any
//! manifest: [`for_core`] sets `apiVersion` and `kind` (items of a list response lack them)
//! and drops what no policy decision reads — `managedFields`, and the annotations, where
//! kubectl keeps a second copy of the whole object. Kubernetes defaulting and every
//! decision stay in the core. [`text`] is the source text both hand the core, one object
//! per source, so each object is parsed (and rejected, when malformed) on its own.
//!
//! [`read`] lists Namespaces, Pods, NetworkPolicies, Services and Nodes (page by page,
//! reporting progress) and the policy-tier custom resources when their CRDs are installed;
//! [`read::served_tier_kinds`] is the discovery of those CRDs the agent's watchers share.
//!
//! [`netpol_core::parse`]: https://docs.rs/netpol-core

pub mod connect;
pub mod read;

use serde::Serialize;
use serde_json::Value;

/// `object` as the core reads it: `apiVersion` and `kind` set, `metadata.managedFields`
/// and `metadata.annotations` removed.
pub fn for_core(
    api_version: &str,
    kind: &str,
    object: &impl Serialize,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(object)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(api_version.into()));
        map.insert("kind".into(), Value::String(kind.into()));
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            meta.remove("annotations");
        }
    }
    Ok(value)
}

/// A value from [`for_core`] as the source text the core parses: pretty-printed, so a
/// diagnostic's source excerpt is one readable line. The agent and the CLI both use it, so a
/// diagnostic points at the same line in either.
pub fn text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_type_and_drops_what_no_decision_reads() {
        let object = serde_json::json!({
            "metadata": {
                "name": "web",
                "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "managedFields": [{"manager": "kubectl"}],
            },
            "spec": {"nodeName": "node-a"},
        });
        let value = for_core("v1", "Pod", &object).expect("serializable");
        assert_eq!(
            value,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"nodeName": "node-a"},
            })
        );
    }
}
