//! Lint: policy mistakes that parse fine but do not do what the author meant.
//!
//! Why a separate pass: the parser only judges each object on its own. The mistakes that
//! cause outages (a default-deny egress without DNS, a selector with a typo that selects
//! nothing, the AND/OR trap) only show against the other policies and the cluster snapshot.
//!
//! Every [`Finding`] is plain data: a stable kebab-case `code`, a severity, a message naming
//! the concrete values, the span to highlight, a help text and related spans. The CLI renders
//! them with miette; the playground lists them in its Problems panel. Parse diagnostics of the
//! model are findings too (same codes), so one list is all a front-end shows.
//!
//! Checks that need a cluster (selectors matching nothing, named ports, unprotected
//! endpoints, redundancy) only run when the model has at least one endpoint: linting policy
//! files alone must not call every selector empty. Redundancy is decided semantically with
//! the [`Engine`] (the connectivity with and without the policy or rule); it costs one engine
//! compilation per policy and rule, so it runs only up to [`REDUNDANCY_MAX_PODS`] endpoints
//! and [`REDUNDANCY_MAX_VARIANTS`] policies plus rules, and says so with a
//! `redundancy-skipped` finding otherwise.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diagnostic::{Severity, Span};
use crate::engine::{Connectivity, Engine};
use crate::eval::{in_scope, peer_matches, selects};
use crate::model::{
    Endpoint, LabelSelector, Model, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule, Operator,
    PolicyType, PortRef, Protocol,
};
use crate::ports::AllowedPorts;

/// Largest cluster (endpoints) for which redundancy is computed.
pub const REDUNDANCY_MAX_PODS: usize = 500;
/// Largest number of policies plus rules for which redundancy is computed.
pub const REDUNDANCY_MAX_VARIANTS: usize = 400;

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case code, e.g. `"peer-selects-nothing"`; see [`CODES`].
    pub code: &'static str,
    /// Error: rejected or dropped; warning: probably wrong; info: worth knowing.
    pub severity: Severity,
    /// What is wrong, with the concrete values; lower-case, no trailing period.
    pub message: String,
    /// What to highlight; `None` when the finding has no place in any text.
    pub span: Option<Span>,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain the finding (the shadowing rule, the other policies).
    pub related: Vec<Span>,
}

/// Every code lint itself emits, with its severity and a one-line description (for docs and
/// front-ends). Parse diagnostics keep their own codes (`unknown-field`, `ignored-rules`,
/// `invalid-port`, ...).
pub const CODES: &[(&str, Severity, &str)] = &[
    ("policy-selects-nothing", Severity::Warning, "the policy's podSelector selects no endpoint of its namespace"),
    ("peer-selects-nothing", Severity::Warning, "a from/to peer's selectors match no endpoint"),
    ("unknown-namespace-label", Severity::Warning, "a namespaceSelector requires a label key no namespace has"),
    ("redundant-policy", Severity::Warning, "removing the policy changes no connection"),
    ("redundant-rule", Severity::Warning, "removing the rule changes no connection"),
    ("shadowed-rule", Severity::Warning, "everything the rule allows, another rule for the same endpoints (same policy, or same namespace and podSelector) allows too"),
    ("redundancy-skipped", Severity::Info, "the model is too large for the semantic redundancy checks"),
    ("egress-without-dns", Severity::Warning, "egress-isolated endpoints cannot reach port 53 (UDP and TCP) anywhere"),
    ("named-port-not-exposed", Severity::Warning, "no endpoint the port applies to exposes the named port with that protocol"),
    ("and-or-trap", Severity::Warning, "a namespaceSelector-only peer next to a podSelector-only peer: OR where AND was probably meant"),
    ("ipblock-contains-pods", Severity::Warning, "an ipBlock contains pod IPs (network plugins disagree on this)"),
    ("unprotected-endpoint", Severity::Warning, "endpoints no policy isolates, in a namespace where others are isolated"),
    ("missing-default-deny", Severity::Info, "a namespace without a default-deny ingress policy"),
];

/// Tunable bounds of the expensive checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Largest number of endpoints for the redundancy checks.
    pub max_pods: usize,
    /// Largest number of policies plus rules for the redundancy checks.
    pub max_variants: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_pods: REDUNDANCY_MAX_PODS,
            max_variants: REDUNDANCY_MAX_VARIANTS,
        }
    }
}

