//! `netpol explain`: one flow (`--port`) or a pair on every port, its verdict and the
//! reasons, from the core's evaluators.

use std::io::Write;
use std::net::IpAddr;

use miette::miette;
use netpol_core::named_ports;
use netpol_core::services;
use netpol_core::PortSpec;
use netpol_core::{Endpoint, Flow, Model, PortRef, Service, Verdict};

use crate::input::Inputs;
use crate::Failure;

/// The question asked on the command line.
pub struct Query<'a> {
    /// `--from`: id or IP.
    pub from: &'a str,
    /// `--to`: id or IP.
    pub to: &'a str,
    /// `--port`; `None` asks about the pair on every port.
    pub port: Option<&'a PortSpec>,
}

/// Resolves the query against the model, evaluates it and writes the verdict: one flow
/// with `--port`, the pair on every port without.
pub fn run(inputs: &Inputs, query: &Query, json: bool, out: &mut dyn Write) -> Result<(), Failure> {
    let model = &inputs.model;
    let mut notes = Vec::new();
    let src = resolve(model, "--from", query.from, &mut notes).map_err(Failure::Usage)?;
    let dst = resolve(model, "--to", query.to, &mut notes).map_err(Failure::Usage)?;
    let Some(spec) = query.port else {
        return run_pair(inputs, query, (src, dst), &notes, json, out);
    };
    let port =
        port_number(model, query.to, spec, (src, dst), &mut notes).map_err(Failure::Usage)?;
    let flow = Flow {
        src,
        dst,
        protocol: spec.protocol,
        port,
    };
    let verdict = netpol_core::evaluate(model, &flow);

    if json {
        let port_name = match &spec.port {
            PortRef::Name(name) => Some(name.as_str()),
            PortRef::Number(_) => None,
        };
        let value = serde_json::json!({
            "flow": {
                "from": query.from,
                "to": query.to,
                "port": port,
                "port_name": port_name,
                "protocol": flow.protocol.as_str(),
            },
            "allowed": verdict.is_allowed(),
            "egress": verdict.egress,
            "ingress": verdict.ingress,
            "egress_allowed": verdict.egress_allowed(),
            "ingress_allowed": verdict.ingress_allowed(),
            "egress_chain": verdict.egress_chain,
            "ingress_chain": verdict.ingress_chain,
            "notes": notes,
        });
        return write_json(value, inputs, out);
    }
    let text = netpol_core::render::explain(model, &flow, &verdict);
    write_text(&notes, &text, out)
}

/// The pair on every port: which rules admit which ports per direction, or why nothing
/// gets through. JSON keeps the one-flow shape (`port`, `port_name` and `protocol` are
/// `null`) and adds `ports`, the allowed ports per protocol as `netpol connectivity` prints
/// them; `egress`/`ingress` are the core's `PairDirection` (the NetworkPolicy tier),
/// `egress_chain`/`ingress_chain` its `PairChain` (every tier, with the ports each step
/// decides) and `egress_ports`/`ingress_ports` what each side lets through.
fn run_pair(
    inputs: &Inputs,
    query: &Query,
    (src, dst): (Endpoint, Endpoint),
    notes: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let model = &inputs.model;
    let verdict = netpol_core::evaluate_pair(model, src, dst);
    if json {
        let value = serde_json::json!({
            "flow": {
                "from": query.from,
                "to": query.to,
                "port": null,
                "port_name": null,
                "protocol": null,
            },
            "allowed": verdict.is_allowed(),
            "ports": verdict.ports(),
            "egress": verdict.egress,
            "ingress": verdict.ingress,
            "egress_ports": verdict.egress_ports(),
            "ingress_ports": verdict.ingress_ports(),
            "egress_chain": verdict.egress_chain,
            "ingress_chain": verdict.ingress_chain,
            "notes": notes,
        });
        return write_json(value, inputs, out);
    }
    let text = netpol_core::render::explain_pair(model, &src, &dst, &verdict);
    write_text(notes, &text, out)
}

/// A question about a Service: `--from` to the pods behind `--to-service`.
pub struct ServiceQuery<'a> {
    /// `--from`: id or IP.
    pub from: &'a str,
    /// `--to-service`: `namespace/name`.
    pub service: &'a str,
    /// `--port`: the Service's port (number or name); `None`: every port of the Service.
    pub port: Option<&'a PortSpec>,
}

