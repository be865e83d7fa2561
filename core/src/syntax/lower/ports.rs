//! Rule `ports` entries: protocol, port number or name, endPort.

use super::Cx;
use crate::model::{NetworkPolicyPort, PortRef, Protocol};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

const PORT_FIELDS: &[&str] = &["protocol", "port", "endPort"];

pub(super) fn port(cx: &mut Cx, node: &Node) -> Option<NetworkPolicyPort> {
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