/// Lints `model` with the default [`Options`]: its parse diagnostics plus every check of
/// [`CODES`], sorted by position (file, offset; findings without a position first), then code.
pub fn lint(model: &Model) -> Vec<Finding> {
    lint_with(model, &Options::default())
}

/// [`lint`] with explicit bounds.
pub fn lint_with(model: &Model, options: &Options) -> Vec<Finding> {
    let mut out: Vec<Finding> = model
        .diagnostics
        .iter()
        .map(|d| Finding {
            code: d.code,
            severity: d.severity,
            message: d.message.clone(),
            span: d.span,
            help: d.help.clone(),
            related: Vec::new(),
        })
        .collect();
    let cx = Cx { model, options };
    cx.and_or_trap(&mut out);
    cx.egress_without_dns(&mut out);
    cx.missing_default_deny(&mut out);
    if !model.cluster.pods.is_empty() {
        cx.selects_nothing(&mut out);
        cx.named_ports(&mut out);
        cx.ipblock_pods(&mut out);
        cx.unprotected(&mut out);
        cx.redundancy(&mut out);
    }
    out.sort_by(|a, b| {
        let ka = a.span.map(|s| (s.file, s.start, s.end));
        let kb = b.span.map(|s| (s.file, s.start, s.end));
        ka.cmp(&kb)
            .then(a.severity.cmp(&b.severity))
            .then(a.code.cmp(b.code))
            .then(a.message.cmp(&b.message))
    });
    out
}

fn finding(
    code: &'static str,
    severity: Severity,
    span: Option<Span>,
    message: String,
    help: impl Into<String>,
) -> Finding {
    Finding {
        code,
        severity,
        message,
        span,
        help: Some(help.into()),
        related: Vec::new(),
    }
}

fn direction_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}

/// `a, b, c and 4 more`.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// `{app: web, tier in (a, b)}`.
pub fn selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    for r in &selector.match_expressions {
        parts.push(match r.operator {
            Operator::In => format!("{} in ({})", r.key, r.values.join(", ")),
            Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(", ")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
        });
    }
    format!("{{{}}}", parts.join(", "))
}

fn policy_name(policy: &NetworkPolicy) -> String {
    format!("{}/{}", policy.namespace, policy.name)
}

struct Cx<'m> {
    model: &'m Model,
    options: &'m Options,
}

