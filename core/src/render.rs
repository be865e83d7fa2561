//! Plain-text rendering of verdicts, shared by the CLI and the playground so both say exactly
//! the same thing. Verdict words are fixed: "allowed", "denied", "not isolated".
//!
//! The text is a function of the model, the flow and the verdict only (no colours, no widths),
//! so snapshots agree natively and in wasm. Front-ends add styling around it.

mod tiers;

use std::fmt::Write as _;

use crate::chain::{PairChain, TierChain};
use crate::cluster_policy::RuleAction;
use crate::exposure::{
    DirectionExposure, EndpointExposure, Exception, Exposure, Namespaces, Peer, PeerSide,
};
use crate::model::{Endpoint, Flow, LabelSelector, Model, Operator, PolicyType, Protocol};
use crate::pair::{NamedPort, PairDirection, PairMissReason, PairVerdict};
use crate::ports::AllowedPorts;
use crate::verdict::{DirectionVerdict, MissReason, PeerMiss, PolicyRef, RuleRef, Verdict};

/// Multi-line explanation of `verdict` for `flow`, in the fixed verdict words.
///
/// ```text
/// dev/tool -> prod/web on 8080/TCP: denied
/// egress from dev/tool: not isolated
/// ingress to prod/web: denied
///   isolated by prod/api-only
///   no rule admits the flow; closest misses first:
///   - prod/api-only spec.ingress[0] (line 12): namespace dev is not selected by namespaceSelector
/// ```
pub fn explain(model: &Model, flow: &Flow, verdict: &Verdict) -> String {
    let src = endpoint_name(model, &flow.src);
    let dst = endpoint_name(model, &flow.dst);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{src} -> {dst} on {}/{}: {}",
        flow.port,
        flow.protocol,
        if verdict.is_allowed() {
            "allowed"
        } else {
            "denied"
        }
    );
    let ctx = Context { model, flow };
    ctx.side(
        &mut out,
        PolicyType::Egress,
        &format!("egress from {src}"),
        &flow.src,
        (&verdict.egress, &verdict.egress_chain),
    );
    ctx.side(
        &mut out,
        PolicyType::Ingress,
        &format!("ingress to {dst}"),
        &flow.dst,
        (&verdict.ingress, &verdict.ingress_chain),
    );
    out
}

/// How an endpoint is named in text: the pod id, the address, or a marker for an index
/// that is not in the cluster.
pub fn endpoint_name(model: &Model, endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Pod(i) => match model.cluster.pods.get(*i) {
            Some(pod) => pod.id.clone(),
            None => format!("unknown endpoint #{i}"),
        },
        Endpoint::Address(ip) => ip.to_string(),
    }
}

pub use tiers::{chain_summary, cluster_policy_name, cluster_rule_name, tier_rule};

/// `namespace/name`.
pub fn policy_name(policy: &PolicyRef) -> String {
    format!("{}/{}", policy.namespace, policy.name)
}

/// `namespace/name spec.ingress[1] (line 14)`; the line is left out when unknown.
pub fn rule_name(rule: &RuleRef) -> String {
    let list = match rule.direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    };
    let mut s = format!("{} spec.{list}[{}]", policy_name(&rule.policy), rule.index);
    if rule.span.line > 0 {
        let _ = write!(s, " (line {})", rule.span.line);
    }
    s
}

struct Context<'a> {
    model: &'a Model,
    flow: &'a Flow,
}

