//! AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1, removed upstream) rewritten
//! as ClusterNetworkPolicy (`policy.networking.k8s.io/v1beta1`): [`convert`] produces the
//! objects in the model's words, with a note wherever the rewrite is not word for word; the
//! CLI prints them as YAML.
//!
//! What changes, and why connectivity does not:
//! - `Allow` becomes `Accept`; an AdminNetworkPolicy is the Admin tier with its priority; the
//!   BaselineAdminNetworkPolicy is the Baseline tier with priority 1000 (it has none; netpol
//!   evaluates it after every Baseline ClusterNetworkPolicy, and 1000 is the last priority).
//! - `ports` become `protocols`: `portNumber` a `destinationPort.number`, `portRange` a
//!   `destinationPort.range` (one port when start equals end, which a ClusterNetworkPolicy
//!   range may not; a range with start after end matches nothing and is left out),
//!   `namedPort` a `destinationNamedPort`.
//! - Peers in the v0.1.x shape (`namespaces: {namespaceSelector: ...}`) are written as
//!   v0.1.x meant them.
//! - ClusterNetworkPolicy allows 25 rules, peers and protocols where v1alpha1 allowed 100: a
//!   rule with more peers or ports becomes consecutive rules with the same action (first
//!   match over them is the same as over the one rule); a policy with more rules becomes
//!   several policies of the same priority, named so that netpol's order (by name) keeps
//!   the rules' order — other implementations may order equal priorities differently, and
//!   the note says so.
//! - A rule that could not be read fails closed: an Allow is left out (it matched nothing),
//!   a Deny or Pass is written as the Deny of everything it was evaluated as.

use crate::cidr::Cidr;
use crate::cluster_policy::{
    ClusterNetworkPolicy, ClusterPeerKind, ClusterPolicyKind, ClusterPolicyPeer, ClusterPolicyPort,
    ClusterPolicyRule, ClusterPort, RuleAction,
};
use crate::diagnostic::Span;
use crate::model::{LabelSelector, Model, PolicyType};

/// The `apiVersion` converted policies are written in (the storage version).
pub const API_VERSION: &str = "policy.networking.k8s.io/v1beta1";

/// The most rules, peers per rule and protocols per rule a ClusterNetworkPolicy allows.
pub const MAX_ITEMS: usize = 25;

/// The priority the BaselineAdminNetworkPolicy, which has none, is given.
pub const BASELINE_PRIORITY: u32 = 1000;

/// Where a note belongs in the written object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotePlace {
    /// Above the object.
    Policy,
    /// Above a rule of the converted object: its list and 0-based index there.
    Rule(PolicyType, usize),
}

/// A place where the rewrite is not word for word, and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Where.
    pub place: NotePlace,
    /// What, in one sentence.
    pub text: String,
}

/// One converted object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The ClusterNetworkPolicy.
    pub policy: ClusterNetworkPolicy,
    /// The kind and name it was converted from.
    pub from: (ClusterPolicyKind, String),
    /// Where the original was.
    pub span: Span,
    /// Notes, in object order.
    pub notes: Vec<Note>,
}

/// Every AdminNetworkPolicy and BaselineAdminNetworkPolicy of `model`, rewritten as
/// ClusterNetworkPolicies, in the model's order. ClusterNetworkPolicies already in the model
/// are not repeated.
pub fn convert(model: &Model) -> Vec<Converted> {
    let existing: Vec<&str> = model
        .cluster_policies
        .iter()
        .filter(|p| p.kind == ClusterPolicyKind::ClusterNetworkPolicy)
        .map(|p| p.name.as_str())
        .collect();
    model
        .cluster_policies
        .iter()
        .filter(|p| p.kind != ClusterPolicyKind::ClusterNetworkPolicy)
        .flat_map(|p| convert_one(p, &existing))
        .collect()
}

