//! "Allow this" and "deny this": the smallest change to the policy text for one pair.
//!
//! Each side that must change (the source's egress, the destination's ingress; outside
//! addresses and host-network pods have no side to change) offers candidates:
//! - to allow: a new rule at the end of a policy that isolates that side (when its rules
//!   are block-style YAML), or a new policy selecting the endpoint's workload;
//! - to deny: every rule admitting the pair narrowed ([`narrow`]), or, where nothing
//!   isolates that side, a new policy isolating the workload that admits everything else.
//!
//! Every combination is tried on the model and judged by the engine (how many other
//! pairs change); the best one is written as text edits, applied to the sources, parsed
//! back, and the reported changes come from that parse — what the text does, not what
//! was meant.

use std::collections::BTreeSet;

use serde::Serialize;

use super::check::{Baseline, PairChange};
use super::groups::{dns_label, preferred_label, Groups};
use super::narrow::{self, Excluded};
use super::plan::{self, model_ports, Party, PortItem, Ports};
use super::synthesize::{declared, host_block, port_name};
use super::tiers;
use super::yaml::{self, Notes};
use crate::diagnostic::FileId;
use crate::model::{
    Endpoint, Model, NetworkPolicy, NetworkPolicyRule, Parsed, PolicyType, PortRef,
};
use crate::pair::PairDirection;
use crate::ports::{AllowedPorts, PortSet};
use crate::portspec::PortSpec;
use crate::render;

/// One change to a source text: replace bytes `start..end` of `file` with `text` (an
/// insertion when `start == end`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edit {
    /// The source text.
    pub file: FileId,
    /// First byte replaced.
    pub start: u32,
    /// One past the last byte replaced.
    pub end: u32,
    /// The new text.
    pub text: String,
}

/// The smallest change found for one pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// What the change does, in a sentence.
    pub summary: String,
    /// The edits, sorted by (file, start); [`apply`] applies them.
    pub edits: Vec<Edit>,
    /// The pair asked about, before and after (parsed back from the edited text).
    pub target: PairChange,
    /// Every other pair whose allowed ports change: for "allow this", what it also opens;
    /// for "deny this", what it also closes (and, rarely, opens). Empty when the change
    /// touches nothing else.
    pub others: Vec<PairChange>,
}

/// Why no change was proposed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// An endpoint index that is not a pod of the model.
    #[error("endpoint #{0} is not in the cluster; pick a pod of the cluster or an address")]
    UnknownEndpoint(usize),
    /// Both ends are addresses.
    #[error("both ends are outside the cluster; NetworkPolicies only decide traffic of pods")]
    BothOutside,
    /// A named port the destination does not have.
    #[error("{dst} has no port named `{name}`; pick one of its ports or a number")]
    NoSuchPort {
        /// The destination.
        dst: String,
        /// The name asked for.
        name: String,
    },
    /// "Allow this" on a pair that is allowed already.
    #[error("{src} may already reach {dst} on {ports}")]
    AlreadyAllowed {
        /// The source.
        src: String,
        /// The destination.
        dst: String,
        /// What is allowed.
        ports: String,
    },
    /// The ports asked about are decided by an Admin-tier cluster policy before any
    /// NetworkPolicy is consulted (or, for "deny this", stay open by the tiers whatever
    /// NetworkPolicies say).
    #[error("{src} to {dst} on {ports} is {state} by the cluster admins' policy tiers whatever NetworkPolicies say; change the cluster policy that decides it (see the explanation)")]
    DecidedByTiers {
        /// The source.
        src: String,
        /// The destination.
        dst: String,
        /// The ports no NetworkPolicy edit can change.
        ports: String,
        /// `denied` or `allowed`.
        state: &'static str,
    },
    /// "Deny this" on a pair that is denied already.
    #[error("{src} cannot reach {dst} on {ports} already")]
    AlreadyDenied {
        /// The source.
        src: String,
        /// The destination.
        dst: String,
        /// What was asked about.
        ports: String,
    },
    /// The text to edit does not parse as YAML past some point: an edit there would be
    /// lost.
    #[error("line {line} of the text to change has a YAML error ({message}); fix it first")]
    BrokenText {
        /// The line of the error.
        line: u32,
        /// The parser's message.
        message: String,
    },
    /// No side can be changed in text (host-network pods, rules in flow-style YAML, ...).
    #[error("no change can be written: {0}")]
    NotEditable(String),
}

