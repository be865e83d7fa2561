//! Pods and the pod templates of workloads, with their container ports.
//!
//! Every field read here is type-checked like the API server would: a mapping where a list
//! belongs (`ports: {containerPort: 8080}`), a list where a mapping belongs, a quoted number
//! where an integer belongs. Such a field is reported at its line with what was dropped,
//! never skipped in silence (a silently dropped `ports` makes named ports stop resolving).

use std::collections::HashSet;
use std::net::IpAddr;

use super::metadata::{labels, metadata};
use super::{Cx, Fields};
use crate::model::{ContainerPort, Pod, Protocol};
use crate::syntax::names;
use crate::syntax::yaml::Node;

/// What a pod spec (a Pod's, or a workload's template's) contributes to the endpoint.
#[derive(Default)]
struct PodSpec<'n> {
    ports: Vec<ContainerPort>,
    node: Option<String>,
    host_network: bool,
    host_network_at: Option<&'n Node>,
}

/// What a Pod's `status` says: whether it has finished, and its IPs.
#[derive(Default)]
struct PodStatus<'n> {
    /// `Succeeded` or `Failed`, with the `phase` node.
    finished: Option<(String, &'n Node)>,
    ips: Vec<IpAddr>,
    /// The `status` node, when it says nothing about IPs (no `podIP`, no `podIPs`): the
    /// pod has none yet. An IP field that could not be read has its own diagnostic.
    at: Option<&'n Node>,
}

pub(super) fn pod(cx: &mut Cx, node: &Node, obj: &Fields) -> Option<Pod> {
    let meta = metadata(cx, node, obj, "Pod", false)?;
    let labels = labels(cx, meta.labels);
    let spec = pod_spec(cx, obj.get("spec"));
    let status = pod_status(cx, obj.get("status"));
    // Which pods take part (ARCHITECTURE.md): a pod that finished has stopped its
    // containers and released its IP, which may already belong to another pod.
    if let Some((phase, at)) = &status.finished {
        cx.info(
            "finished-pod",
            at,
            format!(
                "pod `{}` has finished (phase {phase}); it takes no part in connectivity and was left out",
                meta.name
            ),
            "finished pods run no containers, and their IP may already belong to another pod",
        );
        return None;
    }
    if let Some(h) = spec.host_network_at.filter(|_| spec.host_network) {
        cx.info(
            "host-network",
            h,
            format!(
                "pod `{}` uses its node's network: policies never select it, and as a peer only ipBlocks (and cluster policies' networks and nodes peers) containing its node's address match it",
                meta.name
            ),
            "this is what most network plugins do; Kubernetes leaves host-network pods undefined",
        );
    } else if let (true, Some(at)) = (status.ips.is_empty(), status.at) {
        cx.info(
            "pod-without-ip",
            at,
            format!(
                "pod `{}` has no IP yet; it is judged by its labels, but ipBlock peers cannot match it and no node enforces anything for it",
                meta.name
            ),
            "a pod gets its IP when it is scheduled and its sandbox starts",
        );
    }
    Some(Pod {
        id: format!("{}/{}", meta.namespace, meta.name),
        namespace: meta.namespace,
        name: meta.name,
        workload: None,
        labels,
        ips: status.ips,
        ports: spec.ports,
        node: spec.node,
        host_network: spec.host_network,
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
    let template = template(cx, node, kind, &meta.name, path)?;
    let labels = match template.get("metadata") {
        Some(m) => match cx.fields(m, "template.metadata", None, "the template metadata") {
            Some(f) => labels(cx, f.get("labels")),
            None => Default::default(),
        },
        None => Default::default(),
    };
    let spec = pod_spec(cx, template.get("spec"));
    Some(Pod {
        id: format!("{}/{}/{}", meta.namespace, kind, meta.name),
        namespace: meta.namespace,
        name: meta.name,
        workload: Some(kind.to_owned()),
        labels,
        ips: Vec::new(),
        ports: spec.ports,
        node: None,
        host_network: spec.host_network,
        span: Some(cx.span(node)),
    })
}

/// The pod template at `path` (`spec.template`, ...), each step a mapping.
fn template<'n>(
    cx: &mut Cx,
    node: &'n Node,
    kind: &str,
    name: &str,
    path: &[&str],
) -> Option<Fields<'n>> {
    let mut at = cx.fields(node, kind, None, "")?;
    for (i, step) in path.iter().enumerate() {
        let Some(next) = at.get(step) else {
            cx.warning(
                "missing-template",
                node,
                format!(
                    "workload {kind} `{name}` has no `{}`; it was ignored",
                    path.join(".")
                ),
                "a workload becomes an endpoint through its pod template",
            );
            return None;
        };
        let field = path[..=i].join(".");
        at = cx.fields(next, &field, None, &format!("the workload {kind} `{name}`"))?;
    }
    Some(at)
}

/// `spec` of a Pod or of a pod template: container ports, node and host network.
fn pod_spec<'n>(cx: &mut Cx, node: Option<&'n Node>) -> PodSpec<'n> {
    let mut out = PodSpec::default();
    let Some(node) = node else {
        return out;
    };
    let dropped = "the pod spec (ports, node, hostNetwork)";
    let Some(f) = cx.fields(node, "spec", None, dropped) else {
        return out;
    };
    if let Some(containers) = f.get("containers") {
        out.ports = container_ports(cx, containers);
    }
    if let Some(n) = f.get("nodeName") {
        out.node = cx.text(n, "nodeName", "the node name");
    }
    if let Some(h) = f.get("hostNetwork") {
        out.host_network = cx.boolean(h, "hostNetwork") == Some(true);
        out.host_network_at = Some(h);
    }
    out
}