/// One policy: its rules rewritten, then split into objects of at most 25 rules.
fn convert_one(policy: &ClusterNetworkPolicy, existing: &[&str]) -> Vec<Converted> {
    let mut notes = Vec::new();
    if existing.contains(&policy.name.as_str()) {
        notes.push(Note {
            place: NotePlace::Policy,
            text: format!(
                "a ClusterNetworkPolicy named {} exists already; rename one of them before applying",
                policy.name
            ),
        });
    }
    let priority = match policy.priority {
        Some(p) => p,
        None => {
            notes.push(Note {
                place: NotePlace::Policy,
                text: format!("a BaselineAdminNetworkPolicy has no priority; {BASELINE_PRIORITY}, the last one, keeps it after the other Baseline policies (equal priorities are ordered by name)"),
            });
            BASELINE_PRIORITY
        }
    };
    let mut rules: [Vec<(ClusterPolicyRule, Vec<String>)>; 2] = Default::default();
    for (slot, direction) in [(0, PolicyType::Ingress), (1, PolicyType::Egress)] {
        for (index, rule) in policy.rules(direction).iter().enumerate() {
            rules[slot].extend(convert_rule(rule, direction, index, policy.kind));
        }
    }
    split(policy, priority, rules, notes)
}

/// The converted rules of one rule, each with its notes (none when the rule is left out).
fn convert_rule(
    rule: &ClusterPolicyRule,
    direction: PolicyType,
    index: usize,
    kind: ClusterPolicyKind,
) -> Vec<(ClusterPolicyRule, Vec<String>)> {
    let place = format!("spec.{}[{index}]", list_word(direction));
    if rule.fail_closed {
        return match rule.action {
            RuleAction::Accept => Vec::new(),
            _ => vec![(
                deny_everything(rule, direction),
                vec![format!(
                    "{place} of the {} could not be read and failed closed; written as the Deny of everything it was evaluated as",
                    kind.as_str()
                )],
            )],
        };
    }
    let mut notes = Vec::new();
    if rule.peers.iter().any(|p| p.legacy_shape) {
        notes.push(format!(
            "{place} had peers in the v0.1.x shape (`namespaces: {{namespaceSelector: ...}}`); written as v0.1.x meant them"
        ));
    }
    let ports = match &rule.ports {
        None => None,
        Some(entries) => match convert_ports(entries, &place, &mut notes) {
            Some(ports) => Some(ports),
            // Every entry matched nothing: so does the rule.
            None => return Vec::new(),
        },
    };
    let peers: Vec<ClusterPolicyPeer> = rule
        .peers
        .iter()
        .map(|p| ClusterPolicyPeer {
            legacy_shape: false,
            ..p.clone()
        })
        .collect();
    chunks(rule, peers, ports, &place, notes)
}

/// A rule with at most 25 peers and 25 protocols: consecutive rules with one action.
fn chunks(
    rule: &ClusterPolicyRule,
    peers: Vec<ClusterPolicyPeer>,
    ports: Option<Vec<ClusterPolicyPort>>,
    place: &str,
    mut notes: Vec<String>,
) -> Vec<(ClusterPolicyRule, Vec<String>)> {
    let peer_chunks: Vec<Vec<ClusterPolicyPeer>> =
        peers.chunks(MAX_ITEMS).map(<[_]>::to_vec).collect();
    let port_chunks: Vec<Option<Vec<ClusterPolicyPort>>> = match &ports {
        None => vec![None],
        Some(list) => list.chunks(MAX_ITEMS).map(|c| Some(c.to_vec())).collect(),
    };
    let count = peer_chunks.len() * port_chunks.len();
    if count > 1 {
        notes.push(format!(
            "{place} has more peers or ports than the {MAX_ITEMS} a ClusterNetworkPolicy allows; written as {count} consecutive rules with the same action, which match the same traffic"
        ));
    }
    let mut out = Vec::with_capacity(count);
    for peers in &peer_chunks {
        for ports in &port_chunks {
            let name = match (&rule.name, out.len()) {
                (Some(n), 0) => Some(n.clone()),
                (Some(n), k) => Some(format!("{n}-{}", k + 1)),
                (None, _) => None,
            };
            out.push((
                ClusterPolicyRule {
                    name,
                    action: rule.action,
                    peers: peers.clone(),
                    ports: ports.clone(),
                    fail_closed: false,
                    span: rule.span,
                },
                std::mem::take(&mut notes),
            ));
        }
    }
    out
}

