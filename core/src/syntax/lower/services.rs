//! The Service: its selector and ports (`port`, `targetPort` by number or name), with the
//! API server's defaulting (`protocol` TCP, `targetPort` = `port`).

use super::metadata::{label_map, metadata};
use super::{Cx, Fields};
use crate::model::{PortRef, Protocol, Service, ServicePort};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

/// Fields of a `spec.ports` entry; a typo such as `targetport` would silently send traffic
/// to `port`, so unknown ones are warned about.
const SERVICE_PORT_FIELDS: &[&str] = &[
    "name",
    "protocol",
    "port",
    "targetPort",
    "nodePort",
    "appProtocol",
];

pub(super) fn service(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Service> {
    let meta = metadata(cx, node, obj, "Service", false)?;
    let mut selector = None;
    let mut ports = Vec::new();
    if let Some(spec_node) = obj.get("spec") {
        let dropped = format!("the selector and ports of Service `{}`", meta.name);
        if let Some(spec) = cx.fields(spec_node, "spec", None, &dropped) {
            selector = spec
                .get("selector")
                .map(|s| label_map(cx, s, "selector"))
                .filter(|s| !s.is_empty());
            if let Some(list) = spec.get("ports") {
                let items = cx.list(list, "ports", "the Service's ports").unwrap_or(&[]);
                ports = items.iter().filter_map(|p| service_port(cx, p)).collect();
            }
        }
    }
    Some(Service {
        id: format!("{}/{}", meta.namespace, meta.name),
        namespace: meta.namespace,
        name: meta.name,
        selector,
        ports,
        span: Some(cx.span(node)),
    })
}

/// One `spec.ports` entry; `None` (reported) when `port` is missing or invalid.
fn service_port(cx: &mut Cx, node: &Node) -> Option<ServicePort> {
    let drop = "the Service port";
    let f = cx.fields(node, "ports entry", Some(SERVICE_PORT_FIELDS), drop)?;
    let Some(port_node) = f.get("port") else {
        cx.error(
            "invalid-port",
            node,
            "a Service port entry without `port`; it was dropped".into(),
            "add `port: <number>`, the port clients connect to",
        );
        return None;
    };
    let port = port_number(cx, port_node, "port")?;
    let protocol = match f.get("protocol") {
        None => Protocol::TCP,
        Some(pn) => protocol(cx, pn)?,
    };
    let target_port = match f.get("targetPort") {
        None => PortRef::Number(port),
        Some(t) => target_port(cx, t)?,
    };
    let name = match f.get("name") {
        Some(n) => cx.text(n, "name", "").filter(|s| !s.is_empty()),
        None => None,
    };
    Some(ServicePort {
        name,
        protocol,
        port,
        target_port,
        span: cx.span(node),
    })
}

fn port_number(cx: &mut Cx, node: &Node, field: &str) -> Option<u16> {
    match cx.integer(node, field, "the Service port")? {
        n @ 1..=65535 => Some(n as u16),
        n => {
            cx.error(
                "invalid-port",
                node,
                format!("{field} {n} is out of range; the Service port was dropped"),
                "ports are 1-65535",
            );
            None
        }
    }
}

fn protocol(cx: &mut Cx, node: &Node) -> Option<Protocol> {
    let text = cx.text(node, "protocol", "the Service port")?;
    match Protocol::parse(&text) {
        Some(p) if p.as_str() == text => Some(p),
        Some(p) => {
            cx.error(
                "unknown-protocol",
                node,
                format!("protocol `{text}` must be upper-case (Kubernetes is case-sensitive); read as {p}"),
                format!("write {p}"),
            );
            Some(p)
        }
        None => {
            cx.error(
                "unknown-protocol",
                node,
                format!("unknown protocol `{text}`; the Service port was dropped"),
                "use TCP, UDP or SCTP",
            );
            None
        }
    }
}

/// `targetPort`: a number, or the name of a container port on the pods behind the Service.
fn target_port(cx: &mut Cx, node: &Node) -> Option<PortRef> {
    let Value::Scalar { text, plain } = &node.value else {
        cx.type_error(
            node,
            "targetPort",
            "a number or a port name",
            "the Service port",
        );
        return None;
    };
    if *plain
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
    {
        return port_number(cx, node, "targetPort").map(PortRef::Number);
    }
    if let Err(e) = names::port_name(text) {
        let help = if !plain && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            format!("write {text} without quotes: a quoted targetPort is a port name")
        } else {
            "port names are at most 15 lower-case letters, digits and `-`, with at least one letter"
                .into()
        };
        cx.error(
            "invalid-port",
            node,
            format!("targetPort name `{text}` {e}; the Service port was dropped"),
            help,
        );
        return None;
    }
    Some(PortRef::Name(text.clone()))
}
