//! `netpol exposure`: per endpoint and direction, the peers the policies' selectors admit
//! beyond the endpoints of the input (`netpol_core::exposure`), as text or JSON.

use std::io::Write;

use miette::miette;
use netpol_core::exposure::{
    self, DirectionExposure, EndpointExposure, Exception, Exposure, Namespaces, Peer,
};
use netpol_core::render;
use netpol_core::ClusterRuleRef;
use netpol_core::NamedPort;
use netpol_core::{AllowedPorts, LabelSelector, Model, PortSet};
use serde_json::{json, Value};

use crate::input::Inputs;
use crate::Failure;

/// The version of the JSON schema (documented in `cli/README.md`); fields are only added.
const JSON_VERSION: u32 = 1;

/// At most this many ids in a JSON `matches_now` list (`matches_now_count` has the
/// number): a side no policy isolates matches every endpoint, and listing them all for
/// each endpoint would make the output quadratic in the cluster size.
const MAX_MATCHES_LISTED: usize = 100;

/// Computes the exposure of `endpoints` (every endpoint when empty) and writes it, one
/// endpoint at a time.
pub fn run(
    inputs: &Inputs,
    endpoints: &[String],
    json_output: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let model = &inputs.model;
    let all: Box<dyn Iterator<Item = EndpointExposure>> =
        match select(model, endpoints).map_err(Failure::Usage)? {
            None => Box::new(exposure::each(model)),
            Some(wanted) => Box::new(
                wanted
                    .into_iter()
                    .filter_map(|i| exposure::exposure(model, i)),
            ),
        };
    if json_output {
        writeln!(
            out,
            "{{\"version\": {JSON_VERSION}, \"assumption\": {},",
            json!(render::EXPOSURE_ASSUMPTION)
        )?;
        write!(out, " \"endpoints\": [")?;
        for (i, e) in all.enumerate() {
            let line =
                serde_json::to_string(&endpoint_json(inputs, &e)).map_err(std::io::Error::from)?;
            write!(out, "{}{line}", if i == 0 { "\n  " } else { ",\n  " })?;
        }
        writeln!(out, "]}}")?;
        return Ok(());
    }
    writeln!(out, "exposure: {}", render::EXPOSURE_ASSUMPTION)?;
    for e in all {
        writeln!(out)?;
        out.write_all(render::exposure(model, &e).as_bytes())?;
    }
    Ok(())
}

/// The pod indices asked for (`None`: every endpoint); an unknown id is a usage error, as
/// in `explain`.
fn select(model: &Model, ids: &[String]) -> Result<Option<Vec<usize>>, miette::Report> {
    if ids.is_empty() {
        return Ok(None);
    }
    ids.iter()
        .map(|id| {
            model.cluster.pod_index(id).ok_or_else(|| {
                miette!(
                    code = "unknown-endpoint",
                    help = "use an endpoint id (namespace/name, or namespace/Kind/name for a workload); `netpol matrix` lists them",
                    "--endpoint {id} is not an endpoint of the input"
                )
            })
        })
        .collect::<Result<Vec<usize>, _>>()
        .map(Some)
}

fn endpoint_json(inputs: &Inputs, e: &EndpointExposure) -> Value {
    let model = &inputs.model;
    json!({
        "id": model.cluster.pods[e.endpoint].id,
        "ingress": direction_json(inputs, &e.ingress),
        "egress": direction_json(inputs, &e.egress),
    })
}

fn direction_json(inputs: &Inputs, side: &DirectionExposure) -> Value {
    json!({
        "isolated_by": side.isolated_by.iter().map(render::policy_name).collect::<Vec<_>>(),
        "cluster_policies": side.cluster_policies.iter().map(|p| json!({
            "tier": format!("{:?}", p.tier),
            "kind": p.kind.as_str(),
            "name": p.name,
            "priority": p.priority,
        })).collect::<Vec<_>>(),
        "exposures": side.exposures.iter().map(|x| exposure_json(inputs, x)).collect::<Vec<_>>(),
    })
}

/// A cluster rule: `{"rule": "[Admin] ClusterNetworkPolicy ...: Deny, rule ...", "span"}`.
fn cluster_rule_json(inputs: &Inputs, rule: &ClusterRuleRef) -> Value {
    json!({
        "rule": render::tier_rule(rule),
        "span": crate::lint::span_json(inputs, &rule.span),
    })
}