impl Cx<'_> {
    /// Pods `policy` selects (in its namespace, by podSelector), whatever its policyTypes.
    fn targets(&self, policy: &NetworkPolicy) -> Vec<usize> {
        self.model
            .cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| in_scope(policy, p))
            .map(|(i, _)| i)
            .collect()
    }

    /// Pods a selector peer matches (empty for ipBlock peers).
    fn peer_pods(&self, policy: &NetworkPolicy, peer: &NetworkPolicyPeer) -> Vec<usize> {
        (0..self.model.cluster.pods.len())
            .filter(|i| peer_matches(self.model, policy, peer, &Endpoint::Pod(*i)).is_ok())
            .collect()
    }

    fn selects_nothing(&self, out: &mut Vec<Finding>) {
        let has_key = |key: &str| {
            self.model
                .cluster
                .namespaces
                .iter()
                .any(|n| n.labels.contains_key(key))
        };
        for policy in &self.model.policies {
            if self.targets(policy).is_empty() {
                out.push(finding(
                    "policy-selects-nothing",
                    Severity::Warning,
                    Some(policy.span),
                    format!(
                        "policy `{}` selects no endpoint: no pod in namespace {} matches podSelector {}",
                        policy_name(policy),
                        policy.namespace,
                        selector_text(&policy.pod_selector)
                    ),
                    "check the podSelector labels against the pods' labels (a typo, or the wrong namespace)",
                ));
            }
            for direction in [PolicyType::Ingress, PolicyType::Egress] {
                for rule in policy.rules(direction) {
                    for peer in &rule.peers {
                        if peer.ip_block.is_some() {
                            continue;
                        }
                        // A namespace label key nobody has is the more precise finding; do not
                        // repeat it as "selects nothing".
                        let missing: Vec<&str> = peer
                            .namespace_selector
                            .iter()
                            .flat_map(required_keys)
                            .filter(|k| !has_key(k))
                            .collect();
                        if let Some(key) = missing.first() {
                            let known: BTreeSet<&str> = self
                                .model
                                .cluster
                                .namespaces
                                .iter()
                                .flat_map(|n| n.labels.keys().map(String::as_str))
                                .collect();
                            out.push(finding(
                                "unknown-namespace-label",
                                Severity::Warning,
                                Some(peer.span),
                                format!(
                                    "namespaceSelector of `{}` requires label `{key}`, which no namespace has",
                                    policy_name(policy)
                                ),
                                format!(
                                    "label the namespaces, or use a key they have: {}",
                                    known.into_iter().collect::<Vec<_>>().join(", ")
                                ),
                            ));
                            continue;
                        }
                        if self.peer_pods(policy, peer).is_empty() {
                            let ns = match &peer.namespace_selector {
                                None => format!("namespace {}", policy.namespace),
                                Some(s) => format!("namespaces matching {}", selector_text(s)),
                            };
                            let pods = peer
                                .pod_selector
                                .as_ref()
                                .map_or("any pod".to_string(), |s| {
                                    format!("pods matching {}", selector_text(s))
                                });
                            out.push(finding(
                                "peer-selects-nothing",
                                Severity::Warning,
                                Some(peer.span),
                                format!(
                                    "{} peer of `{}` matches no endpoint: no {pods} in {ns}",
                                    direction_word(direction),
                                    policy_name(policy)
                                ),
                                "check the selector labels against the pods and namespaces; without a namespaceSelector a podSelector only looks in the policy's own namespace",
                            ));
                        }
                    }
                }
            }
        }
    }

    fn and_or_trap(&self, out: &mut Vec<Finding>) {
        for policy in &self.model.policies {
            for direction in [PolicyType::Ingress, PolicyType::Egress] {
                for rule in policy.rules(direction) {
                    let ns_only = rule.peers.iter().find(|p| {
                        p.ip_block.is_none()
                            && p.namespace_selector.is_some()
                            && p.pod_selector.is_none()
                    });
                    let pod_only = rule.peers.iter().find(|p| {
                        p.ip_block.is_none()
                            && p.pod_selector.is_some()
                            && p.namespace_selector.is_none()
                    });
                    let (Some(ns), Some(pod)) = (ns_only, pod_only) else {
                        continue;
                    };
                    let list_word = if direction == PolicyType::Ingress {
                        "from"
                    } else {
                        "to"
                    };
                    let (Some(ns_sel), Some(pod_sel)) = (&ns.namespace_selector, &pod.pod_selector)
                    else {
                        continue;
                    };
                    let mut f = finding(
                        "and-or-trap",
                        Severity::Warning,
                        Some(rule.span),
                        format!(
                            "`{list_word}` of `{}` has two peers, namespaceSelector {} and podSelector {}: they are ORed, so every pod of those namespaces and the matching pods of {} are allowed",
                            policy_name(policy),
                            selector_text(ns_sel),
                            selector_text(pod_sel),
                            policy.namespace
                        ),
                        "to allow only the matching pods in those namespaces, put both selectors in ONE list item (`- namespaceSelector: ...` with `podSelector:` on the next line, no dash); two items mean OR, one item with both selectors means AND",
                    );
                    f.related = vec![ns.span, pod.span];
                    out.push(f);
                }
            }
        }
    }

    fn egress_without_dns(&self, out: &mut Vec<Finding>) {
        let policies = &self.model.policies;
        // Rules allowing 53/`protocol` to some peer, judged by their ports (the DNS server
        // may not be in the snapshot, so peers count as "somewhere").
        let dns = |policy: &NetworkPolicy, protocol: Protocol| {
            policy.egress.iter().any(|rule| {
                rule.ports.is_empty()
                    || rule.ports.iter().any(|p| {
                        p.protocol == protocol
                            && match &p.port {
                                None => true,
                                Some(PortRef::Number(n)) => {
                                    *n <= 53 && p.end_port.unwrap_or(*n) >= 53
                                }
                                Some(PortRef::Name(_)) => {
                                    // Resolved at the destination; accept a name any pod
                                    // resolves to 53 (kube-dns calls it `dns`/`dns-tcp`).
                                    self.model.cluster.pods.iter().any(|pod| {
                                        p.port.as_ref().is_some_and(|r| match r {
                                            PortRef::Name(n) => {
                                                pod.named_ports(n, protocol).any(|n| n == 53)
                                            }
                                            PortRef::Number(_) => false,
                                        })
                                    })
                                }
                            }
                    })
            })
        };
        // Groups of isolating policies: with a cluster, the set of policies isolating each
        // pod's egress; without one, each egress policy with the policies of its namespace
        // that have the same or an empty podSelector.
        let mut groups: BTreeMap<Vec<usize>, Vec<String>> = BTreeMap::new();
        if self.model.cluster.pods.is_empty() {
            for p in policies {
                if !p.affects(PolicyType::Egress) {
                    continue;
                }
                let group: Vec<usize> = policies
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| {
                        q.affects(PolicyType::Egress)
                            && q.namespace == p.namespace
                            && (q.pod_selector == p.pod_selector || q.pod_selector.is_empty())
                    })
                    .map(|(j, _)| j)
                    .collect();
                groups.entry(group).or_default();
            }
        } else {
            for pod in &self.model.cluster.pods {
                let group: Vec<usize> = policies
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| selects(p, PolicyType::Egress, pod))
                    .map(|(j, _)| j)
                    .collect();
                if !group.is_empty() {
                    groups.entry(group).or_default().push(pod.id.clone());
                }
            }
        }
        for (group, pods) in groups {
            let missing: Vec<&str> = [Protocol::UDP, Protocol::TCP]
                .into_iter()
                .filter(|proto| {
                    !group
                        .iter()
                        .any(|&j| policies.get(j).is_some_and(|p| dns(p, *proto)))
                })
                .map(|p| p.as_str())
                .collect();
            if missing.is_empty() {
                continue;
            }
            let names: Vec<String> = group
                .iter()
                .filter_map(|&j| policies.get(j).map(policy_name))
                .collect();
            let Some(first) = group.first().and_then(|&j| policies.get(j)) else {
                continue;
            };
            let who = if pods.is_empty() {
                "the selected endpoints".to_string()
            } else {
                format!("{} ({})", plural(pods.len(), "endpoint"), list(&pods))
            };
            let ports = missing
                .iter()
                .map(|p| format!("53/{p}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let mut f = finding(
                "egress-without-dns",
                Severity::Warning,
                Some(first.span),
                format!(
                    "egress of {who} is isolated by {} but no rule allows {ports} anywhere, so name resolution fails",
                    list(&names)
                ),
                "add an egress rule allowing DNS, e.g. `- to: [{namespaceSelector: {}}]` with `ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]` (narrow the peer to kube-dns if you can)",
            );
            f.related = group
                .iter()
                .skip(1)
                .filter_map(|&j| policies.get(j).map(|p| p.span))
                .collect();
            out.push(f);
        }
    }

    fn named_ports(&self, out: &mut Vec<Finding>) {
        let pods = &self.model.cluster.pods;
        for policy in &self.model.policies {
            for direction in [PolicyType::Ingress, PolicyType::Egress] {
                for rule in policy.rules(direction) {
                    let names: Vec<_> = rule
                        .ports
                        .iter()
                        .filter_map(|p| match &p.port {
                            Some(PortRef::Name(n)) => Some((p, n)),
                            _ => None,
                        })
                        .collect();
                    if names.is_empty() {
                        continue;
                    }
                    // Named ports resolve at the destination: the selected pods for ingress,
                    // the pods the peers match for egress.
                    let dests: Vec<usize> = match direction {
                        PolicyType::Ingress => self.targets(policy),
                        PolicyType::Egress if rule.peers.is_empty() => (0..pods.len()).collect(),
                        PolicyType::Egress => (0..pods.len())
                            .filter(|i| {
                                rule.peers.iter().any(|peer| {
                                    peer_matches(self.model, policy, peer, &Endpoint::Pod(*i))
                                        .is_ok()
                                })
                            })
                            .collect(),
                    };
                    if dests.is_empty() {
                        continue; // selects-nothing findings say why
                    }
                    for (entry, name) in names {
                        let exposing = |proto: Option<Protocol>| {
                            dests.iter().any(|&i| {
                                pods.get(i).is_some_and(|p| {
                                    p.ports.iter().any(|c| {
                                        c.name.as_deref() == Some(name.as_str())
                                            && proto.is_none_or(|x| x == c.protocol)
                                    })
                                })
                            })
                        };
                        if exposing(Some(entry.protocol)) {
                            continue;
                        }
                        let other: BTreeSet<&str> = dests
                            .iter()
                            .filter_map(|&i| pods.get(i))
                            .flat_map(|p| p.ports.iter())
                            .filter(|c| c.name.as_deref() == Some(name.as_str()))
                            .map(|c| c.protocol.as_str())
                            .collect();
                        let whose = match direction {
                            PolicyType::Ingress => "the pods the policy selects",
                            PolicyType::Egress => "the pods the rule's peers match",
                        };
                        let message = if exposing(None) {
                            format!(
                                "named port `{name}`/{} of `{}`: {whose} expose `{name}` only as {}, so the entry matches nothing",
                                entry.protocol,
                                policy_name(policy),
                                other.into_iter().collect::<Vec<_>>().join(", ")
                            )
                        } else {
                            format!(
                                "named port `{name}`/{} of `{}`: none of {whose} ({}) has a container port named `{name}`, so the entry matches nothing",
                                entry.protocol,
                                policy_name(policy),
                                plural(dests.len(), "endpoint")
                            )
                        };
                        out.push(finding(
                            "named-port-not-exposed",
                            Severity::Warning,
                            Some(entry.span),
                            message,
                            "use the name and protocol of a containerPort of the destination pods, or a port number",
                        ));
                    }
                }
            }
        }
    }

    fn ipblock_pods(&self, out: &mut Vec<Finding>) {
        let pods = &self.model.cluster.pods;
        let with_ips = pods.iter().filter(|p| !p.ips.is_empty()).count();
        for policy in &self.model.policies {
            for direction in [PolicyType::Ingress, PolicyType::Egress] {
                for rule in policy.rules(direction) {
                    for peer in &rule.peers {
                        let Some(block) = &peer.ip_block else {
                            continue;
                        };
                        let inside: Vec<String> = pods
                            .iter()
                            .filter(|p| p.ips.iter().any(|ip| block.contains(*ip)))
                            .map(|p| p.id.clone())
                            .collect();
                        if inside.is_empty() {
                            continue;
                        }
                        let what = if inside.len() == with_ips && with_ips > 1 {
                            format!(
                                "every pod IP of the cluster (the whole pod range, {} endpoints)",
                                inside.len()
                            )
                        } else {
                            format!("the IPs of {}", list(&inside))
                        };
                        out.push(finding(
                            "ipblock-contains-pods",
                            Severity::Warning,
                            Some(peer.span),
                            format!(
                                "ipBlock {} in `{}` contains {what}; whether ipBlock matches pod traffic differs between network plugins",
                                block.cidr,
                                policy_name(policy)
                            ),
                            "select pods with podSelector/namespaceSelector, and exclude the pod range from the block with `except`",
                        ));
                    }
                }
            }
        }
    }

    fn unprotected(&self, out: &mut Vec<Finding>) {
        let pods = &self.model.cluster.pods;
        // Ingress only: isolating the egress of a few pods (the internal-policy example) is a
        // common, deliberate pattern; an ingress gap is what exposes a service.
        for direction in [PolicyType::Ingress] {
            let mut by_ns: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
            for (i, pod) in pods.iter().enumerate() {
                let isolated = self
                    .model
                    .policies
                    .iter()
                    .any(|p| selects(p, direction, pod));
                let entry = by_ns.entry(pod.namespace.as_str()).or_default();
                if isolated {
                    entry.0.push(i);
                } else {
                    entry.1.push(i);
                }
            }
            for (ns, (isolated, open)) in by_ns {
                if isolated.is_empty() || open.is_empty() {
                    continue;
                }
                let names: Vec<String> = open
                    .iter()
                    .filter_map(|&i| pods.get(i).map(|p| p.id.clone()))
                    .collect();
                let spans: Vec<Span> = open
                    .iter()
                    .filter_map(|&i| pods.get(i).and_then(|p| p.span))
                    .collect();
                let word = direction_word(direction);
                let mut f = finding(
                    "unprotected-endpoint",
                    Severity::Warning,
                    spans.first().copied(),
                    format!(
                        "{} in namespace {ns} not isolated for {word} ({}) while {} {}: every {word} connection to or from them is allowed",
                        plural(open.len(), "endpoint"),
                        list(&names),
                        isolated.len(),
                        if isolated.len() == 1 { "other is" } else { "others are" },
                    ),
                    format!("add a default-deny {word} policy for namespace {ns} (`podSelector: {{}}`), or widen a podSelector to cover these endpoints"),
                );
                f.related = spans.into_iter().skip(1).collect();
                out.push(f);
            }
        }
    }

    fn missing_default_deny(&self, out: &mut Vec<Finding>) {
        let mut namespaces: BTreeSet<&str> = self
            .model
            .cluster
            .pods
            .iter()
            .map(|p| p.namespace.as_str())
            .collect();
        namespaces.extend(self.model.policies.iter().map(|p| p.namespace.as_str()));
        for ns in namespaces {
            let has = self.model.policies.iter().any(|p| {
                p.namespace == ns
                    && p.pod_selector.is_empty()
                    && p.affects(PolicyType::Ingress)
                    && p.ingress.is_empty()
            });
            if has {
                continue;
            }
            let span = self
                .model
                .cluster
                .namespace(ns)
                .and_then(|n| n.span)
                .or_else(|| {
                    self.model
                        .policies
                        .iter()
                        .find(|p| p.namespace == ns)
                        .map(|p| p.span)
                });
            out.push(finding(
                "missing-default-deny",
                Severity::Info,
                span,
                format!("namespace {ns} has no default-deny ingress policy, so new pods there accept every connection"),
                format!("add a policy in {ns} with `podSelector: {{}}`, `policyTypes: [Ingress]` and no ingress rules, then allow what is needed"),
            ));
        }
    }

    fn redundancy(&self, out: &mut Vec<Finding>) {
        let model = self.model;
        let rules: usize = model
            .policies
            .iter()
            .map(|p| p.ingress.len() + p.egress.len())
            .sum();
        let variants = model.policies.len() + rules;
        let (max_pods, max_variants) = (self.options.max_pods, self.options.max_variants);
        if model.cluster.pods.len() > max_pods || variants > max_variants {
            out.push(Finding {
                code: "redundancy-skipped",
                severity: Severity::Info,
                message: format!(
                    "redundant-policy, redundant-rule and shadowed-rule were not checked: {} endpoints and {variants} policies plus rules exceed the bound of {max_pods} endpoints and {max_variants} policies plus rules",
                    model.cluster.pods.len()
                ),
                span: None,
                help: Some("lint a smaller part of the cluster (one namespace) to get these checks".into()),
                related: Vec::new(),
            });
            return;
        }
        let base = Engine::new(model);
        let addresses: Vec<Endpoint> = base
            .address_classes()
            .iter()
            .map(|c| Endpoint::Address(c.representative))
            .collect();
        let pods = model.cluster.pods.len();
        let peers: Vec<Endpoint> = (0..pods).map(Endpoint::Pod).chain(addresses).collect();
        // The connections a policy can change: into its targets (ingress) and out of them
        // (egress). Everything else is the same with or without it.
        // Pod pairs come from the class-level table (a lookup each); addresses are asked one
        // by one. The unchanged model's table is computed once, below.
        let slice =
            |engine: &Engine, table: &Connectivity, targets: &[usize], dirs: &[PolicyType]| {
                let get = |src: Endpoint, dst: Endpoint| match (src, dst) {
                    (Endpoint::Pod(s), Endpoint::Pod(d)) => {
                        table.ports(s, d).cloned().unwrap_or_default()
                    }
                    _ => engine.allowed_ports(src, dst),
                };
                let mut v: Vec<AllowedPorts> = Vec::new();
                for &t in targets {
                    for peer in &peers {
                        if dirs.contains(&PolicyType::Ingress) {
                            v.push(get(*peer, Endpoint::Pod(t)));
                        }
                        if dirs.contains(&PolicyType::Egress) {
                            v.push(get(Endpoint::Pod(t), *peer));
                        }
                    }
                }
                v
            };

        let base_table = base.connectivity();
        let fresh = |candidate: &Model, targets: &[usize], dirs: &[PolicyType]| {
            let engine = Engine::new(candidate);
            slice(&engine, &engine.connectivity(), targets, dirs)
        };
        // Each policy's targets, computed once for the three passes below.
        let targets_of: Vec<Vec<usize>> = model.policies.iter().map(|p| self.targets(p)).collect();

        // Greedy, from the last policy back: of two equivalent policies the later one is
        // reported, and the earlier one is then judged without it (so not both).
        let mut working = model.clone();
        let mut redundant_policies: BTreeSet<usize> = BTreeSet::new();
        for index in (0..model.policies.len()).rev() {
            let Some(policy) = model.policies.get(index) else {
                continue;
            };
            // A default-deny (`podSelector: {}`, no rules) is there for the pods that do not
            // exist yet; the snapshot cannot show that, so it is never called redundant.
            let default_deny = policy.pod_selector.is_empty()
                && policy
                    .policy_types
                    .iter()
                    .all(|d| policy.rules(*d).is_empty());
            let targets = &targets_of[index];
            if targets.is_empty() || default_deny {
                continue; // policy-selects-nothing
            }
            let before = slice(&base, &base_table, targets, &policy.policy_types);
            let mut candidate = working.clone();
            let Some(pos) = candidate.policies.iter().position(|p| {
                p.span == policy.span && p.name == policy.name && p.namespace == policy.namespace
            }) else {
                continue;
            };
            candidate.policies.remove(pos);
            if fresh(&candidate, targets, &policy.policy_types) == before {
                let mut f = finding(
                    "redundant-policy",
                    Severity::Warning,
                    Some(policy.span),
                    format!(
                        "policy `{}` is redundant: removing it changes no connection of its {}",
                        policy_name(policy),
                        plural(targets.len(), "endpoint")
                    ),
                    "delete the policy, or change it if it was meant to allow or isolate more",
                );
                f.related = Vec::new();
                out.push(f);
                redundant_policies.insert(index);
                working = candidate;
            }
        }

        // What each rule allows on its own (one policy, one rule, other side open), over
        // its policy's targets; computed once per rule.
        let mut alone: BTreeMap<(usize, PolicyType, usize), Vec<AllowedPorts>> = BTreeMap::new();
        let live = |q: usize| !redundant_policies.contains(&q);
        for (index, policy) in model.policies.iter().enumerate() {
            if !live(index) {
                continue;
            }
            let targets = &targets_of[index];
            if targets.is_empty() {
                continue;
            }
            for &direction in &policy.policy_types {
                for (i, rule) in policy.rules(direction).iter().enumerate() {
                    let single = single_rule_model(model, policy, direction, rule);
                    let allowed = fresh(&single, targets, &[direction]);
                    alone.insert((index, direction, i), allowed);
                }
            }
        }

        for (index, policy) in model.policies.iter().enumerate() {
            if !live(index) {
                continue;
            }
            let targets = &targets_of[index];
            if targets.is_empty() {
                continue;
            }
            for &direction in &policy.policy_types {
                let word = direction_word(direction);
                // Rules for the same targets: this policy's and those of live policies with
                // the same namespace and podSelector isolating the same direction.
                let peers_of_group: Vec<(usize, usize)> = model
                    .policies
                    .iter()
                    .enumerate()
                    .filter(|(q, other)| {
                        live(*q)
                            && other.namespace == policy.namespace
                            && other.pod_selector == policy.pod_selector
                            && other.affects(direction)
                    })
                    .flat_map(|(q, other)| (0..other.rules(direction).len()).map(move |j| (q, j)))
                    .collect();
                let rules = policy.rules(direction);
                // Against the unchanged model, so the same for every rule of this policy.
                let before = slice(&base, &base_table, targets, &[direction]);
                let mut shadowed: BTreeSet<usize> = BTreeSet::new();
                for (i, rule) in rules.iter().enumerate() {
                    let Some(mine) = alone.get(&(index, direction, i)) else {
                        continue;
                    };
                    if mine.iter().all(AllowedPorts::is_empty) {
                        continue; // allows nothing: selector and named-port findings say why
                    }
                    // Equal rules: the later one (by policy, then rule index) is reported.
                    let by = peers_of_group.iter().find(|&&(q, j)| {
                        (q, j) != (index, i)
                            && alone.get(&(q, direction, j)).is_some_and(|theirs| {
                                subset_all(mine, theirs)
                                    && (!subset_all(theirs, mine) || (q, j) < (index, i))
                            })
                    });
                    let Some(&(q, j)) = by else { continue };
                    let Some(other_policy) = model.policies.get(q) else {
                        continue;
                    };
                    let Some(other) = other_policy.rules(direction).get(j) else {
                        continue;
                    };
                    let whose = if q == index {
                        String::new()
                    } else {
                        format!("`{}` ", policy_name(other_policy))
                    };
                    let mut f = finding(
                        "shadowed-rule",
                        Severity::Warning,
                        Some(rule.span),
                        format!(
                            "rule spec.{word}[{i}] of `{}` is shadowed by {whose}spec.{word}[{j}] (line {}): everything it allows, that rule allows too",
                            policy_name(policy),
                            other.span.line
                        ),
                        "delete the shadowed rule, or make it allow what it was meant to",
                    );
                    f.related = vec![other.span];
                    out.push(f);
                    shadowed.insert(i);
                    // Removable, so later redundancy questions are asked without it (else
                    // two equal rules could each look redundant thanks to the other).
                    if let Some(list) = rules_mut(&mut working, policy, direction) {
                        list.retain(|r| r.span != rule.span);
                    }
                }
                for (i, rule) in rules.iter().enumerate() {
                    if shadowed.contains(&i)
                        || alone
                            .get(&(index, direction, i))
                            .is_none_or(|a| a.iter().all(AllowedPorts::is_empty))
                    {
                        continue;
                    }
                    let mut candidate = working.clone();
                    let Some(list) = rules_mut(&mut candidate, policy, direction) else {
                        continue;
                    };
                    let Some(pos) = list.iter().position(|r| r.span == rule.span) else {
                        continue;
                    };
                    list.remove(pos);
                    if fresh(&candidate, targets, &[direction]) == before {
                        out.push(finding(
                            "redundant-rule",
                            Severity::Warning,
                            Some(rule.span),
                            format!(
                                "rule spec.{word}[{i}] of `{}` is redundant: removing it changes no connection (other policies allow the same)",
                                policy_name(policy)
                            ),
                            "delete the rule, or change it if it was meant to allow more",
                        ));
                        working = candidate;
                    }
                }
            }
        }
    }
}