impl Context<'_> {
    /// One side: the NetworkPolicy verdict alone when no cluster policy took part (the
    /// text it always was), else the tier chain with the NetworkPolicy lines inside it.
    fn side(
        &self,
        out: &mut String,
        direction: PolicyType,
        title: &str,
        subject: &Endpoint,
        (verdict, chain): (&DirectionVerdict, &TierChain),
    ) {
        if !chain.has_cluster_policies() && chain.unknown.is_empty() {
            return self.direction(out, direction, title, subject, verdict);
        }
        let word = if chain.is_allowed() {
            "allowed"
        } else {
            "denied"
        };
        let _ = writeln!(out, "{title}: {word}");
        tiers::write_chain(out, chain, &mut |out, indent| {
            self.details(out, direction, subject, verdict, indent)
        });
    }

    fn direction(
        &self,
        out: &mut String,
        direction: PolicyType,
        title: &str,
        subject: &Endpoint,
        verdict: &DirectionVerdict,
    ) {
        match verdict {
            DirectionVerdict::NotIsolated => {
                let why = not_isolated_why(self.model, subject);
                let _ = writeln!(out, "{title}: not isolated{why}");
            }
            DirectionVerdict::Allowed { .. } => {
                let _ = writeln!(out, "{title}: allowed");
            }
            DirectionVerdict::Denied { .. } => {
                let _ = writeln!(out, "{title}: denied");
            }
        }
        self.details(out, direction, subject, verdict, "  ");
    }

    /// The lines under a NetworkPolicy verdict, each starting with `indent`.
    fn details(
        &self,
        out: &mut String,
        direction: PolicyType,
        subject: &Endpoint,
        verdict: &DirectionVerdict,
        indent: &str,
    ) {
        // The far end of the flow, as seen from the subject's rules.
        let peer = match direction {
            PolicyType::Egress => &self.flow.dst,
            PolicyType::Ingress => &self.flow.src,
        };
        match verdict {
            DirectionVerdict::NotIsolated => {}
            DirectionVerdict::Allowed { isolated_by, by } => {
                let _ = writeln!(out, "{indent}isolated by {}", policy_list(isolated_by));
                for rule in by {
                    let _ = writeln!(out, "{indent}allowed by {}", rule_name(rule));
                }
            }
            DirectionVerdict::Denied {
                isolated_by,
                misses,
            } => {
                let head = DeniedHead {
                    subject,
                    direction,
                    isolated_by,
                    has_misses: !misses.is_empty(),
                };
                if !head.write(out, indent, self.model, "the flow") {
                    return;
                }
                for miss in misses {
                    let _ = writeln!(
                        out,
                        "{indent}- {}: {}",
                        rule_name(&miss.rule),
                        self.reason(direction, peer, &miss.reason)
                    );
                }
            }
        }
    }

    fn reason(&self, direction: PolicyType, peer: &Endpoint, reason: &MissReason) -> String {
        let port = format!("{}/{}", self.flow.port, self.flow.protocol);
        match reason {
            MissReason::Port { .. } => format!("peer matched but port {port} is not in ports"),
            MissReason::NamedPortNotOnPod { name } => format!(
                "peer matched but {} has no {} container port named {name}",
                endpoint_name(self.model, &self.flow.dst),
                self.flow.protocol
            ),
            MissReason::Peers(peers) => peers_text(self.model, direction, peer, peers),
            MissReason::PeersAndPort { peers, .. } => format!(
                "port {port} is not in ports, and {}",
                peers_text(self.model, direction, peer, peers)
            ),
        }
    }
}

/// Why a side is not isolated: outside the cluster, on the host network (policies never
/// select such a pod), or no policy selects it.
fn not_isolated_why(model: &Model, subject: &Endpoint) -> &'static str {
    match subject {
        Endpoint::Address(_) => " (outside the cluster)",
        Endpoint::Pod(i) if model.cluster.pods.get(*i).is_some_and(|p| p.host_network) => {
            " (a host-network pod: policies never select it)"
        }
        Endpoint::Pod(_) => " (no policy selects it for this direction)",
    }
}

/// Why no peer of a rule matched `peer`: one reason, or each `from[i]`/`to[i]` in turn.
fn peers_text(model: &Model, direction: PolicyType, peer: &Endpoint, peers: &[PeerMiss]) -> String {
    let list = match direction {
        PolicyType::Ingress => "from",
        PolicyType::Egress => "to",
    };
    match peers {
        [one] => peer_text(model, peer, one),
        _ => {
            let parts: Vec<String> = peers
                .iter()
                .enumerate()
                .map(|(i, miss)| format!("{list}[{i}]: {}", peer_text(model, peer, miss)))
                .collect();
            format!("no peer matched ({})", parts.join("; "))
        }
    }
}

