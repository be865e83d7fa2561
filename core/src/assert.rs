//! Connectivity assertions for CI: "x/a may reach y/b on 443/TCP", "nothing in dev reaches
//! prod", "only app=frontend may reach app=api", "p reaches nothing outside but DNS".
//!
//! Why in the core: the playground and the CLI must agree on what an expectation means. The
//! spec *text* format (YAML) is read by the CLI, which builds these plain-data types; the
//! core resolves selectors against the [`Model`], checks every pair with the [`Engine`] and
//! explains each offending connection with [`crate::evaluate`] and [`crate::render::explain`].
//!
//! Semantics, per expectation (pairs never include an endpoint with itself):
//! - `expect: allowed` — every `from` × `to` pair is allowed on `port` (without `port`: on
//!   at least one port);
//! - `expect: denied` — every pair is denied on `port` (without `port`: on every port);
//! - `only_from` — for every `to` endpoint, the sources in `only_from` are allowed and every
//!   other endpoint and outside address class is denied (on `port`, or any port);
//! - `only_ports` — every pair allows at most these ports (nothing else on any protocol).
//!
//! A selector that selects nothing fails its expectation: a vacuous pass would hide a typo.
//!
//! With a top-level `default: deny`, the `expect: allowed` entries (and the allowed sources
//! of `only_from`) are the *required* connections and everything else touching their
//! namespaces must be denied: one more outcome lists every pair allowed beyond them
//! ([`intent`]). That is the promise `netpol synthesize` writes policies for.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::model::{Endpoint, Flow, Labels, Model, Protocol};
use crate::ports::{AllowedPorts, PortSet};
use crate::portspec::PortSpec;
use crate::render;
use crate::verdict::Verdict;

pub mod intent;

/// How many offending connections are kept (with explanations) per expectation.
pub const MAX_VIOLATIONS: usize = 20;

/// A set of spec files' worth of expectations. Deserialises from the spec format (YAML in the
/// CLI, through serde; any serde format works, so the playground can use JSON):
///
/// ```yaml
/// default: deny               # optional: nothing but the required connections is allowed
/// expectations:
/// - name: web reaches api on 443
///   from: x/a                 # id, {namespace: x}, {namespace: {team: a}, pod: {app: web}},
///   to: y/b                   # {ip: 8.8.8.8} or {outside: true}
///   port: 443/TCP             # omitted: any port
///   expect: allowed           # allowed | denied
/// - name: only frontend may reach api
///   to: {pod: {app: api}}
///   only_from: {pod: {app: frontend}}
/// - name: p reaches nothing outside but DNS
///   from: x/p
///   to: {outside: true}
///   only_ports: [53/UDP]
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSpec")]
pub struct Spec {
    /// `default: deny`: every connection not required by an `expect: allowed` or
    /// `only_from` entry, to or from a namespace that has a required connection, must be
    /// denied (DNS to kube-system's DNS pods excepted; see [`intent`]).
    pub default_deny: bool,
    /// In file order.
    pub expectations: Vec<Expectation>,
}

impl Spec {
    /// Reads a spec from YAML (or JSON) text with the core's own YAML reader, for
    /// front-ends without a YAML library (the playground). An unreadable spec is one
    /// error diagnostic (`yaml-syntax` or `invalid-data`) at the line it went wrong.
    pub fn from_yaml(file: crate::FileId, text: &str) -> Result<Spec, crate::Diagnostic> {
        crate::syntax::data::from_yaml(file, text)
    }
}

/// Which endpoints a `from`/`to`/`only_from` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Selector {
    /// An endpoint id: `ns/name` or `ns/Kind/name`.
    Id(String),
    /// One address outside the cluster.
    Ip(IpAddr),
    /// Every outside-address class the policies distinguish (one representative each).
    Outside,
    /// Pods by namespace (name or labels) and pod labels; `None` parts match everything.
    Match {
        /// The namespace.
        namespace: Option<NamespaceMatch>,
        /// Pod labels that must all be present with these values.
        pod: Option<Labels>,
    },
}