/// `--to-service`: resolves the Service port to the pods behind it and the targetPort each
/// receives on (`netpol_core::services`), then explains each pod on its port. Policies see
/// the pods and the targetPort, never the Service.
pub fn run_service(
    inputs: &Inputs,
    query: &ServiceQuery,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let model = &inputs.model;
    let mut notes = Vec::new();
    let src = resolve(model, "--from", query.from, &mut notes).map_err(Failure::Usage)?;
    let service = find_service(model, query.service).map_err(Failure::Usage)?;
    let resolved: Vec<services::Resolved> = match query.port {
        Some(spec) => vec![services::resolve(model, service, spec).map_err(|e| {
            let services::ServiceError::NoSuchPort { available, .. } = &e;
            Failure::Usage(miette!(
                code = "unknown-service-port",
                help = service_ports_help(available),
                "{e}"
            ))
        })?],
        None => service
            .ports
            .iter()
            .map(|p| services::backends_at(model, service, p))
            .collect(),
    };
    if resolved.is_empty() {
        return Err(Failure::Usage(miette!(
            code = "unknown-service-port",
            help = "give the Service `spec.ports`",
            "service {} has no ports",
            service.id
        )));
    }
    let ports: Vec<ServicePortResult> = resolved
        .iter()
        .map(|r| ServicePortResult::new(model, src, r))
        .collect();
    if json {
        let value = serde_json::json!({
            "from": query.from,
            "service": service.id,
            "ports": ports.iter().map(|p| p.json(model)).collect::<Vec<_>>(),
            "notes": notes,
        });
        return write_json(value, inputs, out);
    }
    let mut text = String::new();
    for (i, port) in ports.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&port.text(model, src));
    }
    write_text(&notes, &text, out)
}

/// The Service `namespace/name`, or a usage error with suggestions.
fn find_service<'m>(model: &'m Model, id: &str) -> Result<&'m Service, miette::Report> {
    let services = &model.cluster.services;
    if let Some(i) = model.cluster.service_index(id) {
        return Ok(&services[i]);
    }
    let help = match suggestions(services.iter().map(|s| s.id.as_str()), id).as_slice() {
        [] if services.is_empty() => "the input defines no Services".to_string(),
        [] => format!(
            "Services of the input: {}",
            services
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        found => format!("did you mean {}?", found.join(" or ")),
    };
    Err(miette!(
        code = "unknown-service",
        help = help,
        "--to-service {id} names no Service of the input"
    ))
}

fn service_ports_help(available: &[String]) -> String {
    if available.is_empty() {
        "the Service has no ports".to_string()
    } else {
        format!(
            "its ports are {} (give --port as the Service port's number or name, with /UDP or /SCTP when not TCP)",
            available.join(", ")
        )
    }
}

/// One Service port's answer: each pod behind the Service with its verdict on the port it
/// receives on (`None` when the pod lacks a named targetPort).
struct ServicePortResult<'r> {
    resolved: &'r services::Resolved<'r>,
    verdicts: Vec<Option<(Flow, Verdict)>>,
}

impl<'r> ServicePortResult<'r> {
    fn new(model: &Model, src: Endpoint, resolved: &'r services::Resolved<'r>) -> Self {
        let verdicts = resolved
            .backends
            .iter()
            .map(|b| {
                b.port.map(|port| {
                    let flow = Flow {
                        src,
                        dst: Endpoint::Pod(b.pod),
                        protocol: resolved.port.protocol,
                        port,
                    };
                    (flow, netpol_core::evaluate(model, &flow))
                })
            })
            .collect();
        ServicePortResult { resolved, verdicts }
    }

    /// Pods that receive the port (those with the named targetPort), and how many of them
    /// allow the connection.
    fn counts(&self) -> (usize, usize) {
        let receiving = self.verdicts.iter().flatten();
        let allowed = receiving.clone().filter(|(_, v)| v.is_allowed()).count();
        (receiving.count(), allowed)
    }

    /// Allowed when every pod receiving the port allows it (and one does).
    fn allowed(&self) -> bool {
        let (receiving, allowed) = self.counts();
        receiving > 0 && allowed == receiving
    }