/// Why one peer entry did not match `peer`, naming the labels, IPs or namespace at fault.
fn peer_text(model: &Model, peer: &Endpoint, miss: &PeerMiss) -> String {
    let name = endpoint_name(model, peer);
    let pod = match peer {
        Endpoint::Pod(i) => model.cluster.pods.get(*i),
        Endpoint::Address(_) => None,
    };
    let ips = || {
        let ips: Vec<String> = pod.map_or_else(Vec::new, |p| {
            p.ips.iter().map(|ip| ip.to_string()).collect()
        });
        ips.join(", ")
    };
    match miss {
        PeerMiss::SelectorVsAddress => {
            format!("{name} is outside the cluster, and pod or namespace selectors only match pods")
        }
        PeerMiss::NotInPolicyNamespace {
            policy_namespace,
            pod_namespace,
        } => format!(
            "{name} is in namespace {pod_namespace}, but a peer without namespaceSelector only matches namespace {policy_namespace}"
        ),
        PeerMiss::NamespaceSelector { namespace } => {
            format!("namespace {namespace} is not selected by namespaceSelector")
        }
        PeerMiss::PodSelector => {
            let labels = pod.map_or_else(String::new, |p| {
                p.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            if labels.is_empty() {
                format!("podSelector does not match {name}, which has no labels")
            } else {
                format!("podSelector does not match labels {labels}")
            }
        }
        PeerMiss::OutsideCidr { cidr } => match peer {
            Endpoint::Address(ip) => format!("{ip} is outside {cidr}"),
            Endpoint::Pod(_) => format!("{name} ({}) is outside {cidr}", ips()),
        },
        PeerMiss::Excepted { except } => match peer {
            Endpoint::Address(ip) => format!("{ip} is inside except {except}"),
            Endpoint::Pod(_) => {
                let inside = pod
                    .and_then(|p| p.ips.iter().find(|ip| except.contains(**ip)))
                    .map_or_else(ips, |ip| ip.to_string());
                format!("{name} ({inside}) is inside except {except}")
            }
        },
        PeerMiss::NoIp => format!("{name} has no known IP, so an ipBlock cannot match it"),
        PeerMiss::HostNetwork => format!(
            "{name} is on the host network, so a pod or namespace selector cannot match it (only an ipBlock with its node's address can)"
        ),
    }
}

/// Multi-line explanation of a pair on every port ([`crate::evaluate_pair`]), in the
/// fixed verdict words: each direction says which rules admit which ports, or why no rule
/// admits any; never a single port picked to stand for the rest.
///
/// ```text
/// dev/tool -> prod/db on any port: denied on every port
/// egress from dev/tool: not isolated (no policy selects it for this direction)
/// ingress to prod/db: denied on every port
///   isolated by prod/db-ingress
///   no rule admits any port; closest misses first:
///   - prod/db-ingress spec.ingress[0] (line 9): podSelector does not match labels app=tool
/// ```
pub fn explain_pair(
    model: &Model,
    src: &Endpoint,
    dst: &Endpoint,
    verdict: &PairVerdict,
) -> String {
    let src_name = endpoint_name(model, src);
    let dst_name = endpoint_name(model, dst);
    let mut out = String::new();
    let ports = verdict.ports();
    let decision = if !ports.is_empty() {
        format!("allowed on {}", ports_text(&ports))
    } else if verdict.is_disjoint() {
        format!(
            "denied on every port: egress allows only {}, ingress allows only {}",
            ports_text(&verdict.egress_ports()),
            ports_text(&verdict.ingress_ports())
        )
    } else {
        "denied on every port".to_string()
    };
    let _ = writeln!(out, "{src_name} -> {dst_name} on any port: {decision}");
    let pair = PairContext { model, src, dst };
    pair.side(
        &mut out,
        PolicyType::Egress,
        &format!("egress from {src_name}"),
        (&verdict.egress, &verdict.egress_chain),
    );
    pair.side(
        &mut out,
        PolicyType::Ingress,
        &format!("ingress to {dst_name}"),
        (&verdict.ingress, &verdict.ingress_chain),
    );
    out
}

/// `all ports`, `nothing`, or `TCP 53,3306; UDP 53` (the words `netpol connectivity` uses).
pub fn ports_text(ports: &AllowedPorts) -> String {
    if *ports == AllowedPorts::all() {
        return "all ports".to_string();
    }
    if ports.is_empty() {
        return "nothing".to_string();
    }
    let parts: Vec<String> = Protocol::ALL
        .iter()
        .filter(|p| !ports.get(**p).is_empty())
        .map(|p| format!("{p} {}", ports.get(*p)))
        .collect();
    parts.join("; ")
}

struct PairContext<'a> {
    model: &'a Model,
    src: &'a Endpoint,
    dst: &'a Endpoint,
}

impl PairContext<'_> {
    /// One side: the NetworkPolicy view alone when no cluster policy took part, else the
    /// tier chain with the ports each step decides.
    fn side(
        &self,
        out: &mut String,
        direction: PolicyType,
        title: &str,
        (verdict, chain): (&PairDirection, &PairChain),
    ) {
        if !chain.has_cluster_policies() && chain.unknown.is_empty() {
            return self.direction(out, direction, title, verdict);
        }
        let ports = chain.ports();
        if ports.is_empty() {
            let _ = writeln!(out, "{title}: denied on every port");
        } else {
            let _ = writeln!(out, "{title}: allowed on {}", ports_text(&ports));
        }
        tiers::write_pair_chain(out, chain, &mut |out, indent| {
            self.details(out, direction, verdict, indent)
        });
    }

    fn direction(
        &self,
        out: &mut String,
        direction: PolicyType,
        title: &str,
        verdict: &PairDirection,
    ) {
        let subject = match direction {
            PolicyType::Egress => self.src,
            PolicyType::Ingress => self.dst,
        };
        match verdict {
            PairDirection::NotIsolated => {
                let why = not_isolated_why(self.model, subject);
                let _ = writeln!(out, "{title}: not isolated{why}");
            }
            PairDirection::Allowed { .. } => {
                let _ = writeln!(out, "{title}: allowed on {}", ports_text(&verdict.ports()));
            }
            PairDirection::Denied { .. } => {
                let _ = writeln!(out, "{title}: denied on every port");
            }
        }
        self.details(out, direction, verdict, "  ");
    }

    /// The lines under a NetworkPolicy view of a pair, each starting with `indent`.
    fn details(
        &self,
        out: &mut String,
        direction: PolicyType,
        verdict: &PairDirection,
        indent: &str,
    ) {
        let (subject, peer) = match direction {
            PolicyType::Egress => (self.src, self.dst),
            PolicyType::Ingress => (self.dst, self.src),
        };
        match verdict {
            PairDirection::NotIsolated => {}
            PairDirection::Allowed { isolated_by, by } => {
                let _ = writeln!(out, "{indent}isolated by {}", policy_list(isolated_by));
                for rule in by {
                    let _ = writeln!(
                        out,
                        "{indent}allowed by {}: {}",
                        rule_name(&rule.rule),
                        ports_text(&rule.ports)
                    );
                }
            }
            PairDirection::Denied {
                isolated_by,
                misses,
            } => {
                let head = DeniedHead {
                    subject,
                    direction,
                    isolated_by,
                    has_misses: !misses.is_empty(),
                };
                if !head.write(out, indent, self.model, "any port") {
                    return;
                }
                for miss in misses {
                    let _ = writeln!(
                        out,
                        "{indent}- {}: {}",
                        rule_name(&miss.rule),
                        self.reason(direction, peer, &miss.reason)
                    );
                }
            }
        }
    }

    fn reason(&self, direction: PolicyType, peer: &Endpoint, reason: &PairMissReason) -> String {
        match reason {
            PairMissReason::Peers(peers) => peers_text(self.model, direction, peer, peers),
            PairMissReason::NoPorts(names) => format!("peer matched but {}", self.no_ports(names)),
            PairMissReason::PeersAndNoPorts { peers, names } => format!(
                "{}, and {}",
                self.no_ports(names),
                peers_text(self.model, direction, peer, peers)
            ),
        }
    }

    /// Why named ports resolve to nothing on the destination.
    fn no_ports(&self, names: &[NamedPort]) -> String {
        let list: Vec<String> = names
            .iter()
            .map(|n| format!("{}/{}", n.name, n.protocol))
            .collect();
        match self.dst {
            Endpoint::Address(_) => format!(
                "named port {} never resolves on an address outside the cluster",
                list.join(", ")
            ),
            Endpoint::Pod(_) => format!(
                "{} has no container port named {}",
                endpoint_name(self.model, self.dst),
                list.join(" or ")
            ),
        }
    }
}

