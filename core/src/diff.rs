//! Semantic diff of two models: which connections a change adds, removes or changes.
//!
//! Why semantic: a reviewer wants to know what a pull request *does* to connectivity, and a
//! text diff of YAML cannot say that (a relabelled pod or a narrowed selector changes
//! connections far from the edited lines). Both models are compiled with the [`Engine`];
//! every ordered pair of endpoints present on both sides (matched by id), and every pair of
//! an endpoint with an outside-address class, is compared on all ports and protocols.
//!
//! Grouping keeps the list short: pairs with the same (before, after) ports are merged into
//! groups "these sources → these destinations", sources with identical destination sets
//! together. Each group names the responsible rules on each side, from [`crate::evaluate`]
//! on one representative pair and port.
//!
//! Traffic of an endpoint with itself is left out, and endpoints present on only one side
//! are listed as added or removed endpoints rather than diffed.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::chain::TierChain;
use crate::engine::Engine;
use crate::model::{Endpoint, Flow, Model, Protocol};
use crate::ports::AllowedPorts;
use crate::render;
use crate::verdict::{DirectionVerdict, Verdict};

/// The result of [`diff`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Endpoint ids only in `after`.
    pub added_endpoints: Vec<String>,
    /// Endpoint ids only in `before`.
    pub removed_endpoints: Vec<String>,
    /// Grouped connection changes: added first, then removed, then changed.
    pub changes: Vec<Change>,
    /// Number of ordered pairs whose allowed ports differ.
    pub changed_pairs: usize,
}

/// What happened to a group of connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Nothing was allowed before, something is now.
    Added,
    /// Something was allowed before, nothing is now.
    Removed,
    /// Allowed before and after, on different ports.
    Changed,
}

/// One end of a pair in a diff: an endpoint id, or an outside-address class.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Party {
    /// An endpoint, by id.
    Endpoint(String),
    /// An outside-address class, by label, with the address used to ask.
    Address {
        /// e.g. `10.0.0.0/8 except 10.1.0.0/16` or `any other address`.
        label: String,
        /// The representative address.
        ip: IpAddr,
    },
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Party::Endpoint(id) => f.write_str(id),
            Party::Address { label, .. } => write!(f, "[{label}]"),
        }
    }
}

/// Why a representative connection of a group is decided the way it is, on one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The flow asked (the representative pair, on a port that changed).
    pub flow_text: String,
    /// Allowed on this side.
    pub allowed: bool,
    /// Short reason: `allowed by x/p spec.ingress[0] (line 9)` or
    /// `denied: ingress isolated by x/deny, no rule admits it`.
    pub summary: String,
    /// The verdict, for front-ends that render more.
    pub verdict: Verdict,
}

/// A group of pairs that changed the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// Sources, sorted.
    pub sources: Vec<Party>,
    /// Destinations, sorted.
    pub destinations: Vec<Party>,
    /// Allowed ports before.
    pub before: AllowedPorts,
    /// Allowed ports after.
    pub after: AllowedPorts,
    /// Ports allowed after but not before.
    pub added: AllowedPorts,
    /// Ports allowed before but not after.
    pub removed: AllowedPorts,
    /// The representative pair before.
    pub before_reason: Reason,
    /// The representative pair after.
    pub after_reason: Reason,
}