    fn heading(&self, model: &Model, src: Endpoint) -> String {
        let r = self.resolved;
        let port = format!("{}/{}", r.port.port, r.port.protocol);
        let from = netpol_core::render::endpoint_name(model, &src);
        let decision = match (self.verdicts.len(), self.counts()) {
            (0, _) => match &r.service.selector {
                None => {
                    "no pod is behind it: it has no selector (its endpoints are managed by hand)"
                        .to_string()
                }
                Some(_) => {
                    "no pod is behind it: its selector matches no endpoint of the input".to_string()
                }
            },
            (_, (0, _)) => format!(
                "no pod behind it has a {} port named {}: nothing receives it",
                r.port.protocol, r.port.target_port
            ),
            (_, (n, a)) if a == n => format!("allowed to every pod that receives it ({n})"),
            (_, (n, 0)) => format!("denied to every pod that receives it ({n})"),
            (_, (n, a)) => format!("allowed to {a} of the {n} pods that receive it"),
        };
        format!(
            "{from} -> service {} port {port}: {decision}\n",
            r.service.id
        )
    }

    fn text(&self, model: &Model, src: Endpoint) -> String {
        let r = self.resolved;
        let mut text = self.heading(model, src);
        let targets: Vec<String> = r
            .backends
            .iter()
            .map(|b| {
                let id = &model.cluster.pods[b.pod].id;
                match b.port {
                    Some(p) => format!("{id} on {p}/{}", r.port.protocol),
                    None => format!(
                        "{id} (no {} port named {}: it receives nothing)",
                        r.port.protocol, r.port.target_port
                    ),
                }
            })
            .collect();
        if !targets.is_empty() {
            text.push_str(&format!(
                "the Service sends port {} to targetPort {}: {}\n",
                r.port.port,
                r.port.target_port,
                targets.join(", ")
            ));
        }
        for (flow, verdict) in self.verdicts.iter().flatten() {
            text.push('\n');
            text.push_str(&netpol_core::render::explain(model, flow, verdict));
        }
        text
    }

    fn json(&self, model: &Model) -> serde_json::Value {
        let r = self.resolved;
        let target = match &r.port.target_port {
            PortRef::Number(n) => serde_json::json!(n),
            PortRef::Name(name) => serde_json::json!(name),
        };
        let backends: Vec<serde_json::Value> = r
            .backends
            .iter()
            .zip(&self.verdicts)
            .map(|(b, verdict)| {
                let to = &model.cluster.pods[b.pod].id;
                match verdict {
                    Some((flow, v)) => serde_json::json!({
                        "to": to, "port": flow.port, "allowed": v.is_allowed(),
                        "egress": v.egress, "ingress": v.ingress,
                    }),
                    None => serde_json::json!({
                        "to": to, "port": null, "allowed": false,
                        "reason": format!("{to} has no {} port named {}", r.port.protocol, r.port.target_port),
                    }),
                }
            })
            .collect();
        serde_json::json!({
            "port": r.port.port,
            "name": r.port.name,
            "protocol": r.port.protocol.as_str(),
            "target_port": target,
            "allowed": self.allowed(),
            "backends": backends,
        })
    }
}