/// Applies `edits` that belong to `file` to its `text` (edits of other files are skipped).
pub fn apply(file: FileId, text: &str, edits: &[Edit]) -> String {
    let mut mine: Vec<&Edit> = edits.iter().filter(|e| e.file == file).collect();
    mine.sort_by_key(|e| std::cmp::Reverse((e.start, e.end)));
    let mut out = text.to_string();
    for e in mine {
        let (start, end) = (e.start as usize, e.end as usize);
        if start <= end
            && end <= out.len()
            && out.is_char_boundary(start)
            && out.is_char_boundary(end)
        {
            out.replace_range(start..end, &e.text);
        }
    }
    out
}

/// One step of a candidate, on the model and in text.
#[derive(Clone, Debug)]
enum Step {
    /// A rule after the last rule of a policy's list.
    Insert {
        policy: usize,
        direction: PolicyType,
        rule: NetworkPolicyRule,
        note: String,
    },
    /// A rule replaced by others (maybe none).
    Replace {
        policy: usize,
        direction: PolicyType,
        index: usize,
        rules: Vec<NetworkPolicyRule>,
    },
    /// A new policy appended to the target text.
    Add {
        policy: NetworkPolicy,
        header: String,
    },
}

/// A way to make the change: steps, and their words.
#[derive(Clone, Debug)]
struct Candidate {
    steps: Vec<Step>,
    words: Vec<String>,
}

/// The sources, the model they make, and what the engine says about it.
struct Workspace<'a> {
    sources: &'a [(FileId, &'a str)],
    target: FileId,
    model: &'a Model,
    /// Each source parsed, in `sources` order (the model is built from these).
    parsed: Vec<Parsed>,
    groups: Groups,
    before: Baseline<'a>,
}

/// Each source parsed on its own, as [`crate::load`] does before building.
fn parse_each(sources: &[(FileId, &str)]) -> Vec<Parsed> {
    sources.iter().map(|(f, t)| crate::parse(*f, t)).collect()
}

/// What "allow"/"deny" is about: a pair and the ports.
struct Ask {
    src: Endpoint,
    dst: Endpoint,
    /// The ports to open, or to close.
    ports: AllowedPorts,
    /// The same as rule entries (allow only).
    items: Ports,
    /// In words: `TCP 8080`, `any port`.
    words: String,
}

/// See [`super::allow`].
pub(crate) fn allow(
    sources: &[(FileId, &str)],
    target: FileId,
    src: Endpoint,
    dst: Endpoint,
    port: Option<&PortSpec>,
) -> Result<Proposal, EditError> {
    let parsed = parse_each(sources);
    let model = crate::build(parsed.clone());
    let ws = Workspace::new(sources, target, &model, parsed);
    let mut ask = ws.ask(src, dst, port, true)?;
    let allowed = ws.before.engine.allowed_ports(src, dst);
    if covers(&allowed, &ask.ports) {
        return Err(EditError::AlreadyAllowed {
            src: ws.name(src),
            dst: ws.name(dst),
            ports: allowed.to_string(),
        });
    }
    // Only what the Admin tier leaves to NetworkPolicies can be opened by editing them.
    if let Some(limits) = tiers::limits(ws.model, src, dst) {
        let reachable = ask.ports.intersection(&limits.ceiling);
        if covers(&allowed, &reachable) {
            return Err(EditError::DecidedByTiers {
                src: ws.name(src),
                dst: ws.name(dst),
                ports: ask.ports.difference(&allowed).to_string(),
                state: "denied",
            });
        }
        ask.ports = reachable;
    }
    let verdict = crate::evaluate_pair(ws.model, src, dst);
    keep_tier_admitted(&mut ask, &verdict, &allowed);
    let egress = match src {
        Endpoint::Pod(s) if !covers(&verdict.egress_chain.ports(), &ask.ports) => {
            ws.allow_side(s, PolicyType::Egress, dst, &ask)
        }
        _ => vec![Candidate::none()],
    };
    let ingress = match dst {
        Endpoint::Pod(d) if !covers(&verdict.ingress_chain.ports(), &ask.ports) => {
            ws.allow_side(d, PolicyType::Ingress, src, &ask)
        }
        _ => vec![Candidate::none()],
    };
    // One side at a time (the egress side with the first ingress candidate, then the
    // ingress side with the chosen egress one): E + I trials instead of E × I.
    let first = ingress.first().cloned().into_iter().collect::<Vec<_>>();
    let chosen = ws
        .rank(&combine(&egress, &first), &ask, true)
        .map_or_else(Candidate::none, |i| egress[i].clone());
    ws.best(combine(&[chosen], &ingress), &ask, true)
}

