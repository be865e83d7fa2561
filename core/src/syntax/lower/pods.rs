//! Pods and the pod templates of workloads, with their container ports.

use std::collections::HashSet;
use std::net::IpAddr;

use super::metadata::{labels, metadata};
use super::{Cx, Fields};
use crate::model::{ContainerPort, Pod, Protocol};
use crate::syntax::yaml::{Node, Value};

pub(super) fn pod(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Pod> {
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
                    "pod `{}` uses its node's network: policies never select it, and as a peer only ipBlocks (and cluster policies' networks and nodes peers) containing its node's address match it",
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

pub(super) fn workload(
    cx: &mut Cx,
    node: &Node,
    obj: &Fields,
    kind: &str,
    path: &[&str],
) -> Option<Pod> {
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