/// The head of a denied side, shared by the flow and the pair renderers: an endpoint not
/// in the cluster, else who isolates it and, without rules in that direction, the
/// default deny.
struct DeniedHead<'a> {
    subject: &'a Endpoint,
    direction: PolicyType,
    isolated_by: &'a [PolicyRef],
    has_misses: bool,
}

impl DeniedHead<'_> {
    /// Writes the head; `true` when the closest misses are to follow (after "no rule
    /// admits `what`").
    fn write(&self, out: &mut String, indent: &str, model: &Model, what: &str) -> bool {
        if self.isolated_by.is_empty() {
            let name = endpoint_name(model, self.subject);
            let _ = writeln!(out, "{indent}{name} is not in the cluster");
            return false;
        }
        let _ = writeln!(out, "{indent}isolated by {}", policy_list(self.isolated_by));
        if !self.has_misses {
            let list = match self.direction {
                PolicyType::Ingress => "ingress",
                PolicyType::Egress => "egress",
            };
            let _ = writeln!(out, "{indent}no {list} rules: default deny");
            return false;
        }
        let _ = writeln!(out, "{indent}no rule admits {what}; closest misses first:");
        true
    }
}

fn policy_list(policies: &[PolicyRef]) -> String {
    policies
        .iter()
        .map(policy_name)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Exposure

/// The assumption every exposure rests on, said once above a listing.
pub const EXPOSURE_ASSUMPTION: &str = "who could connect to each endpoint, or be connected to from it, if pods (or addresses) the policies' peers describe existed: exact about the endpoint's own side; the other side's policies are assumed to allow it unless they are named";

/// A peer description in words: `any pod in any namespace`, `pods labelled app=web in
/// namespace prod`, `any pod in namespaces labelled team=a`, `addresses in 10.0.0.0/8
/// except 10.1.0.0/16`, `any address`.
pub fn exposure_peer(peer: &Peer) -> String {
    match peer {
        Peer::AnyAddress => "any address".to_string(),
        Peer::Nodes(selector) if selector.is_empty() => "the addresses of any node".to_string(),
        Peer::Nodes(selector) => format!(
            "the addresses of nodes labelled {}",
            selector_words(selector)
        ),
        Peer::DomainNames(names) => format!(
            "the addresses {} resolve to (not known from manifests)",
            names.join(", ")
        ),
        Peer::Addresses(block) => {
            let mut s = format!("addresses in {}", block.cidr);
            if !block.except.is_empty() {
                let holes: Vec<String> = block.except.iter().map(|e| e.to_string()).collect();
                let _ = write!(s, " except {}", holes.join(", "));
            }
            s
        }
        Peer::Pods { namespaces, pods } => {
            let who = if pods.is_empty() {
                "any pod".to_string()
            } else {
                format!("pods labelled {}", selector_words(pods))
            };
            let place = match namespaces {
                Namespaces::Named(name) => format!("namespace {name}"),
                Namespaces::Matching(sel) if sel.is_empty() => "any namespace".to_string(),
                Namespaces::Matching(sel) => format!("namespaces labelled {}", selector_words(sel)),
            };
            format!("{who} in {place}")
        }
    }
}

/// `app=web, tier in (a, b), !canary`: a selector as kubectl writes one.
pub fn selector_words(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in &selector.match_expressions {
        parts.push(match r.operator {
            Operator::In => format!("{} in ({})", r.key, r.values.join(", ")),
            Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(", ")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
        });
    }
    parts.join(", ")
}

/// What an exposure admits: `TCP 80`, `all ports`, `TCP 53; named port dns/UDP (on the
/// destination)`.
pub fn exposure_ports(ports: &AllowedPorts, named: &[NamedPort]) -> String {
    let mut parts = Vec::new();
    if !ports.is_empty() || named.is_empty() {
        parts.push(ports_text(ports));
    }
    if !named.is_empty() {
        let names: Vec<String> = named
            .iter()
            .map(|n| format!("{}/{}", n.name, n.protocol))
            .collect();
        parts.push(format!(
            "named port{} {} (resolved on the destination)",
            if named.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    parts.join("; ")
}

/// What an exposure admits, in one line for an edge: its ports, and whether cluster
/// policy rules take part of it first (`TCP 8080, with exceptions`).
pub fn exposure_label(exposure: &Exposure) -> String {
    let ports = exposure_ports(&exposure.ports, &exposure.named);
    if exposure.except.is_empty() {
        ports
    } else {
        format!("{ports}, with exceptions")
    }
}

/// One endpoint's exposure, both directions:
///
/// ```text
/// prod/api
///   ingress, isolated by prod/api-policy; cluster policies: [Admin] ClusterNetworkPolicy guardrails (priority 10):
///     from pods labelled app=web in any namespace: TCP 8080 (now: dev/web, prod/web)
///       admitted by prod/api-policy spec.ingress[0] (line 9)
///       except any pod in namespaces labelled env=dev on all ports (now: dev/tool, dev/web), denied first by [Admin] ClusterNetworkPolicy guardrails (priority 10): Deny, rule no-dev (spec.ingress[1], line 14)
///         but not pods labelled app=web in namespace dev on all ports (now: dev/web), passed on first by [Admin] ClusterNetworkPolicy guardrails (priority 10): Pass, rule dev-web (spec.ingress[0], line 11)
///   egress, not isolated:
///     to any pod in any namespace: all ports (now: 3 endpoints)
///     to any address: all ports
/// ```
pub fn exposure(model: &Model, exposure: &EndpointExposure) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        endpoint_name(model, &Endpoint::Pod(exposure.endpoint))
    );
    for (direction, side) in [
        (PolicyType::Ingress, &exposure.ingress),
        (PolicyType::Egress, &exposure.egress),
    ] {
        exposure_direction(&mut out, model, direction, side);
    }
    out
}

fn exposure_direction(
    out: &mut String,
    model: &Model,
    direction: PolicyType,
    side: &DirectionExposure,
) {
    let (word, towards) = match direction {
        PolicyType::Ingress => ("ingress", "from"),
        PolicyType::Egress => ("egress", "to"),
    };
    let tiered = !side.cluster_policies.is_empty();
    let isolation = match (side.isolated_by.is_empty(), tiered) {
        (true, false) => "not isolated".to_string(),
        (true, true) => "not isolated by NetworkPolicies".to_string(),
        (false, _) => format!("isolated by {}", policy_list(&side.isolated_by)),
    };
    let tiers = if tiered {
        let names: Vec<String> = side
            .cluster_policies
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    tiers::tier_tag(p.tier),
                    tiers::cluster_policy_name(p)
                )
            })
            .collect();
        format!("; cluster policies: {}", names.join(", "))
    } else {
        String::new()
    };
    let _ = writeln!(out, "  {word}, {isolation}{tiers}:");
    if side.exposures.is_empty() {
        let _ = writeln!(out, "    nothing: no rule admits any peer");
    }
    for e in &side.exposures {
        let _ = writeln!(
            out,
            "    {towards} {}: {}{}",
            exposure_peer(&e.peer),
            exposure_ports(&e.ports, &e.named),
            now_text(model, &e.peer, &e.matches_now),
        );
        for rule in &e.rules {
            let _ = writeln!(out, "      admitted by {}", rule_name(rule));
        }
        for rule in &e.cluster_rules {
            let _ = writeln!(out, "      admitted by {}", tiers::tier_rule(rule));
        }
        for x in &e.except {
            exposure_exception(out, model, x, "      except");
        }
        if let Some(line) = peer_side_text(direction, e.peer_side.as_ref()) {
            let _ = writeln!(out, "      {line}");
        }
    }
}