/// An exception: who, on which ports, the rule deciding first, and what passes before it.
fn exception_json(inputs: &Inputs, x: &Exception) -> Value {
    let model = &inputs.model;
    json!({
        "peer": peer_json(&x.peer),
        "description": render::exposure_peer(&x.peer),
        "ports": ports_json(&x.ports),
        "named_ports": named_json(&x.named),
        "rule": cluster_rule_json(inputs, &x.rule),
        "unless": x.unless.iter().map(|u| exception_json(inputs, u)).collect::<Vec<_>>(),
        "matches_now": x.matches_now.iter().take(MAX_MATCHES_LISTED).map(|i| model.cluster.pods[*i].id.clone()).collect::<Vec<_>>(),
        "matches_now_count": x.matches_now.len(),
    })
}

fn exposure_json(inputs: &Inputs, x: &Exposure) -> Value {
    let model = &inputs.model;
    let rules: Vec<Value> = x
        .rules
        .iter()
        .map(|r| {
            json!({
                "rule": render::rule_name(r),
                "span": crate::lint::span_json(inputs, &r.span),
            })
        })
        .collect();
    let peer_side = x.peer_side.as_ref().map(|side| {
        json!({
            "isolated_by": side.isolated_by.iter().map(render::policy_name).collect::<Vec<_>>(),
            "allows": ports_json(&side.allows),
            "named_ports": named_json(&side.named),
        })
    });
    json!({
        "peer": peer_json(&x.peer),
        "description": render::exposure_peer(&x.peer),
        "ports": ports_json(&x.ports),
        "named_ports": named_json(&x.named),
        "rules": rules,
        "cluster_rules": x.cluster_rules.iter().map(|r| cluster_rule_json(inputs, r)).collect::<Vec<_>>(),
        "except": x.except.iter().map(|e| exception_json(inputs, e)).collect::<Vec<_>>(),
        "matches_now": x.matches_now.iter().take(MAX_MATCHES_LISTED).map(|i| model.cluster.pods[*i].id.clone()).collect::<Vec<_>>(),
        "matches_now_count": x.matches_now.len(),
        "peer_side": peer_side,
    })
}

/// `{"kind": "pods", "namespace": "prod"}` (or `"namespace_selector"`),
/// `"pod_selector"`; `{"kind": "addresses", "cidr", "except"}`; `{"kind": "any-address"}`;
/// `{"kind": "nodes", "node_selector"}`; `{"kind": "domain-names", "names"}`.
fn peer_json(peer: &Peer) -> Value {
    match peer {
        Peer::AnyAddress => json!({"kind": "any-address"}),
        Peer::Addresses(block) => json!({
            "kind": "addresses",
            "cidr": block.cidr.to_string(),
            "except": block.except.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        }),
        Peer::Nodes(selector) => json!({"kind": "nodes", "node_selector": selector_json(selector)}),
        Peer::DomainNames(names) => json!({"kind": "domain-names", "names": names}),
        Peer::Pods { namespaces, pods } => {
            let mut v = json!({"kind": "pods", "pod_selector": selector_json(pods)});
            match namespaces {
                Namespaces::Named(name) => v["namespace"] = json!(name),
                Namespaces::Matching(sel) => v["namespace_selector"] = selector_json(sel),
            }
            v
        }
    }
}

/// A label selector in the API's shape.
fn selector_json(selector: &LabelSelector) -> Value {
    json!({
        "matchLabels": selector.match_labels,
        "matchExpressions": selector.match_expressions.iter().map(|r| json!({
            "key": r.key,
            "operator": format!("{:?}", r.operator),
            "values": r.values,
        })).collect::<Vec<_>>(),
    })
}

/// `{"tcp": [[first, last]], "udp": [...], "sctp": [...]}`, as `netpol connectivity`.
fn ports_json(ports: &AllowedPorts) -> Value {
    let ranges = |set: &PortSet| {
        set.ranges
            .iter()
            .map(|(a, b)| json!([a, b]))
            .collect::<Vec<_>>()
    };
    json!({"tcp": ranges(&ports.tcp), "udp": ranges(&ports.udp), "sctp": ranges(&ports.sctp)})
}

fn named_json(named: &[NamedPort]) -> Value {
    json!(named
        .iter()
        .map(|n| json!({"name": n.name, "protocol": n.protocol.as_str()}))
        .collect::<Vec<_>>())
}