/// A side no NetworkPolicy isolates yet becomes isolated by the rule "allow this" writes
/// there, and then stops taking what the Baseline tier (or an Admin Pass to it) admitted:
/// the pair's ports open that way are asked for too, so opening one port never closes
/// another of the same pair. (Other pairs that lose ports are listed in the proposal.)
fn keep_tier_admitted(ask: &mut Ask, verdict: &crate::PairVerdict, allowed: &AllowedPorts) {
    let newly_isolated = |direction: &PairDirection, side: &AllowedPorts| {
        *direction == PairDirection::NotIsolated && !covers(side, &ask.ports)
    };
    let isolating = newly_isolated(&verdict.egress, &verdict.egress_chain.ports())
        || newly_isolated(&verdict.ingress, &verdict.ingress_chain.ports());
    let kept = allowed.difference(&ask.ports);
    if !isolating || kept.is_empty() {
        return;
    }
    ask.ports = ask.ports.union(&kept);
    ask.items.merge(&Ports::from_allowed(&kept, |_, _| None));
    ask.words = format!("{} (keeping {kept} open)", ask.words);
}

/// See [`super::deny`].
pub(crate) fn deny(
    sources: &[(FileId, &str)],
    target: FileId,
    src: Endpoint,
    dst: Endpoint,
    port: Option<&PortSpec>,
) -> Result<Proposal, EditError> {
    let parsed = parse_each(sources);
    let model = crate::build(parsed.clone());
    let ws = Workspace::new(sources, target, &model, parsed);
    let mut ask = ws.ask(src, dst, port, false)?;
    let allowed = ws.before.engine.allowed_ports(src, dst);
    let closing = allowed.intersection(&ask.ports);
    if closing.is_empty() {
        return Err(EditError::AlreadyDenied {
            src: ws.name(src),
            dst: ws.name(dst),
            ports: ask.words,
        });
    }
    // What the Admin tier accepts (or what the tiers keep open) no NetworkPolicy closes.
    let selectable =
        |e: Endpoint| matches!(e, Endpoint::Pod(i) if !ws.model.cluster.pods[i].host_network);
    let limits = (selectable(src) && selectable(dst))
        .then(|| tiers::limits(ws.model, src, dst))
        .flatten();
    let closing = match limits {
        Some(limits) if covers(&limits.floor, &closing) => {
            return Err(EditError::DecidedByTiers {
                src: ws.name(src),
                dst: ws.name(dst),
                ports: closing.to_string(),
                state: "allowed",
            });
        }
        Some(limits) => closing.difference(&limits.floor),
        None => closing,
    };
    ask.ports = closing;
    let verdict = crate::evaluate_pair(ws.model, src, dst);
    let mut combos = Vec::new();
    if let Endpoint::Pod(d) = dst {
        combos.extend(ws.deny_side(d, PolicyType::Ingress, src, &verdict.ingress, &ask));
    }
    if let Endpoint::Pod(s) = src {
        combos.extend(ws.deny_side(s, PolicyType::Egress, dst, &verdict.egress, &ask));
    }
    ws.best(combos, &ask, false)
}

impl Candidate {
    fn none() -> Candidate {
        Candidate {
            steps: Vec::new(),
            words: Vec::new(),
        }
    }
}