/// `except any pod in namespaces labelled env=dev on all ports (now: dev/tool), denied
/// first by [Admin] ... Deny, rule no-dev (...)`, and under it, `but not ...`, what an
/// earlier Pass takes first.
fn exposure_exception(out: &mut String, model: &Model, x: &Exception, lead: &str) {
    let verb = match x.rule.effective_action() {
        RuleAction::Pass => "passed on first",
        _ => "denied first",
    };
    let _ = writeln!(
        out,
        "{lead} {} on {}{}, {verb} by {}",
        exposure_peer(&x.peer),
        exposure_ports(&x.ports, &x.named),
        now_text(model, &x.peer, &x.matches_now),
        tiers::tier_rule(&x.rule)
    );
    let indent = " ".repeat(lead.len() - lead.trim_start().len() + 2);
    for u in &x.unless {
        exposure_exception(out, model, u, &format!("{indent}but not"));
    }
}

/// Which endpoints of the input a description matches: ` (now: a, b)`, ` (now: 12
/// endpoints)`, ` (none yet)`; for addresses, the pods whose IPs are in it, if any.
fn now_text(model: &Model, peer: &Peer, pods: &[usize]) -> String {
    let is_pods = matches!(peer, Peer::Pods { .. });
    let what = if is_pods { "now" } else { "pod IPs of" };
    match pods.len() {
        0 if is_pods => " (none yet)".to_string(),
        0 => String::new(),
        1..=3 => {
            let ids: Vec<String> = pods
                .iter()
                .map(|i| endpoint_name(model, &Endpoint::Pod(*i)))
                .collect();
            format!(" ({what}: {})", ids.join(", "))
        }
        n => format!(" ({what}: {n} endpoints)"),
    }
}