/// A namespace by name or by labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NamespaceMatch {
    /// Exactly this namespace.
    Name(String),
    /// Namespaces carrying all these labels.
    Labels(Labels),
}

/// What a pair must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Connections allowed.
    Allowed,
    /// Connections denied.
    Denied,
}

/// One expectation of the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// Shown in results.
    pub name: String,
    /// Sources; `None`: every endpoint of the cluster (and, for `only_from`, every outside
    /// address class too).
    pub from: Option<Selector>,
    /// Destinations; `None`: every endpoint of the cluster.
    pub to: Option<Selector>,
    /// The only sources that may reach `to`.
    pub only_from: Option<Selector>,
    /// The port; `None`: any port.
    pub port: Option<PortSpec>,
    /// The only ports `from` may reach on `to`.
    pub only_ports: Option<Vec<PortSpec>>,
    /// For plain expectations: allowed or denied.
    pub expect: Option<Expect>,
    /// 1-based line of the expectation in its spec file (0 when unknown), for reports.
    pub line: u32,
}

/// One connection that broke an expectation, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The flow that was checked (for "any port" questions: a representative port).
    pub flow: Flow,
    /// What should have happened.
    pub expected: Expect,
    /// What is allowed for the pair, as [`AllowedPorts`] prints it (`TCP 53; UDP 53`,
    /// `all ports`, `nothing`).
    pub allowed: String,
    /// The verdict for `flow`.
    pub verdict: Verdict,
    /// [`render::explain`] of it.
    pub explanation: String,
    /// Extra context, e.g. the destination has no port of the asked name (then `flow.port`
    /// is 0 and the connection cannot exist).
    pub note: Option<String>,
}

/// The result of one expectation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The expectation's name.
    pub name: String,
    /// Its line in the spec.
    pub line: u32,
    /// Whether it holds.
    pub passed: bool,
    /// Number of (pair, question) checks made.
    pub checked: usize,
    /// Offending connections, at most [`MAX_VIOLATIONS`].
    pub violations: Vec<Violation>,
    /// Offending connections in total.
    pub violation_count: usize,
    /// Why it could not be checked (selector selects nothing, unknown endpoint, ...).
    pub problem: Option<String>,
}

// The spec's wire form. `deny_unknown_fields`: a typo such as `expcet:` must fail loudly
// instead of checking nothing.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    default: Option<RawDefault>,
    expectations: Vec<RawExpectation>,
}

