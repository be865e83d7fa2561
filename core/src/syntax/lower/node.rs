//! The `Node` object: labels and the addresses cluster policies' `nodes` peers select.

use std::net::IpAddr;

use super::metadata::{labels, metadata};
use super::{Cx, Fields};
use crate::model::Node;
use crate::syntax::yaml::{Node as YamlNode, Value};

/// The `status.addresses` types that are node IPs; `Hostname` and the DNS names are not.
const ADDRESS_TYPES: &[&str] = &["InternalIP", "ExternalIP"];

pub(super) fn node(cx: &mut Cx, yaml: &YamlNode, obj: &Fields) -> Option<Node> {
    let meta = metadata(cx, yaml, obj, "Node", false)?;
    if let Some(ns) = obj
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .filter(|n| !n.is_null())
    {
        cx.warning(
            "ignored-field",
            ns,
            format!(
                "node `{}` has a `metadata.namespace`; nodes are cluster-scoped, it is ignored",
                meta.name
            ),
            "delete `metadata.namespace`",
        );
    }
    let labels = labels(cx, meta.labels);
    let mut addresses: Vec<IpAddr> = Vec::new();
    let entries = obj
        .get("status")
        .and_then(|s| s.get("addresses"))
        .map(|a| &a.value);
    if let Some(Value::Seq(items)) = entries {
        for item in items {
            address(cx, item, &mut addresses);
        }
    }
    Some(Node {
        name: meta.name,
        labels,
        addresses,
        span: Some(cx.span(yaml)),
    })
}

/// One `status.addresses` entry: kept when it is an `InternalIP` or `ExternalIP`.
fn address(cx: &mut Cx, item: &YamlNode, addresses: &mut Vec<IpAddr>) {
    let kind = item.get("type").and_then(|t| t.as_str());
    if !kind.is_some_and(|k| ADDRESS_TYPES.contains(&k)) {
        return;
    }
    let Some(value) = item.get("address") else {
        return;
    };
    let Some(text) = value.as_str() else { return };
    match text.parse::<IpAddr>() {
        Ok(ip) if !addresses.contains(&ip) => addresses.push(ip),
        Ok(_) => {}
        Err(_) => cx.warning(
            "invalid-ip",
            value,
            format!("node address `{text}` is not an IPv4 or IPv6 address; it was ignored"),
            "write an address such as 10.0.0.5 or fd00::5",
        ),
    }
}