/// The rule list of `policy` (found by its span and name) in `model`.
fn rules_mut<'m>(
    model: &'m mut Model,
    policy: &NetworkPolicy,
    direction: PolicyType,
) -> Option<&'m mut Vec<NetworkPolicyRule>> {
    let p = model.policies.iter_mut().find(|p| {
        p.span == policy.span && p.name == policy.name && p.namespace == policy.namespace
    })?;
    Some(match direction {
        PolicyType::Ingress => &mut p.ingress,
        PolicyType::Egress => &mut p.egress,
    })
}

/// The model with only `rule` of `policy`, in `direction`.
fn single_rule_model(
    model: &Model,
    policy: &NetworkPolicy,
    direction: PolicyType,
    rule: &NetworkPolicyRule,
) -> Model {
    let mut p = policy.clone();
    p.policy_types = vec![direction];
    p.ingress = Vec::new();
    p.egress = Vec::new();
    match direction {
        PolicyType::Ingress => p.ingress.push(rule.clone()),
        PolicyType::Egress => p.egress.push(rule.clone()),
    }
    Model {
        cluster: model.cluster.clone(),
        policies: vec![p],
        diagnostics: Vec::new(),
    }
}

/// Whether every port set of `a` lies inside the matching one of `b`.
fn subset_all(a: &[AllowedPorts], b: &[AllowedPorts]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            Protocol::ALL
                .iter()
                .all(|p| x.get(*p).union(y.get(*p)) == *y.get(*p))
        })
}

/// Label keys a selector requires to be present (matchLabels, In, Exists).
fn required_keys(selector: &LabelSelector) -> impl Iterator<Item = &str> {
    selector.match_labels.keys().map(String::as_str).chain(
        selector
            .match_expressions
            .iter()
            .filter(|r| matches!(r.operator, Operator::In | Operator::Exists))
            .map(|r| r.key.as_str()),
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