/// Compares the connectivity of `before` and `after`.
pub fn diff(before: &Model, after: &Model) -> Diff {
    let (eb, ea) = (Engine::new(before), Engine::new(after));
    let ids = |m: &Model| -> BTreeMap<String, usize> {
        m.cluster
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect()
    };
    let (ib, ia) = (ids(before), ids(after));
    let mut out = Diff {
        added_endpoints: ia
            .keys()
            .filter(|k| !ib.contains_key(*k))
            .cloned()
            .collect(),
        removed_endpoints: ib
            .keys()
            .filter(|k| !ia.contains_key(*k))
            .cloned()
            .collect(),
        ..Diff::default()
    };
    // Common endpoints, in id order, with their index on each side.
    let common: Vec<(&String, usize, usize)> = ib
        .iter()
        .filter_map(|(id, b)| ia.get(id).map(|a| (id, *b, *a)))
        .collect();
    // Outside addresses: the representatives of both sides' classes, so a class that exists
    // on one side only (a new ipBlock) is asked on both.
    let mut addresses: BTreeMap<IpAddr, String> = BTreeMap::new();
    for c in eb.address_classes() {
        addresses.insert(c.representative, c.label);
    }
    for c in ea.address_classes() {
        addresses.insert(c.representative, c.label);
    }
    let (cb, ca) = (eb.connectivity(), ea.connectivity());

    // (before, after) -> source -> destinations.
    type Key = (AllowedPorts, AllowedPorts);
    let mut groups: BTreeMap<Key, BTreeMap<Party, Vec<Party>>> = BTreeMap::new();
    // Each changed pair's endpoints on both sides (before src, dst; after src, dst), to
    // explain a group by its first pair.
    type Sides = (Endpoint, Endpoint, Endpoint, Endpoint);
    let mut reps: BTreeMap<(Party, Party), Sides> = BTreeMap::new();
    let mut record = |key: Key, src: Party, dst: Party, eps: Sides| {
        reps.insert((src.clone(), dst.clone()), eps);
        groups
            .entry(key)
            .or_default()
            .entry(src)
            .or_default()
            .push(dst);
    };
    let empty = AllowedPorts::default();
    for &(sid, sb, sa) in &common {
        for &(did, db, da) in &common {
            if sid == did {
                continue;
            }
            let pb = cb.ports(sb, db).unwrap_or(&empty);
            let pa = ca.ports(sa, da).unwrap_or(&empty);
            if pb != pa {
                record(
                    (pb.clone(), pa.clone()),
                    Party::Endpoint(sid.clone()),
                    Party::Endpoint(did.clone()),
                    (
                        Endpoint::Pod(sb),
                        Endpoint::Pod(db),
                        Endpoint::Pod(sa),
                        Endpoint::Pod(da),
                    ),
                );
            }
        }
        for (ip, label) in &addresses {
            let addr = Endpoint::Address(*ip);
            let party = Party::Address {
                label: label.clone(),
                ip: *ip,
            };
            let out_b = eb.allowed_ports(Endpoint::Pod(sb), addr);
            let out_a = ea.allowed_ports(Endpoint::Pod(sa), addr);
            if out_b != out_a {
                record(
                    (out_b, out_a),
                    Party::Endpoint(sid.clone()),
                    party.clone(),
                    (Endpoint::Pod(sb), addr, Endpoint::Pod(sa), addr),
                );
            }
            let in_b = eb.allowed_ports(addr, Endpoint::Pod(sb));
            let in_a = ea.allowed_ports(addr, Endpoint::Pod(sa));
            if in_b != in_a {
                record(
                    (in_b, in_a),
                    party,
                    Party::Endpoint(sid.clone()),
                    (addr, Endpoint::Pod(sb), addr, Endpoint::Pod(sa)),
                );
            }
        }
    }

    for (key, by_source) in groups {
        out.changed_pairs += by_source.values().map(Vec::len).sum::<usize>();
        // Sources with identical destination sets form one group.
        let mut by_dests: BTreeMap<Vec<Party>, Vec<Party>> = BTreeMap::new();
        for (src, mut dsts) in by_source {
            dsts.sort();
            by_dests.entry(dsts).or_default().push(src);
        }
        let (before_ports, after_ports) = key.clone();
        let added = after_ports.difference(&before_ports);
        let removed = before_ports.difference(&after_ports);
        let kind = if before_ports.is_empty() {
            ChangeKind::Added
        } else if after_ports.is_empty() {
            ChangeKind::Removed
        } else {
            ChangeKind::Changed
        };
        // The port to explain: one that changed (added ports are explained on both sides
        // just the same; a port that is only removed likewise).
        let probe = first(&added)
            .or_else(|| first(&removed))
            .unwrap_or((Protocol::TCP, 80));
        for (destinations, sources) in by_dests {
            let rep = sources
                .first()
                .zip(destinations.first())
                .and_then(|(s, d)| reps.get(&(s.clone(), d.clone())));
            let Some(&(bs, bd, as_, ad)) = rep else {
                continue;
            };
            out.changes.push(Change {
                kind,
                sources,
                destinations,
                before: before_ports.clone(),
                after: after_ports.clone(),
                added: added.clone(),
                removed: removed.clone(),
                before_reason: reason(before, bs, bd, probe),
                after_reason: reason(after, as_, ad, probe),
            });
        }
    }
    out.changes.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.sources.cmp(&b.sources))
            .then(a.destinations.cmp(&b.destinations))
    });
    out
}

fn first(p: &AllowedPorts) -> Option<(Protocol, u16)> {
    Protocol::ALL
        .into_iter()
        .find_map(|proto| p.get(proto).ranges.first().map(|(a, _)| (proto, *a)))
}

fn reason(
    model: &Model,
    src: Endpoint,
    dst: Endpoint,
    (protocol, port): (Protocol, u16),
) -> Reason {
    let flow = Flow {
        src,
        dst,
        protocol,
        port,
    };
    let verdict = crate::evaluate(model, &flow);
    let side = |word: &str, d: &DirectionVerdict, chain: &TierChain| -> Option<String> {
        // A side a cluster policy took part in: its tier chain, which says what decided.
        if chain.has_cluster_policies() {
            return Some(format!("{word}: {}", render::chain_summary(chain, d)));
        }
        match d {
            DirectionVerdict::NotIsolated => None,
            DirectionVerdict::Allowed { by, .. } => Some(format!(
                "{word} allowed by {}",
                by.iter()
                    .map(render::rule_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            DirectionVerdict::Denied { isolated_by, .. } => Some(format!(
                "{word} denied: isolated by {} and no rule admits it",
                isolated_by
                    .iter()
                    .map(render::policy_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    };
    let parts: Vec<String> = [
        side("egress", &verdict.egress, &verdict.egress_chain),
        side("ingress", &verdict.ingress, &verdict.ingress_chain),
    ]
    .into_iter()
    .flatten()
    .collect();
    let allowed = verdict.is_allowed();
    let summary = if parts.is_empty() {
        "allowed: no policy isolates either end".to_string()
    } else {
        parts.join("; ")
    };
    Reason {
        flow_text: format!(
            "{} -> {} on {port}/{protocol}",
            render::endpoint_name(model, &src),
            render::endpoint_name(model, &dst)
        ),
        allowed,
        summary,
        verdict,
    }
}