/// Every pair of an egress and an ingress candidate.
fn combine(egress: &[Candidate], ingress: &[Candidate]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for e in egress {
        for i in ingress {
            out.push(Candidate {
                steps: e.steps.iter().chain(&i.steps).cloned().collect(),
                words: e.words.iter().chain(&i.words).cloned().collect(),
            });
        }
    }
    out
}

/// Whether `have` includes every port of `want`.
fn covers(have: &AllowedPorts, want: &AllowedPorts) -> bool {
    have.intersection(want) == *want
}

impl<'a> Workspace<'a> {
    fn new(
        sources: &'a [(FileId, &'a str)],
        target: FileId,
        model: &'a Model,
        parsed: Vec<Parsed>,
    ) -> Workspace<'a> {
        Workspace {
            sources,
            target,
            model,
            parsed,
            groups: Groups::new(model),
            before: Baseline::new(model),
        }
    }

    fn name(&self, e: Endpoint) -> String {
        render::endpoint_name(self.model, &e)
    }

    fn text(&self, file: FileId) -> &'a str {
        self.sources
            .iter()
            .find(|(f, _)| *f == file)
            .map_or("", |(_, t)| *t)
    }

    /// The pair and the ports, checked: a port spec's numbers on the destination; without
    /// one, the ports the destination declares (to allow) or every port (to deny).
    fn ask(
        &self,
        src: Endpoint,
        dst: Endpoint,
        port: Option<&PortSpec>,
        allow: bool,
    ) -> Result<Ask, EditError> {
        for e in [src, dst] {
            if let Endpoint::Pod(i) = e {
                if i >= self.model.cluster.pods.len() {
                    return Err(EditError::UnknownEndpoint(i));
                }
            }
        }
        if matches!((src, dst), (Endpoint::Address(_), Endpoint::Address(_))) {
            return Err(EditError::BothOutside);
        }
        let dst_group = match dst {
            Endpoint::Pod(d) => self.groups.of_pod[d],
            Endpoint::Address(_) => None,
        };
        let Some(spec) = port else {
            let items = match (allow, dst_group) {
                (true, Some(g)) => declared(self.model, &self.groups.list[g].pods),
                _ => Ports::All,
            };
            let ports = match (allow, dst) {
                (true, Endpoint::Pod(d)) if !self.model.cluster.pods[d].ports.is_empty() => {
                    let mut p = AllowedPorts::default();
                    for c in &self.model.cluster.pods[d].ports {
                        *p.get_mut(c.protocol) = p
                            .get(c.protocol)
                            .union(&PortSet::from_ranges([(c.port, c.port)]));
                    }
                    p
                }
                _ => AllowedPorts::all(),
            };
            let words = if ports == AllowedPorts::all() {
                "any port".to_string()
            } else {
                format!("its declared ports ({ports})")
            };
            return Ok(Ask {
                src,
                dst,
                ports,
                items,
                words,
            });
        };
        let numbers = spec.numbers(self.model, dst);
        if numbers.is_empty() {
            return Err(EditError::NoSuchPort {
                dst: self.name(dst),
                name: spec.port.to_string(),
            });
        }
        let mut ports = AllowedPorts::default();
        *ports.get_mut(spec.protocol) = PortSet::from_ranges(numbers.iter().map(|n| (*n, *n)));
        let named = match &spec.port {
            PortRef::Number(n) => dst_group
                .and_then(|g| port_name(self.model, &self.groups.list[g].pods, spec.protocol, *n))
                .map_or(PortRef::Number(*n), PortRef::Name),
            name => name.clone(),
        };
        let items = Ports::Some(BTreeSet::from([PortItem {
            protocol: spec.protocol,
            port: Some(named),
            end: None,
        }]));
        Ok(Ask {
            src,
            dst,
            words: format!("{}/{}", spec.port, spec.protocol),
            ports,
            items,
        })
    }

    /// The party a rule names `end` by: its workload, or its address(es).
    fn party(&self, end: Endpoint) -> Vec<Party> {
        match end {
            Endpoint::Pod(i) => match self.groups.of_pod[i] {
                Some(g) => vec![Party::Group(g)],
                None => self.model.cluster.pods[i]
                    .ips
                    .iter()
                    .map(|ip| Party::Block(host_block(*ip)))
                    .collect(),
            },
            Endpoint::Address(ip) => vec![Party::Block(host_block(ip))],
        }
    }

    /// Candidates to open `direction` of pod `end` towards `other`: a rule appended to
    /// each isolating policy whose rules can be edited, or a new policy.
    fn allow_side(
        &self,
        end: usize,
        direction: PolicyType,
        other: Endpoint,
        ask: &Ask,
    ) -> Vec<Candidate> {
        let pod = &self.model.cluster.pods[end];
        let parties = self.party(other);
        if parties.is_empty() {
            return Vec::new();
        }
        let rule = NetworkPolicyRule {
            peers: plan::peers(&self.groups, &pod.namespace, &parties),
            ports: model_ports(&ask.items),
            span: Default::default(),
        };
        let what = format!(
            "{} {}",
            direction_word(direction),
            self.peer_words(other, direction)
        );
        let note = format!("added by netpol: {what} on {}", ask.words);
        let mut out = Vec::new();
        for (index, policy) in self.model.policies.iter().enumerate() {
            let selects = policy.affects(direction) && crate::in_scope(policy, pod);
            let last = policy.rules(direction).last();
            if selects && last.is_some_and(|r| self.layout(r.span.file, r.span.start).is_some()) {
                out.push(Candidate {
                    steps: vec![Step::Insert {
                        policy: index,
                        direction,
                        rule: rule.clone(),
                        note: note.clone(),
                    }],
                    words: vec![format!(
                        "add a rule to {}/{}: {what}",
                        policy.namespace, policy.name
                    )],
                });
            }
        }
        if let Some(g) = self.groups.of_pod[end] {
            let group = &self.groups.list[g];
            let name = self.new_name(
                &pod.namespace,
                &format!("allow-{}-{}", direction_word(direction), group.name),
            );
            let policy = NetworkPolicy {
                name: name.clone(),
                namespace: pod.namespace.clone(),
                pod_selector: plan::labels_selector(&group.selector),
                policy_types: vec![direction],
                ingress: if direction == PolicyType::Ingress {
                    vec![rule.clone()]
                } else {
                    Vec::new()
                },
                egress: if direction == PolicyType::Egress {
                    vec![rule]
                } else {
                    Vec::new()
                },
                span: Default::default(),
            };
            out.push(Candidate {
                steps: vec![Step::Add {
                    policy,
                    header: note,
                }],
                words: vec![format!(
                    "add policy {}/{name} for {}: {what}",
                    pod.namespace, group.name
                )],
            });
        }
        out
    }

    /// "from web" / "to api" / "to 8.8.8.8".
    fn peer_words(&self, other: Endpoint, direction: PolicyType) -> String {
        let prep = if direction == PolicyType::Ingress {
            "from"
        } else {
            "to"
        };
        format!("{prep} {}", self.name(other))
    }

    /// Candidates to close `direction` of pod `end` towards `other` on the asked ports.
    fn deny_side(
        &self,
        end: usize,
        direction: PolicyType,
        other: Endpoint,
        verdict: &PairDirection,
        ask: &Ask,
    ) -> Vec<Candidate> {
        let pod = &self.model.cluster.pods[end];
        let label = match other {
            Endpoint::Pod(o) => {
                self.groups.of_pod[o].and_then(|g| preferred_label(&self.groups.list[g].selector))
            }
            Endpoint::Address(_) => None,
        };
        let excluded = Excluded::of(self.model, other, label);
        let rewrite = |rule: &NetworkPolicyRule| {
            narrow::rewrite(
                self.model,
                rule,
                &pod.namespace,
                &excluded,
                &ask.ports,
                ask.dst,
            )
        };
        let what = format!(
            "{} {}",
            direction_word(direction),
            self.peer_words(other, direction)
        );
        match verdict {
            PairDirection::NotIsolated => {
                let Some(g) = self.groups.of_pod[end] else {
                    return Vec::new();
                };
                let group = &self.groups.list[g];
                let everything = NetworkPolicyRule {
                    peers: Vec::new(),
                    ports: Vec::new(),
                    span: Default::default(),
                };
                let rules = rewrite(&everything);
                let name = self.new_name(
                    &pod.namespace,
                    &format!("isolate-{}-{}", direction_word(direction), group.name),
                );
                let policy = NetworkPolicy {
                    name: name.clone(),
                    namespace: pod.namespace.clone(),
                    pod_selector: plan::labels_selector(&group.selector),
                    policy_types: vec![direction],
                    ingress: if direction == PolicyType::Ingress {
                        rules.clone()
                    } else {
                        Vec::new()
                    },
                    egress: if direction == PolicyType::Egress {
                        rules
                    } else {
                        Vec::new()
                    },
                    span: Default::default(),
                };
                let header = format!(
                    "added by netpol: isolate {} {what} on {}, allow everything else",
                    group.name, ask.words
                );
                vec![Candidate {
                    steps: vec![Step::Add { policy, header }],
                    words: vec![format!("isolate {} with new policy {}/{name}, which admits everything but {what} on {}", group.name, pod.namespace, ask.words)],
                }]
            }
            PairDirection::Allowed { by, .. } => {
                let mut steps = Vec::new();
                let mut words = Vec::new();
                for admitting in by
                    .iter()
                    .filter(|r| !r.ports.intersection(&ask.ports).is_empty())
                {
                    let rule_ref = &admitting.rule;
                    let policy = &self.model.policies[rule_ref.policy.index];
                    let rule = &policy.rules(direction)[rule_ref.index];
                    if self.layout(rule.span.file, rule.span.start).is_none() {
                        return Vec::new();
                    }
                    steps.push(Step::Replace {
                        policy: rule_ref.policy.index,
                        direction,
                        index: rule_ref.index,
                        rules: rewrite(rule),
                    });
                    words.push(format!(
                        "narrow {} so it no longer admits {what} on {}",
                        render::rule_name(rule_ref),
                        ask.words
                    ));
                }
                vec![Candidate { steps, words }]
            }
            PairDirection::Denied { .. } => Vec::new(),
        }
    }

    /// A policy name not taken in `namespace`.
    fn new_name(&self, namespace: &str, base: &str) -> String {
        let base = dns_label(base).unwrap_or_else(|| "netpol".to_string());
        let taken = |n: &str| {
            self.model
                .policies
                .iter()
                .any(|p| p.namespace == namespace && p.name == n)
        };
        let mut name = base.clone();
        let mut k = 2;
        while taken(&name) {
            name = format!("{base}-{k}");
            k += 1;
        }
        name
    }

    /// Tries every candidate on the model, writes the best as edits and checks them by
    /// parsing the edited sources back.
    fn best(
        &self,
        candidates: Vec<Candidate>,
        ask: &Ask,
        allow: bool,
    ) -> Result<Proposal, EditError> {
        let Some(chosen) = self.rank(&candidates, ask, allow) else {
            return Err(EditError::NotEditable(
                "the policies that decide this pair are not block-style YAML, or the ends are host-network pods".to_string(),
            ));
        };
        let candidate = &candidates[chosen];
        let edits = self.edits(&candidate.steps);
        for edit in &edits {
            self.readable(edit.file)?;
        }
        Ok(self.verify(ask, candidate, edits))
    }

    /// The index of the best candidate: it does what was asked, then changes the fewest
    /// other pairs the wrong way, then the fewest at all, then adds the fewest policies.
    fn rank(&self, candidates: &[Candidate], ask: &Ask, allow: bool) -> Option<usize> {
        let done = |after: &AllowedPorts| {
            if allow {
                covers(after, &ask.ports)
            } else {
                after.intersection(&ask.ports).is_empty()
            }
        };
        let mut ranked = Vec::new();
        for (i, c) in candidates.iter().enumerate() {
            if c.steps.is_empty() {
                continue;
            }
            let after = self.simulate(&c.steps);
            let (mut others, engine) = self.before.compare(&after);
            others.retain(|ch| (ch.src, ch.dst) != (ask.src, ask.dst));
            let target = engine.allowed_ports(ask.src, ask.dst);
            let unwanted = others
                .iter()
                .filter(|ch| {
                    if allow {
                        !ch.closed().is_empty()
                    } else {
                        !ch.opened().is_empty()
                    }
                })
                .count();
            let adds = c
                .steps
                .iter()
                .filter(|s| matches!(s, Step::Add { .. }))
                .count();
            ranked.push(((!done(&target), unwanted, others.len(), adds, i), i));
        }
        ranked.sort();
        ranked.first().map(|(_, i)| *i)
    }

    /// Refuses to edit a text whose YAML stops parsing somewhere: the parser drops what
    /// follows a syntax error, an edit included.
    fn readable(&self, file: FileId) -> Result<(), EditError> {
        let broken = self
            .model
            .diagnostics
            .iter()
            .find(|d| d.code.starts_with("yaml-") && d.span.is_some_and(|s| s.file == file));
        match broken {
            Some(d) => Err(EditError::BrokenText {
                line: d.span.map_or(0, |s| s.line),
                message: d.message.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The model after `steps` (rules replaced, appended; policies added).
    fn simulate(&self, steps: &[Step]) -> Model {
        let mut model = self.model.clone();
        let mut replaced: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Replace { .. }))
            .collect();
        replaced.sort_by_key(|s| match s {
            Step::Replace { policy, index, .. } => std::cmp::Reverse((*policy, *index)),
            _ => std::cmp::Reverse((0, 0)),
        });
        for step in replaced {
            if let Step::Replace {
                policy,
                direction,
                index,
                rules,
            } = step
            {
                let list = rules_mut(&mut model.policies[*policy], *direction);
                list.splice(*index..*index + 1, rules.iter().cloned());
            }
        }
        for step in steps {
            match step {
                Step::Insert {
                    policy,
                    direction,
                    rule,
                    ..
                } => {
                    rules_mut(&mut model.policies[*policy], *direction).push(rule.clone());
                }
                Step::Add { policy, .. } => model.policies.push(policy.clone()),
                Step::Replace { .. } => {}
            }
        }
        model
    }

    /// The text edits for `steps`.
    fn edits(&self, steps: &[Step]) -> Vec<Edit> {
        let mut edits = Vec::new();
        let mut added = String::new();
        for step in steps {
            match step {
                Step::Insert {
                    policy,
                    direction,
                    rule,
                    note,
                } => {
                    let last = self.model.policies[*policy].rules(*direction).last();
                    if let Some(edit) =
                        last.and_then(|l| self.insert_after(l, rule, *direction, note))
                    {
                        edits.push(edit);
                    }
                }
                Step::Replace {
                    policy,
                    direction,
                    index,
                    rules,
                } => {
                    let old = &self.model.policies[*policy].rules(*direction)[*index];
                    if let Some(edit) = self.replace(old, rules, *direction) {
                        edits.push(edit);
                    }
                }
                Step::Add { policy, header } => {
                    added.push_str("---\n");
                    added.push_str(&yaml::policy(
                        policy,
                        &Notes {
                            header: vec![header.clone()],
                            ..Notes::default()
                        },
                    ));
                }
            }
        }
        if !added.is_empty() {
            let text = self.text(self.target);
            let mut insert = String::new();
            if !text.is_empty() && !text.ends_with('\n') {
                insert.push('\n');
            }
            if text.trim().is_empty() {
                // Nothing before it: no separator needed, and nothing to keep.
                added = added.trim_start_matches("---\n").to_string();
            }
            insert.push_str(&added);
            edits.push(Edit {
                file: self.target,
                start: text.len() as u32,
                end: text.len() as u32,
                text: insert,
            });
        }
        edits.sort();
        edits
    }

    /// Where the list item starting at `start` of `file` sits: the indentation of its
    /// `-`, when it is a block-style item (`  - from: ...`).
    fn layout(&self, file: FileId, start: u32) -> Option<usize> {
        let text = self.text(file);
        let start = start as usize;
        let before = text.get(..start)?;
        let dash = before.trim_end_matches(' ').strip_suffix('-')?;
        let line_start = dash.rfind('\n').map_or(0, |i| i + 1);
        let indent = &dash[line_start..];
        indent.bytes().all(|b| b == b' ').then_some(indent.len())
    }

    /// An edit inserting `rule` after the item `last`, at the same indentation.
    fn insert_after(
        &self,
        last: &NetworkPolicyRule,
        rule: &NetworkPolicyRule,
        direction: PolicyType,
        note: &str,
    ) -> Option<Edit> {
        let file = last.span.file;
        let indent = " ".repeat(self.layout(file, last.span.start)?);
        let text = self.text(file);
        let end = content_end(text, last.span.start as usize, last.span.end as usize);
        let at = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let mut insert = format!("\n{indent}# {note}");
        for line in yaml::item(yaml::rule_lines(rule, direction)) {
            insert.push('\n');
            insert.push_str(&indent);
            insert.push_str(&line);
        }
        Some(Edit {
            file,
            start: at as u32,
            end: at as u32,
            text: insert,
        })
    }

    /// An edit replacing the item `old` with `rules` (deleting it when there are none).
    fn replace(
        &self,
        old: &NetworkPolicyRule,
        rules: &[NetworkPolicyRule],
        direction: PolicyType,
    ) -> Option<Edit> {
        let file = old.span.file;
        let dash = self.layout(file, old.span.start)?;
        let text = self.text(file);
        let start = old.span.start as usize;
        let end = content_end(text, start, old.span.end as usize);
        if rules.is_empty() {
            // The whole item goes, from its line's start to its last line's end.
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
            return Some(Edit {
                file,
                start: line_start as u32,
                end: line_end as u32,
                text: String::new(),
            });
        }
        let content = " ".repeat(start - text[..start].rfind('\n').map_or(0, |i| i + 1));
        let indent = " ".repeat(dash);
        let mut out = String::new();
        for (r, rule) in rules.iter().enumerate() {
            let lines = yaml::rule_lines(rule, direction);
            for (i, line) in lines.iter().enumerate() {
                match (r, i) {
                    (0, 0) => {}
                    (0, _) => {
                        out.push('\n');
                        out.push_str(&content);
                    }
                    (_, 0) => {
                        out.push('\n');
                        out.push_str(&indent);
                        out.push_str("- ");
                    }
                    _ => {
                        out.push('\n');
                        out.push_str(&indent);
                        out.push_str("  ");
                    }
                }
                out.push_str(line);
            }
        }
        Some(Edit {
            file,
            start: start as u32,
            end: end as u32,
            text: out,
        })
    }

    /// Applies the edits, parses the sources back and reports what changed.
    fn verify(&self, ask: &Ask, candidate: &Candidate, edits: Vec<Edit>) -> Proposal {
        // Only the edited texts are parsed again (the cluster text is usually the big one).
        let parsed = self
            .sources
            .iter()
            .zip(&self.parsed)
            .map(|((f, t), before)| {
                if edits.iter().any(|e| e.file == *f) {
                    crate::parse(*f, &apply(*f, t, &edits))
                } else {
                    before.clone()
                }
            })
            .collect();
        let after = crate::build(parsed);
        let (mut changes, engine) = self.before.compare(&after);
        changes.retain(|c| (c.src, c.dst) != (ask.src, ask.dst));
        let target = PairChange {
            src: ask.src,
            dst: ask.dst,
            from: self.name(ask.src),
            to: self.name(ask.dst),
            before: self.before.engine.allowed_ports(ask.src, ask.dst),
            after: engine.allowed_ports(ask.src, ask.dst),
        };
        Proposal {
            summary: candidate.words.join("; "),
            edits,
            target,
            others: changes,
        }
    }
}

/// The end of an item's content: before trailing blanks and whole-line comments.
fn content_end(text: &str, start: usize, end: usize) -> usize {
    let mut end = end.min(text.len());
    loop {
        let trimmed = text[..end].trim_end().len().max(start);
        let line_start = text[..trimmed].rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..trimmed].trim_start();
        if line.starts_with('#') && line_start > start {
            end = line_start;
            continue;
        }
        return trimmed;
    }
}

fn rules_mut(policy: &mut NetworkPolicy, direction: PolicyType) -> &mut Vec<NetworkPolicyRule> {
    match direction {
        PolicyType::Ingress => &mut policy.ingress,
        PolicyType::Egress => &mut policy.egress,
    }
}

fn direction_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}