/// `ports` as ClusterNetworkPolicy can say them; `None` when none matches anything.
fn convert_ports(
    entries: &[ClusterPolicyPort],
    place: &str,
    notes: &mut Vec<String>,
) -> Option<Vec<ClusterPolicyPort>> {
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let port = match &entry.port {
            ClusterPort::Range {
                protocol,
                start,
                end,
            } if start == end => {
                notes.push(format!(
                    "{place}: portRange {start}-{end} is one port, written as a number (a ClusterNetworkPolicy range needs start < end)"
                ));
                ClusterPort::Number {
                    protocol: *protocol,
                    port: *start,
                }
            }
            ClusterPort::Range { start, end, .. } if start > end => {
                notes.push(format!(
                    "{place}: portRange {start}-{end} matches no port and was left out"
                ));
                continue;
            }
            other => other.clone(),
        };
        out.push(ClusterPolicyPort {
            port,
            span: entry.span,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The Deny of everything a fail-closed Deny or Pass was evaluated as: every pod (ingress
/// peers are only ever pods), or, for egress, every pod and every address (nodes and pods
/// included).
fn deny_everything(rule: &ClusterPolicyRule, direction: PolicyType) -> ClusterPolicyRule {
    let peer = |kind| ClusterPolicyPeer {
        kind,
        legacy_shape: false,
        span: rule.span,
    };
    let mut peers = vec![peer(ClusterPeerKind::Namespaces(LabelSelector::default()))];
    if direction == PolicyType::Egress {
        let all = ["0.0.0.0/0", "::/0"]
            .iter()
            .filter_map(|c| c.parse::<Cidr>().ok())
            .collect();
        peers.push(peer(ClusterPeerKind::Networks(all)));
    }
    ClusterPolicyRule {
        name: rule.name.clone(),
        action: RuleAction::Deny,
        peers,
        ports: None,
        fail_closed: false,
        span: rule.span,
    }
}

/// Objects of at most 25 rules per direction, named `name`, `name-2`, ...
fn split(
    policy: &ClusterNetworkPolicy,
    priority: u32,
    rules: [Vec<(ClusterPolicyRule, Vec<String>)>; 2],
    notes: Vec<Note>,
) -> Vec<Converted> {
    let parts = rules
        .iter()
        .map(|r| r.len().div_ceil(MAX_ITEMS))
        .max()
        .unwrap_or(0)
        .max(1);
    let [ingress, egress] = rules;
    let mut out = Vec::with_capacity(parts);
    for part in 0..parts {
        let name = if part == 0 {
            policy.name.clone()
        } else {
            format!("{}-{}", policy.name, part + 1)
        };
        let mut converted = Converted {
            policy: ClusterNetworkPolicy {
                kind: ClusterPolicyKind::ClusterNetworkPolicy,
                api_version: API_VERSION.to_string(),
                name,
                tier: policy.tier,
                priority: Some(priority),
                subject: policy.subject.clone(),
                ingress: Vec::new(),
                egress: Vec::new(),
                span: policy.span,
            },
            from: (policy.kind, policy.name.clone()),
            span: policy.span,
            notes: if part == 0 { notes.clone() } else { Vec::new() },
        };
        if parts > 1 {
            converted.notes.push(Note {
                place: NotePlace::Policy,
                text: format!(
                    "part {} of {parts} of {} {}, which has more than {MAX_ITEMS} rules in a direction; the parts share priority {priority}, and netpol orders them by name as written, but other implementations may order equal priorities differently",
                    part + 1,
                    policy.kind.as_str(),
                    policy.name
                ),
            });
        }
        for (slot, list) in [
            (PolicyType::Ingress, &ingress),
            (PolicyType::Egress, &egress),
        ] {
            for (rule, texts) in list.iter().skip(part * MAX_ITEMS).take(MAX_ITEMS) {
                let target = match slot {
                    PolicyType::Ingress => &mut converted.policy.ingress,
                    PolicyType::Egress => &mut converted.policy.egress,
                };
                for text in texts {
                    converted.notes.push(Note {
                        place: NotePlace::Rule(slot, target.len()),
                        text: text.clone(),
                    });
                }
                target.push(rule.clone());
            }
        }
        out.push(converted);
    }
    out
}

fn list_word(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}