fn write_json(
    mut value: serde_json::Value,
    inputs: &Inputs,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    add_paths(&mut value, inputs);
    serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn write_text(notes: &[String], text: &str, out: &mut dyn Write) -> Result<(), Failure> {
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

/// Gives every span in the serialised verdict a `path` next to its opaque `file` id, so a
/// consumer of the JSON can open the file without knowing how ids were assigned.
fn add_paths(value: &mut serde_json::Value, inputs: &Inputs) {
    match value {
        serde_json::Value::Object(map) => {
            let file = map.get("file").and_then(|f| f.as_u64());
            if let (Some(file), true) = (file, map.contains_key("line")) {
                let path = u32::try_from(file)
                    .ok()
                    .and_then(|f| inputs.source(netpol_core::FileId(f)));
                if let Some(source) = path {
                    map.insert("path".to_string(), source.name.clone().into());
                }
            }
            map.values_mut().for_each(|v| add_paths(v, inputs));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| add_paths(v, inputs)),
        _ => {}
    }
}

/// An endpoint id names a pod or workload; anything that parses as an IP is an address.
///
/// An IP that belongs to a pod stays an address: the core evaluates addresses by ipBlock
/// peers only, which is exactly what traffic with that source IP from outside the cluster
/// would get. The note says which pod owns it, so the user can ask with the id instead.
fn resolve(
    model: &Model,
    flag: &str,
    text: &str,
    notes: &mut Vec<String>,
) -> Result<Endpoint, miette::Report> {
    let pods = &model.cluster.pods;
    if let Some(index) = model.cluster.pod_index(text) {
        return Ok(Endpoint::Pod(index));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let owners: Vec<&str> = pods
            .iter()
            .filter(|p| p.ips.contains(&ip))
            .map(|p| p.id.as_str())
            .collect();
        if !owners.is_empty() {
            notes.push(format!(
                "{ip} is the IP of {}; it is evaluated as an address (ipBlock rules only), \
                 pass {flag} {} for the pod's labels and namespace to count",
                owners.join(", "),
                owners[0]
            ));
        }
        return Ok(Endpoint::Address(ip));
    }
    let help = match suggestions(pods.iter().map(|p| p.id.as_str()), text).as_slice() {
        [] if pods.is_empty() => "the input defines no pods or workloads".to_string(),
        [] => "use an endpoint id (namespace/name, or namespace/Kind/name for a workload) \
               or an IP address; `netpol matrix` lists the ids"
            .to_string(),
        found => format!("did you mean {}?", found.join(" or ")),
    };
    Err(miette!(
        code = "unknown-endpoint",
        help = help,
        "{flag} {text} is neither an endpoint of the input nor an IP address"
    ))
}

/// The port number to ask for: the spec's number, or its name resolved against the
/// destination pod's container ports, as Kubernetes resolves named ports.
fn port_number(
    model: &Model,
    to: &str,
    spec: &PortSpec,
    (src, dst): (Endpoint, Endpoint),
    notes: &mut Vec<String>,
) -> Result<u16, miette::Report> {
    let name = match &spec.port {
        PortRef::Number(n) => return Ok(*n),
        PortRef::Name(name) => name,
    };
    let protocol = spec.protocol;
    let pod = match dst {
        Endpoint::Pod(i) => model.cluster.pods.get(i),
        Endpoint::Address(_) => None,
    };
    let Some(pod) = pod else {
        return Err(miette!(
            code = "unresolvable-port",
            help = "named ports belong to pods; give a port number for an address",
            "port name {name} cannot be resolved for the address {to}"
        ));
    };
    let numbers = named_ports(pod, name, protocol);
    // The core picks the number that decides like the matrix (the first allowed one).
    match netpol_core::probe_port(model, src, dst, protocol, &spec.port) {
        Some(port) if numbers.len() == 1 => {
            notes.push(format!(
                "port {name}/{protocol} is {port}/{protocol} on {}",
                pod.id
            ));
            Ok(port)
        }
        Some(port) => {
            let all: Vec<String> = numbers.iter().map(|n| format!("{n}/{protocol}")).collect();
            notes.push(format!(
                "port {name}/{protocol} is {} on {}: the name stands for each, and the flow is allowed when one is; explaining {port}/{protocol}",
                all.join(" and "),
                pod.id
            ));
            Ok(port)
        }
        None => {
            let named: Vec<String> = pod
                .ports
                .iter()
                .filter_map(|p| {
                    p.name
                        .as_ref()
                        .map(|n| format!("{n} ({}/{})", p.port, p.protocol))
                })
                .collect();
            let help = if pod.host_network {
                format!(
                    "{} is on the host network, where port names never resolve; give a port number",
                    pod.id
                )
            } else if named.is_empty() {
                format!("{} has no named ports; give a port number", pod.id)
            } else {
                format!("its named ports are {}", named.join(", "))
            };
            Err(miette!(
                code = "unresolvable-port",
                help = help,
                "{} has no {protocol} port named {name}",
                pod.id
            ))
        }
    }
}

/// Up to three ids close to `wanted`: same name in another namespace first, then small
/// edit distances.
fn suggestions<'a>(ids: impl Iterator<Item = &'a str>, wanted: &str) -> Vec<String> {
    let wanted_name = wanted.rsplit('/').next().unwrap_or(wanted);
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = ids
        .filter_map(|id| {
            let name = id.rsplit('/').next().unwrap_or(id);
            if name == wanted_name {
                return Some((0, id));
            }
            let d = edit_distance(id, wanted);
            (d <= limit).then_some((d, id))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_same_name_then_close_ids() {
        let ids = ["default/internal", "default/mysql", "kube-system/coredns"];
        assert_eq!(
            suggestions(ids.iter().copied(), "internal"),
            ["default/internal"]
        );
        assert_eq!(
            suggestions(ids.iter().copied(), "default/mysq"),
            ["default/mysql"]
        );
        assert!(suggestions(ids.iter().copied(), "zzzzzzzz").is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