/// `default:` takes one value; leaving it out leaves unmentioned connections unchecked.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawDefault {
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectation {
    name: String,
    from: Option<RawSelector>,
    to: Option<RawSelector>,
    only_from: Option<RawSelector>,
    port: Option<RawPort>,
    only_ports: Option<Vec<RawPort>>,
    expect: Option<Expect>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSelector {
    Id(String),
    Map(RawSelectorMap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelectorMap {
    namespace: Option<RawNamespace>,
    pod: Option<Labels>,
    ip: Option<String>,
    outside: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawNamespace {
    Name(String),
    Labels(Labels),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPort {
    Number(u64),
    Text(String),
}

impl RawPort {
    fn spec(self) -> Result<PortSpec, String> {
        let parsed = match self {
            RawPort::Number(n) => n.to_string().parse::<PortSpec>(),
            RawPort::Text(s) => s.parse::<PortSpec>(),
        };
        parsed.map_err(|e| e.to_string())
    }
}

impl RawSelector {
    fn selector(self) -> Result<Selector, String> {
        match self {
            RawSelector::Id(s) => Ok(match s.parse::<IpAddr>() {
                Ok(ip) => Selector::Ip(ip),
                Err(_) => Selector::Id(s),
            }),
            RawSelector::Map(m) => {
                let parts = [
                    m.namespace.is_some() || m.pod.is_some(),
                    m.ip.is_some(),
                    m.outside.is_some(),
                ];
                if parts.iter().filter(|x| **x).count() != 1 {
                    return Err("a selector is an id, {ip: ...}, {outside: true}, or {namespace: ..., pod: ...}".to_string());
                }
                if let Some(ip) = m.ip {
                    return ip
                        .parse()
                        .map(Selector::Ip)
                        .map_err(|_| format!("`{ip}` is not an IP address"));
                }
                if let Some(outside) = m.outside {
                    return if outside {
                        Ok(Selector::Outside)
                    } else {
                        Err("`outside: false` selects nothing; leave the selector out for every endpoint".to_string())
                    };
                }
                Ok(Selector::Match {
                    namespace: m.namespace.map(|n| match n {
                        RawNamespace::Name(s) => NamespaceMatch::Name(s),
                        RawNamespace::Labels(l) => NamespaceMatch::Labels(l),
                    }),
                    pod: m.pod,
                })
            }
        }
    }
}

impl TryFrom<RawSpec> for Spec {
    type Error = String;

    fn try_from(raw: RawSpec) -> Result<Spec, String> {
        let mut expectations = Vec::with_capacity(raw.expectations.len());
        for e in raw.expectations {
            let name = e.name;
            let at = |m: String| format!("expectation `{name}`: {m}");
            let sel = |s: Option<RawSelector>| s.map(RawSelector::selector).transpose();
            let from = sel(e.from).map_err(at)?;
            let to = sel(e.to).map_err(at)?;
            let only_from = sel(e.only_from).map_err(at)?;
            let port = e.port.map(RawPort::spec).transpose().map_err(at)?;
            let only_ports = e
                .only_ports
                .map(|v| {
                    v.into_iter()
                        .map(RawPort::spec)
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .map_err(at)?;
            let modes = [
                e.expect.is_some(),
                only_from.is_some(),
                only_ports.is_some(),
            ];
            if modes.iter().filter(|x| **x).count() != 1 {
                return Err(at(
                    "give exactly one of `expect: allowed|denied`, `only_from` or `only_ports`"
                        .to_string(),
                ));
            }
            if only_ports.is_some() && port.is_some() {
                return Err(at("`port` and `only_ports` exclude each other".to_string()));
            }
            expectations.push(Expectation {
                name,
                from,
                to,
                only_from,
                port,
                only_ports,
                expect: e.expect,
                line: 0,
            });
        }
        Ok(Spec {
            default_deny: matches!(raw.default, Some(RawDefault::Deny)),
            expectations,
        })
    }
}

/// Checks every expectation of `spec` against `model`.
pub fn check(model: &Model, spec: &Spec) -> Vec<Outcome> {
    let engine = Engine::new(model);
    let cx = Cx {
        model,
        engine: &engine,
        outside: engine
            .address_classes()
            .iter()
            .map(|c| Endpoint::Address(c.representative))
            .collect(),
    };
    let mut outcomes: Vec<Outcome> = spec.expectations.iter().map(|e| cx.check(e)).collect();
    if spec.default_deny {
        outcomes.push(cx.default_deny(spec));
    }
    outcomes
}

/// The name of the outcome `default: deny` adds.
pub const DEFAULT_DENY: &str = "default: deny (nothing else is allowed)";

struct Cx<'a> {
    model: &'a Model,
    engine: &'a Engine,
    outside: Vec<Endpoint>,
}

impl Cx<'_> {
    fn resolve(
        &self,
        selector: &Option<Selector>,
        outside_too: bool,
    ) -> Result<Vec<Endpoint>, String> {
        let pods = &self.model.cluster.pods;
        let Some(selector) = selector else {
            let mut all: Vec<Endpoint> = (0..pods.len()).map(Endpoint::Pod).collect();
            if outside_too {
                all.extend(self.outside.iter().copied());
            }
            return Ok(all);
        };
        let found = match selector {
            Selector::Id(id) => match self.model.cluster.pod_index(id) {
                Some(i) => vec![Endpoint::Pod(i)],
                None => return Err(format!("no endpoint has the id `{id}`")),
            },
            Selector::Ip(ip) => vec![Endpoint::Address(*ip)],
            Selector::Outside => self.outside.clone(),
            Selector::Match { namespace, pod } => select_pods(self.model, namespace, pod)
                .into_iter()
                .map(Endpoint::Pod)
                .collect(),
        };
        if found.is_empty() {
            return Err("the selector selects no endpoint".to_string());
        }
        Ok(found)
    }

    /// The outcome of `default: deny`: every pair allowed beyond the required connections.
    fn default_deny(&self, spec: &Spec) -> Outcome {
        let intent = intent::Intent::new(self.model, spec);
        let extra = intent::beyond(self.model, self.engine, &intent);
        let mut outcome = Outcome {
            name: DEFAULT_DENY.to_string(),
            line: 0,
            passed: true,
            checked: intent.scope_pairs(self.model, self.outside.len()),
            violations: Vec::new(),
            violation_count: 0,
            problem: None,
        };
        for pair in &extra {
            let probe = first_port(&pair.extra).unwrap_or((Protocol::TCP, 0));
            self.violation(
                &mut outcome,
                (pair.src, pair.dst),
                probe,
                Expect::Denied,
                &pair.allowed,
                Some(format!("allowed beyond the spec: {}", pair.extra)),
            );
        }
        outcome.passed = outcome.violation_count == 0;
        outcome
    }

    fn check(&self, e: &Expectation) -> Outcome {
        let mut outcome = Outcome {
            name: e.name.clone(),
            line: e.line,
            passed: true,
            checked: 0,
            violations: Vec::new(),
            violation_count: 0,
            problem: None,
        };
        if let Err(problem) = self.run(e, &mut outcome) {
            outcome.passed = false;
            outcome.problem = Some(problem);
        }
        outcome.passed &= outcome.violation_count == 0;
        outcome
    }

    fn run(&self, e: &Expectation, outcome: &mut Outcome) -> Result<(), String> {
        let to = self.resolve(&e.to, false).map_err(|m| format!("to: {m}"))?;
        if let Some(only) = &e.only_from {
            let allowed_sources = self
                .resolve(&Some(only.clone()), false)
                .map_err(|m| format!("only_from: {m}"))?;
            let sources = self
                .resolve(&e.from, true)
                .map_err(|m| format!("from: {m}"))?;
            for dst in &to {
                for src in &sources {
                    if src == dst {
                        continue;
                    }
                    let want = if allowed_sources.contains(src) {
                        Expect::Allowed
                    } else {
                        Expect::Denied
                    };
                    self.pair(outcome, *src, *dst, e.port.as_ref(), want);
                }
            }
            return Ok(());
        }
        let from = self
            .resolve(&e.from, false)
            .map_err(|m| format!("from: {m}"))?;
        if let Some(only_ports) = &e.only_ports {
            for src in &from {
                for dst in &to {
                    if src != dst {
                        self.only_ports(outcome, *src, *dst, only_ports);
                    }
                }
            }
            return Ok(());
        }
        let want = e
            .expect
            .ok_or("give `expect: allowed|denied`, `only_from` or `only_ports`")?;
        for src in &from {
            for dst in &to {
                if src != dst {
                    self.pair(outcome, *src, *dst, e.port.as_ref(), want);
                }
            }
        }
        Ok(())
    }

    fn pair(
        &self,
        outcome: &mut Outcome,
        src: Endpoint,
        dst: Endpoint,
        port: Option<&PortSpec>,
        want: Expect,
    ) {
        outcome.checked += 1;
        let allowed = self.engine.allowed_ports(src, dst);
        let mut note = None;
        let (ok, probe) = match port {
            Some(spec) => {
                let numbers = spec.numbers(self.model, dst);
                let ports = allowed.get(spec.protocol);
                // A name is allowed when any of its numbers is (the matrix's rule).
                let number = numbers
                    .iter()
                    .copied()
                    .find(|n| ports.contains(*n))
                    .or(numbers.first().copied());
                let is = number.is_some_and(|n| ports.contains(n));
                // A named port the destination lacks: no such connection, so denied.
                if number.is_none() {
                    note = Some(format!(
                        "{} has no port named `{}` for {}",
                        render::endpoint_name(self.model, &dst),
                        spec.port,
                        spec.protocol
                    ));
                }
                (
                    is == (want == Expect::Allowed),
                    (spec.protocol, number.unwrap_or(0)),
                )
            }
            None => {
                let first = first_port(&allowed);
                let is = first.is_some();
                (
                    is == (want == Expect::Allowed),
                    first.unwrap_or((Protocol::TCP, 80)),
                )
            }
        };
        if !ok {
            self.violation(outcome, (src, dst), probe, want, &allowed, note);
        }
    }

    fn only_ports(&self, outcome: &mut Outcome, src: Endpoint, dst: Endpoint, only: &[PortSpec]) {
        outcome.checked += 1;
        let allowed = self.engine.allowed_ports(src, dst);
        for protocol in Protocol::ALL {
            let permitted = PortSet::from_ranges(
                only.iter()
                    .filter(|p| p.protocol == protocol)
                    .flat_map(|p| p.numbers(self.model, dst))
                    .map(|n| (n, n)),
            );
            let extra = allowed
                .get(protocol)
                .ranges
                .iter()
                .flat_map(|(a, b)| first_outside(*a, *b, &permitted))
                .next();
            if let Some(port) = extra {
                self.violation(
                    outcome,
                    (src, dst),
                    (protocol, port),
                    Expect::Denied,
                    &allowed,
                    None,
                );
                return;
            }
        }
    }

    fn violation(
        &self,
        outcome: &mut Outcome,
        (src, dst): (Endpoint, Endpoint),
        (protocol, port): (Protocol, u16),
        expected: Expect,
        allowed: &AllowedPorts,
        note: Option<String>,
    ) {
        outcome.violation_count += 1;
        if outcome.violations.len() >= MAX_VIOLATIONS {
            return;
        }
        let flow = Flow {
            src,
            dst,
            protocol,
            port,
        };
        let verdict = crate::evaluate(self.model, &flow);
        let explanation = render::explain(self.model, &flow, &verdict);
        outcome.violations.push(Violation {
            flow,
            expected,
            allowed: allowed.to_string(),
            verdict,
            explanation,
            note,
        });
    }
}

/// The pods a `{namespace: ..., pod: ...}` selector names (`None` parts match everything),
/// in index order.
pub(crate) fn select_pods(
    model: &Model,
    namespace: &Option<NamespaceMatch>,
    pod: &Option<Labels>,
) -> Vec<usize> {
    let has_all = |have: &Labels, want: &Labels| want.iter().all(|(k, v)| have.get(k) == Some(v));
    model
        .cluster
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            let ns_ok = match namespace {
                None => true,
                Some(NamespaceMatch::Name(n)) => p.namespace == *n,
                Some(NamespaceMatch::Labels(want)) => model
                    .cluster
                    .namespace_labels(&p.namespace)
                    .is_some_and(|have| has_all(have, want)),
            };
            ns_ok && pod.as_ref().is_none_or(|want| has_all(&p.labels, want))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The first allowed (protocol, port), TCP first.
fn first_port(allowed: &AllowedPorts) -> Option<(Protocol, u16)> {
    Protocol::ALL
        .into_iter()
        .find_map(|p| allowed.get(p).ranges.first().map(|(a, _)| (p, *a)))
}

/// The first port of `a..=b` not in `set`.
fn first_outside(a: u16, b: u16, set: &PortSet) -> Option<u16> {
    let mut port = a;
    loop {
        if !set.contains(port) {
            return Some(port);
        }
        // Skip to the end of the range containing `port`.
        let end = set
            .ranges
            .iter()
            .find(|(x, y)| *x <= port && port <= *y)
            .map_or(port, |(_, y)| *y);
        if end >= b {
            return None;
        }
        port = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outside_skips_permitted_ranges() {
        let set = PortSet::from_ranges([(53, 53), (80, 90)]);
        assert_eq!(first_outside(53, 53, &set), None);
        assert_eq!(first_outside(53, 54, &set), Some(54));
        assert_eq!(first_outside(80, 90, &set), None);
        assert_eq!(first_outside(1, 65535, &set), Some(1));
    }
}