/// A Pod's `status`: phase and IPs (`podIP` and `podIPs`, deduplicated).
fn pod_status<'n>(cx: &mut Cx, node: Option<&'n Node>) -> PodStatus<'n> {
    let mut out = PodStatus::default();
    let Some(node) = node else {
        return out;
    };
    let Some(f) = cx.fields(node, "status", None, "the pod status") else {
        return out;
    };
    if f.get("podIP").is_none() && f.get("podIPs").is_none() {
        out.at = Some(node);
    }
    if let Some(phase_node) = f.get("phase") {
        if let Some(p @ ("Succeeded" | "Failed")) = cx.text(phase_node, "phase", "").as_deref() {
            out.finished = Some((p.to_owned(), phase_node));
        }
    }
    let mut candidates: Vec<&Node> = Vec::new();
    if let Some(ip) = f.get("podIP") {
        candidates.push(ip);
    }
    if let Some(list) = f.get("podIPs") {
        for item in cx.list(list, "podIPs", "the IP list").unwrap_or(&[]) {
            let entry = cx.fields(item, "podIPs entry", None, "the entry");
            candidates.extend(entry.and_then(|e| e.get("ip")));
        }
    }
    let mut seen: HashSet<IpAddr> = HashSet::new();
    for c in candidates {
        let Some(s) = cx.text(c, "ip", "the IP") else {
            continue;
        };
        match s.trim().parse::<IpAddr>() {
            Ok(ip) => {
                if seen.insert(ip) {
                    out.ips.push(ip);
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
    out
}

/// Ports of `spec.containers` (init containers' ports are not reachable, so not read).
fn container_ports(cx: &mut Cx, containers: &Node) -> Vec<ContainerPort> {
    let mut out: Vec<ContainerPort> = Vec::new();
    let mut seen: HashSet<ContainerPort> = HashSet::new();
    let Some(containers) = cx.list(containers, "containers", "the container list") else {
        return out;
    };
    for c in containers {
        let Some(f) = cx.fields(c, "containers entry", None, "the container's ports") else {
            continue;
        };
        let Some(ports) = f.get("ports") else {
            continue;
        };
        let Some(ports) = cx.list(ports, "ports", "the container's port list") else {
            continue;
        };
        for p in ports {
            if let Some(cp) = container_port(cx, p) {
                if seen.insert(cp.clone()) {
                    out.push(cp);
                }
            }
        }
    }
    out
}

/// One `ports` entry of a container: `containerPort`, `protocol`, `name`.
fn container_port(cx: &mut Cx, node: &Node) -> Option<ContainerPort> {
    let f = cx.fields(node, "ports entry", None, "the port")?;
    let Some(num_node) = f.get("containerPort") else {
        cx.warning(
            "invalid-port",
            node,
            "container port without `containerPort`; it was ignored".into(),
            "add `containerPort: <number>`",
        );
        return None;
    };
    let port = match cx.integer(num_node, "containerPort", "the port")? {
        n @ 1..=65535 => n as u16,
        n => {
            cx.warning(
                "invalid-port",
                num_node,
                format!("containerPort `{n}` is not a port number 1-65535; it was ignored"),
                "write a number such as 8080",
            );
            return None;
        }
    };
    let protocol = match f.get("protocol") {
        None => Protocol::TCP,
        Some(pn) => container_protocol(cx, pn)?,
    };
    let name = match f.get("name") {
        Some(n) => port_name(cx, n),
        None => None,
    };
    Some(ContainerPort {
        name,
        port,
        protocol,
    })
}

/// A container port's protocol: `TCP`, `UDP` or `SCTP`, upper-case as Kubernetes requires.
fn container_protocol(cx: &mut Cx, node: &Node) -> Option<Protocol> {
    let text = cx.text(node, "protocol", "the port")?;
    let Some(protocol) = Protocol::parse(&text) else {
        cx.warning(
            "unknown-protocol",
            node,
            format!("container port protocol `{text}` is unknown; the port was ignored"),
            "use TCP, UDP or SCTP",
        );
        return None;
    };
    if protocol.as_str() != text {
        cx.error(
            "unknown-protocol",
            node,
            format!("protocol `{text}` must be upper-case (Kubernetes is case-sensitive); read as {protocol}"),
            format!("write {protocol}"),
        );
    }
    Some(protocol)
}

/// A container port's `name`; an invalid name is reported and dropped (policies could never
/// name it), the port is kept.
fn port_name(cx: &mut Cx, node: &Node) -> Option<String> {
    let name = cx.text(node, "name", "the port name")?;
    if name.is_empty() {
        return None;
    }
    if let Err(e) = names::port_name(&name) {
        cx.error(
            "invalid-port",
            node,
            format!("container port name `{name}` {e}; the name was ignored"),
            "port names are at most 15 lower-case letters, digits and `-`, with at least one letter",
        );
        return None;
    }
    Some(name)
}