/// What the peer's own policies are known to admit, or nothing to say.
pub fn peer_side_text(direction: PolicyType, side: Option<&PeerSide>) -> Option<String> {
    let side = side?;
    let (word, towards) = match direction {
        PolicyType::Ingress => ("egress", "towards it"),
        PolicyType::Egress => ("ingress", "from it"),
    };
    let admits = if side.allows.is_empty() && side.named.is_empty() {
        "which admit nothing (unless another policy selecting it does)".to_string()
    } else {
        format!(
            "which admit {} {towards} at least",
            exposure_ports(&side.allows, &side.named)
        )
    };
    Some(format!(
        "such a pod is {word}-isolated by {}, {admits}",
        policy_list(&side.isolated_by)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{cluster, peer_block, peer_sel, policy, port, rule};
    use crate::model::{PortRef, Protocol};

    fn render(policies: Vec<crate::model::NetworkPolicy>, flow: Flow) -> String {
        let mut model = Model {
            cluster: cluster(),
            policies,
            ..Model::default()
        };
        // Give rules a line so the rendering shows it.
        for (i, p) in model.policies.iter_mut().enumerate() {
            p.name = format!("np{i}");
            for (j, r) in p.ingress.iter_mut().chain(p.egress.iter_mut()).enumerate() {
                r.span.line = 10 * (i as u32 + 1) + j as u32;
            }
        }
        let verdict = crate::eval::evaluate(&model, &flow);
        explain(&model, &flow, &verdict)
    }

    const TOOL: Endpoint = Endpoint::Pod(0);
    const WEB: Endpoint = Endpoint::Pod(2);

    #[test]
    fn denied_with_near_misses() {
        let text = render(
            vec![policy(
                "prod",
                "x",
                "app=web",
                &[PolicyType::Ingress],
                vec![
                    rule(vec![peer_sel(None, Some("team=a"))], vec![]),
                    rule(
                        vec![],
                        vec![port(Protocol::TCP, Some(PortRef::Number(80)), None)],
                    ),
                    rule(vec![peer_sel(Some("app=db"), Some(""))], vec![]),
                ],
                vec![],
            )],
            Flow {
                src: TOOL,
                dst: WEB,
                protocol: Protocol::TCP,
                port: 8080,
            },
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on 8080/TCP: denied\n\
             egress from dev/tool: not isolated (no policy selects it for this direction)\n\
             ingress to prod/web: denied\n  \
             isolated by prod/np0\n  \
             no rule admits the flow; closest misses first:\n  \
             - prod/np0 spec.ingress[0] (line 10): namespace dev is not selected by namespaceSelector\n  \
             - prod/np0 spec.ingress[1] (line 11): peer matched but port 8080/TCP is not in ports\n  \
             - prod/np0 spec.ingress[2] (line 12): podSelector does not match labels app=tool\n"
        );
    }

    #[test]
    fn allowed_and_address_misses() {
        let text = render(
            vec![policy(
                "prod",
                "x",
                "",
                &[PolicyType::Egress],
                vec![],
                vec![
                    rule(vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])], vec![]),
                    rule(vec![peer_sel(Some(""), None)], vec![]),
                ],
            )],
            Flow {
                src: WEB,
                dst: Endpoint::Address("10.1.2.3".parse().unwrap()),
                protocol: Protocol::UDP,
                port: 53,
            },
        );
        assert_eq!(
            text,
            "prod/web -> 10.1.2.3 on 53/UDP: denied\n\
             egress from prod/web: denied\n  \
             isolated by prod/np0\n  \
             no rule admits the flow; closest misses first:\n  \
             - prod/np0 spec.egress[0] (line 10): 10.1.2.3 is inside except 10.1.0.0/16\n  \
             - prod/np0 spec.egress[1] (line 11): 10.1.2.3 is outside the cluster, and pod or namespace selectors only match pods\n\
             ingress to 10.1.2.3: not isolated (outside the cluster)\n"
        );
        let text = render(
            vec![
                policy(
                    "prod",
                    "x",
                    "",
                    &[PolicyType::Ingress],
                    vec![rule(vec![], vec![])],
                    vec![],
                ),
                policy("dev", "y", "", &[PolicyType::Egress], vec![], vec![]),
            ],
            Flow {
                src: TOOL,
                dst: WEB,
                protocol: Protocol::TCP,
                port: 80,
            },
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on 80/TCP: denied\n\
             egress from dev/tool: denied\n  \
             isolated by dev/np1\n  \
             no egress rules: default deny\n\
             ingress to prod/web: allowed\n  \
             isolated by prod/np0\n  \
             allowed by prod/np0 spec.ingress[0] (line 10)\n"
        );
    }

    fn render_pair(
        policies: Vec<crate::model::NetworkPolicy>,
        src: Endpoint,
        dst: Endpoint,
    ) -> String {
        let mut model = Model {
            cluster: cluster(),
            policies,
            ..Model::default()
        };
        for (i, p) in model.policies.iter_mut().enumerate() {
            p.name = format!("np{i}");
            for (j, r) in p.ingress.iter_mut().chain(p.egress.iter_mut()).enumerate() {
                r.span.line = 10 * (i as u32 + 1) + j as u32;
            }
        }
        let verdict = crate::evaluate_pair(&model, src, dst);
        explain_pair(&model, &src, &dst, &verdict)
    }

    fn tcp(n: u16) -> crate::model::NetworkPolicyPort {
        port(Protocol::TCP, Some(PortRef::Number(n)), None)
    }

    #[test]
    fn pair_denied_on_every_port_never_names_a_port() {
        let text = render_pair(
            vec![
                policy(
                    "prod",
                    "x",
                    "app=web",
                    &[PolicyType::Ingress],
                    vec![
                        rule(vec![peer_sel(Some("app=db"), None)], vec![tcp(8080)]),
                        rule(
                            vec![peer_sel(None, Some("team=b"))],
                            vec![port(
                                Protocol::TCP,
                                Some(PortRef::Name("metrics".into())),
                                None,
                            )],
                        ),
                    ],
                    vec![],
                ),
                // Elsewhere, a DNS rule: it has nothing to do with this pair.
                policy(
                    "prod",
                    "dns",
                    "app=db",
                    &[PolicyType::Egress],
                    vec![],
                    vec![rule(
                        vec![],
                        vec![port(Protocol::UDP, Some(PortRef::Number(53)), None)],
                    )],
                ),
            ],
            TOOL,
            WEB,
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on any port: denied on every port\n\
             egress from dev/tool: not isolated (no policy selects it for this direction)\n\
             ingress to prod/web: denied on every port\n  \
             isolated by prod/np0\n  \
             no rule admits any port; closest misses first:\n  \
             - prod/np0 spec.ingress[0] (line 10): dev/tool is in namespace dev, but a peer without namespaceSelector only matches namespace prod\n  \
             - prod/np0 spec.ingress[1] (line 11): peer matched but prod/web has no container port named metrics/TCP\n"
        );
    }

    #[test]
    fn pair_allowed_lists_ports_per_rule() {
        let text = render_pair(
            vec![
                policy(
                    "dev",
                    "out",
                    "",
                    &[PolicyType::Egress],
                    vec![],
                    vec![
                        rule(
                            vec![],
                            vec![
                                port(Protocol::UDP, Some(PortRef::Number(53)), None),
                                tcp(53),
                            ],
                        ),
                        rule(
                            vec![peer_sel(None, Some("team=a"))],
                            vec![port(
                                Protocol::TCP,
                                Some(PortRef::Name("http".into())),
                                None,
                            )],
                        ),
                    ],
                ),
                policy(
                    "prod",
                    "in",
                    "",
                    &[PolicyType::Ingress],
                    vec![rule(vec![], vec![])],
                    vec![],
                ),
            ],
            TOOL,
            WEB,
        );
        assert_eq!(
            text,
            "dev/tool -> prod/web on any port: allowed on TCP 53,8080; UDP 53\n\
             egress from dev/tool: allowed on TCP 53,8080; UDP 53\n  \
             isolated by dev/np0\n  \
             allowed by dev/np0 spec.egress[0] (line 10): TCP 53; UDP 53\n  \
             allowed by dev/np0 spec.egress[1] (line 11): TCP 8080\n\
             ingress to prod/web: allowed on all ports\n  \
             isolated by prod/np1\n  \
             allowed by prod/np1 spec.ingress[0] (line 20): all ports\n"
        );
    }

    #[test]
    fn pair_with_disjoint_sides_says_what_each_allows() {
        let text = render_pair(
            vec![
                policy(
                    "dev",
                    "out",
                    "",
                    &[PolicyType::Egress],
                    vec![],
                    vec![rule(vec![], vec![tcp(53)])],
                ),
                policy(
                    "prod",
                    "in",
                    "",
                    &[PolicyType::Ingress],
                    vec![rule(vec![], vec![tcp(8080)])],
                    vec![],
                ),
            ],
            TOOL,
            WEB,
        );
        assert_eq!(
            text.lines().next(),
            Some("dev/tool -> prod/web on any port: denied on every port: egress allows only TCP 53, ingress allows only TCP 8080")
        );
        assert!(
            text.contains("egress from dev/tool: allowed on TCP 53\n"),
            "{text}"
        );
        assert!(
            text.contains("ingress to prod/web: allowed on TCP 8080\n"),
            "{text}"
        );
    }

    #[test]
    fn pair_to_an_address_has_no_named_ports() {
        let outside = Endpoint::Address("10.1.2.3".parse().unwrap());
        let text = render_pair(
            vec![policy(
                "prod",
                "x",
                "",
                &[PolicyType::Egress],
                vec![],
                vec![
                    rule(vec![peer_block("10.0.0.0/8", &["10.1.0.0/16"])], vec![]),
                    rule(
                        vec![],
                        vec![port(
                            Protocol::TCP,
                            Some(PortRef::Name("http".into())),
                            None,
                        )],
                    ),
                ],
            )],
            WEB,
            outside,
        );
        assert_eq!(
            text,
            "prod/web -> 10.1.2.3 on any port: denied on every port\n\
             egress from prod/web: denied on every port\n  \
             isolated by prod/np0\n  \
             no rule admits any port; closest misses first:\n  \
             - prod/np0 spec.egress[0] (line 10): 10.1.2.3 is inside except 10.1.0.0/16\n  \
             - prod/np0 spec.egress[1] (line 11): peer matched but named port http/TCP never resolves on an address outside the cluster\n\
             ingress to 10.1.2.3: not isolated (outside the cluster)\n"
        );
    }
}
