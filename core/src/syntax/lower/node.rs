//! The `Node` object: labels and the addresses cluster policies' `nodes` peers select.

use std::net::IpAddr;

use super::metadata::{labels, metadata};
use super::{Cx, Fields};
use crate::model::Node;
use crate::syntax::yaml::Node as YamlNode;

/// The `status.addresses` types that are node IPs; `Hostname` and the DNS names are not.
const ADDRESS_TYPES: &[&str] = &["InternalIP", "ExternalIP"];

pub(super) fn node(cx: &mut Cx, yaml: &YamlNode, obj: &Fields) -> Option<Node> {
    let meta = metadata(cx, yaml, obj, "Node", false)?;
    if let Some(ns) = meta.namespace_at {
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
    let addresses = obj
        .get("status")
        .map(|status| addresses(cx, status, &meta.name))
        .unwrap_or_default();
    Some(Node {
        name: meta.name,
        labels,
        addresses,
        span: Some(cx.span(yaml)),
    })
}

/// `status.addresses`: the `InternalIP` and `ExternalIP` entries, in order, without repeats.
fn addresses(cx: &mut Cx, status: &YamlNode, name: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    let dropped = format!("the addresses of node `{name}`");
    let Some(f) = cx.fields(status, "status", None, &dropped) else {
        return out;
    };
    let Some(list) = f.get("addresses") else {
        return out;
    };
    for item in cx.list(list, "addresses", &dropped).unwrap_or(&[]) {
        address(cx, item, &mut out);
    }
    out
}

/// One `status.addresses` entry: kept when it is an `InternalIP` or `ExternalIP`.
fn address(cx: &mut Cx, item: &YamlNode, addresses: &mut Vec<IpAddr>) {
    let Some(f) = cx.fields(item, "addresses entry", None, "the entry") else {
        return;
    };
    let kind = match f.get("type") {
        Some(t) => cx.text(t, "type", "the entry"),
        None => None,
    };
    if !kind.is_some_and(|k| ADDRESS_TYPES.contains(&k.as_str())) {
        return;
    }
    let Some(value) = f.get("address") else {
        return;
    };
    let Some(text) = cx.text(value, "address", "the entry") else {
        return;
    };
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
